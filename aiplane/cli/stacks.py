"""Commands on one stack's synthesis: `plan`, `capacity`, `cost`, and `schema` for its file format."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from aiplane.cli.app import StackOption, WideOption, named_output, project_dir, stderr, stdout
from aiplane.cli.render import (
    component_tree,
    cost_tables,
    pool_table,
    print_capacity,
    print_types,
    token_price_table,
)
from aiplane.files import display_path
from aiplane.terminal import plural, show_table


def plan(
    stack: StackOption,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: build/STACK.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Run the policy gate on what was written, as `aiplane check` does.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print summary.json instead (with --check, the gate's JSON report under `policy`).")
    ] = False,
    wide: WideOption = False,
) -> None:
    """Synthesize a stack offline (no cloud account, no Pulumi CLI); write its graph and its exports.

    A short summary comes first (resources, cost, GPU pools, the policy result with --check, where the
    files went, what to run next), the detail below. Exit 0, or with --check the gate's exit code.
    """
    from aiplane.artifacts import plan_stack

    target = named_output(out, "--out", folder=True) if out is not None else None
    started = time.perf_counter()
    with stderr.status(f"Synthesizing stack {stack} under Pulumi's mocks runtime…", spinner="dots"):
        built = plan_stack(project_dir(), stack, target)
    elapsed = time.perf_counter() - started
    report = None
    if check:
        from aiplane.policy.gate import check_stacks

        with stderr.status(f"Checking stack {stack} with checkov…", spinner="dots"):
            report = check_stacks(project_dir(), [built])
    spec, summary, out_dir = built.spec, built.summary, built.out_dir
    if as_json:
        from aiplane.policy.report import render_json

        document = dict(summary) if report is None else {**summary, "policy": json.loads(render_json(report))}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        raise typer.Exit(0 if report is None else report.exit_code)

    stdout.print(f"[bold]aiplane plan[/bold] · stack [bold]{stack}[/bold] · {spec.region} · from {spec.source}")
    stdout.print(
        f"Resources: [green]+ {summary['total']} to create[/green] "
        f"in {len(summary['components'])} components · synthesized in {elapsed:.1f}s"
    )
    cost = summary["cost"]
    stdout.print(
        f"Estimated cost: [bold]{cost['total']:,.2f} USD/month[/bold] (prices of {cost['priceDate']}, GPU instances of "
        f"{cost['instancePriceDate']}; `aiplane cost --stack {stack}` for the lines)", soft_wrap=True,
    )
    if spec.compute_plan.pools:
        pools = ", ".join(
            f"{pool.pool} {pool.min_nodes}/{pool.desired_nodes}/{pool.max_nodes} × {pool.instance_types[0]}" for pool in spec.compute_plan.pools
        )
        stdout.print(f"GPU pools (nodes min/desired/max): {pools}", markup=False, soft_wrap=True)
    if report is not None:
        stack_result = report.stacks[0]
        verdict = "blocked" if report.exit_code else "passes"
        stdout.print(
            f"Policy: {stack_result.count('passed')} passed, {plural(stack_result.count('violation'), 'violation')}, "
            f"{stack_result.count('advisory')} advisory, "
            f"{stack_result.count('waived')} waived · {verdict}",
            markup=False, soft_wrap=True,
        )
    # Each summary line is one line whatever the terminal width: scripts and CI logs grep for them.
    stdout.print(
        f"Wrote graph.json, summary.json, tfplan.json and k8s/ ({len(built.manifests)} manifests) to {display_path(out_dir)}", soft_wrap=True
    )
    following = [] if report is not None else [f"`aiplane check --stack {stack}` (the policy gate)"]
    following += [f"`aiplane diff --stack {stack}` (against the default branch)", f"`aiplane preflight --stack {stack}` (GPU capacity)"]
    stdout.print(f"Next: {', '.join(following)}", markup=False, soft_wrap=True)
    stdout.print()
    stdout.print(component_tree(summary))
    print_types(stdout, summary, wide)
    if spec.platform.compute.pools:
        show_table(stdout, pool_table(spec.compute_plan), wide=wide)
        print_capacity(stdout, spec.compute_plan, wide)
    if report is not None:
        from aiplane.policy.report import render_cli

        render_cli(report, stdout, wide)
        raise typer.Exit(report.exit_code)


def print_capacity_plan(stack: str, as_json: bool, wide: bool) -> None:
    """`aiplane capacity --stack S` (the command group's own command, in aiplane.cli.capacity)."""
    from aiplane.loader import load_stack

    spec = load_stack(stack, project_dir() / "stacks")
    plan = spec.compute_plan
    if as_json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
        return
    stdout.print(f"[bold]aiplane capacity[/bold] · stack [bold]{stack}[/bold] · from {spec.source}")
    if not plan.pools:
        stdout.print("No GPU pools in this stack (aiplane:platform.compute.pools).")
        return
    show_table(stdout, pool_table(plan), wide=wide)
    print_capacity(stdout, plan, wide)
    stdout.print(
        "Scenarios: nominal = half the peak; peak = the stack's figure; incident = 1.3× the peak (retries) plus one "
        "node lost. Formulas: docs/capacity.md."
    )


def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: schemas/ in the project.")] = None,
) -> None:
    """Write JSON Schemas for stack files and blueprint files (for editors and CI)."""
    from aiplane.files import writing_output
    from aiplane.schema import write_schemas

    target = named_output(out, "--out", folder=True) if out is not None else project_dir() / "schemas"
    with writing_output(target, "--out" if out is not None else None):
        written = write_schemas(target)
    for path in written:
        stdout.print(f"Wrote {display_path(path)}")


def cost(
    stack: StackOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
    wide: WideOption = False,
) -> None:
    """Estimate a stack's monthly cost from what it synthesizes: per component, per tenant and in all, with the
    date of the prices used."""
    from aiplane.cost import estimate
    from aiplane.synth.engine import synthesize_stack

    with stderr.status(f"Synthesizing stack {stack}…", spinner="dots"):
        spec, graph = synthesize_stack(project_dir(), stack)
    result = estimate(spec, graph)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    for table in cost_tables(result, stack):
        show_table(stdout, table, wide=wide)
    if result.served_usd_per_token:
        show_table(stdout, token_price_table(result, stack), wide=wide)
    stdout.print(f"Total: [bold]{result.total:,.2f} USD/month[/bold] · prices of {result.price_date.isoformat()} "
                 f"(GPU instances {result.instance_price_date.isoformat()}), us-east-1 list prices, 730 hours a month")
    for item in result.not_estimated:
        stdout.print(f"Not estimated: {item}", markup=False)
