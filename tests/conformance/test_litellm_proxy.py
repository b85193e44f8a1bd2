"""The pinned LiteLLM proxy on each shipped stack's rendered gateway config: task classes route where the
stack says, a failing model falls back along its chain, and self-hosted use is charged at the capacity plan's
price per token (so budgets and spend alerts count it)."""
from __future__ import annotations

import math
import urllib.request

import pytest

from aiplane.components.model_gateway import GATEWAY_NAME
from aiplane.components.model_gateway.config import ALLOWED_FAILS
from aiplane.components.observability.metrics import EXPORTED_METRICS
from aiplane.components.workloads import MONITORING_NAMESPACE
from aiplane.cost import served_token_prices
from tests.conformance.gateway_routes import Routed, route
from tests.conformance.litellm_proxy import USAGE, deployed, deployed_gateway, pod_containers
from tests.conformance.workloads import pod_templates
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS


@pytest.fixture(scope="module", params=SHIPPED_STACKS)
def gateway(request, tmp_path_factory):
    with deployed_gateway(request.param, tmp_path_factory.mktemp(f"litellm-{request.param}")) as running:
        yield running


def upstream_model(config: dict, group: str) -> str:
    """The model name the upstream receives for a model group: LiteLLM's provider prefix removed."""
    entry = next(entry for entry in config["model_list"] if entry["model_name"] == group)
    return entry["litellm_params"]["model"].split("/", 1)[1]


def fallback_chains(config: dict) -> dict[str, list[str]]:
    return {name: targets for item in config["router_settings"]["fallbacks"] for name, targets in item.items()}


def test_every_task_class_reaches_the_model_its_tier_routes_it_to(gateway):
    _, plan, config, proxy, upstreams, _ = gateway
    for task, group in plan.routing.aliases[plan.default_tier].items():
        before = len(upstreams.served())
        status, _, body = proxy.chat(task)
        assert status == 200, (task, body)
        assert upstreams.served()[before:] == [upstream_model(config, group)], (task, group)


def test_self_hosted_use_is_charged_at_the_planned_price_per_token(gateway):
    spec, plan, config, proxy, _, _ = gateway
    prices = served_token_prices(spec)
    for model, price in prices.items():
        status, headers, body = proxy.chat(model)
        assert status == 200, body
        cost = float({key.lower(): value for key, value in headers.items()}.get("x-litellm-response-cost", "0"))
        assert math.isclose(cost, price * sum(USAGE.values()), rel_tol=0.01), (model, cost, price)
        assert cost > 0


def fail_over(plan, config: dict, proxy, upstreams) -> tuple[str, list[str], list[str]]:
    """One request to a model group while its model fails: (the group, its fallbacks, the models that answered)."""
    group, targets = next(
        (group, targets) for group, targets in sorted(fallback_chains(config).items())
        if group not in plan.routing.aliases[plan.default_tier] and upstream_model(config, targets[0]) != upstream_model(config, group)
    )
    upstreams.failing = {upstream_model(config, group)}
    try:
        before = len(upstreams.served())
        status, _, body = proxy.chat(group)
    finally:
        upstreams.failing = set()
    assert status == 200, body
    return group, targets, upstreams.served()[before:]


def test_a_failing_model_falls_back_along_its_chain(gateway):
    _, plan, config, proxy, upstreams, _ = gateway
    group, targets, answered = fail_over(plan, config, proxy, upstreams)
    assert answered == [upstream_model(config, targets[0])], (group, targets)


def test_the_proxy_under_test_is_the_pinned_images_version():
    from aiplane.components.model_gateway import LITELLM_IMAGE

    makefile = (PROJECT_DIR / "Makefile").read_text()
    pinned = LITELLM_IMAGE.split(":v", 1)[1].split("@", 1)[0]
    assert f"LITELLM_VERSION := {pinned}\n" in makefile


