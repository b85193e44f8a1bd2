"""Findings point where a user edits: every component records the stack-file section that configures it,
and the gate's reports carry that section's path and line beside the component code that built the resource."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aiplane.artifacts import render_artifacts, write_artifacts
from aiplane.cli import app
from aiplane.components.base import STACK_SECTION_INPUT
from aiplane.errors import format_path
from aiplane.loader import parse_stack
from aiplane.policy.gate import check_stacks
from aiplane.policy.report import render_sarif
from aiplane.synth.engine import synthesize_spec
from aiplane.synth.graph import STACK_TYPE
from tests.conftest import PROJECT_DIR, edit, synthesized

runner = CliRunner()


def recorded_section(graph, resource) -> tuple:
    """The section the nearest component at or above `resource` records, as the gate reads it."""
    while resource is not None:
        if resource.is_component and resource.inputs.get(STACK_SECTION_INPUT):
            return tuple(resource.inputs[STACK_SECTION_INPUT])
        resource = graph[resource.parent] if resource.parent else None
    return ()


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_component_records_a_section_its_stack_file_writes(environment):
    spec, graph = synthesized(environment)
    top_level = [resource for resource in graph.components if graph[resource.parent].type == STACK_TYPE]
    assert len(top_level) >= 8
    for component in top_level:
        section = tuple(component.inputs.get(STACK_SECTION_INPUT) or ())
        assert section, f"{component.name} records no stack section"
        # Written exactly, not found through a default-filled ancestor: a misspelt path would fall back silently.
        assert spec.line_of(section)[0] == section, f"{component.name}: {format_path(section)} is not in the stack file"
    unclaimed = [resource.name for resource in graph.custom_resources if not recorded_section(graph, resource)]
    assert unclaimed == []


def test_list_entries_are_located_one_by_one():
    spec, graph = synthesized("prod")
    lines = (PROJECT_DIR / "stacks" / "Pulumi.prod.yaml").read_text().splitlines()

    def line_of_component(name: str) -> str:
        component = next(resource for resource in graph.components if resource.name == name)
        return lines[spec.line_of(recorded_section(graph, component))[1] - 1]

    assert line_of_component("gpu-embed").strip() == "- name: embed"
    assert line_of_component("vector-rag").strip().startswith("- name: rag")
    assert line_of_component("serving-llama-3-1-8b").strip() == "- name: llama-3-1-8b"
    assert line_of_component("tenant-research").strip() == "- name: research"
    assert line_of_component("gateway").strip() == "gateway:"
    # A tenant's own buckets hang off the platform's storage but are the tenant entry's doing.
    assert line_of_component("storage-research").strip() == "- name: research"


def test_a_section_the_file_leaves_to_defaults_is_located_at_its_nearest_written_ancestor():
    spec, _ = synthesized("dev")
    platform_line = spec.line_of(("aiplane:platform",))[1]
    assert spec.line_of(("aiplane:platform", "cost")) == (("aiplane:platform",), platform_line)
    assert spec.line_of(("aiplane:platform", "compute", "pools", 7)) == (
        ("aiplane:platform", "compute", "pools"), spec.line_of(("aiplane:platform", "compute", "pools"))[1])


GATEWAY_OPEN_TO_THE_INTERNET = (
    "      gateway:\n        replicas: {min: 3, max: 12}\n",
    "      gateway:\n        replicas: {min: 3, max: 12}\n        exposure: public\n        allowedCidrs: [0.0.0.0/0]\n"
    "        certificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc-123\n",
)

PUSHED_DOWN = ("    serving:\n", "    # two lines that move the gateway down,\n    # so that its line cannot be a constant\n    serving:\n")


@pytest.fixture
def open_gateway(project_copy):
    """prod with its gateway public to the whole internet (AIP_NET_2), and pushed down two lines."""
    edit(project_copy, "prod", *GATEWAY_OPEN_TO_THE_INTERNET)
    edit(project_copy, "prod", *PUSHED_DOWN)
    stack_file = (project_copy / "stacks" / "Pulumi.prod.yaml").read_text().splitlines()
    return project_copy, stack_file.index("      gateway:") + 1


def test_sarif_points_at_the_stack_line_and_relates_the_component_line(tmp_path):
    """Gated as `check` gates it, on the edited stack synthesized from this project (whose component code is
    what the related location names), held in memory as `tenant add` holds its proposal."""
    text = (PROJECT_DIR / "stacks" / "Pulumi.prod.yaml").read_text()
    for old, new in (GATEWAY_OPEN_TO_THE_INTERNET, PUSHED_DOWN):
        assert old in text
        text = text.replace(old, new, 1)
    gateway_line = text.splitlines().index("      gateway:") + 1
    spec = parse_stack(text, "prod", "stacks/Pulumi.prod.yaml", PROJECT_DIR / "blueprints")
    stack = write_artifacts(render_artifacts(spec, synthesize_spec(PROJECT_DIR, spec)), tmp_path / "build")
    (run,) = json.loads(render_sarif(check_stacks(PROJECT_DIR, [stack])))["runs"]
    (violation,) = [result for result in run["results"] if result["ruleId"] == "AIP_NET_2"]
    (location,) = violation["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "stacks/Pulumi.prod.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": gateway_line},
    }
    assert {"fullyQualifiedName": "aiplane:platform.serving.gateway", "kind": "member"} in location["logicalLocations"]
    (built,) = violation["relatedLocations"]
    component_file = built["physicalLocation"]["artifactLocation"]["uri"]
    assert component_file == "components/model_gateway/exposure.py"
    code = (PROJECT_DIR / component_file).read_text().splitlines()[built["physicalLocation"]["region"]["startLine"] - 1]
    assert "k8s.networking.v1.Ingress(" in code
    assert f"[built by gateway]({built['id']})" in violation["message"]["text"]  # the message links to it


def test_the_cli_table_and_json_name_the_stack_field(open_gateway, tmp_path):
    project, gateway_line = open_gateway
    result = runner.invoke(app, ["check", "--stack", "prod"])
    assert result.exit_code == 1
    # In the table (wide terminals) or in the finding's block (narrow ones): the field, with its line.
    assert f"aiplane:platform.serving.gateway (line {gateway_line})" in result.stdout
    out = tmp_path / "report.json"
    runner.invoke(app, ["check", "--stack", "prod", "--format", "json", "--output", str(out)])
    (finding,) = [f for f in json.loads(out.read_text())["findings"] if f["check"] == "AIP_NET_2"]
    assert finding["stackField"] == {"file": "stacks/Pulumi.prod.yaml", "path": "aiplane:platform.serving.gateway", "line": gateway_line}
