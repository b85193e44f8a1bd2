"""What a model server spanning several nodes adds to a one-node server: a LeaderWorkerSet
(`leaderworkerset.x-k8s.io/v1`, the LWS controller) whose groups are one replica each, a leader that starts a
Ray head and, once every worker has joined, vLLM's OpenAI-compatible server with the planned tensor and
pipeline sizes, and workers that join the leader's Ray cluster.

Defaults (behaviour, not options):
- a group is one replica: the leader and `pipeline_parallel - 1` workers, one per node, each asking for all
  of its node's GPUs and EFA interfaces (`vpc.amazonaws.com/efa`, from the EFA device plugin);
- every pod of a group is pinned to the pool's zone and placement group by node selector, so NCCL's traffic
  stays inside one cluster placement group;
- NCCL runs over EFA through libfabric (`FI_PROVIDER=efa`) with GPUDirect RDMA, and its bootstrap over the
  pod's interface; a pod never mounts `/dev/infiniband` from the host: the device plugin hands in exactly the
  devices it allocated (a host mount hides them from the plugin's accounting and is a known cause of NCCL
  quietly falling back to TCP, aws-samples/aws-do-eks#63);
- a group is recreated whole when one of its pods restarts (a pipeline without a stage serves nothing).
"""
from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from aiplane.planning.node_profiles import PLACEMENT_GROUP_LABEL, POOL_LABEL, ZONE_LABEL

# The LWS controller, a pinned Helm release from the project's OCI registry (chart version = release
# version without the v, kubernetes-sigs/lws Makefile `CHART_VERSION`); the image tag is set explicitly.
LWS_CHART = {"chart": "oci://registry.k8s.io/lws/charts/lws", "version": "0.9.0"}
LWS_IMAGE_TAG = "v0.9.0"
LWS_NAMESPACE = "lws-system"
LWS_API_VERSION = "leaderworkerset.x-k8s.io/v1"
# Labels the controller puts on every pod of a set (kubernetes-sigs/lws api/leaderworkerset/v1).
LWS_SET_LABEL = "leaderworkerset.sigs.k8s.io/name"
ROLE_LABEL = "aiplane.io/role"
RAY_PORT = 6379
# How long a leader waits for its workers to join before the pod fails (and LWS recreates the group).
RAY_JOIN_SECONDS = 600
# libfabric's EFA provider, with GPUDirect RDMA (GPU memory straight to the EFA device, p4d and later), fork
# safety for the verbs library (Ray forks its workers), NCCL's socket bootstrap on the pod's interface, not the
# loopback: as aws/sagemaker-training-toolkit sets them on EFA RDMA instances (torch_distributed.py), and
# FI_PROVIDER as EFA builds of NCCL containers set it.
EFA_ENVIRONMENT = {
    "FI_PROVIDER": "efa",
    "FI_EFA_USE_DEVICE_RDMA": "1",
    "RDMAV_FORK_SAFE": "1",
    "NCCL_SOCKET_IFNAME": "^lo",
}

# The leader: a Ray head, then vLLM once the group's every pod has joined. The vLLM flags follow as the
# container's arguments ("$@"), so they stay a list that the conformance tests read like a one-node server's.
LEADER_SCRIPT = (
    f"ray start --head --port={RAY_PORT} --disable-usage-stats || exit 1\n"
    f"for attempt in $(seq {RAY_JOIN_SECONDS // 5}); do\n"
    '  joined=$(python3 -c \'import ray; ray.init(address="auto", logging_level="error"); '
    'print(sum(node["Alive"] for node in ray.nodes()))\')\n'
    '  [ "$joined" = "$LWS_GROUP_SIZE" ] && exec python3 -m vllm.entrypoints.openai.api_server "$@"\n'
    "  sleep 5\n"
    "done\n"
    f'echo "not every pod of the group joined the Ray cluster in {RAY_JOIN_SECONDS} s" >&2\n'
    "exit 1\n"
)
# A worker: join the leader's Ray cluster and stay there (the leader's vLLM places its pipeline stages).
WORKER_SCRIPT = (
    f"for attempt in $(seq {RAY_JOIN_SECONDS // 5}); do\n"
    f'  ray start --address="$LWS_LEADER_ADDRESS:{RAY_PORT}" --block --disable-usage-stats && exit 0\n'
    "  sleep 5\n"
    "done\n"
    "exit 1\n"
)


def efa_node_selector(pool: str, zone: str, placement_group: Any) -> dict[str, Any]:
    """The pool's nodes in its one zone and cluster placement group (none on a pool its capacity reservation places)."""
    selector = {POOL_LABEL: pool, ZONE_LABEL: zone}
    return selector if placement_group is None else {**selector, PLACEMENT_GROUP_LABEL: placement_group}


def leader_worker_set_spec(
    replicas: int, pipeline_parallel: int, labels: dict[str, str], leader: k8s.core.v1.PodSpecArgs, worker: k8s.core.v1.PodSpecArgs
) -> dict[str, Any]:
    """A set of `replicas` groups of `pipeline_parallel` pods; a rollout adds a group before it takes one away."""
    return {
        "replicas": replicas,
        "startupPolicy": "LeaderCreated",
        "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": {"maxUnavailable": 0, "maxSurge": 1}},
        "leaderWorkerTemplate": {
            "size": pipeline_parallel,
            "restartPolicy": "RecreateGroupOnPodRestart",
            "leaderTemplate": k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels, ROLE_LABEL: "leader"}), spec=leader
            ),
            "workerTemplate": k8s.core.v1.PodTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels, ROLE_LABEL: "worker"}), spec=worker
            ),
        },
    }
