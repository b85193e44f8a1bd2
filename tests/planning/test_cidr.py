import re
from ipaddress import IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiplane.planning.cidr import CidrPlanError, plan_subnets


@st.composite
def plans(draw):
    vpc_prefix = draw(st.integers(min_value=16, max_value=24))
    base = draw(st.integers(min_value=0, max_value=2**32 - 1)) >> (32 - vpc_prefix) << (32 - vpc_prefix)
    vpc = IPv4Network((base, vpc_prefix))
    zones = [f"zone-{i}" for i in range(draw(st.integers(min_value=1, max_value=6)))]
    tiers = draw(
        st.dictionaries(
            st.sampled_from(["public", "private", "intra", "database"]),
            st.integers(min_value=vpc_prefix, max_value=28),
            min_size=1,
        )
    )
    return vpc, zones, tiers


def fits(vpc, zones, tiers) -> bool:
    return sum(len(zones) * 2 ** (32 - prefix) for prefix in tiers.values()) <= vpc.num_addresses


@given(plans())
def test_subnets_are_disjoint_inside_the_vpc_and_sized_as_asked(plan):
    vpc, zones, tiers = plan
    if not fits(vpc, zones, tiers):
        with pytest.raises(CidrPlanError, match="addresses but"):
            plan_subnets(vpc, zones, tiers)
        return
    subnets = plan_subnets(vpc, zones, tiers)
    assert len(subnets) == len(zones) * len(tiers)
    assert {(s.tier, s.zone) for s in subnets} == {(t, z) for t in tiers for z in zones}
    for subnet in subnets:
        assert subnet.cidr.subnet_of(vpc)
        assert subnet.cidr.prefixlen == tiers[subnet.tier]
    for index, first in enumerate(subnets):
        for second in subnets[index + 1 :]:
            assert not first.cidr.overlaps(second.cidr), (first, second)


@given(plans())
def test_planning_is_deterministic(plan):
    vpc, zones, tiers = plan
    if fits(vpc, zones, tiers):
        assert plan_subnets(vpc, zones, tiers) == plan_subnets(vpc, zones, tiers)


def test_order_is_tier_then_zone():
    subnets = plan_subnets("10.0.0.0/16", ["a", "b"], {"public": 24, "private": 19})
    assert [(s.tier, s.zone, str(s.cidr)) for s in subnets] == [
        ("public", "a", "10.0.64.0/24"),
        ("public", "b", "10.0.65.0/24"),
        ("private", "a", "10.0.0.0/19"),
        ("private", "b", "10.0.32.0/19"),
    ]


@pytest.mark.parametrize(
    ("vpc", "zones", "tiers", "message"),
    [
        ("10.0.0.0/24", ["a"], {"private": 19}, "a /19 private subnet cannot fit in 10.0.0.0/24"),
        ("10.0.0.0/16", ["a"], {"tiny": 29}, "smaller than AWS allows"),
        ("10.0.0.0/20", ["a", "b"], {"private": 20}, "2 subnets need 8192 addresses but 10.0.0.0/20 holds 4096"),
        ("10.0.0.0/16", ["a", "a"], {"private": 20}, "zones must be distinct"),
    ],
)
def test_impossible_plans_say_why(vpc, zones, tiers, message):
    with pytest.raises(CidrPlanError, match=re.escape(message)):
        plan_subnets(vpc, zones, tiers)
