"""AIP_GPU_3 (`policies/checks/gpu_node_group_taint.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import GPU_TAINT, node_group


def passing() -> None:
    node_group("aip-gpu-3-pass", instance_types=["p5.48xlarge"], taints=[GPU_TAINT])


def failing() -> None:
    node_group("aip-gpu-3-fail", instance_types=["g6e.12xlarge"])
