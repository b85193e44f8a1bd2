"""vLLM model servers under the mocks runtime: placed on their pool, sized by the capacity plan, scaled on
serving signals; and every exported Kubernetes manifest checked by kubernetes-validate."""
from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest

from aiplane.artifacts import plan_stack
from aiplane.components.model_server import (
    GPU_RESOURCE,
    RUNNING_METRIC,
    VLLM_IMAGE,
    WAITING_METRIC,
)
from aiplane.planning.node_profiles import GPU_TAINT, POOL_LABEL
from aiplane.platform import served_model_plans
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, fixture_project, synthesized

# Kinds kubernetes-validate has no schema for: custom resources of Karpenter, KEDA and the Prometheus Operator.
CUSTOM_KINDS = {
    "NodePool", "EC2NodeClass", "ScaledObject", "PrometheusRule", "ServiceMonitor", "LeaderWorkerSet",
    "InferencePool", "Gateway", "HTTPRoute", "DestinationRule",
    # Kueue and JobSet: validated against their CRDs in test_scheduling.py.
    "ClusterQueue", "LocalQueue", "ResourceFlavor", "Cohort", "JobSet",
}


def k8s_object(graph, kind, name):
    return next(r for r in graph.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind and r.name == name)


def servers(environment):
    """The one-node servers (Deployments); a multi-node server's LeaderWorkerSet: test_multi_node_server.py."""
    spec, graph = synthesized(environment)
    for plan in served_model_plans(spec):
        if plan.pipeline_parallel == 1:
            yield spec, graph, plan


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_each_server_runs_on_its_pool_with_the_plan_tp_degree_of_gpus(environment):
    for spec, graph, plan in servers(environment):
        pod = k8s_object(graph, "Deployment", f"serving-{plan.model}-deployment").inputs["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {POOL_LABEL: plan.pool}
        assert pod["tolerations"] == [{"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}]
        (container,) = pod["containers"]
        if spec.platform.scheduling.gpu_allocation == "dra":
            # Claimed instead: exactly TP GPUs from the pool's DeviceClass.
            assert GPU_RESOURCE not in container["resources"]["limits"] and container["resources"]["claims"] == [{"name": "gpus"}]
            template = k8s_object(graph, "ResourceClaimTemplate", f"serving-{plan.model}-claims").inputs["spec"]["spec"]
            (request,) = template["devices"]["requests"]
            assert request["exactly"]["count"] == plan.tensor_parallel
        else:
            assert container["resources"]["limits"][GPU_RESOURCE] == str(plan.tensor_parallel)
        assert container["resources"]["requests"] == container["resources"]["limits"]
        model_plan = spec.compute_plan.pool(plan.pool).model(plan.model)
        assert plan.tensor_parallel == model_plan.scenario("peak").tensor_parallel
        arguments = dict(zip(container["args"][::2], container["args"][1::2]))
        assert arguments["--tensor-parallel-size"] == str(plan.tensor_parallel)
        assert arguments["--max-model-len"] == str(next(m.context_tokens for m in spec.platform.compute.models if m.name == plan.model))
        assert arguments["--served-model-name"] == plan.model
        assert arguments["--load-format"] == "runai_streamer"
        bucket = graph.find("aws:s3/bucket:Bucket", "storage-models").id
        assert arguments["--model"] == f"s3://{bucket}/{plan.weights_prefix}"
        assert container["image"] == VLLM_IMAGE and "@sha256:" in VLLM_IMAGE


def test_shared_memory_readiness_and_a_read_only_root():
    for _, graph, plan in servers("prod"):
        pod = k8s_object(graph, "Deployment", f"serving-{plan.model}-deployment").inputs["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        shm = next(volume for volume in pod["volumes"] if volume["name"] == "shm")
        assert shm["emptyDir"]["medium"] == "Memory"
        assert {"name": "shm", "mountPath": "/dev/shm"} in container["volumeMounts"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
        # The cold-start estimate's weights and engine, with its margin (tests/planning/test_cold_start.py).
        assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] == plan.startup_seconds
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["automountServiceAccountToken"] is False


def test_autoscaling_follows_queue_depth_and_running_requests_never_cpu():
    for spec, graph, plan in servers("prod"):
        scaler = k8s_object(graph, "ScaledObject", f"serving-{plan.model}-scaler").inputs["spec"]
        assert (scaler["minReplicaCount"], scaler["maxReplicaCount"]) == (plan.replicas, plan.max_replicas)
        queries = [trigger["metadata"]["query"] for trigger in scaler["triggers"]]
        assert queries == [f'sum({WAITING_METRIC}{{model_name="{plan.model}"}})', f'sum({RUNNING_METRIC}{{model_name="{plan.model}"}})']
        assert all(trigger["type"] == "prometheus" for trigger in scaler["triggers"])
        assert not [r for r in graph.resources if r.inputs.get("kind") == "HorizontalPodAutoscaler" and plan.model in r.name]
        keda = graph.find("kubernetes:helm.sh/v3:Release", "serving-keda")
        assert keda.urn in k8s_object(graph, "ScaledObject", f"serving-{plan.model}-scaler").dependencies


def test_weights_are_read_from_the_models_prefix_only():
    for _, graph, plan in servers("prod"):
        policy = json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", f"serving-{plan.model}-weights-policy").inputs["policy"])
        statements = {statement["Sid"]: statement for statement in policy["Statement"]}
        bucket = graph.find("aws:s3/bucket:Bucket", "storage-models").id
        assert statements["ReadWeights"]["Resource"] == [f"arn:aws:s3:::{bucket}/{plan.weights_prefix}*"]
        assert statements["ListWeights"]["Condition"] == {"StringLike": {"s3:prefix": [f"{plan.weights_prefix}*"]}}
        assert statements["DecryptWeights"]["Resource"] == [graph.find("aws:kms/key:Key", "storage-key").outputs["arn"]]
        association = graph.find("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"serving-{plan.model}-weights-identity")
        assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("model-serving", plan.model)


def test_only_the_gateway_and_prometheus_reach_a_server():
    for _, graph, plan in servers("prod"):
        policy = k8s_object(graph, "NetworkPolicy", f"serving-{plan.model}-netpol").inputs["spec"]
        (ingress,) = policy["ingress"]
        (selector,) = ingress["from"][0]["namespaceSelector"]["matchExpressions"]
        assert ingress["ports"] == [{"protocol": "TCP", "port": 8000}]
        if not plan.pooled:
            assert selector["values"] == ["model-gateway", "monitoring"] and len(ingress["from"]) == 1
            continue
        # A pooled model: the inference gateway, and its own endpoint picker (for the metrics it scores on).
        assert selector["values"] == ["inference-gateway", "model-gateway", "monitoring"]
        assert ingress["from"][1:] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": f"{plan.model}-epp"}}}]


FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize(
    ("stack_file", "environment"),
    [(None, environment) for environment in SHIPPED_STACKS] + [(fixture, "prod") for fixture in FIXTURES],
    ids=[*SHIPPED_STACKS, *(fixture.stem.removeprefix("Pulumi.") + "-fixture" for fixture in FIXTURES)],
)
def test_every_exported_manifest_passes_kubernetes_validate(stack_file, environment, tmp_path):
    project = fixture_project(tmp_path, stack_file) if stack_file else PROJECT_DIR
    built = plan_stack(project, environment, tmp_path / "build")
    version = built.spec.platform.cluster.version
    without_schema = set()
    for path in sorted((tmp_path / "build" / "k8s").glob("*.yaml")):
        document = json.loads(path.read_text())
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            without_schema.add(document["kind"])
    assert built.manifests
    assert without_schema <= CUSTOM_KINDS, without_schema - CUSTOM_KINDS


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_servers_start_on_the_stock_image_and_are_waited_for_long_enough(environment):
    from aiplane.policy.graph_checks.support import duration_seconds

    for _, graph, plan in servers(environment):
        deployment = k8s_object(graph, "Deployment", f"serving-{plan.model}-deployment")
        arguments = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
        # The stock vllm/vllm-openai image has no OpenTelemetry SDK: with this flag vLLM refuses to start.
        assert not any(argument.startswith("--otlp-traces-endpoint") for argument in arguments)
        timeouts = deployment.options["customTimeouts"]
        assert min(duration_seconds(timeouts["create"]), duration_seconds(timeouts["update"])) > plan.startup_seconds
        assert deployment.options["ignoreChanges"] == ["spec.replicas"]  # KEDA owns replicas after creation
        pool_nodes = [urn for urn in deployment.explicit_dependencies if urn.endswith(f"::gpu-{plan.pool}-nodes") or f"gpu-{plan.pool}-nodepool" in urn]
        assert pool_nodes, f"{plan.model} does not wait for its pool's nodes"
