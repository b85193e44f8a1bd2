"""The pinned LiteLLM proxy on each shipped stack's rendered gateway config: task classes route where the
stack says, a failing model falls back along its chain, and self-hosted use is charged at the capacity plan's
price per token (so budgets and spend alerts count it)."""
from __future__ import annotations

import math
import urllib.request
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from aiplane.components.model_gateway import GATEWAY_NAME
from aiplane.components.workloads import GATEWAY_NAMESPACE, MONITORING_NAMESPACE
from aiplane.cost import served_token_prices
from aiplane.platform import gateway_plan
from tests.conformance.litellm_proxy import USAGE, pointed_at, running_proxy, upstream_server
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, synthesized


def deployed(graph, kind: str, name: str, namespace: str = GATEWAY_NAMESPACE):
    return next(
        r.inputs for r in graph.resources
        if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind
        and r.inputs["metadata"].get("name") == name and r.inputs["metadata"].get("namespace") == namespace
    )


def pod_containers(graph) -> dict[str, dict]:
    return {c["name"]: c for c in deployed(graph, "Deployment", GATEWAY_NAME)["spec"]["template"]["spec"]["containers"]}


@pytest.fixture(scope="module", params=SHIPPED_STACKS)
def gateway(request, tmp_path_factory):
    """The proxy as the gateway Deployment runs it: its rendered config (the ConfigMap's), its environment, and
    its sidecars with their scripts (from the same ConfigMap)."""
    spec, graph = synthesized(request.param)
    plan = gateway_plan(spec)
    files = deployed(graph, "ConfigMap", f"{GATEWAY_NAME}-config")["data"]
    containers = pod_containers(graph)
    environment = {item["name"]: item["value"] for item in containers["proxy"]["env"] if "value" in item}
    environment |= {provider.api_key_env: "sk-upstream" for provider in plan.providers if provider.api_key_env}
    sidecar = None
    if "metrics" in containers:
        script = files[Path(containers["metrics"]["command"][-1]).name]
        sidecar = (script, {item["name"]: item["value"] for item in containers["metrics"]["env"]})
    with upstream_server() as (upstream, upstreams):
        workdir = tmp_path_factory.mktemp(f"litellm-{request.param}")
        mounted = deployed(graph, "Deployment", GATEWAY_NAME)["spec"]["template"]["spec"]["volumes"]
        beside = {item["path"]: files[item["key"]] for volume in mounted if volume["name"] == "config" for item in volume["configMap"]["items"]}
        beside.pop("config.yaml")
        with running_proxy(pointed_at(files["config.yaml"], upstream), workdir, environment, sidecar, beside) as proxy:
            yield spec, plan, YAML(typ="safe").load(files["config.yaml"]), proxy, upstreams, graph


def upstream_model(config: dict, group: str) -> str:
    """The model name the upstream receives for a model group: LiteLLM's provider prefix removed."""
    entry = next(entry for entry in config["model_list"] if entry["model_name"] == group)
    return entry["litellm_params"]["model"].split("/", 1)[1]


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


def test_a_failing_model_falls_back_along_its_chain(gateway):
    _, plan, config, proxy, upstreams, _ = gateway
    fallbacks = {group: targets for item in config["router_settings"]["fallbacks"] for group, targets in item.items()}
    group, targets = next((group, targets) for group, targets in sorted(fallbacks.items()) if upstream_model(config, targets[0]) != upstream_model(config, group))
    failing = upstream_model(config, group)
    upstreams.failing = {failing}
    try:
        before = len(upstreams.served())
        status, _, body = proxy.chat(group)
    finally:
        upstreams.failing = set()
    assert status == 200, body
    assert upstreams.served()[before:] == [upstream_model(config, targets[0])], (group, targets)


def test_the_proxy_under_test_is_the_pinned_images_version():
    from aiplane.components.model_gateway import LITELLM_IMAGE

    makefile = (PROJECT_DIR / "Makefile").read_text()
    pinned = LITELLM_IMAGE.split(":v", 1)[1].split("@", 1)[0]
    assert f"LITELLM_VERSION := {pinned}\n" in makefile


def test_metrics_are_scraped_as_the_service_monitor_says(gateway):
    """Follow the ServiceMonitor to the Service port, its target port and the container behind it, then scrape
    that with no credentials, as Prometheus does."""
    _, _, _, proxy, _, graph = gateway
    endpoint = deployed(graph, "ServiceMonitor", "gateway", MONITORING_NAMESPACE)["spec"]["endpoints"][0]
    service_port = next(p for p in deployed(graph, "Service", GATEWAY_NAME)["spec"]["ports"] if p["name"] == endpoint["port"])
    target = service_port["targetPort"]
    container = next(c for c in pod_containers(graph).values() if any(p["containerPort"] == target for p in c.get("ports", [])))
    url = proxy.url if container["name"] == "proxy" else f"http://127.0.0.1:{proxy.ports[target]}"
    assert proxy.chat("classification")[0] == 200
    with urllib.request.urlopen(url + endpoint["path"], timeout=30) as response:
        assert response.status == 200
        text = response.read().decode()
    assert "litellm_proxy_total_requests_metric_total{" in text and "litellm_spend_metric_total{" in text


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
