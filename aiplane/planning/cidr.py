"""Pure subnet planning: carve a VPC block into per-zone subnets for each tier.

Blocks are handed out largest first, each at the next free address. Because every block is a power of
two and the blocks come in non-increasing size, each one starts on its own alignment boundary, so the
plan never leaves holes and fits whenever the total size fits.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

# AWS: "The allowed block size is between a /28 netmask and /16 netmask" (VPC User Guide, "VPC CIDR blocks").
SMALLEST_SUBNET_PREFIX = 28


class CidrPlanError(ValueError):
    """The requested subnets cannot be carved out of the VPC block."""


@dataclass(frozen=True, order=True)
class Subnet:
    tier: str
    zone: str
    cidr: IPv4Network


def plan_subnets(vpc_cidr: IPv4Network | str, zones: Sequence[str], tier_prefixes: Mapping[str, int]) -> list[Subnet]:
    """One subnet per (tier, zone), of the prefix length given per tier, returned tier by tier in zone order."""
    vpc = IPv4Network(vpc_cidr)
    if len(set(zones)) != len(zones):
        raise CidrPlanError(f"zones must be distinct, got {list(zones)}")
    for tier, prefix in tier_prefixes.items():
        if prefix < vpc.prefixlen:
            raise CidrPlanError(f"a /{prefix} {tier} subnet cannot fit in {vpc}")
        if prefix > SMALLEST_SUBNET_PREFIX:
            raise CidrPlanError(f"a /{prefix} {tier} subnet is smaller than AWS allows (/{SMALLEST_SUBNET_PREFIX})")

    requests = [
        (prefix, tier_index, zone_index, tier, zone)
        for tier_index, (tier, prefix) in enumerate(tier_prefixes.items())
        for zone_index, zone in enumerate(zones)
    ]
    needed = sum(2 ** (32 - prefix) for prefix, *_ in requests)
    if needed > vpc.num_addresses:
        raise CidrPlanError(
            f"{len(requests)} subnets need {needed} addresses but {vpc} holds {vpc.num_addresses}"
        )

    cursor = int(vpc.network_address)
    planned = []
    for prefix, tier_index, zone_index, tier, zone in sorted(requests):
        block = IPv4Network((cursor, prefix))
        planned.append((tier_index, zone_index, Subnet(tier, zone, block)))
        cursor += block.num_addresses
    return [subnet for *_, subnet in sorted(planned, key=lambda item: item[:2])]
