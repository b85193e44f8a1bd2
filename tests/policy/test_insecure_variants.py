"""The insecure variants a hostile review found passing `check --stack prod`, each made from the shipped prod
stack's graph by the change a pull request to a component would make, then exported and gated as `check`
does (real checkov and the gate's graph rules): every one is a violation now."""
from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from aiplane.artifacts import render_artifacts, write_artifacts
from aiplane.policy.gate import Finding, GateReport, check_stacks
from aiplane.synth.graph import GraphResource, ResourceGraph
from tests.conftest import PROJECT_DIR, copy_project, synthesized

Change = Callable[[GraphResource], GraphResource | None]  # None drops the resource


def kind(resource: GraphResource, name: str, namespace: str | None = None) -> bool:
    metadata = resource.inputs.get("metadata") or {}
    return resource.inputs.get("kind") == name and (namespace is None or metadata.get("namespace", metadata.get("name")) == namespace)


def edited(resource: GraphResource, edit: Callable[[dict], None]) -> GraphResource:
    inputs = copy.deepcopy(resource.inputs)
    edit(inputs)
    return replace(resource, inputs=inputs)


def when(match: Callable[[GraphResource], bool], change: Change) -> Change:
    return lambda resource: change(resource) if match(resource) else resource


def drop(_: GraphResource) -> None:
    return None


