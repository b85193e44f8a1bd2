"""Cost-allocation tags: on every taggable AWS resource, from one stack transformation."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from aiplane.engine import synthesize
from aiplane.tagging import COMPONENT_TAG, COST_CENTER_TAG, ENVIRONMENT_TAG, TENANT_TAG, cost_tag_transformation
from components.base import AiplaneComponent
from tests.conftest import takes_tags


def test_every_taggable_resource_of_every_stack_carries_the_cost_tags(shipped):
    spec, graph = shipped
    aws_resources = [r for r in graph.custom_resources if r.type.startswith("aws:")]
    taggable = [r for r in aws_resources if takes_tags(r.type)]
    assert len(taggable) > 30
    for resource in taggable:
        component = graph.owning_component(resource).type.split(":")[1]
        tags = resource.inputs.get("tags") or {}
        assert {key: tags.get(key) for key in (ENVIRONMENT_TAG, COMPONENT_TAG, COST_CENTER_TAG)} == {
            ENVIRONMENT_TAG: spec.environment,
            COMPONENT_TAG: component,
            COST_CENTER_TAG: spec.platform.cost_center,
        }, resource.urn
        assert TENANT_TAG not in tags, "no platform resource belongs to a tenant"
    for resource in aws_resources:
        if not takes_tags(resource.type):
            assert "tags" not in resource.inputs, resource.urn


class TenantBox(AiplaneComponent):
    def __init__(self, name, tenant=None, opts=None):
        super().__init__("aiplane:box:TenantBox", name, opts, tenant=tenant)
        aws.sqs.Queue(f"{name}-queue", aws.sqs.QueueArgs(tags={"team": "search", COST_CENTER_TAG: "spoofed"}), opts=self.child())
        aws.sqs.Queue(
            f"{name}-queue-with-output-tags",
            aws.sqs.QueueArgs(tags={"owner": pulumi.Output.from_input("alice")}),
            opts=self.child(),
        )
        aws.ec2.Route(f"{name}-route", aws.ec2.RouteArgs(route_table_id="rtb-1", destination_cidr_block="0.0.0.0/0"), opts=self.child())
        self.register_outputs({})


class Holder(AiplaneComponent):
    def __init__(self, name, opts=None):
        super().__init__("aiplane:holder:Holder", name, opts)
        TenantBox(f"{name}-box", opts=self.child())
        self.register_outputs({})


def tagged_program():
    pulumi.runtime.register_stack_transformation(cost_tag_transformation("qa", "cc-1", {"project": "aiplane"}))
    TenantBox("acme", tenant="acme")
    holder = Holder("shared")
    TenantBox("nested", opts=pulumi.ResourceOptions(parent=holder))
    aws.sqs.Queue("loose")


def tags_of(graph, name):
    return graph.find("aws:sqs/queue:Queue", name).inputs["tags"]


def test_cost_tags_win_over_user_tags_and_user_tags_survive():
    graph = synthesize(tagged_program, stack="qa", region="us-east-1")
    assert tags_of(graph, "acme-queue") == {
        "team": "search",
        "project": "aiplane",
        ENVIRONMENT_TAG: "qa",
        COMPONENT_TAG: "box",
        COST_CENTER_TAG: "cc-1",
        TENANT_TAG: "acme",
    }
    assert tags_of(graph, "acme-queue-with-output-tags")["owner"] == "alice"
    assert tags_of(graph, "acme-queue-with-output-tags")[TENANT_TAG] == "acme"


def test_tenant_is_inherited_and_components_tag_their_own_module():
    graph = synthesize(tagged_program, stack="qa", region="us-east-1")
    assert TENANT_TAG not in tags_of(graph, "shared-box-queue")
    assert tags_of(graph, "nested-queue")[COMPONENT_TAG] == "box"
    assert tags_of(graph, "loose")[COMPONENT_TAG] == "stack"


def test_untaggable_resources_are_left_alone():
    graph = synthesize(tagged_program, stack="qa", region="us-east-1")
    assert "tags" not in graph.find("aws:ec2/route:Route", "acme-route").inputs
