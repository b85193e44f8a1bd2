"""Controllers' IAM at parity with their upstream reference policies at the pinned versions: no action,
resource or condition more, none less.

Karpenter: the `KarpenterControllerPolicy` of Karpenter's getting-started CloudFormation template for v1.5
(aws/karpenter-provider-aws, website/content/en/v1.5/getting-started/getting-started-with-karpenter/
cloudformation.yaml), its statements restated below with `{region}`, `{account}`, `{cluster}` and `{queue}`
where the template substitutes `${AWS::Region}`, `${AWS::AccountId}`, `${ClusterName}` and the queue's ARN.
EBS CSI driver: AWS's managed `AmazonEBSCSIDriverPolicy`, attached as it is, plus the use of the volume key
that the EBS CSI driver's guide for customer-managed keys lists (grants for AWS resources only, and the key's
cryptographic use), on that one key."""
from __future__ import annotations

import json

from aiplane.components.cluster import EBS_CSI_POLICY
from aiplane.components.gpu_software import KARPENTER_CHART, karpenter_controller_policy
from tests.conftest import synthesized

EC2 = "arn:aws:ec2:{region}:*"
OWNED = {"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
REQUESTED = {"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": "{cluster}"}
CREATED = [f"{EC2}:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
PROFILES = "arn:aws:iam::{account}:instance-profile/*"
NODECLASS = "karpenter.k8s.aws/ec2nodeclass"
REFERENCE_V1_5 = {
    "AllowScopedEC2InstanceAccessActions": (
        ["ec2:RunInstances", "ec2:CreateFleet"],
        ["arn:aws:ec2:{region}::image/*", "arn:aws:ec2:{region}::snapshot/*", f"{EC2}:security-group/*", f"{EC2}:subnet/*", f"{EC2}:capacity-reservation/*"],
        None,
    ),
    "AllowScopedEC2LaunchTemplateAccessActions": (
        ["ec2:RunInstances", "ec2:CreateFleet"], [f"{EC2}:launch-template/*"],
        {"StringEquals": OWNED, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
    ),
    "AllowScopedEC2InstanceActionsWithTags": (
        ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"], [*CREATED, f"{EC2}:capacity-reservation/*"],
        {"StringEquals": REQUESTED, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
    ),
    "AllowScopedResourceCreationTagging": (
        ["ec2:CreateTags"], CREATED,
        {"StringEquals": {**REQUESTED, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
         "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}},
    ),
    "AllowScopedResourceTagging": (
        ["ec2:CreateTags"], [f"{EC2}:instance/*"],
        {"StringEquals": OWNED, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
         "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": "{cluster}"},
         "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}},
    ),
    "AllowScopedDeletion": (
        ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"], [f"{EC2}:instance/*", f"{EC2}:launch-template/*"],
        {"StringEquals": OWNED, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}},
    ),
    "AllowRegionalReadActions": (
        ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings",
         "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory",
         "ec2:DescribeSubnets"],
        ["*"], {"StringEquals": {"aws:RequestedRegion": "{region}"}},
    ),
    "AllowSSMReadActions": (
        ["ssm:GetParameter"], ["arn:aws:ssm:{region}::parameter/aws/service/*", "arn:aws:ssm:{region}:{account}:parameter/imagebuilder/*"], None,
    ),
    "AllowPricingReadActions": (["pricing:GetProducts"], ["*"], None),
    "AllowInterruptionQueueActions": (["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], ["{queue}"], None),
    "AllowPassingInstanceRole": (
        ["iam:PassRole"], ["{node_roles}"], {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
    ),
    "AllowScopedInstanceProfileCreationActions": (
        ["iam:CreateInstanceProfile"], [PROFILES],
        {"StringEquals": {**REQUESTED, "aws:RequestTag/topology.kubernetes.io/region": "{region}"},
         "StringLike": {f"aws:RequestTag/{NODECLASS}": "*"}},
    ),
    "AllowScopedInstanceProfileTagActions": (
        ["iam:TagInstanceProfile"], [PROFILES],
        {"StringEquals": {**OWNED, "aws:ResourceTag/topology.kubernetes.io/region": "{region}", **REQUESTED,
                          "aws:RequestTag/topology.kubernetes.io/region": "{region}"},
         "StringLike": {f"aws:ResourceTag/{NODECLASS}": "*", f"aws:RequestTag/{NODECLASS}": "*"}},
    ),
    "AllowScopedInstanceProfileActions": (
        ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"], [PROFILES],
        {"StringEquals": {**OWNED, "aws:ResourceTag/topology.kubernetes.io/region": "{region}"}, "StringLike": {f"aws:ResourceTag/{NODECLASS}": "*"}},
    ),
    "AllowInstanceProfileReadActions": (["iam:GetInstanceProfile"], [PROFILES], None),
    "AllowAPIServerEndpointDiscovery": (["eks:DescribeCluster"], ["arn:aws:eks:{region}:{account}:cluster/{cluster}"], None),
}
VALUES = {
    "region": "eu-west-1", "account": "210987654321", "cluster": "aiplane-test", "queue": "arn:aws:sqs:eu-west-1:210987654321:aiplane-test",
    # The one deliberate difference: the roles under this cluster's Karpenter path, not one named role (the
    # pools are created after the controller); test_gpu_node_pool holds that only Karpenter node roles match.
    "node_roles": "arn:aws:iam::210987654321:role/aiplane/aiplane-test/karpenter/*",
}


def filled(value, values):
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [filled(item, values) for item in value]
    if isinstance(value, dict):
        return {filled(key, values): filled(item, values) for key, item in value.items()}
    return value


def as_sets(statement: dict) -> tuple:
    """A statement with its order-free parts as sets: what two policies that allow the same share."""
    def listed(value):
        return frozenset([value] if isinstance(value, str) else value)

    condition = frozenset(
        (operator, frozenset((key, listed(value)) for key, value in keys.items())) for operator, keys in (statement.get("Condition") or {}).items()
    )
    return statement["Effect"], listed(statement["Action"]), listed(statement["Resource"]), condition


def test_karpenter_controller_policy_is_at_parity_with_the_reference_of_its_pinned_version():
    assert KARPENTER_CHART["version"].startswith("1.5."), "a new Karpenter: restate its reference policy here first"
    rendered = json.loads(karpenter_controller_policy(
        VALUES["cluster"], VALUES["region"], VALUES["account"], "/aiplane/aiplane-test/karpenter/", VALUES["queue"]
    ))
    ours = {statement["Sid"]: as_sets(statement) for statement in rendered["Statement"]}
    reference = {
        sid: as_sets({"Effect": "Allow", "Action": actions, "Resource": filled(resources, VALUES), **({"Condition": filled(condition, VALUES)} if condition else {})})
        for sid, (actions, resources, condition) in REFERENCE_V1_5.items()
    }
    assert sorted(ours) == sorted(reference), "statements added or missing"
    for sid in reference:
        assert ours[sid] == reference[sid], f"{sid}: differs from Karpenter's v1.5 reference"


def test_the_ebs_csi_driver_has_exactly_the_aws_managed_policy():
    _, graph = synthesized("prod")
    role = graph.find("aws:iam/role:Role", "cluster-ebs-csi-role")
    attached = [r.inputs["policyArn"] for r in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if role.urn in r.dependencies]
    assert attached == [EBS_CSI_POLICY]
    (inline,) = [r for r in graph.of_type("aws:iam/rolePolicy:RolePolicy") if role.urn in r.dependencies]
    key_arn = graph.find("aws:kms/key:Key", "cluster-volume-key").outputs["arn"]
    statements = {as_sets(statement) for statement in json.loads(inline.inputs["policy"])["Statement"]}
    assert statements == {
        as_sets({"Effect": "Allow", "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": [key_arn],
                 "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}),
        as_sets({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": [key_arn]}),
    }
