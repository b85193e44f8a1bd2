"""The observability plane: metrics, traces, logs, dashboards and alerts, seeing GPUs, tokens and cost together.

- Metrics: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, kube-state-metrics, node exporter) as a
  pinned Helm release, with retention and an encrypted volume set per stack. It reuses the Prometheus
  Operator CRDs the GPU software installs, and exports node pool and tenant labels so GPU metrics from the
  DCGM exporter can be read per pool and per tenant. ServiceMonitors scrape the gateway and the vLLM servers.
- Traces: an OpenTelemetry Collector receiving OTLP from the gateway and the model servers, exporting to
  AWS X-Ray (through its own role) or to an OTLP backend the stack names.
- Logs: a CloudWatch log group for workloads, with the stack's retention, encrypted with its own key.
- Dashboards: Grafana JSON checked into `dashboards/`, plus one per pool group the stack asks for, provisioned
  by ConfigMaps that Grafana's sidecar picks up.
- Alerts: a PrometheusRule with SLO burn-rate alerts and GPU, queue and spend alerts (`rules.py`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from components.base import AiplaneComponent
from components.encryption import encrypted_log_group
from components.gpu_software import helm_release
from components.iam import pod_identity_association, pod_identity_role
from components.observability.rules import POOL_LABEL_METRIC, node_pool_join, rule_groups
from components.workloads import MONITORING_NAMESPACE, privileged_namespace

DASHBOARDS = Path(__file__).with_name("dashboards")
KUBE_PROMETHEUS_STACK_CHART = {
    "chart": "kube-prometheus-stack", "version": "77.5.0", "repo": "https://prometheus-community.github.io/helm-charts"
}
OTEL_COLLECTOR_CHART = {"chart": "opentelemetry-collector", "version": "0.131.0", "repo": "https://open-telemetry.github.io/opentelemetry-helm-charts"}
# The release name fixes the services' names; the model servers' autoscaler queries this Prometheus.
RELEASE_NAME = "kube-prometheus-stack"
OTEL_SERVICE_ACCOUNT = "otel-collector"
XRAY_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
DASHBOARD_LABEL = "grafana_dashboard"


class PoolDashboard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    pools: list[str] = Field(min_length=1)


class ObservabilityArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    cluster_name: Any
    region: str
    kubernetes_provider: Any
    storage_class: Any = None
    metrics_retention_days: int = Field(ge=1)
    metrics_storage_gib: int = Field(ge=1)
    log_retention_days: int = Field(ge=1)
    traces_exporter: Literal["xray", "otlp"] = "xray"
    otlp_endpoint: str | None = None
    install_crds: bool = Field(description="False where the GPU software already installed the Prometheus Operator CRDs")
    dashboards: list[PoolDashboard] = Field(default_factory=list)
    availability_slo: float = Field(gt=0, lt=1)
    p95_latency_seconds: float = Field(gt=0)
    depends_on: list[Any] = Field(default_factory=list)


def pool_dashboard(spec: PoolDashboard) -> dict[str, Any]:
    """A dashboard of one group of pools: GPU utilization and memory of each."""
    panels = []
    for index, pool in enumerate(spec.pools):
        selector = f'{{{POOL_LABEL_METRIC}="{pool}"}}'
        panels.append(
            {
                "id": index + 1, "type": "timeseries", "title": f"Pool {pool}: GPU utilization and memory",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 24, "x": 0, "y": 8 * index}, "fieldConfig": {"defaults": {"unit": "percent"}, "overrides": []},
                "targets": [
                    {"refId": "A", "expr": f"aiplane:gpu_utilization:pool{selector}", "legendFormat": "utilization"},
                    {"refId": "B", "expr": f"sum by ({POOL_LABEL_METRIC}) (DCGM_FI_DEV_FB_USED * {node_pool_join(pool)})",
                     "legendFormat": "memory used (MiB)"},
                ],
            }
        )
    return {
        "uid": f"aiplane-pools-{spec.name}", "title": f"aiplane · pools · {spec.name}", "tags": ["aiplane"], "schemaVersion": 39,
        "version": 1, "editable": False, "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"}]},
        "panels": panels,
    }


def dashboards(specs: list[PoolDashboard]) -> dict[str, str]:
    """Every dashboard as JSON text by file name: the checked-in ones, then the stack's pool dashboards."""
    found = {path.name: path.read_text(encoding="utf-8") for path in sorted(DASHBOARDS.glob("*.json"))}
    for spec in specs:
        found[f"pools-{spec.name}.json"] = json.dumps(pool_dashboard(spec), indent=2) + "\n"
    return found


