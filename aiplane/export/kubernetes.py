"""Kubernetes resources of the graph as manifests, for checkov's `kubernetes` framework.

pulumi-kubernetes sends each object's manifest fields (apiVersion, kind, metadata, spec, ...) as its
inputs, camelCase as in YAML, so a manifest is the inputs as they are. Objects Pulumi would auto-name get
the name the mock runtime gave them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiplane.synth.graph import GraphResource, ResourceGraph

KUBERNETES_PREFIX = "kubernetes:"
# Resources that are not objects in the cluster (Helm releases, YAML bundles, providers).
NOT_OBJECTS = ("kubernetes:helm.sh/", "kubernetes:yaml", "kubernetes:kustomize")


@dataclass(frozen=True)
class Manifest:
    urn: str
    filename: str
    checkov_id: str  # how checkov names the object: Kind.namespace.name
    document: dict[str, Any]


def is_kubernetes_object(resource: GraphResource) -> bool:
    return resource.custom and resource.type.startswith(KUBERNETES_PREFIX) and not resource.type.startswith(NOT_OBJECTS)


def manifests(graph: ResourceGraph) -> list[Manifest]:
    found = []
    for resource in graph.resources:
        if not is_kubernetes_object(resource):
            continue
        kind, namespace, name = identity(resource)
        document = {**resource.inputs, "metadata": {**(resource.inputs.get("metadata") or {}), "name": name}}
        found.append(Manifest(resource.urn, f"{kind}-{namespace}-{name}.yaml".lower(), checkov_id(resource), document))
    return found


def identity(resource: GraphResource) -> tuple[str, str, str]:
    """A Kubernetes object's kind, namespace (`default` where it names none) and name (the name Pulumi gave it
    where the program set none)."""
    metadata = resource.inputs.get("metadata") or {}
    name = metadata.get("name") or (resource.outputs.get("metadata") or {}).get("name") or resource.name
    return resource.inputs.get("kind", resource.type.rsplit(":", 1)[1]), metadata.get("namespace", "default"), name


def checkov_id(resource: GraphResource) -> str:
    """How checkov names the object, and so how findings do: Kind.namespace.name."""
    return ".".join(identity(resource))


def render(manifest: Manifest) -> str:
    # JSON is YAML; it keeps the export deterministic without a second serializer.
    return json.dumps(manifest.document, indent=2, sort_keys=True) + "\n"
