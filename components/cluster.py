"""The EKS control plane, its system node group, core add-ons, and a Kubernetes provider for later components.

Secure defaults (behaviour, not options):
- the API endpoint is private unless the stack asks for public access, and then only from listed CIDRs;
- all five control-plane log types go to a CMK-encrypted log group with the stack's retention;
- Kubernetes Secrets are envelope-encrypted with a customer-managed key that rotates yearly;
- access is managed with EKS access entries (authentication mode API), not the aws-auth ConfigMap;
- system nodes require IMDSv2 with a hop limit of 1 (pods use EKS Pod Identity, not the node's role)
  and boot from an encrypted gp3 volume;
- the EBS CSI driver reaches AWS through EKS Pod Identity, and the cluster's default StorageClass makes
  gp3 volumes encrypted with a customer-managed key, so every persistent volume is encrypted.
"""
from __future__ import annotations

import json
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.components.base import AiplaneComponent
from aiplane.components.encryption import encrypted_log_group, rotating_key
from aiplane.components.iam import (
    account_key_policy,
    allow_policy,
    pod_identity_role,
    service_role,
)
from aiplane.components.nodes import encrypted_root_volume, imdsv2_only, node_role
from aiplane.spec.cluster import NodeGroupSizing

CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# CoreDNS and the EBS CSI controller need nodes to schedule on; the others run as DaemonSets or on the
# control plane's terms.
ADDONS_NEEDING_NODES = {"coredns", "aws-ebs-csi-driver"}
EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
ENCRYPTED_STORAGE_CLASS = "gp3-encrypted"
# The VPC CNI enforces NetworkPolicy only when asked to (its network policy agent is off by default; EKS user
# guide, "Restrict pod network traffic with Kubernetes network policies"): without this every policy aiplane
# writes, the tenants' default-deny among them, would be stored and ignored.
ADDON_CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}
# What a pod needs from the cluster before it can run: a node, its pod network and DNS.
PODS_NEED = ("vpc-cni", "coredns")


class ClusterArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    cluster_name: str
    version: str
    region: str
    private_subnet_ids: list[Any] = Field(min_length=2, description="pulumi.Input[str] each")
    endpoint_access: Literal["private", "public-and-private"] = "private"
    public_access_cidrs: list[str] = Field(default_factory=list)
    log_retention_days: int = Field(ge=1)
    admin_principal_arns: list[str] = Field(default_factory=list)
    system_nodes: NodeGroupSizing
    addons: dict[str, str]

    @model_validator(mode="after")
    def _public_endpoint_is_restricted(self) -> ClusterArgs:
        if self.endpoint_access == "public-and-private" and not self.public_access_cidrs:
            raise ValueError("public_access_cidrs must list the networks allowed to reach a public endpoint")
        return self


