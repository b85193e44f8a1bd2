"""Fixtures the policy tests share."""
from __future__ import annotations

import pytest

from aiplane.policy.gate import GateReport, run_gate
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS


@pytest.fixture(scope="session")
def shipped_report() -> GateReport:
    """`aiplane check --stack dev --stack staging --stack prod`, run once for every test that reads it."""
    return run_gate(PROJECT_DIR, list(SHIPPED_STACKS))
