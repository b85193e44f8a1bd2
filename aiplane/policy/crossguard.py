"""The gate as a CrossGuard stack policy: what the Pulumi engine runs on `pulumi preview/up --policy-pack
policies/pack` (and on every update where Pulumi Cloud enforces the pack for an organization).

The engine hands the pack the stack's resources; `aiplane.synth.analyzer` turns them into the graph the
offline engine produces, and from there it is `aiplane check`: the same export, the same checkov worker
(`.venv-checkov` or `$AIPLANE_CHECKOV`), the same aiplane checks, profile and waivers. Each unwaived
finding is one violation on its resource's URN.

pulumi-policy gives an enforcement level to a policy, not to a violation, so the pack has two policies
over one judgement: `aiplane-gate` (mandatory) reports what the stack's profile makes mandatory,
`aiplane-gate-advisory` (advisory) what it makes advisory. Anything that stops the gate from judging (no
checkov, a stack file that does not validate, a resource type the export does not know) is a mandatory
violation that says why: the pack fails closed exactly as `aiplane check` does.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiplane.artifacts import render_artifacts, write_artifacts
from aiplane.files import read_yaml
from aiplane.loader import STACKS_FOLDER, load_stack
from aiplane.policy.gate import Finding, check_stacks, display_ids
from aiplane.synth.analyzer import AnalyzedResource, graph_of_analyzed

PACK_NAME = "aiplane"
MANDATORY_POLICY = "aiplane-gate"
ADVISORY_POLICY = "aiplane-gate-advisory"
PROJECT_DIR_VARIABLE = "AIPLANE_PROJECT_DIR"  # as for the CLI's --project-dir
Level = Literal["mandatory", "advisory"]


@dataclass(frozen=True)
class PackViolation:
    level: Level
    message: str
    urn: str | None  # None: the stack as a whole (the gate could not judge it)
    check_id: str | None = None


@dataclass(frozen=True)
class Judgement:
    stack: str
    violations: tuple[PackViolation, ...]
    not_applicable: str | None = None  # why the stack is none of this pack's business (another project's)

    def at(self, level: Level) -> list[PackViolation]:
        return [violation for violation in self.violations if violation.level == level]


def violation_message(finding: Finding) -> str:
    lines = [f"{finding.check_id} on {finding.resource}: {finding.check_name}"]
    if finding.guideline:
        lines.append(f"guideline: {finding.guideline}")
    lines.append(f"configured by {finding.stack_file} {finding.stack_field} (line {finding.stack_line})")
    lines.append(f"`aiplane check --stack {finding.stack}` reports it offline; a waiver goes in policies/waivers.yaml")
    return "\n".join(lines)


def pack_project_dir(pack_dir: Path) -> Path | None:
    """The project whose stacks the pack judges: `$AIPLANE_PROJECT_DIR`, else the project the pack sits in
    (`policies/pack`), else the working directory; None when none of them holds a Pulumi.yaml (a pack
    installed from Pulumi Cloud, run without the variable)."""
    override = os.environ.get(PROJECT_DIR_VARIABLE)
    candidates = [Path(override)] if override else [pack_dir.parent.parent, Path.cwd()]
    return next((candidate.resolve() for candidate in candidates if (candidate / "Pulumi.yaml").is_file()), None)


def judge(project_dir: Path | None, resources: Sequence[AnalyzedResource]) -> Judgement:
    """The gate's verdict on the stack the engine handed, as the pack's violations."""
    stack = "(unknown)"
    try:
        graph = graph_of_analyzed(resources)
        stack = graph.stack
        if project_dir is None:
            raise ValueError(f"no aiplane project found beside the pack nor in the working directory; set {PROJECT_DIR_VARIABLE}")
        project = read_yaml(project_dir / "Pulumi.yaml").get("name")
        if graph.project != project:
            return Judgement(stack, (), f"a stack of project {graph.project}; this pack judges project {project} ({project_dir})")
        spec = load_stack(stack, project_dir / STACKS_FOLDER)
        with tempfile.TemporaryDirectory(prefix="aiplane-pack-") as scratch:
            written = write_artifacts(render_artifacts(spec, graph), Path(scratch))
            report = check_stacks(project_dir, [written])
            urns = {display: urn for urn, display in display_ids(written).items()}
    except Exception as error:  # noqa: BLE001 - fail closed: whatever stops the gate blocks the deploy, and says why
        reason = str(error).strip().replace("\n", "; ") or type(error).__name__
        return Judgement(stack, (PackViolation("mandatory", f"the aiplane gate could not judge stack {stack}: {reason}", None),))
    violations = [
        PackViolation("mandatory" if finding.status == "violation" else "advisory", violation_message(finding), urns.get(finding.resource),
                      finding.check_id)
        for finding in report.findings
        if finding.status in ("violation", "advisory")
    ]
    return Judgement(stack, tuple(violations))


class JudgementCache:
    """Both policies read one judgement: the engine calls them one after the other with the same resources,
    and a gate run (checkov included) is tens of seconds."""

    def __init__(self, project_dir: Path | None):
        self.project_dir = project_dir
        self._last: tuple[str, Judgement] | None = None

    def __call__(self, resources: Sequence[AnalyzedResource]) -> Judgement:
        try:
            key = hashlib.sha256(graph_of_analyzed(resources).to_json().encode()).hexdigest()
        except Exception:  # noqa: BLE001 - unreadable: judge() says why, every time
            return judge(self.project_dir, resources)
        if self._last is None or self._last[0] != key:
            self._last = (key, judge(self.project_dir, resources))
        return self._last[1]


def stack_policies(project_dir: Path | None) -> list[Any]:
    """The pack's two pulumi_policy StackValidationPolicy objects, judging stacks of `project_dir`."""
    from pulumi_policy import EnforcementLevel, StackValidationPolicy

    judged = JudgementCache(project_dir)

    def validator(level: Level) -> Callable[[Any, Callable[[str, str | None], None]], None]:
        def validate(args: Any, report_violation: Callable[[str, str | None], None]) -> None:
            judgement = judged(args.resources)
            if judgement.not_applicable:
                args.not_applicable(judgement.not_applicable)
            for violation in judgement.at(level):
                report_violation(violation.message, violation.urn)

        return validate

    return [
        StackValidationPolicy(
            name=MANDATORY_POLICY,
            description="aiplane's policy gate: a check the stack's profile makes mandatory failed, and no waiver covers it.",
            validate=validator("mandatory"),
            enforcement_level=EnforcementLevel.MANDATORY,
            remediation_steps="Fix what the stack file's named section configures, or waive the finding in policies/waivers.yaml "
                              "with a reason and an expiry; `aiplane check --stack STACK` shows the same findings offline (docs/policies.md).",
        ),
        StackValidationPolicy(
            name=ADVISORY_POLICY,
            description="aiplane's policy gate: a check the stack's profile makes advisory failed.",
            validate=validator("advisory"),
            enforcement_level=EnforcementLevel.ADVISORY,
        ),
    ]
