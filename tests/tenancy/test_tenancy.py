"""Blueprints and tenant onboarding: every blueprint in every stack, `aiplane tenant add` and `remove`, and the
bad inputs they refuse (exit 2, one line, the stack file untouched)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.policy.gate import run_gate
from aiplane.spec import StackFile
from aiplane.tenancy.blueprints import load_blueprints
from aiplane.tenancy.expansion import default_plan
from aiplane.tenancy.stackfile import add_tenant, round_trip
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, edit, plan_fails_with

runner = CliRunner()
BLUEPRINTS = load_blueprints(PROJECT_DIR / "blueprints")


def test_the_six_patterns_of_the_reference_architecture_are_there():
    assert sorted(BLUEPRINTS) == ["batch-cache", "dedicated-tenant", "hybrid-router", "managed-api", "self-hosted-inference", "training"]


@pytest.mark.parametrize("name", sorted(BLUEPRINTS))
def test_every_blueprint_renders_at_its_defaults(name):
    blueprint = BLUEPRINTS[name]
    plan = default_plan(blueprint)
    assert blueprint.best_for and blueprint.trade_offs and blueprint.parameters
    assert (plan.isolation == "dedicated-pool") == (plan.pool is not None)


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_every_blueprint_synthesizes_and_passes_policy_in_every_stack(project_copy, environment):
    path = project_copy / "stacks" / f"Pulumi.{environment}.yaml"
    text = path.read_text()
    for name in BLUEPRINTS:
        text = add_tenant(text, path.name, {"name": f"bp-{name}", "blueprint": name, "parameters": {}})
    path.write_text(text)
    report = run_gate(project_copy, [environment])
    assert [(f.check_id, f.resource) for f in report.findings if f.violation] == []
    for name in BLUEPRINTS:
        assert any(f.tenant == f"bp-{name}" and f.status == "passed" for f in report.findings), name


@pytest.mark.parametrize("environment", ["staging", "prod"])  # an empty tenant list, and one with tenants
def test_tenant_add_then_remove_leaves_the_stack_file_byte_identical(project_copy, environment):
    path = project_copy / "stacks" / f"Pulumi.{environment}.yaml"
    original = path.read_bytes()
    added = runner.invoke(app, ["tenant", "add", "acme", "--blueprint", "managed-api", "--stack", environment, "--set", "budgetUsd=50"])
    assert added.exit_code == 0, added.output
    assert "Policy for tenant acme:" in added.stdout and "0 violations" in added.stdout
    assert "- name: acme" in path.read_text() and "budgetUsd: 50" in path.read_text()
    assert "tenant-acme (aiplane:tenant:TenantBoundary)" in added.stdout
    removed = runner.invoke(app, ["tenant", "remove", "acme", "--stack", environment])
    assert removed.exit_code == 0, removed.output
    assert path.read_bytes() == original


# Files this process opens while `opened` is a list (an audit hook cannot be removed, so it stays idle otherwise).
opened: list[str] | None = None


def _record_open(event: str, args: tuple) -> None:
    if event == "open" and opened is not None and isinstance(args[0], str | Path):
        opened.append(str(args[0]))


sys.addaudithook(_record_open)


def test_a_dry_run_writes_nothing_and_reads_each_stack_file_once(project_copy, monkeypatch):
    global opened
    path = project_copy / "stacks" / "Pulumi.dev.yaml"
    original = path.read_bytes()
    validated = []
    real_validate = StackFile.model_validate
    monkeypatch.setattr(StackFile, "model_validate", lambda data, **kw: validated.append(1) or real_validate(data, **kw))
    opened = []
    try:
        result = runner.invoke(app, ["tenant", "add", "acme", "--blueprint", "managed-api", "--stack", "dev", "--dry-run"])
        reads = list(opened)
    finally:
        opened = None
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.stdout and path.read_bytes() == original
    # What it would write, as a diff of the stack file.
    assert "+++ stacks/Pulumi.dev.yaml" in result.stdout
    assert "+    - name: acme" in result.stdout and "+      blueprint: managed-api" in result.stdout
    # The current text and the proposed one are validated once each; synthesis reuses them.
    assert len(validated) == 2
    assert sum(1 for name in reads if name.endswith("Pulumi.dev.yaml")) == 1, reads
    assert not any("/build/" in name for name in reads) and not (project_copy / "build").exists()


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_shipped_stack_files_round_trip_unchanged(environment):
    text = (PROJECT_DIR / "stacks" / f"Pulumi.{environment}.yaml").read_text()
    assert round_trip(text, environment) == text


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["tenant", "add", "support", "--blueprint", "managed-api", "--stack", "prod"],
            "NAME: tenant 'support' is already in stacks/Pulumi.prod.yaml; remove it first or choose another name",
        ),
        (
            ["tenant", "add", "acme", "--blueprint", "serverless", "--stack", "prod"],
            "--blueprint: 'serverless' is not a blueprint (blueprints: batch-cache, dedicated-tenant, hybrid-router, managed-api, "
            "self-hosted-inference, training)",
        ),
        (
            ["tenant", "add", "acme", "--blueprint", "self-hosted-inference", "--stack", "prod", "--set", "gpus=128"],
            "--set gpus: 128 is above the blueprint's maximum 64",
        ),
        (
            ["tenant", "add", "acme", "--blueprint", "managed-api", "--stack", "prod", "--set", "region=eu"],
            "--set region: is not a parameter of blueprint 'managed-api' (parameters: monthlyBudgetUsd, budgetUsd, rpm, tier, priority)",
        ),
        (
            ["tenant", "add", "Acme_Corp", "--blueprint", "managed-api", "--stack", "prod"],
            "NAME: 'Acme_Corp' is not a valid tenant name: it becomes the tenant's namespace, so lowercase letters, digits "
            "and '-', 3 to 32 characters, starting with a letter and ending with a letter or digit",
        ),
        (
            ["tenant", "add", "kube-system", "--blueprint", "managed-api", "--stack", "prod"],
            "NAME: 'kube-system' is a namespace the platform uses; choose another tenant name",
        ),
        (
            ["tenant", "add", "acme", "--blueprint", "managed-api", "--stack", "prod", "--set", "budget"],
            "--set: 'budget' is not KEY=VALUE",
        ),
        (
            ["tenant", "remove", "acme", "--stack", "prod"],
            "NAME: stacks/Pulumi.prod.yaml has no tenant 'acme' (tenants: support, analytics, research)",
        ),
    ],
    ids=["duplicate", "unknown-blueprint", "above-maximum", "unknown-parameter", "not-a-namespace", "reserved", "bad-set", "remove-unknown"],
)
def test_onboarding_refuses_bad_input_with_one_line_and_leaves_the_file_alone(project_copy, arguments, expected):
    path = project_copy / "stacks" / "Pulumi.prod.yaml"
    original = path.read_bytes()
    plan_fails_with(arguments, expected)
    assert path.read_bytes() == original


def test_a_bad_parameter_in_a_stack_file_names_the_tenant_entry(project_copy):
    edit(project_copy, "prod", "        gpus: 4\n", "        gpus: four\n")
    plan_fails_with(["plan", "--stack", "prod"], "stacks/Pulumi.prod.yaml: aiplane:tenants[1].parameters.gpus: 'four' is not an integer")


def test_a_quota_no_shared_pool_can_fill_is_refused(project_copy):
    edit(project_copy, "dev", "        budgetUsd: 200\n", "        budgetUsd: 200\n        gpus: 8\n")
    plan_fails_with(
        ["plan", "--stack", "dev"],
        "stacks/Pulumi.dev.yaml: aiplane:tenants[0]: a quota of 8 GPUs can never be filled: the shared pools hold 5 GPUs at their maximum",
    )


def test_blueprints_list_and_show(project_copy):
    listed = runner.invoke(app, ["blueprints", "list"])
    assert listed.exit_code == 0 and all(name in listed.stdout for name in BLUEPRINTS)
    assert "USD/month" in listed.stdout
    # managed-api at its defaults: no resources of its own, a 500 USD per 30 days gateway key.
    listed_json = runner.invoke(app, ["blueprints", "list", "--json"])
    managed = next(entry for entry in json.loads(listed_json.stdout)["blueprints"] if entry["name"] == "managed-api")
    assert managed["usdPerMonth"] == 500
    shown = runner.invoke(app, ["blueprints", "show", "training"])
    assert shown.exit_code == 0 and "maxNodes" in shown.stdout and "isolation: dedicated-pool" in shown.stdout
    plan_fails_with(
        ["blueprints", "show", "nope"],
        "NAME: 'nope' is not a blueprint (blueprints: batch-cache, dedicated-tenant, hybrid-router, managed-api, self-hosted-inference, training)",
    )


def test_a_dedicated_cluster_tenant_must_have_the_stack_to_itself(project_copy):
    blueprint = (project_copy / "blueprints" / "managed-api.yaml").read_text()
    solo = blueprint.replace("name: managed-api", "name: solo").replace("isolation: namespace", "isolation: dedicated-cluster")
    (project_copy / "blueprints" / "solo.yaml").write_text(solo)
    edit(project_copy, "dev", "    - name: search\n", "    - {name: acme, blueprint: solo}\n    - name: search\n")
    plan_fails_with(
        ["plan", "--stack", "dev"],
        "stacks/Pulumi.dev.yaml: aiplane:tenants[0]: isolation dedicated-cluster makes this stack the tenant's own; it shares it with search",
    )


def test_a_tenant_over_its_budget_is_refused_with_the_numbers_and_the_parameter_to_change(project_copy):
    path = project_copy / "stacks" / "Pulumi.dev.yaml"
    original = path.read_bytes()
    result = runner.invoke(app, ["tenant", "add", "acme", "--blueprint", "hybrid-router", "--stack", "dev", "--set", "monthlyBudgetUsd=100"],
                           terminal_width=200)
    assert result.exit_code == 1 and path.read_bytes() == original
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Over budget:")]
    assert line.startswith("Over budget: estimated 2,000.00 USD/month against a budget of 100.00 (short by 1,900.00); "
                           "raise it with --set monthlyBudgetUsd=2000")
    assert "1 violation\n" in result.stdout
