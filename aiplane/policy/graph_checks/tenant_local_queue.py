"""AIP_SCH_1: every tenant namespace submits GPU work to a queue of its own."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import metadata, objects_in, tenant_namespaces
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_SCH_1"
TITLE = "Every tenant namespace has a LocalQueue bound to a ClusterQueue for that namespace alone"
WHY = (
    "Kueue admits a tenant's Jobs against the ClusterQueue its LocalQueue names. A namespace without a LocalQueue "
    "has no share of the cohort; one whose LocalQueue names another tenant's ClusterQueue (or a queue open to "
    "several namespaces) spends that tenant's GPUs. The ClusterQueue's namespaceSelector must select this "
    "namespace by name, and nothing else."
)
RESOURCES = ("kubernetes:core/v1:Namespace",)
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    cluster_queues = {metadata(queue).get("name"): queue for queue in graph.of_type(CLUSTER_QUEUE)}
    for namespace, _ in tenant_namespaces(graph):
        name = metadata(namespace).get("name")
        local_queues = objects_in(graph, name, LOCAL_QUEUE)
        bound = [cluster_queues.get((queue.inputs.get("spec") or {}).get("clusterQueue")) for queue in local_queues]
        yield namespace, bool(local_queues) and all(queue is not None and _for_namespace_alone(queue, name) for queue in bound)


def _for_namespace_alone(cluster_queue: GraphResource, namespace: str) -> bool:
    selector = (cluster_queue.inputs.get("spec") or {}).get("namespaceSelector")
    if not isinstance(selector, dict):
        return False  # none selects no namespace; an empty one, every namespace
    return selector.get("matchLabels") == {NAMESPACE_NAME_LABEL: namespace} and not selector.get("matchExpressions")
