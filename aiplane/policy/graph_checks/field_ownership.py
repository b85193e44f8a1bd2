"""AIP_DEP_3: no field is owned both by aiplane and by a controller that writes it."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import PATCH_FORCE, annotations
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_DEP_3"
TITLE = "Replicas under an autoscaler are left to the autoscaler"
WHY = (
    "With server-side apply, a Deployment that sets spec.replicas while an HPA or a KEDA ScaledObject scales "
    "it conflicts with the autoscaler's field manager on the next `pulumi up` after a scale event (or, forced, "
    "undoes the scaling). Leave replicas unset, or list spec.replicas in ignoreChanges."
)
AUTOSCALERS = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:keda.sh/v1alpha1:ScaledObject")
RESOURCES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
KINDS = {"Deployment": "kubernetes:apps/v1:Deployment", "StatefulSet": "kubernetes:apps/v1:StatefulSet"}


def _key(resource: GraphResource) -> tuple[str, str | None, str | None]:
    metadata = resource.inputs.get("metadata") or {}
    return resource.type, metadata.get("namespace"), metadata.get("name")


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    workloads = {_key(resource): resource for resource in graph.resources if resource.type in RESOURCES}
    seen = set()
    for scaler in graph.resources:
        if scaler.type not in AUTOSCALERS:
            continue
        target = (scaler.inputs.get("spec") or {}).get("scaleTargetRef") or {}
        namespace = (scaler.inputs.get("metadata") or {}).get("namespace")
        workload = workloads.get((KINDS.get(target.get("kind", "Deployment"), ""), namespace, target.get("name")))
        if workload is None or workload.urn in seen:
            continue
        seen.add(workload.urn)
        sets_replicas = "replicas" in (workload.inputs.get("spec") or {})
        left_to_scaler = "spec.replicas" in workload.options.get("ignoreChanges", []) or str(annotations(workload).get(PATCH_FORCE, "")).lower() == "true"
        yield workload, not sets_replicas or left_to_scaler
