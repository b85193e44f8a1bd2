"""AIP_GPU_2 (`policies/checks/gpu_launch_template_volumes.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import node_launch_template


def passing() -> None:
    node_launch_template("aip-gpu-2-pass")


def failing() -> None:
    node_launch_template("aip-gpu-2-fail", encrypted="false")
