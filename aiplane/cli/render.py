"""Every table and tree the CLI prints, in one place: commands hand data here and print what comes back."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from aiplane.terminal import plural, show_table

if TYPE_CHECKING:
    from aiplane.cost import CostEstimate
    from aiplane.onboarding import TenantChange
    from aiplane.planning.compute import ComputePlan
    from aiplane.preflight import Check
    from aiplane.spec import BlueprintSpec

PREFLIGHT_COLOURS = {"ok": "green", "warning": "yellow", "blocking": "red"}


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


def print_types(console: Console, summary: dict[str, Any], wide: bool = False) -> None:
    lines = ["Resources by type", *(f"  {type_} × {count}" for type_, count in summary["byType"].items()), f"  total {summary['total']}"]
    show_table(console, type_table(summary), wide=wide, fallback=lines)


def type_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Resources by type", title_justify="left")
    table.add_column("type", no_wrap=True)
    table.add_column("count", justify="right")
    for type_, count in summary["byType"].items():
        table.add_row(type_, str(count))
    table.add_section()
    table.add_row("[bold]total[/bold]", f"[bold]{summary['total']}[/bold]")
    return table


def pool_table(plan: ComputePlan) -> Table:
    table = Table(title="GPU pools", title_justify="left")
    for column in ("pool", "profile", "instance types", "nodes min / desired / max", "sized by"):
        table.add_column(column, no_wrap=column in ("pool", "nodes min / desired / max"))
    for pool in plan.pools:
        sizes = f"{pool.min_nodes} / {pool.desired_nodes} / {pool.max_nodes}"
        table.add_row(pool.pool, pool.profile, ", ".join(pool.instance_types), sizes, pool.sized_by)
    return table


CAPACITY_COLUMNS = ("conc.", "TP", "PP", "batch", "replicas", "nodes", "GPUs", "VRAM GiB", "tok/s", "TPOT ms", "TTFT ms", "latency s", "headroom")


# The same figures in a sentence-like line: name, value, unit.
CAPACITY_LINE = ("concurrency {}", "TP {}", "PP {}", "batch {}", "{} replicas", "{} nodes", "{} GPUs", "VRAM {} GiB", "{} tok/s",
                 "TPOT {} ms", "TTFT {} ms", "latency {} s", "headroom {}")


def capacity_rows(plan: ComputePlan):
    """(model label, scenario, the figures of CAPACITY_COLUMNS as text) per served model and scenario."""
    for pool in plan.pools:
        for model in pool.models:
            for scenario in model.scenarios:
                yield f"{model.model} ({pool.pool})", scenario.scenario, (
                    str(scenario.concurrency), str(scenario.tensor_parallel), str(scenario.pipeline_parallel),
                    str(scenario.batch_per_replica),
                    str(scenario.replicas), str(scenario.nodes), str(scenario.gpus), f"{scenario.vram_needed_gib:.0f}",
                    f"{scenario.output_tokens_per_s_per_replica:.0f}", f"{scenario.time_per_output_token_ms:.1f}",
                    f"{scenario.time_to_first_token_ms:.0f}", f"{scenario.request_latency_s:.2f}", f"{scenario.headroom:.0%}",
                )


def capacity_table(plan: ComputePlan) -> Table:
    table = Table(title="Capacity plan per served model", title_justify="left")
    table.add_column("model", no_wrap=True)
    table.add_column("scenario", no_wrap=True)
    for column in CAPACITY_COLUMNS:
        table.add_column(column, justify="right", no_wrap=True)
    previous = None
    for label, scenario, figures in capacity_rows(plan):
        if previous is not None and label != previous:
            table.add_section()
        table.add_row(label if label != previous else "", scenario, *figures)
        previous = label
    return table


def capacity_lines(plan: ComputePlan) -> list[str]:
    """The capacity plan where its table would not fit: a line per scenario, figures named, never cut."""
    lines, previous = ["Capacity plan per served model"], None
    for label, scenario, figures in capacity_rows(plan):
        if label != previous:
            lines.append(label)
            previous = label
        lines.append(f"  {scenario}: " + " · ".join(template.format(value) for template, value in zip(CAPACITY_LINE, figures, strict=True)))
    return lines


def topology_lines(plan: ComputePlan) -> list[str]:
    """Per served model: its topology and why, the one-node alternatives of a multi-node model, and advice."""
    lines = []
    for pool in plan.pools:
        for model in pool.models:
            layout = model.topology
            nodes = f", {plural(layout.nodes_per_replica, 'node')} per replica" if layout.nodes_per_replica > 1 else ""
            cost = f" ({model.peak_usd_per_hour:,.2f} USD/h at peak)" if model.peak_usd_per_hour is not None else ""
            lines.append(f"{model.model} ({pool.pool}): {layout.kind}, {plural(layout.gpus_per_replica, 'GPU')} per replica{nodes}{cost}: {layout.reason}")
            lines += [f"  instead: {option.describe()}" for option in model.alternatives]
            if model.advice:
                lines.append(f"  advice: {model.advice}")
            if model.cold_start is not None:
                budget = f" (budget {model.cold_start.budget:g} s)" if model.cold_start.budget is not None else ""
                lines.append(f"  cold start: {model.cold_start.breakdown()}{budget}")
    return lines


def print_capacity(console: Console, plan: ComputePlan, wide: bool = False) -> None:
    show_table(console, capacity_table(plan), wide=wide, fallback=capacity_lines(plan))
    lines = topology_lines(plan)
    if lines:
        console.print("Topology per served model", highlight=False)
        for line in lines:
            console.print(line, highlight=False, markup=False, soft_wrap=True)


def cost_tables(result: CostEstimate, stack: str) -> list[Table]:
    tables = []
    for title, totals in (("component", result.by("component")), ("tenant", result.by("tenant"))):
        table = Table(title=f"Monthly cost by {title} · stack {stack}")
        table.add_column(title)
        table.add_column("USD/month", justify="right")
        for name, usd in totals.items():
            table.add_row(name, f"{usd:,.2f}")
        tables.append(table)
    return tables


def token_price_table(result: CostEstimate, stack: str) -> Table:
    table = Table(title=f"Self-hosted tokens, as the gateway meters them · stack {stack}")
    table.add_column("served model")
    table.add_column("USD per 1M tokens", justify="right")
    for model, usd in sorted(result.served_usd_per_token.items()):
        table.add_row(model, f"{usd * 1e6:,.4f}")
    return table


def preflight_table(results: list[Check], title: str) -> Table:
    table = Table(title=title)
    for column in ("check", "subject", "result", "detail"):
        table.add_column(column)
    for result in results:
        table.add_row(result.check, result.subject, f"[{PREFLIGHT_COLOURS[result.status]}]{result.status}[/]", result.detail)
    return table


def offerings_table(offerings, title: str) -> Table:
    """Capacity Block offerings (aiplane.capacity_blocks.Offering), soonest first."""
    table = Table(title=title)
    for column in ("pool", "offering", "zone", "start (UTC)", "end (UTC)", "instances", "upfront"):
        table.add_column(column, justify="right" if column in ("instances", "upfront") else "left")
    for offering in offerings:
        zone = offering.zone if offering.in_pool_zone else f"{offering.zone} (moves the pool)"
        table.add_row(
            offering.pool, offering.offering_id, zone, f"{offering.start:%Y-%m-%d %H:%M}", f"{offering.end:%Y-%m-%d %H:%M}",
            f"{offering.instance_count} x {offering.instance_type}", f"{offering.upfront_fee} {offering.currency}",
        )
    return table


def blueprints_table() -> Table:
    table = Table(title="Blueprints (blueprints/)", show_lines=True)
    for column in ("pattern", "best for", "GPUs", "isolation", "USD/month at defaults"):
        table.add_column(column, justify="left" if column in ("pattern", "best for", "isolation") else "right", no_wrap=column == "pattern")
    return table


def parameters_table(blueprint: BlueprintSpec) -> Table:
    table = Table(title="Parameters (--set NAME=VALUE)")
    for column in ("parameter", "type", "default", "allowed", "meaning"):
        table.add_column(column)
    for parameter_name, parameter in blueprint.parameters.items():
        default = "required" if parameter.default is None else str(parameter.default)
        table.add_row(parameter_name, parameter.type, default, parameter.allowed(), parameter.description)
    return table


def tenant_change_table(change: TenantChange) -> Table:
    diff = Table(title="What changes")
    for column in ("", "component", "resources"):
        diff.add_column(column)
    for sign, rows in (("+", change.added), ("~", change.changed), ("-", change.removed)):
        for component, count in sorted(rows.items()):
            diff.add_row(sign, component, str(count))
    return diff
