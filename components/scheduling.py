"""Who gets the cluster's GPUs, and in what order: Kueue, JobSet, the platform's priority classes and, under
`gpuAllocation: dra`, the NVIDIA DRA driver with a DeviceClass per GPU product.

The layout comes from `aiplane.planning.queues` (a stack's `queue_plan`):
- a ResourceFlavor per GPU pool: its nodes' pool label, the GPU taint (and a dedicated pool's tenant
  taint) and the tolerations for them, which Kueue adds to the pods it admits there;
- one cohort (a Cohort that holds the GPUs no queue was given, borrowable by any member queue);
- the platform's evaluation queue (namespace `evaluation`, lowest priority); tenants' ClusterQueues and
  LocalQueues are their boundaries' (`components.tenant_boundary`, through `cluster_queue`/`local_queue`);
- PriorityClasses serving > interactive > batch > training. Serving is never queued: model servers and the
  gateway carry no queue name, their GPUs are set aside before the cohort is sized, and their priority lets
  the scheduler evict any lower pod from a node they need.

Defaults (behaviour, not options):
- Kueue manages only `batch/v1` Jobs and JobSets that name a queue, and counts only GPUs against quotas
  (`IgnoreUndeclared`): CPU and memory stay with each namespace's ResourceQuota;
- within the cohort a queue reclaims its lent GPUs from anyone (`reclaimWithinCohort: Any`), and a queue
  that borrows may preempt only lower-priority work, never work at interactive priority or above;
- charts and their images are pinned: Kueue 0.19.2, JobSet 0.12.0 (registry.k8s.io, where the projects
  promote release images), NVIDIA DRA driver 25.12.0 with the device plugin switched off (the chart refuses
  to run beside it, deployments/helm/nvidia-dra-driver-gpu/templates/validation.yaml).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent
from aiplane.components.gpu_software import GPU_TOLERATION, helm_release
from aiplane.components.workloads import NAMESPACE_NAME_LABEL, restricted_namespace
from aiplane.planning.node_profiles import GPU_TAINT, POOL_LABEL, tenant_taint
from aiplane.planning.queues import (
    COHORT,
    EVALUATION_QUEUE,
    NO_GPU_FLAVOR,
    PRIORITIES,
    QueueLayout,
    QueuePlan,
    priority_level,
)

KUEUE_VERSION = "0.19.2"
KUEUE_CHART = {"chart": "oci://registry.k8s.io/kueue/charts/kueue", "version": KUEUE_VERSION}
KUEUE_NAMESPACE = "kueue-system"
KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta2"
JOBSET_VERSION = "0.12.0"
JOBSET_CHART = {"chart": "oci://registry.k8s.io/jobset/charts/jobset", "version": JOBSET_VERSION}
JOBSET_NAMESPACE = "jobset-system"
JOBSET_API_VERSION = "jobset.x-k8s.io/v1alpha2"
DRA_DRIVER_CHART = {"chart": "nvidia-dra-driver-gpu", "version": "25.12.0", "repo": "https://helm.ngc.nvidia.com/nvidia"}
DRA_DRIVER_NAMESPACE = "nvidia-dra-driver-gpu"
DRA_API_VERSION = "resource.k8s.io/v1"
# The label Kueue's webhook reads to send a Job or JobSet to a LocalQueue.
QUEUE_NAME_LABEL = "kueue.x-k8s.io/queue-name"
LOCAL_QUEUE = "gpus"  # every namespace's LocalQueue has this name
DEVICE_PLUGIN_GPU = "nvidia.com/gpu"
# Under DRA, Kueue charges claims of every aiplane DeviceClass to this one logical resource (deviceClassMappings).
DRA_GPU = "aiplane.io/gpu"
NVIDIA_DRA_DRIVER = "gpu.nvidia.com"
# The label a tenant namespace carries with the highest priority class its workloads may use.
PRIORITY_CEILING_LABEL = "aiplane.io/priority-ceiling"


def gpu_quota_resource(gpu_allocation: str) -> str:
    """What Kueue's quotas count GPUs in under the allocation mode."""
    return DRA_GPU if gpu_allocation == "dra" else DEVICE_PLUGIN_GPU


def device_class_name(gpu_product: str) -> str:
    """A DeviceClass per GPU product: `nvidia-l40s.gpu.aiplane.io` for the product label `NVIDIA-L40S`."""
    return f"{gpu_product.lower()}.gpu.aiplane.io"


