"""Tenant boundaries in the prod stack (three tenants on three blueprints): what keeps each tenant to its own
namespace, quota, data and keys, checked on the synthesized resources and cross-checked with parliament."""
from __future__ import annotations

import json
import sys
import types

import pytest

from aiplane.components.tagging import TENANT_TAG
from aiplane.components.tenant_boundary import WORKLOAD_SERVICE_ACCOUNT, tenant_group
from aiplane.planning.node_profiles import TENANT_LABEL, tenant_taint
from tests.conftest import synthesized

TENANTS = ("support", "analytics", "research")


def parliament():
    """parliament 1.6 imports pkg_resources, which setuptools 82 no longer ships: give it the one function it uses."""
    try:
        import pkg_resources  # noqa: F401
    except ModuleNotFoundError:
        import importlib.resources

        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(importlib.resources.files(package) / name)
        sys.modules["pkg_resources"] = shim
    import parliament as module

    return module


@pytest.fixture(scope="module")
def prod():
    return synthesized("prod")


def k8s_objects(graph, kind):
    return [r for r in graph.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind]


def in_namespace(graph, kind, namespace):
    return [r for r in k8s_objects(graph, kind) if r.inputs["metadata"].get("namespace") == namespace]


def tenant(spec, name):
    return next(t for t in spec.tenants if t.name == name)


@pytest.mark.parametrize("name", TENANTS)
def test_each_tenant_gets_a_labelled_restricted_namespace_with_its_quota_and_defaults(prod, name):
    spec, graph = prod
    namespace = next(r for r in k8s_objects(graph, "Namespace") if r.inputs["metadata"]["name"] == name)
    labels = namespace.inputs["metadata"]["labels"]
    assert labels[TENANT_LABEL] == name and labels["pod-security.kubernetes.io/enforce"] == "restricted"
    (quota,) = [r for r in in_namespace(graph, "ResourceQuota", name) if r.inputs["metadata"]["name"] == "tenant-quota"]
    plan = tenant(spec, name).plan
    gpus = plan.quota.gpus + plan.queue.borrowing_limit  # the queue's nominal share and what it may borrow
    assert quota.inputs["spec"]["hard"] == {
        "requests.cpu": str(plan.quota.cpu), "limits.cpu": str(plan.quota.cpu),
        "requests.memory": f"{plan.quota.memory_gib}Gi", "limits.memory": f"{plan.quota.memory_gib}Gi",
        "requests.nvidia.com/gpu": str(gpus), "requests.storage": f"{plan.quota.storage_gib}Gi", "pods": str(plan.quota.pods),
    }
    (limits,) = in_namespace(graph, "LimitRange", name)
    (item,) = limits.inputs["spec"]["limits"]
    assert item["type"] == "Container" and item["defaultRequest"] and item["default"]


@pytest.mark.parametrize("name", TENANTS)
def test_network_policies_deny_by_default_and_open_only_dns_the_gateway_and_the_tenant_itself(prod, name):
    _, graph = prod
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in in_namespace(graph, "NetworkPolicy", name)}
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    assert {"allow-dns", "allow-model-gateway", "allow-within-namespace"} <= set(policies)
    gateway_peer = policies["allow-model-gateway"]["egress"][0]["to"][0]
    assert gateway_peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "model-gateway"}}


def namespace_selectors(spec):
    for peer_list_key in ("from", "to"):
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            for peer in rule.get(peer_list_key, []):
                if "namespaceSelector" in peer:
                    yield peer["namespaceSelector"]


def test_no_tenant_quota_or_network_policy_selects_another_tenants_namespace(prod):
    spec, graph = prod
    for name in TENANTS:
        others = set(TENANTS) - {name}
        for kind in ("ResourceQuota", "LimitRange", "NetworkPolicy", "Role", "RoleBinding", "ServiceAccount"):
            for resource in k8s_objects(graph, kind):
                owner = graph.owning_component(resource)
                if owner is not None and owner.name == f"tenant-{name}":
                    assert resource.inputs["metadata"]["namespace"] == name, resource.urn
        for policy in in_namespace(graph, "NetworkPolicy", name):
            for selector in namespace_selectors(policy.inputs["spec"]):
                named = selector.get("matchLabels", {}).get("kubernetes.io/metadata.name")
                assert named is not None, f"{policy.urn} selects namespaces by something other than their name: {selector}"
                assert named not in others and TENANT_LABEL not in json.dumps(selector), policy.urn


@pytest.mark.parametrize("name", TENANTS)
def test_the_tenants_group_may_run_workloads_but_not_touch_its_boundary(prod, name):
    _, graph = prod
    (role,) = in_namespace(graph, "Role", name)
    resources = {resource for rule in role.inputs["rules"] for resource in rule["resources"]}
    assert {"pods", "deployments", "jobs", "secrets"} <= resources
    assert not resources & {"resourcequotas", "limitranges", "networkpolicies", "roles", "rolebindings"}
    (binding,) = in_namespace(graph, "RoleBinding", name)
    assert binding.inputs["subjects"] == [{"kind": "Group", "name": tenant_group(name), "apiGroup": "rbac.authorization.k8s.io"}]


