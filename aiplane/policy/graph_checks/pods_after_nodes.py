"""AIP_DEP_1: what waits for running pods is created after nodes that can run them."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import (
    HELM_RELEASE,
    KARPENTER_NODE_POOL,
    NODE_GROUP,
    POOL_LABEL,
    WORKLOAD_KINDS,
    node_labels,
    pod_spec,
    skips_await,
    waits_for,
    wants_gpus,
)
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_DEP_1"
TITLE = "Workloads that Pulumi waits for are created after nodes that can run them"
WHY = (
    "pulumi-kubernetes waits for a Helm release (5 minutes) and a Deployment (10 minutes) to become ready; "
    "created before any node exists, they time out and fail the first `pulumi up` (an atomic release also "
    "uninstalls itself). GPU pods need their own pool's nodes, not just any node."
)
RESOURCES = (*WORKLOAD_KINDS, HELM_RELEASE)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    before = waits_for(graph)
    providers = [resource for resource in graph.resources if resource.type in (NODE_GROUP, KARPENTER_NODE_POOL)]
    for resource in graph.resources:
        if resource.type not in RESOURCES or skips_await(resource):
            continue
        earlier = before(resource)
        yield resource, any(provider.urn in earlier and _can_run(provider, resource) for provider in providers)


def _can_run(provider: GraphResource, resource: GraphResource) -> bool:
    """A node group runs pods that need no GPU; a GPU pod needs a node of its pool (its `aiplane.io/pool`
    node selector), or of any GPU pool where it selects none."""
    if resource.type == HELM_RELEASE or not wants_gpus(resource):
        return provider.type == NODE_GROUP
    labels = node_labels(provider)
    wanted = (pod_spec(resource).get("nodeSelector") or {}).get(POOL_LABEL)
    return labels.get(POOL_LABEL) == wanted if wanted else POOL_LABEL in labels
