"""`aiplane diff` as a reviewer reads it: a terminal view, stable JSON (docs/diff.md), and one markdown pull
request comment."""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table

from aiplane.diff import Placed, StackDiff
from aiplane.review.changes import ABSENT, ACTION_SIGNS, InputChange
from aiplane.terminal import plural, show_table

DIFF_FORMAT_VERSION = 1
ACTION_ORDER = ("replace", "delete", "update", "create")  # what a reviewer must see first
ACTION_STYLE = {"create": "green", "update": "yellow", "replace": "bold magenta", "delete": "bold red"}


def _input_json(change: InputChange) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": change.path, "forcesReplacement": change.forces_replacement}
    if change.before is not ABSENT:
        entry["before"] = change.before
    if change.after is not ABSENT:
        entry["after"] = change.after
    return entry


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, dict[str, float]]:
    names = sorted(set(before) | set(after))
    rows = {name: {"before": before.get(name, 0.0), "after": after.get(name, 0.0)} for name in names}
    return {name: {**row, "delta": round(row["after"] - row["before"], 2)} for name, row in rows.items() if row["after"] != row["before"]}


def cost_delta(diff: StackDiff) -> dict[str, Any]:
    before, after = diff.cost_before.get("total", 0.0), diff.cost_after["total"]
    return {
        "before": before,
        "after": after,
        "delta": round(after - before, 2),
        "byComponent": _delta(diff.cost_before.get("byComponent", {}), diff.cost_after["byComponent"]),
        "byTenant": _delta(diff.cost_before.get("byTenant", {}), diff.cost_after["byTenant"]),
    }


def capacity_delta(diff: StackDiff) -> dict[str, dict[str, Any]]:
    pools = {}
    for name in sorted(set(diff.capacity_before) | set(diff.capacity_after)):
        before, after = diff.capacity_before.get(name), diff.capacity_after.get(name)
        if before != after:
            pools[name] = {"before": before, "after": after}
    return pools


def to_json(diff: StackDiff) -> dict[str, Any]:
    return {
        "formatVersion": DIFF_FORMAT_VERSION,
        "stack": diff.environment,
        "base": {"ref": diff.base.described, "commit": diff.base.commit, "stackExists": diff.base.graph is not None},
        "head": {"uncommittedChanges": diff.uncommitted},
        "resources": {action: diff.count(action) for action in ("create", "update", "replace", "delete")},
        "changes": [
            {
                "action": placed.change.action,
                "resource": placed.resource,
                "type": placed.change.resource.type,
                "urn": placed.change.urn,
                "component": placed.component,
                "tenant": placed.tenant,
                "inputs": [_input_json(change) for change in placed.change.inputs],
                "replacedBy": list(placed.change.replaced_by),
            }
            for placed in diff.changes
        ],
        "cost": cost_delta(diff),
        "capacity": capacity_delta(diff),
        "policy": {
            "newFindings": diff.new_findings,
            "fixedFindings": diff.fixed_findings,
            "changeChecks": diff.change_findings,
        },
        "exitCode": diff.exit_code,
    }


def render_json(diff: StackDiff) -> str:
    return json.dumps(to_json(diff), indent=2, sort_keys=True) + "\n"


def _grouped(diff: StackDiff) -> dict[tuple[str, str], list[Placed]]:
    groups: dict[tuple[str, str], list[Placed]] = defaultdict(list)
    for placed in sorted(diff.changes, key=lambda p: (ACTION_ORDER.index(p.change.action), p.resource)):
        groups[(placed.component, placed.tenant or "-")].append(placed)
    return dict(sorted(groups.items()))


def _usd(value: float, signed: bool = False) -> str:
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def headline(diff: StackDiff) -> str:
    counts = ", ".join(f"{ACTION_SIGNS[action]} {diff.count(action)} to {action}" for action in ("create", "update", "replace", "delete"))
    cost = cost_delta(diff)
    return f"{counts} · cost {_usd(cost['before'])} → {_usd(cost['after'])} USD/month ({_usd(cost['delta'], signed=True)})"


def _policy_line(diff: StackDiff) -> str:
    blocked = [finding for finding in diff.change_findings if finding["status"] == "violation"]
    parts = [f"{plural(len(diff.new_findings), 'new finding')}", f"{len(diff.fixed_findings)} fixed"]
    if blocked:
        parts.append(f"{plural(len(blocked), 'change violation')} ({', '.join(sorted({f['check'] for f in blocked}))})")
    return ", ".join(parts) + (" · blocked" if diff.exit_code else " · passes")


