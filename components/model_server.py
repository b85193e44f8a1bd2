"""A vLLM model server per served model, on its GPU pool, sized by the capacity plan.

Defaults (behaviour, not options):
- pods run only on the model's pool: a node selector on the pool label and a toleration of the GPU taint;
- each replica asks for exactly its tensor-parallel degree of GPUs (`nvidia.com/gpu`, or under DRA a claim
  from a ResourceClaimTemplate of its pool's DeviceClass), at serving priority, with a shared-memory volume
  for NCCL's intra-node traffic, and vLLM runs with that degree, the plan's batch and the model's context;
- weights stream from the models bucket (the hot tier) with vLLM's Run:ai model streamer, through an IAM
  role (EKS Pod Identity) that may read only the model's prefix and decrypt with the storage key;
- a restricted, non-root, read-only container pinned by digest; caches go to volumes;
- readiness on vLLM's `/health`, with a start-up allowance for loading the weights and warming the engine, and
  a deploy that waits for a node and the image besides, both from the plan's cold-start estimate;
- a Service, a PodDisruptionBudget, and a NetworkPolicy that admits the model gateway and Prometheus;
- KEDA scales replicas between the plan's nominal and incident counts on the serving signals vLLM exports
  (requests waiting, requests running), never on CPU, which says nothing about a GPU server's load;
- a model planned across nodes runs as a LeaderWorkerSet instead of a Deployment (components/leader_worker_set.py):
  a replica is a group of pods on EFA, the Service and KEDA reach its leader;
- a model with more than one replica is reached through its InferencePool on the inference gateway
  (components/inference_gateway.py), which its NetworkPolicy admits with the model's endpoint picker.
"""
from __future__ import annotations

import json
import math
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.components.base import AiplaneComponent
from aiplane.components.iam import pod_identity_association, pod_identity_role
from aiplane.components.inference_gateway import INFERENCE_GATEWAY_NAMESPACE, picker_name, pooled_endpoint
from aiplane.components.leader_worker_set import (
    EFA_ENVIRONMENT,
    LEADER_SCRIPT,
    LWS_API_VERSION,
    ROLE_LABEL,
    WORKER_SCRIPT,
    efa_node_selector,
    leader_worker_set_spec,
)
from aiplane.components.scheduling import GpuRequest
from aiplane.components.workloads import (
    GATEWAY_NAMESPACE,
    MONITORING_NAMESPACE,
    autoscaled,
    cluster_service,
    container_security_context,
    dns_egress,
    namespaces_peer,
    one_at_a_time_budget,
    pod_security_context,
    service_account,
)
from aiplane.planning.node_profiles import EFA_RESOURCE, GPU_TAINT, POOL_LABEL

# vLLM's OpenAI-compatible server, pinned by digest so a re-pushed tag cannot change what runs.
VLLM_IMAGE = "vllm/vllm-openai:v0.10.2@sha256:607442e407b0fea97f8a132a78b787c121a996dd4de181fa08e8da06e71ec2db"
VLLM_PORT = 8000
SERVING_NAMESPACE = "model-serving"
GPU_RESOURCE = "nvidia.com/gpu"
# What vLLM exports per served model; KEDA reads them from Prometheus.
WAITING_METRIC = "vllm:num_requests_waiting"
RUNNING_METRIC = "vllm:num_requests_running"
CACHE_DIR = "/cache"


class ModelServerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    model: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,46}[a-z0-9])?$")
    pool: str
    tensor_parallel: int = Field(ge=1)
    pipeline_parallel: int = Field(default=1, ge=1, description="Nodes per replica: above 1, a LeaderWorkerSet over EFA.")
    efa_interfaces: int = Field(default=0, ge=0, description="EFA interfaces per node, all asked for by a multi-node server's pods.")
    zone: str | None = Field(default=None, description="A multi-node server's zone: its pool's one zone.")
    placement_group: Any = Field(
        default=None, description="pulumi.Input[str]: a multi-node server's placement group, its pool's (none where a reservation places the pool)"
    )
    max_num_seqs: int = Field(ge=1, description="The plan's batch per replica.")
    startup_seconds: int = Field(
        default=1200, ge=10, description="What the startup probe allows: the cold-start estimate's weights and engine, with its margin."
    )
    before_start_seconds: int = Field(
        default=600, ge=0, description="What a rollout waits for before the container starts: the estimate's node and image, with its margin."
    )
    max_model_len: int = Field(ge=1, description="The model's context, in tokens.")
    replicas: int = Field(ge=1, description="The plan's nominal replicas: the floor KEDA keeps.")
    max_replicas: int = Field(ge=1, description="The plan's incident replicas: the ceiling.")
    cpu_per_gpu: float = Field(gt=0)
    memory_gib_per_gpu: float = Field(gt=0)
    weights_bucket: Any = Field(description="pulumi.Input[str]: the models bucket")
    weights_prefix: str
    weights_key_arn: Any = Field(description="pulumi.Input[str]: the key the bucket is encrypted with")
    region: str
    cluster_name: Any = Field(description="pulumi.Input[str]")
    kubernetes_provider: Any
    namespace: Any = Field(description="k8s.core.v1.Namespace the servers share")
    prometheus_url: str = Field(description="Where KEDA queries the serving signals")
    depends_on: list[Any] = Field(default_factory=list, description="The autoscaler's installation, which brings its CRDs")
    nodes: list[Any] = Field(default_factory=list, description="What brings the GPU nodes the pods run on (the pool's component)")
    lws_controller: Any = Field(default=None, description="The LWS release, which brings the LeaderWorkerSet CRD (multi-node servers)")
    pooled: bool = Field(default=False, description="Behind an InferencePool: the inference gateway and the model's picker reach it")
    priority_class: str | None = Field(default=None, description="The pods' PriorityClass (serving's)")
    gpu_device_class: str | None = Field(default=None, description="Under DRA: the DeviceClass its pods claim GPUs from, instead of nvidia.com/gpu")

    @model_validator(mode="after")
    def _replicas_ordered(self) -> ModelServerArgs:
        if self.replicas > self.max_replicas:
            raise ValueError(f"replicas {self.replicas} exceed max_replicas {self.max_replicas}")
        if self.multi_node and (not self.efa_interfaces or self.zone is None):
            raise ValueError("a multi-node server needs its pool's EFA interfaces and zone (and its placement group, where it has one)")
        if self.multi_node and self.lws_controller is None:
            raise ValueError("a multi-node server needs the LWS controller (lws_controller)")
        return self

    @property
    def multi_node(self) -> bool:
        return self.pipeline_parallel > 1


def server_endpoint(model: str, pooled: bool = False) -> str:
    """The OpenAI-compatible base URL of a model's server inside the cluster: its route on the inference gateway
    when it is pooled, else its Service."""
    if pooled:
        return pooled_endpoint(model)
    return f"http://{model}.{SERVING_NAMESPACE}.svc.cluster.local:{VLLM_PORT}/v1"


def gpu_request(args: ModelServerArgs) -> GpuRequest:
    return GpuRequest(args.tensor_parallel, args.gpu_device_class)


def claim_template_name(model: str) -> str:
    return f"{model}-gpus"


def server_resources(args: ModelServerArgs) -> dict[str, str]:
    """Exactly TP GPUs, and the CPU and memory that go with them on the node, less a fifth for the node; on a
    multi-node server, every EFA interface of the node as well."""
    resources = {
        **gpu_request(args).limits,
        "cpu": str(max(1, math.floor(args.cpu_per_gpu * args.tensor_parallel * 0.8))),
        "memory": f"{max(4, math.floor(args.memory_gib_per_gpu * args.tensor_parallel * 0.8))}Gi",
    }
    if args.multi_node:
        resources[EFA_RESOURCE] = str(args.efa_interfaces)
    return resources


def vllm_arguments(args: ModelServerArgs, weights: str) -> list[str]:
    return [
        "--model", weights,
        "--load-format", "runai_streamer",
        "--served-model-name", args.model,
        "--tensor-parallel-size", str(args.tensor_parallel),
        *(["--pipeline-parallel-size", str(args.pipeline_parallel), "--distributed-executor-backend", "ray"] if args.multi_node else []),
        "--max-model-len", str(args.max_model_len),
        "--max-num-seqs", str(args.max_num_seqs),
        "--gpu-memory-utilization", "0.90",
        "--port", str(VLLM_PORT),
        # No --disable-log-requests: deprecated in the pinned vLLM, whose default already leaves requests
        # unlogged (`enable_log_requests` is off). No --otlp-traces-endpoint: vLLM refuses to start with it
        # unless the OpenTelemetry SDK is installed, and the pinned vllm/vllm-openai image ships none (vLLM's
        # OpenTelemetry example installs it into an image of its own). The gateway traces every request it
        # sends here. tests/conformance/test_vllm_arguments.py holds both against the pinned wheel.
    ]


