"""Builders the deploy-safety examples share: a node group, a Kubernetes provider and a Deployment."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from tests.policy.checks import builders as checks_builders


def node_group(name: str, pool: str | None = None) -> aws.eks.NodeGroup:
    """A node group, of a GPU pool when `pool` is given (its nodes carry the pool's label)."""
    return checks_builders.node_group(
        name, instance_types=["g6e.xlarge"], launch_template=False, labels={"aiplane.io/pool": pool} if pool else None
    )


def provider(name: str, after: list[pulumi.Resource] | None = None) -> k8s.Provider:
    return k8s.Provider(name, k8s.ProviderArgs(kubeconfig="{}"), opts=pulumi.ResourceOptions(depends_on=after or []))


def deployment(
    name: str,
    on: k8s.Provider,
    *,
    replicas: int | None = 1,
    gpus: int = 0,
    pool: str | None = None,
    startup_seconds: int | None = None,
    annotations: dict[str, str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.apps.v1.Deployment:
    labels = {"app": name}
    probe = None
    if startup_seconds is not None:
        probe = k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path="/health", port=8000), period_seconds=10, failure_threshold=startup_seconds // 10
        )
    container = k8s.core.v1.ContainerArgs(
        name="app",
        image="registry.example/app:1",
        startup_probe=probe,
        resources=k8s.core.v1.ResourceRequirementsArgs(limits={"nvidia.com/gpu": str(gpus)}) if gpus else None,
    )
    return k8s.apps.v1.Deployment(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace="apps", annotations=annotations),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            template=k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.core.v1.PodSpecArgs(containers=[container], node_selector={"aiplane.io/pool": pool} if pool else None),
            ),
        ),
        opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(provider=on), opts),
    )


def autoscaler(name: str, target: str, on: k8s.Provider) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=target, namespace="apps"),
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(api_version="apps/v1", kind="Deployment", name=target),
            min_replicas=1,
            max_replicas=4,
        ),
        opts=pulumi.ResourceOptions(provider=on),
    )


class TenantBoundary(pulumi.ComponentResource):
    """Stands where components/tenant_boundary.py's component does: the gate knows tenants by its type."""

    def __init__(self, tenant: str):
        super().__init__("aiplane:tenant:TenantBoundary", f"tenant-{tenant}", None, None)


def tenant_namespace(
    name: str, *, deny: bool = True, quota: bool = True, limits: bool = True, pod_security: str = "restricted", owned: bool = True,
    labels: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A tenant's namespace `name` (the tenant of that name) with its boundary's objects, less those switched off.
    `owned=False` builds it outside any boundary, known as the tenant's by its label only."""
    parent = pulumi.ResourceOptions(parent=TenantBoundary(name)) if owned else None
    namespace = k8s.core.v1.Namespace(
        name, metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, labels={"aiplane.io/tenant": name, "pod-security.kubernetes.io/enforce": pod_security, **(labels or {})}
        ),
        opts=parent,
    )
    meta = k8s.meta.v1.ObjectMetaArgs
    if deny:
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny", metadata=meta(name="default-deny", namespace=name),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]),
            opts=parent,
        )
    if quota:
        k8s.core.v1.ResourceQuota(
            f"{name}-quota", metadata=meta(name="tenant-quota", namespace=name),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard={"requests.nvidia.com/gpu": "4", "requests.cpu": "64"}), opts=parent,
        )
    if limits:
        k8s.core.v1.LimitRange(
            f"{name}-limits", metadata=meta(name="tenant-defaults", namespace=name),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=[k8s.core.v1.LimitRangeItemArgs(type="Container", default={"cpu": "1"})]),
            opts=parent,
        )
    return namespace


