"""AIP_TEN_2 (`aiplane/policy/graph_checks/tenant_quota.py`): examples it passes and fails."""
from __future__ import annotations

from tests.policy.graph_checks.builders import tenant_namespace


def passing() -> None:
    tenant_namespace("aip-ten-2-pass")


def failing() -> None:
    tenant_namespace("aip-ten-2-fail-no-quota", quota=False)
    tenant_namespace("aip-ten-2-fail-no-limits", limits=False)
