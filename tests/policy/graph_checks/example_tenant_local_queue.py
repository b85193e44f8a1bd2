"""AIP_SCH_1 (`aiplane/policy/graph_checks/tenant_local_queue.py`): examples it passes and fails."""
from __future__ import annotations

from tests.policy.graph_checks.builders import kueue_queue, tenant_namespace


def _queues(namespace: str, cluster_queue: str, selects: dict | None) -> None:
    spec = {"cohortName": "aiplane-gpus", "resourceGroups": []}
    if selects is not None:
        spec["namespaceSelector"] = selects
    kueue_queue("ClusterQueue", cluster_queue, spec)
    kueue_queue("LocalQueue", f"{namespace}-gpus", {"clusterQueue": cluster_queue}, namespace=namespace)


def passing() -> None:
    tenant_namespace("aip-sch-1-pass")
    _queues("aip-sch-1-pass", "aip-sch-1-pass-cq", {"matchLabels": {"kubernetes.io/metadata.name": "aip-sch-1-pass"}})


def failing() -> None:
    tenant_namespace("aip-sch-1-fail-no-queue")
    # Its LocalQueue names a ClusterQueue for another namespace (another tenant's).
    tenant_namespace("aip-sch-1-fail-other")
    _queues("aip-sch-1-fail-other", "aip-sch-1-fail-other-cq", {"matchLabels": {"kubernetes.io/metadata.name": "someone-else"}})
    # A ClusterQueue open to every namespace (an empty selector) is shared, not the tenant's own.
    tenant_namespace("aip-sch-1-fail-open")
    _queues("aip-sch-1-fail-open", "aip-sch-1-fail-open-cq", {})
    # A LocalQueue that names a ClusterQueue nobody created.
    tenant_namespace("aip-sch-1-fail-dangling")
    kueue_queue("LocalQueue", "aip-sch-1-fail-dangling-gpus", {"clusterQueue": "nowhere"}, namespace="aip-sch-1-fail-dangling")
