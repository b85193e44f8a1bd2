"""Composition: one stack spec in, the platform's components out. `__main__.py` calls `build`."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from aiplane.spec import StackSpec
from aiplane.tagging import cost_tag_transformation
from components.cluster import Cluster, ClusterArgs, NodeGroupSizing
from components.network import Network, NetworkArgs


@dataclass(frozen=True)
class Platform:
    network: Network
    cluster: Cluster


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
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    return Platform(network=network, cluster=cluster)