def device_selector(gpu_product: str) -> str:
    """The CEL that picks whole GPUs of one product from the NVIDIA DRA driver's devices. The driver publishes the
    NVML device name as `productName` ("NVIDIA L40S"); GPU feature discovery's node label is that name with '-'
    for ' ' ("NVIDIA-L40S"), which is what the instance catalog records."""
    return (
        f"device.driver == '{NVIDIA_DRA_DRIVER}' && device.attributes['{NVIDIA_DRA_DRIVER}'].type == 'gpu' && "
        f"device.attributes['{NVIDIA_DRA_DRIVER}'].productName.replace(' ', '-') == '{gpu_product}'"
    )


def resource_quota_key(gpu_allocation: str, gpu_product: str) -> str:
    """The namespace ResourceQuota key that caps GPUs under the mode: `requests.nvidia.com/gpu`, or under DRA the
    devices claimed through the product's DeviceClass (`<class>.deviceclass.resource.k8s.io/devices`, Kubernetes'
    DRA quota, kubernetes/kubernetes commit 299ecde5)."""
    if gpu_allocation == "dra":
        return f"{device_class_name(gpu_product)}.deviceclass.resource.k8s.io/devices"
    return f"requests.{DEVICE_PLUGIN_GPU}"


def gpu_quota(quota_key: str, gpus: int) -> dict[str, str]:
    """A namespace's GPU quota: `gpus` under the mode's key; under DRA, none at all through the device plugin."""
    if quota_key == f"requests.{DEVICE_PLUGIN_GPU}":
        return {quota_key: str(gpus)}
    return {f"requests.{DEVICE_PLUGIN_GPU}": "0", quota_key: str(gpus)}


def kueue_configuration(gpu_allocation: str, device_classes: list[str]) -> str:
    """The manager's Configuration (config.kueue.x-k8s.io/v1beta2), as the chart takes it: the chart's own
    settings, only Jobs and JobSets managed, and GPUs alone counted against quota."""
    resources: dict[str, Any] = {"quotaCheckStrategy": "IgnoreUndeclared"}
    if gpu_allocation == "dra":
        resources["deviceClassMappings"] = [{"name": DRA_GPU, "deviceClassNames": sorted(set(device_classes))}]
    configuration = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": ["batch/job", "jobset.x-k8s.io/jobset"]},
        "resources": resources,
    }
    # JSON is YAML: the manager reads it as its config file.
    return json.dumps(configuration, indent=2)


class FlavorArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: str
    gpu_product: str = Field(description="The nodes' nvidia.com/gpu.product label (the instance catalog's gpuProduct)")
    tenant: str | None = Field(default=None, description="The tenant a dedicated pool is held for by its taint")


class SchedulingArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    plan: QueuePlan
    flavors: list[FlavorArgs]
    gpu_allocation: str = Field(pattern="^(device-plugin|dra)$")
    kubernetes_provider: Any
    depends_on: list[Any] = Field(default_factory=list, description="The GPU software (node labels, the operator's CRDs)")
    evaluation_quota_key: str = Field(default="requests.nvidia.com/gpu", description="resource_quota_key of the evaluation queue's pool")


def cluster_queue(
    name: str, queue: QueueLayout, gpu_resource: str, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """A queue's ClusterQueue: its GPUs on its home pool's flavor, in the cohort, for its namespace alone."""
    quota: dict[str, Any] = {"name": gpu_resource, "nominalQuota": queue.nominal_gpus, "borrowingLimit": queue.borrowing_limit}
    quota["lendingLimit"] = queue.lending_limit
    return k8s.apiextensions.CustomResource(
        name,
        api_version=KUEUE_API_VERSION,
        kind="ClusterQueue",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=queue.cluster_queue),
        spec={
            "cohortName": COHORT,
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: queue.namespace}},
            "queueingStrategy": "BestEffortFIFO",
            "resourceGroups": [{"coveredResources": [gpu_resource], "flavors": [{"name": queue.pool, "resources": [quota]}]}],
            "preemption": {
                "withinClusterQueue": "LowerPriority",
                "reclaimWithinCohort": "Any",
                # Borrowed GPUs may displace only work below interactive priority.
                "borrowWithinCohort": {"policy": "LowerPriority", "maxPriorityThreshold": priority_level("batch").value},
            },
        },
        opts=opts,
    )