def efa_pool(
    name: str, pool: str, *, efa: bool = True, placement: bool = True, subnets: int = 1, reservation: str | None = None
) -> aws.eks.NodeGroup:
    """A managed node group of GPU pool `pool` on its own launch template: EFA interfaces and a cluster placement
    group where asked, in `subnets` subnets."""
    if efa:
        template = checks_builders.efa_template(f"{name}-lt", cards=4, placement=placement, reservation=reservation)
    else:
        template = checks_builders.node_launch_template(f"{name}-lt")
    return aws.eks.NodeGroup(
        name,
        aws.eks.NodeGroupArgs(
            cluster_name="fixture",
            node_role_arn="arn:aws:iam::123456789012:role/nodes",
            subnet_ids=[f"subnet-{index}" for index in range(subnets)],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, desired_size=2, max_size=4),
            ami_type="AL2023_x86_64_NVIDIA",
            labels={"aiplane.io/pool": pool},
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version="1"),
        ),
    )


def multi_node_server(
    name: str,
    pool: str,
    *,
    efa: int | None = 4,
    zone: str | None = "us-east-1a",
    placement_group: str | None = "fixture-pg",
    worker_zone: str | None = None,
    host_infiniband: bool = False,
) -> k8s.apiextensions.CustomResource:
    """A LeaderWorkerSet of two-pod groups (a leader and a worker, each with all 8 GPUs of its node)."""

    def pod(zone_of_pod: str | None) -> k8s.core.v1.PodSpecArgs:
        limits = {"nvidia.com/gpu": "8", **({"vpc.amazonaws.com/efa": str(efa)} if efa else {})}
        selector = {"aiplane.io/pool": pool, "topology.kubernetes.io/zone": zone_of_pod, "aiplane.io/placement-group": placement_group}
        volumes = [k8s.core.v1.VolumeArgs(name="ib", host_path=k8s.core.v1.HostPathVolumeSourceArgs(path="/dev/infiniband"))]
        return k8s.core.v1.PodSpecArgs(
            containers=[k8s.core.v1.ContainerArgs(name="vllm", image="registry.example/vllm:1", resources=k8s.core.v1.ResourceRequirementsArgs(limits=limits))],
            node_selector={key: value for key, value in selector.items() if value},
            volumes=volumes if host_infiniband else None,
        )

    template = k8s.core.v1.PodTemplateSpecArgs
    return k8s.apiextensions.CustomResource(
        name,
        api_version="leaderworkerset.x-k8s.io/v1",
        kind="LeaderWorkerSet",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace="model-serving"),
        spec={
            "replicas": 1,
            "leaderWorkerTemplate": {
                "size": 2,
                "leaderTemplate": template(spec=pod(zone)),
                "workerTemplate": template(spec=pod(worker_zone or zone)),
            },
        },
    )


def kueue_queue(kind: str, name: str, spec: dict, namespace: str | None = None) -> k8s.apiextensions.CustomResource:
    """A Kueue ClusterQueue or LocalQueue (`kind`) named `name`."""
    return k8s.apiextensions.CustomResource(
        f"{name}-{kind.lower()}", api_version="kueue.x-k8s.io/v1beta2", kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace), spec=spec,
    )


def gpu_job(name: str, namespace: str, *, priority: str | None = None, gpus: int = 1, claim: bool = False) -> k8s.batch.v1.Job:
    """A Job of one pod asking for GPUs: as `nvidia.com/gpu`, or (`claim`) through a ResourceClaimTemplate."""
    resources = k8s.core.v1.ResourceRequirementsArgs(
        limits=None if claim else {"nvidia.com/gpu": str(gpus)}, claims=[k8s.core.v1.ResourceClaimArgs(name="gpus")] if claim else None
    )
    return k8s.batch.v1.Job(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, annotations={"pulumi.com/skipAwait": "true"}),
        spec=k8s.batch.v1.JobSpecArgs(template=k8s.core.v1.PodTemplateSpecArgs(spec=k8s.core.v1.PodSpecArgs(
            restart_policy="Never",
            priority_class_name=priority,
            resource_claims=[k8s.core.v1.PodResourceClaimArgs(name="gpus", resource_claim_template_name="gpus")] if claim else None,
            containers=[k8s.core.v1.ContainerArgs(name="work", image="registry.example/work:1", resources=resources)],
        ))),
    )
