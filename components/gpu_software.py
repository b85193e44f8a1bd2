"""The software GPU nodes need, installed once per cluster: the NVIDIA GPU Operator (with node feature
discovery, GPU feature discovery and the DCGM exporter), the EFA device plugin where a pool uses EFA, and
the Karpenter controller where a pool runs under Karpenter.

Defaults (behaviour, not options):
- Helm charts are pinned; moving a version is a reviewed change to this file;
- the operator uses the driver and container toolkit of the AL2023 NVIDIA AMI instead of installing its
  own, so a node boots ready and a driver is never compiled on it;
- the DCGM exporter runs with a ServiceMonitor, for the observability plane's Prometheus to scrape, and
  the Prometheus Operator's CRDs are installed first so that the ServiceMonitor never blocks the operator;
- every DaemonSet tolerates the GPU taint, so it reaches the nodes that keep everything else off.
"""
from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent
from aiplane.components.iam import pod_identity_association, pod_identity_role
from aiplane.components.workloads import privileged_namespace
from aiplane.planning.node_profiles import GPU_TAINT

GPU_OPERATOR_CHART = {"chart": "gpu-operator", "version": "v25.3.4", "repo": "https://helm.ngc.nvidia.com/nvidia"}
EFA_PLUGIN_CHART = {"chart": "aws-efa-k8s-device-plugin", "version": "v0.5.7", "repo": "https://aws.github.io/eks-charts"}
KARPENTER_CHART = {"chart": "oci://public.ecr.aws/karpenter/karpenter", "version": "1.5.0"}
# The ServiceMonitor kind. Before the fix in NVIDIA/gpu-operator#2262 (2026-04) the operator stops
# reconciling, and GPU feature discovery never starts, when the DCGM ServiceMonitor is enabled but its CRD
# is missing; installing the CRDs first keeps the two independent of the observability plane's Prometheus.
PROMETHEUS_CRDS_CHART = {
    "chart": "prometheus-operator-crds", "version": "24.0.2", "repo": "https://prometheus-community.github.io/helm-charts"
}
GPU_OPERATOR_NAMESPACE = "gpu-operator"
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
GPU_TOLERATION = {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}
# Karpenter acts on an interruption within its two-minute warning; older messages are of no use.
INTERRUPTION_MESSAGE_RETENTION_SECONDS = 300
INTERRUPTION_EVENTS = {
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
}
# The label the VPC CNI puts on nodes with EFA interfaces.
EFA_NODE_LABEL = "vpc.amazonaws.com/efa.present"


class GpuSoftwareArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    cluster_name: Any = Field(description="pulumi.Input[str]")
    cluster_endpoint: Any = Field(description="pulumi.Input[str]")
    region: str
    kubernetes_provider: Any = Field(description="k8s.Provider for the cluster")
    efa: bool = Field(description="Install the EFA device plugin (some pool uses EFA).")
    device_plugin: bool = Field(
        default=True, description="The operator's GPU device plugin; off under DRA, where the NVIDIA DRA driver hands out GPUs instead"
    )
    karpenter_role_path: str | None = Field(
        default=None, pattern=r"^/([\w+=,.@-]+/)+$", description="Install Karpenter; its pools' node roles live under this IAM path"
    )


def gpu_operator_values(device_plugin: bool = True) -> dict[str, Any]:
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "devicePlugin": {"enabled": device_plugin},
        "nfd": {"enabled": True},
        "gfd": {"enabled": True},
        "migManager": {"enabled": False},
        "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": True}},
        "daemonsets": {"tolerations": [GPU_TOLERATION]},
        "node-feature-discovery": {"worker": {"tolerations": [GPU_TOLERATION]}},
    }