class Cluster(AiplaneComponent):
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    storage_class: k8s.storage.v1.StorageClass | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:cluster:Cluster", name, opts)
        account_id = aws.get_caller_identity_output().account_id

        secrets_key = rotating_key(
            self,
            f"{name}-secrets-key",
            f"Envelope encryption of Kubernetes Secrets in {args.cluster_name}",
            account_key_policy(account_id),
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            aws.kms.AliasArgs(name=f"alias/{args.cluster_name}-secrets", target_key_id=secrets_key.key_id),
            opts=self.child(),
        )
        # EKS writes to this exact name; creating it first lets us own retention and encryption.
        log_group = encrypted_log_group(
            self,
            f"{name}-control-plane-logs",
            log_group_name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_days=args.log_retention_days,
            region=args.region,
            account_id=account_id,
            purpose=f"the control-plane logs of {args.cluster_name}",
        )

        cluster_role = service_role(
            self,
            f"{name}-cluster-role",
            "eks.amazonaws.com",
            f"EKS control plane of {args.cluster_name}",
            ("sts:AssumeRole", "sts:TagSession"),
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            aws.iam.RolePolicyAttachmentArgs(role=cluster_role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"),
            opts=self.child(),
        )
        key_use = aws.iam.RolePolicy(
            f"{name}-cluster-secrets-key-use",
            aws.iam.RolePolicyArgs(
                role=cluster_role.id,
                policy=allow_policy(
                    ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"], secrets_key.arn.apply(lambda arn: [arn])
                ),
            ),
            opts=self.child(),
        )

        public = args.endpoint_access == "public-and-private"
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            aws.eks.ClusterArgs(
                name=args.cluster_name,
                version=args.version,
                role_arn=cluster_role.arn,
                vpc_config=aws.eks.ClusterVpcConfigArgs(
                    subnet_ids=args.private_subnet_ids,
                    endpoint_private_access=True,
                    endpoint_public_access=public,
                    public_access_cidrs=args.public_access_cidrs if public else None,
                ),
                enabled_cluster_log_types=CONTROL_PLANE_LOG_TYPES,
                encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                    provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn), resources=["secrets"]
                ),
                access_config=aws.eks.ClusterAccessConfigArgs(
                    authentication_mode="API",
                    # Without listed admins, the deploying identity keeps admin so that it can manage the cluster.
                    bootstrap_cluster_creator_admin_permissions=not args.admin_principal_arns,
                ),
                bootstrap_self_managed_addons=False,
            ),
            opts=self.child(depends_on=[log_group, cluster_policy, key_use]),
        )

        for index, principal_arn in enumerate(args.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}",
                aws.eks.AccessEntryArgs(cluster_name=cluster.name, principal_arn=principal_arn, type="STANDARD"),
                opts=self.child(),
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}-policy",
                aws.eks.AccessPolicyAssociationArgs(
                    cluster_name=cluster.name,
                    principal_arn=principal_arn,
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                ),
                opts=self.child(depends_on=[entry]),
            )

        node_group = self._system_nodes(name, args, cluster)

        volume_key = None
        addons: dict[str, aws.eks.Addon] = {}
        # The Pod Identity agent first: add-ons that reach AWS through it are created after it.
        for addon, version in sorted(args.addons.items(), key=lambda item: item[0] != "eks-pod-identity-agent"):
            identities = None
            depends_on: list[pulumi.Resource] = [node_group] if addon in ADDONS_NEEDING_NODES else []
            if addon == EBS_CSI_ADDON:
                volume_key = rotating_key(
                    self, f"{name}-volume-key", f"Encrypts the persistent volumes of {args.cluster_name}", account_key_policy(account_id)
                )
                identities = [self._ebs_csi_identity(name, args, volume_key)]
                depends_on += [addons["eks-pod-identity-agent"]] if "eks-pod-identity-agent" in addons else []
            addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                aws.eks.AddonArgs(
                    cluster_name=cluster.name,
                    addon_name=addon,
                    addon_version=version,
                    resolve_conflicts_on_create="OVERWRITE",
                    resolve_conflicts_on_update="OVERWRITE",
                    pod_identity_associations=identities,
                    configuration_values=json.dumps(ADDON_CONFIGURATION[addon]) if addon in ADDON_CONFIGURATION else None,
                ),
                opts=self.child(depends_on=depends_on or None),
            )

        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.node_role_arn = node_group.node_role_arn
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda values: kubeconfig(*values, region=args.region)
            )
        )
        # Every Kubernetes object is created through this provider, so it waits for what pods need: a Helm release
        # or a Deployment that starts before any node exists waits out its await timeout and fails (and an
        # atomic release uninstalls itself).
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=self.kubeconfig, enable_server_side_apply=True),
            opts=self.child(depends_on=[node_group, *(addons[addon] for addon in PODS_NEED if addon in addons)]),
        )
        self.storage_class = None
        if volume_key is not None:
            self.storage_class = k8s.storage.v1.StorageClass(
                f"{name}-{ENCRYPTED_STORAGE_CLASS}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ENCRYPTED_STORAGE_CLASS, annotations={"storageclass.kubernetes.io/is-default-class": "true"}
                ),
                provisioner="ebs.csi.aws.com",
                parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": volume_key.arn},
                reclaim_policy="Retain",
                # A volume is created in the zone its pod lands in, not in a zone the pod cannot reach.
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True,
                opts=self.child(provider=self.provider, depends_on=[addons[EBS_CSI_ADDON]]),
            )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _ebs_csi_identity(self, name: str, args: ClusterArgs, volume_key: aws.kms.Key) -> aws.eks.AddonPodIdentityAssociationArgs:
        role = pod_identity_role(self, f"{name}-ebs-csi-role", f"EBS CSI driver of {args.cluster_name}")
        aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi-policy", aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=EBS_CSI_POLICY), opts=self.child()
        )
        aws.iam.RolePolicy(
            f"{name}-ebs-csi-volume-key",
            aws.iam.RolePolicyArgs(role=role.id, policy=volume_key.arn.apply(ebs_csi_key_policy)),
            opts=self.child(),
        )
        return aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=EBS_CSI_SERVICE_ACCOUNT)

    def _system_nodes(self, name: str, args: ClusterArgs, cluster: aws.eks.Cluster) -> aws.eks.NodeGroup:
        role, attachments = node_role(self, name, f"System nodes of {args.cluster_name}")
        sizing = args.system_nodes
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-system-lt",
            aws.ec2.LaunchTemplateArgs(
                description=f"System nodes of {args.cluster_name}",
                metadata_options=imdsv2_only(),
                block_device_mappings=[encrypted_root_volume(sizing.disk_size_gib)],
            ),
            opts=self.child(),
        )
        return aws.eks.NodeGroup(
            f"{name}-system-nodes",
            aws.eks.NodeGroupArgs(
                cluster_name=cluster.name,
                node_role_arn=role.arn,
                subnet_ids=args.private_subnet_ids,
                instance_types=sizing.instance_types,
                capacity_type=sizing.capacity_type,
                ami_type="AL2023_x86_64_STANDARD",
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=sizing.min_size, desired_size=sizing.desired_size, max_size=sizing.max_size
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=launch_template.id, version=launch_template.latest_version.apply(str)
                ),
                labels={"aiplane.io/profile": "system"},
            ),
            opts=self.child(depends_on=attachments),
        )


def ebs_csi_key_policy(key_arn: str) -> str:
    """Use of the volume key, as the EBS CSI guide lists it: grants only for AWS resources (the volumes)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "VolumeKeyGrants",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": [key_arn],
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Sid": "VolumeKeyUse",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": [key_arn],
                },
            ],
        }
    )


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token`, so no long-lived credential is stored."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                        }
                    },
                }
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
        }
    )
