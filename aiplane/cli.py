"""The `aiplane` command line.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, naming file, field and value);
3 an internal failure (`--debug` shows the traceback).
"""
from __future__ import annotations

import functools
import io
import os
import sys
import time
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from aiplane.errors import AiplaneError, InputError
from aiplane.spec import display_path

if TYPE_CHECKING:
    from aiplane.compute import ComputePlan

INTERNAL_ERROR_EXIT = 3

app = typer.Typer(
    name="aiplane",
    help="AI infrastructure as code: synthesize aiplane stacks offline and check them against policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    debug = False
    project_dir: Path | None = None


def find_project_dir(start: Path) -> Path:
    for directory in [start, *start.parents]:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise InputError(f"--project-dir: no Pulumi.yaml in {start} or above it; run from an aiplane project or pass --project-dir")


def project_dir() -> Path:
    if State.project_dir is not None:
        if not (State.project_dir / "Pulumi.yaml").is_file():
            raise InputError(f"--project-dir: {str(State.project_dir)!r} holds no Pulumi.yaml")
        return State.project_dir.resolve()
    return find_project_dir(Path.cwd().resolve())


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn aiplane's errors into one line per problem and an exit code; never a traceback unless --debug."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except AiplaneError as error:
            if State.debug:
                traceback.print_exc()
            for line in str(error).splitlines():
                stderr.print(line, markup=False)
            raise typer.Exit(error.exit_code) from None
        except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
            if State.debug:
                traceback.print_exc()
            message = " ".join(str(error).split()) or type(error).__name__
            stderr.print(f"aiplane: internal error: {type(error).__name__}: {message} (rerun with --debug for details)", markup=False)
            raise typer.Exit(INTERNAL_ERROR_EXIT) from None

    return wrapper


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    project: Annotated[
        Path | None,
        typer.Option("--project-dir", envvar="AIPLANE_PROJECT_DIR", help="The project (the folder with Pulumi.yaml). Default: found from the working directory."),
    ] = None,
) -> None:
    State.debug = debug
    State.project_dir = project


StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack (environment) name: reads stacks/Pulumi.STACK.yaml.")]


@app.command()
@reports_errors
def plan(
    stack: StackOption,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: build/STACK.")] = None,
) -> None:
    """Synthesize a stack offline (no cloud account, no Pulumi CLI); write its graph and its exports."""
    from aiplane.build import build_stack

    started = time.perf_counter()
    with stderr.status(f"Synthesizing stack {stack} under Pulumi's mocks runtime…", spinner="dots"):
        built = build_stack(project_dir(), stack, out)
    elapsed = time.perf_counter() - started
    spec, summary, out_dir = built.spec, built.summary, built.out_dir

    stdout.print(f"[bold]aiplane plan[/bold] · stack [bold]{stack}[/bold] · {spec.region} · from {spec.source}")
    stdout.print(component_tree(summary))
    stdout.print(type_table(summary))
    if spec.platform.compute.pools:
        stdout.print(pool_table(spec.platform.compute.plan))
        stdout.print(capacity_table(spec.platform.compute.plan))
    stdout.print(
        f"Resources: [green]+ {summary['total']} to create[/green] "
        f"in {len(summary['components'])} components · synthesized in {elapsed:.1f}s"
    )
    # One line whatever the terminal width: scripts and CI logs grep for it.
    stdout.print(
        f"Wrote graph.json, summary.json, tfplan.json and k8s/ ({len(built.manifests)} manifests) to {display_path(out_dir)}", soft_wrap=True
    )


def component_tree(summary: dict[str, Any]) -> Tree:
    tree = Tree(f"[bold]pulumi:pulumi:Stack[/bold] {summary['project']}-{summary['stack']}")
    nodes: dict[str | None, Tree] = {}
    components = sorted(summary["components"], key=lambda item: item["urn"].count("$"))
    for component in components:
        parent = nodes.get(component["parent"], tree)
        node = parent.add(f"[bold]{component['name']}[/bold] ({component['type']}) · {component['total']} resources")
        for type_, count in component["byType"].items():
            node.add(f"{type_} × {count}")
        nodes[component["urn"]] = node
    for type_, count in summary["outsideComponents"].items():
        tree.add(f"{type_} × {count}")
    return tree


def type_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Resources by type", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, count in summary["byType"].items():
        table.add_row(type_, str(count))
    table.add_section()
    table.add_row("[bold]total[/bold]", f"[bold]{summary['total']}[/bold]")
    return table


def pool_table(plan: ComputePlan) -> Table:
    table = Table(title="GPU pools", title_justify="left")
    for column in ("pool", "profile", "instance types", "nodes min / desired / max", "sized by"):
        table.add_column(column)
    for pool in plan.pools:
        sizes = f"{pool.min_nodes} / {pool.desired_nodes} / {pool.max_nodes}"
        table.add_row(pool.pool, pool.profile, ", ".join(pool.instance_types), sizes, pool.sized_by)
    return table


