"""Prometheus's own promtool on the alert and recording rules every shipped stack deploys: `check rules`, and
`test rules` with input series labelled the way Prometheus stores the real exporters' series after scraping
(the target's labels added by the ServiceMonitor; with `honorLabels: false`, as the GPU Operator's DCGM
ServiceMonitor has it, an exporter's own `namespace`/`pod`/`container` become `exported_*`).

promtool comes from Debian's `prometheus` package, which `.ci/run` installs; without it these tests fail."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from ruamel.yaml import YAML

from tests.conftest import SHIPPED_STACKS, synthesized

PROMTOOL = shutil.which("promtool")

# Target labels the ServiceMonitors add, per scrape job.
DCGM_TARGET = {"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-x7k2p", "container": "nvidia-dcgm-exporter",
               "service": "nvidia-dcgm-exporter", "endpoint": "gpu-metrics", "job": "nvidia-dcgm-exporter", "instance": "10.0.1.5:9400"}
KSM_TARGET = {"namespace": "monitoring", "pod": "kube-state-metrics-6d9f", "job": "kube-state-metrics", "instance": "10.0.2.9:8080"}
GATEWAY_TARGET = {"namespace": "model-gateway", "pod": "litellm-7c9d", "service": "litellm", "endpoint": "http", "job": "litellm", "instance": "10.0.3.4:4000"}
VLLM_TARGET = {"namespace": "model-serving", "pod": "llama-3-1-8b-5f6b", "service": "llama-3-1-8b", "endpoint": "http", "job": "llama-3-1-8b", "instance": "10.0.1.7:8000"}
NODE = "ip-10-0-1-5.ec2.internal"


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    rendered = ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return {"series": f"{name}{{{rendered}}}", "values": values}


def deployed_rule_groups(environment: str) -> list[dict]:
    _, graph = synthesized(environment)
    rules = [r for r in graph.resources if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"]
    assert rules, f"stack {environment} deploys no PrometheusRule"
    return [group for rule in rules for group in rule.inputs["spec"]["groups"]]


def threshold(groups: list[dict], alert: str) -> float:
    expr = next(rule["expr"] for group in groups for rule in group["rules"] if rule.get("alert") == alert)
    return float(expr.split(" > ")[1].split(" ")[0])


def cold_start_test(groups: list[dict]) -> dict:
    """The first model with a cold-start alert: one of its pods never becomes ready and the alert fires past the
    budget (not before); another, ready in time, stays quiet. kube-state-metrics' ServiceMonitor honours its
    labels, so a pod's series carry the pod's own namespace and name."""
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == "ModelServerColdStartOverBudget")
    model, budget = rule["labels"]["model"], float(rule["expr"].split(" > ")[1].split(" ")[0])
    ksm = {"job": "kube-state-metrics", "instance": "10.0.2.9:8080", "namespace": "model-serving"}
    stuck, started = f"{model}-5f6b9c7d8-x2k4p", f"{model}-5f6b9c7d8-q7w2m"
    minutes = int(budget // 60) + 10
    return {
        "interval": "1m",
        "input_series": [
            series("kube_pod_created", {**ksm, "pod": stuck, "uid": "a1"}, f"0x{minutes}"),
            series("kube_pod_status_ready", {**ksm, "pod": stuck, "uid": "a1", "condition": "true"}, f"0x{minutes}"),
            series("kube_pod_created", {**ksm, "pod": started, "uid": "b2"}, f"0x{minutes}"),
            series("kube_pod_status_ready", {**ksm, "pod": started, "uid": "b2", "condition": "true"}, f"0x5 1x{minutes - 5}"),
        ],
        "alert_rule_test": [
            {"eval_time": f"{int(budget // 60) - 1}m", "alertname": "ModelServerColdStartOverBudget", "exp_alerts": []},
            {"eval_time": f"{int(budget // 60) + 2}m", "alertname": "ModelServerColdStartOverBudget", "exp_alerts": [{
                "exp_labels": {"severity": "ticket", "model": model, "pod": stuck},
                "exp_annotations": {"summary": f"{stuck} of {model} is not ready {budget:g} s after it was created (its cold-start budget)"},
            }]},
        ],
    }


def unit_tests(groups: list[dict]) -> list[dict]:
    dcgm = {**DCGM_TARGET, "gpu": "0", "UUID": "GPU-5a1c", "modelName": "NVIDIA L4", "Hostname": NODE,
            # dcgm-exporter's own labels for the pod using the GPU, renamed on collision with the target's.
            "exported_namespace": "model-serving", "exported_pod": "llama-3-1-8b-5f6b", "exported_container": "vllm"}
    node = {**KSM_TARGET, "node": NODE, "label_aiplane_io_pool": "chat"}
    fast, slow = threshold(groups, "GatewayErrorBudgetFastBurn"), threshold(groups, "GatewayErrorBudgetSlowBurn")
    failing_share = min(0.9, fast * 2)
    slow_share = (slow + fast) / 2  # above the ticket's threshold, below the page's
    p95 = threshold(groups, "GatewayP95LatencyBurn")
    summary = {r["alert"]: r["annotations"]["summary"] for g in groups for r in g["rules"] if "alert" in r}
    return [
        {
            "interval": "1m",
            "input_series": [
                series("DCGM_FI_DEV_XID_ERRORS", dcgm, "0x5 79x10"),
                series("DCGM_FI_DEV_GPU_UTIL", dcgm, "80x15"),
                series("kube_node_labels", node, "1x15"),
            ],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": "GpuXidError", "exp_alerts": []},
                {"eval_time": "10m", "alertname": "GpuXidError", "exp_alerts": [{
                    "exp_labels": {"severity": "page", "Hostname": NODE, "gpu": "0"},
                    "exp_annotations": {"summary": f"GPU 0 on {NODE} reported XID 79"},
                }]},
            ],
            "promql_expr_test": [
                {"expr": "aiplane:gpu_utilization:pool", "eval_time": "10m", "exp_samples": [{"labels": 'aiplane:gpu_utilization:pool{label_aiplane_io_pool="chat"}', "value": 80}]},
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                series("vllm:num_requests_waiting", {**VLLM_TARGET, "model_name": "llama-3-1-8b", "engine": "0"}, "20x30"),
                series("vllm:num_requests_running", {**VLLM_TARGET, "model_name": "llama-3-1-8b", "engine": "0"}, "8x30"),
            ],
            "alert_rule_test": [{"eval_time": "20m", "alertname": "ModelQueueSaturated", "exp_alerts": [{
                "exp_labels": {"severity": "ticket", "model_name": "llama-3-1-8b"},
                "exp_annotations": {"summary": "llama-3-1-8b has more requests waiting than running: its replicas cannot keep up"},
            }]}],
        },
        {
            "interval": "1m",
            "input_series": [
                series("litellm_proxy_total_requests_metric_total", {**GATEWAY_TARGET, "requested_model": "reasoning"}, "0+100x400"),
                series("litellm_proxy_failed_requests_metric_total", {**GATEWAY_TARGET, "requested_model": "reasoning"}, f"0+{100 * failing_share:g}x400"),
            ],
            "alert_rule_test": [
                {"eval_time": "390m", "alertname": "GatewayErrorBudgetFastBurn",
                 "exp_alerts": [{"exp_labels": {"severity": "page"}, "exp_annotations": {"summary": summary["GatewayErrorBudgetFastBurn"]}}]},
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                series("litellm_proxy_total_requests_metric_total", {**GATEWAY_TARGET, "requested_model": "reasoning"}, "0+1000x400"),
                series("litellm_proxy_failed_requests_metric_total", {**GATEWAY_TARGET, "requested_model": "reasoning"}, f"0+{1000 * slow_share:g}x400"),
            ],
            "alert_rule_test": [
                {"eval_time": "390m", "alertname": "GatewayErrorBudgetFastBurn", "exp_alerts": []},
                {"eval_time": "390m", "alertname": "GatewayErrorBudgetSlowBurn",
                 "exp_alerts": [{"exp_labels": {"severity": "ticket"}, "exp_annotations": {"summary": summary["GatewayErrorBudgetSlowBurn"]}}]},
            ],
        },
        {
            "interval": "1m",
            # Nine in ten requests under a second, the slowest tenth at up to four times the objective.
            "input_series": [
                series("litellm_request_total_latency_metric_bucket", {**GATEWAY_TARGET, "requested_model": "reasoning", "le": le}, f"0+{count}x90")
                for le, count in (("1.0", 90), (f"{4 * p95:g}", 100), ("+Inf", 100))
            ],
            "alert_rule_test": [{"eval_time": "80m", "alertname": "GatewayP95LatencyBurn",
                                 "exp_alerts": [{"exp_labels": {"severity": "page"}, "exp_annotations": {"summary": summary["GatewayP95LatencyBurn"]}}]}],
        },
        {
            "interval": "10m",
            "input_series": [
                # A week at one cent an hour, then a dollar an hour for the last two hours.
                series("litellm_spend_metric_total", {**GATEWAY_TARGET, "api_key_alias": "support", "model": "llama-3-1-8b"}, "0+0.00166x1008 0+0.166x12"),
            ],
            "alert_rule_test": [{"eval_time": "10200m", "alertname": "TenantSpendAnomaly", "exp_alerts": [{
                "exp_labels": {"severity": "ticket", "api_key_alias": "support"},
                "exp_annotations": {"summary": "support spends more than three times its 7-day rate"},
            }]}],
        },
        cold_start_test(groups),
    ]


@pytest.fixture(scope="module")
def promtool() -> str:
    assert PROMTOOL, "promtool is not installed (Debian's prometheus package; .ci/run installs it)"
    return PROMTOOL


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_promtool_accepts_every_deployed_rule(promtool, environment, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(json.dumps({"groups": deployed_rule_groups(environment)}))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_alerts_fire_on_series_labelled_as_prometheus_stores_them(promtool, environment, tmp_path):
    groups = deployed_rule_groups(environment)
    (tmp_path / "rules.yaml").write_text(json.dumps({"groups": groups}))
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": unit_tests(groups)}
    with (tmp_path / "tests.yaml").open("w") as handle:
        YAML(typ="safe").dump(tests, handle)
    result = subprocess.run([promtool, "test", "rules", "tests.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test():
    groups = deployed_rule_groups("prod")
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    tested = {case["alertname"] for test in unit_tests(groups) for case in test.get("alert_rule_test", [])}
    assert alerts == tested, alerts ^ tested


# -- dashboards --------------------------------------------------------------------------------------------

INFRASTRUCTURE_NAMESPACES = ("gpu-operator", "monitoring")


def deployed_dashboard_queries(environment: str) -> list[tuple[str, str]]:
    """(where, expression) for every query of every dashboard the stack deploys, as Grafana's sidecar loads them."""
    _, graph = synthesized(environment)
    queries = []
    for resource in graph.resources:
        if resource.type == "kubernetes:core/v1:ConfigMap" and resource.inputs["metadata"].get("labels", {}).get("grafana_dashboard"):
            for file_name, text in resource.inputs["data"].items():
                for panel in json.loads(text)["panels"]:
                    queries += [(f"{file_name}: {panel['title']}", target["expr"]) for target in panel["targets"]]
    assert queries, f"stack {environment} deploys no dashboard"
    return queries