def local_queue(name: str, queue: QueueLayout, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        name,
        api_version=KUEUE_API_VERSION,
        kind="LocalQueue",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=LOCAL_QUEUE, namespace=queue.namespace),
        spec={"clusterQueue": queue.cluster_queue},
        opts=opts,
    )


class Scheduling(AiplaneComponent):
    """Kueue and its cohort, JobSet, the priority classes and (under DRA) the driver and DeviceClasses."""

    ready: list[pulumi.Resource]  # what a queue, or a pod at a platform priority, must be created after
    gpu_resource: str
    device_classes: dict[str, str]  # pool -> its DeviceClass (DRA)

    def __init__(self, name: str, args: SchedulingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:scheduling:Scheduling", name, opts)
        on_cluster = self.child(provider=args.kubernetes_provider, depends_on=args.depends_on)
        self.gpu_resource = gpu_quota_resource(args.gpu_allocation)
        priority_classes = [
            k8s.scheduling.v1.PriorityClass(
                f"{name}-priority-{level.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=level.class_name),
                value=level.value,
                global_default=False,
                preemption_policy="PreemptLowerPriority" if level.preempts else "Never",
                description=level.purpose,
                opts=on_cluster,
            )
            for level in PRIORITIES
        ]
        self.device_classes = {}
        after_driver: list[pulumi.Resource] = []
        if args.gpu_allocation == "dra":
            after_driver = self._dra(name, args, on_cluster)
        jobset_ns = k8s.core.v1.Namespace(f"{name}-jobset-ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=JOBSET_NAMESPACE), opts=on_cluster)
        jobset = helm_release(
            f"{name}-jobset", JOBSET_CHART, JOBSET_NAMESPACE,
            {"image": {"repository": "registry.k8s.io/jobset/jobset", "tag": f"v{JOBSET_VERSION}", "pullPolicy": "IfNotPresent"}},
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[jobset_ns])),
        )
        kueue_ns = k8s.core.v1.Namespace(f"{name}-kueue-ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=KUEUE_NAMESPACE), opts=on_cluster)
        kueue = helm_release(
            f"{name}-kueue", KUEUE_CHART, KUEUE_NAMESPACE,
            {
                "controllerManager": {"manager": {"image": {
                    "repository": "registry.k8s.io/kueue/kueue", "tag": f"v{KUEUE_VERSION}", "pullPolicy": "IfNotPresent",
                }}},
                "managerConfig": {"controllerManagerConfigYaml": kueue_configuration(args.gpu_allocation, list(self.device_classes.values()))},
            },
            # Kueue manages JobSets: their CRD first.
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[kueue_ns, jobset, *after_driver])),
        )
        after_kueue = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[kueue]))
        flavors = [self._flavor(name, flavor, after_kueue) for flavor in args.flavors]
        if any(queue.pool == NO_GPU_FLAVOR for queue in args.plan.queues):
            flavors.append(k8s.apiextensions.CustomResource(
                f"{name}-flavor-{NO_GPU_FLAVOR}", api_version=KUEUE_API_VERSION, kind="ResourceFlavor",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NO_GPU_FLAVOR), spec={}, opts=after_kueue,
            ))
        cohort = k8s.apiextensions.CustomResource(
            f"{name}-cohort",
            api_version=KUEUE_API_VERSION,
            kind="Cohort",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=COHORT),
            spec={"resourceGroups": [{
                "coveredResources": [self.gpu_resource],
                "flavors": [
                    {"name": pool, "resources": [{"name": self.gpu_resource, "nominalQuota": gpus}]}
                    for pool, gpus in args.plan.cohort_gpus.items()
                ],
            }]} if args.plan.cohort_gpus else {},
            opts=after_kueue,
        )
        self.ready = [kueue, *flavors, cohort, *priority_classes]
        evaluation = args.plan.queue(EVALUATION_QUEUE)
        if evaluation is not None:
            namespace = restricted_namespace(f"{name}-evaluation-ns", EVALUATION_QUEUE, {"aiplane.io/plane": "evaluation"}, on_cluster)
            queue_opts = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[*self.ready, namespace]))
            cluster_queue(f"{name}-evaluation-cq", evaluation, self.gpu_resource, queue_opts)
            local_queue(f"{name}-evaluation-lq", evaluation, queue_opts)
            k8s.core.v1.ResourceQuota(
                f"{name}-evaluation-quota",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="evaluation-gpus", namespace=EVALUATION_QUEUE),
                spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=gpu_quota(args.evaluation_quota_key, evaluation.most_gpus)),
                opts=queue_opts,
            )
        self.register_outputs({"cohort": COHORT})

    def _flavor(self, name: str, flavor: FlavorArgs, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        taints = [GPU_TAINT, *([tenant_taint(flavor.tenant)] if flavor.tenant else [])]
        tolerations = [GPU_TOLERATION, *([{**tenant_taint(flavor.tenant), "operator": "Equal"}] if flavor.tenant else [])]
        return k8s.apiextensions.CustomResource(
            f"{name}-flavor-{flavor.pool}",
            api_version=KUEUE_API_VERSION,
            kind="ResourceFlavor",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=flavor.pool),
            spec={"nodeLabels": {POOL_LABEL: flavor.pool}, "nodeTaints": taints, "tolerations": tolerations},
            opts=opts,
        )

    def _dra(self, name: str, args: SchedulingArgs, on_cluster: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        namespace = k8s.core.v1.Namespace(
            f"{name}-dra-ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=DRA_DRIVER_NAMESPACE), opts=on_cluster
        )
        driver = helm_release(
            f"{name}-dra-driver", DRA_DRIVER_CHART, DRA_DRIVER_NAMESPACE,
            {
                # The EKS NVIDIA AMI puts the driver on the host's root, where the chart looks by default.
                "nvidiaDriverRoot": "/",
                "gpuResourcesEnabledOverride": True,  # the device plugin is off under DRA (components/gpu_software.py)
                "resources": {"gpus": {"enabled": True}, "computeDomains": {"enabled": False}},
                "kubeletPlugin": {"tolerations": [GPU_TOLERATION]},
            },
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        after = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[driver]))
        classes: list[pulumi.Resource] = [driver]
        for product in sorted({flavor.gpu_product for flavor in args.flavors}):
            class_name = device_class_name(product)
            classes.append(
                k8s.resource.v1.DeviceClass(
                    f"{name}-device-class-{product.lower()}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=class_name),
                    spec=k8s.resource.v1.DeviceClassSpecArgs(
                        selectors=[k8s.resource.v1.DeviceSelectorArgs(cel=k8s.resource.v1.CELDeviceSelectorArgs(expression=device_selector(product)))]
                    ),
                    opts=after,
                )
            )
        self.device_classes = {flavor.pool: device_class_name(flavor.gpu_product) for flavor in args.flavors}
        return classes


