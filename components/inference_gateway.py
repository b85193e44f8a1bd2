"""Cache-aware endpoint picking: an InferencePool and its endpoint picker (EPP) per self-hosted model with more
than one replica, behind one Gateway of the Gateway API Inference Extension's conformant implementation the
stack installs, Istio (docs/serving.md says why).

Defaults (behaviour, not options):
- Istio's `base` and `istiod` charts, pinned, with istiod's Inference Extension support switched on, and the
  Gateway API (standard channel) and Inference Extension CRDs at the versions Istio's conformance report names;
- one Gateway (class `istio`) in its own namespace, on plain HTTP inside the cluster, taking routes only from
  the model servers' namespace; the model gateway (LiteLLM) is its only client;
- per pooled model: an InferencePool selecting the model's server pods, an EPP (the project's image, pinned)
  that scores them on queue depth, KV-cache use and prefix-cache hits from their own metrics, and an HTTPRoute
  that sends `/<model>/...` to the pool with the prefix stripped, so LiteLLM reaches `<gateway>/<model>/v1`;
- the EPP reads pods and its pool through a Role in its namespace only; its ext-proc port admits the gateway's
  namespace alone, and the picker may reach the model servers' metrics and the API server, nothing else.
"""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.base import AiplaneComponent
from aiplane.components.gpu_software import helm_release
from aiplane.components.workloads import (
    NAMESPACE_NAME_LABEL,
    container_security_context,
    dns_egress,
    namespaces_peer,
    pod_security_context,
)

# Istio 1.30.1 passes the Inference Extension v1.5.0 gateway profile (13 of 13 core tests, gateway-api v1.5.1,
# standard channel): conformance/reports/v1.5.0/gateway/istio in kubernetes-sigs/gateway-api-inference-extension.
ISTIO_VERSION = "1.30.1"
ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
ISTIO_BASE_CHART = {"chart": "base", "version": ISTIO_VERSION, "repo": ISTIO_REPO}
ISTIOD_CHART = {"chart": "istiod", "version": ISTIO_VERSION, "repo": ISTIO_REPO}
ISTIO_NAMESPACE = "istio-system"
GATEWAY_API_VERSION = "v1.5.1"
INFERENCE_EXTENSION_VERSION = "v1.5.0"
GATEWAY_API_CRDS = f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{GATEWAY_API_VERSION}/standard-install.yaml"
INFERENCE_CRDS = (
    f"https://github.com/kubernetes-sigs/gateway-api-inference-extension/releases/download/{INFERENCE_EXTENSION_VERSION}/manifests.yaml"
)
# The endpoint picker of the same release (its inferencepool chart's default image); a tag, not a digest:
# no digest of it could be read from here, so the gate's digest check is waived for it (policies/waivers.yaml).
EPP_IMAGE = f"registry.k8s.io/gateway-api-inference-extension/epp:{INFERENCE_EXTENSION_VERSION}"
EPP_EXT_PROC_PORT = 9002
EPP_HEALTH_PORT = 9003
EPP_METRICS_PORT = 9090
INFERENCE_GATEWAY_NAMESPACE = "inference-gateway"
GATEWAY_NAME = "inference-gateway"
GATEWAY_PORT = 80
# Istio names the Service of a Gateway it deploys `<gateway>-<class>`.
GATEWAY_SERVICE = f"{GATEWAY_NAME}-istio"
INFERENCE_API_VERSION = "inference.networking.k8s.io/v1"
GATEWAY_API = "gateway.networking.k8s.io/v1"
# The EPP's scorers, weighted as the project's inferencepool chart weighs them: queue depth, KV-cache use,
# and the share of a prompt's prefix a server already holds (the cache-aware part).
PICKER_CONFIG = """apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
"""


def pooled_endpoint(model: str) -> str:
    """The OpenAI-compatible base URL of a pooled model: its route on the inference gateway."""
    return f"http://{GATEWAY_SERVICE}.{INFERENCE_GATEWAY_NAMESPACE}.svc.cluster.local:{GATEWAY_PORT}/{model}/v1"


def picker_name(model: str) -> str:
    return f"{model}-epp"


class PooledModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    selector: dict[str, str] = Field(description="The labels of the model's server pods (those that serve the API)")
    port: int


class InferenceGatewayArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    models: list[PooledModel] = Field(min_length=1)
    namespace: str = Field(description="The model servers' namespace: pools, pickers and routes live beside the pods")
    client_namespaces: list[str] = Field(min_length=1, description="Namespaces whose pods may call the gateway (the model gateway's)")
    kubernetes_provider: Any
    depends_on: list[Any] = Field(default_factory=list, description="The model servers' namespace")
    priority_class: str | None = Field(default=None, description="The pickers' PriorityClass: serving's, as they are on every pooled request's path")


