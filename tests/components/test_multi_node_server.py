"""A model planned across nodes (prod's 405B): a LeaderWorkerSet that matches its plan, validated against
the pinned LWS CRD, on its EFA pool's fabric, reached by its Service and scaled by KEDA through its leader."""
from __future__ import annotations

import copy

import pytest

from aiplane.components.leader_worker_set import EFA_ENVIRONMENT, LWS_CHART, LWS_IMAGE_TAG, ROLE_LABEL
from aiplane.export.kubernetes import manifests
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import EFA_RESOURCE, PLACEMENT_GROUP_LABEL, POOL_LABEL
from tests.conftest import synthesized
from tests.crd_schemas import schema_errors

LWS_CRD = "leaderworkerset.x-k8s.io_leaderworkersets.v0.9.0.yaml.gz"
MODEL = "llama-3-1-405b"


@pytest.fixture(scope="module")
def prod():
    spec, graph = synthesized("prod")
    documents = {manifest.document["kind"]: manifest.document for manifest in manifests(graph) if manifest.document["metadata"]["name"] == MODEL}
    return spec, graph, documents


def templates(lws):
    group = lws["spec"]["leaderWorkerTemplate"]
    return group["leaderTemplate"], group["workerTemplate"]


def test_the_set_matches_the_plan(prod):
    spec, _, documents = prod
    plan = spec.compute_plan.pool("frontier").model(MODEL)
    assert plan.topology.kind == "multi-node" and plan.topology.pipeline_parallel == 2
    lws = documents["LeaderWorkerSet"]
    assert lws["spec"]["replicas"] == plan.scenario("nominal").replicas
    assert lws["spec"]["leaderWorkerTemplate"]["size"] == plan.topology.pipeline_parallel
    leader, worker = templates(lws)
    arguments = leader["spec"]["containers"][0]["args"]
    assert arguments[arguments.index("--tensor-parallel-size") + 1] == "8"
    assert arguments[arguments.index("--pipeline-parallel-size") + 1] == "2"
    assert arguments[arguments.index("--distributed-executor-backend") + 1] == "ray"
    assert "args" not in worker["spec"]["containers"][0], "a worker joins the leader's Ray cluster; it runs no server"


def test_every_pod_asks_for_the_whole_node_and_its_fabric(prod):
    _, _, documents = prod
    p5 = load_instance_catalog().instances["p5.48xlarge"]
    for template in templates(documents["LeaderWorkerSet"]):
        pod = template["spec"]
        container = pod["containers"][0]
        assert container["resources"]["limits"]["nvidia.com/gpu"] == str(p5.gpus)
        assert container["resources"]["limits"][EFA_RESOURCE] == str(p5.max_efa_interfaces)
        assert {item["name"]: item["value"] for item in container["env"]}.items() >= EFA_ENVIRONMENT.items()
        assert set(pod["nodeSelector"]) == {POOL_LABEL, "topology.kubernetes.io/zone", PLACEMENT_GROUP_LABEL}
        assert pod["nodeSelector"][POOL_LABEL] == "frontier"
        assert not any("hostPath" in volume for volume in pod["volumes"])


def test_the_service_and_keda_reach_the_leader(prod):
    _, _, documents = prod
    assert documents["Service"]["spec"]["selector"][ROLE_LABEL] == "leader"
    target = documents["ScaledObject"]["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "name": MODEL}


def test_the_lws_controller_is_pinned_and_installed_first(prod):
    _, graph, _ = prod
    release = graph.find("kubernetes:helm.sh/v3:Release", "serving-lws")
    assert release.inputs["chart"] == LWS_CHART["chart"] and release.inputs["version"] == LWS_CHART["version"]
    assert release.inputs["values"]["image"]["manager"]["tag"] == LWS_IMAGE_TAG
    lws = graph.find("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", f"serving-{MODEL}-lws")
    assert release.urn in lws.dependencies


def test_the_set_is_valid_under_the_pinned_crd(prod):
    _, _, documents = prod
    assert schema_errors(documents["LeaderWorkerSet"], LWS_CRD) == []


def test_the_crd_check_rejects_a_field_lws_does_not_have(prod):
    _, _, documents = prod
    broken = copy.deepcopy(documents["LeaderWorkerSet"])
    broken["spec"]["leaderWorkerTemplate"]["groupSize"] = 2
    broken["spec"]["replicas"] = "two"
    errors = schema_errors(broken, LWS_CRD)
    assert any("groupSize" in error for error in errors) and any(error.startswith("spec.replicas:") for error in errors), errors


def test_staging_and_dev_serve_on_one_node():
    for environment in ("dev", "staging"):
        spec, graph = synthesized(environment)
        assert not graph.of_type("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
        assert all(model.topology.nodes_per_replica == 1 for pool in spec.compute_plan.pools for model in pool.models)
