"""AIP_GPU_4 (`policies/checks/gpu_efa_interfaces.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import efa_template


def passing() -> None:
    efa_template("aip-gpu-4-pass", cards=16)


def failing() -> None:
    efa_template("aip-gpu-4-fail", cards=4)
