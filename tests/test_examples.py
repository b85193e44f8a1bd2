"""The examples under examples/ synthesize offline, as the Pulumi CLI would run them, using only
`aiplane.components` (no stack file, no platform composition)."""
from __future__ import annotations

import runpy
from collections import Counter

import pytest

from aiplane.synth.engine import synthesize
from tests.conftest import PROJECT_DIR

EXAMPLES = sorted(path.parent.name for path in (PROJECT_DIR / "examples").glob("*/__main__.py"))


def synthesized_example(name: str):
    program_file = PROJECT_DIR / "examples" / name / "__main__.py"
    return synthesize(
        lambda: runpy.run_path(str(program_file), run_name="__main__"),
        stack="dev", region="us-east-1", config={"aws:region": "us-east-1"}, project=f"aiplane-example-{name}",
        source_root=PROJECT_DIR,
    )


def test_there_are_examples_of_the_network_the_cluster_and_a_gpu_pool():
    assert {"network-and-cluster", "gpu-pool"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_synthesizes_with_its_components(name):
    graph = synthesized_example(name)
    components = Counter(resource.type for resource in graph.resources if not resource.custom)
    assert components["aiplane:network:Network"] == 1 and components["aiplane:cluster:Cluster"] == 1
    assert any(resource.type == "aws:eks/cluster:Cluster" for resource in graph.custom_resources)
    imports = (PROJECT_DIR / "examples" / name / "__main__.py").read_text()
    assert "from aiplane.components." in imports and "from components" not in imports


def test_gpu_pool_example_gets_the_pools_secure_shape():
    graph = synthesized_example("gpu-pool")
    node_groups = [r for r in graph.custom_resources if r.type == "aws:eks/nodeGroup:NodeGroup" and "gpu-chat" in r.name]
    assert len(node_groups) == 1
    group = node_groups[0].inputs
    assert group["amiType"] == "AL2023_x86_64_NVIDIA"
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in group["taints"]
    templates = [r for r in graph.custom_resources if r.type == "aws:ec2/launchTemplate:LaunchTemplate" and "gpu-chat" in r.name]
    assert templates and templates[0].inputs["metadataOptions"]["httpTokens"] == "required"
