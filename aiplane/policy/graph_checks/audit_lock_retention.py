"""AIP_S3_6: the audit bucket's Object Lock keeps records as long as the profile says."""
from __future__ import annotations

from collections.abc import Iterator

from aiplane.policy.graph_checks.context import GateContext
from aiplane.synth.graph import GraphResource, ResourceGraph

ID = "AIP_S3_6"
TITLE = "Object Lock retention is at least the profile's floor"
WHY = (
    "Audit records kept for less than the period the environment must prove (its profile's "
    "`minimumRetentionDays.auditObjectLock`) can be deleted before an auditor asks for them; Object Lock "
    "only protects them for the retention it is given."
)
RESOURCES = ("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",)
DAYS_PER_YEAR = 365


def retention_days(configuration: GraphResource) -> int:
    retention = ((configuration.inputs.get("rule") or {}).get("defaultRetention")) or {}
    return int(retention.get("days") or 0) + DAYS_PER_YEAR * int(retention.get("years") or 0)


def evaluate(graph: ResourceGraph, context: GateContext) -> Iterator[tuple[GraphResource, bool]]:
    for configuration in graph.resources:
        if configuration.type in RESOURCES:
            yield configuration, retention_days(configuration) >= context.floors.audit_object_lock
