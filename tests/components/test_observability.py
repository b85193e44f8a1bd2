"""The observability plane: dashboards that are valid Grafana JSON and query only metrics our exporters emit,
alert expressions that parse, and the metrics, traces and logs stack under the mocks runtime."""
from __future__ import annotations

import json

import promql_parser
import pytest

from aiplane.components.observability import (
    KUBE_PROMETHEUS_STACK_CHART,
    OTEL_COLLECTOR_CHART,
    PoolDashboard,
    dashboards,
)
from aiplane.components.observability.metrics import known_metrics
from aiplane.components.observability.rules import rule_groups
from tests.conftest import edit, plan_fails_with, synthesized

PANEL_KEYS = {"id", "type", "title", "datasource", "gridPos", "targets"}
# What the reference architecture asks the dashboards to show together.
REQUIRED_PANELS = {
    "GPU utilization per pool", "GPU memory used per pool", "GPU utilization per tenant", "GPU memory used per tenant",
    "Tokens per second", "Queue depth", "Gateway latency", "Fallback rate", "Prefix cache hit rate", "Cost per tenant (gateway spend)",
}


def metric_names(expression: str) -> set[str]:
    names: set[str] = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expression), visit)
    return names


def every_dashboard():
    spec, _ = synthesized("prod")
    pools = [PoolDashboard(name=d.name, pools=d.pools) for d in spec.platform.observability.dashboards]
    return {name: json.loads(text) for name, text in dashboards(pools).items()}


def rules():
    return [rule for group in rule_groups(0.999, 8) for rule in group["rules"]]


@pytest.mark.parametrize("name", sorted(every_dashboard()))
def test_every_dashboard_is_grafana_json_with_unique_panels(name):
    dashboard = every_dashboard()[name]
    assert dashboard["uid"].startswith("aiplane-") and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    panels = dashboard["panels"]
    assert panels and all(PANEL_KEYS <= set(panel) for panel in panels)
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert all(target["expr"] and target["refId"] for panel in panels for target in panel["targets"])


def test_the_dashboards_show_gpus_tokens_queues_latency_fallbacks_cache_and_cost():
    titles = {panel["title"] for dashboard in every_dashboard().values() for panel in dashboard["panels"]}
    assert REQUIRED_PANELS <= titles
    latency = next(panel for dashboard in every_dashboard().values() for panel in dashboard["panels"] if panel["title"] == "Gateway latency")
    assert [target["legendFormat"] for target in latency["targets"]] == ["p50", "p95", "p99"]


def test_every_metric_a_dashboard_or_alert_queries_is_one_our_exporters_emit():
    expressions = [target["expr"] for d in every_dashboard().values() for panel in d["panels"] for target in panel["targets"]]
    expressions += [rule["expr"] for rule in rules()]
    queried = set().union(*(metric_names(expression) for expression in expressions))
    assert queried and queried <= known_metrics(), queried - known_metrics()


def test_every_rule_expression_parses_and_alerts_carry_severity():
    for rule in rules():
        promql_parser.parse(rule["expr"])  # raises on a syntax error
        if "alert" in rule:
            assert rule["labels"]["severity"] in ("page", "ticket") and rule["annotations"]["summary"]
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    assert {"GatewayErrorBudgetFastBurn", "GatewayErrorBudgetSlowBurn", "GatewayP95LatencyBurn", "GpuXidError",
            "ModelQueueSaturated", "TenantSpendAnomaly"} <= alerts


def test_burn_rate_thresholds_follow_the_slo():
    fast = next(rule for rule in rules() if rule.get("alert") == "GatewayErrorBudgetFastBurn")
    assert "> 0.0144 and" in fast["expr"]  # 14.4 × (1 - 0.999)
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(litellm_spend_metric_total[5m])")  # the parser does refuse a broken expression


def find_release(graph, name):
    return graph.find("kubernetes:helm.sh/v3:Release", name)


