"""What the observability plane installs, as data: the pinned charts, their Helm values, and the Grafana
dashboards (shipped and per pool group). Pure functions of `ObservabilityArgs`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aiplane.components.observability.rules import POOL_LABEL_METRIC, node_pool_join

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
    cold_start_budgets: dict[str, int] = Field(
        default_factory=dict, description="Per served model, the seconds a new server may take to become ready before an alert fires"
    )
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
