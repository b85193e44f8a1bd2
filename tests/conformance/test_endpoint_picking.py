"""The pooled path end to end on what prod renders: LiteLLM's own proxy calls a pooled model at its route on the
inference gateway; a stand-in gateway matches the rendered HTTPRoutes and asks the pool's picker over Envoy's
ext-proc gRPC protocol (the Endpoint Picker Protocol); the request lands on the server pod the picker named,
on the pool's target port, and prompts that share a prefix land on the same pod."""
from __future__ import annotations

from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest

from aiplane.components.inference_gateway import EPP_EXT_PROC_PORT, picker_name
from tests.conformance.endpoint_picker import Gateway, Picker, picker_server
from tests.conformance.litellm_proxy import deployed_gateway, local_http_server, upstream_server
from tests.conftest import synthesized

SHARED = "You are the support assistant of Example Corp. Answer from the knowledge base only, in English. "


@pytest.fixture(scope="module")
def pooled_path(tmp_path_factory):
    _, graph = synthesized("prod")
    routes = [r.inputs for r in graph.resources if r.type == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"]
    pools = {r.inputs["metadata"]["name"]: r.inputs for r in graph.resources if r.type == "kubernetes:inference.networking.k8s.io/v1:InferencePool"}
    with ExitStack() as stack:
        pods = [stack.enter_context(upstream_server()) for _ in range(2)]  # two server pods of each pool
        endpoints = [urlsplit(url).netloc for url, _ in pods]
        pickers, addresses = {}, {}
        for name, pool in pools.items():
            reference = pool["spec"]["endpointPickerRef"]
            assert (reference["name"], reference["port"]["number"]) == (picker_name(name), EPP_EXT_PROC_PORT)
            pickers[name] = Picker(list(endpoints))
            addresses[name] = stack.enter_context(picker_server(pickers[name]))
        gateway = Gateway(routes, addresses)
        url = stack.enter_context(local_http_server(gateway.handler()))
        running = stack.enter_context(deployed_gateway("prod", tmp_path_factory.mktemp("litellm-pooled"), inference_gateway=url))
        yield running, gateway, pickers, pods, endpoints


def ask(proxy, model: str, prompt: str) -> None:
    status, _, body = proxy.chat(model, messages=[{"role": "user", "content": prompt}])
    assert status == 200, body


def test_requests_land_where_the_picker_says_and_a_shared_prefix_stays_on_one_pod(pooled_path):
    (_, plan, _, proxy, _, _), gateway, pickers, pods, endpoints = pooled_path
    pooled = sorted(pickers)
    assert pooled == sorted(model for model, address in plan.served.items() if "inference-gateway" in address)
    for model in pooled:
        before = len(gateway.forwarded)
        ask(proxy, model, SHARED + "How do I reset my password?")
        ask(proxy, model, SHARED + "Where is my invoice?")
        ask(proxy, model, "Translate to French: good morning")
        first, second, third = gateway.forwarded[before:]
        assert {hop["pool"] for hop in (first, second, third)} == {model}
        assert {hop["path"] for hop in (first, second, third)} == {"/v1/chat/completions"}
        assert first["endpoint"] == second["endpoint"], "a shared prompt prefix moved to another pod"
        assert third["endpoint"] != first["endpoint"], "a new prefix went to the busier pod"
    # What the pods received is what the picker chose: every forwarded request, on the pod it named.
    received = {endpoint: [call["model"] for call in upstreams.calls] for endpoint, (_, upstreams) in zip(endpoints, pods, strict=True)}
    for endpoint in endpoints:
        assert sorted(received[endpoint]) == sorted(hop_model for hop_model in (hop["pool"] for hop in gateway.forwarded if hop["endpoint"] == endpoint))
