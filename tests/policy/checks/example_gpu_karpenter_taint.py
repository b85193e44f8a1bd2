"""AIP_GPU_7 (`policies/checks/gpu_karpenter_taint.py`): an example it passes and one it fails."""
from __future__ import annotations

from tests.policy.checks.builders import karpenter_node_pool


def passing() -> None:
    karpenter_node_pool("aip-gpu-7-pass")


def failing() -> None:
    karpenter_node_pool("aip-gpu-7-fail", taints=())
