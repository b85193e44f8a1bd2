"""AIP_DEP_2: Pulumi waits for a workload at least as long as its pods may take to start."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import TIMEOUT_ANNOTATION, annotations, containers, duration_seconds, skips_await
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_DEP_2"
TITLE = "A workload's await timeout covers its startup allowance"
WHY = (
    "pulumi-kubernetes gives a Deployment or StatefulSet 10 minutes to become ready; a pod whose startup "
    "probe allows longer (a large model loading its weights) fails `pulumi up` while it is still starting. "
    "Raise the await with customTimeouts or the pulumi.com/timeoutSeconds annotation, or skip it on purpose."
)
RESOURCES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
DEFAULT_AWAIT_SECONDS = 600
# Kubernetes' probe defaults (core/v1 Probe).
DEFAULT_PERIOD_SECONDS, DEFAULT_FAILURE_THRESHOLD = 10, 3


def startup_allowance(resource: GraphResource) -> int | None:
    """The longest a container's startup probe lets it take before Kubernetes restarts it."""
    allowances = [
        int(probe.get("initialDelaySeconds", 0))
        + int(probe.get("periodSeconds", DEFAULT_PERIOD_SECONDS)) * int(probe.get("failureThreshold", DEFAULT_FAILURE_THRESHOLD))
        for container in containers(resource)
        if (probe := container.get("startupProbe"))
    ]
    return max(allowances) if allowances else None


def await_seconds(resource: GraphResource) -> float:
    """How long Pulumi waits on create and update: the annotation wins, then customTimeouts (the shorter of
    create and update), then the default."""
    annotated = annotations(resource).get(TIMEOUT_ANNOTATION)
    if annotated is not None and str(annotated).isdigit():
        return float(annotated)
    timeouts = resource.options.get("customTimeouts") or {}
    waits = [duration_seconds(timeouts[key]) if key in timeouts else DEFAULT_AWAIT_SECONDS for key in ("create", "update")]
    return min(wait if wait is not None else 0 for wait in waits)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for resource in graph.resources:
        if resource.type not in RESOURCES:
            continue
        allowance = startup_allowance(resource)
        if allowance is None:
            continue
        yield resource, skips_await(resource) or await_seconds(resource) >= allowance
