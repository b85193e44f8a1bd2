"""AIP_NET_2 (`policies/checks/net_public_gateway_cidrs.py`): examples it passes and ones it fails."""
from __future__ import annotations

from tests.policy.checks.builders import public_ingress


def passing() -> None:
    public_ingress("aip-net-2-pass")
    public_ingress("aip-net-2-pass-internal", cidrs=None, scheme="internal")


def failing() -> None:
    public_ingress("aip-net-2-fail-world", cidrs="203.0.113.0/24, 0.0.0.0/0")
    public_ingress("aip-net-2-fail-unlisted", cidrs=None)
