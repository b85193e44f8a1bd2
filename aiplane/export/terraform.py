"""The resource graph as a Terraform plan JSON, the shape checkov's `terraform_plan` framework scans.

pulumi-aws is bridged from the Terraform AWS provider, so types and attributes map one to one, with the
bridge's renames undone (pulumi-terraform-bridge, `naming.go`):
- the type token maps through an explicit table (`TERRAFORM_TYPES`): an unmapped type is an error,
  never a silent skip, so a new resource cannot slip past the policy gate;
- camelCase wire names become snake_case;
- blocks Pulumi flattened (MaxItems=1) become one-element lists again;
- list blocks Pulumi pluralised get their Terraform (singular) name back (`PLURALISED_BLOCKS`).
Whether a value is a map, a flattened block or a list of blocks is read from pulumi_aws's own type
annotations, so the conversion follows the SDK rather than a hand-kept schema.
Dependencies captured by the engine become `configuration` references, which checkov's graph checks
(for example CKV2_AWS_6, a bucket and its public access block) need to connect resources.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import re
from typing import Any

from aiplane.errors import AiplaneError
from aiplane.synth.graph import GraphResource, ResourceGraph

TERRAFORM_VERSION = "1.9.8"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"

TERRAFORM_TYPES: dict[str, str] = {
    "aws:backup/plan:Plan": "aws_backup_plan",
    "aws:backup/selection:Selection": "aws_backup_selection",
    "aws:backup/vault:Vault": "aws_backup_vault",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/placementGroup:PlacementGroup": "aws_placement_group",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:wafv2/ipSet:IpSet": "aws_wafv2_ip_set",
    "aws:wafv2/webAcl:WebAcl": "aws_wafv2_web_acl",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "aws_wafv2_web_acl_logging_configuration",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:eks/accessEntry:AccessEntry": "aws_eks_access_entry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "aws_eks_access_policy_association",
    "aws:eks/addon:Addon": "aws_eks_addon",
    "aws:eks/cluster:Cluster": "aws_eks_cluster",
    "aws:eks/nodeGroup:NodeGroup": "aws_eks_node_group",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "aws_eks_pod_identity_association",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy": "aws_opensearchserverless_access_policy",
    "aws:opensearch/serverlessCollection:ServerlessCollection": "aws_opensearchserverless_collection",
    "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy": "aws_opensearchserverless_security_policy",
    "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint": "aws_opensearchserverless_vpc_endpoint",
    "aws:rds/cluster:Cluster": "aws_rds_cluster",
    "aws:rds/clusterInstance:ClusterInstance": "aws_rds_cluster_instance",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "aws_rds_cluster_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketNotification:BucketNotification": "aws_s3_bucket_notification",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "aws_s3_bucket_object_lock_configuration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/directoryBucket:DirectoryBucket": "aws_s3_directory_bucket",
    "aws:fsx/lustreFileSystem:LustreFileSystem": "aws_fsx_lustre_file_system",
    "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation": "aws_fsx_data_repository_association",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:sqs/queue:Queue": "aws_sqs_queue",
    "aws:sqs/queuePolicy:QueuePolicy": "aws_sqs_queue_policy",
}

# (Terraform type or "<type>.<block path>", Pulumi's plural name) -> Terraform's singular block name.
PLURALISED_BLOCKS: dict[tuple[str, str], str] = {
    ("aws_backup_plan", "rules"): "rule",
    ("aws_eks_node_group", "taints"): "taint",
    ("aws_rds_cluster_parameter_group", "parameters"): "parameter",
    ("aws_wafv2_web_acl", "rules"): "rule",
    ("aws_s3_bucket_lifecycle_configuration", "rules"): "rule",
    ("aws_s3_bucket_lifecycle_configuration.rule", "transitions"): "transition",
    ("aws_s3_bucket_lifecycle_configuration.rule", "noncurrent_version_transitions"): "noncurrent_version_transition",
    ("aws_s3_bucket_server_side_encryption_configuration", "rules"): "rule",
}

# Types with no AWS counterpart that carry no policy-relevant state: providers, and generated values
# (random passwords live only in Pulumi's encrypted state and reach AWS or Kubernetes as secrets).
NOT_EXPORTED_PREFIXES = ("pulumi:providers:", "random:")


class ExportError(AiplaneError):
    """The graph holds something the export cannot represent faithfully. Fails closed: exit 3."""

    exit_code = 3


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_type(resource_type: str) -> str:
    try:
        return TERRAFORM_TYPES[resource_type]
    except KeyError:
        raise ExportError(
            f"no Terraform type is mapped for {resource_type}: add it to TERRAFORM_TYPES in aiplane/export/terraform.py"
        ) from None


def address(resource: GraphResource) -> str:
    return f"{terraform_type(resource.type)}.{resource.name}"


def is_exported(resource: GraphResource) -> bool:
    return resource.custom and not resource.type.startswith(NOT_EXPORTED_PREFIXES) and not resource.type.startswith("kubernetes:")


# -- shapes read from the pulumi_aws SDK ------------------------------------------------------------

_LIST_OF_BLOCKS = re.compile(r"typing\.Union\[typing\.Sequence\[typing\.Union\[ForwardRef\('(\w+Args)'\)")
_BLOCK = re.compile(r"typing\.Union\[ForwardRef\('(\w+Args)'\)")
_MAP = re.compile(r"typing\.Union\[typing\.Mapping\[")


@functools.cache
def _shape(module_name: str, class_name: str, init_name: str) -> dict[str, tuple[str, str | None]]:
    """Python attribute -> ("map" | "block" | "blocks" | "value", nested Args class name)."""
    module = importlib.import_module(f"pulumi_aws.{module_name}")
    target = getattr(getattr(module, class_name), init_name)
    shape = {}
    for name, parameter in inspect.signature(target).parameters.items():
        text = repr(parameter.annotation)
        if match := _LIST_OF_BLOCKS.match(text):
            shape[name] = ("blocks", match.group(1))
        elif match := _BLOCK.match(text):
            shape[name] = ("block", match.group(1))
        elif _MAP.match(text):
            shape[name] = ("map", None)
        else:
            shape[name] = ("value", None)
    return shape


def _convert(module_name: str, shape: dict[str, tuple[str, str | None]], values: dict[str, Any], path: str) -> dict[str, Any]:
    converted = {}
    for wire_name, value in values.items():
        name = snake(wire_name)
        kind, nested = shape.get(name, ("value", None))
        tf_name = PLURALISED_BLOCKS.get((path, name), name)
        if kind == "map" or value is None:
            converted[tf_name] = value
        elif kind == "block" and isinstance(value, dict):
            converted[tf_name] = [_convert(module_name, _shape(module_name, nested, "__init__"), value, f"{path}.{tf_name}")]
        elif kind == "blocks" and isinstance(value, list):
            nested_shape = _shape(module_name, nested, "__init__")
            converted[tf_name] = [
                _convert(module_name, nested_shape, item, f"{path}.{tf_name}") if isinstance(item, dict) else item
                for item in value
            ]
        else:
            converted[tf_name] = value
    return converted


def terraform_values(resource: GraphResource) -> dict[str, Any]:
    """A resource's inputs as Terraform attribute values."""
    module_name = resource.type.split(":")[1].split("/")[0]
    class_name = resource.type.split(":")[2]
    shape = _shape(module_name, class_name, "_internal_init")
    values = _convert(module_name, shape, resource.inputs, terraform_type(resource.type))
    if "tags" in shape:
        # Marks the resource taggable for tag policies even when nothing set tags.
        values.setdefault("tags", {})
    return values