def tenant_roles(graph, name):
    """Every IAM role the tenant's pods can assume, with the inline policy documents attached to it. (A
    dedicated pool's node role is charged to the tenant too, but it is the platform's: nodes assume it.)"""
    roles = [
        r for r in graph.of_type("aws:iam/role:Role")
        if (r.inputs.get("tags") or {}).get(TENANT_TAG) == name
        and json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    ]
    policies = {}
    for policy in graph.of_type("aws:iam/rolePolicy:RolePolicy"):
        policies.setdefault(policy.inputs["role"], []).append(json.loads(policy.inputs["policy"]))
    return [(role, policies.get(role.id, [])) for role in roles]


def boundary_of(graph, name):
    return graph.find("aws:iam/policy:Policy", f"tenant-{name}-boundary")


@pytest.mark.parametrize("name", TENANTS)
def test_every_role_of_a_tenant_carries_its_permissions_boundary(prod, name):
    _, graph = prod
    roles = tenant_roles(graph, name)
    assert roles
    boundary = boundary_of(graph, name)
    for role, _ in roles:
        assert role.inputs["permissionsBoundary"] == boundary.outputs["arn"], role.name
    association = graph.find("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"tenant-{name}-workload-identity")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (name, WORKLOAD_SERVICE_ACCOUNT)


def resources_of(document):
    for statement in document["Statement"]:
        values = statement["Resource"]
        yield from (values if isinstance(values, list) else [values])


def tenant_data(graph, name):
    """The ARNs and prefixes that are one tenant's: its own buckets or its prefix, and its own key."""
    own_buckets = {r.outputs["arn"] for r in graph.of_type("aws:s3/bucket:Bucket") if (r.inputs.get("tags") or {}).get(TENANT_TAG) == name}
    own_keys = {r.outputs["arn"] for r in graph.of_type("aws:kms/key:Key") if (r.inputs.get("tags") or {}).get(TENANT_TAG) == name}
    return own_buckets, own_keys


def test_no_tenant_role_or_boundary_grants_another_tenants_bucket_prefix_or_key(prod):
    spec, graph = prod
    shared_key = graph.find("aws:kms/key:Key", "storage-key").outputs["arn"]
    for name in TENANTS:
        plan = tenant(spec, name).plan
        documents = [json.loads(boundary_of(graph, name).inputs["policy"])]
        documents += [document for _, inline in tenant_roles(graph, name) for document in inline]
        own_buckets, own_keys = tenant_data(graph, name)
        for other in set(TENANTS) - {name}:
            other_buckets, other_keys = tenant_data(graph, other)
            for document in documents:
                for arn in resources_of(document):
                    assert not any(arn.startswith(bucket) for bucket in other_buckets), (name, arn)
                    assert arn not in other_keys, (name, arn)
                    assert f"tenants/{other}/" not in arn, (name, arn)
        s3_objects = [arn for document in documents for arn in resources_of(document) if arn.startswith("arn:aws:s3:::") and "/" in arn]
        assert s3_objects
        for arn in s3_objects:
            if plan.storage == "bucket":
                assert any(arn.startswith(f"{bucket}/") for bucket in own_buckets), (name, arn)
            else:
                assert arn.endswith(f"/tenants/{name}/*"), (name, arn)
        keys = {arn for document in documents for arn in resources_of(document) if ":kms:" in arn}
        assert keys == (own_keys if plan.encryption == "own-key" else {shared_key}), name


def test_parliament_finds_nothing_wrong_with_tenant_policies(prod):
    analyzer = parliament()
    # The analyzer works here: an object action on a bucket ARN is a resource mismatch.
    control = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"}]}'
    assert [finding.issue for finding in analyzer.analyze_policy_string(control).findings] == ["RESOURCE_MISMATCH"]
    _, graph = prod
    for name in TENANTS:
        documents = [boundary_of(graph, name).inputs["policy"]]
        documents += [json.dumps(document) for _, inline in tenant_roles(graph, name) for document in inline]
        for document in documents:
            policy = analyzer.analyze_policy_string(document)
            findings = [(finding.issue, finding.detail) for finding in policy.findings]
            assert findings == [], (name, document, findings)


def test_a_dedicated_pool_is_tainted_labelled_and_charged_to_its_tenant(prod):
    _, graph = prod
    group = graph.find("aws:eks/nodeGroup:NodeGroup", "gpu-t-research-nodes")
    taint = tenant_taint("research")
    assert {"key": taint["key"], "value": taint["value"], "effect": "NO_SCHEDULE"} in group.inputs["taints"]
    assert group.inputs["labels"][TENANT_LABEL] == "research"
    assert group.inputs["tags"][TENANT_TAG] == "research"


def test_gateway_keys_reach_their_tenants_namespaces(prod):
    _, graph = prod
    for name in ("support", "analytics"):
        (secret,) = [s for s in in_namespace(graph, "Secret", name) if s.inputs["metadata"]["name"] == "gateway-key"]
        assert set(secret.inputs["stringData"]) == {"api-key", "base-url"}
    assert not in_namespace(graph, "Secret", "research")  # the training blueprint has no gateway key


def test_vector_databases_of_tenants_answer_only_their_tenant(prod):
    _, graph = prod
    association = next(
        r for r in graph.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") if r.name == "tenant-support-vector-support-client-support"
    )
    assert association.inputs["namespace"] == "support"
    policy = next(r for r in k8s_objects(graph, "NetworkPolicy") if r.inputs["metadata"]["namespace"] == "vector-analytics-cache")
    (clients, _) = policy.inputs["spec"]["ingress"]
    assert clients["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["analytics", "model-gateway"]
