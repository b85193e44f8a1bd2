"""AIP_GPU_8 (`policies/checks/gpu_karpenter_imds.py`): an example it passes and ones it fails."""
from __future__ import annotations

from tests.policy.checks.builders import karpenter_node_class


def passing() -> None:
    karpenter_node_class("aip-gpu-8-pass")


def failing() -> None:
    karpenter_node_class("aip-gpu-8-fail-imdsv1", tokens="optional")
    karpenter_node_class("aip-gpu-8-fail-hops", hop_limit=2)