class InferenceGateway(AiplaneComponent):
    endpoints: dict[str, str]

    def __init__(self, name: str, args: InferenceGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:serving:InferenceGateway", name, opts)
        on_cluster = self.child(provider=args.kubernetes_provider, depends_on=args.depends_on)
        crds = self._control_plane(name, on_cluster)
        gateway_namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=INFERENCE_GATEWAY_NAMESPACE,
                # Istio's gateway pods run as a fixed non-root user without privileges, but set no seccomp profile:
                # the baseline standard, enforced.
                labels={"aiplane.io/plane": "serving", "pod-security.kubernetes.io/enforce": "baseline"},
            ),
            opts=on_cluster,
        )
        after_crds = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[*crds, gateway_namespace]))
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_NAME, namespace=INFERENCE_GATEWAY_NAMESPACE),
            spec={
                "gatewayClassName": "istio",
                "listeners": [{
                    "name": "http", "protocol": "HTTP", "port": GATEWAY_PORT,
                    "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {NAMESPACE_NAME_LABEL: args.namespace}}}},
                }],
            },
            opts=after_crds,
        )
        self._gateway_policy(name, args, gateway_namespace, on_cluster)
        self.endpoints = {}
        for model in args.models:
            self._pool(f"{name}-{model.model}", args, model, pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[gateway])))
            self.endpoints[model.model] = pooled_endpoint(model.model)
        self.register_outputs({"endpoints": self.endpoints})

    def _control_plane(self, name: str, on_cluster: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """The CRDs, then Istio's control plane, which serves Gateways and InferencePools once they exist."""
        gateway_crds = k8s.yaml.v2.ConfigFile(f"{name}-gateway-api-crds", file=GATEWAY_API_CRDS, opts=on_cluster)
        inference_crds = k8s.yaml.v2.ConfigFile(f"{name}-inference-crds", file=INFERENCE_CRDS, opts=on_cluster)
        istio_namespace = k8s.core.v1.Namespace(f"{name}-istio-ns", metadata=k8s.meta.v1.ObjectMetaArgs(name=ISTIO_NAMESPACE), opts=on_cluster)
        after = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[istio_namespace, gateway_crds, inference_crds]))
        base = helm_release(f"{name}-istio-base", ISTIO_BASE_CHART, ISTIO_NAMESPACE, {}, after)
        istiod = helm_release(
            f"{name}-istiod", ISTIOD_CHART, ISTIO_NAMESPACE,
            {"pilot": {"env": {"ENABLE_GATEWAY_API_INFERENCE_EXTENSION": "true"}}},
            pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[base])),
        )
        return [gateway_crds, inference_crds, istiod]

    def _gateway_policy(self, name: str, args: InferenceGatewayArgs, namespace: k8s.core.v1.Namespace, on_cluster) -> None:
        """The gateway's pods take requests from the model gateway only, and reach the pools' servers and pickers."""
        k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="inference-gateway", namespace=INFERENCE_GATEWAY_NAMESPACE),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[namespaces_peer(args.client_namespaces)],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=GATEWAY_PORT)],
                )],
                egress=[
                    dns_egress(),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[namespaces_peer([args.namespace])],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)
                               for port in sorted({model.port for model in args.models} | {EPP_EXT_PROC_PORT})],
                    ),
                    # istiod hands the gateway its configuration (xDS) and certificates.
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[namespaces_peer([ISTIO_NAMESPACE])],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=15012)],
                    ),
                ],
            ),
            opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace])),
        )

    def _pool(self, name: str, args: InferenceGatewayArgs, model: PooledModel, opts: pulumi.ResourceOptions) -> None:
        picker = picker_name(model.model)
        labels = {"app.kubernetes.io/name": "endpoint-picker", "app.kubernetes.io/instance": picker}
        metadata = k8s.meta.v1.ObjectMetaArgs(name=picker, namespace=args.namespace, labels=labels)
        k8s.apiextensions.CustomResource(
            f"{name}-pool",
            api_version=INFERENCE_API_VERSION,
            kind="InferencePool",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=model.model, namespace=args.namespace),
            spec={
                "selector": {"matchLabels": model.selector},
                "targetPorts": [{"number": model.port}],
                # Without a picker the gateway still serves, from any ready server: a failed picker costs the cache
                # affinity, not the requests.
                "endpointPickerRef": {"name": picker, "port": {"number": EPP_EXT_PROC_PORT}, "failureMode": "FailOpen"},
            },
            opts=opts,
        )
        k8s.core.v1.ServiceAccount(f"{name}-epp-sa", metadata=metadata, opts=opts)
        role = k8s.rbac.v1.Role(
            f"{name}-epp-role",
            metadata=metadata,
            rules=[
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["get", "watch", "list"]),
                k8s.rbac.v1.PolicyRuleArgs(api_groups=["inference.networking.k8s.io"], resources=["inferencepools"], verbs=["get", "watch", "list"]),
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["inference.networking.x-k8s.io"], resources=["inferenceobjectives", "inferencemodelrewrites"], verbs=["get", "watch", "list"]
                ),
            ],
            opts=opts,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-epp-binding",
            metadata=metadata,
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=picker),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=picker, namespace=args.namespace)],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
        )
        config = k8s.core.v1.ConfigMap(f"{name}-epp-config", metadata=metadata, data={"plugins.yaml": PICKER_CONFIG}, opts=opts)
        self._picker_deployment(name, args, model, metadata, labels, config, opts)
        k8s.core.v1.Service(
            f"{name}-epp-service",
            metadata=metadata,
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP", selector=labels,
                ports=[k8s.core.v1.ServicePortArgs(name="grpc-ext-proc", port=EPP_EXT_PROC_PORT, target_port=EPP_EXT_PROC_PORT)],
            ),
            opts=opts,
        )
        # The picker serves ext-proc over TLS with a certificate of its own: Istio's gateway is told to use TLS
        # to it (as the project's chart does for Istio); nothing else reaches the port (the policy below).
        k8s.apiextensions.CustomResource(
            f"{name}-epp-tls",
            api_version="networking.istio.io/v1",
            kind="DestinationRule",
            metadata=metadata,
            spec={"host": f"{picker}.{args.namespace}.svc.cluster.local", "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}}},
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-epp-netpol",
            metadata=metadata,
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[namespaces_peer([INFERENCE_GATEWAY_NAMESPACE])],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=EPP_EXT_PROC_PORT)],
                )],
                egress=[
                    dns_egress(),
                    # Each server's /metrics (queue, KV cache, prefix cache), on the serving port.
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=model.selector))],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=model.port)],
                    ),
                    # The API server, to watch its pool and the pods (EKS serves it on 443).
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)]),
                ],
            ),
            opts=opts,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-route",
            api_version=GATEWAY_API,
            kind="HTTPRoute",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=model.model, namespace=args.namespace),
            spec={
                "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME, "namespace": INFERENCE_GATEWAY_NAMESPACE}],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": f"/{model.model}/"}}],
                    "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
                    "backendRefs": [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": model.model}],
                }],
            },
            opts=opts,
        )

    def _picker_deployment(self, name: str, args: InferenceGatewayArgs, model: PooledModel, metadata, labels, config, opts) -> None:
        health = "inference-extension"
        k8s.apps.v1.Deployment(
            f"{name}-epp",
            metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # One active picker: its prefix-cache index lives in memory (the project's chart recreates, never surges).
                replicas=1,
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=picker_name(model.model),
                        priority_class_name=args.priority_class,
                        security_context=pod_security_context(),
                        termination_grace_period_seconds=130,
                        containers=[k8s.core.v1.ContainerArgs(
                            name="epp",
                            image=EPP_IMAGE,
                            image_pull_policy="Always",
                            args=[
                                "--pool-name", model.model, "--pool-namespace", args.namespace, "--pool-group", "inference.networking.k8s.io",
                                "--config-file", "/config/plugins.yaml", "--zap-encoder", "json",
                            ],
                            ports=[
                                k8s.core.v1.ContainerPortArgs(name="grpc", container_port=EPP_EXT_PROC_PORT),
                                k8s.core.v1.ContainerPortArgs(name="grpc-health", container_port=EPP_HEALTH_PORT),
                                k8s.core.v1.ContainerPortArgs(name="metrics", container_port=EPP_METRICS_PORT),
                            ],
                            liveness_probe=k8s.core.v1.ProbeArgs(
                                grpc=k8s.core.v1.GRPCActionArgs(port=EPP_HEALTH_PORT, service=health), initial_delay_seconds=5, period_seconds=10
                            ),
                            readiness_probe=k8s.core.v1.ProbeArgs(grpc=k8s.core.v1.GRPCActionArgs(port=EPP_HEALTH_PORT, service=health), period_seconds=2),
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "1", "memory": "2Gi"}, limits={"cpu": "4", "memory": "8Gi"}
                            ),
                            env=[k8s.core.v1.EnvVarArgs(
                                name="NAMESPACE", value_from=k8s.core.v1.EnvVarSourceArgs(field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.namespace"))
                            )],
                            security_context=container_security_context(),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="config", mount_path="/config", read_only=True)],
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=picker_name(model.model)))],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config])),
        )