def capacity_table(plan: ComputePlan) -> Table:
    table = Table(title="Capacity plan per served model", title_justify="left")
    table.add_column("model", no_wrap=True)
    table.add_column("scenario", no_wrap=True)
    for column in ("conc.", "TP", "batch", "replicas", "nodes", "GPUs", "VRAM GiB", "tok/s", "TPOT ms", "TTFT ms", "latency s", "headroom"):
        table.add_column(column, justify="right")
    for pool in plan.pools:
        for model in pool.models:
            for scenario in model.scenarios:
                table.add_row(
                    f"{model.model} ({pool.pool})" if scenario.scenario == "nominal" else "", scenario.scenario,
                    str(scenario.concurrency), str(scenario.tensor_parallel), str(scenario.batch_per_replica),
                    str(scenario.replicas), str(scenario.nodes), str(scenario.gpus), f"{scenario.vram_needed_gib:.0f}",
                    f"{scenario.output_tokens_per_s_per_replica:.0f}", f"{scenario.time_per_output_token_ms:.1f}",
                    f"{scenario.time_to_first_token_ms:.0f}", f"{scenario.request_latency_s:.2f}", f"{scenario.headroom:.0%}",
                )
            table.add_section()
    return table


@app.command()
@reports_errors
def capacity(
    stack: StackOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON (as in summary.json).")] = False,
) -> None:
    """Size GPU pools from traffic: per served model and scenario (nominal, peak, incident), the VRAM,
    tensor parallelism, tokens/s, replicas, nodes and headroom. Reads the stack file; deploys nothing."""
    import json

    from aiplane.spec import load_stack

    spec = load_stack(stack, project_dir() / "stacks")
    plan = spec.platform.compute.plan
    if as_json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
        return
    stdout.print(f"[bold]aiplane capacity[/bold] · stack [bold]{stack}[/bold] · from {spec.source}")
    if not plan.pools:
        stdout.print("No GPU pools in this stack (aiplane:platform.compute.pools).")
        return
    stdout.print(pool_table(plan))
    stdout.print(capacity_table(plan))
    stdout.print(
        "Scenarios: nominal = half the peak; peak = the stack's figure; incident = 1.3× the peak (retries) plus one "
        "node lost. Formulas: docs/capacity.md."
    )


class ReportFormat(str, Enum):
    cli = "cli"
    json = "json"
    sarif = "sarif"
    junitxml = "junitxml"


@app.command()
@reports_errors
def check(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack to check; repeat for several.")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Check every stack in stacks/.")] = False,
    report_format: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.cli,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file instead of stdout.")] = None,
) -> None:
    """Policy gate: run checkov (built-in AWS/Kubernetes checks and aiplane's) on what stacks synthesize.

    Exit 0: no unwaived mandatory failure; 1: violations; 2: bad input; 3: the engine failed.
    """
    from aiplane.files import write_text_atomic
    from aiplane.policy.gate import run_gate
    from aiplane.policy.report import render_cli, render_json, render_junit, render_sarif
    from aiplane.spec import known_stacks

    root_dir = project_dir()
    if bool(stack) == all_stacks:
        raise InputError("--stack/--all: give one or more --stack names, or --all")
    environments = known_stacks(root_dir / "stacks") if all_stacks else list(dict.fromkeys(stack or []))
    with stderr.status(f"Checking {', '.join(environments)} with checkov…", spinner="dots"):
        report = run_gate(root_dir, environments)
    if report_format is ReportFormat.cli:
        console = Console(file=io.StringIO(), width=160, highlight=False) if output else stdout
        render_cli(report, console)
        text = console.file.getvalue() if output else None
    else:
        text = {ReportFormat.json: render_json, ReportFormat.sarif: render_sarif, ReportFormat.junitxml: render_junit}[
            report_format
        ](report)
    if output:
        write_text_atomic(output, text)
        stderr.print(f"Wrote {display_path(output)}", markup=False)
    elif text is not None:
        sys.stdout.write(text)
    raise typer.Exit(report.exit_code)


@app.command()
@reports_errors
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: schemas/ in the project.")] = None,
) -> None:
    """Write JSON Schemas for stack files and blueprint files (for editors and CI)."""
    from aiplane.schema import write_schemas

    target = out if out is not None else project_dir() / "schemas"
    for path in write_schemas(target):
        stdout.print(f"Wrote {display_path(path)}")


def main() -> None:
    # Rich would otherwise wrap lines at 80 columns when not on a terminal (CI logs, pipes).
    if not sys.stdout.isatty():
        stdout.width = max(stdout.width, int(os.environ.get("COLUMNS", "120")))
    app()


if __name__ == "__main__":
    main()
