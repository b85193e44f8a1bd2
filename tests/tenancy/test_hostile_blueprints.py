"""Blueprints are contributed by other teams: their templates run in jinja2's sandbox, and a template that
reaches for Python, or names a variable that does not exist, is refused with one line and changes nothing."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aiplane.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ cycler.__init__.__globals__.os.system('touch MARKER') }}", "access to attribute '__init__'"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "access to attribute '__class__'"),
        ("{{ lipsum.__globals__['os'].system('touch MARKER') }}", "access to attribute '__globals__'"),
        ("{{ 16 + gpus * 8 + undefined_name }}", "'undefined_name' is undefined"),
    ],
)
def test_a_hostile_template_is_refused_and_runs_nothing(project_copy, template, message):
    blueprint = project_copy / "blueprints" / "hybrid-router.yaml"
    blueprint.write_text(blueprint.read_text().replace('cpu: "{{ 16 + gpus * 8 }}"', f'cpu: "{template}"'))
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    before = stack.read_bytes()
    result = runner.invoke(app, ["tenant", "add", "acme", "--blueprint", "hybrid-router", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    # The stack's own tenant on that blueprint is rendered first, when the stack loads.
    assert line.startswith("blueprints/hybrid-router.yaml: tenant: cannot be rendered for '") and message in line, line
    assert not (project_copy / "MARKER").exists()
    assert stack.read_bytes() == before


def test_a_tenant_named_after_the_platforms_vector_database_namespace_is_refused(project_copy):
    """The review's case: tenant `vector-rag` would share `vector-rag` with the platform's qdrant and its API key."""
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    before = stack.read_bytes()
    result = runner.invoke(app, ["tenant", "add", "vector-rag", "--blueprint", "hybrid-router", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "stacks/Pulumi.dev.yaml: aiplane:tenants[1]: 'vector-rag' is the namespace of the platform's vector database; choose another tenant name"
    ]
    assert stack.read_bytes() == before
