"""The EKS cluster: version, endpoint access, administrators, system nodes and core add-ons."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.spec.common import (
    MAX_NODES_PER_GROUP,
    IamPrincipalArn,
    InstanceType,
    Ipv4Cidr,
    Model,
    RetentionDays,
)

# Core add-on builds pinned per Kubernetes version, from the EKS user guide's add-on pages. Refresh with
# `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>` before moving a version.
CORE_ADDONS: dict[str, dict[str, str]] = {
    "1.33": {
        "vpc-cni": "v1.19.5-eksbuild.1",
        "coredns": "v1.12.1-eksbuild.2",
        "kube-proxy": "v1.33.0-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.7-eksbuild.2",
        # Persistent volumes (the vector database, Prometheus): the build published alongside kube-proxy
        # v1.33.0-eksbuild.2 above.
        "aws-ebs-csi-driver": "v1.46.0-eksbuild.1",
    },
    # 1.34 (for DRA's resource.k8s.io/v1): vpc-cni, coredns and kube-proxy from the user guide's add-on tables
    # (managing-coredns, managing-kube-proxy; vpc-cni from the amazonaws.cn pod-networking page, one build for
    # every version). The guide publishes no table for the pod identity agent or the EBS CSI driver: those two
    # are the builds public EKS 1.34 configurations pin (checked 2026-12-03). Confirm with the command above.
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "coredns": "v1.12.4-eksbuild.1",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
        "aws-ebs-csi-driver": "v1.54.0-eksbuild.1",
    },
}
KubernetesVersion = Literal["1.33", "1.34"]
AddonName = Literal["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"]


class NodeGroupSizing(BaseModel):
    """Size and shape of a managed node group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_types: list[str] = Field(min_length=1)
    min_size: int = Field(ge=0, le=MAX_NODES_PER_GROUP)
    desired_size: int = Field(ge=0, le=MAX_NODES_PER_GROUP)
    max_size: int = Field(ge=1, le=MAX_NODES_PER_GROUP)
    disk_size_gib: int = Field(default=50, ge=20, le=16384)
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"

    @model_validator(mode="after")
    def _sizes_ordered(self) -> NodeGroupSizing:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                "sizes must satisfy minSize <= desiredSize <= maxSize, "
                f"got {self.min_size}, {self.desired_size}, {self.max_size}"
            )
        return self


class NodeGroupSpec(Model, NodeGroupSizing):
    """The cluster component's node group sizing, spelled in camelCase in stack files."""

    instance_types: list[InstanceType] = Field(min_length=1)


class ClusterSpec(Model):
    name: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$", description="Default: aiplane-<env>.")
    version: KubernetesVersion = "1.33"
    endpoint_access: Literal["private", "public-and-private"] = Field(
        default="private", description="private: the API is reachable only from the VPC (and peered networks)."
    )
    public_access_cidrs: list[Ipv4Cidr] = Field(default_factory=list)
    log_retention_days: RetentionDays = 90
    admin_principal_arns: list[IamPrincipalArn] = Field(
        default_factory=list, description="IAM roles or users granted cluster admin through EKS access entries."
    )
    system_nodes: NodeGroupSpec
    addon_versions: dict[AddonName, Annotated[str, Field(pattern=r"^v[0-9][\w.-]*$")]] = Field(
        default_factory=dict, description="Overrides of the pinned core add-on builds."
    )

    @model_validator(mode="after")
    def _public_endpoint_is_restricted(self) -> ClusterSpec:
        if self.endpoint_access == "private" and self.public_access_cidrs:
            raise ValueError("publicAccessCidrs is set but endpointAccess is 'private'")
        if self.endpoint_access == "public-and-private" and not self.public_access_cidrs:
            raise ValueError("endpointAccess 'public-and-private' needs publicAccessCidrs (the networks allowed to reach the API)")
        return self

    @property
    def addons(self) -> dict[str, str]:
        return {**CORE_ADDONS[self.version], **self.addon_versions}
