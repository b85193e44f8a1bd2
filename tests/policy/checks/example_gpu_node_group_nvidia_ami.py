"""AIP_GPU_6 (`policies/checks/gpu_node_group_nvidia_ami.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import GPU_TAINT, node_group


def passing() -> None:
    node_group("aip-gpu-6-pass", instance_types=["g6e.xlarge"], taints=[GPU_TAINT])


def failing() -> None:
    node_group("aip-gpu-6-fail", instance_types=["g6e.xlarge"], taints=[GPU_TAINT], ami_type="AL2023_x86_64_STANDARD")
