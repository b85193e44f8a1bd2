"""Kueue, JobSet, priorities and DRA as the shipped stacks render them: valid under the pinned CRDs and
Kubernetes' own resource.k8s.io/v1 schemas, quotas that agree with the queues, serving at serving priority,
and GPUs asked for the way each stack's allocation mode hands them out."""
from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from aiplane.components.scheduling import (
    DRA_DRIVER_CHART,
    JOBSET_CHART,
    JOBSET_VERSION,
    KUEUE_CHART,
    KUEUE_VERSION,
    LOCAL_QUEUE,
    QUEUE_NAME_LABEL,
    device_class_name,
)
from aiplane.planning.queues import COHORT, PRIORITIES, priority_class_name
from aiplane.policy.graph_checks.support import asks_device_plugin_gpus, claims_devices, pod_specs
from tests.conftest import SHIPPED_STACKS, synthesized
from tests.crd_schemas import schema_errors

CRDS = {
    "ClusterQueue": f"kueue.x-k8s.io_clusterqueues.v{KUEUE_VERSION}.yaml.gz",
    "LocalQueue": f"kueue.x-k8s.io_localqueues.v{KUEUE_VERSION}.yaml.gz",
    "ResourceFlavor": f"kueue.x-k8s.io_resourceflavors.v{KUEUE_VERSION}.yaml.gz",
    "Cohort": f"kueue.x-k8s.io_cohorts.v{KUEUE_VERSION}.yaml.gz",
    "JobSet": f"jobset.x-k8s.io_jobsets.v{JOBSET_VERSION}.yaml.gz",
}
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "LeaderWorkerSet", "JobSet")


def of_kind(graph, kind):
    return [r for r in graph.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def named(graph, kind, name, namespace=None):
    found = [r for r in of_kind(graph, kind) if r.inputs["metadata"]["name"] == name and r.inputs["metadata"].get("namespace") == namespace]
    assert len(found) == 1, (kind, name, namespace, len(found))
    return found[0].inputs


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_kueue_and_jobset_object_is_valid_under_the_pinned_crds(environment):
    _, graph = synthesized(environment)
    seen = set()
    for kind, crd in CRDS.items():
        for resource in of_kind(graph, kind):
            seen.add(kind)
            assert schema_errors(resource.inputs, crd) == [], (kind, resource.name, schema_errors(resource.inputs, crd))
    assert {"ClusterQueue", "LocalQueue", "ResourceFlavor", "Cohort"} <= seen
    if environment == "prod":
        assert "JobSet" in seen  # the training tenant's example work


def test_the_crd_check_rejects_what_kueue_and_jobset_do_not_define():
    _, graph = synthesized("prod")
    queue = copy.deepcopy(of_kind(graph, "ClusterQueue")[0].inputs)
    queue["spec"]["cohort"] = queue["spec"].pop("cohortName")  # v1beta1's spelling
    queue["spec"]["preemption"]["reclaimWithinCohort"] = "Always"
    errors = schema_errors(queue, CRDS["ClusterQueue"])
    assert any("cohort" in error for error in errors) and any("reclaimWithinCohort" in error for error in errors), errors
    job_set = copy.deepcopy(of_kind(graph, "JobSet")[0].inputs)
    job_set["spec"]["replicatedJobs"][0]["parallelism"] = 2
    assert any("parallelism" in error for error in schema_errors(job_set, CRDS["JobSet"]))


def test_dra_objects_are_valid_under_kubernetes_1_34_and_the_check_catches_a_beta_shape():
    spec, graph = synthesized("staging")
    version = spec.platform.cluster.version
    assert version == "1.34"
    documents = [r.inputs for kind in ("DeviceClass", "ResourceClaimTemplate") for r in of_kind(graph, kind)]
    assert {doc["kind"] for doc in documents} == {"DeviceClass", "ResourceClaimTemplate"}
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)
    template = copy.deepcopy(next(doc for doc in documents if doc["kind"] == "ResourceClaimTemplate"))
    request = template["spec"]["spec"]["devices"]["requests"][0]
    request["deviceClassName"] = request.pop("exactly")["deviceClassName"]  # resource.k8s.io/v1beta1's shape
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(template, version, strict=True)


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_each_tenant_quota_is_its_queue_nominal_plus_borrowing_limit(environment):
    spec, graph = synthesized(environment)
    for tenant in spec.tenants:
        local = named(graph, "LocalQueue", LOCAL_QUEUE, tenant.namespace)
        cluster = named(graph, "ClusterQueue", local["spec"]["clusterQueue"])
        assert cluster["spec"]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": tenant.namespace}}
        assert cluster["spec"]["cohortName"] == COHORT
        ((flavor,),) = [group["flavors"] for group in cluster["spec"]["resourceGroups"]]
        ((gpus,),) = [flavor["resources"]]
        hard = named(graph, "ResourceQuota", "tenant-quota", tenant.namespace)["spec"]["hard"]
        gpu_keys = [key for key in hard if key.endswith("nvidia.com/gpu") or key.endswith(".deviceclass.resource.k8s.io/devices")]
        counted = [key for key in gpu_keys if hard[key] != "0"] or gpu_keys
        assert len(counted) == 1, hard
        assert int(hard[counted[0]]) == gpus["nominalQuota"] + gpus["borrowingLimit"], (tenant.name, hard, gpus)
        assert gpus["nominalQuota"] == tenant.plan.quota.gpus


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_the_cohort_never_promises_more_than_the_pools_hold(environment):
    spec, graph = synthesized(environment)
    plan = spec.queue_plan
    nominal: dict[str, int] = {}
    for resource in [*of_kind(graph, "ClusterQueue"), *of_kind(graph, "Cohort")]:
        for group in resource.inputs["spec"].get("resourceGroups", []):
            for flavor in group["flavors"]:
                nominal[flavor["name"]] = nominal.get(flavor["name"], 0) + sum(r["nominalQuota"] for r in flavor["resources"])
    for pool in plan.pools:
        assert nominal.get(pool.pool, 0) <= pool.gpus_at_max, (pool, nominal)


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_servers_and_the_gateway_run_at_serving_priority_and_tenants_below_their_ceiling(environment):
    spec, graph = synthesized(environment)
    classes = {r.inputs["metadata"]["name"]: r.inputs["value"] for r in of_kind(graph, "PriorityClass")}
    assert classes == {level.class_name: level.value for level in PRIORITIES}
    assert sorted(classes, key=classes.get, reverse=True) == [priority_class_name(name) for name in ("serving", "interactive", "batch", "training")]
    serving = priority_class_name("serving")
    for kind in ("Deployment", "LeaderWorkerSet"):
        for resource in of_kind(graph, kind):
            namespace = resource.inputs["metadata"].get("namespace")
            if namespace in ("model-serving", "model-gateway"):  # servers, endpoint pickers, the gateway
                assert all(pod.get("priorityClassName") == serving for pod in pod_specs(resource)), resource.name
    for tenant in spec.tenants:
        namespace = named(graph, "Namespace", tenant.namespace)
        assert namespace["metadata"]["labels"]["aiplane.io/priority-ceiling"] == tenant.plan.queue.priority
        ceilings = [r for r in of_kind(graph, "ResourceQuota") if r.inputs["metadata"] == {"name": "priority-ceiling", "namespace": tenant.namespace}]
        if tenant.plan.queue.priority == "serving":
            assert not ceilings
        else:
            (ceiling,) = ceilings
            (expression,) = ceiling.inputs["spec"]["scopeSelector"]["matchExpressions"]
            assert serving in expression["values"] and ceiling.inputs["spec"]["hard"] == {"pods": "0"}