def pool_labels(graph) -> set[str]:
    """The `aiplane.io/pool` node label of every pool the stack creates (node groups and Karpenter NodePools)."""
    found = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("aiplane.io/pool"), str):
                found.add(value["aiplane.io/pool"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for resource in graph.resources:
        walk(resource.inputs)
    return found


def scraped_series(environment: str) -> list[dict[str, str]]:
    """One series of every metric our exporters emit, per GPU node of every pool, labelled as stored after scraping."""
    _, graph = synthesized(environment)
    result = []
    for index, pool in enumerate(sorted(pool_labels(graph))):
        node = f"ip-10-0-{index}-5.ec2.internal"
        result.append(series("kube_node_labels", {**KSM_TARGET, "node": node, "label_aiplane_io_pool": pool}, "1x30"))
        dcgm = {**DCGM_TARGET, "gpu": "0", "Hostname": node, "exported_namespace": "model-serving", "exported_pod": f"{pool}-0", "exported_container": "vllm"}
        result += [series(name, dcgm, "40x30") for name in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE")]
    vllm = {**VLLM_TARGET, "model_name": "llama-3-1-8b", "engine": "0"}
    result += [series(name, vllm, "0+10x30") for name in ("vllm:generation_tokens_total", "vllm:prompt_tokens_total", "vllm:prefix_cache_hits_total")]
    result += [series("vllm:prefix_cache_queries_total", vllm, "0+20x30")]
    result += [series(name, vllm, "4x30") for name in ("vllm:num_requests_waiting", "vllm:num_requests_running")]
    gateway = {**GATEWAY_TARGET, "requested_model": "reasoning", "model": "llama-3-1-8b", "api_key_alias": "support"}
    result += [series("litellm_request_total_latency_metric_bucket", {**gateway, "le": le}, f"0+{count}x30") for le, count in (("1.0", 9), ("+Inf", 10))]
    result += [series(name, gateway, "0+10x30") for name in ("litellm_proxy_total_requests_metric_total", "litellm_deployment_successful_fallbacks_total")]
    result += [series("litellm_spend_metric_total", gateway, "0+0.5x30")]
    return result


def dashboard_tests(environment: str) -> list[dict]:
    """Each query returns data, and none attributes a workload's series to the exporter's own namespace (what a
    query by `namespace` of a series scraped with `honorLabels: false` does)."""
    infrastructure = " or ".join(f'label_replace(vector(1), "namespace", "{namespace}", "", "")' for namespace in INFRASTRUCTURE_NAMESPACES)
    cases = []
    for _, expr in deployed_dashboard_queries(environment):
        cases.append({"expr": f"count({expr}) > bool 0", "eval_time": "20m", "exp_samples": [{"labels": "{}", "value": 1}]})
        cases.append({"expr": f"({expr}) and on (namespace) ({infrastructure})", "eval_time": "20m", "exp_samples": []})
    return [{"interval": "1m", "input_series": scraped_series(environment), "promql_expr_test": cases}]


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_dashboard_query_shows_the_workloads_series(promtool, environment, tmp_path):
    (tmp_path / "rules.yaml").write_text(json.dumps({"groups": deployed_rule_groups(environment)}))
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": dashboard_tests(environment)}
    with (tmp_path / "tests.yaml").open("w") as handle:
        YAML(typ="safe").dump(tests, handle)
    result = subprocess.run([promtool, "test", "rules", "tests.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