VARIANTS: dict[str, tuple[Change, str]] = {
    "karpenter pool without the GPU taint": (
        when(lambda r: kind(r, "NodePool"), lambda r: edited(r, lambda i: i["spec"]["template"]["spec"].pop("taints"))), "AIP_GPU_7"),
    "karpenter node class without IMDSv2": (
        when(lambda r: kind(r, "EC2NodeClass"), lambda r: edited(r, lambda i: i["spec"]["metadataOptions"].update(httpTokens="optional"))), "AIP_GPU_8"),
    "karpenter node class with an unencrypted root volume": (
        when(lambda r: kind(r, "EC2NodeClass"), lambda r: edited(r, lambda i: i["spec"]["blockDeviceMappings"][0]["ebs"].update(encrypted=False))),
        "AIP_GPU_9"),
    "tenant namespace without its default-deny policy": (
        when(lambda r: kind(r, "NetworkPolicy", "research") and r.inputs["metadata"]["name"] == "default-deny", drop), "AIP_TEN_1"),
    "tenant namespace without any network policy": (when(lambda r: kind(r, "NetworkPolicy", "research"), drop), "AIP_TEN_1"),
    "tenant namespace without its resource quota": (when(lambda r: kind(r, "ResourceQuota", "research"), drop), "AIP_TEN_2"),
    "tenant namespace with pod security privileged": (
        when(lambda r: kind(r, "Namespace", "research"),
             lambda r: edited(r, lambda i: i["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "privileged"}))), "AIP_TEN_3"),
    "tenant role without its permissions boundary": (
        when(lambda r: r.type == "aws:iam/role:Role" and r.name == "tenant-research-workload-role",
             lambda r: edited(r, lambda i: i.pop("permissionsBoundary"))), "AIP_TEN_4"),
    "a platform secret in a tenant's namespace": (
        when(lambda r: kind(r, "Secret") and r.inputs["metadata"].get("namespace", "").startswith("vector-"),
             lambda r: edited(r, lambda i: i["metadata"].update(namespace="research"))), "AIP_TEN_5"),
    "the encrypted storage class made unencrypted": (
        when(lambda r: kind(r, "StorageClass"), lambda r: edited(r, lambda i: i["parameters"].update(encrypted="false"))), "AIP_EKS_4"),
    "audit object lock kept for one day": (
        when(lambda r: r.type == "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
             lambda r: edited(r, lambda i: i["rule"]["defaultRetention"].update(days=1))), "AIP_S3_6"),
}


def project_with_variants(target: Path, count: int) -> Path:
    """A copy of the project in which stacks prod-0 ... prod-N are prod under other names: the same stack file,
    profile and waivers, so that one gate run judges every variant exactly as it would judge prod."""
    project = copy_project(target)
    names = [f"prod-{index}" for index in range(count)]
    for name in names:
        shutil.copy(project / "stacks" / "Pulumi.prod.yaml", project / "stacks" / f"Pulumi.{name}.yaml")
        shutil.copy(project / "policies" / "profiles" / "prod.yaml", project / "policies" / "profiles" / f"{name}.yaml")
    waivers = project / "policies" / "waivers.yaml"
    waivers.write_text(waivers.read_text().replace("stacks: [dev, staging, prod]", f"stacks: [dev, staging, prod, {', '.join(names)}]"))
    return project


@dataclass(frozen=True)
class Variants:
    project: Path  # a copy of the project where stack prod-N is prod under another name
    graphs: dict[str, ResourceGraph]  # each variant's graph, as stack prod-N
    report: GateReport  # what `aiplane check` reports on them


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> Variants:
    """Every variant, judged in one gate run."""
    spec, graph = synthesized("prod")
    project = project_with_variants(tmp_path_factory.mktemp("project"), len(VARIANTS))
    stacks, graphs = [], {}
    for index, (name, (change, _)) in enumerate(VARIANTS.items()):
        resources = [changed for resource in graph.resources if (changed := change(resource)) is not None]
        assert resources != graph.resources, f"variant {index} changed nothing"
        variant = replace(spec, environment=f"prod-{index}")
        # As the engine would name it: stack prod-N's URNs say prod-N.
        graphs[name] = ResourceGraph.from_json(
            ResourceGraph(graph.project, variant.environment, resources).to_json().replace("urn:pulumi:prod::", f"urn:pulumi:{variant.environment}::")
        )
        artifacts = render_artifacts(variant, graphs[name])
        stacks.append(write_artifacts(artifacts, tmp_path_factory.mktemp(f"variant-{index}")))
    return Variants(project, graphs, check_stacks(project, stacks))


@pytest.fixture(scope="module")
def violations(variants) -> dict[str, list[Finding]]:
    """Each variant's mandatory violations."""
    return {name: [f for f in result.findings if f.violation] for name, result in zip(VARIANTS, variants.report.stacks, strict=True)}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_gate_refuses_each_insecure_variant(violations, variant):
    assert VARIANTS[variant][1] in {f.check_id for f in violations[variant]}, violations[variant]


@pytest.mark.parametrize(
    ("variant", "stack_field", "written"),
    [
        ("karpenter pool without the GPU taint", "aiplane:platform.compute.pools[1]", "- name: embed"),
        ("tenant role without its permissions boundary", "aiplane:tenants[2]", "- name: research"),
        ("audit object lock kept for one day", "aiplane:platform.storage", "storage:"),
        ("the encrypted storage class made unencrypted", "aiplane:platform.cluster", "cluster:"),
    ],
)
def test_each_violation_points_at_the_stack_entry_that_configures_it(violations, variant, stack_field, written):
    lines = (PROJECT_DIR / "stacks" / "Pulumi.prod.yaml").read_text().splitlines()
    (finding, *others) = [f for f in violations[variant] if f.check_id == VARIANTS[variant][1]]
    assert {(f.stack_field, f.stack_line) for f in others} <= {(finding.stack_field, finding.stack_line)}
    assert finding.stack_field == stack_field
    assert lines[finding.stack_line - 1].strip() == written
    assert finding.source_file.startswith("components/")


def test_the_unchanged_stack_passes(tmp_path):
    """The baseline the variants start from has no violation: each variant's finding is its change's."""
    spec, graph = synthesized("prod")
    project = project_with_variants(tmp_path / "project", 1)
    variant = replace(spec, environment="prod-0")
    stack = write_artifacts(render_artifacts(variant, ResourceGraph(graph.project, "prod-0", graph.resources)), tmp_path / "build")
    assert not [f for f in check_stacks(project, [stack]).findings if f.violation]


@pytest.mark.parametrize(("cidrs", "violation"), [("[203.0.113.0/24]", False), ("[203.0.113.0/24, 0.0.0.0/0]", True)])
def test_a_public_gateway_open_to_the_internet_is_a_violation(project_copy, cidrs, violation):
    """The stack file's own edit: the gateway made public, its allow-list the whole internet."""
    from typer.testing import CliRunner

    from aiplane.cli import app
    from tests.conftest import edit

    edit(project_copy, "prod", "      gateway:\n        replicas: {min: 3, max: 12}\n",
         "      gateway:\n        replicas: {min: 3, max: 12}\n        exposure: public\n"
         f"        allowedCidrs: {cidrs}\n        certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc-123\n")
    result = CliRunner().invoke(app, ["check", "--stack", "prod"])
    assert result.exit_code == (1 if violation else 0), result.output
    assert ("AIP_NET_2" in result.output) is violation


def test_an_audit_lock_below_the_profiles_floor_in_the_stack_file_is_refused_at_load(project_copy):
    from typer.testing import CliRunner

    from aiplane.cli import app
    from tests.conftest import edit

    edit(project_copy, "prod", "objectLock: {mode: COMPLIANCE, retentionDays: 365}", "objectLock: {mode: COMPLIANCE, retentionDays: 1}")
    result = CliRunner().invoke(app, ["check", "--stack", "prod"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "stacks/Pulumi.prod.yaml: aiplane:platform.storage.buckets.audit.objectLock.retentionDays: 1 is below the 365 days "
        "policies/profiles/prod.yaml requires"
    ]


def test_the_policy_pack_reports_each_variant_as_aiplane_check_does(variants):
    """The CrossGuard pack, sent each variant as the engine would send it, reports the same findings at the
    same levels: the variant's violation as mandatory, nothing the check does not report."""
    from tests.policy.engine_stand_in import running_pack
    from tests.policy.test_pack import judged, reported

    with running_pack(variants.project / "policies" / "pack") as pack:
        for name, graph in variants.graphs.items():
            found = reported(pack.analyze_stack(graph), graph)
            assert found == judged(variants.report, graph.stack), name
            assert ("mandatory", VARIANTS[name][1]) in {(level, check) for level, check, _ in found}, name
