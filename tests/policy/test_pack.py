"""The CrossGuard pack (policies/pack), served as the Pulumi CLI serves it and sent what the engine sends:
it must report exactly what `aiplane check` reports, at the levels the profiles give, and fail closed."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest
from ruamel.yaml import YAML

import aiplane
from aiplane.artifacts import render_artifacts
from aiplane.policy.crossguard import ADVISORY_POLICY, MANDATORY_POLICY
from aiplane.policy.gate import GateReport, display_ids
from aiplane.policy.profiles import load_profile
from aiplane.synth.analyzer import UNKNOWN_SENTINELS, inputs_of
from aiplane.synth.graph import ResourceGraph
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, synthesized
from tests.policy.engine_stand_in import Diagnostic, running_pack

PACK_DIR = PROJECT_DIR / "policies" / "pack"
LEVEL_OF_POLICY = {MANDATORY_POLICY: "mandatory", ADVISORY_POLICY: "advisory"}


def reported(diagnostics: list[Diagnostic], graph: ResourceGraph) -> set[tuple[str, str, str]]:
    """(level, check id, resource as the gate names it) for each violation the pack reported on a resource."""
    names = display_ids(render_artifacts(synthesized_spec(graph.stack), graph)) if graph.stack in SHIPPED_STACKS else None
    found = set()
    for diagnostic in diagnostics:
        assert LEVEL_OF_POLICY[diagnostic.policy] == diagnostic.level
        check_id, _, rest = diagnostic.message.splitlines()[1].partition(" on ")
        resource = rest.split(":", 1)[0]
        if names is not None:
            assert names[diagnostic.urn] == resource  # the violation sits on the resource it names
        found.add((diagnostic.level, check_id, resource))
    return found


def synthesized_spec(stack: str):
    return synthesized(stack)[0]


def judged(report: GateReport, stack: str) -> set[tuple[str, str, str]]:
    (result,) = [result for result in report.stacks if result.stack == stack]
    return {("mandatory" if f.status == "violation" else "advisory", f.check_id, f.resource) for f in result.findings
            if f.status in ("violation", "advisory")}


@pytest.fixture(scope="module")
def pack():
    with running_pack(PACK_DIR) as served:
        yield served


def test_the_pack_serves_one_mandatory_and_one_advisory_policy(pack):
    info = pack.info()
    assert info.name == "aiplane"
    levels = {policy.name: policy.enforcementLevel for policy in info.policies}
    from pulumi.runtime.proto import analyzer_pb2

    assert levels == {MANDATORY_POLICY: analyzer_pb2.MANDATORY, ADVISORY_POLICY: analyzer_pb2.ADVISORY}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_pack_reports_what_aiplane_check_reports(pack, shipped_report, stack):
    _, graph = synthesized(stack)
    diagnostics = pack.analyze_stack(graph)
    assert reported(diagnostics, graph) == judged(shipped_report, stack)
    profile = load_profile(PROJECT_DIR, stack)
    for level, check_id, _ in reported(diagnostics, graph):
        assert profile.classify(check_id)[0] == level  # the profile decides the enforcement, finding by finding


def test_the_dev_stack_reports_its_advisories_at_advisory_level(pack):
    """dev is the stack with advisories: the pack must not block on them, nor drop them."""
    _, graph = synthesized("dev")
    levels = {(d.policy, d.level) for d in pack.analyze_stack(graph)}
    assert levels == {(ADVISORY_POLICY, "advisory")}


def test_a_value_unknown_during_preview_does_not_silence_the_gate(pack, shipped_report):
    """During a preview an output not yet computed reaches the pack as pulumi-policy's unknown sentinel;
    reading it through the SDK's proxy raises, which the SDK turns into a "can't run during preview"
    advisory instead of the gate's findings. The pack reads around it."""
    _, graph = synthesized("dev")
    sentinel = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # an unknown string
    assert sentinel in UNKNOWN_SENTINELS
    resources = [
        replace(resource, inputs={**resource.inputs, "roleArn": sentinel}) if resource.type == "aws:eks/cluster:Cluster" else resource
        for resource in graph.resources
    ]
    diagnostics = pack.analyze_stack(ResourceGraph(graph.project, graph.stack, resources))
    assert not [d for d in diagnostics if "during preview" in d.message]
    assert reported(diagnostics, graph) == judged(shipped_report, "dev")


