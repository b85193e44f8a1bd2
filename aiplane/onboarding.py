"""Onboarding and offboarding: what `aiplane tenant add` and `remove` would change, worked out in memory (the
edited stack file validated and synthesized beside the current one, and, for an addition, put through the
policy gate) before the CLI writes anything. Each stack file text is parsed once."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiplane.artifacts import render_artifacts, write_artifacts
from aiplane.errors import InputError
from aiplane.loader import parse_stack, read_stack
from aiplane.policy.gate import Finding, check_stacks
from aiplane.synth.engine import synthesize_spec
from aiplane.synth.graph import GraphResource, ResourceGraph
from aiplane.tenancy.blueprints import load_blueprints, resolve_parameters
from aiplane.tenancy.stackfile import add_tenant, remove_tenant


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
    findings: list[Finding] | None  # the tenant's policy findings (add only)


def propose_tenant_change(project_dir: Path, environment: str, add: dict | None = None, remove: str | None = None) -> TenantChange:
    """Validate the edited stack file, synthesize it beside the current one, and (for an addition) run the
    policy gate on it; nothing in the project is written."""
    stacks_dir, blueprints_dir = project_dir / "stacks", project_dir / "blueprints"
    current = read_stack(environment, stacks_dir)
    before_spec = parse_stack(current.text, environment, current.source, blueprints_dir)
    if add is not None:
        blueprints = load_blueprints(blueprints_dir)
        if add["blueprint"] not in blueprints:
            raise InputError(f"--blueprint: {add['blueprint']!r} is not a blueprint (blueprints: {', '.join(blueprints) or 'none'})")
        resolve_parameters(blueprints[add["blueprint"]], add["parameters"], "--set", separator=" ")
        new_text = add_tenant(current.text, current.source, add)
    else:
        new_text = remove_tenant(current.text, current.source, remove)
    after_spec = parse_stack(new_text, environment, current.source, blueprints_dir)
    before = synthesize_spec(project_dir, before_spec)
    after = synthesize_spec(project_dir, after_spec)
    findings = None
    if add is not None:
        # checkov scans files: the proposed stack's artifacts go to a scratch folder, never to build/.
        with tempfile.TemporaryDirectory(prefix="aiplane-tenant-") as scratch:
            artifacts = write_artifacts(render_artifacts(after_spec, after), Path(scratch) / environment)
            report = check_stacks(project_dir, [artifacts])
        findings = [finding for finding in report.findings if finding.tenant == add["name"]]
    added, changed, removed = graph_diff(before, after)
    return TenantChange(
        action="add" if add is not None else "remove", environment=environment, path=current.path, source=current.source,
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
