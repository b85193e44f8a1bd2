"""`aiplane preflight`: ask AWS whether a stack's GPU pools can launch, before anything is deployed."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer

from aiplane.cli.app import StackOption, WideOption, project_dir, stderr, stdout
from aiplane.cli.render import PREFLIGHT_COLOURS, preflight_table
from aiplane.terminal import plural, show_table


def preflight(
    stack: StackOption,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="An AWS-compatible endpoint instead of AWS's own.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Default: the stack's aws:region.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON: stack, region, checks, counts.")] = False,
    wide: WideOption = False,
) -> None:
    """Ask AWS, before deploying, whether the stack's GPU pools can launch: instance types offered in their
    zones, the catalog right, vCPU quotas with room, capacity reservations active, the EKS version supported.

    Exit 0: nothing blocks (warnings may remain); 1: a blocking finding; 2: bad input.
    """
    from aiplane.loader import load_stack
    from aiplane.preflight import Clients, exit_code, run_preflight

    spec = load_stack(stack, project_dir() / "stacks")
    with stderr.status(f"Asking AWS about stack {stack}…", spinner="dots"):
        results = run_preflight(spec, Clients(region or spec.region, endpoint_url))
    counts = {status: sum(1 for result in results if result.status == status) for status in PREFLIGHT_COLOURS}
    if as_json:
        document = {"stack": stack, "region": region or spec.region, "checks": [asdict(result) for result in results], "counts": counts}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        raise typer.Exit(exit_code(results))
    show_table(stdout, preflight_table(results, f"Pre-flight · stack {stack} · {region or spec.region}"), wide=wide)
    stdout.print(f"{stack}: {counts['ok']} ok, {plural(counts['warning'], 'warning')}, {counts['blocking']} blocking")
    raise typer.Exit(exit_code(results))
