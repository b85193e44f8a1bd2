"""AIP_SRV_1: a model server that spans nodes asks for EFA, on a pool whose nodes have it."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.planning.node_profiles import EFA_RESOURCE
from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import GPU_RESOURCE, LEADER_WORKER_SET, POOL_LABEL, pod_specs, pool_launches
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_SRV_1"
TITLE = "Multi-node model servers request EFA interfaces on an EFA pool"
WHY = (
    "A replica spread over nodes moves activations between them every step. Without `vpc.amazonaws.com/efa` "
    "in every pod's resources, or on nodes without EFA interfaces, NCCL still starts, over TCP sockets, and "
    "serving runs several times slower than planned with nothing failing."
)
RESOURCES = (LEADER_WORKER_SET,)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for resource in graph.of_type(LEADER_WORKER_SET):
        specs = pod_specs(resource)
        pools = {(spec.get("nodeSelector") or {}).get(POOL_LABEL) for spec in specs}
        yield resource, all(_asks_for_efa(spec) for spec in specs) and len(pools) == 1 and _efa_pool(graph, pools.pop())


def _asks_for_efa(spec: dict) -> bool:
    """Every container that asks for GPUs asks for EFA interfaces too, and one container at least does."""
    gpu_containers = [c for c in spec.get("containers") or [] if GPU_RESOURCE in ((c.get("resources") or {}).get("limits") or {})]
    return bool(gpu_containers) and all(_count((c["resources"]["limits"]).get(EFA_RESOURCE)) > 0 for c in gpu_containers)


def _count(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _efa_pool(graph: ResourceGraph, pool: str | None) -> bool:
    """The pool's node groups all launch with EFA interfaces (and there is at least one)."""
    launches = pool_launches(graph, pool)
    return bool(launches) and all(
        any(str(interface.get("interfaceType", "")).startswith("efa") for interface in template.get("networkInterfaces") or [])
        for _, template in launches
    )
