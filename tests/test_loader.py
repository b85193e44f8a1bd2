"""Stack specs: the shipped stacks load, and each kind of bad input fails with one exact line and exit 2."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.loader import load_stack
from aiplane.spec import LOG_RETENTION_DAYS
from tests.conftest import PROJECT_DIR, SHIPPED_STACKS, edit, plan_fails_with

runner = CliRunner()


@pytest.mark.parametrize("environment", SHIPPED_STACKS)
def test_shipped_stacks_load(environment):
    spec = load_stack(environment, PROJECT_DIR / "stacks")
    assert spec.environment == environment
    assert spec.cluster_name == f"aiplane-{environment}"
    expected = {"dev": ["search"], "staging": [], "prod": ["support", "analytics", "research"]}[environment]
    assert [tenant.name for tenant in spec.tenants] == expected


def test_environments_differ_as_a_team_would_choose():
    dev, staging, prod = (load_stack(env, PROJECT_DIR / "stacks") for env in SHIPPED_STACKS)
    assert (len(dev.zones), len(staging.zones), len(prod.zones)) == (2, 3, 3)
    assert (dev.platform.network.nat_gateways, prod.platform.network.nat_gateways) == ("single", "per-az")
    assert prod.platform.cluster.endpoint_access == "private"
    assert dev.platform.cluster.endpoint_access == staging.platform.cluster.endpoint_access == "public-and-private"
    assert dev.platform.cluster.log_retention_days < staging.platform.cluster.log_retention_days < prod.platform.cluster.log_retention_days
    assert prod.platform.cluster.system_nodes.min_size > dev.platform.cluster.system_nodes.min_size
    assert len({dev.platform.network.cidr, staging.platform.network.cidr, prod.platform.network.cidr}) == 3


BAD_EDITS = [
    (
        "prod",
        "cidr: 10.30.0.0/16",
        "cidr: 10.0.0.0/33",
        "stacks/Pulumi.prod.yaml: aiplane:platform.network.cidr: '10.0.0.0/33' is not a valid IPv4 network",
    ),
    (
        "dev",
        "natGateways: single",
        "natGateway: single",
        "stacks/Pulumi.dev.yaml: aiplane:platform.network.natGateway: is not a known key (value 'single')",
    ),
    (
        "dev",
        "natGateways: single",
        "natGateways: two",
        "stacks/Pulumi.dev.yaml: aiplane:platform.network.natGateways: 'two' is invalid: input should be 'single' or 'per-az'",
    ),
    (
        "dev",
        "azCount: 2",
        "azCount: two",
        "stacks/Pulumi.dev.yaml: aiplane:platform.network.azCount: 'two' is invalid: "
        "input should be a valid integer, unable to parse string as an integer",
    ),
    (
        "dev",
        "retentionDays: 30",
        "retentionDays: 45",
        "stacks/Pulumi.dev.yaml: aiplane:platform.network.flowLogs.retentionDays: 45 is not a retention CloudWatch Logs accepts "
        f"({', '.join(map(str, LOG_RETENTION_DAYS))})",
    ),
    (
        "dev",
        "instanceTypes: [m7i.large]",
        "instanceTypes: [m7i.large, 'm7i large']",
        "stacks/Pulumi.dev.yaml: aiplane:platform.cluster.systemNodes.instanceTypes[1]: 'm7i large' is invalid: "
        "string should match pattern '^[a-z][a-z0-9-]*\\.[a-z0-9-]+$'",
    ),
    (
        "dev",
        "        minSize: 1\n        desiredSize: 2",
        "        minSize: 3\n        desiredSize: 2",
        "stacks/Pulumi.dev.yaml: aiplane:platform.cluster.systemNodes: sizes must satisfy minSize <= desiredSize <= maxSize, got 3, 2, 3",
    ),
    (
        "dev",
        "      publicAccessCidrs:\n        - 198.51.100.0/24   # replace with your VPN egress range\n",
        "",
        "stacks/Pulumi.dev.yaml: aiplane:platform.cluster: endpointAccess 'public-and-private' needs publicAccessCidrs "
        "(the networks allowed to reach the API)",
    ),
    (
        "dev",
        "cidr: 10.10.0.0/16",
        "cidr: 10.10.0.0/18",
        "stacks/Pulumi.dev.yaml: aiplane:platform.network: 4 subnets need 16896 addresses but 10.10.0.0/18 holds 16384",
    ),
    (
        "dev",
        "aws:region: us-east-1",
        "aws:region: us-east-1\n  aws:regoin: us-west-2",
        "stacks/Pulumi.dev.yaml: aws:regoin: is not a known key (value 'us-west-2')",
    ),
    (
        "dev",
        "    costCenter: ml-platform-dev\n",
        "",
        "stacks/Pulumi.dev.yaml: aiplane:platform.costCenter: is required",
    ),
    (
        "dev",
        "    costCenter: ml-platform-dev\n",
        "    costCenter: ml-platform-dev\n    tags:\n      aiplane:team: search\n",
        "stacks/Pulumi.dev.yaml: aiplane:platform.tags.aiplane:team.[key]: 'aiplane:team' uses a reserved prefix "
        "(aws: belongs to AWS, aiplane: to the cost-allocation tags)",
    ),
    (
        "dev",
        "    - name: search\n",
        "    - {name: acme, blueprint: hybrid-router}\n    - {name: acme, blueprint: managed-api}\n    - name: search\n",
        "stacks/Pulumi.dev.yaml: config: tenant names must be unique, repeated: acme",
    ),
]


@pytest.mark.parametrize(("environment", "old", "new", "expected"), BAD_EDITS, ids=[case[3].split(": ")[1] for case in BAD_EDITS])
def test_bad_values_name_file_field_and_value(project_copy, environment, old, new, expected):
    edit(project_copy, environment, old, new)
    plan_fails_with(["plan", "--stack", environment], expected)


def test_unreadable_yaml_names_line_and_column(project_copy):
    edit(project_copy, "dev", "      azCount: 2", "      azCount: 2\n    oops: [unclosed")
    plan_fails_with(
        ["plan", "--stack", "dev"],
        "stacks/Pulumi.dev.yaml: line 12, column 18: invalid YAML: expected ',' or ']', but got ':'",
    )


def test_duplicate_keys_are_errors(project_copy):
    edit(project_copy, "dev", "      azCount: 2", "      azCount: 2\n      azCount: 3")
    result = runner.invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.stderr.startswith("stacks/Pulumi.dev.yaml: line 11, column 7: invalid YAML:")
    assert 'duplicate key "azCount"' in result.stderr


def test_unknown_stack_lists_the_known_ones(project_copy):
    plan_fails_with(
        ["plan", "--stack", "qa"],
        "stacks/Pulumi.qa.yaml: no such stack file; unknown stack 'qa' (known stacks: dev, prod, staging)",
    )


def test_stack_names_cannot_escape_the_stacks_folder(project_copy):
    plan_fails_with(
        ["plan", "--stack", "../dev"],
        "--stack: '../dev' is not a valid stack name (lowercase letters, digits and '-')",
    )


def test_a_stack_file_that_is_not_a_mapping(project_copy):
    (project_copy / "stacks" / "Pulumi.dev.yaml").write_text("- just\n- a list\n")
    plan_fails_with(
        ["plan", "--stack", "dev"],
        "stacks/Pulumi.dev.yaml: (top level): list found, expected a mapping with a 'config' key",
    )


def test_missing_project_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.stderr.startswith("--project-dir: no Pulumi.yaml in")


def test_debug_shows_the_traceback(project_copy):
    result = runner.invoke(app, ["--debug", "plan", "--stack", "qa"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr


def test_pulumi_secrets_and_esc_environments_are_refused_with_why(project_copy):
    edit(project_copy, "dev", "    costCenter: ml-platform-dev\n", "    costCenter:\n      secure: v1:bm9uY2U=:Y2lwaGVy\n")
    result = CliRunner().invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    assert result.stderr.startswith("stacks/Pulumi.dev.yaml: aiplane:platform.costCenter: a Pulumi secret (`pulumi config set --secret`)")
    edit(project_copy, "dev", "    costCenter:\n      secure: v1:bm9uY2U=:Y2lwaGVy\n", "    costCenter: ml-platform-dev\n")
    path = project_copy / "stacks" / "Pulumi.dev.yaml"
    path.write_text("environment:\n  - aiplane/dev\n" + path.read_text())
    plan_fails_with(["plan", "--stack", "dev"], "stacks/Pulumi.dev.yaml: environment: Pulumi ESC environments are not read by "
                    "aiplane, which reads this file alone (offline and in `pulumi up` alike); write their values into config")


def test_the_salt_pulumi_writes_into_a_stack_file_is_accepted(project_copy):
    path = project_copy / "stacks" / "Pulumi.dev.yaml"
    path.write_text("encryptionsalt: v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy\n" + path.read_text())
    assert load_stack("dev", project_copy / "stacks").platform.cost_center == "ml-platform-dev"


def test_config_the_engine_holds_beyond_the_stack_file_is_refused(project_copy, monkeypatch):
    """The Python language host hands the program its config in PULUMI_CONFIG; an `aiplane:` key there that the
    file lacks (an ESC environment's, Pulumi.yaml's) would be ignored by a program that reads the file."""
    monkeypatch.setenv("PULUMI_CONFIG", '{"aiplane:allowReplacements": "[]", "aws:profile": "ops"}')
    plan_fails_with(["plan", "--stack", "dev"], "stacks/Pulumi.dev.yaml: aiplane:allowReplacements: the Pulumi engine holds this key and the "
                    "stack file does not (from an ESC environment, Pulumi.yaml or Pulumi Cloud); aiplane reads the stack file alone: write it there")
    monkeypatch.setenv("PULUMI_CONFIG", '{"aws:profile": "ops", "aiplane:platform": "{}"}')
    assert CliRunner().invoke(app, ["plan", "--stack", "dev"]).exit_code == 0
