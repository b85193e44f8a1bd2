"""AIP_GPU_4 (`policies/checks/gpu_efa_interfaces.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import efa_template


def passing() -> None:
    efa_template("aip-gpu-4-pass", cards=16)
    # A capacity reservation places the instances: no placement group needed.
    efa_template("aip-gpu-4-pass-reserved", cards=16, placement=False, reservation="cr-0123456789abcdef0")


def failing() -> None:
    efa_template("aip-gpu-4-fail", cards=4)
    # Neither a placement group nor a reservation.
    efa_template("aip-gpu-4-fail-unplaced", cards=16, placement=False)
