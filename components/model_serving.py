"""The model servers of a cluster: their shared namespace, the autoscaler they scale with, and one vLLM
server per served model (components/model_server.py).

The namespace enforces the restricted Pod Security Standard: a model server needs GPUs, not privileges.
KEDA is a pinned Helm release; it turns the serving signals in Prometheus into replica counts. Where a model
is planned across nodes, the LeaderWorkerSet controller is a pinned Helm release too; where one has more than
one replica, the inference gateway and its pools (components/inference_gateway.py).
"""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent, StackSection, configured_by
from aiplane.components.gpu_software import helm_release
from aiplane.components.inference_gateway import InferenceGateway, InferenceGatewayArgs, PooledModel
from aiplane.components.leader_worker_set import LWS_CHART, LWS_IMAGE_TAG, LWS_NAMESPACE
from aiplane.components.model_server import (
    SERVING_NAMESPACE,
    VLLM_PORT,
    ModelServer,
    ModelServerArgs,
)
from aiplane.components.workloads import GATEWAY_NAMESPACE, restricted_namespace

# KEDA 2.18 supports Kubernetes 1.31 to 1.33 (KEDA's compatibility table).
KEDA_CHART = {"chart": "keda", "version": "2.18.1", "repo": "https://kedacore.github.io/charts"}
KEDA_NAMESPACE = "keda"


class ServedModelPlan(BaseModel):
    """What a model server needs from the stack: the plan's sizes and where the weights are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    pool: str
    tensor_parallel: int
    pipeline_parallel: int = 1
    efa_interfaces: int = 0
    zone: str | None = None
    pooled: bool = Field(default=False, description="Behind an InferencePool and its endpoint picker (more than one replica)")
    max_num_seqs: int
    max_model_len: int
    startup_seconds: int = Field(default=1200, ge=10, description="What the startup probe allows: weights and engine, from the estimate")
    before_start_seconds: int = Field(default=600, ge=0, description="What a rollout waits for first: a node and the image")
    replicas: int
    max_replicas: int
    cpu_per_gpu: float
    memory_gib_per_gpu: float
    weights_prefix: str
    stack_section: StackSection | None = Field(default=None, description="The stack-file entry of the model, recorded on its server's component")


class ModelServingArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    models: list[ServedModelPlan] = Field(min_length=1)
    region: str
    cluster_name: Any
    kubernetes_provider: Any
    weights_bucket: Any = Field(description="pulumi.Input[str]: the models bucket")
    weights_key_arn: Any
    prometheus_url: str
    pool_nodes: dict[str, Any] = Field(
        default_factory=dict, description="Per pool, what brings its nodes (a GpuNodePool): a server's pods wait for their pool's nodes"
    )
    priority_class: str | None = Field(default=None, description="The servers' PriorityClass (serving's)")
    device_classes: dict[str, str] = Field(default_factory=dict, description="Under DRA, each pool's DeviceClass: servers claim GPUs from it")
    scheduling: list[Any] = Field(default_factory=list, description="What brings the priority class and DeviceClasses")


class ModelServing(AiplaneComponent):
    servers: dict[str, ModelServer]
    inference_gateway: InferenceGateway | None

    def __init__(self, name: str, args: ModelServingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:serving:ModelServing", name, opts)
        on_cluster = self.child(provider=args.kubernetes_provider)
        namespace = restricted_namespace(f"{name}-ns", SERVING_NAMESPACE, {"aiplane.io/plane": "serving"}, on_cluster)
        keda_namespace = k8s.core.v1.Namespace(
            f"{name}-keda-ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=KEDA_NAMESPACE), opts=on_cluster
        )
        keda = helm_release(
            f"{name}-keda", KEDA_CHART, KEDA_NAMESPACE, {},
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[keda_namespace])),
        )
        lws = None
        if any(model.pipeline_parallel > 1 for model in args.models):
            lws_namespace = k8s.core.v1.Namespace(
                f"{name}-lws-ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=LWS_NAMESPACE), opts=on_cluster
            )
            lws = helm_release(
                f"{name}-lws", LWS_CHART, LWS_NAMESPACE, {"image": {"manager": {"tag": LWS_IMAGE_TAG}}},
                pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[lws_namespace])),
            )
        self.servers = {}
        for model in args.models:
            pool = args.pool_nodes.get(model.pool)
            with configured_by(model.stack_section):
                self.servers[model.model] = ModelServer(
                    f"{name}-{model.model}",
                    ModelServerArgs(
                        **model.model_dump(exclude={"stack_section"}),
                        weights_bucket=args.weights_bucket,
                        weights_key_arn=args.weights_key_arn,
                        region=args.region,
                        cluster_name=args.cluster_name,
                        kubernetes_provider=args.kubernetes_provider,
                        namespace=namespace,
                        prometheus_url=args.prometheus_url,
                        depends_on=[keda, *args.scheduling],
                        priority_class=args.priority_class,
                        gpu_device_class=args.device_classes.get(model.pool),
                        nodes=[pool] if pool is not None else [],
                        placement_group=pool.placement_group_name if pool is not None and model.pipeline_parallel > 1 else None,
                        lws_controller=lws if model.pipeline_parallel > 1 else None,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.inference_gateway = None
        pooled = [model for model in args.models if model.pooled]
        if pooled:
            self.inference_gateway = InferenceGateway(
                f"{name}-inference",
                InferenceGatewayArgs(
                    models=[PooledModel(model=model.model, selector=self.servers[model.model].pod_selector, port=VLLM_PORT) for model in pooled],
                    namespace=SERVING_NAMESPACE,
                    client_namespaces=[GATEWAY_NAMESPACE],
                    kubernetes_provider=args.kubernetes_provider,
                    depends_on=[namespace, *args.scheduling],
                    priority_class=args.priority_class,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"endpoints": {model: server.endpoint for model, server in self.servers.items()}})
