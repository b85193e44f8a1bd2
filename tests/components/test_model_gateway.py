"""The model gateway: its rendered LiteLLM config per served-model mix (golden files, reviewed by hand), the
config's schema, and the Kubernetes and AWS resources under the mocks runtime.

Golden files live in tests/components/golden/. After a deliberate change, regenerate them with
`AIPLANE_UPDATE_GOLDEN=1 pytest tests/components/test_model_gateway.py`, then read the diff line by line.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from aiplane.components.model_gateway import LITELLM_IMAGE
from aiplane.components.model_gateway.args import ENTRYPOINT
from aiplane.components.model_gateway.config import (
    ConfigError,
    render_config,
    render_key_requests,
    validate_config,
)
from aiplane.loader import load_stack
from aiplane.planning.node_profiles import TENANT_LABEL
from aiplane.platform import gateway_plan
from aiplane.policy.gate import run_gate
from aiplane.synth.engine import SECRET_PLACEHOLDER, synthesize_stack
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, fixture_project

GOLDEN = Path(__file__).parent / "golden"
SERVING_FIXTURE = Path(__file__).parent / "fixtures" / "Pulumi.serving.yaml"
# The served-model mixes: one model (dev, staging), a small and a large model with providers (prod), two
# pools with a public gateway, three tiers and tenants' keys (the fixture).
MIXES = {**{env: (PROJECT_DIR, env) for env in SHIPPED_STACKS}, "serving-fixture": (None, "prod")}


@pytest.fixture(scope="module")
def serving_project(tmp_path_factory) -> Path:
    return fixture_project(tmp_path_factory.mktemp("serving-project"), SERVING_FIXTURE)


@pytest.fixture(scope="module")
def serving_stack(serving_project):
    return synthesize_stack(serving_project, "prod")


def mix_spec(mix, serving_project):
    project, environment = MIXES[mix]
    return load_stack(environment, (project or serving_project) / "stacks")


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("AIPLANE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, f"{name} changed: review the difference, then regenerate (see this module's docstring)"


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_rendered_config_matches_its_reviewed_golden_file(mix, serving_project):
    plan = gateway_plan(mix_spec(mix, serving_project))
    check_golden(f"gateway-{mix}.yaml", render_config(plan))
    check_golden(f"gateway-{mix}-keys.json", render_key_requests(plan))


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_every_task_class_of_every_tier_reaches_a_served_model(mix, serving_project):
    spec = mix_spec(mix, serving_project)
    config = validate_config(render_config(gateway_plan(spec)))
    groups = {entry.model_name: entry.litellm_params for entry in config.model_list}
    served = {f"hosted_vllm/{model.name}" for model in spec.platform.compute.models}
    for task, group in config.router_settings.model_group_alias.items():
        assert groups[group].model in served, (task, group)


def test_the_config_never_holds_a_credential(serving_project):
    text = render_config(gateway_plan(mix_spec("serving-fixture", serving_project)))
    config = YAML(typ="safe").load(text)
    keys = [entry["litellm_params"].get("api_key") for entry in config["model_list"]]
    assert set(keys) == {None, "os.environ/PROVIDER_KEY_GPT_4O"}
    assert config["general_settings"] == {"master_key": "os.environ/LITELLM_MASTER_KEY", "database_url": "os.environ/DATABASE_URL"}
    assert "sk-" not in text


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("model_list", 0, "litellm_params", "api_key"), "sk-live-0123456789", "must be an os.environ/NAME reference"),
        (("general_settings", "master_key"), "sk-1234", "must be an os.environ/NAME reference"),
        (("router_settings", "fallbacks"), [{"gpt-4o": ["gpt-5"]}], "fallbacks name 'gpt-5', which is not in model_list"),
        (("router_settings", "model_group_alias", "reasoning"), "nowhere", "names 'nowhere', which is not in model_list"),
        (("router_settings", "routing_strategy"), "round-robin", "routing_strategy"),
        (("litellm_settings", "callbacks"), ["langfuse"], "callbacks"),
    ],
)
def test_the_schema_refuses_what_would_be_unsafe_or_broken(path, value, message, serving_project):
    config = YAML(typ="safe").load(render_config(gateway_plan(mix_spec("prod", serving_project))))
    target = config
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    buffer = io.StringIO()
    YAML().dump(config, buffer)
    with pytest.raises(ConfigError, match=message):
        validate_config(buffer.getvalue())


def test_tenant_keys_carry_budgets_limits_and_their_tier_aliases(serving_project):
    requests = {item["request"]["key_alias"]: item for item in json.loads(render_key_requests(gateway_plan(mix_spec("serving-fixture", serving_project))))}
    globex = requests["globex"]
    assert globex["key_env"] == "TENANT_KEY_GLOBEX"
    assert (globex["request"]["max_budget"], globex["request"]["budget_duration"]) == (250.5, "7d")
    assert (globex["request"]["rpm_limit"], globex["request"]["tpm_limit"]) == (300, 200000)
    assert globex["request"]["aliases"]["reasoning"] == "standard/llama-3-1-70b"
    assert "standard/degraded" in globex["request"]["models"] and "gold/llama-3-1-70b" not in globex["request"]["models"]
    assert requests["acme"]["request"]["aliases"]["reasoning"] == "gold/llama-3-1-70b"
    assert requests["initech"]["request"]["max_budget"] == 0
    assert "key" not in globex["request"]  # the value is read from the mounted Secret by the job


# -- resources under the mocks runtime ----------------------------------------------------------------------


def k8s_object(graph, kind, name):
    return next(r for r in graph.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind and r.name == name)


def test_the_proxy_is_hardened_and_reads_credentials_from_files(shipped):
    spec, graph = shipped
    deployment = k8s_object(graph, "Deployment", "gateway-deployment").inputs
    pod = deployment["spec"]["template"]["spec"]
    containers = {container["name"]: container for container in pod["containers"]}
    assert set(containers) == {"proxy", "metrics"}
    for each in containers.values():
        assert each["image"] == LITELLM_IMAGE and "@sha256:" in LITELLM_IMAGE
        context = each["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True and context["capabilities"] == {"drop": ["ALL"]}
        assert each["readinessProbe"] and each["livenessProbe"]
        assert each["resources"]["limits"] == each["resources"]["requests"]
    container = containers["proxy"]
    assert container["command"] == ["/bin/sh", "-c", ENTRYPOINT]
    assert not any("valueFrom" in variable for variable in container["env"])
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True and context["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    assert container["resources"]["limits"] == container["resources"]["requests"]
    credentials = next(volume for volume in pod["volumes"] if volume["name"] == "credentials")
    sources = [source["secret"]["name"] for source in credentials["projected"]["sources"]]
    assert sources[0] == "litellm-credentials"
    assert set(sources[1:]) == {provider.api_key.secret for provider in spec.platform.serving.gateway.providers if provider.api_key}
    secret = k8s_object(graph, "Secret", "gateway-credentials").inputs
    assert set(secret["stringData"]) >= {"LITELLM_MASTER_KEY", "DATABASE_URL"}
    assert set(secret["stringData"].values()) == {SECRET_PLACEHOLDER}


def test_a_config_change_rolls_the_pods(shipped):
    spec, graph = shipped
    config = k8s_object(graph, "ConfigMap", "gateway-config").inputs["data"]["config.yaml"]
    assert config == render_config(gateway_plan(spec))
    annotations = k8s_object(graph, "Deployment", "gateway-deployment").inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations["aiplane.io/config-sha256"] == hashlib.sha256(config.encode()).hexdigest()


def test_internal_by_default_with_autoscaling_a_budget_for_disruption_and_a_network_policy(shipped):
    spec, graph = shipped
    service = k8s_object(graph, "Service", "gateway-service").inputs["spec"]
    assert service["type"] == "ClusterIP"
    assert not [r for r in graph.resources if r.inputs.get("kind") == "Ingress"]
    hpa = k8s_object(graph, "HorizontalPodAutoscaler", "gateway-hpa").inputs["spec"]
    replicas = spec.platform.serving.gateway.replicas
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (replicas.min, replicas.max)
    assert k8s_object(graph, "PodDisruptionBudget", "gateway-pdb").inputs["spec"]["maxUnavailable"] == 1
    policy = k8s_object(graph, "NetworkPolicy", "gateway-netpol").inputs["spec"]
    ingress, metrics = policy["ingress"]
    assert ingress["from"][0]["namespaceSelector"]["matchExpressions"] == [{"key": TENANT_LABEL, "operator": "Exists"}]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 4000}]
    # Prometheus alone, on the metrics sidecar's port alone.
    assert metrics["from"] == [{"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["monitoring"]}]}}]
    assert metrics["ports"] == [{"protocol": "TCP", "port": 9090}]
    # DNS, traces, the model servers, the inference gateway where a model is pooled, the database, providers.
    pooled = {80} if any(r.type.endswith(":InferencePool") for r in graph.resources) else set()
    assert {port["port"] for rule in policy["egress"] for port in rule["ports"]} == {53, 4317, 8000, 5432, 443} | pooled


def test_the_metering_database_is_aurora_with_the_shared_defaults(shipped):
    spec, graph = shipped
    cluster = graph.find("aws:rds/cluster:Cluster", "gateway-db-aurora").inputs
    assert cluster["storageEncrypted"] is True and cluster["iamDatabaseAuthenticationEnabled"] is True
    assert cluster["masterPassword"] == SECRET_PLACEHOLDER and cluster["databaseName"] == "litellm"
    assert cluster["deletionProtection"] is (spec.environment != "dev")


def test_public_exposure_is_an_allow_listed_alb_behind_waf(serving_stack):
    spec, graph = serving_stack
    ingress = k8s_object(graph, "Ingress", "gateway-ingress").inputs
    annotations = ingress["metadata"]["annotations"]
    web_acl = graph.find("aws:wafv2/webAcl:WebAcl", "gateway-waf")
    assert annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] == web_acl.outputs["arn"]
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == "203.0.113.0/24,198.51.100.0/24"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == spec.platform.serving.gateway.certificate_arn
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTPS": 443}]
    assert web_acl.inputs["defaultAction"] == {"block": {}}
    rules = {rule["name"]: rule for rule in web_acl.inputs["rules"]}
    assert list(rules) == ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "rate-limit-per-ip", "allow-listed-networks"]
    ip_set = graph.find("aws:wafv2/ipSet:IpSet", "gateway-allowed-networks")
    assert ip_set.inputs["addresses"] == ["203.0.113.0/24", "198.51.100.0/24"]
    assert rules["allow-listed-networks"]["statement"]["ipSetReferenceStatement"]["arn"] == ip_set.outputs["arn"]
    logging = graph.find("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "gateway-waf-logging")
    assert logging.inputs["logDestinationConfigs"][0].split(":")[-1].startswith("aws-waf-logs-")


def test_bedrock_models_are_reached_with_an_iam_role_limited_to_them(serving_stack):
    _, graph = serving_stack
    policy = json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", "gateway-bedrock-policy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert statement["Resource"] == ["arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"]
    association = graph.find("aws:eks/podIdentityAssociation:PodIdentityAssociation", "gateway-bedrock-identity")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("model-gateway", "litellm")


def test_a_job_registers_the_tenant_keys_after_the_proxy(serving_stack):
    _, graph = serving_stack
    job = next(r for r in graph.resources if r.inputs.get("kind") == "Job")
    assert graph.find("kubernetes:apps/v1:Deployment", "gateway-deployment").urn in job.dependencies
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python3", "/etc/litellm/sync_keys.py"]
    assert job.inputs["metadata"]["name"].startswith("litellm-key-sync-")
    secret = k8s_object(graph, "Secret", "gateway-credentials").inputs["stringData"]
    assert {"TENANT_KEY_ACME", "TENANT_KEY_GLOBEX", "TENANT_KEY_INITECH"} <= set(secret)


def test_the_serving_fixture_passes_the_prod_gate_with_the_waf_and_kubernetes_checks(serving_project):
    report = run_gate(serving_project, ["prod"])
    assert [(f.check_id, f.resource) for f in report.findings if f.status == "violation"] == []
    passed = {(f.check_id, f.resource) for f in report.findings if f.status == "passed"}
    expected = {
        ("CKV_AWS_192", "aws_wafv2_web_acl.gateway-waf"),  # Log4j / known bad inputs
        ("CKV2_AWS_31", "aws_wafv2_web_acl.gateway-waf"),  # WAF logging
        ("CKV_K8S_35", "Deployment.model-gateway.litellm"),  # no secrets in environment variables
        ("CKV_K8S_43", "Deployment.model-gateway.litellm"),
        ("CKV_K8S_22", "Deployment.model-gateway.litellm"),
        ("CKV_K8S_43", "Deployment.model-serving.llama-3-1-70b"),
        ("CKV_K8S_40", "Deployment.model-serving.llama-3-1-70b"),
    }
    assert expected <= passed, expected - passed


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_self_hosted_models_are_priced_so_budgets_count_them(environment):
    from aiplane.cost import served_token_prices

    spec = load_stack(environment, PROJECT_DIR / "stacks")
    config = YAML(typ="safe").load(render_config(gateway_plan(spec)))
    prices = served_token_prices(spec)
    assert set(prices) == {model.name for model in spec.platform.compute.models}
    for entry in config["model_list"]:
        params = entry["litellm_params"]
        if params["model"].startswith("hosted_vllm/"):
            expected = prices[params["model"].removeprefix("hosted_vllm/")]
            assert math.isclose(params["input_cost_per_token"], expected, rel_tol=1e-3)
            assert math.isclose(params["output_cost_per_token"], expected, rel_tol=1e-3)
            assert 1e-9 < expected < 1e-4, expected  # between a thousandth of a dollar and a hundred dollars per million
        else:
            assert "input_cost_per_token" not in params  # a provider's own prices (LiteLLM's cost map) apply
