"""AIP_SRV_3: no pod mounts the host's /dev/infiniband."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import LEADER_WORKER_SET, WORKLOAD_KINDS, pod_specs
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_SRV_3"
TITLE = "No pod mounts /dev/infiniband from the host"
WHY = (
    "The EFA device plugin hands a pod the devices it allocated. A hostPath mount of /dev/infiniband bypasses "
    "it: the pod sees devices the scheduler never gave it, shares them with others, and is a known cause of "
    "NCCL falling back to TCP without an error (aws-samples/aws-do-eks#63). Ask for vpc.amazonaws.com/efa instead."
)
RESOURCES = (*WORKLOAD_KINDS, LEADER_WORKER_SET)
DEVICE_PATH = "/dev/infiniband"


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for resource in graph.resources:
        if resource.type in RESOURCES:
            yield resource, not any(_mounts_devices(spec) for spec in pod_specs(resource))


def _mounts_devices(spec: dict) -> bool:
    for volume in spec.get("volumes") or []:
        host_path = (volume or {}).get("hostPath")
        if not host_path:
            continue
        path = str(host_path.get("path", "")).rstrip("/")
        # The devices themselves, a folder under them, or a folder above them ("/dev", "/").
        if path == DEVICE_PATH or path.startswith(DEVICE_PATH + "/") or DEVICE_PATH.startswith(path + "/"):
            return True
    return False
