"""The policy gate: scan synthesized stacks with checkov, and judge the findings by profile and waiver.

A failed check is a violation when the stack's profile makes it mandatory and no live waiver covers it
(`aiplane.policy.profiles`). `run_gate` synthesizes the stacks it is named; `check_stacks` takes stacks a
caller already holds.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from aiplane.artifacts import StackArtifacts, plan_stack
from aiplane.components.base import STACK_SECTION_INPUT, StackSection
from aiplane.components.tagging import TENANT_TAG
from aiplane.errors import format_path
from aiplane.export.terraform import address, is_exported
from aiplane.loader import STACKS_FOLDER, stack_path
from aiplane.policy.answer import verify_answer
from aiplane.policy.catalog import CheckInfo, in_order, load_check_catalog
from aiplane.policy.change_checks import change_check_catalog
from aiplane.policy.graph_checks import graph_check_catalog, run_graph_checks
from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import boundary_of
from aiplane.policy.profiles import (
    Profile,
    Severity,
    Waiver,
    load_profile,
    load_waivers,
    refuse_unknown_checks,
)
from aiplane.policy.scan_cache import open_cache
from aiplane.policy.scan_tasks import plan_stack_scan
from aiplane.policy.scanner import CheckovSession, EngineError, default_jobs
from aiplane.synth.graph import GraphResource, ResourceGraph


@dataclass(frozen=True)
class Finding:
    stack: str
    check_id: str
    check_name: str
    result: Literal["PASSED", "FAILED"]
    resource: str
    severity: Severity
    severity_reason: str | None
    component: str
    tenant: str | None
    source_file: str  # the component code that built the resource, relative to the project
    source_line: int
    stack_file: str  # the stack file, relative to the project
    stack_field: str  # the section of its config that configures the resource's component: aiplane:platform.compute.pools[0]
    stack_line: int  # that section's line, or its nearest enclosing one the file writes
    guideline: str | None = None
    waiver: Waiver | None = None

    @property
    def violation(self) -> bool:
        return self.result == "FAILED" and self.severity == "mandatory" and self.waiver is None

    @property
    def status(self) -> str:
        if self.result == "PASSED":
            return "passed"
        if self.waiver is not None:
            return "waived"
        return "violation" if self.severity == "mandatory" else "advisory"


@dataclass
class StackResult:
    stack: str
    source: str
    findings: list[Finding] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for finding in self.findings if finding.status == status)


@dataclass(frozen=True)
class ScanStats:
    """How much of the scan checkov ran: `scanned` resources and manifests (neighbours a cut plan carried
    included) out of `exported`, and the cache's hits and misses."""

    exported: int = 0
    scanned: int = 0
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass
class GateReport:
    stacks: list[StackResult]
    catalog: list[CheckInfo]
    checkov_version: str
    scan: ScanStats = field(default_factory=ScanStats)

    @property
    def findings(self) -> list[Finding]:
        return [finding for stack in self.stacks for finding in stack.findings]

    @property
    def exit_code(self) -> int:
        return 1 if any(finding.violation for finding in self.findings) else 0


def display_ids(build: StackArtifacts) -> dict[str, str]:
    """Each resource's name in findings: its Terraform address or its manifest's checkov id, as checkov
    reports them, else (what neither export holds, such as a Helm release) `<type>::<name>`."""
    ids = {resource.urn: f"{resource.type}::{resource.name}" for resource in build.graph.resources}
    ids.update({resource.urn: address(resource) for resource in build.graph.resources if is_exported(resource)})
    ids.update({manifest.urn: manifest.checkov_id for manifest in build.manifests})
    return ids


def _graph_results(build: StackArtifacts, ids: dict[str, str], profile: Profile) -> list[dict]:
    """The deploy-safety checks' results, shaped as checkov's, naming resources by their display ids."""
    return [
        {"check_id": info.id, "check_name": info.title, "result": "PASSED" if passed else "FAILED", "resource": ids[resource.urn]}
        for info, resource, passed in run_graph_checks(build.graph, GateContext(profile.minimum_retention_days))
    ]


