"""`aiplane capacity`: size a stack's GPU pools (the group's own command), and find and buy Capacity Blocks for
its capacity-block pools (`offers`, `reserve`)."""
from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from aiplane.cli.app import StackOption, WideOption, project_dir, reports_errors, stderr, stdout
from aiplane.errors import InputError
from aiplane.terminal import show_table

EndpointOption = Annotated[str | None, typer.Option("--endpoint-url", help="An AWS-compatible endpoint instead of AWS's own.")]
RegionOption = Annotated[str | None, typer.Option("--region", help="Default: the stack's aws:region.")]
PoolOption = Annotated[str | None, typer.Option("--pool", help="One capacity-block pool. Default: every one.")]
HoursOption = Annotated[int, typer.Option("--hours", help="The block's length: 24 to 336 in whole days, then whole weeks up to 4368.")]

capacity_app = typer.Typer(
    help="Size GPU pools from traffic (`aiplane capacity --stack S`); find and buy Capacity Blocks for capacity-block pools.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@capacity_app.callback()
@reports_errors
def capacity(
    ctx: typer.Context,
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="Stack (environment) name: reads stacks/Pulumi.STACK.yaml.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON (as in summary.json).")] = False,
    wide: WideOption = False,
) -> None:
    """Size GPU pools from traffic: per served model and scenario (nominal, peak, incident), the VRAM,
    tensor parallelism, tokens/s, replicas, nodes and headroom. Reads the stack file; deploys nothing.
    `offers` and `reserve` find and buy Capacity Blocks."""
    from aiplane.cli.stacks import print_capacity_plan

    if ctx.invoked_subcommand:
        return
    if stack is None:
        raise InputError("--stack: missing: name the stack whose pools to size (aiplane capacity --stack dev)")
    print_capacity_plan(stack, as_json, wide)


def _load(stack: str):
    from aiplane.loader import load_stack

    return load_stack(stack, project_dir() / "stacks")


@capacity_app.command("offers", short_help="Capacity Blocks EC2 offers for the stack's capacity-block pools.")
@reports_errors
def capacity_offers(
    stack: StackOption,
    pool: PoolOption = None,
    hours: HoursOption = 24,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the offerings as JSON, for scripts.")] = False,
    wide: WideOption = False,
) -> None:
    """Ask EC2 (DescribeCapacityBlockOfferings) for the blocks each capacity-block pool could launch into: its
    instance type, its planned largest size, for --hours, in zones the stack's subnets cover; with zone, start,
    end and upfront price. Buys nothing."""
    from aiplane.capacity_blocks import check_hours, offers, select_pools
    from aiplane.cli.render import offerings_table
    from aiplane.preflight import Clients

    spec = _load(stack)
    check_hours(hours)
    pools = select_pools(spec, pool)
    clients = Clients(region or spec.region, endpoint_url)
    with stderr.status(f"Asking EC2 for Capacity Blocks for stack {stack}…", spinner="dots"):
        found = [offering for block_pool in pools for offering in offers(clients, block_pool, hours)]
    if as_json:
        document = {"stack": stack, "region": region or spec.region, "hours": hours, "offerings": [offering.to_dict() for offering in found]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    if not found:
        stdout.print(f"No Capacity Blocks on offer for {', '.join(p.name for p in pools)} ({hours} h) in {', '.join(spec.zones)}.")
        return
    show_table(stdout, offerings_table(found, f"Capacity Blocks · stack {stack} · {region or spec.region} · {hours} h"), wide=wide)
    stdout.print(f"Buy one with `aiplane capacity reserve --stack {stack} --pool POOL --offering ID` (--yes to skip the confirmation).")


@capacity_app.command("reserve", short_help="Buy a Capacity Block and write its reservation into the stack file.")
@reports_errors
def capacity_reserve(
    stack: StackOption,
    pool: Annotated[str, typer.Option("--pool", help="The capacity-block pool the block is for.")],
    offering: Annotated[str, typer.Option("--offering", help="The offering id, from `aiplane capacity offers`.")],
    hours: HoursOption = 24,
    yes: Annotated[bool, typer.Option("--yes", help="Buy without asking (the price is still printed).")] = False,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Buy the Capacity Block `--offering` (PurchaseCapacityBlock, Linux/UNIX) for `--pool`, then write its
    reservation id into the stack file as the pool's capacityReservationId (and the block's zone where the
    pool sat elsewhere): atomically, comments kept. Asks first, showing the price, unless --yes; refuses
    without --yes where nobody can answer."""
    from aiplane.capacity_blocks import check_hours, find_offering, purchase, select_pools
    from aiplane.files import locked_for_edit, read_text, rewrite_in_place
    from aiplane.loader import read_stack
    from aiplane.preflight import Clients
    from aiplane.tenancy.stackfile import check_pool_entry, set_pool_reservation

    check_hours(hours)
    path = read_stack(stack, project_dir() / "stacks").path
    with locked_for_edit(path):
        spec = _load(stack)
        (block_pool,) = select_pools(spec, pool)
        clients = Clients(region or spec.region, endpoint_url)
        chosen = find_offering(clients, block_pool, offering, hours)
        zone = chosen.zone if chosen.zone != block_pool.pool_zone else None
        text = read_text(path)
        check_pool_entry(text, spec.source, pool)
        price = f"{chosen.upfront_fee} {chosen.currency}"
        summary = (f"{chosen.instance_count} x {chosen.instance_type} in {chosen.zone}, {chosen.start:%Y-%m-%d %H:%M} to "
                   f"{chosen.end:%Y-%m-%d %H:%M} UTC, upfront {price}")
        if not yes:
            if not sys.stdin.isatty():
                raise InputError(f"--yes: buying {chosen.offering_id} ({summary}) needs --yes when no one can confirm; nothing was bought")
            if not typer.confirm(f"Buy Capacity Block {chosen.offering_id}: {summary}?", default=False):
                stdout.print("Nothing bought; the stack file is as it was.")
                raise typer.Exit(1)
        reservation_id = purchase(clients, chosen)
        rewrite_in_place(path, set_pool_reservation(text, spec.source, pool, reservation_id, zone))
    moved = f" and availabilityZones [{zone}]" if zone else ""
    stdout.print(f"Bought {chosen.offering_id} ({summary}): reservation {reservation_id}.")
    stdout.print(f"Wrote capacityReservationId {reservation_id}{moved} on pool {pool} in {spec.source}.")
