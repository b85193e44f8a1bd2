"""Commands on blueprints and tenants: `blueprints list/show`, `tenant add/remove`."""
from __future__ import annotations

import difflib
import io
import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aiplane.cli.app import StackOption, WideOption, project_dir, stderr, stdout
from aiplane.cli.render import blueprints_table, parameters_table, tenant_change_table
from aiplane.errors import InputError
from aiplane.terminal import plural, show_table

JsonOption = Annotated[bool, typer.Option("--json", help="Print it as JSON instead.")]

if TYPE_CHECKING:
    from aiplane.onboarding import TenantChange


def blueprints_list(as_json: JsonOption = False, wide: WideOption = False) -> None:
    """List the blueprints: pattern, what it is best for, GPUs, isolation and estimated monthly cost at its defaults."""
    from aiplane.planning.prices import load_prices
    from aiplane.spec.tenant import Tenant
    from aiplane.tenancy.blueprints import load_blueprints
    from aiplane.tenancy.estimate import tenant_monthly_estimate
    from aiplane.tenancy.expansion import default_plan

    rows = []
    for name, blueprint in load_blueprints(project_dir() / "blueprints").items():
        plan = default_plan(blueprint)
        # The tenant's own resources and its gateway key's budget, as AIP_FIN_2 counts them.
        usd = tenant_monthly_estimate(None, Tenant(name="example", blueprint=name, plan=plan))
        rows.append({"name": name, "title": blueprint.title, "bestFor": blueprint.best_for, "gpus": plan.quota.gpus,
                     "isolation": plan.isolation, "usdPerMonth": round(usd, 2)})
    price_date = load_prices().price_date.isoformat()
    if as_json:
        sys.stdout.write(json.dumps({"priceDate": price_date, "blueprints": rows}, indent=2) + "\n")
        return
    table = blueprints_table()
    for row in rows:
        table.add_row(f"{row['name']}\n{row['title']}", row["bestFor"], str(row["gpus"]), row["isolation"], f"{row['usdPerMonth']:,.0f}")
    show_table(stdout, table, wide=wide)
    stdout.print(f"Estimates: list prices of {price_date}; shared GPU pools are the platform's, not the tenant's.")


def blueprints_show(
    name: Annotated[str, typer.Argument(help="The blueprint's name.")], as_json: JsonOption = False, wide: WideOption = False
) -> None:
    """Show one blueprint: its parameters with their defaults, and what it deploys at those defaults."""
    from ruamel.yaml import YAML

    from aiplane.tenancy.blueprints import load_blueprints
    from aiplane.tenancy.expansion import default_plan

    blueprints = load_blueprints(project_dir() / "blueprints")
    if name not in blueprints:
        raise InputError(f"NAME: {name!r} is not a blueprint (blueprints: {', '.join(blueprints)})")
    blueprint = blueprints[name]
    at_defaults = default_plan(blueprint).model_dump(mode="json", by_alias=True, exclude_none=True)
    if as_json:
        document = {
            "name": blueprint.name, "title": blueprint.title, "bestFor": blueprint.best_for, "tradeOffs": blueprint.trade_offs,
            "parameters": {key: parameter.model_dump(mode="json", by_alias=True, exclude_none=True) for key, parameter in blueprint.parameters.items()},
            "atDefaults": at_defaults,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    stdout.print(f"[bold]{blueprint.name}[/bold] · {blueprint.title}")
    stdout.print(f"Best for: {blueprint.best_for}")
    stdout.print(f"Trade-offs: {blueprint.trade_offs}")
    show_table(stdout, parameters_table(blueprint), wide=wide)
    stdout.print("At its defaults, for a tenant named 'example':")
    buffer = io.StringIO()
    YAML().dump(at_defaults, buffer)
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
    from aiplane.onboarding import propose_tenant_change
    from aiplane.tenancy.expansion import check_tenant_name

    check_tenant_name(name)
    entry = {"name": name, "blueprint": blueprint, "parameters": parse_settings(settings or [])}
    with editing(stack, dry_run), stderr.status(f"Synthesizing and checking stack {stack} with tenant {name}…", spinner="dots"):
        change = propose_tenant_change(project_dir(), stack, add=entry)
        print_tenant_change(change, name, dry_run)


def tenant_remove(
    name: Annotated[str, typer.Argument(help="The tenant to remove.")],
    stack: StackOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; leave the stack file as it is.")] = False,
) -> None:
    """Remove a tenant from a stack: the inverse of `tenant add` (the stack file returns to what it was)."""
    from aiplane.onboarding import propose_tenant_change

    with editing(stack, dry_run), stderr.status(f"Synthesizing stack {stack} without tenant {name}…", spinner="dots"):
        change = propose_tenant_change(project_dir(), stack, remove=name)
        print_tenant_change(change, name, dry_run)


@contextmanager
def editing(stack: str, dry_run: bool) -> Iterator[None]:
    """Around reading, checking and writing the stack file: concurrent `tenant add`/`remove` runs serialize,
    each reading what the one before it wrote, so that no run loses another's tenant."""
    from aiplane.files import locked_for_edit
    from aiplane.loader import read_stack

    if dry_run:
        yield
        return
    with locked_for_edit(read_stack(stack, project_dir() / "stacks").path):
        yield


def print_tenant_change(change: TenantChange, tenant: str, dry_run: bool) -> None:
    from aiplane.files import rewrite_in_place

    stdout.print(f"[bold]aiplane tenant {change.action}[/bold] · {tenant} · stack [bold]{change.environment}[/bold] · {change.source}")
    show_table(stdout, tenant_change_table(change))
    if change.findings is not None:
        violations = [finding for finding in change.findings if finding.violation]
        passed = sum(1 for finding in change.findings if finding.status == "passed")
        stdout.print(f"Policy for tenant {tenant}: {passed} passed, {plural(len(violations), 'violation')}")
        for finding in violations:
            stdout.print(f"  violation {finding.check_id} {finding.check_name} · {finding.resource}", markup=False, soft_wrap=True)
        budget = change.budget
        if budget is not None and budget.shortfall_usd > 0:
            advice = (f"raise it with --set {budget.parameter}={math.ceil(budget.estimate_usd)}" if budget.parameter
                      else "raise the tenant's budget") + ", or choose a smaller shape (`aiplane blueprints show` lists the parameters)"
            stdout.print(
                f"Over budget: estimated {budget.estimate_usd:,.2f} USD/month against a budget of {budget.budget_usd:,.2f} "
                f"(short by {budget.shortfall_usd:,.2f}); {advice}.", markup=False, soft_wrap=True,
            )
        if violations:
            stdout.print(f"Not written: tenant {tenant} fails policy in stack {change.environment}.")
            raise typer.Exit(1)
    if dry_run:
        stdout.print(f"Dry run: {change.source} left as it was. It would change so:", markup=False)
        diff = difflib.unified_diff(change.before_text.splitlines(), change.text.splitlines(), change.source, change.source, lineterm="")
        stdout.print("\n".join(diff), markup=False, highlight=False, soft_wrap=True)
        return
    rewrite_in_place(change.path, change.text)
    stdout.print(f"Wrote {change.source}")
