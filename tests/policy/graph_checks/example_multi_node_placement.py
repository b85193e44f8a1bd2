"""AIP_SRV_2 (`aiplane/policy/graph_checks/multi_node_placement.py`): examples it passes and fails."""
from __future__ import annotations

from tests.policy.graph_checks.builders import efa_pool, multi_node_server


def passing() -> None:
    efa_pool("aip-srv-2-pass-pool", "frontier")
    multi_node_server("aip-srv-2-pass", "frontier")
    # On a capacity reservation the reservation places the nodes: pool and zone pin the group.
    efa_pool("aip-srv-2-pass-reserved-pool", "reserved", placement=False, reservation="cr-0123456789abcdef0")
    multi_node_server("aip-srv-2-pass-reserved", "reserved", placement_group=None)


def failing() -> None:
    efa_pool("aip-srv-2-fail-pool", "frontier")
    efa_pool("aip-srv-2-fail-spread-pool", "spread", subnets=2)
    efa_pool("aip-srv-2-fail-loose-pool", "loose", placement=False)
    # The worker may land in another zone than its leader.
    multi_node_server("aip-srv-2-fail-zones", "frontier", worker_zone="us-east-1b")
    # No placement group selected.
    multi_node_server("aip-srv-2-fail-no-group", "frontier", placement_group=None)
    # Pools that launch across two subnets, or outside a cluster placement group.
    multi_node_server("aip-srv-2-fail-spread", "spread")
    multi_node_server("aip-srv-2-fail-loose", "loose")