def prometheus_values(args: ObservabilityArgs) -> dict[str, Any]:
    storage = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{args.metrics_storage_gib}Gi"}}}
    if args.storage_class is not None:
        storage["storageClassName"] = args.storage_class.metadata.name
    return {
        "fullnameOverride": RELEASE_NAME,
        "crds": {"enabled": args.install_crds},
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{args.metrics_retention_days}d",
                "storageSpec": {"volumeClaimTemplate": {"spec": storage}},
                # Pick up every ServiceMonitor and rule in the cluster, not only the chart's own.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
            }
        },
        "grafana": {"sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1", "searchNamespace": "ALL"}}},
        # Pool and tenant labels of nodes, for GPU metrics per pool and per tenant.
        "kube-state-metrics": {"metricLabelsAllowlist": ["nodes=[aiplane.io/pool,aiplane.io/tenant]"]},
    }


def collector_values(args: ObservabilityArgs) -> dict[str, Any]:
    if args.traces_exporter == "xray":
        exporters = {"awsxray": {"region": args.region}}
    else:
        exporters = {"otlp": {"endpoint": args.otlp_endpoint, "tls": {"insecure": False}}}
    return {
        "mode": "deployment",
        "fullnameOverride": "otel-collector",  # the service name the gateway and the model servers send to
        "image": {"repository": "otel/opentelemetry-collector-contrib"},
        "serviceAccount": {"create": True, "name": OTEL_SERVICE_ACCOUNT},
        "config": {
            "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}}},
            "processors": {"memory_limiter": {"check_interval": "5s", "limit_percentage": 80}, "batch": {}},
            "exporters": exporters,
            "service": {
                "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": list(exporters)}}
            },
        },
    }


class Observability(AiplaneComponent):
    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:observability:Observability", name, opts)
        on_cluster = self.child(provider=args.kubernetes_provider)
        # The node exporter reads host metrics through host paths and the host network.
        namespace = privileged_namespace(f"{name}-ns", MONITORING_NAMESPACE, on_cluster)
        in_namespace = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=[namespace, *args.depends_on]))
        stack = helm_release(
            f"{name}-kube-prometheus-stack", KUBE_PROMETHEUS_STACK_CHART, MONITORING_NAMESPACE, prometheus_values(args), in_namespace,
            release_name=RELEASE_NAME,
        )
        self._traces(name, args, in_namespace)
        encrypted_log_group(
            self, f"{name}-workload-logs", log_group_name=pulumi.Output.from_input(args.cluster_name).apply(lambda c: f"/aiplane/{c}/workloads"),
            retention_days=args.log_retention_days, region=args.region, account_id=aws.get_caller_identity_output().account_id,
            purpose="the logs of the platform's workloads",
        )
        for file_name, text in dashboards(args.dashboards).items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{file_name.removesuffix('.json')}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"dashboard-{file_name.removesuffix('.json')}", namespace=MONITORING_NAMESPACE, labels={DASHBOARD_LABEL: "1"}
                ),
                data={file_name: text},
                opts=in_namespace,
            )
        after_stack = pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[stack]))
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="aiplane", namespace=MONITORING_NAMESPACE),
            spec={"groups": rule_groups(args.availability_slo, args.p95_latency_seconds)},
            opts=after_stack,
        )
        for target, namespace_name, selector in (
            ("gateway", "model-gateway", {"app.kubernetes.io/name": "litellm"}),
            ("model-servers", "model-serving", {"app.kubernetes.io/name": "vllm"}),
        ):
            k8s.apiextensions.CustomResource(
                f"{name}-scrape-{target}",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=target, namespace=MONITORING_NAMESPACE),
                spec={
                    "namespaceSelector": {"matchNames": [namespace_name]},
                    "selector": {"matchLabels": selector},
                    "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
                },
                opts=after_stack,
            )
        self.register_outputs({})

    def _traces(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions) -> None:
        if args.traces_exporter == "xray":
            role = pod_identity_role(self, f"{name}-otel-role", "OpenTelemetry Collector's trace export to X-Ray")
            aws.iam.RolePolicyAttachment(
                f"{name}-otel-xray", aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=XRAY_POLICY), opts=self.child()
            )
            pod_identity_association(
                self, f"{name}-otel-identity", role,
                cluster_name=args.cluster_name, namespace=MONITORING_NAMESPACE, service_account=OTEL_SERVICE_ACCOUNT,
            )
        helm_release(f"{name}-otel-collector", OTEL_COLLECTOR_CHART, MONITORING_NAMESPACE, collector_values(args), opts)
