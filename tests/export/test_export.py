"""The Terraform plan and Kubernetes exports: types, attribute shapes, references."""
from __future__ import annotations

import pulumi_aws as aws
import pytest

from aiplane.export.terraform import (
    TERRAFORM_TYPES,
    ExportError,
    address,
    plan_document,
    snake,
)
from aiplane.synth.engine import synthesize
from aiplane.synth.graph import GraphResource, ResourceGraph
from tests.conftest import synthesized
from tests.policy.checks.programs import tagged_program


def test_every_aws_type_the_stacks_and_fixtures_emit_is_mapped(shipped):
    _, graph = shipped
    fixtures = synthesize(tagged_program, stack="fixtures", region="us-east-1")
    emitted = {r.type for g in (graph, fixtures) for r in g.custom_resources if r.type.startswith("aws:")}
    assert emitted - set(TERRAFORM_TYPES) == set()


def test_an_unmapped_type_fails_the_export_instead_of_vanishing():
    graph = ResourceGraph("p", "s", [GraphResource(urn="urn:x", type="aws:ec2/vpnGateway:VpnGateway", name="v", custom=True, parent=None)])
    with pytest.raises(ExportError, match="no Terraform type is mapped for aws:ec2/vpnGateway:VpnGateway"):
        plan_document(graph)


def test_the_plan_has_what_checkovs_parser_requires():
    _, graph = synthesized("prod")
    document = plan_document(graph)
    assert document["terraform_version"] and document["format_version"] == "1.2"
    planned = document["planned_values"]["root_module"]["resources"]
    assert len(planned) == len([r for r in graph.custom_resources if r.type.startswith("aws:")])
    for resource in planned:
        assert resource["mode"] == "managed" and resource["address"] == f"{resource['type']}.{resource['name']}"


def values_of(document, resource_address):
    return next(r["values"] for r in document["planned_values"]["root_module"]["resources"] if r["address"] == resource_address)


def test_flattened_blocks_become_lists_and_maps_stay_maps():
    _, graph = synthesized("dev")
    values = values_of(plan_document(graph), "aws_eks_cluster.cluster-eks")
    assert values["vpc_config"][0]["endpoint_private_access"] is True
    assert values["encryption_config"][0]["provider"][0]["key_arn"].startswith("arn:aws:kms:")
    assert values["enabled_cluster_log_types"][0] == "api"
    assert values["tags"]["aiplane:environment"] == "dev"


def test_pluralised_blocks_get_their_terraform_names_back():
    def program():
        aws.eks.NodeGroup(
            "gpu",
            aws.eks.NodeGroupArgs(
                cluster_name="c",
                node_role_arn="arn:aws:iam::123456789012:role/n",
                subnet_ids=["s"],
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, desired_size=0, max_size=1),
                taints=[aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")],
            ),
        )
        aws.s3.BucketLifecycleConfiguration(
            "life",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket="b",
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="r", status="Enabled", transitions=[aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=30, storage_class="GLACIER_IR")]
                    )
                ],
            ),
        )

    document = plan_document(synthesize(program, stack="t", region="us-east-1"))
    assert values_of(document, "aws_eks_node_group.gpu")["taint"] == [{"effect": "NO_SCHEDULE", "key": "nvidia.com/gpu", "value": "true"}]
    rule = values_of(document, "aws_s3_bucket_lifecycle_configuration.life")["rule"][0]
    assert rule["transition"] == [{"days": 30, "storage_class": "GLACIER_IR"}]


def test_dependencies_become_configuration_references():
    _, graph = synthesized("dev")
    configuration = {r["address"]: r for r in plan_document(graph)["configuration"]["root_module"]["resources"]}
    flow_log = configuration["aws_flow_log.network-flow-log"]["expressions"]
    assert flow_log["vpc_id"]["references"] == ["aws_vpc.network-vpc.id", "aws_vpc.network-vpc"]
    assert "aws_cloudwatch_log_group.network-flow-logs" in flow_log["log_destination"]["references"]


def test_addresses_and_names():
    assert snake("httpPutResponseHopLimit") == "http_put_response_hop_limit"
    assert snake("ipv6CidrBlock") == "ipv6_cidr_block"
    resource = GraphResource(urn="u", type="aws:ec2/vpc:Vpc", name="network-vpc", custom=True, parent=None)
    assert address(resource) == "aws_vpc.network-vpc"
