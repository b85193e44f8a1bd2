"""AIP_SCH_3: GPU pods ask for GPUs the way the stack's allocation mode hands them out."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import (
    HELM_RELEASE,
    POD_TEMPLATE_KINDS,
    asks_device_plugin_gpus,
    claims_devices,
    pod_specs,
)
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_SCH_3"
TITLE = "GPU pods request GPUs as the allocation mode says: nvidia.com/gpu under the device plugin, claims under DRA"
WHY = (
    "Under gpuAllocation dra the NVIDIA DRA driver hands out GPUs and the device plugin is off: a pod that asks "
    "for nvidia.com/gpu never schedules (and escapes the DeviceClass quota). Under the device plugin no DRA "
    "driver runs: a pod with a ResourceClaim waits forever. A cluster runs one or the other, never both."
)
RESOURCES = POD_TEMPLATE_KINDS
DRA_DRIVER_CHART = "nvidia-dra-driver-gpu"


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    dra = any(str(release.inputs.get("chart", "")).endswith(DRA_DRIVER_CHART) for release in graph.of_type(HELM_RELEASE))
    for resource in graph.resources:
        if resource.type not in RESOURCES:
            continue
        specs = pod_specs(resource)
        device_plugin, claims = any(map(asks_device_plugin_gpus, specs)), any(map(claims_devices, specs))
        if device_plugin or claims:
            yield resource, not device_plugin if dra else not claims
