"""The resource graph: what a Pulumi program registers, as plain data every later step reads."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class GraphResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    source: str | None = None  # "components/network.py:57": where a user would go to change it
    id: str | None = None
    provider: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    # The resource options that change how the engine deploys it, where set: dependsOn (explicit, beside the
    # dependencies its inputs imply), customTimeouts, ignoreChanges, protect, deleteBeforeReplace,
    # replaceOnChanges, retainOnDelete.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def explicit_dependencies(self) -> list[str]:
        return list(self.options.get("dependsOn", []))

    @property
    def is_component(self) -> bool:
        return not self.custom and self.type != STACK_TYPE


@dataclass
class ResourceGraph:
    project: str
    stack: str
    resources: list[GraphResource]

    def __post_init__(self) -> None:
        self.resources = sorted(self.resources, key=lambda resource: resource.urn)
        self._by_urn = {resource.urn: resource for resource in self.resources}
        # Tenant rules ask for each tenant's objects: an index keeps them linear in tenants (a scan of the
        # graph per question was 18 s of a 200-tenant check, profiled).
        self._by_namespace: dict[str, list[GraphResource]] = {}
        for resource in self.resources:
            metadata = resource.inputs.get("metadata") if resource.type.startswith("kubernetes:") else None
            if isinstance(metadata, dict) and metadata.get("namespace") is not None:
                self._by_namespace.setdefault(metadata["namespace"], []).append(resource)

    def __getitem__(self, urn: str) -> GraphResource:
        return self._by_urn[urn]

    def find(self, type_: str, name: str) -> GraphResource:
        for resource in self.resources:
            if resource.type == type_ and resource.name == name:
                return resource
        raise KeyError(f"no {type_} named {name!r} in the graph")

    def of_type(self, type_: str) -> list[GraphResource]:
        return [resource for resource in self.resources if resource.type == type_]

    @property
    def custom_resources(self) -> list[GraphResource]:
        return [resource for resource in self.resources if resource.custom]

    @property
    def components(self) -> list[GraphResource]:
        return [resource for resource in self.resources if resource.is_component]

    def owning_component(self, resource: GraphResource) -> GraphResource | None:
        """The nearest component above a resource (None for what hangs directly off the stack)."""
        parent = resource.parent
        while parent:
            candidate = self._by_urn.get(parent)
            if candidate is None:
                return None
            if candidate.is_component:
                return candidate
            parent = candidate.parent
        return None

    def in_namespace(self, namespace: str) -> list[GraphResource]:
        """The Kubernetes objects whose metadata puts them in `namespace`."""
        return self._by_namespace.get(namespace, [])

    def children(self, urn: str | None) -> list[GraphResource]:
        return [resource for resource in self.resources if resource.parent == urn]

    def to_json(self) -> str:
        """Deterministic: resources sorted by URN, keys sorted, fixed indentation, trailing newline."""
        document = {
            "project": self.project,
            "stack": self.stack,
            "resources": [asdict(resource) for resource in self.resources],
        }
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ResourceGraph:
        document = json.loads(text)
        return cls(document["project"], document["stack"], [GraphResource(**item) for item in document["resources"]])

    def summary(self) -> dict[str, Any]:
        """Counts per component and per type: what `summary.json` holds and the CLI prints."""
        per_component: dict[str, dict[str, Any]] = {}
        for component in self.components:
            per_component[component.urn] = {"type": component.type, "name": component.name, "resources": Counter()}
        unowned: Counter[str] = Counter()
        for resource in self.custom_resources:
            owner = self.owning_component(resource)
            (per_component[owner.urn]["resources"] if owner else unowned)[resource.type] += 1
        components = [
            {
                "urn": urn,
                "type": entry["type"],
                "name": entry["name"],
                "parent": self[urn].parent,
                "total": sum(entry["resources"].values()),
                "byType": dict(sorted(entry["resources"].items())),
            }
            for urn, entry in per_component.items()
        ]
        return {
            "project": self.project,
            "stack": self.stack,
            "total": len(self.custom_resources),
            "components": components,
            "outsideComponents": dict(sorted(unowned.items())),
            "byType": dict(sorted(Counter(resource.type for resource in self.custom_resources).items())),
        }
