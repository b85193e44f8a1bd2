"""Every metrics target as deployed: each ServiceMonitor finds a Service with the port it names, that port
leads to a container port of the pods behind it, and the NetworkPolicies that select those pods admit
Prometheus's namespace on that port (a default-deny namespace otherwise drops every scrape)."""
from __future__ import annotations

import pytest

from aiplane.components.workloads import MONITORING_NAMESPACE, NAMESPACE_NAME_LABEL
from tests.conformance.workloads import objects, pod_templates
from tests.conftest import SHIPPED_STACKS, synthesized

MONITORING_LABELS = {NAMESPACE_NAME_LABEL: MONITORING_NAMESPACE}


def matches(selector: dict | None, labels: dict) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against a set of labels."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if (operator == "In" and labels.get(key) not in values) or (operator == "NotIn" and labels.get(key) in values) \
                or (operator == "Exists" and key not in labels) or (operator == "DoesNotExist" and key in labels):
            return False
    return True


def admits_prometheus(policy: dict, port: int) -> bool:
    for rule in policy["spec"].get("ingress") or []:
        peers = rule.get("from")
        from_prometheus = not peers or any(
            "namespaceSelector" in peer and "ipBlock" not in peer and matches(peer["namespaceSelector"], MONITORING_LABELS)
            and ("podSelector" not in peer or not peer["podSelector"])
            for peer in peers
        )
        ports = rule.get("ports")
        if from_prometheus and (not ports or any(p.get("port") == port for p in ports)):
            return True
    return False


def scrape_paths(graph):
    """(ServiceMonitor, namespace, Service, container port, pod labels) for every target a monitor finds."""
    for monitor in objects(graph, "ServiceMonitor"):
        for namespace in monitor["spec"]["namespaceSelector"]["matchNames"]:
            services = [s for s in objects(graph, "Service", namespace) if matches(monitor["spec"]["selector"], s["metadata"].get("labels") or {})]
            assert services, f"ServiceMonitor {monitor['metadata']['name']} selects no Service in {namespace}"
            for service in services:
                for endpoint in monitor["spec"]["endpoints"]:
                    port = next((p for p in service["spec"]["ports"] if p.get("name") == endpoint["port"]), None)
                    assert port, f"Service {service['metadata']['name']} has no port named {endpoint['port']!r}"
                    yield monitor, namespace, service, port["targetPort"]


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_metrics_target_is_scrapeable_as_deployed(environment):
    _, graph = synthesized(environment)
    paths = list(scrape_paths(graph))
    assert paths, f"stack {environment} scrapes nothing"
    for monitor, namespace, service, target in paths:
        where = f"{monitor['metadata']['name']} -> {namespace}/{service['metadata']['name']}:{target}"
        pods = [
            template for template in pod_templates(graph, namespace)
            if all(template["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items())
        ]
        assert pods, f"{where}: the Service selects no pods"
        for pod in pods:
            ports = [p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])]
            assert target in ports, f"{where}: no container listens on {target} (ports {ports})"
            labels = pod["metadata"]["labels"]
            policies = [
                policy for policy in objects(graph, "NetworkPolicy", namespace)
                if matches(policy["spec"].get("podSelector"), labels) and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
            ]
            if policies:
                assert any(admits_prometheus(policy, target) for policy in policies), f"{where}: no NetworkPolicy admits {MONITORING_NAMESPACE}"