@pytest.mark.parametrize(("environment", "retention", "storage"), [("dev", "7d", "20Gi"), ("prod", "30d", "500Gi")])
def test_metrics_stack_is_pinned_and_sized_per_stack(environment, retention, storage):
    _, graph = synthesized(environment)
    release = find_release(graph, "observability-kube-prometheus-stack").inputs
    assert (release["chart"], release["version"]) == (KUBE_PROMETHEUS_STACK_CHART["chart"], KUBE_PROMETHEUS_STACK_CHART["version"])
    prometheus = release["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["retention"] == retention
    volume = prometheus["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert volume["resources"]["requests"]["storage"] == storage and volume["storageClassName"] == "gp3-encrypted"
    # The GPU software installed the Prometheus Operator CRDs; the chart must not own them a second time.
    assert release["values"]["crds"] == {"enabled": False}
    assert release["values"]["kube-state-metrics"]["metricLabelsAllowlist"] == ["nodes=[aiplane.io/pool,aiplane.io/tenant]"]


def test_traces_go_to_xray_through_the_collectors_own_role():
    _, graph = synthesized("prod")
    collector = find_release(graph, "observability-otel-collector").inputs
    assert collector["version"] == OTEL_COLLECTOR_CHART["version"]
    pipeline = collector["values"]["config"]["service"]["pipelines"]["traces"]
    assert pipeline == {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": ["awsxray"]}
    association = graph.find("aws:eks/podIdentityAssociation:PodIdentityAssociation", "observability-otel-identity")
    assert association.inputs["serviceAccount"] == "otel-collector"


def test_logs_dashboards_rules_and_scrapes_are_provisioned():
    spec, graph = synthesized("prod")
    log_group = graph.find("aws:cloudwatch/logGroup:LogGroup", "observability-workload-logs").inputs
    assert log_group["retentionInDays"] == 365 and log_group["kmsKeyId"].startswith("arn:aws:kms:")
    maps = [r for r in graph.resources if r.inputs.get("kind") == "ConfigMap" and r.inputs["metadata"].get("namespace") == "monitoring"]
    assert {r.inputs["metadata"]["name"] for r in maps} == {"dashboard-gpus", "dashboard-serving", "dashboard-pools-training"}
    assert all(r.inputs["metadata"]["labels"] == {"grafana_dashboard": "1"} for r in maps)
    kinds = {r.inputs.get("kind") for r in graph.resources if r.type.startswith("kubernetes:monitoring.coreos.com")}
    assert kinds == {"PrometheusRule", "ServiceMonitor"}


def test_the_gateway_exports_traces_and_the_model_servers_do_not_try_to():
    _, graph = synthesized("prod")
    config = next(r for r in graph.resources if r.name == "gateway-config").inputs["data"]["config.yaml"]
    callbacks = next(line for line in config.splitlines() if line.strip().startswith("callbacks:"))
    assert '"prometheus"' in callbacks and '"otel"' in callbacks
    # The pinned vLLM image has no OpenTelemetry SDK; asked to trace, vLLM refuses to start.
    server = next(r for r in graph.resources if r.name == "serving-llama-3-1-8b-deployment").inputs
    assert "--otlp-traces-endpoint" not in server["spec"]["template"]["spec"]["containers"][0]["args"]


def test_retention_below_the_profiles_minimum_is_refused(project_copy):
    edit(project_copy, "prod", "      metrics: {retentionDays: 30, storageGib: 500}\n", "      metrics: {retentionDays: 14, storageGib: 500}\n")
    plan_fails_with(
        ["plan", "--stack", "prod"],
        "stacks/Pulumi.prod.yaml: aiplane:platform.observability.metrics.retentionDays: 14 is below the 30 days policies/profiles/prod.yaml requires",
    )


def test_a_dashboard_of_an_unknown_pool_is_refused(project_copy):
    edit(project_copy, "prod", "        - {name: training, pools: [train, t-research]}\n", "        - {name: training, pools: [train, trian]}\n")
    plan_fails_with(
        ["plan", "--stack", "prod"],
        "stacks/Pulumi.prod.yaml: aiplane:platform.observability.dashboards[0].pools: 'trian' is not a pool of this stack "
        "(pools: chat, embed, train, frontier, t-research)",
    )


def test_a_budget_below_zero_is_refused(project_copy):
    edit(project_copy, "dev", "        budgetUsd: 200\n", "        budgetUsd: -200\n")
    plan_fails_with(["plan", "--stack", "dev"], "stacks/Pulumi.dev.yaml: aiplane:tenants[0].parameters.budgetUsd: -200 is below the blueprint's minimum 0")
