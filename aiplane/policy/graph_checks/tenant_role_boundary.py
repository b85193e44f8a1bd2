"""AIP_TEN_4: every IAM role of a tenant is capped by a permissions boundary."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.policy.graph_checks.support import boundary_of
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_TEN_4"
TITLE = "Every tenant IAM role has a permissions boundary"
WHY = (
    "A tenant's permissions boundary caps what any of its roles can ever do, whatever policy is later "
    "attached; a role of a tenant without it is capped only by the policies it happens to have today."
)
RESOURCES = ("aws:iam/role:Role",)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for role in graph.resources:
        if role.type == RESOURCES[0] and boundary_of(graph, role):
            yield role, bool(role.inputs.get("permissionsBoundary"))