def test_the_example_work_goes_through_its_tenants_queue():
    spec, graph = synthesized("prod")
    work = {r.inputs["metadata"]["namespace"]: r for kind in ("Job", "JobSet") for r in of_kind(graph, kind)
            if r.inputs["metadata"]["name"].startswith("example-")}
    assert set(work) == {"analytics", "research"}
    for namespace, resource in work.items():
        metadata = resource.inputs["metadata"]
        assert metadata["labels"] == {QUEUE_NAME_LABEL: LOCAL_QUEUE}
        assert resource.inputs["spec"]["suspend"] is True  # Kueue starts it once the queue admits it
        tenant = next(t for t in spec.tenants if t.namespace == namespace)
        (pod,) = pod_specs(resource)
        assert pod["priorityClassName"] == priority_class_name("batch" if namespace == "analytics" else "training")
        assert tenant.plan.queue.priority in ("batch", "training")
    (job_set,) = [work["research"]]
    (node_job,) = job_set.inputs["spec"]["replicatedJobs"]
    assert node_job["template"]["spec"]["parallelism"] == 2  # one pod per node of the two-node pool
    limits = pod_specs(job_set)[0]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "8" and int(limits["vpc.amazonaws.com/efa"]) >= 1


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_gpu_pods_ask_as_the_allocation_mode_says_and_the_charts_are_pinned(environment):
    spec, graph = synthesized(environment)
    dra = spec.platform.scheduling.gpu_allocation == "dra"
    releases = {r.inputs["chart"]: r.inputs for r in of_kind(graph, "Release")}
    assert releases[KUEUE_CHART["chart"]]["version"] == KUEUE_VERSION
    assert releases[JOBSET_CHART["chart"]]["version"] == JOBSET_VERSION
    assert (DRA_DRIVER_CHART["chart"] in releases) == dra
    assert releases["gpu-operator"]["values"]["devicePlugin"]["enabled"] is not dra
    gpu_pods = 0
    for kind in POD_KINDS:
        for resource in of_kind(graph, kind):
            for pod in pod_specs(resource):
                if asks_device_plugin_gpus(pod) or claims_devices(pod):
                    gpu_pods += 1
                    assert asks_device_plugin_gpus(pod) is not dra and claims_devices(pod) is dra, resource.name
    assert gpu_pods
    if dra:
        classes = {r.inputs["metadata"]["name"] for r in of_kind(graph, "DeviceClass")}
        assert classes == {device_class_name(product) for product in ("NVIDIA-L40S", "NVIDIA-L4")}
