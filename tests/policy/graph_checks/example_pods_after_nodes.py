"""AIP_DEP_1 (`aiplane/policy/graph_checks/pods_after_nodes.py`): examples it passes and fails."""
from __future__ import annotations

import pulumi

from tests.policy.graph_checks.builders import deployment, node_group, provider


def passing() -> None:
    system = node_group("aip-dep-1-pass-system")
    chat = node_group("aip-dep-1-pass-chat", pool="chat")
    on_nodes = provider("aip-dep-1-pass-k8s", after=[system])
    deployment("aip-dep-1-pass", on_nodes)
    deployment("aip-dep-1-pass-gpu", on_nodes, gpus=1, pool="chat", opts=pulumi.ResourceOptions(depends_on=[chat]))


def failing() -> None:
    system = node_group("aip-dep-1-fail-system")
    node_group("aip-dep-1-fail-chat", pool="chat")
    deployment("aip-dep-1-fail", provider("aip-dep-1-fail-k8s"))
    # Any node, but not one of its pool: a GPU pod cannot run on the system nodes.
    deployment("aip-dep-1-fail-gpu", provider("aip-dep-1-fail-gpu-k8s", after=[system]), gpus=1, pool="chat")
