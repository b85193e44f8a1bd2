"""The policy gate: build stacks, scan them with checkov, and judge the findings by profile and waiver.

A failed check is a violation when the stack's profile makes it mandatory and no live waiver covers it.
Profiles live in `policies/profiles/<env>.yaml`, waivers in `policies/waivers.yaml`; both are validated
before anything runs, and an expired waiver, or one without a reason, is an input error.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from aiplane.build import StackBuild, build_stack
from aiplane.errors import InputError, describe_validation_error
from aiplane.export.terraform import address, is_exported
from aiplane.graph import GraphResource
from aiplane.policy.catalog import CheckInfo, load_catalog
from aiplane.policy.scanner import CheckovSession, EngineError, Scan
from aiplane.spec import Model, RetentionMinimums, display_path, known_stacks, read_yaml
from aiplane.tagging import TENANT_TAG

# The component that holds a tenant's boundary, named `tenant-<name>` by the platform.
TENANT_COMPONENT = "aiplane:tenant:TenantBoundary"
TENANT_COMPONENT_PREFIX = "tenant-"

CheckPattern = str  # an exact id (CKV_AWS_39) or a prefix ending in "_" (CKV_AWS_, AIP_)
Severity = Literal["mandatory", "advisory"]


class AdvisoryEntry(Model):
    check: CheckPattern = Field(pattern=r"^[A-Z0-9_]+$")
    reason: str = Field(min_length=10, description="Why this check only advises in this environment.")


class Profile(Model):
    description: str = Field(min_length=1)
    mandatory: list[CheckPattern] = Field(description="Check ids or id prefixes (ending in _) that block a deploy.")
    advisory: list[AdvisoryEntry] = Field(default_factory=list)
    minimum_retention_days: RetentionMinimums = Field(
        default_factory=RetentionMinimums, description="Floors for the stack's metrics and log retention, checked when it loads."
    )

    def classify(self, check_id: str) -> tuple[Severity, str | None]:
        """The most specific matching entry decides; an exact id beats any prefix. Unmatched: advisory."""
        candidates: list[tuple[int, Severity, str | None]] = []
        for pattern in self.mandatory:
            if _matches(pattern, check_id):
                candidates.append((_specificity(pattern, check_id), "mandatory", None))
        for entry in self.advisory:
            if _matches(entry.check, check_id):
                candidates.append((_specificity(entry.check, check_id), "advisory", entry.reason))
        if not candidates:
            return "advisory", "not listed in the profile"
        _, severity, reason = max(candidates, key=lambda candidate: (candidate[0], candidate[1] == "advisory"))
        return severity, reason


def _matches(pattern: str, check_id: str) -> bool:
    return check_id == pattern or (pattern.endswith("_") and check_id.startswith(pattern))


def _specificity(pattern: str, check_id: str) -> int:
    return 10_000 if pattern == check_id else len(pattern)


class Waiver(Model):
    check: str = Field(pattern=r"^[A-Z0-9_]+$")
    resource: str = Field(min_length=1, description="Glob on the resource address, e.g. aws_eks_cluster.cluster-*")
    stacks: list[str] = Field(min_length=1)
    reason: str = Field(min_length=20, description="Why the risk is accepted; reviewed like code.")
    owner: str = Field(min_length=1)
    expires: date

    def covers(self, check_id: str, resource: str, stack: str) -> bool:
        return self.check == check_id and stack in self.stacks and fnmatch.fnmatchcase(resource, self.resource)


class WaiverFile(Model):
    waivers: list[Waiver] = Field(default_factory=list)


def load_profile(project_dir: Path, environment: str) -> Profile:
    path = project_dir / "policies" / "profiles" / f"{environment}.yaml"
    if not path.is_file():
        raise InputError(f"{display_path(path)}: no policy profile for stack {environment!r}")
    return _validated(path, Profile)


def load_waivers(project_dir: Path, stacks: list[str], today: date) -> list[Waiver]:
    path = project_dir / "policies" / "waivers.yaml"
    if not path.is_file():
        return []
    waivers = _validated(path, WaiverFile).waivers
    source = display_path(path)
    problems = []
    known = set(known_stacks(project_dir / "stacks"))
    for index, waiver in enumerate(waivers):
        if waiver.expires < today:
            problems.append(f"{source}: waivers[{index}].expires: {waiver.expires.isoformat()} has passed; renew or remove the waiver")
        for stack in waiver.stacks:
            if stack not in known:
                problems.append(f"{source}: waivers[{index}].stacks: {stack!r} is not a stack of this project")
    if problems:
        raise InputError(problems)
    return waivers


def _validated(path: Path, model: type[Model]):
    data = read_yaml(path)
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise InputError(describe_validation_error(display_path(path), error)) from None


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
    source_file: str
    source_line: int
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


@dataclass
class GateReport:
    stacks: list[StackResult]
    catalog: list[CheckInfo]
    checkov_version: str

    @property
    def findings(self) -> list[Finding]:
        return [finding for stack in self.stacks for finding in stack.findings]

    @property
    def exit_code(self) -> int:
        return 1 if any(finding.violation for finding in self.findings) else 0


def _resource_index(build: StackBuild) -> dict[str, GraphResource]:
    index = {address(resource): resource for resource in build.graph.resources if is_exported(resource)}
    by_urn = {resource.urn: resource for resource in build.graph.resources}
    index.update({manifest.checkov_id: by_urn[manifest.urn] for manifest in build.manifests})
    return index


def _tenant_of(build: StackBuild, resource: GraphResource | None, tags: Any) -> str | None:
    """The tenant a finding concerns: an AWS resource's tenant tag, else the tenant whose boundary built it,
    else (Kubernetes objects carry no tags) the tenant whose namespace the object is in."""
    if isinstance(tags, dict) and tags.get(TENANT_TAG):
        return tags[TENANT_TAG]
    if resource is None:
        return None
    tenants = {tenant.name for tenant in build.spec.tenants}
    owner = build.graph.owning_component(resource)
    while owner is not None:
        if owner.type == TENANT_COMPONENT and owner.name.removeprefix(TENANT_COMPONENT_PREFIX) in tenants:
            return owner.name.removeprefix(TENANT_COMPONENT_PREFIX)
        owner = build.graph.owning_component(owner)
    metadata = resource.inputs.get("metadata") if resource.type.startswith("kubernetes:") else None
    if isinstance(metadata, dict):
        namespace = metadata.get("name") if resource.inputs.get("kind") == "Namespace" else metadata.get("namespace")
        if namespace in tenants:
            return namespace
    return None


def _findings(build: StackBuild, results: list[dict], profile: Profile, waivers: list[Waiver]) -> list[Finding]:
    index = _resource_index(build)
    findings = []
    for result in results:
        if result["result"] not in ("PASSED", "FAILED"):
            continue
        resource = index.get(result["resource"])
        owner = build.graph.owning_component(resource) if resource else None
        tags = (resource.inputs.get("tags") or {}) if resource else {}
        # Point at the code a user edits: the line that built the resource, else the stack file itself.
        source_file, line = (resource.source.rsplit(":", 1) if resource and resource.source else (build.spec.source, "1"))
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
                tenant=_tenant_of(build, resource, tags),
                source_file=source_file,
                source_line=int(line),
                guideline=result.get("guideline"),
                waiver=waiver if result["result"] == "FAILED" else None,
            )
        )
    return sorted(findings, key=lambda f: (f.stack, f.component, f.tenant or "", f.check_id, f.resource))


def run_gate(project_dir: Path, environments: list[str], today: date | None = None) -> GateReport:
    today = today or date.today()
    profiles = {environment: load_profile(project_dir, environment) for environment in environments}
    waivers = load_waivers(project_dir, environments, today)
    checks_dir = project_dir / "policies" / "checks"
    catalog = load_catalog(checks_dir)
    session = CheckovSession(project_dir)  # imports checkov while the stacks synthesize
    try:
        builds = {environment: build_stack(project_dir, environment) for environment in environments}
        scans = [
            Scan(environment, plan=build.tfplan, manifests=build.manifests_dir if build.manifests else None)
            for environment, build in builds.items()
        ]
        raw = session.run(scans, checks_dir, {check.id for check in catalog})
    finally:
        session.abandon()
    for environment, build in builds.items():
        if build.graph.custom_resources and not raw["scans"][environment]["results"]:
            raise EngineError(f"checkov reported no result at all for stack {environment}; refusing to call that a pass")
    stacks = [
        StackResult(
            environment,
            build.spec.source,
            _findings(build, raw["scans"][environment]["results"], profiles[environment], waivers),
        )
        for environment, build in builds.items()
    ]
    return GateReport(stacks, catalog, raw["checkov_version"])
