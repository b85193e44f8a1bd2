"""Capacity Blocks as code: the blocks EC2 offers for a stack's capacity-block pools, and the purchase of one,
written back into the stack file as the pool's reservation.

A pool that buys `capacity-block` launches only into a block; `offers` asks EC2 (DescribeCapacityBlockOfferings)
for blocks of the pool's instance type and planned largest size, for a duration, and keeps those in zones the
stack's subnets cover. `purchase` buys one (PurchaseCapacityBlock, Linux/UNIX); `with_reservation` is the
stack file with the block's reservation id on the pool (and the block's zone, where the pool sat elsewhere),
edited the way `tenant add` edits it: comments, order and layout kept. Every call goes through boto3 to a
real HTTP endpoint (AWS, or `--endpoint-url`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiplane.errors import InputError
from aiplane.planning.node_profiles import NODE_PROFILES
from aiplane.preflight import Clients
from aiplane.spec import StackSpec

OFFERING_ID = re.compile(r"^cb-[0-9a-f]{8,17}$")
# EC2 sells blocks of 1 to 14 days in whole days, then in weeks up to 182 days (the API's CapacityDurationHours).
MAX_BLOCK_HOURS = 182 * 24
INSTANCE_PLATFORM = "Linux/UNIX"  # EKS nodes


@dataclass(frozen=True)
class BlockPool:
    """A stack pool that buys capacity-block: what a block for it must hold, and where it may be."""

    name: str
    index: int  # in aiplane:platform.compute.pools
    instance_type: str
    instance_count: int  # the pool's planned largest size
    zones: tuple[str, ...]  # the stack's subnets' zones
    pool_zone: str  # where the pool sits now (a capacity-block pool launches in one zone)
    reservation_id: str | None


def block_pools(spec: StackSpec) -> list[BlockPool]:
    pools = []
    for index, pool in enumerate(spec.platform.compute.pools):
        if "capacity-block" not in pool.effective_capacity_types:
            continue
        pools.append(
            BlockPool(
                name=pool.name, index=index, instance_type=pool.instance_types[0], instance_count=spec.compute_plan.pool(pool.name).max_nodes,
                zones=tuple(spec.zones), pool_zone=spec.platform.pool_zone(pool.name, spec.zones), reservation_id=pool.capacity_reservation_id,
            )
        )
    return pools


def select_pools(spec: StackSpec, pool: str | None) -> list[BlockPool]:
    """The pool `--pool` names, or every capacity-block pool; refused in one line where there is none."""
    pools = block_pools(spec)
    names = ", ".join(candidate.name for candidate in pools) or "none"
    if pool is None:
        if not pools:
            raise InputError(f"{spec.source}: aiplane:platform.compute.pools: no pool buys capacity-block (set capacityTypes: [capacity-block] on one)")
        return pools
    if pool not in {candidate.pool for candidate in spec.compute_plan.pools}:
        raise InputError(f"--pool: {pool!r} is not a pool of stack {spec.environment} (capacity-block pools: {names})")
    found = [candidate for candidate in pools if candidate.name == pool]
    if not found:
        profile = next(p.profile for p in spec.platform.compute.pools if p.name == pool)
        allowed = "capacity-block" in NODE_PROFILES[profile].capacity_types
        hint = "set capacityTypes: [capacity-block] on it" if allowed else f"its profile {profile} cannot buy capacity blocks"
        raise InputError(f"--pool: {pool!r} does not buy capacity-block; {hint} (capacity-block pools: {names})")
    return found


def check_hours(hours: int) -> None:
    if hours < 24 or hours > MAX_BLOCK_HOURS or hours % 24 or (hours > 14 * 24 and hours % (7 * 24)):
        raise InputError(
            f"--hours: {hours} is not a Capacity Block duration (1 to 14 days in whole days, then whole weeks up to 182 days: 24, 48, ... 336, 504, ...)"
        )


@dataclass(frozen=True)
class Offering:
    pool: str
    offering_id: str
    instance_type: str
    instance_count: int
    zone: str
    start: datetime
    end: datetime
    hours: int
    upfront_fee: str
    currency: str
    in_pool_zone: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool, "offeringId": self.offering_id, "instanceType": self.instance_type, "instanceCount": self.instance_count,
            "availabilityZone": self.zone, "start": self.start.isoformat(), "end": self.end.isoformat(), "durationHours": self.hours,
            "upfrontFee": self.upfront_fee, "currency": self.currency, "inPoolZone": self.in_pool_zone,
        }


def offers(clients: Clients, pool: BlockPool, hours: int) -> list[Offering]:
    """Every block EC2 offers for the pool and duration, in a zone the stack covers, soonest first."""
    found, token = [], None
    while True:
        request: dict[str, Any] = {"InstanceType": pool.instance_type, "InstanceCount": pool.instance_count, "CapacityDurationHours": hours}
        if token:
            request["NextToken"] = token
        answer = clients.ec2.describe_capacity_block_offerings(**request)
        found += answer.get("CapacityBlockOfferings", [])
        token = answer.get("NextToken")
        if not token:
            break
    offerings = [
        Offering(
            pool=pool.name, offering_id=item["CapacityBlockOfferingId"], instance_type=item["InstanceType"],
            instance_count=int(item["InstanceCount"]), zone=item["AvailabilityZone"], start=item["StartDate"], end=item["EndDate"],
            hours=int(item["CapacityBlockDurationHours"]), upfront_fee=str(item["UpfrontFee"]), currency=item.get("CurrencyCode", "USD"),
            in_pool_zone=item["AvailabilityZone"] == pool.pool_zone,
        )
        for item in found
        if item.get("AvailabilityZone") in pool.zones
    ]
    return sorted(offerings, key=lambda offering: (offering.start, offering.zone))


def find_offering(clients: Clients, pool: BlockPool, offering_id: str, hours: int) -> Offering:
    if not OFFERING_ID.match(offering_id):
        raise InputError(f"--offering: {offering_id!r} is not a Capacity Block offering id (cb- and 8 to 17 hex digits)")
    for offering in offers(clients, pool, hours):
        if offering.offering_id == offering_id:
            return offering
    raise InputError(
        f"--offering: {offering_id!r} is not on offer for pool {pool.name!r} ({pool.instance_count} x {pool.instance_type}, {hours} h, "
        f"zones {', '.join(pool.zones)}); list what is with `aiplane capacity offers`"
    )


def purchase(clients: Clients, offering: Offering) -> str:
    """Buy the block; its reservation id."""
    answer = clients.ec2.purchase_capacity_block(CapacityBlockOfferingId=offering.offering_id, InstancePlatform=INSTANCE_PLATFORM)
    return answer["CapacityReservation"]["CapacityReservationId"]
