"""AIP_TEN_3: tenant namespaces enforce the restricted Pod Security Standard."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import metadata, tenant_namespaces
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_TEN_3"
TITLE = "Tenant namespaces enforce Pod Security `restricted`"
WHY = (
    "Tenants run code the platform did not write. Pod Security admission at `restricted` refuses privileged "
    "pods, host namespaces and paths, and root containers, which would let a tenant's pod reach the node and "
    "every other tenant's pods on it."
)
RESOURCES = ("kubernetes:core/v1:Namespace",)
ENFORCE = "pod-security.kubernetes.io/enforce"


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for namespace, _ in tenant_namespaces(graph):
        yield namespace, (metadata(namespace).get("labels") or {}).get(ENFORCE) == "restricted"
