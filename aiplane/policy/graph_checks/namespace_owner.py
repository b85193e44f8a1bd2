"""AIP_TEN_5: a namespace has one owner: the platform, or one tenant."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import NAMESPACE, TENANT_LABEL, boundary_of, metadata, objects_in, tenant_namespaces
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_TEN_5"
TITLE = "No namespace is shared between the platform and a tenant, or between tenants"
WHY = (
    "A tenant's Role reads the Secrets of its namespace and execs into its pods: a platform object there "
    "(a database's API key) is the tenant's to read. Each namespace is declared once, and what stands in "
    "a tenant's namespace is built by its boundary or labelled as delivered to it (its gateway key)."
)
RESOURCES = (NAMESPACE,)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    declared = Counter(metadata(resource).get("name") for resource in graph.resources if resource.type == NAMESPACE)
    tenants = dict((metadata(namespace).get("name"), tenant) for namespace, tenant in tenant_namespaces(graph))
    for namespace in (resource for resource in graph.resources if resource.type == NAMESPACE):
        name = metadata(namespace).get("name")
        tenant = tenants.get(name)
        foreign = [
            item for item in objects_in(graph, name)
            if tenant and boundary_of(graph, item) != tenant and (metadata(item).get("labels") or {}).get(TENANT_LABEL) != tenant
        ]
        yield namespace, declared[name] == 1 and not foreign
