"""AIP_GPU_1 (`policies/checks/gpu_launch_template_imds.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import node_launch_template


def passing() -> None:
    node_launch_template("aip-gpu-1-pass")


def failing() -> None:
    node_launch_template("aip-gpu-1-fail", hop_limit=2)
