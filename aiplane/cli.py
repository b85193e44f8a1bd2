"""The `aiplane` command line.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, naming file, field and value);
3 an internal failure (`--debug` shows the traceback).
"""
from __future__ import annotations

import functools
import io
import json
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
    cost = summary["cost"]
    stdout.print(
        f"Estimated cost: [bold]{cost['total']:,.2f} USD/month[/bold] (prices of {cost['priceDate']}, GPU instances of "
        f"{cost['instancePriceDate']}; `aiplane cost --stack {stack}` for the lines)"
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


@app.command()
@reports_errors
def cost(
    stack: StackOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Estimate a stack's monthly cost from what it synthesizes: per component, per tenant and in all, with the
    date of the prices used."""
    from aiplane.cost import estimate
    from aiplane.engine import synthesize_stack

    with stderr.status(f"Synthesizing stack {stack}…", spinner="dots"):
        spec, graph = synthesize_stack(project_dir(), stack)
    result = estimate(spec, graph)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    for title, totals in (("component", result.by("component")), ("tenant", result.by("tenant"))):
        table = Table(title=f"Monthly cost by {title} · stack {stack}")
        table.add_column(title)
        table.add_column("USD/month", justify="right")
        for name, usd in totals.items():
            table.add_row(name, f"{usd:,.2f}")
        stdout.print(table)
    stdout.print(f"Total: [bold]{result.total:,.2f} USD/month[/bold] · prices of {result.price_date.isoformat()} "
                 f"(GPU instances {result.instance_price_date.isoformat()}), us-east-1 list prices, 730 hours a month")
    for item in result.not_estimated:
        stdout.print(f"Not estimated: {item}", markup=False)


@app.command()
@reports_errors
def preflight(
    stack: StackOption,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="An AWS-compatible endpoint instead of AWS's own.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Default: the stack's aws:region.")] = None,
) -> None:
    """Ask AWS, before deploying, whether the stack's GPU pools can launch: instance types offered in their
    zones, the catalog right, vCPU quotas with room, capacity reservations active, the EKS version supported.

    Exit 0: nothing blocks (warnings may remain); 1: a blocking finding; 2: bad input.
    """
    from aiplane.preflight import Clients, exit_code, run_preflight
    from aiplane.spec import load_stack

    spec = load_stack(stack, project_dir() / "stacks")
    with stderr.status(f"Asking AWS about stack {stack}…", spinner="dots"):
        results = run_preflight(spec, Clients(region or spec.region, endpoint_url))
    table = Table(title=f"Pre-flight · stack {stack} · {region or spec.region}")
    for column in ("check", "subject", "result", "detail"):
        table.add_column(column)
    colours = {"ok": "green", "warning": "yellow", "blocking": "red"}
    for result in results:
        table.add_row(result.check, result.subject, f"[{colours[result.status]}]{result.status}[/]", result.detail)
    stdout.print(table)
    counts = {status: sum(1 for result in results if result.status == status) for status in colours}
    stdout.print(f"{stack}: {counts['ok']} ok, {counts['warning']} warnings, {counts['blocking']} blocking")
    raise typer.Exit(exit_code(results))


# -- blueprints and tenants ------------------------------------------------------------------------------

blueprints_app = typer.Typer(help="Tenant blueprints: the deployment patterns a tenant can be onboarded with.", no_args_is_help=True)
tenant_app = typer.Typer(help="Onboard and offboard tenants: edit a stack file's aiplane:tenants safely.", no_args_is_help=True)
app.add_typer(blueprints_app, name="blueprints")
app.add_typer(tenant_app, name="tenant")


@blueprints_app.command("list")
@reports_errors
def blueprints_list() -> None:
    """List the blueprints: pattern, what it is best for, GPUs, isolation and estimated monthly cost at its defaults."""
    from aiplane.blueprint import Tenant, load_blueprints
    from aiplane.cost import load_prices, tenant_monthly_estimate
    from aiplane.tenancy import default_plan

    table = Table(title="Blueprints (blueprints/)", show_lines=True)
    for column in ("pattern", "best for", "GPUs", "isolation", "USD/month at defaults"):
        table.add_column(column, justify="left" if column in ("pattern", "best for", "isolation") else "right", no_wrap=column == "pattern")
    for name, blueprint in load_blueprints(project_dir() / "blueprints").items():
        plan = default_plan(blueprint)
        # The tenant's own resources and its gateway key's budget, as AIP_FIN_2 counts them.
        usd = tenant_monthly_estimate(None, Tenant(name="example", blueprint=name, plan=plan))
        table.add_row(f"{name}\n{blueprint.title}", blueprint.best_for, str(plan.quota.gpus), plan.isolation, f"{usd:,.0f}")
    stdout.print(table)
    stdout.print(f"Estimates: list prices of {load_prices().price_date.isoformat()}; shared GPU pools are the platform's, not the tenant's.")


@blueprints_app.command("show")
@reports_errors
def blueprints_show(name: Annotated[str, typer.Argument(help="The blueprint's name.")]) -> None:
    """Show one blueprint: its parameters with their defaults, and what it deploys at those defaults."""
    from ruamel.yaml import YAML

    from aiplane.blueprint import load_blueprints
    from aiplane.tenancy import default_plan

    blueprints = load_blueprints(project_dir() / "blueprints")
    if name not in blueprints:
        raise InputError(f"NAME: {name!r} is not a blueprint (blueprints: {', '.join(blueprints)})")
    blueprint = blueprints[name]
    stdout.print(f"[bold]{blueprint.name}[/bold] · {blueprint.title}")
    stdout.print(f"Best for: {blueprint.best_for}")
    stdout.print(f"Trade-offs: {blueprint.trade_offs}")
    table = Table(title="Parameters (--set NAME=VALUE)")
    for column in ("parameter", "type", "default", "allowed", "meaning"):
        table.add_column(column)
    for parameter_name, parameter in blueprint.parameters.items():
        allowed = ", ".join(map(str, parameter.choices)) if parameter.choices else " – ".join(
            "" if bound is None else f"{bound:g}" for bound in (parameter.minimum, parameter.maximum)
        ).strip(" –")
        default = "required" if parameter.default is None else str(parameter.default)
        table.add_row(parameter_name, parameter.type, default, allowed, parameter.description)
    stdout.print(table)
    stdout.print("At its defaults, for a tenant named 'example':")
    buffer = io.StringIO()
    YAML().dump(default_plan(blueprint).model_dump(mode="json", by_alias=True, exclude_none=True), buffer)
    stdout.print(buffer.getvalue(), markup=False, highlight=False)


def parse_settings(settings: list[str]) -> dict[str, Any]:
    """`--set key=value` pairs; values are YAML scalars (16 is a number, true a boolean)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    values: dict[str, Any] = {}
    for setting in settings:
        key, separator, raw = setting.partition("=")
        if not separator or not key.strip():
            raise InputError(f"--set: {setting!r} is not KEY=VALUE")
        try:
            value = YAML(typ="safe", pure=True).load(raw) if raw.strip() else ""
        except YAMLError:
            value = raw
        values[key.strip()] = value
    return values


@tenant_app.command("add")
@reports_errors
def tenant_add(
    name: Annotated[str, typer.Argument(help="The tenant's name; also its namespace.")],
    blueprint: Annotated[str, typer.Option("--blueprint", "-b", help="The blueprint to onboard it with (see `aiplane blueprints list`).")],
    stack: StackOption,
    settings: Annotated[list[str] | None, typer.Option("--set", help="A blueprint parameter, KEY=VALUE; repeat for several.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; leave the stack file as it is.")] = False,
) -> None:
    """Add a tenant to a stack: validate and render its blueprint, check the result against policy, then
    write the stack file (atomically, comments and key order kept).

    Exit 0: added (or would be); 1: the tenant fails policy (nothing written); 2: bad input.
    """
    from aiplane.onboarding import TenantChange, propose_tenant_change
    from aiplane.tenancy import check_tenant_name

    check_tenant_name(name)
    entry = {"name": name, "blueprint": blueprint, "parameters": parse_settings(settings or [])}
    with stderr.status(f"Synthesizing and checking stack {stack} with tenant {name}…", spinner="dots"):
        change: TenantChange = propose_tenant_change(project_dir(), stack, add=entry)
    print_tenant_change(change, name, dry_run)


@tenant_app.command("remove")
@reports_errors
def tenant_remove(
    name: Annotated[str, typer.Argument(help="The tenant to remove.")],
    stack: StackOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; leave the stack file as it is.")] = False,
) -> None:
    """Remove a tenant from a stack: the inverse of `tenant add` (the stack file returns to what it was)."""
    from aiplane.onboarding import TenantChange, propose_tenant_change

    with stderr.status(f"Synthesizing stack {stack} without tenant {name}…", spinner="dots"):
        change: TenantChange = propose_tenant_change(project_dir(), stack, remove=name)
    print_tenant_change(change, name, dry_run)


def print_tenant_change(change: Any, tenant: str, dry_run: bool) -> None:
    from aiplane.files import write_text_atomic

    stdout.print(f"[bold]aiplane tenant {change.action}[/bold] · {tenant} · stack [bold]{change.environment}[/bold] · {change.source}")
    diff = Table(title="What changes")
    for column in ("", "component", "resources"):
        diff.add_column(column)
    for sign, rows in (("+", change.added), ("~", change.changed), ("-", change.removed)):
        for component, count in sorted(rows.items()):
            diff.add_row(sign, component, str(count))
    stdout.print(diff)
    if change.findings is not None:
        violations = [finding for finding in change.findings if finding.violation]
        passed = sum(1 for finding in change.findings if finding.status == "passed")
        stdout.print(f"Policy for tenant {tenant}: {passed} passed, {len(violations)} violations")
        for finding in violations:
            stdout.print(f"  violation {finding.check_id} {finding.check_name} · {finding.resource}", markup=False)
        if violations:
            stdout.print(f"Not written: tenant {tenant} fails policy in stack {change.environment}.")
            raise typer.Exit(1)
    if dry_run:
        stdout.print(f"Dry run: {change.source} left as it was.")
        return
    write_text_atomic(change.path, change.text)
    stdout.print(f"Wrote {change.source}")


def main() -> None:
    # Rich would otherwise wrap lines at 80 columns when not on a terminal (CI logs, pipes).
    if not sys.stdout.isatty():
        stdout.width = max(stdout.width, int(os.environ.get("COLUMNS", "120")))
    app()


if __name__ == "__main__":
    main()
