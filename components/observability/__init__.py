"""The observability plane: metrics, traces, logs, dashboards and alerts, seeing GPUs, tokens and cost together.

- Metrics: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, kube-state-metrics, node exporter) as a
  pinned Helm release, with retention and an encrypted volume set per stack. It reuses the Prometheus
  Operator CRDs the GPU software installs, and exports node pool and tenant labels so GPU metrics from the
  DCGM exporter can be read per pool and per tenant. ServiceMonitors scrape the gateway and the vLLM servers.
- Traces: an OpenTelemetry Collector receiving OTLP from the gateway (the pinned vLLM image has no OpenTelemetry
  SDK, so the model servers export metrics only), exporting to
  AWS X-Ray (through its own role) or to an OTLP backend the stack names.
- Logs: a CloudWatch log group for workloads, with the stack's retention, encrypted with its own key.
- Dashboards: Grafana JSON checked into `dashboards/`, plus one per pool group the stack asks for, provisioned
  by ConfigMaps that Grafana's sidecar picks up.
- Alerts: a PrometheusRule with SLO burn-rate alerts and GPU, queue and spend alerts (`rules.py`).
"""
from aiplane.components.observability.component import Observability
from aiplane.components.observability.values import (
    KUBE_PROMETHEUS_STACK_CHART,
    OTEL_COLLECTOR_CHART,
    ObservabilityArgs,
    PoolDashboard,
    dashboards,
)

__all__ = ["KUBE_PROMETHEUS_STACK_CHART", "OTEL_COLLECTOR_CHART", "Observability", "ObservabilityArgs", "PoolDashboard", "dashboards"]
