"""`aiplane preview`, `aiplane up` and `aiplane destroy`: the gate and pre-flight first, Pulumi second.

Before anything is sent to Pulumi, the stack file is validated, the GPU pools' pre-flight asks AWS whether
they can launch, and the policy gate judges what the stack synthesizes; when either blocks, Pulumi is
never called. Then the Automation API runs the Pulumi CLI on this project (its `Pulumi.yaml`, its stack
files, its `__main__.py`: what `pulumi up` would run), with the CrossGuard pack attached, so the engine
judges the same rules again on what it is about to deploy. Pulumi's output streams through as it comes.

`destroy` deploys nothing, so neither pre-flight nor the gate has anything to judge; it only validates
the stack file and asks for a confirmation. Stateful resources in prod stay `protect`ed by Pulumi.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiplane.errors import AiplaneError
from aiplane.loader import load_stack
from aiplane.policy.gate import GateReport, run_gate
from aiplane.preflight import Check, Clients, exit_code, run_preflight

Operation = Literal["preview", "up", "destroy"]
PACK_FOLDER = Path("policies") / "pack"
PULUMI_INSTALL = "https://www.pulumi.com/docs/iac/download-install/"


class PulumiMissing(AiplaneError):
    """No Pulumi CLI to hand the stack to. Exit 2."""


class DeployRefused(AiplaneError):
    """Pre-flight or the gate blocks the stack; Pulumi was not called. Exit 1."""

    exit_code = 1


class PulumiFailed(AiplaneError):
    """The Pulumi CLI ran and failed (its own output said why). Exit 1."""

    exit_code = 1


@dataclass(frozen=True)
class Cleared:
    """What let a stack through to Pulumi."""

    preflight: list[Check]
    report: GateReport | None


def pulumi_executable() -> str:
    """The Pulumi CLI on PATH, found without running it (a refused stack must not call Pulumi at all)."""
    found = shutil.which("pulumi")
    if found is None:
        raise PulumiMissing(
            f"the Pulumi CLI is not on PATH: install it ({PULUMI_INSTALL}, `curl -fsSL https://get.pulumi.com | sh`, or "
            "`brew install pulumi/tap/pulumi`), then `pulumi login` to a backend; `aiplane plan` and `aiplane check` need none of it"
        )
    return found


def clear_for_pulumi(
    project_dir: Path,
    stack: str,
    operation: Operation,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    on_preflight: Callable[[list[Check]], None] = lambda results: None,
    on_report: Callable[[GateReport], None] = lambda report: None,
) -> Cleared:
    """Validate, pre-flight and gate a stack for `operation`; raise DeployRefused when either blocks."""
    spec = load_stack(stack, project_dir / "stacks")
    pulumi_executable()
    if operation == "destroy":
        return Cleared([], None)
    results = run_preflight(spec, Clients(region or spec.region, endpoint_url))
    on_preflight(results)
    if exit_code(results):
        blocking = [f"{result.check} {result.subject}" for result in results if result.status == "blocking"]
        raise DeployRefused(f"{stack}: pre-flight blocks ({'; '.join(blocking)}); nothing was sent to Pulumi")
    report = run_gate(project_dir, [stack])
    on_report(report)
    if report.exit_code:
        count = sum(1 for finding in report.findings if finding.violation)
        raise DeployRefused(
            f"{stack}: the policy gate blocks ({count} violation{'s' if count != 1 else ''}); nothing was sent to Pulumi"
        )
    return Cleared(results, report)


def run_pulumi(project_dir: Path, stack: str, operation: Operation, on_output: Callable[[str], None]) -> None:
    """Run `pulumi preview|up|destroy` on the project's stack through the Automation API, the pack attached."""
    from pulumi import automation as auto

    pulumi_executable()
    try:
        workspace = auto.LocalWorkspace(work_dir=str(project_dir), pulumi_command=auto.PulumiCommand())
        selected = auto.Stack.select(stack, workspace)
        packs = [str(project_dir / PACK_FOLDER)]
        if operation == "preview":
            selected.preview(policy_packs=packs, on_output=on_output)
        elif operation == "up":
            selected.up(policy_packs=packs, on_output=on_output)
        else:
            selected.destroy(on_output=on_output)
    except auto.StackNotFoundError:
        raise PulumiFailed(
            f"the Pulumi backend has no stack {stack}: `pulumi stack init {stack}` creates it (stacks/Pulumi.{stack}.yaml stays as it is)"
        ) from None
    except auto.CommandError as error:
        raise PulumiFailed(f"pulumi {operation} on stack {stack} failed: {_last_words(str(error))}") from None


def _last_words(text: str) -> str:
    """The last line Pulumi wrote to stderr (its output has streamed already), else its exit code."""
    stderr = text.split("stderr:", 1)[1] if "stderr:" in text else ""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if lines:
        return lines[-1]
    code = re.search(r"code: (-?\d+)", text)
    return f"exit {code.group(1)}" if code else text.strip()
