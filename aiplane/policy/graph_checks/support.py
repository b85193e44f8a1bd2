"""What the deploy-safety checks read off the graph: what a resource waits for, and its pods."""
from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from aiplane.planning.node_profiles import TENANT_LABEL
from aiplane.synth.graph import GraphResource, ResourceGraph

WORKLOAD_KINDS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet", "kubernetes:batch/v1:Job")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
SKIP_AWAIT = "pulumi.com/skipAwait"
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
PATCH_FORCE = "pulumi.com/patchForce"
GPU_RESOURCE = "nvidia.com/gpu"
POOL_LABEL = "aiplane.io/pool"
LEADER_WORKER_SET = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
JOB_SET = "kubernetes:jobset.x-k8s.io/v1alpha2:JobSet"
# Every kind that carries pod templates: what a rule on pods reads.
POD_TEMPLATE_KINDS = (*WORKLOAD_KINDS, LEADER_WORKER_SET, JOB_SET)
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def waits_for(graph: ResourceGraph) -> Any:
    """A function: resource -> the URNs of everything the engine creates before it (dependencies, its
    provider, and theirs, transitively)."""

    @cache
    def closure(urn: str) -> frozenset[str]:
        resource = graph[urn]
        direct = set(resource.dependencies) | ({resource.provider} if resource.provider else set())
        found = set(direct)
        for target in direct:
            if target in known:
                found |= closure(target)
        return frozenset(found)

    known = {resource.urn for resource in graph.resources}
    return lambda resource: closure(resource.urn)


def annotations(resource: GraphResource) -> dict[str, str]:
    metadata = resource.inputs.get("metadata")
    return (metadata.get("annotations") or {}) if isinstance(metadata, dict) else {}


def skips_await(resource: GraphResource) -> bool:
    if resource.type == HELM_RELEASE:
        return bool(resource.inputs.get("skipAwait"))
    return str(annotations(resource).get(SKIP_AWAIT, "")).lower() == "true"


def pod_spec(resource: GraphResource) -> dict[str, Any]:
    spec = resource.inputs.get("spec") or {}
    template = spec.get("template") or (spec.get("jobTemplate") or {}).get("spec", {}).get("template") or {}
    return template.get("spec") or {}


def containers(resource: GraphResource) -> Iterator[dict[str, Any]]:
    spec = pod_spec(resource)
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def pod_specs(resource: GraphResource) -> list[dict[str, Any]]:
    """Every pod template of a workload: a LeaderWorkerSet's leader and worker, another kind's one template."""
    if resource.type == LEADER_WORKER_SET:
        group = (resource.inputs.get("spec") or {}).get("leaderWorkerTemplate") or {}
        return [(group.get(role) or {}).get("spec") or {} for role in ("leaderTemplate", "workerTemplate")]
    if resource.type == JOB_SET:
        jobs = (resource.inputs.get("spec") or {}).get("replicatedJobs") or []
        return [((((job or {}).get("template") or {}).get("spec") or {}).get("template") or {}).get("spec") or {} for job in jobs]
    return [pod_spec(resource)]


def spec_containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def pool_launches(graph: ResourceGraph, pool: str | None) -> list[tuple[GraphResource, dict[str, Any]]]:
    """(node group, the inputs of the launch template it launches from, {} without one) for every managed node
    group whose nodes carry `aiplane.io/pool: <pool>`; the template is the one its `launchTemplate` input
    depends on."""
    templates = graph.of_type(LAUNCH_TEMPLATE)
    launches = []
    for group in graph.of_type(NODE_GROUP):
        if pool is None or node_labels(group).get(POOL_LABEL) != pool:
            continue
        depends_on = group.property_dependencies.get("launchTemplate", group.dependencies)
        template = next((template.inputs for template in templates if template.urn in depends_on), {})
        launches.append((group, template))
    return launches


def asks_device_plugin_gpus(spec: dict[str, Any]) -> bool:
    """A pod spec with a container that asks for `nvidia.com/gpu` (the device plugin's resource)."""
    for container in spec_containers(spec):
        resources = container.get("resources") or {}
        if any(GPU_RESOURCE in (resources.get(kind) or {}) for kind in ("limits", "requests")):
            return True
    return False


def claims_devices(spec: dict[str, Any]) -> bool:
    """A pod spec that claims devices through Dynamic Resource Allocation."""
    return bool(spec.get("resourceClaims")) or any((container.get("resources") or {}).get("claims") for container in spec_containers(spec))


def wants_gpus(resource: GraphResource) -> bool:
    """Its pods ask for GPUs: as the device plugin's resource, or by claiming devices (DRA)."""
    return any(asks_device_plugin_gpus(spec) or claims_devices(spec) for spec in pod_specs(resource))


def node_labels(resource: GraphResource) -> dict[str, str]:
    """The labels a node provider's nodes carry: a managed node group's `labels`, a NodePool's template's."""
    if resource.type == NODE_GROUP:
        return resource.inputs.get("labels") or {}
    template = (resource.inputs.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def duration_seconds(text: str) -> float | None:
    """A Go duration as Pulumi's customTimeouts take it ("25m", "1h30m", "1800s"); None if it is not one."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    total, number = 0.0, ""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if text[index : index + 2] == "ms" else char
        if unit not in units or not number:
            return None
        total += float(number) * units[unit]
        number, index = "", index + len(unit)
    return total if not number else None


# -- tenants ---------------------------------------------------------------------------------------------

# The component that holds a tenant's boundary, named `tenant-<name>` by the platform; its namespace carries
# TENANT_LABEL.
TENANT_COMPONENT = "aiplane:tenant:TenantBoundary"
TENANT_COMPONENT_PREFIX = "tenant-"
NAMESPACE = "kubernetes:core/v1:Namespace"


def boundary_of(graph: ResourceGraph, resource: GraphResource) -> str | None:
    """The tenant whose boundary component built `resource` (at any depth), if one did."""
    owner = graph.owning_component(resource)
    while owner is not None:
        if owner.type == TENANT_COMPONENT:
            return owner.name.removeprefix(TENANT_COMPONENT_PREFIX)
        owner = graph.owning_component(owner)
    return None


def metadata(resource: GraphResource) -> dict[str, Any]:
    found = resource.inputs.get("metadata")
    return found if isinstance(found, dict) else {}


def tenant_namespaces(graph: ResourceGraph) -> Iterator[tuple[GraphResource, str]]:
    """(Namespace, tenant) for every tenant namespace: one the boundary builds itself (not the namespace of a
    service it runs for the tenant, such as its vector database), or one labelled as a tenant's. Either is
    enough, so that dropping the label does not take a namespace out of the tenant rules."""
    for resource in graph.resources:
        if resource.type == NAMESPACE:
            owner = graph.owning_component(resource)
            built = owner.name.removeprefix(TENANT_COMPONENT_PREFIX) if owner is not None and owner.type == TENANT_COMPONENT else None
            tenant = built or (metadata(resource).get("labels") or {}).get(TENANT_LABEL)
            if tenant:
                yield resource, tenant


def objects_in(graph: ResourceGraph, namespace: str, resource_type: str | None = None) -> list[GraphResource]:
    """The Kubernetes objects the stack puts in `namespace` (of one type, if given)."""
    found = graph.in_namespace(namespace)
    return found if resource_type is None else [resource for resource in found if resource.type == resource_type]
