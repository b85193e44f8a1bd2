"""Cost-allocation tags, put on every taggable AWS resource by one stack transformation.

Tagging by hand drifts: one forgotten `tags=` and a resource falls out of the cost report. The
transformation runs inside the Pulumi SDK as each resource is constructed, under `pulumi up` and under
the offline engine alike, and sees the resource's parent component, which says what to charge it to.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

ENVIRONMENT_TAG = "aiplane:environment"
COMPONENT_TAG = "aiplane:component"
TENANT_TAG = "aiplane:tenant"
COST_CENTER_TAG = "aiplane:cost-center"
REQUIRED_COST_TAGS = (ENVIRONMENT_TAG, COMPONENT_TAG, COST_CENTER_TAG)
# Resources registered outside any aiplane component are charged to the stack itself.
STACK_COMPONENT = "stack"


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
        current = args.props["tags"]
        if current is None or isinstance(current, Mapping) and not any(isinstance(v, pulumi.Output) for v in current.values()):
            merged: Any = {**(current or {}), **tags}
        else:
            merged = pulumi.Output.from_input(current).apply(lambda own: {**(own or {}), **tags})
        return pulumi.ResourceTransformationResult({**args.props, "tags": merged}, args.opts)

    return transform
