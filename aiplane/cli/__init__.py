"""The `aiplane` command line: one module per command group, each command thin (parse options, call one
stage, render with `aiplane.cli.render`). Commands are registered here, in the order `--help` lists them."""
from __future__ import annotations

import os
import sys

from aiplane.cli import check, deploy, diff, preflight, stacks, tenants
from aiplane.cli.app import app, blueprints_app, reports_errors, stdout, tenant_app
from aiplane.cli.capacity import capacity_app

# One line each in `aiplane --help`, short enough for 80 columns: the docstrings say the rest in each command's help.
COMMANDS = (
    (stacks.plan, "Synthesize a stack offline; write its graph and exports."),
    (check.check, "Policy gate: checkov and aiplane's checks on stacks."),
    (diff.diff, "What a change does to a stack, against a base commit."),
    (stacks.schema, "Write JSON Schemas for stack and blueprint files."),
    (stacks.cost, "Estimate a stack's monthly cost."),
    (preflight.preflight, "Ask AWS for GPU capacity and quotas before a deploy."),
    (deploy.preview, "Pre-flight and the gate, then pulumi preview with the pack."),
    (deploy.up, "Pre-flight and the gate, then pulumi up with the pack."),
    (deploy.destroy, "pulumi destroy on a stack, after a confirmation."),
)
for command, summary in COMMANDS:
    app.command(short_help=summary)(reports_errors(command))
app.add_typer(capacity_app, name="capacity", short_help="Size GPU pools; find and buy Capacity Blocks.")
app.add_typer(blueprints_app, name="blueprints", short_help="Tenant blueprints: list them, show one.")
app.add_typer(tenant_app, name="tenant", short_help="Onboard and offboard tenants.")
blueprints_app.command("list", short_help="The blueprints, with what each costs at its defaults.")(reports_errors(tenants.blueprints_list))
blueprints_app.command("show", short_help="One blueprint: its parameters and what it renders.")(reports_errors(tenants.blueprints_show))
tenant_app.command("add", short_help="Onboard a tenant onto a stack from a blueprint.")(reports_errors(tenants.tenant_add))
tenant_app.command("remove", short_help="Offboard a tenant from a stack.")(reports_errors(tenants.tenant_remove))

__all__ = ["app", "main"]


def main() -> None:
    # Rich would otherwise wrap lines at 80 columns when not on a terminal (CI logs, pipes).
    if not sys.stdout.isatty():
        stdout.width = max(stdout.width, int(os.environ.get("COLUMNS", "120")))
    app()


if __name__ == "__main__":
    main()
