"""A GPU node pool: an EKS managed node group on its own launch template, or a Karpenter NodePool.

Secure and correct defaults (behaviour, not options):
- nodes require IMDSv2 (hop limit 1) and boot from an encrypted gp3 volume sized for model caches, with
  raised throughput so that weights load from the cache at disk speed rather than gp3's baseline;
- the AL2023 NVIDIA AMI (driver and container toolkit in the image);
- every node carries the labels `aiplane.io/profile`, `aiplane.io/pool`, `nvidia.com/gpu.product` and
  `aiplane.io/nvlink-domain-gpus`, and the taint `nvidia.com/gpu=true:NoSchedule`, in both modes;
- multi-node (EFA) pools get one EFA interface per network card (EFA with ENA at device index 0 on card 0,
  EFA-only on the other cards where the instance supports it), a cluster placement group, one subnet in
  one zone, and a security group that admits all traffic from itself and nothing else.
"""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.components.base import AiplaneComponent
from aiplane.components.nodes import (
    IMDSV2_ONLY,
    ROOT_DEVICE,
    encrypted_root_volume,
    imdsv2_only,
    node_role,
)
from aiplane.planning.instances import InstanceType
from aiplane.planning.node_profiles import (
    CAPACITY_TYPE_LABEL,
    GPU_PRODUCT_LABEL,
    GPU_TAINT,
    NVLINK_DOMAIN_LABEL,
    PLACEMENT_GROUP_LABEL,
    POOL_LABEL,
    PROFILE_LABEL,
    TENANT_LABEL,
    CapacityType,
    PoolMode,
    tenant_taint,
)

AMI_TYPE = "AL2023_x86_64_NVIDIA"
# Karpenter picks the NVIDIA variant of the AL2023 EKS AMI for GPU instances; pinned so nodes do not change
# under a running pool. Refresh from the EKS AMI release notes.
KARPENTER_AMI_ALIAS = "al2023@v20251108"
# gp3's baseline is 125 MiB/s; model weights read from the node cache want more (gp3 allows up to 1,000).
CACHE_VOLUME_THROUGHPUT_MIBPS = 1000
CACHE_VOLUME_IOPS = 6000
NODE_GROUP_CAPACITY = {"on-demand": "ON_DEMAND", "spot": "SPOT", "capacity-block": "CAPACITY_BLOCK"}
# A Karpenter pool that has stood empty this long gives its nodes back.
KARPENTER_CONSOLIDATE_AFTER = "5m"


class GpuNodePoolArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    cluster_name: Any = Field(description="pulumi.Input[str]")
    cluster_security_group_id: Any = Field(description="pulumi.Input[str]: the cluster's own security group")
    vpc_id: Any = Field(description="pulumi.Input[str]")
    subnet_ids: list[Any] = Field(min_length=1, description="pulumi.Input[str] each; one subnet for an EFA pool")
    pool_name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="The pool's name in labels and Karpenter objects")
    profile: str
    instances: list[InstanceType] = Field(min_length=1)
    mode: PoolMode = "managed"
    capacity_types: list[CapacityType] = Field(min_length=1)
    capacity_reservation_id: str | None = None
    placement_group: bool | None = Field(
        default=None, description="An EFA pool's cluster placement group; default on, except on a capacity reservation (which places them)"
    )
    efa: bool = False
    min_size: int = Field(ge=0)
    desired_size: int = Field(ge=0)
    max_size: int = Field(ge=1)
    disk_size_gib: int = Field(ge=50)
    max_unavailable_percentage: int = Field(default=25, ge=1, le=100)
    kubernetes_provider: Any = Field(default=None, description="k8s.Provider: required in karpenter mode")
    karpenter_controller: Any = Field(default=None, description="The Karpenter release: its CRDs must exist first")
    karpenter_role_path: str | None = Field(default=None, description="IAM path the controller may pass roles under")
    tenant: str | None = Field(default=None, description="A tenant's dedicated pool: labelled and tainted for it, charged to it")

    @model_validator(mode="after")
    def _coherent(self) -> GpuNodePoolArgs:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(f"sizes must satisfy min <= desired <= max, got {self.min_size}, {self.desired_size}, {self.max_size}")
        if self.efa and (len(self.instances) != 1 or not self.instances[0].efa):
            raise ValueError("efa needs exactly one instance type, and one with EFA support")
        if self.efa and not self.wants_placement_group and not self.capacity_reservation_id:
            raise ValueError("an EFA pool without a capacity reservation needs its cluster placement group")
        if self.efa and len(self.subnet_ids) != 1:
            raise ValueError("an EFA pool runs in one subnet (one zone), for its cluster placement group")
        if self.mode == "managed" and len(self.capacity_types) != 1:
            raise ValueError("a managed node group buys exactly one capacity type")
        if "capacity-block" in self.capacity_types and not self.capacity_reservation_id:
            raise ValueError("a capacity-block pool needs capacity_reservation_id")
        if self.mode == "karpenter" and (self.efa or self.capacity_reservation_id):
            raise ValueError("karpenter mode takes no EFA or capacity reservation")
        if self.mode == "karpenter" and None in (self.kubernetes_provider, self.karpenter_controller, self.karpenter_role_path):
            raise ValueError("karpenter mode needs kubernetes_provider, karpenter_controller and karpenter_role_path")
        return self

    @property
    def wants_placement_group(self) -> bool:
        if not self.efa:
            return False
        return self.placement_group if self.placement_group is not None else self.capacity_reservation_id is None

    @property
    def instance_type_in_template(self) -> bool:
        """EFA interfaces and capacity reservations are laid out for one instance type, named in the template."""
        return self.efa or self.capacity_reservation_id is not None


