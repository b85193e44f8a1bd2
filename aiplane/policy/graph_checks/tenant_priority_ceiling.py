"""AIP_SCH_2: no tenant workload runs above the priority its blueprint allows."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.planning.queues import PRIORITIES, priority_level
from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import POD_TEMPLATE_KINDS, metadata, objects_in, pod_specs, tenant_namespaces
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_SCH_2"
TITLE = "Workloads in a tenant namespace run at or below the priority its blueprint allows"
WHY = (
    "A pod's PriorityClass decides whom the scheduler evicts for it: a tenant job at serving priority takes GPUs "
    "from the platform's model servers during a peak. A tenant namespace carries the highest class its blueprint "
    "allows (label aiplane.io/priority-ceiling; batch where it is missing); its workloads may use that class or "
    "a lower aiplane class, never one above it or one aiplane does not define."
)
RESOURCES = POD_TEMPLATE_KINDS
CEILING_LABEL = "aiplane.io/priority-ceiling"
DEFAULT_CEILING = "batch"
CLASS_VALUES = {level.class_name: level.value for level in PRIORITIES}


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for namespace, _ in tenant_namespaces(graph):
        labels = metadata(namespace).get("labels") or {}
        ceiling_name = labels.get(CEILING_LABEL, DEFAULT_CEILING)
        ceiling = priority_level(ceiling_name).value if ceiling_name in {level.name for level in PRIORITIES} else 0
        for resource in objects_in(graph, metadata(namespace).get("name")):
            if resource.type in RESOURCES:
                yield resource, all(_at_most(spec.get("priorityClassName"), ceiling) for spec in pod_specs(resource))


def _at_most(class_name: str | None, ceiling: int) -> bool:
    if not class_name:
        return True  # no class: priority 0, below every aiplane class
    value = CLASS_VALUES.get(class_name)
    return value is not None and value <= ceiling
