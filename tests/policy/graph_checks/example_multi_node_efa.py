"""AIP_SRV_1 (`aiplane/policy/graph_checks/multi_node_efa.py`): examples it passes and fails."""
from __future__ import annotations

from tests.policy.graph_checks.builders import efa_pool, multi_node_server


def passing() -> None:
    efa_pool("aip-srv-1-pass-pool", "frontier")
    multi_node_server("aip-srv-1-pass", "frontier")


def failing() -> None:
    efa_pool("aip-srv-1-fail-pool", "frontier")
    efa_pool("aip-srv-1-fail-plain-pool", "plain", efa=False)
    # No EFA interfaces asked for: NCCL would run over TCP.
    multi_node_server("aip-srv-1-fail-no-efa", "frontier", efa=None)
    # Asked for, on nodes that have none.
    multi_node_server("aip-srv-1-fail-plain-nodes", "plain")
    # On a pool nothing in the stack builds.
    multi_node_server("aip-srv-1-fail-no-pool", "elsewhere")
