"""AIP_SRV_2: a model server that spans nodes stays in one zone and one cluster placement group."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.planning.node_profiles import PLACEMENT_GROUP_LABEL, ZONE_LABEL
from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import LEADER_WORKER_SET, POOL_LABEL, pod_specs, pool_launches
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_SRV_2"
TITLE = "Multi-node model servers run in one zone and one cluster placement group"
WHY = (
    "EFA does not cross availability zones, and between placement groups its latency and bandwidth fall to "
    "what the region's network gives. Every pod of a group must select the same zone and placement group, on "
    "a pool that launches into one subnet and one cluster placement group (or a capacity reservation, which "
    "places its instances itself)."
)
RESOURCES = (LEADER_WORKER_SET,)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for resource in graph.of_type(LEADER_WORKER_SET):
        selectors = [spec.get("nodeSelector") or {} for spec in pod_specs(resource)]
        keys = (POOL_LABEL, ZONE_LABEL, PLACEMENT_GROUP_LABEL)
        placed = {tuple(str(selector.get(key)) for key in keys) for selector in selectors}
        pool = selectors[0].get(POOL_LABEL)
        # A pool its capacity reservation places has no placement group label to select.
        needed = (POOL_LABEL, ZONE_LABEL) if _reserved(graph, pool) else keys
        pinned = all(all(selector.get(key) for key in needed) for selector in selectors) and len(placed) == 1
        yield resource, pinned and _one_placement(graph, pool)


def _placed(template: dict) -> bool:
    return bool((template.get("placement") or {}).get("groupName") or _reservation(template))


def _reservation(template: dict) -> str | None:
    target = (template.get("capacityReservationSpecification") or {}).get("capacityReservationTarget") or {}
    return target.get("capacityReservationId")


def _reserved(graph: ResourceGraph, pool: str | None) -> bool:
    launches = pool_launches(graph, pool)
    return bool(launches) and all(_reservation(template) and not (template.get("placement") or {}).get("groupName") for _, template in launches)


def _one_placement(graph: ResourceGraph, pool: str | None) -> bool:
    """Every node group of the pool launches into one subnet, in one cluster placement group or a capacity reservation."""
    launches = pool_launches(graph, pool)
    return bool(launches) and all(len(group.inputs.get("subnetIds") or []) == 1 and _placed(template) for group, template in launches)