class GpuSoftware(AiplaneComponent):
    karpenter_release: k8s.helm.v3.Release | None = None

    def __init__(self, name: str, args: GpuSoftwareArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:gpu:GpuSoftware", name, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        # The operator's DaemonSets load kernel modules and mount host paths.
        namespace = privileged_namespace(f"{name}-gpu-operator-ns", GPU_OPERATOR_NAMESPACE, on_cluster)
        monitoring_crds = helm_release(f"{name}-prometheus-crds", PROMETHEUS_CRDS_CHART, "kube-system", {}, on_cluster)
        helm_release(
            f"{name}-gpu-operator", GPU_OPERATOR_CHART, GPU_OPERATOR_NAMESPACE, gpu_operator_values(args.device_plugin),
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace, monitoring_crds])),
        )
        if args.efa:
            helm_release(
                f"{name}-efa-device-plugin",
                EFA_PLUGIN_CHART,
                "kube-system",
                {"nodeSelector": {EFA_NODE_LABEL: "true"}, "tolerations": [GPU_TOLERATION]},
                on_cluster,
            )
        if args.karpenter_role_path:
            self.karpenter_release = self._karpenter(name, args, on_cluster)
        self.register_outputs({})

    def _karpenter(self, name: str, args: GpuSoftwareArgs, on_cluster: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
        account_id = aws.get_caller_identity_output().account_id
        queue = self._interruption_queue(name)
        controller_role = pod_identity_role(self, f"{name}-karpenter-role", "Karpenter controller")
        aws.iam.RolePolicy(
            f"{name}-karpenter-policy",
            aws.iam.RolePolicyArgs(
                role=controller_role.id,
                policy=pulumi.Output.all(args.cluster_name, account_id, queue.arn).apply(
                    lambda values: karpenter_controller_policy(values[0], args.region, values[1], args.karpenter_role_path, values[2])
                ),
            ),
            opts=self.child(),
        )
        association = pod_identity_association(
            self, f"{name}-karpenter-identity", controller_role,
            cluster_name=args.cluster_name, namespace=KARPENTER_NAMESPACE, service_account=KARPENTER_SERVICE_ACCOUNT,
        )
        values = pulumi.Output.all(args.cluster_name, args.cluster_endpoint, queue.name).apply(
            lambda v: {
                "settings": {"clusterName": v[0], "clusterEndpoint": v[1], "interruptionQueue": v[2]},
                "serviceAccount": {"name": KARPENTER_SERVICE_ACCOUNT},
                "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}},
            }
        )
        return helm_release(
            f"{name}-karpenter", KARPENTER_CHART, KARPENTER_NAMESPACE, values,
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[association])),
        )

    def _interruption_queue(self, name: str) -> aws.sqs.Queue:
        """Where EC2 and AWS Health post spot interruption warnings, rebalance recommendations and instance
        state changes, so that Karpenter drains a node in the two minutes before spot takes it back."""
        queue = aws.sqs.Queue(
            f"{name}-karpenter-interruptions",
            aws.sqs.QueueArgs(message_retention_seconds=INTERRUPTION_MESSAGE_RETENTION_SECONDS, sqs_managed_sse_enabled=True),
            opts=self.child(),
        )
        aws.sqs.QueuePolicy(
            f"{name}-karpenter-interruptions-policy",
            aws.sqs.QueuePolicyArgs(queue_url=queue.url, policy=queue.arn.apply(interruption_queue_policy)),
            opts=self.child(),
        )
        for rule, pattern in INTERRUPTION_EVENTS.items():
            event_rule = aws.cloudwatch.EventRule(
                f"{name}-karpenter-{rule}",
                aws.cloudwatch.EventRuleArgs(description=f"Karpenter: {pattern['detail-type'][0]}", event_pattern=json.dumps(pattern)),
                opts=self.child(),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-karpenter-{rule}-target",
                aws.cloudwatch.EventTargetArgs(rule=event_rule.name, arn=queue.arn),
                opts=self.child(),
            )
        return queue


def interruption_queue_policy(queue_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EventsDeliver",
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                },
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


