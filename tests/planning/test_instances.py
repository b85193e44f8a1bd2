"""The instance catalog and the node profiles: coverage, internal consistency, agreement with the policy
checks that carry their own copy of a few figures, and a generated reference that cannot drift."""
from __future__ import annotations

import ast

import pytest

from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import NODE_PROFILES
from tests.conftest import PROJECT_DIR

REQUIRED_FAMILIES = {"g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"}


def policy_constant(name: str):
    """A literal from policies/checks/aip_support.py, read without importing checkov (it lives in its own venv)."""
    tree = ast.parse((PROJECT_DIR / "policies" / "checks" / "aip_support.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == name for target in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def test_catalog_covers_the_gpu_families_the_architecture_uses():
    assert REQUIRED_FAMILIES <= set(load_instance_catalog().families())


def test_every_figure_has_a_source_with_a_link():
    catalog = load_instance_catalog()
    for instance in catalog.instances.values():
        for key in instance.sources.model_dump().values():
            assert str(catalog.sources[key].url).startswith("https://")


@pytest.mark.parametrize("name", sorted(load_instance_catalog().instances))
def test_instances_are_internally_consistent(name):
    instance = load_instance_catalog().instances[name]
    assert instance.nvlink_domain in (1, instance.gpus)
    assert instance.nvlink_domain == (8 if instance.family in ("p4d", "p4de", "p5", "p5e", "p5en", "p6-b200") else 1)
    assert instance.gpu_product.startswith("NVIDIA-")
    assert (instance.max_efa_interfaces > 0) == instance.efa


def test_the_efa_policy_knows_every_card_count_the_catalog_has():
    cards = policy_constant("EFA_NETWORK_CARDS")
    catalog = load_instance_catalog()
    for name, count in cards.items():
        if name in catalog.instances:
            assert catalog.instances[name].max_efa_interfaces == count, name
    for instance in catalog.instances.values():
        if instance.efa and instance.network_cards > 1:
            assert cards.get(instance.name) == instance.max_efa_interfaces, f"{instance.name} missing from EFA_NETWORK_CARDS"


def test_the_gpu_policies_know_every_catalog_family():
    assert set(load_instance_catalog().families()) <= set(policy_constant("GPU_FAMILIES"))


def test_profiles_admit_at_least_one_catalog_instance():
    catalog = load_instance_catalog()
    for profile in NODE_PROFILES.values():
        fitting = [
            i for i in catalog.instances.values()
            if i.family in profile.families and i.gpu_memory_gib >= profile.min_gpu_memory_gib and i.gpus <= profile.max_gpus_per_node
        ]
        assert fitting, profile.name
        if profile.multi_node:
            assert all(i.efa for i in fitting), "a multi-node profile must only take EFA instances"


def test_catalog_agrees_with_ec2s_describe_instance_types(aws_endpoint):
    """boto3 against moto's server, whose EC2 answers come from a snapshot of the real DescribeInstanceTypes."""
    import boto3

    catalog = load_instance_catalog()
    ec2 = boto3.client(
        "ec2", region_name="us-east-1", endpoint_url=aws_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    answers = ec2.describe_instance_types(InstanceTypes=sorted(catalog.instances))["InstanceTypes"]
    assert {answer["InstanceType"] for answer in answers} == set(catalog.instances)
    for answer in answers:
        instance = catalog.instances[answer["InstanceType"]]
        (gpu,) = answer["GpuInfo"]["Gpus"]
        network = answer["NetworkInfo"]
        assert (gpu["Name"], gpu["Count"], gpu["MemoryInfo"]["SizeInMiB"]) == (instance.gpu, instance.gpus, instance.gpu_memory_mib), instance.name
        assert (answer["VCpuInfo"]["DefaultVCpus"], answer["MemoryInfo"]["SizeInMiB"]) == (instance.vcpus, instance.memory_gib * 1024), instance.name
        assert network["MaximumNetworkCards"] == instance.network_cards, instance.name
        assert network["EfaSupported"] == instance.efa, instance.name
        assert network.get("EfaInfo", {}).get("MaximumEfaInterfaces", 0) == instance.max_efa_interfaces, instance.name
