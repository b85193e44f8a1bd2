"""AIP_TEN_1: every tenant namespace denies all traffic by default."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import metadata, objects_in, tenant_namespaces
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_TEN_1"
TITLE = "Tenant namespaces deny all ingress and egress by default"
WHY = (
    "A tenant's pods may reach only what its allow policies name (DNS, the gateway, its own pods). Without a "
    "NetworkPolicy that selects every pod for Ingress and Egress with no rule, anything a policy does not "
    "select is open to and from every namespace, other tenants' included."
)
RESOURCES = ("kubernetes:core/v1:Namespace",)
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def denies_all(policy: GraphResource) -> bool:
    spec = policy.inputs.get("spec") or {}
    selector = spec.get("podSelector")
    selects_every_pod = isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions")
    return selects_every_pod and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or []) and not spec.get("ingress") and not spec.get("egress")


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for namespace, _ in tenant_namespaces(graph):
        policies = objects_in(graph, metadata(namespace).get("name"), NETWORK_POLICY)
        yield namespace, any(denies_all(policy) for policy in policies)
