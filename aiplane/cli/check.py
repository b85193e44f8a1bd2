"""`aiplane check`: the policy gate on one or more stacks, reported for a terminal, JSON, SARIF or JUnit XML."""
from __future__ import annotations

import io
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aiplane.cli.app import WideOption, named_output, project_dir, stderr, stdout
from aiplane.errors import InputError
from aiplane.files import display_path


class ReportFormat(str, Enum):
    cli = "cli"
    json = "json"
    sarif = "sarif"
    junitxml = "junitxml"


def check(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack to check; repeat for several.")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Check every stack in stacks/.")] = False,
    report_format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.cli,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file instead of stdout.")] = None,
    wide: WideOption = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Scans to run at once (default: $AIPLANE_JOBS, else one per core).")
    ] = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="Answer unchanged resources from .aiplane-cache/ (results are the same either way).")
    ] = True,
) -> None:
    """Policy gate: run checkov (built-in AWS/Kubernetes checks and aiplane's) on what stacks synthesize.

    Exit 0: no unwaived mandatory failure; 1: violations; 2: bad input; 3: the engine failed.
    """
    from aiplane.files import write_text_atomic, writing_output
    from aiplane.loader import known_stacks
    from aiplane.policy.gate import ScanOptions, run_gate
    from aiplane.policy.report import (
        render_cli,
        render_json,
        render_junit,
        render_sarif,
    )

    root_dir = project_dir()
    if bool(stack) == all_stacks:
        raise InputError("--stack/--all: give one or more --stack names, or --all")
    if output is not None:
        named_output(output, "--output", folder=False)
    environments = known_stacks(root_dir / "stacks") if all_stacks else list(dict.fromkeys(stack or []))
    with stderr.status(f"Checking {', '.join(environments)} with checkov…", spinner="dots"):
        report = run_gate(root_dir, environments, options=ScanOptions(jobs=jobs, cache=cache))
    if report.scan.cache_hits:
        stderr.print(
            f"checkov scanned {report.scan.scanned:,} of {report.scan.exported:,} resources; "
            f"the cache in .aiplane-cache/ answered for the rest",
            markup=False,
        )
    if report_format is ReportFormat.cli:
        console = Console(file=io.StringIO(), width=160, highlight=False) if output else stdout
        render_cli(report, console, wide)
        text = console.file.getvalue() if output else None
    else:
        text = {ReportFormat.json: render_json, ReportFormat.sarif: render_sarif, ReportFormat.junitxml: render_junit}[
            report_format
        ](report)
    if output:
        with writing_output(output, "--output"):
            write_text_atomic(output, text)
        stderr.print(f"Wrote {display_path(output)}", markup=False)
    elif text is not None:
        sys.stdout.write(text)
    raise typer.Exit(report.exit_code)


