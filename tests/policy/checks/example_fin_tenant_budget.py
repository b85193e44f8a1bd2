"""AIP_FIN_2 (`policies/checks/fin_tenant_budget.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import tenant_boundary


def passing() -> None:
    tenant_boundary("aip-fin-2-pass", budget=500, estimate=499.99)


def failing() -> None:
    tenant_boundary("aip-fin-2-fail", budget=500, estimate=500.01)