def tenant_of(graph: ResourceGraph, resource: GraphResource | None, tenants: set[str]) -> str | None:
    """The tenant a finding or a change concerns: an AWS resource's tenant tag, else the tenant whose boundary
    built it, else (Kubernetes objects carry no tags) the tenant whose namespace the object is in."""
    if resource is None:
        return None
    tags = resource.inputs.get("tags")
    if isinstance(tags, dict) and tags.get(TENANT_TAG):
        return tags[TENANT_TAG]
    if (built_by := boundary_of(graph, resource)) in tenants:
        return built_by
    metadata = resource.inputs.get("metadata") if resource.type.startswith("kubernetes:") else None
    if isinstance(metadata, dict):
        namespace = metadata.get("name") if resource.inputs.get("kind") == "Namespace" else metadata.get("namespace")
        if namespace in tenants:
            return namespace
    return None


def _stack_section(build: StackArtifacts, resource: GraphResource | None) -> StackSection:
    """The stack-file section the nearest component above (or at) a resource records it is configured by;
    the whole config for what no component claims."""
    while resource is not None:
        recorded = resource.inputs.get(STACK_SECTION_INPUT) if resource.is_component else None
        if recorded:
            return tuple(recorded)
        resource = build.graph[resource.parent] if resource.parent else None
    return ()


def _findings(build: StackArtifacts, ids: dict[str, str], results: list[dict], profile: Profile, waivers: list[Waiver]) -> list[Finding]:
    index = {display: build.graph[urn] for urn, display in ids.items()}
    stack_file = stack_path(Path(STACKS_FOLDER), build.environment).as_posix()
    findings = []
    for result in results:
        if result["result"] not in ("PASSED", "FAILED"):
            continue
        resource = index.get(result["resource"])
        owner = build.graph.owning_component(resource) if resource else None
        # Point at what a user edits: the stack-file section that configures the resource, and the line of
        # component code that built it (that section again where no code of the project did).
        section = _stack_section(build, resource)
        _, stack_line = build.spec.line_of(section)
        source_file, line = resource.source.rsplit(":", 1) if resource and resource.source else (stack_file, stack_line)
        severity, reason = profile.classify(result["check_id"])
        waiver = next((w for w in waivers if w.covers(result["check_id"], result["resource"], build.spec.environment)), None)
        findings.append(
            Finding(
                stack=build.spec.environment,
                check_id=result["check_id"],
                check_name=result["check_name"],
                result=result["result"],
                resource=result["resource"],
                severity=severity,
                severity_reason=reason,
                component=owner.name if owner else "stack",
                tenant=tenant_of(build.graph, resource, {tenant.name for tenant in build.spec.tenants}),
                source_file=source_file,
                source_line=int(line),
                stack_file=stack_file,
                stack_field=format_path(section),
                stack_line=stack_line,
                guideline=result.get("guideline"),
                waiver=waiver if result["result"] == "FAILED" else None,
            )
        )
    return sorted(findings, key=lambda f: (f.stack, f.component, f.tenant or "", f.check_id, f.resource))


@dataclass(frozen=True)
class PolicyInputs:
    """What the gate judges findings by, loaded and validated before any stack synthesizes."""

    project_dir: Path
    profiles: dict[str, Profile]
    waivers: list[Waiver]
    checks_dir: Path
    checkov_checks: list[CheckInfo]  # policies/checks/, run by checkov
    graph_checks: list[CheckInfo]  # aiplane.policy.graph_checks, run here on the graph
    change_checks: list[CheckInfo]  # aiplane.policy.change_checks, run by `aiplane diff` on a change

    @property
    def catalog(self) -> list[CheckInfo]:
        return in_order([*self.checkov_checks, *self.graph_checks, *self.change_checks])


def load_policy_inputs(project_dir: Path, environments: list[str], today: date | None = None) -> PolicyInputs:
    profiles = {environment: load_profile(project_dir, environment) for environment in environments}
    waivers = load_waivers(project_dir, environments, today or date.today())
    checks_dir = project_dir / "policies" / "checks"
    return PolicyInputs(
        project_dir, profiles, waivers, checks_dir, load_check_catalog(checks_dir), graph_check_catalog(), change_check_catalog()
    )


