"""`aiplane diff`: what a change does to a stack, for a pull request's reviewer.

The head is the working tree (uncommitted changes included, and said so); the base is a commit, planned
and gated by its own code (`aiplane.review.base`). Between them: each resource created, updated (with the
input paths that changed), replaced (with the properties that force it) or deleted; the monthly cost per
component, per tenant and in all; the GPU pools' nodes and GPUs; the findings the change brings and those it
fixes; and the checks on the change itself (`AIP_CHG_*`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aiplane.artifacts import StackArtifacts, plan_stack
from aiplane.export.kubernetes import checkov_id, is_kubernetes_object
from aiplane.export.terraform import address, is_exported
from aiplane.planning.instances import load_instance_catalog
from aiplane.policy.change_checks import CHANGE_CHECKS, change_check_catalog
from aiplane.policy.gate import GateReport, check_stacks, load_policy_inputs, tenant_of
from aiplane.policy.report import finding_json
from aiplane.review.base import Base, plan_base, resolve_base, scratch_folder, uncommitted_changes
from aiplane.review.changes import ResourceChange, diff_graphs
from aiplane.review.replacement import load_replacement_table
from aiplane.synth.graph import GraphResource, ResourceGraph

FAILING = ("violation", "advisory", "waived")


@dataclass(frozen=True)
class Placed:
    """A change with where a reviewer looks for it: its resource's display name, component and tenant."""

    change: ResourceChange
    resource: str
    component: str
    tenant: str | None


@dataclass
class StackDiff:
    environment: str
    base: Base
    uncommitted: list[str]
    changes: list[Placed]
    cost_before: dict[str, Any]
    cost_after: dict[str, Any]
    capacity_before: dict[str, dict[str, int]]
    capacity_after: dict[str, dict[str, int]]
    new_findings: list[dict[str, Any]]
    fixed_findings: list[dict[str, Any]]
    change_findings: list[dict[str, Any]] = field(default_factory=list)
    head_violations: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.head_violations or any(finding["status"] == "violation" for finding in self.change_findings) else 0

    def count(self, action: str) -> int:
        return sum(1 for placed in self.changes if placed.change.action == action)


def placed(change: ResourceChange, graph: ResourceGraph, tenants: set[str]) -> Placed:
    resource = change.resource
    owner = graph.owning_component(resource)
    return Placed(change, display_name(resource), owner.name if owner else "stack", tenant_of(graph, resource, tenants))


def display_name(resource: GraphResource) -> str:
    """As findings name resources: a Terraform address, a Kubernetes `Kind.namespace.name`, else `type::name`."""
    if is_exported(resource):
        return address(resource)
    if is_kubernetes_object(resource):
        return checkov_id(resource)
    return f"{resource.type}::{resource.name}"


def pool_capacity(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each planned pool's nodes (min, desired, max) and GPUs at its maximum, from a stack's summary."""
    catalog = load_instance_catalog()
    pools = {}
    for pool in (summary.get("capacity") or {}).get("pools", []):
        instance = catalog.instances.get(pool["instanceTypes"][0]) if pool.get("instanceTypes") else None
        gpus = instance.gpus if instance else 0
        nodes = pool["nodes"]
        pools[pool["name"]] = {"min": nodes["min"], "desired": nodes["desired"], "max": nodes["max"], "maxGpus": nodes["max"] * gpus}
    return pools


def finding_key(finding: dict[str, Any]) -> tuple[str, str, str]:
    return finding["check"], finding["resource"], finding["status"]


def review_stack(project_dir: Path, environment: str, base_ref: str | None, today: date | None = None) -> StackDiff:
    """Plan and gate the stack at the working tree and at the base, and compare them."""
    today = today or date.today()
    commit, described = resolve_base(project_dir, base_ref)
    uncommitted = uncommitted_changes(project_dir)
    head = plan_stack(project_dir, environment)
    report = check_stacks(project_dir, [head], today)
    base = plan_base(project_dir, environment, commit, described, scratch_folder(project_dir))
    return compare(head, report, base, uncommitted, project_dir, today)


def compare(head: StackArtifacts, report: GateReport, base: Base, uncommitted: list[str], project_dir: Path, today: date) -> StackDiff:
    changes = diff_graphs(base.graph, head.graph, load_replacement_table())
    tenants = {tenant.name for tenant in head.spec.tenants} | set((base.summary.get("cost") or {}).get("byTenant", {}))
    placed_changes = [
        placed(change, head.graph if change.action != "delete" else base.graph, tenants)
        for change in changes
    ]
    head_findings = [finding_json(finding) for finding in report.findings if finding.status in FAILING]
    base_keys = {finding_key(finding) for finding in base.findings if finding["status"] in FAILING}
    head_keys = {finding_key(finding) for finding in head_findings}
    profile = load_policy_inputs(project_dir, [head.environment], today).profiles[head.environment]
    change_findings = []
    for info, check in zip(change_check_catalog(), CHANGE_CHECKS, strict=True):
        for resource, passed in check.evaluate(changes, list(head.spec.config.allow_replacements), today):
            severity, reason = profile.classify(info.id)
            status = "passed" if passed else ("violation" if severity == "mandatory" else "advisory")
            change_findings.append({"check": info.id, "title": info.title, "resource": display_name(resource), "status": status,
                                    "severity": severity, "severityReason": reason})
    return StackDiff(
        environment=head.environment,
        base=base,
        uncommitted=uncommitted,
        changes=placed_changes,
        cost_before=base.summary.get("cost") or {},
        cost_after=head.summary["cost"],
        capacity_before=pool_capacity(base.summary),
        capacity_after=pool_capacity(head.summary),
        new_findings=[finding for finding in head_findings if finding_key(finding) not in base_keys],
        fixed_findings=[finding for finding in base.findings if finding["status"] in FAILING and finding_key(finding) not in head_keys],
        change_findings=change_findings,
        head_violations=sum(1 for finding in report.findings if finding.violation),
    )
