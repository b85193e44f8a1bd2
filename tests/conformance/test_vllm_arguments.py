"""The pinned vLLM's own definitions against what every shipped model server passes it: each flag exists
and is not deprecated, each VLLM_* variable is one vLLM reads, and what a flag needs is in the image used."""
from __future__ import annotations

import pytest

from aiplane.components.model_server import VLLM_IMAGE
from tests.conformance.vllm_wheel import TRACING_NEEDS, VllmWheel, fetch, normalized
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, synthesized

VERSION = VLLM_IMAGE.split(":v", 1)[1].split("@", 1)[0]
WHEEL_CACHE = PROJECT_DIR / ".cache" / "wheels"


@pytest.fixture(scope="module")
def vllm() -> VllmWheel:
    return VllmWheel(fetch(VERSION, WHEEL_CACHE))


def containers(environment):
    """The vLLM server of every model: a Deployment's container, or a LeaderWorkerSet leader's."""
    _, graph = synthesized(environment)
    for resource in graph.resources:
        if not resource.name.startswith("serving-"):
            continue
        if resource.type == "kubernetes:apps/v1:Deployment":
            template = resource.inputs["spec"]["template"]
        elif resource.type == "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet":
            template = resource.inputs["spec"]["leaderWorkerTemplate"]["leaderTemplate"]
        else:
            continue
        container = template["spec"]["containers"][0]
        if container["name"] != "vllm":
            continue  # an endpoint picker beside the servers
        assert container["image"] == VLLM_IMAGE
        yield resource.name, container


def test_a_multi_node_server_is_among_those_checked():
    names = [name for name, _ in containers("prod")]
    assert "serving-llama-3-1-405b-lws" in names, names


def passed_flags(container) -> list[str]:
    return [argument.split("=", 1)[0] for argument in container["args"] if argument.startswith("--")]


def test_the_wheel_is_the_pinned_version(vllm):
    assert vllm.path.name.startswith(f"vllm-{VERSION}-"), vllm.path
    assert len(vllm.flags) > 100 and "--tensor-parallel-size" in vllm.flags and "--port" in vllm.flags


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_flag_is_defined_and_current(vllm, environment):
    for name, container in containers(environment):
        for flag in passed_flags(container):
            assert flag in vllm.flags, f"{name}: vLLM {VERSION} has no flag {flag}"
            assert not vllm.flags[flag], f"{name}: {flag} is deprecated in vLLM {VERSION}"


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_vllm_variable_is_one_vllm_reads(vllm, environment):
    for name, container in containers(environment):
        for variable in (item["name"] for item in container.get("env", [])):
            if variable.startswith("VLLM_"):
                assert variable in vllm.environment_variables, f"{name}: vLLM {VERSION} does not read {variable}"


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_what_each_flag_needs_is_in_the_image(vllm, environment):
    image = vllm.image_packages
    runai = {name for name in vllm.requirements("runai") if "gcs" not in name and "google" not in name}  # weights are in S3
    for name, container in containers(environment):
        arguments = container["args"]
        if "--load-format" in arguments and arguments[arguments.index("--load-format") + 1] == "runai_streamer":
            assert runai <= image, f"{name}: the Run:ai streamer needs {sorted(runai - image)}, which {VLLM_IMAGE} lacks"
        if "--distributed-executor-backend" in arguments and arguments[arguments.index("--distributed-executor-backend") + 1] == "ray":
            # The leader starts a Ray head and the workers join it: Ray must be in the image.
            assert "ray" in image, f"{name}: the ray executor needs Ray, which {VLLM_IMAGE} lacks"
        if "--otlp-traces-endpoint" in passed_flags(container):
            missing = {normalized(n) for n in TRACING_NEEDS} - image
            assert not missing, f"{name}: --otlp-traces-endpoint makes vLLM refuse to start without {sorted(missing)}"
