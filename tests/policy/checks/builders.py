"""Builders the checks' examples share: real pulumi_aws resources with every control on, and a keyword to
take one control away."""
from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_kubernetes as k8s

from aiplane.components.tenant_boundary import budget_tags

GPU_TAINT = aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")


def node_launch_template(name, *, tokens="required", hop_limit=1, encrypted="true", volumes=True, **extra):
    return aws.ec2.LaunchTemplate(
        name,
        aws.ec2.LaunchTemplateArgs(
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens=tokens, http_put_response_hop_limit=hop_limit
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(volume_size=200, volume_type="gp3", encrypted=encrypted),
                )
            ]
            if volumes
            else None,
            **extra,
        ),
    )


def node_group(name, *, instance_types, taints=None, launch_template=True, ami_type="AL2023_x86_64_NVIDIA", labels=None):
    template = node_launch_template(f"{name}-lt") if launch_template else None
    return aws.eks.NodeGroup(
        name,
        aws.eks.NodeGroupArgs(
            cluster_name="fixture",
            node_role_arn="arn:aws:iam::123456789012:role/nodes",
            subnet_ids=["subnet-1"],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, desired_size=0, max_size=2),
            instance_types=instance_types,
            ami_type=ami_type,
            taints=taints,
            labels=labels,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version="1") if template else None,
        ),
    )


def efa_template(name, *, cards, placement=True, instance_type="p5en.48xlarge", reservation=None):
    """An EFA launch template; `reservation` targets a capacity reservation (which places the instances)."""
    group = aws.ec2.PlacementGroup(f"{name}-pg", aws.ec2.PlacementGroupArgs(strategy="cluster")) if placement else None
    target = aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
        capacity_reservation_target=aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
            capacity_reservation_id=reservation
        )
    ) if reservation else None
    return node_launch_template(
        name,
        instance_type=instance_type,
        network_interfaces=[
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                network_card_index=card, device_index=0 if card == 0 else 1, interface_type="efa" if card == 0 else "efa-only"
            )
            for card in range(cards)
        ],
        placement=aws.ec2.LaunchTemplatePlacementArgs(group_name=group.name) if group else None,
        capacity_reservation_specification=target,
    )


def efa_security_group(name, extra_ingress=()):
    self_all = dict(protocol="-1", from_port=0, to_port=0, self=True, description="EFA within the group")
    return aws.ec2.SecurityGroup(
        name,
        aws.ec2.SecurityGroupArgs(
            description="EFA fabric",
            vpc_id="vpc-1",
            ingress=[aws.ec2.SecurityGroupIngressArgs(**self_all), *extra_ingress],
            egress=[aws.ec2.SecurityGroupEgressArgs(**self_all)],
            tags={"aiplane:efa": "true"},
        ),
    )


def cluster(name, *, mode="API", rotation=True):
    key = aws.kms.Key(f"{name}-key", aws.kms.KeyArgs(enable_key_rotation=rotation, deletion_window_in_days=30))
    return aws.eks.Cluster(
        name,
        aws.eks.ClusterArgs(
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["subnet-1", "subnet-2"], endpoint_public_access=False),
            access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode=mode),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
        ),
    )


def data_bucket(name, *, cmk=True, versioning=True, lifecycle=True, tls_policy=True, purpose="checkpoints"):
    bucket = aws.s3.Bucket(name, aws.s3.BucketArgs(tags={"aiplane:purpose": purpose}))
    key = aws.kms.Key(f"{name}-key", aws.kms.KeyArgs(enable_key_rotation=True))
    default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="aws:kms" if cmk else "AES256", kms_master_key_id=key.arn if cmk else None
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-sse",
        aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
            bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=default)],
        ),
    )
    if versioning:
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
        )
    if lifecycle:
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=bucket.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="tiering",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        # Two transitions: checkov flattens a one-element list but not a longer one.
                        transitions=[
                            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=30, storage_class="INTELLIGENT_TIERING"),
                            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=365, storage_class="GLACIER_IR"),
                        ],
                        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=7
                        ),
                    )
                ],
            ),
        )
    if tls_policy:
        aws.s3.BucketPolicy(
            f"{name}-policy",
            aws.s3.BucketPolicyArgs(
                bucket=bucket.id,
                policy=bucket.arn.apply(
                    lambda arn: json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "DenyPlaintext",
                                    "Effect": "Deny",
                                    "Principal": "*",
                                    "Action": "s3:*",
                                    "Resource": [arn, f"{arn}/*"],
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            ],
                        }
                    )
                ),
            ),
        )
    return bucket


