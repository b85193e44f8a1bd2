"""The resource graph from what the Pulumi engine hands a policy pack, in the form the offline engine produces.

On `pulumi preview/up --policy-pack`, the engine sends an analyzer every resource of the stack: its type,
name, URN, parent, dependencies, property dependencies, a few resource options and its provider, with one
bag of properties (the resource's state: the inputs the provider checked, with the outputs merged in,
unknown during a preview where not yet computed). The offline engine records what the program registered:
inputs alone. So that one gate judges both the same way, the state is narrowed to the resource's inputs
(the parameters of its SDK class), the provider resources the engine creates by itself are dropped (the
mocks runtime registers none), and values are made plain as `aiplane.synth.engine.plain` makes them.

What an analyzer is not told stays out of the graph: the line of code that built a resource (findings then
point at the stack file alone), `retainOnDelete` and `replaceOnChanges` (pulumi-policy's
`PolicyResourceOptions` carries neither; no gate rule reads them).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiplane.synth.engine import UNKNOWN_PLACEHOLDER
from aiplane.synth.graph import STACK_TYPE, GraphResource, ResourceGraph

PROVIDER_TYPE_PREFIX = "pulumi:providers:"
# What the API server writes into every object's metadata (ObjectMeta's read-only fields, Kubernetes API
# reference): the engine's state carries them after an update; a program never sets them.
SERVER_SET_METADATA = frozenset(
    {"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"}
)
# pulumi-policy's sentinels for values not known until an update (pulumi_policy/proxy.py).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


class AnalyzedResource(Protocol):
    """The fields of pulumi_policy's `PolicyResource` this module reads (typed structurally, so that the
    offline package does not import the policy SDK)."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str
    name: str
    opts: Any
    provider: Any
    parent: Any
    dependencies: Sequence[Any]
    property_dependencies: Mapping[str, Sequence[Any]]


class AnalyzedStackError(ValueError):
    """What the engine handed is not a stack this module can read (no root stack resource)."""


def stack_identity(resources: Sequence[AnalyzedResource]) -> tuple[str, str]:
    """(project, stack), from the root stack resource's URN: urn:pulumi:STACK::PROJECT::pulumi:pulumi:Stack::NAME."""
    for resource in resources:
        if resource.resource_type == STACK_TYPE:
            stack, project = resource.urn.removeprefix("urn:pulumi:").split("::")[:2]
            return project, stack.rsplit("/", 1)[-1]
    raise AnalyzedStackError("the engine handed no pulumi:pulumi:Stack resource, so the stack is unknown")


def is_default_provider(resource_type: str, name: str) -> bool:
    """A provider the engine creates for resources that name none (`default`, `default_7_51_1`)."""
    return resource_type.startswith(PROVIDER_TYPE_PREFIX) and (name == "default" or name.startswith("default_"))


def graph_of_analyzed(resources: Sequence[AnalyzedResource]) -> ResourceGraph:
    project, stack = stack_identity(resources)
    kept = [resource for resource in resources if not is_default_provider(resource.resource_type, resource.name)]
    return ResourceGraph(project, stack, [graph_resource(resource) for resource in kept])


def graph_resource(resource: AnalyzedResource) -> GraphResource:
    provider = resource.provider
    provider_urn = None if provider is None or is_default_provider(provider.resource_type, provider.name) else provider.urn
    # Every custom resource has a provider in the engine's view (a default one if the program named none);
    # components and the stack have none.
    custom = provider is not None or resource.resource_type.startswith(PROVIDER_TYPE_PREFIX)
    state = plain_state(resource.props)
    dependencies = sorted({dependency.urn for dependency in resource.dependencies})
    property_dependencies = {
        key: sorted({dependency.urn for dependency in urns}) for key, urns in sorted(resource.property_dependencies.items()) if urns
    }
    parent = resource.parent.urn if resource.parent is not None else (resource.opts.parent or None)
    return GraphResource(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        custom=custom,
        parent=parent,
        provider=provider_urn,
        inputs=inputs_of(resource.resource_type, state) if custom else state,
        dependencies=dependencies,
        property_dependencies=property_dependencies,
        options=analyzed_options(resource.opts, dependencies, property_dependencies),
    )


def analyzed_options(opts: Any, dependencies: list[str], property_dependencies: dict[str, list[str]]) -> dict[str, Any]:
    """The options `aiplane.synth.engine.deploy_options` records, from what an analyzer is told."""
    options: dict[str, Any] = {}
    implied = {urn for urns in property_dependencies.values() for urn in urns}
    explicit = sorted(set(dependencies) - implied)
    if explicit:
        options["dependsOn"] = explicit
    timeouts = opts.custom_timeouts
    seconds = {"create": timeouts.create_seconds, "update": timeouts.update_seconds, "delete": timeouts.delete_seconds}
    if any(seconds.values()):
        options["customTimeouts"] = {key: f"{value:g}s" for key, value in seconds.items() if value}
    if opts.ignore_changes:
        options["ignoreChanges"] = sorted(opts.ignore_changes)
    if opts.protect:
        options["protect"] = True
    if opts.delete_before_replace:
        options["deleteBeforeReplace"] = True
    return options


def plain_state(value: Any) -> Any:
    """The engine's values as plain JSON data. A value unknown during a preview becomes the placeholder the
    offline engine uses, read without touching pulumi-policy's unknown-checking proxy (which raises, and
    would turn the whole policy into a "cannot run during preview" advisory)."""
    if isinstance(value, Mapping):
        return {key: plain_state(_item(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain_state(_item(value, index)) for index in range(len(value))]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value in UNKNOWN_SENTINELS:
        return UNKNOWN_PLACEHOLDER
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except Exception as error:  # pulumi_policy's UnknownValueError carries the sentinel it refused
        sentinel = getattr(error, "unknown_type_sentinel", None)
        if sentinel in UNKNOWN_SENTINELS:
            return UNKNOWN_PLACEHOLDER
        raise


def inputs_of(resource_type: str, state: dict[str, Any]) -> dict[str, Any]:
    """The inputs in a custom resource's state: the keys its SDK class takes. A Kubernetes object loses the
    API server's status and metadata; a type no installed SDK defines keeps its whole state."""
    names = input_names(resource_type)
    inputs = {key: value for key, value in state.items() if names is None or _snake(key) in names}
    if resource_type.startswith("kubernetes:"):
        inputs.pop("status", None)
        if isinstance(inputs.get("metadata"), dict):
            inputs["metadata"] = {key: value for key, value in inputs["metadata"].items() if key not in SERVER_SET_METADATA}
    return inputs


@functools.cache
def input_names(resource_type: str) -> frozenset[str] | None:
    """The Python parameter names of the SDK class that registers `resource_type`, or None when no installed
    SDK defines it (a Kubernetes custom resource, a provider's own type)."""
    target = _sdk_class(resource_type)
    if target is None:
        return None
    parameters = inspect.signature(target._internal_init).parameters
    return frozenset(name for name in parameters if name not in ("__self__", "resource_name", "opts", "__props__"))


def _sdk_class(resource_type: str) -> type | None:
    package, module_path, class_name = resource_type.split(":", 2)
    if package == "pulumi":
        return None
    sdk = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random"}.get(package)
    if sdk is None:
        return None
    if package == "kubernetes":
        group, _, version = module_path.partition("/")
        module_name = f"{sdk}.{group.split('.')[0]}.{version}"
    else:
        area = module_path.split("/")[0]
        module_name = sdk if area == "index" else f"{sdk}.{area}"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    candidate = getattr(module, class_name, None)
    return candidate if inspect.isclass(candidate) and hasattr(candidate, "_internal_init") else None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
