"""Onboarding and offboarding: what `aiplane tenant add` and `remove` would change, worked out in a scratch
copy of the project (validated, synthesized and, for an addition, put through the policy gate) before the
CLI writes anything."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiplane.blueprint import load_blueprints, resolve_parameters
from aiplane.engine import synthesize_stack
from aiplane.errors import InputError
from aiplane.graph import GraphResource, ResourceGraph
from aiplane.policy.gate import run_gate
from aiplane.spec import load_stack, parse_stack, read_text, stack_path
from aiplane.stackfile import add_tenant, remove_tenant
from aiplane.workspace import copy_project


@dataclass(frozen=True)
class TenantChange:
    action: str  # "add" or "remove"
    environment: str
    path: Path
    source: str
    text: str  # the stack file as it will be written
    added: dict[str, int]  # component -> resources it gains
    changed: dict[str, int]
    removed: dict[str, int]
    findings: list | None  # the tenant's policy findings (add only)


def propose_tenant_change(project_dir: Path, environment: str, add: dict | None = None, remove: str | None = None) -> TenantChange:
    """Validate the edited stack file, synthesize it beside the current one, and (for an addition) run the
    policy gate on it, all in a scratch copy of the project: nothing is written here."""
    stacks_dir = project_dir / "stacks"
    before_spec = load_stack(environment, stacks_dir)
    path = stack_path(stacks_dir, environment)
    text = read_text(path)
    blueprints_dir = project_dir / "blueprints"
    if add is not None:
        blueprints = load_blueprints(blueprints_dir)
        if add["blueprint"] not in blueprints:
            raise InputError(f"--blueprint: {add['blueprint']!r} is not a blueprint (blueprints: {', '.join(blueprints) or 'none'})")
        resolve_parameters(blueprints[add["blueprint"]], add["parameters"], "--set", separator=" ")
        new_text = add_tenant(text, before_spec.source, add)
    else:
        new_text = remove_tenant(text, before_spec.source, remove)
    parse_stack(new_text, environment, before_spec.source, blueprints_dir)
    _, before = synthesize_stack(project_dir, environment)
    with tempfile.TemporaryDirectory(prefix="aiplane-tenant-") as scratch:
        scratch_dir = copy_project(project_dir, Path(scratch))
        stack_path(scratch_dir / "stacks", environment).write_text(new_text, encoding="utf-8")
        findings = None
        if add is not None:
            report = run_gate(scratch_dir, [environment])
            findings = [finding for finding in report.findings if finding.tenant == add["name"]]
            after = ResourceGraph.from_json((scratch_dir / "build" / environment / "graph.json").read_text(encoding="utf-8"))
        else:
            _, after = synthesize_stack(scratch_dir, environment)
    added, changed, removed = graph_diff(before, after)
    return TenantChange(
        action="add" if add is not None else "remove", environment=environment, path=path, source=before_spec.source,
        text=new_text, added=added, changed=changed, removed=removed, findings=findings,
    )


def graph_diff(before: ResourceGraph, after: ResourceGraph) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Custom resources added, changed (different inputs) and removed, counted per owning component."""

    def by_urn(graph: ResourceGraph) -> dict[str, GraphResource]:
        return {resource.urn: resource for resource in graph.custom_resources}

    old, new = by_urn(before), by_urn(after)

    def component(graph: ResourceGraph, resource: GraphResource) -> str:
        owner = graph.owning_component(resource)
        return f"{owner.name} ({owner.type})" if owner else "stack"

    added: dict[str, int] = {}
    changed: dict[str, int] = {}
    removed: dict[str, int] = {}
    for urn, resource in new.items():
        if urn not in old:
            key = component(after, resource)
            added[key] = added.get(key, 0) + 1
        elif old[urn].inputs != resource.inputs:
            key = component(after, resource)
            changed[key] = changed.get(key, 0) + 1
    for urn, resource in old.items():
        if urn not in new:
            key = component(before, resource)
            removed[key] = removed.get(key, 0) + 1
    return added, changed, removed
