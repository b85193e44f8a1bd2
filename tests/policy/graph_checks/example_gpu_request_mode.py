"""AIP_SCH_3 (`aiplane/policy/graph_checks/gpu_request_mode.py`): examples it passes and fails. The mode is the
graph's: DRA where the NVIDIA DRA driver is released, the device plugin otherwise."""
from __future__ import annotations

import pulumi_kubernetes as k8s

from tests.policy.graph_checks.builders import gpu_job


def dra_driver(name: str) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name, k8s.helm.v3.ReleaseArgs(chart="nvidia-dra-driver-gpu", version="25.12.0", namespace="nvidia-dra-driver-gpu"),
    )


def passing() -> None:
    """Under DRA: claims only."""
    dra_driver("dra-driver")
    gpu_job("aip-sch-3-pass-claim", "apps", claim=True)


def failing() -> None:
    """Under DRA: the device plugin's resource."""
    dra_driver("dra-driver")
    gpu_job("aip-sch-3-fail-device-plugin", "apps", gpus=1)


def failing_without_dra() -> None:
    """Under the device plugin: a claim nothing would ever allocate."""
    gpu_job("aip-sch-3-fail-claim", "apps", claim=True)
    gpu_job("aip-sch-3-pass-device-plugin", "apps", gpus=2)
