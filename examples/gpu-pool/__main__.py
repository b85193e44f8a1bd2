"""One GPU node pool (g6e.xlarge, on-demand, sized by hand) on a VPC and an EKS cluster, from aiplane's
components alone: the pool gets its launch template (IMDSv2, encrypted root volume), the NVIDIA AMI, the
GPU taint and the pool's labels, as it would inside a full aiplane stack."""
import pulumi

from aiplane.components.cluster import Cluster, ClusterArgs
from aiplane.components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from aiplane.components.network import Network, NetworkArgs
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import NODE_PROFILES
from aiplane.spec.cluster import CORE_ADDONS, NodeGroupSizing

region = pulumi.Config("aws").require("region")
cluster_name = f"gpu-example-{pulumi.get_stack()}"
zones = [f"{region}a", f"{region}b"]
profile = NODE_PROFILES["inference"]

network = Network(
    "network",
    NetworkArgs(
        region=region,
        cidr="10.43.0.0/16",
        zones=zones,
        nat_gateways="single",
        subnet_prefixes={"public": 24, "private": 19},
        interface_endpoints=["ecr.api", "ecr.dkr", "sts"],
        flow_log_retention_days=30,
        cluster_name=cluster_name,
    ),
)
cluster = Cluster(
    "cluster",
    ClusterArgs(
        cluster_name=cluster_name,
        version="1.33",
        region=region,
        private_subnet_ids=network.private_subnet_ids,
        log_retention_days=30,
        system_nodes=NodeGroupSizing(instance_types=["m7i.large"], min_size=2, desired_size=2, max_size=3),
        addons=CORE_ADDONS["1.33"],
    ),
)
pool = GpuNodePool(
    "gpu-chat",
    GpuNodePoolArgs(
        cluster_name=cluster.cluster_name,
        cluster_security_group_id=cluster.cluster_security_group_id,
        vpc_id=network.vpc_id,
        pool_name="chat",
        subnet_ids=[network.private_subnet_ids_by_zone[zone] for zone in zones],
        profile="inference",
        instances=[load_instance_catalog().instances["g6e.xlarge"]],
        capacity_types=["on-demand"],
        min_size=1,
        desired_size=1,
        max_size=4,
        disk_size_gib=profile.disk_gib,
    ),
)
pulumi.export("cluster_name", cluster.cluster_name)
