"""A VPC across two zones and an EKS cluster with its system node group, from aiplane's components alone."""
import pulumi

from aiplane.components.cluster import Cluster, ClusterArgs
from aiplane.components.network import Network, NetworkArgs
from aiplane.spec.cluster import CORE_ADDONS, NodeGroupSizing

region = pulumi.Config("aws").require("region")
cluster_name = f"example-{pulumi.get_stack()}"

network = Network(
    "network",
    NetworkArgs(
        region=region,
        cidr="10.42.0.0/16",
        zones=[f"{region}a", f"{region}b"],
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
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("cluster_name", cluster.cluster_name)
