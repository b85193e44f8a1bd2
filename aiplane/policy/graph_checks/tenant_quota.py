"""AIP_TEN_2: every tenant namespace has a GPU quota and container defaults."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import GPU_RESOURCE, metadata, objects_in, tenant_namespaces
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_TEN_2"
TITLE = "Tenant namespaces have a ResourceQuota on GPUs and a LimitRange"
WHY = (
    "Shared GPU pools are divided by quota: without `requests.nvidia.com/gpu` in a ResourceQuota one tenant "
    "can take every GPU of the pool; without a LimitRange, pods without requests escape the CPU and memory quota."
)
RESOURCES = ("kubernetes:core/v1:Namespace",)
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for namespace, _ in tenant_namespaces(graph):
        name = metadata(namespace).get("name")
        quotas = [(quota.inputs.get("spec") or {}).get("hard") or {} for quota in objects_in(graph, name, RESOURCE_QUOTA)]
        gpu_quota = any(f"requests.{GPU_RESOURCE}" in hard for hard in quotas)
        yield namespace, gpu_quota and bool(objects_in(graph, name, LIMIT_RANGE))
