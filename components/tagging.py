"""Cost-allocation tags, put on every taggable AWS resource by one stack transformation, and on the
instances and volumes that launch templates launch (GPU nodes are most of the bill).

Tagging by hand drifts: one forgotten `tags=` and a resource falls out of the cost report. The
transformation runs inside the Pulumi SDK as each resource is constructed, under `pulumi up` and under
the offline engine alike, and sees the resource's parent component, which says what to charge it to.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

ENVIRONMENT_TAG = "aiplane:environment"
COMPONENT_TAG = "aiplane:component"
TENANT_TAG = "aiplane:tenant"
COST_CENTER_TAG = "aiplane:cost-center"
REQUIRED_COST_TAGS = (ENVIRONMENT_TAG, COMPONENT_TAG, COST_CENTER_TAG)
# Resources registered outside any aiplane component are charged to the stack itself.
STACK_COMPONENT = "stack"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCHED_RESOURCE_TYPES = ("instance", "volume")


def is_taggable(resource_type: str, props: Mapping[str, Any]) -> bool:
    """AWS resources whose constructor takes a `tags` map (the SDK passes every declared input, set or not)."""
    return resource_type.startswith("aws:") and "tags" in props and not isinstance(props["tags"], (list, tuple))


def cost_tags(environment: str, cost_center: str, component: str, tenant: str | None) -> dict[str, str]:
    tags = {ENVIRONMENT_TAG: environment, COMPONENT_TAG: component, COST_CENTER_TAG: cost_center}
    if tenant:
        tags[TENANT_TAG] = tenant
    return tags


def cost_tag_transformation(environment: str, cost_center: str, extra_tags: Mapping[str, str]):
    """A stack transformation merging shared tags, then the cost tags (which always win), into `tags`."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not is_taggable(args.type_, args.props):
            return None
        scope = getattr(args.opts.parent, "cost_scope", None)
        tags = {
            **extra_tags,
            **cost_tags(
                environment,
                cost_center,
                scope.component if scope else STACK_COMPONENT,
                scope.tenant if scope else None,
            ),
        }
        props = {**args.props, "tags": merged_tags(args.props["tags"], tags)}
        if args.type_ == LAUNCH_TEMPLATE:
            props["tag_specifications"] = launched_resource_tags(props.get("tag_specifications"), tags)
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform


def merged_tags(current: Any, tags: Mapping[str, str]) -> Any:
    """`current` with `tags` merged over it; an Output stays an Output."""
    if current is None or isinstance(current, Mapping) and not any(isinstance(v, pulumi.Output) for v in current.values()):
        return {**(current or {}), **tags}
    return pulumi.Output.from_input(current).apply(lambda own: {**(own or {}), **tags})


def launched_resource_tags(specifications: Any, tags: Mapping[str, str]) -> list[aws.ec2.LaunchTemplateTagSpecificationArgs]:
    """A launch template's tag specifications with the cost tags on every instance and volume it launches:
    those, not the template, are what a GPU pool is billed for."""
    by_type: dict[str, Any] = {}
    for specification in specifications or []:
        fields = specification if isinstance(specification, Mapping) else vars(specification)  # an input type
        by_type[fields.get("resource_type") or fields.get("resourceType")] = fields.get("tags")
    for resource_type in LAUNCHED_RESOURCE_TYPES:
        by_type[resource_type] = merged_tags(by_type.get(resource_type), tags)
    return [
        aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=resource_type, tags=resource_tags)
        for resource_type, resource_tags in by_type.items()
    ]