def render_cli(diff: StackDiff, console: Console, wide: bool = False) -> None:
    stack_state = "" if diff.base.graph is not None else " (a new stack: it does not exist at the base)"
    console.print(f"[bold]aiplane diff[/bold] · stack [bold]{diff.environment}[/bold] · base {diff.base.described}{stack_state}")
    if diff.uncommitted:
        console.print(f"Includes uncommitted changes to {plural(len(diff.uncommitted), 'file')}: {', '.join(diff.uncommitted)}", markup=False)
    console.print(headline(diff), markup=False)
    for (component, tenant), rows in _grouped(diff).items():
        console.print(f"[bold]{component}[/bold]" + (f" · tenant {tenant}" if tenant != "-" else ""))
        for placed in rows:
            action = placed.change.action
            console.print(f"  [{ACTION_STYLE[action]}]{ACTION_SIGNS[action]} {action}[/] {placed.resource}", soft_wrap=True)
            for change in placed.change.inputs:
                mark = " (forces replacement)" if change.forces_replacement else ""
                console.print(f"      {change.shown()}{mark}", markup=False, soft_wrap=True)
    cost = cost_delta(diff)
    rows = [(kind.removeprefix("by").lower(), name, _usd(row["before"]), _usd(row["after"]), _usd(row["delta"], signed=True))
            for kind in ("byComponent", "byTenant") for name, row in cost[kind].items()]
    if rows:
        table = Table(title="Monthly cost (USD)", title_justify="left")
        for column in ("", "name", "before", "after", "delta"):
            table.add_column(column, justify="right" if column in ("before", "after", "delta") else "left", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        lines = ["Monthly cost (USD)", *(f"  {kind} {name}: {before} → {after} ({delta})" for kind, name, before, after, delta in rows)]
        show_table(console, table, wide=wide, fallback=lines)
    for name, row in capacity_delta(diff).items():
        console.print(f"GPU pool {name}: {_capacity(row['before'])} → {_capacity(row['after'])}", markup=False)
    console.print(f"Policy: {_policy_line(diff)}", markup=False)
    for finding in [*diff.new_findings, *(f for f in diff.change_findings if f["status"] != "passed")]:
        console.print(f"  {finding['status']}: {finding['check']} {finding['title']} · {finding['resource']}", markup=False, soft_wrap=True)


def _capacity(pool: dict[str, int] | None) -> str:
    if pool is None:
        return "(none)"
    return f"nodes {pool['min']}/{pool['desired']}/{pool['max']}, up to {pool['maxGpus']} GPUs"


def render_markdown(diff: StackDiff) -> str:
    """One pull-request comment for the stack: the summary on top, the detail folded below."""
    lines = [f"### aiplane diff · `{diff.environment}` · base `{diff.base.described}`", ""]
    if diff.base.graph is None:
        lines += ["A new stack: it does not exist at the base.", ""]
    if diff.uncommitted:
        lines += [f"Includes uncommitted changes to {plural(len(diff.uncommitted), 'file')}.", ""]
    lines += [f"**{headline(diff)}**", "", f"**Policy:** {_policy_line(diff)}", ""]
    findings = [*diff.new_findings, *(f for f in diff.change_findings if f["status"] != "passed")]
    if findings:
        lines += ["| status | check | resource |", "|---|---|---|"]
        lines += [f"| {f['status']} | {f['check']} {f['title']} | `{f['resource']}` |" for f in findings]
        lines.append("")
    cost = cost_delta(diff)
    if cost["byComponent"] or cost["byTenant"]:
        lines += ["| cost (USD/month) | before | after | delta |", "|---|---:|---:|---:|"]
        for kind in ("byComponent", "byTenant"):
            for name, row in cost[kind].items():
                lines.append(f"| {kind.removeprefix('by').lower()} `{name}` | {_usd(row['before'])} | {_usd(row['after'])} | {_usd(row['delta'], signed=True)} |")
        lines.append("")
    for name, row in capacity_delta(diff).items():
        lines.append(f"- GPU pool `{name}`: {_capacity(row['before'])} → {_capacity(row['after'])}")
    if diff.changes:
        lines += ["", "<details><summary>Resources</summary>", "", "```diff"]
        for (component, tenant), rows in _grouped(diff).items():
            lines.append(f"# {component}" + (f" · tenant {tenant}" if tenant != "-" else ""))
            for placed in rows:
                sign = {"create": "+", "delete": "-", "update": "!", "replace": "!"}[placed.change.action]
                lines.append(f"{sign} {placed.change.action} {placed.resource}")
                lines += [f"#     {change.shown()}{' (forces replacement)' if change.forces_replacement else ''}" for change in placed.change.inputs]
        lines += ["```", "", "</details>"]
    return "\n".join(lines) + "\n"
