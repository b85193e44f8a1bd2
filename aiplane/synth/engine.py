"""The offline engine: run the Pulumi program under the SDK's mocks runtime and capture the resource graph.

Nothing here knows what the program builds. `synthesize_stack` runs the project's own `__main__.py`, the
file `pulumi up` runs, against the same stack file; a monitor that sits where the Pulumi engine would
records each registration's type, name, parent, inputs, dependencies and the line of project code that
constructed it, none of which `Mocks.new_resource` alone sees.
"""
from __future__ import annotations

import gc
import json
import runpy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from aiplane.loader import load_stack, preloaded
from aiplane.spec import StackSpec
from aiplane.synth.graph import STACK_TYPE, GraphResource, ResourceGraph
from aiplane.synth.mockcloud import OFFLINE_ACCOUNT_ID, AwsMocks

PROJECT_NAME = "aiplane"

# Markers of Pulumi's property wire format (sdk/go/common/resource/properties.go).
_SIGNATURE = "4dabf18193072939515e22adb298388d"
_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_REFERENCE = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_VALUE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_PLACEHOLDER = "[secret]"
UNKNOWN_PLACEHOLDER = "[unknown]"


def plain(value: Any) -> Any:
    """Wire values to plain JSON data: secrets hidden, references as URNs, whole numbers as ints."""
    if isinstance(value, dict):
        signature = value.get(_SIGNATURE)
        if signature == _SECRET:
            return redacted(value.get("value"))
        if signature == _RESOURCE_REFERENCE:
            return value.get("urn")
        if signature == _OUTPUT_VALUE:
            if value.get("secret"):
                return redacted(value.get("value"))
            return plain(value["value"]) if "value" in value else UNKNOWN_PLACEHOLDER
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN:
        return UNKNOWN_PLACEHOLDER
    return value


def redacted(value: Any) -> Any:
    """A secret's shape without its content: a map keeps its keys (a Kubernetes Secret's keys are not secret,
    and manifests stay valid), every value becomes the placeholder."""
    if isinstance(value, dict) and value.get(_SIGNATURE) is None:
        return {key: SECRET_PLACEHOLDER for key in value}
    return SECRET_PLACEHOLDER


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, plus a record of every registration as the engine would receive it."""

    def __init__(self, mocks: pulumi_mocks.Mocks, source_root: Path | None = None):
        super().__init__(mocks)
        self.captured: dict[str, GraphResource] = {}
        self.source_root = source_root

    def source_of(self, request) -> str | None:
        """`path:line` of the code that constructed the resource, relative to the project, if it is the project's."""
        if self.source_root is None or not request.HasField("sourcePosition"):
            return None
        path = Path(url2pathname(urlparse(request.sourcePosition.uri).path))
        try:
            relative = path.relative_to(self.source_root)
        except ValueError:
            return None
        return f"{relative.as_posix()}:{request.sourcePosition.line}"

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # Pulumi qualifies a child's type with its parent's whole type chain, the root stack excluded.
        qualified = type_
        if parent and type_ != STACK_TYPE:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                qualified = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request):  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        inputs = plain(json_format.MessageToDict(request.object))
        state = plain(json_format.MessageToDict(response.object)) if request.type != STACK_TYPE else {}
        self.captured[response.urn] = GraphResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            source=self.source_of(request),
            id=response.id or None,
            provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
            inputs=inputs,
            outputs={key: value for key, value in state.items() if key not in inputs},
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                key: sorted(set(deps.urns)) for key, deps in sorted(request.propertyDependencies.items()) if deps.urns
            },
            options=deploy_options(request),
        )
        return response


def deploy_options(request) -> dict[str, Any]:
    """What the engine would do differently for this resource, as set on its RegisterResource request."""
    options: dict[str, Any] = {}
    implied = {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
    explicit = sorted(set(request.dependencies) - implied)
    if explicit:
        options["dependsOn"] = explicit
    if request.HasField("customTimeouts"):
        timeouts = {key: value for key in ("create", "update", "delete") if (value := getattr(request.customTimeouts, key))}
        if timeouts:
            options["customTimeouts"] = timeouts
    for key in ("ignoreChanges", "replaceOnChanges"):
        if getattr(request, key):
            options[key] = sorted(getattr(request, key))
    for key in ("protect", "deleteBeforeReplace", "retainOnDelete"):
        if getattr(request, key):
            options[key] = True
    return options


def synthesize(
    program: Callable[[], None],
    *,
    stack: str,
    region: str,
    config: dict[str, Any] | None = None,
    account_id: str = OFFLINE_ACCOUNT_ID,
    project: str = PROJECT_NAME,
    source_root: Path | None = None,
) -> ResourceGraph:
    """Run `program` under the mocks runtime, with `config` as the stack's config, and return its graph."""
    pulumi_settings.set_root_resource(None)  # a fresh root Stack for every run in this process
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()}
    )
    mocks = AwsMocks(region=region, account_id=account_id)
    monitor = CapturingMonitor(mocks, source_root.resolve() if source_root else None)
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    with cyclic_gc_paused():
        _sync_await(run_pulumi_func(program))
    return ResourceGraph(project, stack, list(monitor.captured.values()))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Synthesis imports provider modules of thousands of classes and registers every resource through many
    small objects; CPython's cyclic collector meanwhile rescans the whole, growing heap, over and over. That
    was a third of `aiplane plan --stack prod` and the cause of synthesis slowing down as stacks grew
    (`make bench`). Reference counting still frees nearly everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def synthesize_stack(project_dir: Path, environment: str) -> tuple[StackSpec, ResourceGraph]:
    """Validate the stack file, then run the project's `__main__.py` offline exactly as `pulumi up` would."""
    spec = load_stack(environment, project_dir / "stacks")
    return spec, synthesize_spec(project_dir, spec)


def synthesize_spec(project_dir: Path, spec: StackSpec) -> ResourceGraph:
    """Run the project's `__main__.py` offline on a stack already validated: the program's own `load_stack`
    gets `spec` back rather than reading the file again, so a stack held only in memory synthesizes too."""
    program_file = project_dir / "__main__.py"

    def program() -> None:
        sys.path.insert(0, str(project_dir))
        try:
            with preloaded(spec, project_dir / "stacks"):
                runpy.run_path(str(program_file), run_name="__main__")
        finally:
            sys.path.remove(str(project_dir))

    account = (spec.config.allowed_account_ids or [OFFLINE_ACCOUNT_ID])[0]
    # The keys the file writes, as the Pulumi CLI hands them to the program (the values as validated).
    config = {key: value for key, value in spec.config.model_dump(mode="json", by_alias=True, exclude_none=True).items()
              if key in spec.written_keys}
    return synthesize(
        program, stack=spec.environment, region=spec.region, config=config, account_id=account, source_root=project_dir
    )
