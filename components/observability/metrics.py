"""The metrics aiplane's dashboards and alerts may query, kept with the exporters that emit them.

A dashboard or alert that names anything else fails its test: a typo, or a metric an exporter renamed,
would otherwise show an empty panel or an alert that never fires. Names are as Prometheus stores them
(counters with `_total`, histograms with `_bucket`).
"""
from __future__ import annotations

EXPORTED_METRICS: dict[str, frozenset[str]] = {
    # NVIDIA DCGM exporter (GPU Operator), default counters.
    "dcgm-exporter": frozenset({"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_XID_ERRORS"}),
    # vLLM's OpenAI-compatible server, /metrics (V1 engine names).
    "vllm": frozenset(
        {
            "vllm:num_requests_running",
            "vllm:num_requests_waiting",
            "vllm:generation_tokens_total",
            "vllm:prompt_tokens_total",
            "vllm:e2e_request_latency_seconds_bucket",
            "vllm:time_to_first_token_seconds_bucket",
            "vllm:prefix_cache_hits_total",
            "vllm:prefix_cache_queries_total",
        }
    ),
    # LiteLLM's proxy, /metrics with the prometheus callback on.
    "litellm": frozenset(
        {
            "litellm_request_total_latency_metric_bucket",
            "litellm_proxy_total_requests_metric_total",
            "litellm_proxy_failed_requests_metric_total",
            "litellm_deployment_successful_fallbacks_total",
            "litellm_spend_metric_total",
            "litellm_total_tokens_metric_total",
        }
    ),
    # kube-state-metrics (kube-prometheus-stack), for node labels and pods.
    "kube-state-metrics": frozenset({"kube_node_labels", "kube_pod_info", "kube_pod_created", "kube_pod_status_ready"}),
}
# Recording rules aiplane defines (components/observability/rules.py) may be queried too.
RECORDED_METRICS = frozenset({"aiplane:gpu_utilization:pool", "aiplane:gateway_error_ratio:rate5m", "aiplane:gateway_error_ratio:rate1h",
                              "aiplane:gateway_error_ratio:rate30m", "aiplane:gateway_error_ratio:rate6h"})


def known_metrics() -> frozenset[str]:
    return frozenset().union(*EXPORTED_METRICS.values(), RECORDED_METRICS)
