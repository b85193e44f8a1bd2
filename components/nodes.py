"""What every EKS node shares, system or GPU: the node role and the launch template's hardening.

Secure defaults (behaviour, not options): nodes require IMDSv2 with a hop limit of 1, so pods cannot
borrow the node's credentials (they use EKS Pod Identity), and boot from an encrypted gp3 volume.
"""
from __future__ import annotations

import pulumi_aws as aws

from aiplane.components.base import AiplaneComponent
from aiplane.components.iam import service_role

NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy")
ROOT_DEVICE = "/dev/xvda"  # the AL2023 EKS AMIs' root device
# IMDSv2 only, one hop: spelled as the EC2 API and Karpenter's EC2NodeClass spell it.
IMDSV2_ONLY = {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}


def node_role(
    owner: AiplaneComponent, name: str, description: str, path: str | None = None
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The role EC2 nodes assume, with the managed policies a node needs to join and run pods."""
    role = service_role(owner, f"{name}-node-role", "ec2.amazonaws.com", description, path=path)
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-node-{policy}",
            aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}"),
            opts=owner.child(),
        )
        for policy in NODE_MANAGED_POLICIES
    ]
    return role, attachments


def imdsv2_only() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint=IMDSV2_ONLY["httpEndpoint"],
        http_tokens=IMDSV2_ONLY["httpTokens"],
        http_put_response_hop_limit=IMDSV2_ONLY["httpPutResponseHopLimit"],
    )


def encrypted_root_volume(
    size_gib: int, throughput_mibps: int | None = None, iops: int | None = None
) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=ROOT_DEVICE,
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gib,
            volume_type="gp3",
            encrypted="true",
            delete_on_termination="true",
            throughput=throughput_mibps,
            iops=iops,
        ),
    )
