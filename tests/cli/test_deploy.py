"""`aiplane preview/up/destroy` with a stand-in `pulumi` on PATH that records its arguments: a stack that
fails pre-flight or the gate never reaches Pulumi; one that passes reaches it with the policy pack."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.deploy import PulumiFailed, run_pulumi
from tests.cli.pulumi_stand_in import install_stand_in, recorded_calls, stand_in_environment
from tests.conftest import edit

runner = CliRunner()


@pytest.fixture
def pulumi_calls(tmp_path, monkeypatch):
    """The stand-in on PATH, AWS credentials for pre-flight; yields the log of the stand-in's calls."""
    folder = tmp_path / "bin"
    log = install_stand_in(folder)
    for name, value in stand_in_environment(folder, log).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    return log


def operation_calls(log, operation):
    return [call for call in recorded_calls(log) if call[:1] == [operation]]


def test_a_passing_stack_reaches_pulumi_with_the_policy_pack(project_copy, aws_endpoint, pulumi_calls):
    result = runner.invoke(app, ["preview", "--stack", "dev", "--endpoint-url", aws_endpoint])
    assert result.exit_code == 0, result.output
    (call,) = operation_calls(pulumi_calls, "preview")
    assert call[call.index("--policy-pack") + 1] == str(project_copy / "policies" / "pack")
    assert call[call.index("--stack") + 1] == "dev"
    assert ["stack", "select", "--stack", "dev"] in recorded_calls(pulumi_calls)
    assert "Pre-flight: " in result.stdout and "Policy: " in result.stdout and "· passes" in result.stdout
    assert "Previewing update (stand-in)" in result.stdout  # Pulumi's own output, streamed through

    result = runner.invoke(app, ["up", "--stack", "dev", "--yes", "--endpoint-url", aws_endpoint])
    assert result.exit_code == 0, result.output
    (call,) = operation_calls(pulumi_calls, "up")
    assert call[call.index("--policy-pack") + 1] == str(project_copy / "policies" / "pack") and "--yes" in call


def test_a_stack_the_gate_blocks_never_reaches_pulumi(project_copy, aws_endpoint, pulumi_calls):
    stack = project_copy / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text().replace(
        "      endpointAccess: private\n", "      endpointAccess: public-and-private\n      publicAccessCidrs: [198.51.100.0/24]\n"))
    result = runner.invoke(app, ["up", "--stack", "prod", "--yes", "--endpoint-url", aws_endpoint])
    assert result.exit_code == 1, result.output
    assert recorded_calls(pulumi_calls) == []
    assert "CKV_AWS_39" in result.stdout
    assert "prod: the policy gate blocks (1 violation); nothing was sent to Pulumi" in result.output


def test_a_stack_preflight_blocks_never_reaches_pulumi(project_copy, aws_endpoint, pulumi_calls):
    # moto's us-east-1 offers g6.xlarge in zones a, b, c, d and f only.
    edit(project_copy, "dev", "      azCount: 2\n", "      azCount: 2\n      availabilityZones: [us-east-1e, us-east-1f]\n")
    result = runner.invoke(app, ["preview", "--stack", "dev", "--endpoint-url", aws_endpoint])
    assert result.exit_code == 1, result.output
    assert recorded_calls(pulumi_calls) == []
    assert "dev: pre-flight blocks (offered chat: g6.xlarge; offered embed: g6.xlarge); nothing was sent to Pulumi" in result.output
    assert "  blocking offered chat: g6.xlarge: not offered in us-east-1e" in result.stdout


def test_without_the_pulumi_cli_it_exits_2_and_says_how_to_install_it(project_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(app, ["preview", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "the Pulumi CLI is not on PATH: install it" in line and "get.pulumi.com" in line


def test_up_and_destroy_without_a_terminal_need_yes(project_copy, pulumi_calls):
    for operation in ("up", "destroy"):
        result = runner.invoke(app, [operation, "--stack", "dev"])
        assert result.exit_code == 2, result.output
        assert f"--yes: required to {operation} stack dev without a terminal" in result.output
    assert recorded_calls(pulumi_calls) == []


def test_destroy_runs_no_gate_and_attaches_no_pack(project_copy, pulumi_calls):
    result = runner.invoke(app, ["destroy", "--stack", "dev", "--yes"])
    assert result.exit_code == 0, result.output
    (call,) = operation_calls(pulumi_calls, "destroy")
    assert "--policy-pack" not in call and call[call.index("--stack") + 1] == "dev"
    assert "Policy:" not in result.stdout


def test_a_bad_stack_file_never_reaches_pulumi(project_copy, pulumi_calls):
    edit(project_copy, "dev", "      azCount: 2\n", "      azCount: seven\n")
    result = runner.invoke(app, ["destroy", "--stack", "dev", "--yes"])
    assert result.exit_code == 2, result.output
    assert "azCount" in result.output and recorded_calls(pulumi_calls) == []


def test_a_failing_pulumi_run_is_one_line_with_its_last_words(project_copy, pulumi_calls, monkeypatch):
    monkeypatch.setenv("PULUMI_STAND_IN_FAIL", "preview")
    with pytest.raises(PulumiFailed) as failure:
        run_pulumi(project_copy, "dev", "preview", lambda line: None)
    assert str(failure.value) == "pulumi preview on stack dev failed: error: preview failed: 1 policy violation"
    assert failure.value.exit_code == 1


def test_a_stack_the_backend_lacks_says_how_to_create_it(project_copy, pulumi_calls, monkeypatch):
    monkeypatch.setenv("PULUMI_STAND_IN_FAIL", "select")
    with pytest.raises(PulumiFailed, match=r"the Pulumi backend has no stack dev: `pulumi stack init dev` creates it"):
        run_pulumi(project_copy, "dev", "preview", lambda line: None)
    assert operation_calls(pulumi_calls, "preview") == []