# -- how a pod asks for GPUs under each mode -------------------------------------------------------------

GPU_CLAIM = "gpus"  # the name a pod and its containers give their GPU claim


@dataclass(frozen=True)
class GpuRequest:
    """How a pod asks for `count` GPUs of its pool: a `nvidia.com/gpu` limit (device plugin), or (DRA) a claim
    from a ResourceClaimTemplate of the pool's DeviceClass, which `claim_template` renders."""

    count: int
    device_class: str | None = None  # set under DRA

    @property
    def limits(self) -> dict[str, str]:
        return {} if self.device_class else {DEVICE_PLUGIN_GPU: str(self.count)}

    def container_claims(self) -> list[k8s.core.v1.ResourceClaimArgs] | None:
        return [k8s.core.v1.ResourceClaimArgs(name=GPU_CLAIM)] if self.device_class else None

    def pod_claims(self, template: str) -> list[k8s.core.v1.PodResourceClaimArgs] | None:
        return [k8s.core.v1.PodResourceClaimArgs(name=GPU_CLAIM, resource_claim_template_name=template)] if self.device_class else None

    def claim_template(self, name: str, template: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.resource.v1.ResourceClaimTemplate | None:
        """Under DRA, the template each pod's claim is made from: exactly `count` GPUs of the class."""
        if not self.device_class:
            return None
        return k8s.resource.v1.ResourceClaimTemplate(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=template, namespace=namespace),
            spec=k8s.resource.v1.ResourceClaimTemplateSpecArgs(
                spec=k8s.resource.v1.ResourceClaimSpecArgs(
                    devices=k8s.resource.v1.DeviceClaimArgs(
                        requests=[k8s.resource.v1.DeviceRequestArgs(
                            name=GPU_CLAIM,
                            exactly=k8s.resource.v1.ExactDeviceRequestArgs(
                                device_class_name=self.device_class, allocation_mode="ExactCount", count=self.count
                            ),
                        )]
                    )
                )
            ),
            opts=opts,
        )
