"""AIP_TEN_3 (`aiplane/policy/graph_checks/tenant_pod_security.py`): examples it passes and fails."""
from __future__ import annotations

from tests.policy.graph_checks.builders import tenant_namespace


def passing() -> None:
    tenant_namespace("aip-ten-3-pass")


def failing() -> None:
    tenant_namespace("aip-ten-3-fail-privileged", pod_security="privileged")
    tenant_namespace("aip-ten-3-fail-baseline", pod_security="baseline")
