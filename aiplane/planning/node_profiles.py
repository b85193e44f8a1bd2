"""Node profiles: what each kind of GPU pool in the reference architecture is for, and how it is shaped.

A profile picks the instance families a pool may use, the capacity it may buy, its disk, taints and
labels, whether it is a multi-node (EFA) pool and whether it may run under Karpenter. Pools name a
profile instead of setting a dozen interdependent options each. Pure data: no Pulumi.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProfileName = Literal["inference", "long-context", "utility", "training", "batch"]
CapacityType = Literal["on-demand", "spot", "capacity-block"]
PoolMode = Literal["managed", "karpenter"]

# Every GPU node carries this taint, so only pods that tolerate it (and ask for GPUs) land there.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
PROFILE_LABEL = "aiplane.io/profile"
POOL_LABEL = "aiplane.io/pool"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
# GPUs per NVLink domain on the node: a scheduler (or a serving engine's launcher) puts a tensor-parallel
# group of up to this many GPUs on one node. Capacity type lets interruptible jobs find spot nodes.
NVLINK_DOMAIN_LABEL = "aiplane.io/nvlink-domain-gpus"
CAPACITY_TYPE_LABEL = "aiplane.io/capacity-type"
PLACEMENT_GROUP_LABEL = "aiplane.io/placement-group"
# The zone label the kubelet sets on every node, and the extended resource the EFA device plugin advertises.
ZONE_LABEL = "topology.kubernetes.io/zone"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
# A tenant's namespace, and the nodes of a tenant's dedicated pool, carry this label; dedicated nodes also
# carry a taint of the same key, so only the tenant's pods (which tolerate it) land there.
TENANT_LABEL = "aiplane.io/tenant"


def tenant_taint(tenant: str) -> dict[str, str]:
    return {"key": TENANT_LABEL, "value": tenant, "effect": "NoSchedule"}

PCIE_GPU_FAMILIES = ("g5", "g6", "g6e")
NVLINK_GPU_FAMILIES = ("p4d", "p4de", "p5", "p5e", "p5en", "p6-b200")


@dataclass(frozen=True)
class NodeProfile:
    name: ProfileName
    purpose: str
    families: tuple[str, ...]
    capacity_types: tuple[CapacityType, ...]  # allowed; the first is the default
    disk_gib: int  # root volume: container images plus the model cache
    multi_node: bool = False  # EFA between nodes, a cluster placement group, one zone
    karpenter: bool = False  # may run under Karpenter (bursty pools) instead of a managed node group
    min_gpu_memory_gib: float = 0
    max_gpus_per_node: int = 8
    max_unavailable_percentage: int = 25  # rolling updates: how much of the pool may drain at once

    @property
    def default_capacity_type(self) -> CapacityType:
        return self.capacity_types[0]


NODE_PROFILES: dict[str, NodeProfile] = {
    profile.name: profile
    for profile in (
        NodeProfile(
            name="inference",
            purpose="Low-latency serving: on-demand, or on an On-Demand Capacity Reservation; never spot.",
            families=PCIE_GPU_FAMILIES + NVLINK_GPU_FAMILIES,
            capacity_types=("on-demand",),
            disk_gib=500,
            karpenter=True,
        ),
        NodeProfile(
            name="long-context",
            purpose="Serving with long contexts: GPUs with at least 44 GiB each, for the KV cache.",
            families=("g6e", "p4de", "p5", "p5e", "p5en", "p6-b200"),
            capacity_types=("on-demand",),
            disk_gib=1000,
            min_gpu_memory_gib=44,
        ),
        NodeProfile(
            name="utility",
            purpose="Embeddings, rerankers and classifiers: small, single-GPU nodes.",
            families=("g5", "g6"),
            capacity_types=("on-demand", "spot"),
            disk_gib=200,
            karpenter=True,
            max_gpus_per_node=1,
        ),
        NodeProfile(
            name="training",
            purpose=(
                "Multi-node training: EFA on every network card, a cluster placement group in one zone; "
                "Capacity Blocks, on-demand, or spot for jobs that checkpoint."
            ),
            families=("p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"),
            capacity_types=("on-demand", "capacity-block", "spot"),
            disk_gib=1000,
            multi_node=True,
            max_unavailable_percentage=100,  # a training job spans the whole pool: replace it all at once
        ),
        NodeProfile(
            name="batch",
            purpose="Offline inference and evaluation: a spot mix over several instance types.",
            families=PCIE_GPU_FAMILIES + NVLINK_GPU_FAMILIES,
            capacity_types=("spot", "on-demand"),
            disk_gib=500,
            karpenter=True,
            max_unavailable_percentage=50,
        ),
    )
}
