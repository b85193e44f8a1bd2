"""AIP_NET_1 (`policies/checks/net_endpoints_in_use.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import endpoints


def passing() -> None:
    endpoints("aip-net-1-pass")


def failing() -> None:
    endpoints("aip-net-1-fail", wired=False)
