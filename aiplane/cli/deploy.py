"""`aiplane preview`, `aiplane up`, `aiplane destroy`: Pulumi's own engine, behind pre-flight and the gate."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from aiplane.cli.app import StackOption, project_dir, stderr, stdout
from aiplane.errors import InputError
from aiplane.terminal import plural

EndpointOption = Annotated[str | None, typer.Option("--endpoint-url", help="Pre-flight: an AWS-compatible endpoint instead of AWS's own.")]
RegionOption = Annotated[str | None, typer.Option("--region", help="The region pre-flight asks (default: the stack's aws:region).")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for a confirmation (required where stdin is not a terminal).")]


def preview(stack: StackOption, endpoint_url: EndpointOption = None, region: RegionOption = None) -> None:
    """Pre-flight and the policy gate, then `pulumi preview` on the stack with the policy pack attached.

    Nothing is sent to Pulumi when pre-flight or the gate blocks (exit 1). Needs the Pulumi CLI, logged in
    to the stack's backend, and AWS credentials; `aiplane plan --check` is the offline equivalent."""
    _run(stack, "preview", endpoint_url, region, yes=True)


def up(stack: StackOption, endpoint_url: EndpointOption = None, region: RegionOption = None, yes: YesOption = False) -> None:
    """Pre-flight and the policy gate, then `pulumi up` on the stack with the policy pack attached.

    Nothing is sent to Pulumi when pre-flight or the gate blocks (exit 1); the Pulumi engine runs the pack
    again on what it is about to deploy."""
    _run(stack, "up", endpoint_url, region, yes)


def destroy(stack: StackOption, yes: YesOption = False) -> None:
    """`pulumi destroy` on the stack, after validating its stack file and a confirmation.

    Deploys nothing, so there is nothing for pre-flight or the gate to judge; resources created with
    `protect` (prod's stateful ones) stay until their protection is lifted."""
    _run(stack, "destroy", None, None, yes)


def _run(stack: str, operation, endpoint_url: str | None, region: str | None, yes: bool) -> None:
    from aiplane.deploy import clear_for_pulumi, run_pulumi
    from aiplane.policy.report import render_cli

    root = project_dir()
    if not yes and not sys.stdin.isatty():  # said before the gate runs, not after
        raise InputError(f"--yes: required to {operation} stack {stack} without a terminal to confirm on")

    def preflight_summary(results) -> None:
        counts = {status: sum(1 for result in results if result.status == status) for status in ("ok", "warning", "blocking")}
        stdout.print(f"Pre-flight: {counts['ok']} ok, {plural(counts['warning'], 'warning')}, {counts['blocking']} blocking", markup=False)
        for result in results:
            if result.status == "blocking":
                stdout.print(f"  blocking {result.check} {result.subject}: {result.detail}", markup=False, soft_wrap=True)

    def report_summary(report) -> None:
        if report.exit_code:
            render_cli(report, stdout)
        else:
            violations = sum(1 for finding in report.findings if finding.violation)
            passed = sum(1 for finding in report.findings if finding.status == "passed")
            stdout.print(f"Policy: {passed} passed, {plural(violations, 'violation')} · passes", markup=False)

    with stderr.status(f"Pre-flight and policy gate on stack {stack}…", spinner="dots"):
        clear_for_pulumi(root, stack, operation, region=region, endpoint_url=endpoint_url,
                         on_preflight=preflight_summary, on_report=report_summary)
    if not yes:
        typer.confirm(f"{operation} stack {stack} with Pulumi?", abort=True)
    stdout.print(f"pulumi {operation} · stack {stack} · policy pack policies/pack" if operation != "destroy" else f"pulumi destroy · stack {stack}",
                 markup=False)

    def echo(line: str) -> None:
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
        sys.stdout.flush()

    run_pulumi(root, stack, operation, echo)