def test_metrics_are_scraped_as_the_service_monitor_says(gateway):
    """Follow the ServiceMonitor to the Service port, its target port and the container behind it, then scrape
    that with no credentials, as Prometheus does."""
    _, plan, config, proxy, upstreams, graph = gateway
    endpoint = deployed(graph, "ServiceMonitor", "gateway", MONITORING_NAMESPACE)["spec"]["endpoints"][0]
    service_port = next(p for p in deployed(graph, "Service", GATEWAY_NAME)["spec"]["ports"] if p["name"] == endpoint["port"])
    target = service_port["targetPort"]
    container = next(c for c in pod_containers(graph).values() if any(p["containerPort"] == target for p in c.get("ports", [])))
    url = proxy.url if container["name"] == "proxy" else f"http://127.0.0.1:{proxy.ports[target]}"
    assert proxy.chat("classification")[0] == 200
    fail_over(plan, config, proxy, upstreams)
    # A request nothing can answer, so the failed-requests counter the error-budget alerts read exists.
    unguarded = next(entry["model_name"] for entry in config["model_list"] if entry["model_name"] not in fallback_chains(config))
    upstreams.failing = {upstream_model(config, unguarded)}
    try:
        assert proxy.chat(unguarded)[0] >= 500
    finally:
        upstreams.failing = set()
    with urllib.request.urlopen(url + endpoint["path"], timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    exposed = {line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert EXPORTED_METRICS["litellm"] <= exposed, sorted(EXPORTED_METRICS["litellm"] - exposed)
    for name, label in (("litellm_proxy_total_requests_metric_total", "requested_model"), ("litellm_spend_metric_total", "api_key_alias"),
                        ("litellm_request_total_latency_metric_bucket", "le")):
        assert any(line.startswith(name + "{") and f"{label}=" in line for line in text.splitlines()), (name, label)


def test_tenants_cannot_read_the_metrics_on_the_api_port(gateway):
    """The API port, which tenants reach, still refuses /metrics without a key: other tenants' spend is in it."""
    _, _, _, proxy, _, _ = gateway
    assert proxy.call("GET", "/metrics", key=None)[0] == 401


def test_degraded_answers_are_capped_even_when_the_client_asks_for_more(gateway):
    spec, _, config, proxy, upstreams, _ = gateway
    capped = {entry["model_name"]: entry["litellm_params"]["max_tokens"] for entry in config["model_list"] if entry["litellm_params"].get("max_tokens")}
    degrading = [tier for tier, settings in spec.platform.serving.gateway.tiers.items() if settings.degrade]
    assert bool(capped) == bool(degrading), (capped, degrading)
    for group, cap in capped.items():
        for asked, expected in ((cap * 4, cap), (cap // 2, cap // 2), (None, cap)):
            before = len(upstreams.calls)
            status, _, body = proxy.chat(group, **({"max_tokens": asked} if asked else {}))
            assert status == 200, body
            (call,) = upstreams.calls[before:]
            assert call["max_tokens"] == expected, (group, asked, call)


def test_a_failing_model_cools_down_and_its_requests_go_straight_to_the_fallback(gateway):
    """Last in this module on purpose: the deployment it fails is left cooling down in this stack's proxy.

    Clients ask for task classes; once the served model has failed often enough, the router stops sending it
    requests for the cooldown: the next requests reach the fallback only, even after the server has recovered."""
    _, plan, config, proxy, upstreams, _ = gateway
    fallbacks = fallback_chains(config)
    task, group = next(
        (task, group) for task, group in sorted(plan.routing.aliases[plan.default_tier].items())
        if fallbacks.get(group) and upstream_model(config, fallbacks[group][0]) != upstream_model(config, group)
    )
    assert fallbacks.get(task) == fallbacks[group], "a task class asked for without a key's aliases has no fallbacks"
    failing, fallback = upstream_model(config, group), upstream_model(config, fallbacks[group][0])
    upstreams.failing = {failing}
    tried = []
    try:
        for _ in range(ALLOWED_FAILS + 3):
            before = len(upstreams.calls)
            status, _, body = proxy.chat(task)
            assert status == 200, body
            tried.append([call["model"] for call in upstreams.calls[before:]])
    finally:
        upstreams.failing = set()
    assert tried[-1] == tried[-2] == [fallback], (group, tried)
    assert sum(models.count(failing) for models in tried) <= (ALLOWED_FAILS + 1) * (plan.retries + 1), tried
    before = len(upstreams.calls)
    assert proxy.chat(task)[0] == 200
    assert [call["model"] for call in upstreams.calls[before:]] == [fallback], "the recovered server is tried before its cooldown ends"


def test_pooled_models_reach_their_inference_pool_through_the_gateways_routes(gateway):
    """A model with more than one replica is called at its route on the inference gateway: the path LiteLLM
    sends is matched by that model's HTTPRoute, rewritten to vLLM's own path, and handed to the InferencePool
    that selects the model's serving pods on their serving port. The others go straight to their Service."""
    spec, plan, config, proxy, upstreams, graph = gateway
    routes = [r.inputs for r in graph.resources if r.type == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"]
    pools = {r.inputs["metadata"]["name"]: r.inputs for r in graph.resources if r.type == "kubernetes:inference.networking.k8s.io/v1:InferencePool"}
    assert pools, f"stack {spec.environment} pools no model"
    for model in plan.served:
        before = len(upstreams.calls)
        status, _, body = proxy.chat(model)
        assert status == 200, body
        (call,) = upstreams.calls[before:]
        if model not in pools:
            assert call["path"] == "/v1/chat/completions", (model, call)
            continue
        routed = route(routes, call["path"])
        assert routed == Routed(route=model, backend_kind="InferencePool", backend=model, path="/v1/chat/completions"), (model, call, routed)
        pool = pools[model]["spec"]
        serving = [t for t in pod_templates(graph, "model-serving") if all(t["metadata"]["labels"].get(k) == v for k, v in pool["selector"]["matchLabels"].items())]
        assert serving and all(t["metadata"]["labels"]["app.kubernetes.io/instance"] == model for t in serving), model
        ports = {p["containerPort"] for t in serving for c in t["spec"]["containers"] for p in c.get("ports", [])}
        assert [port["number"] for port in pool["targetPorts"]] == sorted(ports), (model, ports)
