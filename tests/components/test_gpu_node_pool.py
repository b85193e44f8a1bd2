"""GPU node pools under the mocks runtime: every profile and both modes, from one fixture stack.

The fixture replaces the prod stack in a copy of the project, so the same synthesis also runs through
the prod policy profile with real checkov (see test_the_fixture_passes_the_prod_gate).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from aiplane.components.gpu_node_pool import AMI_TYPE, KARPENTER_AMI_ALIAS
from aiplane.components.gpu_software import (
    EFA_PLUGIN_CHART,
    GPU_OPERATOR_CHART,
    KARPENTER_CHART,
)
from aiplane.planning.instances import load_instance_catalog
from aiplane.planning.node_profiles import (
    GPU_PRODUCT_LABEL,
    NVLINK_DOMAIN_LABEL,
    POOL_LABEL,
    PROFILE_LABEL,
)
from aiplane.policy.gate import run_gate
from aiplane.synth.engine import synthesize_stack
from tests.conftest import fixture_project

FIXTURE = Path(__file__).parent / "fixtures" / "Pulumi.gpu.yaml"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


@pytest.fixture(scope="module")
def gpu_project(tmp_path_factory) -> Path:
    return fixture_project(tmp_path_factory.mktemp("gpu-project"), FIXTURE)


@pytest.fixture(scope="module")
def stack(gpu_project):
    return synthesize_stack(gpu_project, "prod")


def node_group(graph, pool):
    return graph.find(NODE_GROUP, f"gpu-{pool}-nodes")


def launch_template(graph, pool):
    return graph.find(LAUNCH_TEMPLATE, f"gpu-{pool}-lt")


def kubernetes_object(graph, kind, name):
    return next(r for r in graph.resources if r.type.startswith("kubernetes:") and r.inputs.get("kind") == kind and r.name == name)


MANAGED = ("serve", "longctx", "train", "train-a100", "offline")


@pytest.mark.parametrize("pool", MANAGED)
def test_every_managed_pool_is_hardened_labelled_and_tainted(stack, pool):
    spec, graph = stack
    pool_spec = next(p for p in spec.platform.compute.pools if p.name == pool)
    instance = load_instance_catalog().instances[pool_spec.instance_types[0]]
    group = node_group(graph, pool).inputs
    template = launch_template(graph, pool).inputs
    assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    (root,) = template["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] == "true" and root["ebs"]["volumeType"] == "gp3"
    assert root["ebs"]["volumeSize"] >= 200
    assert group["amiType"] == AMI_TYPE == "AL2023_x86_64_NVIDIA"
    assert group["labels"][PROFILE_LABEL] == pool_spec.profile
    assert group["labels"][POOL_LABEL] == pool
    assert group["labels"][GPU_PRODUCT_LABEL] == instance.gpu_product
    assert group["labels"][NVLINK_DOMAIN_LABEL] == str(instance.nvlink_domain)
    assert group["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert group["launchTemplate"]["id"] == launch_template(graph, pool).id


@pytest.mark.parametrize("pool", MANAGED)
def test_sizes_come_from_the_capacity_plan(stack, pool):
    spec, graph = stack
    plan = spec.compute_plan.pool(pool)
    assert node_group(graph, pool).inputs["scalingConfig"] == {
        "minSize": plan.min_nodes,
        "desiredSize": plan.desired_nodes,
        "maxSize": plan.max_nodes,
    }


def test_serving_pools_are_sized_by_their_models(stack):
    spec, _ = stack
    serve = spec.compute_plan.pool("serve")
    assert serve.sized_by == "capacity plan"
    assert 0 < serve.min_nodes <= serve.desired_nodes < serve.max_nodes
    assert spec.compute_plan.pool("train").sized_by == "stack file"


@pytest.mark.parametrize(("pool", "instance_type"), [("train", "p5.48xlarge"), ("train-a100", "p4d.24xlarge")])
def test_training_pools_attach_one_efa_interface_per_network_card(stack, pool, instance_type):
    _, graph = stack
    instance = load_instance_catalog().instances[instance_type]
    interfaces = launch_template(graph, pool).inputs["networkInterfaces"]
    assert len(interfaces) == instance.network_cards == instance.max_efa_interfaces
    assert sorted(i["networkCardIndex"] for i in interfaces) == list(range(instance.network_cards))
    primary = next(i for i in interfaces if i["networkCardIndex"] == 0)
    assert (primary["deviceIndex"], primary["interfaceType"]) == (0, "efa")
    secondary = {(i["deviceIndex"], i["interfaceType"]) for i in interfaces if i["networkCardIndex"] > 0}
    assert secondary == ({(0, "efa-only")} if instance.efa_only_interfaces else {(1, "efa")})
    assert launch_template(graph, pool).inputs["instanceType"] == instance_type
    assert "instanceTypes" not in node_group(graph, pool).inputs


@pytest.mark.parametrize("pool", ["train", "train-a100"])
def test_training_pools_sit_in_one_zone_in_a_placement_group_or_their_reservation(stack, pool):
    """train is a Capacity Block: the reservation places its instances, and a forced cluster placement group can fail
    the launch against it (terraform-aws-modules/terraform-aws-eks#3730); train-a100 has no reservation."""
    spec, graph = stack
    template = launch_template(graph, pool).inputs
    groups = [g for g in graph.of_type("aws:ec2/placementGroup:PlacementGroup") if g.name == f"gpu-{pool}-placement"]
    if pool == "train":
        assert not groups and "placement" not in template
        assert template["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == "cr-0fedcba9876543210"
        assert "aiplane.io/placement-group" not in node_group(graph, pool).inputs["labels"]
    else:
        (placement,) = groups
        assert placement.inputs["strategy"] == "cluster"
        assert template["placement"]["groupName"] == placement.outputs["name"]
    (subnet_id,) = node_group(graph, pool).inputs["subnetIds"]
    subnet = next(s for s in graph.of_type("aws:ec2/subnet:Subnet") if s.id == subnet_id)
    expected_zone = "us-east-1b" if pool == "train" else spec.zones[0]
    assert subnet.inputs["availabilityZone"] == expected_zone
    assert subnet.name.startswith("network-private-")


def test_a_placement_group_is_kept_on_a_reservation_when_asked_and_never_dropped_without_one():
    from aiplane.spec import GpuPoolSpec

    base = {"name": "train", "profile": "training", "instanceTypes": ["p5.48xlarge"], "nodes": {"min": 0, "desired": 0, "max": 2}}
    assert GpuPoolSpec.model_validate(base).wants_placement_group
    reserved = {**base, "capacityReservationId": "cr-0fedcba9876543210"}
    assert not GpuPoolSpec.model_validate(reserved).wants_placement_group
    assert GpuPoolSpec.model_validate({**reserved, "placementGroup": True}).wants_placement_group
    with pytest.raises(ValueError, match="placementGroup: false needs capacityReservationId"):
        GpuPoolSpec.model_validate({**base, "placementGroup": False})


@pytest.mark.parametrize("pool", ["train", "train-a100"])
def test_the_efa_security_group_admits_only_itself(stack, pool):
    _, graph = stack
    group = graph.find("aws:ec2/securityGroup:SecurityGroup", f"gpu-{pool}-efa-sg")
    for rule in group.inputs["ingress"] + group.inputs["egress"]:
        assert rule["self"] is True and rule["protocol"] == "-1"
        assert not rule.get("cidrBlocks") and not rule.get("securityGroups")
    for interface in launch_template(graph, pool).inputs["networkInterfaces"]:
        assert group.id in interface["securityGroups"]


def test_non_efa_pools_have_no_fabric(stack):
    _, graph = stack
    for pool in ("serve", "longctx", "offline"):
        assert "networkInterfaces" not in launch_template(graph, pool).inputs
        assert "placement" not in launch_template(graph, pool).inputs


def test_capacity_block_pool_launches_into_its_block(stack):
    _, graph = stack
    template = launch_template(graph, "train").inputs
    assert node_group(graph, "train").inputs["capacityType"] == "CAPACITY_BLOCK"
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0fedcba9876543210"}
    }


def test_reserved_inference_pool_targets_its_reservation_on_demand(stack):
    _, graph = stack
    template = launch_template(graph, "serve").inputs
    assert node_group(graph, "serve").inputs["capacityType"] == "ON_DEMAND"
    assert "instanceMarketOptions" not in template
    assert template["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"] == "cr-0123456789abcdef0"


def test_batch_pool_is_a_spot_mix(stack):
    _, graph = stack
    group = node_group(graph, "offline").inputs
    assert group["capacityType"] == "SPOT"
    assert group["instanceTypes"] == ["g6e.xlarge", "g6e.2xlarge"]


def test_karpenter_pool_has_the_labels_and_taint_of_a_managed_pool(stack):
    spec, graph = stack
    node_class = kubernetes_object(graph, "EC2NodeClass", "gpu-embed-nodeclass").inputs
    node_pool = kubernetes_object(graph, "NodePool", "gpu-embed-nodepool").inputs
    template = node_pool["spec"]["template"]
    instance = load_instance_catalog().instances["g6.xlarge"]
    assert template["metadata"]["labels"] == {
        PROFILE_LABEL: "utility",
        POOL_LABEL: "embed",
        GPU_PRODUCT_LABEL: instance.gpu_product,
        NVLINK_DOMAIN_LABEL: "1",
    }
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    assert requirements == {"node.kubernetes.io/instance-type": ["g6.xlarge"], "karpenter.sh/capacity-type": ["spot", "on-demand"]}
    assert node_pool["spec"]["limits"] == {"nvidia.com/gpu": "4"}
    assert node_class["spec"]["amiSelectorTerms"] == [{"alias": KARPENTER_AMI_ALIAS}]
    assert node_class["spec"]["metadataOptions"]["httpTokens"] == "required"
    assert node_class["spec"]["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    entry = graph.find("aws:eks/accessEntry:AccessEntry", "gpu-embed-node-access")
    assert entry.inputs["type"] == "EC2_LINUX"
    assert entry.inputs["principalArn"] == graph.find("aws:iam/role:Role", "gpu-embed-node-role").outputs["arn"]
    # Both node sets share the labels the managed groups carry, key for key.
    assert set(template["metadata"]["labels"]) <= set(node_group(graph, "offline").inputs["labels"])


def helm(graph, name):
    return graph.find("kubernetes:helm.sh/v3:Release", f"gpu-software-{name}").inputs


def test_gpu_software_is_pinned_and_uses_the_ami_driver(stack):
    _, graph = stack
    operator = helm(graph, "gpu-operator")
    assert (operator["chart"], operator["version"]) == (GPU_OPERATOR_CHART["chart"], GPU_OPERATOR_CHART["version"])
    values = operator["values"]
    assert values["driver"]["enabled"] is False and values["toolkit"]["enabled"] is False
    assert values["dcgmExporter"] == {"enabled": True, "serviceMonitor": {"enabled": True}}
    assert values["nfd"]["enabled"] is True and values["gfd"]["enabled"] is True
    crds = graph.find("kubernetes:helm.sh/v3:Release", "gpu-software-prometheus-crds")
    assert crds.urn in graph.find("kubernetes:helm.sh/v3:Release", "gpu-software-gpu-operator").dependencies
    efa = helm(graph, "efa-device-plugin")
    assert efa["version"] == EFA_PLUGIN_CHART["version"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in efa["values"]["tolerations"]
    karpenter = helm(graph, "karpenter")
    assert (karpenter["chart"], karpenter["version"]) == (KARPENTER_CHART["chart"], KARPENTER_CHART["version"])


def test_karpenter_controller_may_pass_only_karpenter_node_roles(stack):
    import fnmatch
    import json

    spec, graph = stack
    policy = json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", "gpu-software-karpenter-policy").inputs["policy"])
    pass_role = next(s for s in policy["Statement"] if s["Sid"] == "AllowPassingInstanceRole")
    roles = {role.name: role.outputs["arn"] for role in graph.of_type("aws:iam/role:Role")}
    passable = {name for name, arn in roles.items() if fnmatch.fnmatchcase(arn, pass_role["Resource"])}
    assert passable == {"gpu-embed-node-role"}
    assert graph.find("aws:iam/role:Role", "gpu-embed-node-role").inputs["path"] == f"/aiplane/{spec.cluster_name}/karpenter/"


def test_karpenter_hears_of_interruptions_through_its_queue(stack):
    import json

    _, graph = stack
    queue = graph.find("aws:sqs/queue:Queue", "gpu-software-karpenter-interruptions")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert helm(graph, "karpenter")["values"]["settings"]["interruptionQueue"] == queue.outputs["name"]
    targets = {t.inputs["rule"]: t.inputs["arn"] for t in graph.of_type("aws:cloudwatch/eventTarget:EventTarget")}
    rules = {r.outputs["name"]: json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in graph.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert set(rules.values()) == {
        "EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification", "AWS Health Event",
    }
    assert targets == {name: queue.outputs["arn"] for name in rules}
    policy = json.loads(graph.find("aws:iam/rolePolicy:RolePolicy", "gpu-software-karpenter-policy").inputs["policy"])
    reads = next(s for s in policy["Statement"] if s["Sid"] == "AllowInterruptionQueueActions")
    assert reads["Resource"] == queue.outputs["arn"]


def test_karpenter_objects_wait_for_the_controller_and_its_crds(stack):
    _, graph = stack
    release = graph.find("kubernetes:helm.sh/v3:Release", "gpu-software-karpenter")
    for name in ("gpu-embed-nodeclass", "gpu-embed-nodepool"):
        assert release.urn in next(r for r in graph.resources if r.name == name).dependencies
    association = graph.find("aws:eks/podIdentityAssociation:PodIdentityAssociation", "gpu-software-karpenter-identity")
    assert association.inputs["serviceAccount"] == "karpenter"


def test_the_fixture_passes_the_prod_gate_including_the_efa_checks(gpu_project):
    report = run_gate(gpu_project, ["prod"])
    violations = [(f.check_id, f.resource) for f in report.findings if f.status == "violation"]
    assert violations == []
    efa = {(f.check_id, f.resource, f.status) for f in report.findings if f.check_id in ("AIP_GPU_4", "AIP_GPU_5")}
    assert efa == {
        ("AIP_GPU_4", "aws_launch_template.gpu-train-lt", "passed"),
        ("AIP_GPU_4", "aws_launch_template.gpu-train-a100-lt", "passed"),
        ("AIP_GPU_5", "aws_security_group.gpu-train-efa-sg", "passed"),
        ("AIP_GPU_5", "aws_security_group.gpu-train-a100-efa-sg", "passed"),
    }