def terraform_attribute(resource: GraphResource, wire_name: str) -> str:
    return PLURALISED_BLOCKS.get((terraform_type(resource.type), snake(wire_name)), snake(wire_name))


# -- the plan document -----------------------------------------------------------------------------


def plan_document(graph: ResourceGraph) -> dict[str, Any]:
    exported = [resource for resource in graph.resources if is_exported(resource)]
    addresses: dict[str, str] = {}
    for resource in exported:
        resource_address = address(resource)
        if resource_address in addresses.values():
            raise ExportError(f"two resources export to {resource_address}; give them distinct logical names")
        addresses[resource.urn] = resource_address

    planned, configured = [], []
    for resource in exported:
        tf_type, name = terraform_type(resource.type), resource.name
        planned.append(
            {
                "address": addresses[resource.urn],
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": AWS_PROVIDER,
                "schema_version": 0,
                "values": terraform_values(resource),
            }
        )
        expressions: dict[str, Any] = {}
        for wire_name, urns in resource.property_dependencies.items():
            references = []
            for urn in urns:
                if urn in addresses:
                    references += [f"{addresses[urn]}.id", addresses[urn]]
            if references:
                expressions[terraform_attribute(resource, wire_name)] = {"references": references}
        configured.append(
            {
                "address": addresses[resource.urn],
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_config_key": "aws",
                "expressions": expressions,
                "schema_version": 0,
            }
        )
    return {
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": AWS_PROVIDER}},
            "root_module": {"resources": configured},
        },
    }
