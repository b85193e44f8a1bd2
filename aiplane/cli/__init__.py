"""The `aiplane` command line: one module per command group, each command thin (parse options, call one
stage, render with `aiplane.cli.render`). Commands are registered here, in the order `--help` lists them."""
from __future__ import annotations

import os
import sys

from aiplane.cli import check, diff, preflight, stacks, tenants
from aiplane.cli.app import app, blueprints_app, reports_errors, stdout, tenant_app

for command in (stacks.plan, stacks.capacity, check.check, diff.diff, stacks.schema, stacks.cost, preflight.preflight):
    app.command()(reports_errors(command))
app.add_typer(blueprints_app, name="blueprints")
app.add_typer(tenant_app, name="tenant")
blueprints_app.command("list")(reports_errors(tenants.blueprints_list))
blueprints_app.command("show")(reports_errors(tenants.blueprints_show))
tenant_app.command("add")(reports_errors(tenants.tenant_add))
tenant_app.command("remove")(reports_errors(tenants.tenant_remove))

__all__ = ["app", "main"]


def main() -> None:
    # Rich would otherwise wrap lines at 80 columns when not on a terminal (CI logs, pipes).
    if not sys.stdout.isatty():
        stdout.width = max(stdout.width, int(os.environ.get("COLUMNS", "120")))
    app()


if __name__ == "__main__":
    main()
