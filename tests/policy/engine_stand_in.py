"""The Pulumi engine's side of the analyzer protocol, for testing the policy pack without the Pulumi CLI.

The pack is started as the CLI starts a Python pack (`python -m pulumi.policy ENGINE PACK_DIR`, which runs
the pack's `__main__.py`; the pack prints the port it serves on), and sent what the engine sends on
`pulumi preview --policy-pack`: an `AnalyzeStackRequest` holding every resource of the stack, with its
state (inputs and outputs in one bag, plus what a provider and the API server add), its options, its
provider (a default one, created by the engine, where the program named none), parent and dependencies.
pulumi_policy itself then builds its `PolicyResource`/`StackValidationArgs` objects from it.
"""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from aiplane.policy.graph_checks.support import duration_seconds
from aiplane.synth.graph import GraphResource, ResourceGraph

DEFAULT_PROVIDER_VERSIONS = {"aws": "7_51_1", "kubernetes": "4_34_2", "random": "4_21_4"}
# What the API server adds to an object the engine has applied, which the state then holds.
SERVER_METADATA = {"uid": "9d2b4a7e-0000-4000-8000-000000000000", "resourceVersion": "4711", "creationTimestamp": "2026-12-02T00:00:00Z"}


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def engine_state(resource: GraphResource) -> dict[str, Any]:
    """The state the engine holds for a resource: its inputs with its outputs merged in, and for a Kubernetes
    object the metadata and status the API server writes."""
    state = {**resource.inputs, **resource.outputs}
    if resource.custom and resource.type.startswith("kubernetes:") and "kind" in state:
        state["metadata"] = {**(state.get("metadata") or {}), **SERVER_METADATA}
        state["status"] = {"observedGeneration": 1}
    return state


def default_provider_urn(graph: ResourceGraph, package: str) -> str:
    return f"urn:pulumi:{graph.stack}::{graph.project}::pulumi:providers:{package}::default_{DEFAULT_PROVIDER_VERSIONS[package]}"


def analyze_stack_request(graph: ResourceGraph) -> analyzer_pb2.AnalyzeStackRequest:
    by_urn = {resource.urn: resource for resource in graph.resources}
    defaults: dict[str, GraphResource] = {}
    for resource in graph.custom_resources:
        package = resource.type.split(":")[0]
        if resource.provider is None and package != "pulumi":
            urn = default_provider_urn(graph, package)
            defaults[urn] = GraphResource(urn=urn, type=f"pulumi:providers:{package}", name=urn.rsplit("::", 1)[1], custom=True, parent=None)

    def provider_of(resource: GraphResource) -> analyzer_pb2.AnalyzerProviderResource | None:
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            return None
        urn = resource.provider or default_provider_urn(graph, resource.type.split(":")[0])
        provider = by_urn.get(urn) or defaults[urn]
        return analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_struct(engine_state(provider)), urn=urn, name=provider.name)

    def message(resource: GraphResource) -> analyzer_pb2.AnalyzerResource:
        timeouts = resource.options.get("customTimeouts") or {}
        options = analyzer_pb2.AnalyzerResourceOptions(
            protect=bool(resource.options.get("protect")),
            ignoreChanges=resource.options.get("ignoreChanges", []),
            deleteBeforeReplace=bool(resource.options.get("deleteBeforeReplace")),
            deleteBeforeReplaceDefined="deleteBeforeReplace" in resource.options,
            parent=resource.parent or "",
        )
        if timeouts:
            options.customTimeouts.CopyFrom(analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
                **{key: duration_seconds(value) or 0 for key, value in timeouts.items()}))
        request = analyzer_pb2.AnalyzerResource(
            type=resource.type, properties=_struct(engine_state(resource)), urn=resource.urn, name=resource.name, options=options,
            parent=resource.parent or "", dependencies=resource.dependencies,
            propertyDependencies={key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns) for key, urns in resource.property_dependencies.items()},
        )
        provider = provider_of(resource)
        if provider is not None:
            request.provider.CopyFrom(provider)
        return request

    return analyzer_pb2.AnalyzeStackRequest(resources=[message(resource) for resource in [*defaults.values(), *graph.resources]])


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str  # "mandatory" | "advisory"
    message: str
    urn: str


class RunningPack:
    def __init__(self, stub: analyzer_pb2_grpc.AnalyzerStub):
        self.stub = stub

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)

    def response(self, graph: ResourceGraph) -> analyzer_pb2.AnalyzeResponse:
        return self.stub.AnalyzeStack(analyze_stack_request(graph), timeout=900)

    def analyze_stack(self, graph: ResourceGraph) -> list[Diagnostic]:
        response = self.response(graph)
        levels = {analyzer_pb2.MANDATORY: "mandatory", analyzer_pb2.ADVISORY: "advisory"}
        return [Diagnostic(d.policyName, levels[d.enforcementLevel], d.message, d.urn) for d in response.diagnostics]


@contextmanager
def running_pack(pack_dir: Path, env: dict[str, str] | None = None) -> Iterator[RunningPack]:
    """The pack served as the Pulumi CLI serves it; the engine address it is given is never dialled."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            raise RuntimeError(f"the pack did not start: {port!r} {process.communicate()[1][-2000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]) as channel:
            yield RunningPack(analyzer_pb2_grpc.AnalyzerStub(channel))
    finally:
        process.kill()
        process.communicate()
