"""aiplane's deploy-safety checks (`AIP_DEP_*`): rules on the synthesized graph, for facts checkov never sees
(resource options, providers, the order the Pulumi engine creates things in, awaits, field managers).

Besides them, the rules that span resources checkov judges one at a time: tenant boundaries (`AIP_TEN_*`),
retention against the profile's floor (`AIP_S3_6`), multi-node serving on its fabric (`AIP_SRV_*`), and
shared GPU capacity: queues, priorities and the allocation mode (`AIP_SCH_*`).

One check per module, shaped like the checkov checks in `policies/checks/` (ID, TITLE, WHY, RESOURCES) plus
`evaluate(graph, context)`, which yields `(resource, passed)` for every resource the check is about. The gate turns
the results into findings with the same profiles, waivers and report formats as checkov's.
"""
from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

from aiplane.policy.catalog import CheckInfo, module_catalog
from aiplane.policy.graph_checks import (
    audit_lock_retention,
    await_covers_startup,
    field_ownership,
    gpu_request_mode,
    multi_node_efa,
    multi_node_placement,
    namespace_owner,
    no_host_infiniband,
    pods_after_nodes,
    tenant_default_deny,
    tenant_local_queue,
    tenant_pod_security,
    tenant_priority_ceiling,
    tenant_quota,
    tenant_role_boundary,
)
from aiplane.policy.graph_checks.context import GateContext
from aiplane.synth.graph import GraphResource, ResourceGraph

GRAPH_CHECKS: tuple[ModuleType, ...] = (
    pods_after_nodes, await_covers_startup, field_ownership,
    tenant_default_deny, tenant_quota, tenant_pod_security, tenant_role_boundary, namespace_owner, audit_lock_retention,
    multi_node_efa, multi_node_placement, no_host_infiniband,
    tenant_local_queue, tenant_priority_ceiling, gpu_request_mode,
)
SOURCE_FOLDER = "aiplane/policy/graph_checks"


def graph_check_catalog() -> list[CheckInfo]:
    return module_catalog(GRAPH_CHECKS, SOURCE_FOLDER)


def run_graph_checks(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[CheckInfo, GraphResource, bool]]:
    for info, check in zip(graph_check_catalog(), GRAPH_CHECKS, strict=True):
        for resource, passed in check.evaluate(graph, context):
            yield info, resource, passed
