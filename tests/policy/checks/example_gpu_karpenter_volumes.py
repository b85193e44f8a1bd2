"""AIP_GPU_9 (`policies/checks/gpu_karpenter_volumes.py`): an example it passes and ones it fails."""
from __future__ import annotations

from tests.policy.checks.builders import karpenter_node_class


def passing() -> None:
    karpenter_node_class("aip-gpu-9-pass")


def failing() -> None:
    karpenter_node_class("aip-gpu-9-fail-plain", encrypted=False)
    karpenter_node_class("aip-gpu-9-fail-undeclared", volumes=False)