def test_a_stack_without_its_stack_file_is_a_mandatory_violation(pack):
    _, graph = synthesized("dev")
    renamed = ResourceGraph.from_json(graph.to_json().replace("urn:pulumi:dev::", "urn:pulumi:nosuch::"))
    (diagnostic,) = pack.analyze_stack(renamed)
    assert (diagnostic.policy, diagnostic.level, diagnostic.urn) == (MANDATORY_POLICY, "mandatory", "")
    assert "could not judge stack nosuch" in diagnostic.message and "Pulumi.nosuch.yaml" in diagnostic.message


def test_a_stack_of_another_project_is_not_the_packs_business(pack):
    """Enforced for a whole organization, the pack also sees other projects' stacks: it says it does not apply."""
    _, graph = synthesized("dev")
    other = ResourceGraph.from_json(graph.to_json().replace("urn:pulumi:dev::aiplane::", "urn:pulumi:dev::billing::"))
    response = pack.response(other)
    assert list(response.diagnostics) == []
    assert {entry.policy_name for entry in response.not_applicable} == {MANDATORY_POLICY, ADVISORY_POLICY}
    assert all("a stack of project billing; this pack judges project aiplane" in entry.reason for entry in response.not_applicable)


def test_a_pack_that_finds_no_project_is_a_mandatory_violation(tmp_path):
    with running_pack(PACK_DIR, env={**os.environ, "AIPLANE_PROJECT_DIR": str(tmp_path)}) as pack:
        (diagnostic,) = pack.analyze_stack(synthesized("dev")[1])
    assert (diagnostic.policy, diagnostic.level) == (MANDATORY_POLICY, "mandatory")
    assert "no aiplane project found" in diagnostic.message and "AIPLANE_PROJECT_DIR" in diagnostic.message


def test_no_checkov_is_a_mandatory_violation_that_says_why(tmp_path):
    with running_pack(PACK_DIR, env={**os.environ, "AIPLANE_CHECKOV": str(tmp_path / "no-checkov")}) as pack:
        (diagnostic,) = pack.analyze_stack(synthesized("dev")[1])
    assert (diagnostic.policy, diagnostic.level) == (MANDATORY_POLICY, "mandatory")
    assert "checkov not found" in diagnostic.message


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_inputs_read_from_the_engines_state_are_the_programs_inputs(stack):
    """The pack narrows the engine's state to inputs by the SDK classes: nothing a program sets is lost."""
    _, graph = synthesized(stack)
    for resource in graph.custom_resources:
        assert inputs_of(resource.type, resource.inputs) == resource.inputs, resource.urn
        state = {**resource.inputs, **resource.outputs}
        narrowed = inputs_of(resource.type, state)
        assert set(narrowed) - set(resource.inputs) <= set(resource.outputs)


def test_an_output_never_reaches_the_export_as_an_input():
    _, graph = synthesized("prod")
    bucket = next(r for r in graph.custom_resources if r.type == "aws:s3/bucket:Bucket")
    assert "tagsAll" in bucket.outputs and "arn" in bucket.outputs
    assert {"tagsAll", "arn"}.isdisjoint(inputs_of(bucket.type, {**bucket.inputs, **bucket.outputs}))


def test_the_pack_is_versioned_with_aiplane_and_pins_its_sdk():
    settings = YAML(typ="safe").load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert settings["version"] == aiplane.__version__
    assert settings["runtime"] == {"name": "python", "options": {"virtualenv": "../../.venv"}}
    assert (PACK_DIR / settings["runtime"]["options"]["virtualenv"]).resolve() == (PROJECT_DIR / ".venv").resolve()
    pins = [line for line in (PACK_DIR / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    from importlib.metadata import version

    assert pins == [f"pulumi-policy=={version('pulumi-policy')}"]
