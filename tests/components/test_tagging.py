"""Cost-allocation tags: on every taggable AWS resource, from one stack transformation."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from aiplane.components.base import AiplaneComponent
from aiplane.components.tagging import (
    COMPONENT_TAG,
    COST_CENTER_TAG,
    ENVIRONMENT_TAG,
    TENANT_TAG,
    cost_tag_transformation,
)
from aiplane.synth.engine import synthesize
from tests.conftest import takes_tags

# Components that belong to one tenant, and how their names say which.
TENANT_COMPONENTS = {
    "aiplane:tenant:TenantBoundary": "tenant-",
    "aiplane:storage:TenantBuckets": "storage-",
    "aiplane:gpu:GpuNodePool": "gpu-t-",
}


def owning_tenant(graph, resource):
    """The tenant a resource is charged to, read from the names of the components above it."""
    component = graph.owning_component(resource)
    while component is not None:
        prefix = TENANT_COMPONENTS.get(component.type)
        if prefix and component.name.startswith(prefix):
            return component.name.removeprefix(prefix)
        component = graph.owning_component(component)
    return None


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
        assert tags.get(TENANT_TAG) == owning_tenant(graph, resource), resource.urn
    for resource in aws_resources:
        if not takes_tags(resource.type):
            assert "tags" not in resource.inputs, resource.urn


def test_instances_and_volumes_from_launch_templates_carry_the_cost_tags(shipped):
    spec, graph = shipped
    templates = graph.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert templates
    for template in templates:
        component = graph.owning_component(template).type.split(":")[1]
        launched = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
        assert set(launched) == {"instance", "volume"}, template.urn
        for tags in launched.values():
            assert tags == template.inputs["tags"], template.urn
            assert tags[COMPONENT_TAG] == component and tags[ENVIRONMENT_TAG] == spec.environment


def test_launch_template_tag_specifications_of_its_own_keep_their_tags():
    def program():
        pulumi.runtime.register_stack_transformation(cost_tag_transformation("dev", "ml", {}))
        aws.ec2.LaunchTemplate(
            "lt",
            aws.ec2.LaunchTemplateArgs(
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={"Name": "gpu-node"}),
                    aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="network-interface", tags={"Name": "eni"}),
                ]
            ),
        )

    graph = synthesize(program, stack="dev", region="us-east-1")
    template = graph.find("aws:ec2/launchTemplate:LaunchTemplate", "lt")
    launched = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
    assert launched["instance"]["Name"] == "gpu-node" and launched["instance"][COST_CENTER_TAG] == "ml"
    assert launched["network-interface"] == {"Name": "eni"}  # not billed: left as the program wrote it
    assert launched["volume"][ENVIRONMENT_TAG] == "dev"


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
