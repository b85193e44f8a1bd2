"""Onboarding and offboarding: what `aiplane tenant add` and `remove` would change, worked out in memory (the
edited stack file validated and synthesized beside the current one, and, for an addition, put through the
policy gate) before the CLI writes anything. Each stack file text is parsed once."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiplane.artifacts import render_artifacts, write_artifacts
from aiplane.errors import InputError
from aiplane.loader import parse_stack, read_stack
from aiplane.policy.gate import Finding, check_stacks
from aiplane.review.changes import diff_graphs
from aiplane.review.replacement import load_replacement_table
from aiplane.spec import StackSpec
from aiplane.synth.engine import synthesize_spec
from aiplane.synth.graph import ResourceGraph
from aiplane.tenancy.blueprints import load_blueprints, resolve_parameters
from aiplane.tenancy.estimate import tenant_monthly_estimate
from aiplane.tenancy.stackfile import add_tenant, remove_tenant


@dataclass(frozen=True)
class TenantChange:
    action: str  # "add" or "remove"
    environment: str
    path: Path
    source: str
    text: str  # the stack file as it will be written
    before_text: str  # the stack file as it is
    added: dict[str, int]  # component -> resources it gains
    changed: dict[str, int]
    removed: dict[str, int]
    findings: list[Finding] | None  # the tenant's policy findings (add only)
    budget: TenantBudget | None = None  # the added tenant's estimate against its budget


@dataclass(frozen=True)
class TenantBudget:
    estimate_usd: float
    budget_usd: float
    parameter: str | None  # the blueprint parameter that sets the budget, where one does

    @property
    def shortfall_usd(self) -> float:
        return round(max(0.0, self.estimate_usd - self.budget_usd), 2)


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
        parameters = resolve_parameters(blueprints[add["blueprint"]], add["parameters"], "--set", separator=" ")
        new_text = add_tenant(current.text, current.source, add)
    else:
        new_text = remove_tenant(current.text, current.source, remove)
    after_spec = parse_stack(new_text, environment, current.source, blueprints_dir)
    before = synthesize_spec(project_dir, before_spec)
    after = synthesize_spec(project_dir, after_spec)
    findings = budget = None
    if add is not None:
        # checkov scans files: the proposed stack's artifacts go to a scratch folder, never to build/.
        with tempfile.TemporaryDirectory(prefix="aiplane-tenant-") as scratch:
            artifacts = write_artifacts(render_artifacts(after_spec, after), Path(scratch) / environment)
            report = check_stacks(project_dir, [artifacts])
        findings = [finding for finding in report.findings if finding.tenant == add["name"]]
        budget = tenant_budget(after_spec, add["name"], parameters)
    added, changed, removed = graph_diff(before, after)
    return TenantChange(
        action="add" if add is not None else "remove", environment=environment, path=current.path, source=current.source,
        text=new_text, before_text=current.text, added=added, changed=changed, removed=removed, findings=findings, budget=budget,
    )


def tenant_budget(spec: StackSpec, name: str, parameters: dict[str, Any]) -> TenantBudget:
    """The tenant's estimate and budget, and the blueprint parameter whose value became the budget."""
    tenant = next(tenant for tenant in spec.tenants if tenant.name == name)
    budget = tenant.plan.monthly_budget_usd
    parameter = next((key for key, value in parameters.items() if not isinstance(value, bool) and value == budget), None)
    return TenantBudget(round(tenant_monthly_estimate(spec, tenant), 2), budget, parameter)


def graph_diff(before: ResourceGraph, after: ResourceGraph) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Custom resources added, changed (different inputs; replaced ones included) and removed, counted per
    owning component."""
    counts: dict[str, dict[str, int]] = {"create": {}, "change": {}, "delete": {}}
    for change in diff_graphs(before, after, load_replacement_table()):
        graph = before if change.action == "delete" else after
        owner = graph.owning_component(change.resource)
        key = f"{owner.name} ({owner.type})" if owner else "stack"
        bucket = counts[change.action if change.action in ("create", "delete") else "change"]
        bucket[key] = bucket.get(key, 0) + 1
    return counts["create"], counts["change"], counts["delete"]
