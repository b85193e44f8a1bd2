"""Recording rules and alerts of the observability plane, as a PrometheusRule's groups.

Gateway availability and latency alert on SLO burn rates over two windows each (the multiwindow method of
Google's SRE workbook): a fast burn pages, a slow burn opens a ticket. GPUs alert on XID errors, model
servers on queues that outgrow their batches and on starts slower than their cold-start budget, and tenants'
keys on spend far above their own recent rate.
"""
from __future__ import annotations

from typing import Any

# Kubernetes node labels kube-state-metrics exports (its metricLabelsAllowlist), as label_<name>.
POOL_LABEL_METRIC = "label_aiplane_io_pool"
# The model servers' namespace (components/model_server.py), where kube-state-metrics sees their pods.
SERVING_NAMESPACE = "model-serving"
# Burn-rate factors for a 30-day SLO: 2% of the budget in an hour pages, 5% in six hours opens a ticket.
FAST_BURN, SLOW_BURN = 14.4, 6.0


def node_pool_join(pool: str | None = None) -> str:
    """Multiplies a DCGM series (labelled by Hostname) by its node's pool label (kube_node_labels, by node)."""
    nodes = f'kube_node_labels{{{POOL_LABEL_METRIC}="{pool}"}}' if pool else "kube_node_labels"
    return f'on (Hostname) group_left ({POOL_LABEL_METRIC}) label_replace({nodes}, "Hostname", "$1", "node", "(.*)")'


NODE_POOL_JOIN = node_pool_join()


def error_ratio(window: str) -> str:
    return f"sum(rate(litellm_proxy_failed_requests_metric_total[{window}])) / sum(rate(litellm_proxy_total_requests_metric_total[{window}]))"


def p95_latency(window: str) -> str:
    return f"histogram_quantile(0.95, sum by (le) (rate(litellm_request_total_latency_metric_bucket[{window}])))"


def server_pods(model: str) -> str:
    """The pods of a model's server: a Deployment's (<name>-<hash>-<suffix>) or a LeaderWorkerSet's leaders and
    workers (<name>-<group> and <name>-<group>-<index>); PromQL anchors the pattern, so no other model's match."""
    return f'namespace="{SERVING_NAMESPACE}", pod=~"{model}-([a-z0-9]{{5,10}}-[a-z0-9]{{5}}|[0-9]+(-[0-9]+)?)"'


def cold_start_alert(model: str, budget_seconds: int) -> dict[str, Any]:
    """A server pod of `model` that is still not ready `budget_seconds` after it was created."""
    pods = server_pods(model)
    return {
        "alert": "ModelServerColdStartOverBudget",
        "expr": (
            f"(time() - max by (pod) (kube_pod_created{{{pods}}})) > {budget_seconds} "
            f'unless on (pod) (max by (pod) (kube_pod_status_ready{{{pods}, condition="true"}}) == 1)'
        ),
        "labels": {"severity": "ticket", "model": model},
        "annotations": {"summary": f"{{{{ $labels.pod }}}} of {model} is not ready {budget_seconds} s after it was created (its cold-start budget)"},
    }


def rule_groups(availability_slo: float, p95_latency_seconds: float, cold_start_budgets: dict[str, int] | None = None) -> list[dict[str, Any]]:
    budget = round(1 - availability_slo, 6)
    return [
        {
            "name": "aiplane.recording",
            "rules": [
                {"record": "aiplane:gpu_utilization:pool", "expr": f"avg by ({POOL_LABEL_METRIC}) (DCGM_FI_DEV_GPU_UTIL * {NODE_POOL_JOIN})"},
                *({"record": f"aiplane:gateway_error_ratio:rate{window}", "expr": error_ratio(window)} for window in ("5m", "30m", "1h", "6h")),
            ],
        },
        {
            "name": "aiplane.gateway-slo",
            "rules": [
                {
                    "alert": "GatewayErrorBudgetFastBurn",
                    "expr": f"aiplane:gateway_error_ratio:rate1h > {FAST_BURN * budget:g} and aiplane:gateway_error_ratio:rate5m > {FAST_BURN * budget:g}",
                    "for": "2m",
                    "labels": {"severity": "page"},
                    "annotations": {"summary": f"The gateway is burning its {availability_slo:.2%} availability budget {FAST_BURN:g} times too fast"},
                },
                {
                    "alert": "GatewayErrorBudgetSlowBurn",
                    "expr": f"aiplane:gateway_error_ratio:rate6h > {SLOW_BURN * budget:g} and aiplane:gateway_error_ratio:rate30m > {SLOW_BURN * budget:g}",
                    "for": "15m",
                    "labels": {"severity": "ticket"},
                    "annotations": {"summary": f"The gateway is burning its {availability_slo:.2%} availability budget {SLOW_BURN:g} times too fast"},
                },
                {
                    "alert": "GatewayP95LatencyBurn",
                    "expr": f"{p95_latency('1h')} > {p95_latency_seconds:g} and {p95_latency('5m')} > {p95_latency_seconds:g}",
                    "for": "5m",
                    "labels": {"severity": "page"},
                    "annotations": {"summary": f"Gateway p95 latency above {p95_latency_seconds:g} s over the last hour and now"},
                },
            ],
        },
        {
            "name": "aiplane.gpus-and-serving",
            "rules": [
                {
                    "alert": "GpuXidError",
                    "expr": "max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS) > 0",
                    "labels": {"severity": "page"},
                    "annotations": {"summary": "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}"},
                },
                {
                    "alert": "ModelQueueSaturated",
                    "expr": "sum by (model_name) (vllm:num_requests_waiting) > sum by (model_name) (vllm:num_requests_running)",
                    "for": "10m",
                    "labels": {"severity": "ticket"},
                    "annotations": {"summary": "{{ $labels.model_name }} has more requests waiting than running: its replicas cannot keep up"},
                },
                {
                    "alert": "TenantSpendAnomaly",
                    "expr": "sum by (api_key_alias) (rate(litellm_spend_metric_total[1h])) > 3 * sum by (api_key_alias) (rate(litellm_spend_metric_total[7d]))",
                    "for": "30m",
                    "labels": {"severity": "ticket"},
                    "annotations": {"summary": "{{ $labels.api_key_alias }} spends more than three times its 7-day rate"},
                },
                *(cold_start_alert(model, seconds) for model, seconds in sorted((cold_start_budgets or {}).items())),
            ],
        },
    ]
