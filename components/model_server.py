"""A vLLM model server per served model, on its GPU pool, sized by the capacity plan.

Defaults (behaviour, not options):
- pods run only on the model's pool: a node selector on the pool label and a toleration of the GPU taint;
- each replica asks for exactly its tensor-parallel degree of `nvidia.com/gpu`, with a shared-memory volume
  for NCCL's intra-node traffic, and vLLM runs with that degree, the plan's batch and the model's context;
- weights stream from the models bucket (the hot tier) with vLLM's Run:ai model streamer, through an IAM
  role (EKS Pod Identity) that may read only the model's prefix and decrypt with the storage key;
- a restricted, non-root, read-only container pinned by digest; caches go to volumes;
- readiness on vLLM's `/health`, with a start-up allowance for loading the weights;
- a Service, a PodDisruptionBudget, and a NetworkPolicy that admits the model gateway and Prometheus;
- KEDA scales replicas between the plan's nominal and incident counts on the serving signals vLLM exports
  (requests waiting, requests running), never on CPU, which says nothing about a GPU server's load.
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
from aiplane.planning.node_profiles import GPU_TAINT, POOL_LABEL

# vLLM's OpenAI-compatible server, pinned by digest so a re-pushed tag cannot change what runs.
VLLM_IMAGE = "vllm/vllm-openai:v0.10.2@sha256:607442e407b0fea97f8a132a78b787c121a996dd4de181fa08e8da06e71ec2db"
VLLM_PORT = 8000
SERVING_NAMESPACE = "model-serving"
GPU_RESOURCE = "nvidia.com/gpu"
# Loading tens of gigabytes of weights takes minutes: the start-up probe allows up to 20.
STARTUP_ALLOWANCE_SECONDS = 1200
# What vLLM exports per served model; KEDA reads them from Prometheus.
WAITING_METRIC = "vllm:num_requests_waiting"
RUNNING_METRIC = "vllm:num_requests_running"
CACHE_DIR = "/cache"


class ModelServerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    model: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,46}[a-z0-9])?$")
    pool: str
    tensor_parallel: int = Field(ge=1)
    max_num_seqs: int = Field(ge=1, description="The plan's batch per replica.")
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

    @model_validator(mode="after")
    def _replicas_ordered(self) -> ModelServerArgs:
        if self.replicas > self.max_replicas:
            raise ValueError(f"replicas {self.replicas} exceed max_replicas {self.max_replicas}")
        return self


def server_endpoint(model: str) -> str:
    """The OpenAI-compatible base URL of a model's server, inside the cluster."""
    return f"http://{model}.{SERVING_NAMESPACE}.svc.cluster.local:{VLLM_PORT}/v1"


def server_resources(args: ModelServerArgs) -> dict[str, str]:
    """Exactly TP GPUs, and the CPU and memory that go with them on the node, less a fifth for the node."""
    return {
        GPU_RESOURCE: str(args.tensor_parallel),
        "cpu": str(max(1, math.floor(args.cpu_per_gpu * args.tensor_parallel * 0.8))),
        "memory": f"{max(4, math.floor(args.memory_gib_per_gpu * args.tensor_parallel * 0.8))}Gi",
    }


def vllm_arguments(args: ModelServerArgs, weights: str) -> list[str]:
    return [
        "--model", weights,
        "--load-format", "runai_streamer",
        "--served-model-name", args.model,
        "--tensor-parallel-size", str(args.tensor_parallel),
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

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:serving:ModelServer", name, opts)
        labels = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": args.model, POOL_LABEL: args.pool}
        selector = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": args.model}
        on_cluster = self.child(provider=args.kubernetes_provider, depends_on=[args.namespace])
        metadata = k8s.meta.v1.ObjectMetaArgs(name=args.model, namespace=SERVING_NAMESPACE, labels=labels)
        self.service_account = args.model
        self.endpoint = server_endpoint(args.model)

        self._weights_reader(name, args)
        service_account(f"{name}-sa", metadata, on_cluster)
        weights = pulumi.Output.from_input(args.weights_bucket).apply(lambda bucket: f"s3://{bucket}/{args.weights_prefix}")
        deployment = k8s.apps.v1.Deployment(
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
            opts=autoscaled(
                pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=args.nodes)), STARTUP_ALLOWANCE_SECONDS
            ),
        )
        cluster_service(f"{name}-service", metadata, selector, {"http": VLLM_PORT}, on_cluster)
        one_at_a_time_budget(f"{name}-pdb", metadata, selector, on_cluster)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=metadata,
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[namespaces_peer([GATEWAY_NAMESPACE, MONITORING_NAMESPACE])],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=VLLM_PORT)],
                    )
                ],
                egress=[
                    dns_egress(),
                    # Weights stream from S3 over HTTPS (through the VPC's gateway endpoint).
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr="0.0.0.0/0"))],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                    ),
                ],
            ),
            opts=on_cluster,
        )
        self._autoscaler(name, args, deployment, metadata)
        self.register_outputs({"endpoint": self.endpoint})

    def _pod_spec(self, args: ModelServerArgs, weights: pulumi.Output[str]) -> k8s.core.v1.PodSpecArgs:
        resources = server_resources(args)
        health = k8s.core.v1.HTTPGetActionArgs(path="/health", port=VLLM_PORT)
        cache_env = {
            "HOME": CACHE_DIR,
            "XDG_CACHE_HOME": CACHE_DIR,
            "HF_HOME": f"{CACHE_DIR}/huggingface",
            "VLLM_CACHE_ROOT": f"{CACHE_DIR}/vllm",
            "TRITON_CACHE_DIR": f"{CACHE_DIR}/triton",
            "AWS_REGION": args.region,
        }
        return k8s.core.v1.PodSpecArgs(
            service_account_name=args.model,
            # Pod Identity injects its credentials without the Kubernetes API token.
            automount_service_account_token=False,
            security_context=pod_security_context(),
            node_selector={POOL_LABEL: args.pool},
            tolerations=[k8s.core.v1.TolerationArgs(key=GPU_TAINT["key"], operator="Exists", effect=GPU_TAINT["effect"])],
            termination_grace_period_seconds=60,
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="vllm",
                    image=VLLM_IMAGE,
                    image_pull_policy="Always",
                    args=weights.apply(lambda path: vllm_arguments(args, path)),
                    env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in cache_env.items()],
                    ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=VLLM_PORT)],
                    resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
                    startup_probe=k8s.core.v1.ProbeArgs(
                        http_get=health, period_seconds=10, failure_threshold=STARTUP_ALLOWANCE_SECONDS // 10
                    ),
                    readiness_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=5, failure_threshold=2),
                    liveness_probe=k8s.core.v1.ProbeArgs(http_get=health, period_seconds=15, failure_threshold=4),
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

    def _autoscaler(self, name: str, args: ModelServerArgs, deployment: k8s.apps.v1.Deployment, metadata) -> None:
        selector = f'model_name="{args.model}"'
        k8s.apiextensions.CustomResource(
            f"{name}-scaler",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=metadata,
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.metadata.name},
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
            opts=self.child(provider=args.kubernetes_provider, depends_on=[args.namespace, *args.depends_on]),
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
