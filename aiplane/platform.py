"""Composition: one stack spec in, the platform's components out. `__main__.py` calls `build`."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from aiplane.catalog import load_catalog
from aiplane.profiles import PROFILES
from aiplane.spec import StackSpec
from aiplane.tagging import cost_tag_transformation
from components.cluster import Cluster, ClusterArgs, NodeGroupSizing
from components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from components.gpu_software import GpuSoftware, GpuSoftwareArgs
from components.network import Network, NetworkArgs


@dataclass(frozen=True)
class Platform:
    network: Network
    cluster: Cluster
    gpu_pools: dict[str, GpuNodePool]
    gpu_software: GpuSoftware | None


def build(spec: StackSpec) -> Platform:
    platform = spec.platform
    pulumi.runtime.register_stack_transformation(
        cost_tag_transformation(spec.environment, platform.cost_center, platform.tags)
    )
    network = Network(
        "network",
        NetworkArgs(
            region=spec.region,
            cidr=platform.network.cidr,
            zones=spec.zones,
            nat_gateways=platform.network.nat_gateways,
            subnet_prefixes=platform.network.subnet_prefixes,
            interface_endpoints=platform.network.interface_endpoints,
            flow_log_retention_days=platform.network.flow_logs.retention_days,
            cluster_name=spec.cluster_name,
        ),
    )
    cluster_spec = platform.cluster
    cluster = Cluster(
        "cluster",
        ClusterArgs(
            cluster_name=spec.cluster_name,
            version=cluster_spec.version,
            region=spec.region,
            private_subnet_ids=network.private_subnet_ids,
            endpoint_access=cluster_spec.endpoint_access,
            public_access_cidrs=cluster_spec.public_access_cidrs,
            log_retention_days=cluster_spec.log_retention_days,
            admin_principal_arns=cluster_spec.admin_principal_arns,
            system_nodes=NodeGroupSizing.model_validate(cluster_spec.system_nodes.model_dump()),
            addons=cluster_spec.addons,
        ),
    )
    pools = platform.compute.pools
    gpu_software = None
    if pools:
        gpu_software = GpuSoftware(
            "gpu-software",
            GpuSoftwareArgs(
                cluster_name=cluster.cluster_name,
                cluster_endpoint=cluster.endpoint,
                region=spec.region,
                kubernetes_provider=cluster.provider,
                efa=any(pool.wants_efa for pool in pools),
                karpenter_role_path=karpenter_role_path(spec) if any(pool.mode == "karpenter" for pool in pools) else None,
            ),
        )
    gpu_pools = build_gpu_pools(spec, network, cluster, gpu_software)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("gpuPools", {name: pool.labels for name, pool in gpu_pools.items()})
    return Platform(network=network, cluster=cluster, gpu_pools=gpu_pools, gpu_software=gpu_software)


def karpenter_role_path(spec: StackSpec) -> str:
    """The IAM path of the cluster's Karpenter node roles: the only roles its controller may pass."""
    return f"/aiplane/{spec.cluster_name}/karpenter/"


def build_gpu_pools(spec: StackSpec, network: Network, cluster: Cluster, software: GpuSoftware | None) -> dict[str, GpuNodePool]:
    """One component per pool, sized by the capacity plan that validated the stack file."""
    catalog = load_catalog()
    plan = spec.platform.compute.plan
    pools = {}
    for pool in spec.platform.compute.pools:
        profile = PROFILES[pool.profile]
        sizes = plan.pool(pool.name)
        karpenter = pool.mode == "karpenter"
        zones = pool.availability_zones or spec.zones
        if profile.multi_node or pool.wants_efa:
            zones = zones[:1]  # one placement group, one zone
        pools[pool.name] = GpuNodePool(
            f"gpu-{pool.name}",
            GpuNodePoolArgs(
                cluster_name=cluster.cluster_name,
                cluster_security_group_id=cluster.cluster_security_group_id,
                vpc_id=network.vpc_id,
                pool_name=pool.name,
                subnet_ids=[network.private_subnet_ids_by_zone[zone] for zone in zones],
                profile=pool.profile,
                instances=[catalog.instances[name] for name in pool.instance_types],
                mode=pool.mode,
                capacity_types=pool.effective_capacity_types,
                capacity_reservation_id=pool.capacity_reservation_id,
                efa=pool.wants_efa,
                min_size=sizes.min_nodes,
                desired_size=sizes.desired_nodes,
                max_size=sizes.max_nodes,
                disk_size_gib=pool.disk_size_gib or profile.disk_gib,
                max_unavailable_percentage=profile.max_unavailable_percentage,
                kubernetes_provider=cluster.provider if karpenter else None,
                karpenter_controller=software.karpenter_release if karpenter else None,
                karpenter_role_path=karpenter_role_path(spec) if karpenter else None,
            ),
        )
    return pools