class ModelServer(AiplaneComponent):
    endpoint: str
    service_account: str
    pod_selector: dict[str, str]  # the pods that serve the API (a multi-node server's leaders)

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:serving:ModelServer", name, opts)
        labels = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": args.model, POOL_LABEL: args.pool}
        selector = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": args.model}
        on_cluster = self.child(provider=args.kubernetes_provider, depends_on=[args.namespace])
        metadata = k8s.meta.v1.ObjectMetaArgs(name=args.model, namespace=SERVING_NAMESPACE, labels=labels)
        self.service_account = args.model
        self.endpoint = server_endpoint(args.model, args.pooled)

        self._weights_reader(name, args)
        service_account(f"{name}-sa", metadata, on_cluster)
        gpu_request(args).claim_template(f"{name}-claims", claim_template_name(args.model), SERVING_NAMESPACE, on_cluster)
        weights = pulumi.Output.from_input(args.weights_bucket).apply(lambda bucket: f"s3://{bucket}/{args.weights_prefix}")
        # A LeaderWorkerSet needs its controller's CRD as well as its nodes.
        controller = [args.lws_controller] if args.multi_node else []
        workload_opts = autoscaled(
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[*args.nodes, *controller])),
            args.startup_seconds,
            args.before_start_seconds,
        )
        if args.multi_node:
            workload = k8s.apiextensions.CustomResource(
                f"{name}-lws",
                api_version=LWS_API_VERSION,
                kind="LeaderWorkerSet",
                metadata=metadata,
                spec=leader_worker_set_spec(
                    args.replicas, args.pipeline_parallel, labels, self._pod_spec(args, weights, "leader"), self._pod_spec(args, weights, "worker")
                ),
                opts=workload_opts,
            )
            service_selector = {**selector, ROLE_LABEL: "leader"}  # only the leader serves the API
        else:
            workload = k8s.apps.v1.Deployment(
                f"{name}-deployment",
                metadata=metadata,
                spec=k8s.apps.v1.DeploymentSpecArgs(
                    replicas=args.replicas,
                    selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                    # A new replica needs GPUs of its own before an old one goes: never below the serving floor.
                    strategy=k8s.apps.v1.DeploymentStrategyArgs(
                        type="RollingUpdate",
                        rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
                    ),
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                        spec=self._pod_spec(args, weights),
                    ),
                ),
                opts=workload_opts,
            )
            service_selector = selector
        self.pod_selector = service_selector
        cluster_service(f"{name}-service", metadata, service_selector, {"http": VLLM_PORT}, on_cluster)
        one_at_a_time_budget(f"{name}-pdb", metadata, selector, on_cluster)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=metadata,
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[
                            namespaces_peer([GATEWAY_NAMESPACE, MONITORING_NAMESPACE, *([INFERENCE_GATEWAY_NAMESPACE] if args.pooled else [])]),
                            # The model's endpoint picker reads each server's queue and cache metrics.
                            *([k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels={"app.kubernetes.io/instance": picker_name(args.model)}
                            ))] if args.pooled else []),
                        ],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=VLLM_PORT)],
                    ),
                    *self._group_traffic(args, selector, k8s.networking.v1.NetworkPolicyIngressRuleArgs, "from_"),
                ],
                egress=[
                    dns_egress(),
                    *self._group_traffic(args, selector, k8s.networking.v1.NetworkPolicyEgressRuleArgs, "to"),
                    # Weights stream from S3 over HTTPS (through the VPC's gateway endpoint).
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0"))],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                    ),
                ],
            ),
            opts=on_cluster,
        )
        self._autoscaler(name, args, workload, metadata)
        self.register_outputs({"endpoint": self.endpoint})

    @staticmethod
    def _group_traffic(args: ModelServerArgs, selector: dict[str, str], rule: type, direction: str) -> list:
        """A multi-node replica's pods talk among themselves on every port: Ray, and NCCL's bootstrap sockets
        (EFA's own traffic bypasses the kernel, and so the policy)."""
        if not args.multi_node:
            return []
        return [rule(**{direction: [k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector))]})]

    def _pod_spec(self, args: ModelServerArgs, weights: pulumi.Output[str], role: str | None = None) -> k8s.core.v1.PodSpecArgs:
        """A one-node server's pod, or (`role` leader or worker) a pod of a multi-node server's group."""
        resources = server_resources(args)
        health = k8s.core.v1.HTTPGetActionArgs(path="/health", port=VLLM_PORT)
        cache_env = {
            "HOME": CACHE_DIR,
            "XDG_CACHE_HOME": CACHE_DIR,
            "HF_HOME": f"{CACHE_DIR}/huggingface",
            "VLLM_CACHE_ROOT": f"{CACHE_DIR}/vllm",
            "TRITON_CACHE_DIR": f"{CACHE_DIR}/triton",
            "AWS_REGION": args.region,
            **(EFA_ENVIRONMENT if args.multi_node else {}),
        }
        serves = role in (None, "leader")
        node_selector: dict[str, Any] = {POOL_LABEL: args.pool}
        command = None
        if args.multi_node:
            node_selector = efa_node_selector(args.pool, args.zone, args.placement_group)
            # sh -c SCRIPT NAME ARGS...: the arguments after the name are the script's "$@".
            command = ["/bin/sh", "-c", LEADER_SCRIPT if serves else WORKER_SCRIPT, role]
        return k8s.core.v1.PodSpecArgs(
            service_account_name=args.model,
            # Pod Identity injects its credentials without the Kubernetes API token.
            automount_service_account_token=False,
            priority_class_name=args.priority_class,
            security_context=pod_security_context(),
            resource_claims=gpu_request(args).pod_claims(claim_template_name(args.model)),
            node_selector=node_selector,
            tolerations=[k8s.core.v1.TolerationArgs(key=GPU_TAINT["key"], operator="Exists", effect=GPU_TAINT["effect"])],
            termination_grace_period_seconds=60,
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="vllm",
                    image=VLLM_IMAGE,
                    image_pull_policy="Always",
                    command=command,
                    args=weights.apply(lambda path: vllm_arguments(args, path)) if serves else None,
                    env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in cache_env.items()],
                    ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=VLLM_PORT)] if serves else None,
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests=resources, limits=resources, claims=gpu_request(args).container_claims()
                    ),
                    # A worker serves no HTTP: its health is the group's (LWS recreates the group when a pod fails).
                    startup_probe=k8s.core.v1.ProbeArgs(
                        http_get=health, period_seconds=10, failure_threshold=max(1, args.startup_seconds // 10)
                    ) if serves else None,
                    readiness_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=5, failure_threshold=2) if serves else None,
                    liveness_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=15, failure_threshold=4) if serves else None,
                    security_context=container_security_context(),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name="shm", mount_path="/dev/shm"),
                        k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_DIR),
                        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                    ],
                )
            ],
            volumes=[
                # NCCL moves tensors between the replica's GPUs through shared memory.
                k8s.core.v1.VolumeArgs(
                    name="shm", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit=f"{min(8 * args.tensor_parallel, 64)}Gi")
                ),
                k8s.core.v1.VolumeArgs(name="cache", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="50Gi")),
                k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="10Gi")),
            ],
        )

    def _weights_reader(self, name: str, args: ModelServerArgs) -> None:
        role = pod_identity_role(self, f"{name}-weights-role", f"Reads the weights of {args.model}")
        aws.iam.RolePolicy(
            f"{name}-weights-policy",
            aws.iam.RolePolicyArgs(
                role=role.id,
                policy=pulumi.Output.all(args.weights_bucket, args.weights_key_arn).apply(
                    lambda values: weights_read_policy(values[0], args.weights_prefix, values[1])
                ),
            ),
            opts=self.child(),
        )
        pod_identity_association(
            self, f"{name}-weights-identity", role, cluster_name=args.cluster_name, namespace=SERVING_NAMESPACE, service_account=args.model
        )

    def _autoscaler(self, name: str, args: ModelServerArgs, workload: pulumi.CustomResource, metadata) -> None:
        selector = f'model_name="{args.model}"'
        k8s.apiextensions.CustomResource(
            f"{name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=metadata,
            spec={
                # A LeaderWorkerSet scales by groups through its scale subresource, as a Deployment by pods.
                "scaleTargetRef": {
                    "apiVersion": LWS_API_VERSION if args.multi_node else "apps/v1",
                    "kind": "LeaderWorkerSet" if args.multi_node else "Deployment",
                    "name": workload.metadata.name if isinstance(workload, k8s.apps.v1.Deployment) else args.model,
                },
                "minReplicaCount": args.replicas,
                "maxReplicaCount": args.max_replicas,
                # A GPU replica takes minutes to start: scale down slowly so a lull does not throw one away.
                "cooldownPeriod": 600,
                "triggers": [
                    {
                        "type": "prometheus",
                        "name": "queue-depth",
                        "metadata": {
                            "serverAddress": args.prometheus_url,
                            "query": f"sum({WAITING_METRIC}{{{selector}}})",
                            # More than a quarter of a batch waiting per replica: add a replica.
                            "threshold": str(max(1, args.max_num_seqs // 4)),
                        },
                    },
                    {
                        "type": "prometheus",
                        "name": "running-requests",
                        "metadata": {
                            "serverAddress": args.prometheus_url,
                            "query": f"sum({RUNNING_METRIC}{{{selector}}})",
                            # Replicas kept at most 90% busy: the plan's headroom.
                            "threshold": str(max(1, math.floor(args.max_num_seqs * 0.9))),
                        },
                    },
                ],
            },
            opts=self.child(provider=args.kubernetes_provider, depends_on=[args.namespace, *args.depends_on, workload]),
        )


def weights_read_policy(bucket: str, prefix: str, key_arn: str) -> str:
    """Read one model's weights: its prefix in the models bucket, and the key to decrypt them."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "ReadWeights", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*"]},
                {
                    "Sid": "ListWeights",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [f"arn:aws:s3:::{bucket}"],
                    "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                },
                {"Sid": "DecryptWeights", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn]},
            ],
        }
    )