def endpoints(name, *, wired=True):
    aws.ec2.VpcEndpoint(
        f"{name}-s3",
        aws.ec2.VpcEndpointArgs(
            vpc_id="vpc-1",
            service_name="com.amazonaws.us-east-1.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=["rtb-1"] if wired else None,
        ),
    )
    aws.ec2.VpcEndpoint(
        f"{name}-ecr",
        aws.ec2.VpcEndpointArgs(
            vpc_id="vpc-1",
            service_name="com.amazonaws.us-east-1.ecr.dkr",
            vpc_endpoint_type="Interface",
            subnet_ids=["subnet-1"],
            private_dns_enabled=wired,
        ),
    )


def audit_bucket(name, mode):
    bucket = aws.s3.Bucket(name, aws.s3.BucketArgs(object_lock_enabled=True, tags={"aiplane:purpose": "audit"}))
    aws.s3.BucketObjectLockConfiguration(
        f"{name}-lock",
        aws.s3.BucketObjectLockConfigurationInitArgs(
            bucket=bucket.id,
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(mode=mode, days=365)
            ),
        ),
    )


def tenant_boundary(name, budget, estimate):
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/t/*"}]})
    aws.iam.Policy(name, aws.iam.PolicyArgs(policy=document, tags=budget_tags(budget, estimate)))


GPU_NODE_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def karpenter_node_pool(name, *, instance_type="g6e.12xlarge", taints=(GPU_NODE_TAINT,)):
    """A Karpenter NodePool as components/gpu_node_pool.py renders one, with `taints` as given."""
    return k8s.apiextensions.CustomResource(
        name, api_version="karpenter.sh/v1", kind="NodePool", metadata=k8s.meta.v1.ObjectMetaArgs(name=name),
        spec={"template": {"spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": name},
            "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [instance_type]}],
            "taints": list(taints),
        }}},
    )


def karpenter_node_class(name, *, tokens="required", hop_limit=1, encrypted=True, volumes=True):
    """A Karpenter EC2NodeClass with IMDSv2 and an encrypted root volume unless told otherwise."""
    mappings = [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "200Gi", "volumeType": "gp3", "encrypted": encrypted}}] if volumes else []
    return k8s.apiextensions.CustomResource(
        name, api_version="karpenter.k8s.aws/v1", kind="EC2NodeClass", metadata=k8s.meta.v1.ObjectMetaArgs(name=name),
        spec={"amiSelectorTerms": [{"alias": "al2023@latest"}], "role": "nodes", "blockDeviceMappings": mappings,
              "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": tokens, "httpPutResponseHopLimit": hop_limit}},
    )


def public_ingress(name, *, cidrs="203.0.113.0/24", scheme="internet-facing"):
    annotations = {"alb.ingress.kubernetes.io/scheme": scheme}
    if cidrs is not None:
        annotations["alb.ingress.kubernetes.io/inbound-cidrs"] = cidrs
    return k8s.networking.v1.Ingress(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace="model-gateway", annotations=annotations),
        spec=k8s.networking.v1.IngressSpecArgs(ingress_class_name="alb", default_backend=k8s.networking.v1.IngressBackendArgs(
            service=k8s.networking.v1.IngressServiceBackendArgs(name="litellm", port=k8s.networking.v1.ServiceBackendPortArgs(number=4000))
        )),
    )