def helm_release(
    name: str, chart: dict[str, str], namespace: str, values: Any, opts: pulumi.ResourceOptions, release_name: str | None = None
) -> k8s.helm.v3.Release:
    """A pinned chart; `release_name` fixes the Helm release's name where other parts address its services."""
    return k8s.helm.v3.Release(
        name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name,
            chart=chart["chart"],
            version=chart["version"],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart["repo"]) if "repo" in chart else None,
            namespace=namespace,
            values=values,
            atomic=True,
        ),
        opts=opts,
    )


def karpenter_controller_policy(cluster_name: str, region: str, account_id: str, node_role_path: str, queue_arn: str) -> str:
    """The controller policy of Karpenter's getting-started CloudFormation template at the pinned version
    (website/content/en/v1.5/.../cloudformation.yaml in aws/karpenter-provider-aws), statement for statement:
    what it creates carries the cluster's tags, what it tags, deletes or launches from must carry them, and it
    reads only in this region. One deliberate difference: it may pass the roles under the IAM path of this
    cluster's Karpenter pools rather than one named role, because the pools are created after the controller
    (their NodePools need its CRDs). tests/components/test_controller_iam.py holds the two at parity."""
    ec2 = f"arn:aws:ec2:{region}:*"
    cluster_tag = f"kubernetes.io/cluster/{cluster_name}"
    owned = {f"aws:ResourceTag/{cluster_tag}": "owned"}
    requested = {f"aws:RequestTag/{cluster_tag}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name}
    of_a_nodepool = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    for_a_nodepool = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    created = [f"{ec2}:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    launch = ["ec2:RunInstances", "ec2:CreateFleet"]
    profiles = f"arn:aws:iam::{account_id}:instance-profile/*"
    profile_region = {"aws:ResourceTag/topology.kubernetes.io/region": region}
    profile_request = {**requested, "aws:RequestTag/topology.kubernetes.io/region": region}
    statements = [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Action": launch,
            "Resource": [f"arn:aws:ec2:{region}::image/*", f"arn:aws:ec2:{region}::snapshot/*"]
            + [f"{ec2}:{kind}/*" for kind in ("security-group", "subnet", "capacity-reservation")],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Action": launch,
            "Resource": f"{ec2}:launch-template/*",
            "Condition": {"StringEquals": owned, "StringLike": of_a_nodepool},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Action": [*launch, "ec2:CreateLaunchTemplate"],
            "Resource": [*created, f"{ec2}:capacity-reservation/*"],
            "Condition": {"StringEquals": requested, "StringLike": for_a_nodepool},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": created,
            "Condition": {
                "StringEquals": {**requested, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                "StringLike": for_a_nodepool,
            },
        },
        {
            # Karpenter names its instances and records their NodeClaim after launch.
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": f"{ec2}:instance/*",
            "Condition": {
                "StringEquals": owned,
                "StringLike": of_a_nodepool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Resource": [f"{ec2}:instance/*", f"{ec2}:launch-template/*"],
            "Condition": {"StringEquals": owned, "StringLike": of_a_nodepool},
        },
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": [f"arn:aws:ssm:{region}::parameter/aws/service/*", f"arn:aws:ssm:{region}:{account_id}:parameter/imagebuilder/*"],
        },
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue_arn,
        },
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{account_id}:role{node_role_path}*",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Action": ["iam:CreateInstanceProfile"],
            "Resource": profiles,
            "Condition": {"StringEquals": profile_request, "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}},
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Action": ["iam:TagInstanceProfile"],
            "Resource": profiles,
            "Condition": {
                "StringEquals": {**owned, **profile_region, **profile_request},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            "Resource": profiles,
            "Condition": {"StringEquals": {**owned, **profile_region}, "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}},
        },
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Action": "iam:GetInstanceProfile", "Resource": profiles},
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": f"arn:aws:eks:{region}:{account_id}:cluster/{cluster_name}",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