def pool_labels(args: GpuNodePoolArgs) -> dict[str, str]:
    first = args.instances[0]
    labels = {
        PROFILE_LABEL: args.profile,
        POOL_LABEL: args.pool_name,
        GPU_PRODUCT_LABEL: first.gpu_product,
        NVLINK_DOMAIN_LABEL: str(min(instance.nvlink_domain for instance in args.instances)),
    }
    if len(args.capacity_types) == 1:
        labels[CAPACITY_TYPE_LABEL] = args.capacity_types[0]
    if args.tenant:
        labels[TENANT_LABEL] = args.tenant
    return labels


def pool_taints(args: GpuNodePoolArgs) -> list[dict[str, str]]:
    """The GPU taint keeps non-GPU pods off; a tenant's taint keeps other tenants' pods off its pool."""
    return [dict(GPU_TAINT)] + ([tenant_taint(args.tenant)] if args.tenant else [])


class GpuNodePool(AiplaneComponent):
    node_role_arn: pulumi.Output[str]
    labels: dict[str, str]
    taints: list[dict[str, str]]
    placement_group_name: pulumi.Output[str] | None = None  # an EFA pool's cluster placement group

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:gpu:GpuNodePool", name, opts, tenant=args.tenant)
        self.labels = pool_labels(args)
        self.taints = pool_taints(args)
        role, attachments = node_role(self, name, f"GPU pool {name} ({args.profile})", path=args.karpenter_role_path)
        if args.mode == "managed":
            self._managed(name, args, role, attachments)
        else:
            self._karpenter(name, args, role, attachments)
        self.node_role_arn = role.arn
        self.register_outputs({"nodeRoleArn": self.node_role_arn, "labels": self.labels})

    # -- managed node group ----------------------------------------------------------------------
    def _managed(self, name: str, args: GpuNodePoolArgs, role: aws.iam.Role, attachments: list) -> None:
        instance = args.instances[0]
        template = aws.ec2.LaunchTemplateArgs(
            description=f"GPU pool {name}: {', '.join(i.name for i in args.instances)} ({args.profile})",
            metadata_options=imdsv2_only(),
            block_device_mappings=[encrypted_root_volume(args.disk_size_gib, CACHE_VOLUME_THROUGHPUT_MIBPS, CACHE_VOLUME_IOPS)],
            instance_type=instance.name if args.instance_type_in_template else None,
        )
        labels = dict(self.labels)
        if args.efa:
            fabric = self._efa_security_group(name, args)
            # With interfaces in the template, security groups go on the interfaces, not the template.
            template.network_interfaces = efa_interfaces(instance, [args.cluster_security_group_id, fabric.id])
        if args.wants_placement_group:
            placement_group = aws.ec2.PlacementGroup(
                f"{name}-placement", aws.ec2.PlacementGroupArgs(strategy="cluster"), opts=self.child()
            )
            template.placement = aws.ec2.LaunchTemplatePlacementArgs(group_name=placement_group.name)
            labels[PLACEMENT_GROUP_LABEL] = placement_group.name
            self.placement_group_name = placement_group.name
        if args.capacity_reservation_id:
            template.capacity_reservation_specification = aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
                capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                    capacity_reservation_id=args.capacity_reservation_id
                )
            )
        if args.capacity_types == ["capacity-block"]:
            template.instance_market_options = aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(market_type="capacity-block")
        launch_template = aws.ec2.LaunchTemplate(f"{name}-lt", template, opts=self.child())

        aws.eks.NodeGroup(
            f"{name}-nodes",
            aws.eks.NodeGroupArgs(
                cluster_name=args.cluster_name,
                node_role_arn=role.arn,
                subnet_ids=args.subnet_ids,
                instance_types=None if args.instance_type_in_template else [i.name for i in args.instances],
                capacity_type=NODE_GROUP_CAPACITY[args.capacity_types[0]],
                ami_type=AMI_TYPE,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=args.min_size, desired_size=args.desired_size, max_size=args.max_size
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=args.max_unavailable_percentage),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=launch_template.id, version=launch_template.latest_version.apply(str)),
                labels=labels,
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=taint["key"], value=taint["value"], effect="NO_SCHEDULE") for taint in self.taints
                ],
            ),
            # An autoscaler moves desired size between min and max; a later `pulumi up` must not undo that.
            opts=self.child(depends_on=attachments, ignore_changes=["scalingConfig.desiredSize"]),
        )

    def _efa_security_group(self, name: str, args: GpuNodePoolArgs) -> aws.ec2.SecurityGroup:
        """All traffic among the pool's nodes (EFA's OS-bypass needs every protocol), nothing else inbound.
        Outbound traffic beyond the pool leaves through the cluster security group on the same interfaces."""
        return aws.ec2.SecurityGroup(
            f"{name}-efa-sg",
            aws.ec2.SecurityGroupArgs(
                description=f"EFA fabric of GPU pool {name}: all traffic among its nodes",
                vpc_id=args.vpc_id,
                ingress=[
                    aws.ec2.SecurityGroupIngressArgs(
                        description="EFA and NCCL traffic from the pool's own nodes", protocol="-1", from_port=0, to_port=0, self=True
                    )
                ],
                egress=[
                    aws.ec2.SecurityGroupEgressArgs(
                        description="EFA and NCCL traffic to the pool's own nodes", protocol="-1", from_port=0, to_port=0, self=True
                    )
                ],
                tags={"aiplane:efa": "true"},
            ),
            opts=self.child(),
        )

    # -- karpenter -------------------------------------------------------------------------------
    def _karpenter(self, name: str, args: GpuNodePoolArgs, role: aws.iam.Role, attachments: list) -> None:
        # Nodes Karpenter launches join the cluster through an access entry for their role.
        access = aws.eks.AccessEntry(
            f"{name}-node-access",
            aws.eks.AccessEntryArgs(cluster_name=args.cluster_name, principal_arn=role.arn, type="EC2_LINUX"),
            opts=self.child(depends_on=attachments),
        )
        child = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider, depends_on=[access, args.karpenter_controller])
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.pool_name, labels={POOL_LABEL: args.pool_name}),
            spec={
                "role": role.name,
                "amiSelectorTerms": [{"alias": KARPENTER_AMI_ALIAS}],
                "subnetSelectorTerms": [{"id": subnet} for subnet in args.subnet_ids],
                "securityGroupSelectorTerms": [{"id": args.cluster_security_group_id}],
                "metadataOptions": dict(IMDSV2_ONLY),
                "blockDeviceMappings": [
                    {
                        "deviceName": ROOT_DEVICE,
                        "ebs": {
                            "volumeSize": f"{args.disk_size_gib}Gi",
                            "volumeType": "gp3",
                            "encrypted": True,
                            "deleteOnTermination": True,
                            "throughput": CACHE_VOLUME_THROUGHPUT_MIBPS,
                            "iops": CACHE_VOLUME_IOPS,
                        },
                    }
                ],
            },
            opts=child,
        )
        gpus_per_node = args.instances[0].gpus
        k8s.apiextensions.CustomResource(
            f"{name}-nodepool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.pool_name, labels={POOL_LABEL: args.pool_name}),
            spec={
                "template": {
                    "metadata": {"labels": self.labels},
                    "spec": {
                        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": args.pool_name},
                        "requirements": [
                            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [i.name for i in args.instances]},
                            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(args.capacity_types)},
                        ],
                        "taints": self.taints,
                    },
                },
                # The capacity plan's max nodes, as a GPU ceiling Karpenter will not provision past.
                "limits": {"nvidia.com/gpu": str(args.max_size * gpus_per_node)},
                "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": KARPENTER_CONSOLIDATE_AFTER},
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[node_class])),
        )


def efa_interfaces(instance: InstanceType, security_groups: list[Any]) -> list[aws.ec2.LaunchTemplateNetworkInterfaceArgs]:
    """One EFA interface per network card. Card 0 carries the primary interface (device index 0), an EFA
    with ENA so the node keeps its IP networking; every other card gets an EFA-only interface at device
    index 0, which spends no VPC address, as the EC2 guide on multi-card EFA instances recommends. Where an
    instance predates EFA-only interfaces, the others are EFA with ENA at device index 1."""
    interfaces = []
    for card in range(instance.max_efa_interfaces):
        efa_only = card > 0 and instance.efa_only_interfaces
        interfaces.append(
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                network_card_index=card,
                device_index=0 if card == 0 or efa_only else 1,
                interface_type="efa-only" if efa_only else "efa",
                security_groups=security_groups,
                delete_on_termination="true",
            )
        )
    return interfaces