@dataclass(frozen=True)
class ScanOptions:
    """How the gate runs checkov: `jobs` scans at once (default: `default_jobs()`), and whether the scan cache
    in `.aiplane-cache/` answers what it already holds."""

    jobs: int | None = None
    cache: bool = True


def _session(inputs: PolicyInputs, options: ScanOptions) -> CheckovSession:
    # Started before synthesis: the worker imports checkov and loads the checks meanwhile.
    return CheckovSession(inputs.project_dir, jobs=options.jobs or default_jobs(), checks_dir=inputs.checks_dir)


def run_gate(project_dir: Path, environments: list[str], today: date | None = None, options: ScanOptions = ScanOptions()) -> GateReport:
    """`aiplane check --stack`: synthesize and write each stack's artifacts, then judge them."""
    inputs = load_policy_inputs(project_dir, environments, today)
    session = _session(inputs, options)
    try:
        stacks = [plan_stack(project_dir, environment) for environment in environments]
        return _judge(session, inputs, stacks, options)
    finally:
        session.abandon()


def check_stacks(project_dir: Path, stacks: list[StackArtifacts], today: date | None = None, options: ScanOptions = ScanOptions()) -> GateReport:
    """Judge stacks a caller has already synthesized and written (`write_artifacts`), by the project's policy."""
    inputs = load_policy_inputs(project_dir, [stack.environment for stack in stacks], today)
    session = _session(inputs, options)
    try:
        return _judge(session, inputs, stacks, options)
    finally:
        session.abandon()


def _scan(session: CheckovSession, inputs: PolicyInputs, stacks: list[StackArtifacts], options: ScanOptions) -> dict:
    """checkov's answer for `stacks`, one scan per stack as the gate verifies it, from the workers and the cache."""
    cache = open_cache(inputs.project_dir, session.python, inputs.checks_dir) if options.cache else None
    with tempfile.TemporaryDirectory(prefix="aiplane-scan-") as scratch:
        planned = [plan_stack_scan(stack, Path(scratch), cache) for stack in stacks]
        raw = session.run([scan for stack_scan in planned for scan in stack_scan.scans], inputs.checks_dir, {check.id for check in inputs.checkov_checks})
    answers = raw["scans"]
    raw["scans"] = {stack_scan.stack: stack_scan.merge(answers) for stack_scan in planned}
    for stack in stacks:
        if stack.graph.custom_resources and not raw["scans"][stack.environment]["results"]:
            raise EngineError(f"checkov reported no result at all for stack {stack.environment}; refusing to call that a pass")
    verify_answer(raw, stacks, inputs.checkov_checks)
    # Stored once the answer is verified, and the catalog it came with accepted (refuse_unknown_checks).
    refuse_unknown_checks(inputs.project_dir, inputs.profiles, inputs.waivers, {*raw["check_ids"], *(check.id for check in [*inputs.graph_checks, *inputs.change_checks])})
    if cache is not None:
        for stack_scan in planned:
            stack_scan.store(answers, cache)
    exported = sum(len(stack.plan["planned_values"]["root_module"]["resources"]) + len(stack.manifests) for stack in stacks)
    raw["stats"] = ScanStats(
        exported, sum(stack_scan.scanned_resources for stack_scan in planned), cache.hits if cache else 0, cache.misses if cache else 0
    )
    return raw


def _judge(session: CheckovSession, inputs: PolicyInputs, stacks: list[StackArtifacts], options: ScanOptions) -> GateReport:
    raw = _scan(session, inputs, stacks, options)
    results = []
    for stack in stacks:
        ids = display_ids(stack)
        found = [*raw["scans"][stack.environment]["results"], *_graph_results(stack, ids, inputs.profiles[stack.environment])]
        results.append(StackResult(stack.environment, stack.spec.source, _findings(stack, ids, found, inputs.profiles[stack.environment], inputs.waivers)))
    return GateReport(results, inputs.catalog, raw["checkov_version"], raw["stats"])
