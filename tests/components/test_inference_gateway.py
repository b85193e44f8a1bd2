"""Cache-aware endpoint picking: every model with more than one replica behind an InferencePool and its
endpoint picker, routed by the inference gateway, all valid under the pinned CRDs; the model gateway calls
the pool's route, and the network policies let exactly that traffic through."""
from __future__ import annotations

import copy

import pytest

from aiplane.components.inference_gateway import (
    EPP_EXT_PROC_PORT,
    GATEWAY_API_CRDS,
    GATEWAY_API_VERSION,
    INFERENCE_CRDS,
    INFERENCE_EXTENSION_VERSION,
    ISTIO_VERSION,
    pooled_endpoint,
)
from aiplane.platform import gateway_plan, served_model_plans
from tests.conftest import SHIPPED_STACKS, synthesized
from tests.crd_schemas import schema_errors

CRDS = {
    "InferencePool": f"inference.networking.k8s.io_inferencepools.{INFERENCE_EXTENSION_VERSION}.yaml.gz",
    "Gateway": f"gateway.networking.k8s.io_gateways.{GATEWAY_API_VERSION}.yaml.gz",
    "HTTPRoute": f"gateway.networking.k8s.io_httproutes.{GATEWAY_API_VERSION}.yaml.gz",
}


def of_kind(graph, kind):
    return [r for r in graph.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_model_with_more_than_one_replica_is_pooled_and_reached_through_its_route(environment):
    spec, graph = synthesized(environment)
    plans = served_model_plans(spec)
    pooled = {plan.model for plan in plans if plan.max_replicas > 1}
    assert {plan.model for plan in plans if plan.pooled} == pooled
    assert {pool.inputs["metadata"]["name"] for pool in of_kind(graph, "InferencePool")} == pooled
    served = gateway_plan(spec).served
    for plan in plans:
        assert (served[plan.model] == pooled_endpoint(plan.model)) == (plan.model in pooled), plan.model


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_pools_gateway_and_routes_are_valid_under_the_pinned_crds(environment):
    _, graph = synthesized(environment)
    for kind, crd in CRDS.items():
        documents = [resource.inputs for resource in of_kind(graph, kind)]
        assert documents, f"{environment} renders no {kind}"
        for document in documents:
            assert schema_errors(document, crd) == [], (kind, document["metadata"]["name"])


def test_the_crd_check_rejects_what_the_inference_extension_does_not_define():
    _, graph = synthesized("prod")
    pool = copy.deepcopy(of_kind(graph, "InferencePool")[0].inputs)
    pool["spec"]["endpointPickerRef"]["failureMode"] = "FailSoft"
    pool["spec"]["targetPorts"] = []
    errors = schema_errors(pool, CRDS["InferencePool"])
    assert any("failureMode" in error for error in errors) and any(error.startswith("spec.targetPorts:") for error in errors), errors
    route = copy.deepcopy(of_kind(graph, "HTTPRoute")[0].inputs)
    route["spec"]["rules"][0]["backendRef"] = route["spec"]["rules"][0].pop("backendRefs")
    assert any("backendRef" in error for error in schema_errors(route, CRDS["HTTPRoute"]))


def test_the_picker_is_reachable_from_the_gateway_only_and_reads_its_pool():
    _, graph = synthesized("prod")
    for pool in of_kind(graph, "InferencePool"):
        picker = pool.inputs["spec"]["endpointPickerRef"]
        policy = next(r.inputs for r in of_kind(graph, "NetworkPolicy") if r.inputs["metadata"]["name"] == picker["name"])
        (ingress,) = policy["spec"]["ingress"]
        assert [port["port"] for port in ingress["ports"]] == [picker["port"]["number"]] == [EPP_EXT_PROC_PORT]
        assert ingress["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["inference-gateway"]
        role = next(r.inputs for r in of_kind(graph, "Role") if r.inputs["metadata"]["name"] == picker["name"])
        assert all(set(rule["verbs"]) == {"get", "watch", "list"} for rule in role["rules"])
        deployment = next(r.inputs for r in of_kind(graph, "Deployment") if r.inputs["metadata"]["name"] == picker["name"])
        arguments = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        assert arguments[arguments.index("--pool-name") + 1] == pool.inputs["metadata"]["name"]


def test_istio_and_the_crds_are_pinned_to_the_conformance_report():
    _, graph = synthesized("prod")
    releases = {r.name: r.inputs for r in of_kind(graph, "Release")}
    istiod = releases["serving-inference-istiod"]
    assert istiod["version"] == ISTIO_VERSION and releases["serving-inference-istio-base"]["version"] == ISTIO_VERSION
    assert istiod["values"]["pilot"]["env"]["ENABLE_GATEWAY_API_INFERENCE_EXTENSION"] == "true"
    files = {r.inputs["file"] for r in graph.resources if r.type == "kubernetes:yaml/v2:ConfigFile"}
    assert files == {GATEWAY_API_CRDS, INFERENCE_CRDS}
    assert GATEWAY_API_VERSION in GATEWAY_API_CRDS and INFERENCE_EXTENSION_VERSION in INFERENCE_CRDS


def test_the_model_gateway_and_the_servers_let_the_pooled_path_through():
    _, graph = synthesized("prod")
    litellm = next(r.inputs for r in of_kind(graph, "NetworkPolicy") if r.name == "gateway-netpol")
    reaches = [rule for rule in litellm["spec"]["egress"] if rule.get("to") and "namespaceSelector" in rule["to"][0]
               and "inference-gateway" in str(rule["to"][0]["namespaceSelector"])]
    assert reaches and reaches[0]["ports"] == [{"protocol": "TCP", "port": 80}]
    for pool in of_kind(graph, "InferencePool"):
        model = pool.inputs["metadata"]["name"]
        server = next(r.inputs for r in of_kind(graph, "NetworkPolicy") if r.inputs["metadata"]["name"] == model)
        peers = str(server["spec"]["ingress"][0]["from"])
        assert "inference-gateway" in peers and f"{model}-epp" in peers, model
