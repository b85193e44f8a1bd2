"""The Kubernetes objects a synthesized stack deploys, and the pod templates of its workloads."""
from __future__ import annotations


def objects(graph, kind: str, namespace: str | None = None) -> list[dict]:
    return [
        r.inputs for r in graph.resources
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind
        and (namespace is None or r.inputs["metadata"].get("namespace") == namespace)
    ]


def pod_templates(graph, namespace: str) -> list[dict]:
    """The pod templates of the namespace's workloads: Deployments' and StatefulSets', and a LeaderWorkerSet's
    leader and worker."""
    templates = [workload["spec"]["template"] for kind in ("Deployment", "StatefulSet") for workload in objects(graph, kind, namespace)]
    for workload in objects(graph, "LeaderWorkerSet", namespace):
        group = workload["spec"]["leaderWorkerTemplate"]
        templates += [group["leaderTemplate"], group["workerTemplate"]]
    return templates
