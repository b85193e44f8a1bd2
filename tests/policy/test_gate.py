"""`aiplane check`: profiles, waivers, fail-closed engine handling, exit codes and report formats."""
from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.errors import InputError
from aiplane.policy.profiles import Profile, load_waivers
from tests.conftest import PROJECT_DIR

runner = CliRunner()


def test_shipped_stacks_pass_their_profiles(shipped_report):
    assert shipped_report.exit_code == 0
    for stack in shipped_report.stacks:
        assert stack.count("passed") > 100
        assert stack.count("violation") == 0
    prod = next(stack for stack in shipped_report.stacks if stack.stack == "prod")
    assert prod.count("advisory") == 0
    # The only accepted risks: the log bucket's SSE-S3 (an AWS requirement), no cross-region replication, and
    # the endpoint pickers' API token and tag-pinned image.
    waived = {(f.check_id, f.resource) for f in prod.findings if f.status == "waived"}
    buckets = [*("datasets", "models", "checkpoints", "audit", "logs"), *(f"research-{p}" for p in ("datasets", "models", "checkpoints"))]
    pickers = {(check, f"Deployment.model-serving.{model}-epp") for check in ("CKV_K8S_38", "CKV_K8S_43") for model in ("llama-3-1-70b", "llama-3-1-8b")}
    assert waived == {("CKV_AWS_145", "aws_s3_bucket.storage-logs")} | {
        ("CKV_AWS_144", f"aws_s3_bucket.storage-{bucket}") for bucket in buckets
    } | pickers


def test_every_aiplane_check_ran_on_the_shipped_stacks(shipped_report):
    ran = {finding.check_id for finding in shipped_report.findings}
    # The EFA checks (AIP_GPU_4, AIP_GPU_5) run on the GPU fixture stack too (tests/components/test_gpu_node_pool.py).
    assert {"AIP_EKS_1", "AIP_EKS_2", "AIP_EKS_3", "AIP_GPU_1", "AIP_GPU_2", "AIP_NET_1", "AIP_FIN_1"} <= ran
    assert {"AIP_S3_1", "AIP_S3_2", "AIP_S3_3", "AIP_S3_4", "AIP_S3_5"} <= ran


def test_dev_advisories_are_the_profiles_exceptions(shipped_report):
    dev = next(stack for stack in shipped_report.stacks if stack.stack == "dev")
    assert {(f.check_id, f.status) for f in dev.findings if f.status != "passed"} == {
        ("CKV_AWS_39", "advisory"),
        ("CKV_AWS_338", "advisory"),
        ("AIP_S3_5", "advisory"),
        ("CKV_AWS_139", "advisory"),
    } | {(f.check_id, "waived") for f in dev.findings if f.status == "waived"}
    assert {f.check_id for f in dev.findings if f.status == "waived"} == {"CKV_AWS_144", "CKV_AWS_145", "CKV_K8S_38", "CKV_K8S_43"}


def test_findings_point_at_the_code_that_built_the_resource(shipped_report):
    for finding in shipped_report.findings:
        assert not finding.source_file.endswith(".json")
        assert (PROJECT_DIR / finding.source_file).is_file(), finding.source_file
    eks = next(f for f in shipped_report.findings if f.check_id == "CKV_AWS_39" and f.stack == "dev")
    line = (PROJECT_DIR / eks.source_file).read_text().splitlines()[eks.source_line - 1]
    assert eks.source_file == "components/cluster.py" and "aws.eks.Cluster(" in line


@pytest.mark.parametrize(
    ("check_id", "expected"),
    [
        ("CKV_AWS_39", "advisory"),  # exact advisory entry beats the CKV_AWS_ prefix
        ("CKV_AWS_38", "mandatory"),
        ("AIP_GPU_1", "mandatory"),
        ("CKV_GCP_1", "advisory"),  # listed nowhere
    ],
)
def test_profile_resolution_most_specific_wins(check_id, expected):
    profile = Profile.model_validate(
        {
            "description": "t",
            "mandatory": ["AIP_", "CKV_AWS_", "CKV_AWS_39"],
            "advisory": [{"check": "CKV_AWS_39", "reason": "a reason long enough"}, {"check": "CKV_", "reason": "broad advice"}],
        }
    )
    assert profile.classify(check_id)[0] == expected


def shipped_waivers():
    return YAML(typ="safe").load((PROJECT_DIR / "policies" / "waivers.yaml").read_text())["waivers"]


def write_waivers(project, entries):
    """The given waivers first (so messages name waivers[0]), then the project's own."""
    lines = ["waivers:"]
    for entry in [*entries, *shipped_waivers()]:
        lines.append("  - " + "\n    ".join(f"{key}: {json.dumps(value, default=str)}" for key, value in entry.items()))
    (project / "policies" / "waivers.yaml").write_text("\n".join(lines) + "\n")


WAIVER = {
    "check": "CKV_AWS_39",
    "resource": "aws_eks_cluster.cluster-*",
    "stacks": ["prod"],
    "reason": "Break-glass access during the 2026 migration, tracked in PLAT-42.",
    "owner": "platform@example.com",
    "expires": "2099-01-01",
}


def make_prod_endpoint_public(project):
    stack = project / "stacks" / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text().replace(
            "      endpointAccess: private\n", "      endpointAccess: public-and-private\n      publicAccessCidrs: [198.51.100.0/24]\n"
        )
    )


def test_a_mandatory_failure_exits_1_and_says_where(project_copy):
    make_prod_endpoint_public(project_copy)
    result = runner.invoke(app, ["check", "--stack", "prod", "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    (violation,) = [f for f in report["findings"] if f["status"] == "violation"]
    assert violation["check"] == "CKV_AWS_39" and violation["resource"] == "aws_eks_cluster.cluster-eks"
    # The copy's components are the installed ones, outside its root: the finding falls back to the stack-file
    # section that configures the cluster, at the `cluster:` line.
    cluster_line = (project_copy / "stacks" / "Pulumi.prod.yaml").read_text().splitlines().index("    cluster:") + 1
    assert violation["source"] == {"file": "stacks/Pulumi.prod.yaml", "line": cluster_line}
    assert violation["stackField"] == {"file": "stacks/Pulumi.prod.yaml", "path": "aiplane:platform.cluster", "line": cluster_line}


def test_a_waiver_turns_the_violation_into_a_separately_reported_waived_finding(project_copy):
    make_prod_endpoint_public(project_copy)
    write_waivers(project_copy, [WAIVER])
    result = runner.invoke(app, ["check", "--stack", "prod", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["prod"]["violation"] == 0
    (waived,) = [f for f in report["findings"] if f["status"] == "waived" and f["check"] == "CKV_AWS_39"]
    assert waived["waiver"]["owner"] == "platform@example.com"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expires": "2020-01-01"}, "policies/waivers.yaml: waivers[0].expires: 2020-01-01 has passed; renew or remove the waiver"),
        ({"reason": None}, "policies/waivers.yaml: waivers[0].reason: is required"),
        ({"stacks": ["qa"]}, "policies/waivers.yaml: waivers[0].stacks: 'qa' is not a stack of this project"),
    ],
)
def test_bad_waivers_are_input_errors(project_copy, change, message):
    entry = {key: value for key, value in {**WAIVER, **change}.items() if value is not None}
    write_waivers(project_copy, [entry])
    result = runner.invoke(app, ["check", "--stack", "prod"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]


def test_waiver_expiry_is_judged_against_today(project_copy):
    write_waivers(project_copy, [{**WAIVER, "expires": "2026-06-30"}])
    assert load_waivers(project_copy, ["prod"], date(2026, 6, 30))
    with pytest.raises(InputError):
        load_waivers(project_copy, ["prod"], date(2026, 7, 1))


def worker_answer(loaded: list[str], scans: dict) -> dict:
    """A well-formed answer of the checkov worker (aiplane/policy/worker.py), with what the gate verifies."""
    return {"checkov_version": "x", "loaded_custom_checks": loaded, "check_ids": loaded, "checked_types": [], "faults": [],
            "custom_checks": {check_id: {"types": [], "ledgered": True} for check_id in loaded}, "scans": scans}


def fake_checkov(tmp_path, python_script):
    bin_dir = tmp_path / "fake-checkov" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "checkov").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "python").write_text("#!/bin/sh\n" + python_script)
    for name in ("checkov", "python"):
        os.chmod(bin_dir / name, 0o755)
    return str(bin_dir / "checkov")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'Traceback: boom' >&2; exit 1\n", "checkov failed (exit 1): Traceback: boom"),
        ("cat >/dev/null; echo 'not json'\n", "checkov's worker printed something other than its JSON report"),
        ("cat >/dev/null; echo '{\"checkov_version\": \"x\", \"loaded_custom_checks\": [], \"scans\": {}}'\n",
         "checkov's worker answered without the fields the gate verifies"),
        (f"cat >/dev/null; echo '{json.dumps(worker_answer([], {}))}'\n", "checkov did not load these aiplane checks:"),
    ],
)
def test_engine_failures_exit_3_and_never_pass(project_copy, tmp_path, monkeypatch, script, message):
    monkeypatch.setenv("AIPLANE_CHECKOV", fake_checkov(tmp_path, script))
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 3, result.output
    assert result.stderr.strip().startswith(message)


def test_missing_checkov_exits_3(project_copy, monkeypatch):
    monkeypatch.setenv("AIPLANE_CHECKOV", "/nonexistent/bin/checkov")
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 3
    assert "checkov not found (AIPLANE_CHECKOV=/nonexistent/bin/checkov)" in result.stderr


def test_a_timeout_is_an_engine_failure(project_copy, tmp_path, monkeypatch):
    from aiplane.policy.scanner import CheckovSession, EngineError

    monkeypatch.setenv("AIPLANE_CHECKOV", fake_checkov(tmp_path, "sleep 30\n"))
    session = CheckovSession(project_copy, timeout=0.5)
    with pytest.raises(EngineError, match="did not finish within 0s|did not finish within 1s"):
        session.run([], project_copy / "policies" / "checks", set())


def test_a_check_that_fails_to_load_is_an_engine_failure(project_copy):
    (project_copy / "policies" / "checks" / "broken.py").write_text(
        'ID = "AIP_FIN_9"\nTITLE = "t"\nWHY = "w"\nRESOURCES = ("aws_s3_bucket",)\nraise RuntimeError("syntax is fine, import is not")\n'
    )
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 3
    assert "checkov did not load these aiplane checks: AIP_FIN_9" in result.stderr


def test_stack_and_all_are_exclusive(project_copy):
    result = runner.invoke(app, ["check", "--stack", "dev", "--all"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "--stack/--all: give one or more --stack names, or --all"


def test_sarif_report_is_github_shaped_and_points_at_source(project_copy, tmp_path):
    out = tmp_path / "report.sarif"
    result = runner.invoke(app, ["check", "--all", "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 0, result.output
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert {"CKV_AWS_39", "CKV_AWS_338"} <= set(rule_ids)
    for result_ in run["results"]:
        assert result_["level"] in ("warning", "note")  # shipped stacks only have advisories and waived findings
        assert rule_ids[result_["ruleIndex"]] == result_["ruleId"]
        location = result_["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith(("components/", "stacks/Pulumi."))
        assert not location["artifactLocation"]["uri"].endswith(".json")
        assert location["region"]["startLine"] >= 1


def test_junit_report_counts_per_stack(project_copy, tmp_path):
    make_prod_endpoint_public(project_copy)
    out = tmp_path / "report.xml"
    result = runner.invoke(app, ["check", "--stack", "dev", "--stack", "prod", "--format", "junitxml", "--output", str(out)])
    assert result.exit_code == 1
    suites = {suite.get("name"): suite for suite in ET.parse(out).getroot()}
    assert suites["aiplane check prod"].get("failures") == "1"
    assert suites["aiplane check dev"].get("failures") == "0"
    assert suites["aiplane check dev"].get("skipped") == "14"  # 6 advisories and 8 waived findings
    failure = suites["aiplane check prod"].find("testcase/failure")
    assert failure.get("type") == "CKV_AWS_39"


def test_cli_report_names_component_and_tenant(project_copy):
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 0
    assert "dev: " in result.stdout and "0 violations, 6 advisory" in result.stdout and "8 waived" in result.stdout
    assert "in       cluster" in result.stdout and "stack    aiplane:platform.cluster (line 14)" in result.stdout


@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_the_cli_report_never_cuts_a_name_or_a_path(shipped_report, width):
    """At any width every resource, stack field and source path of a finding is printed whole on one line
    (a table where it fits, else a block per finding), violations before advisories before waived findings."""
    from io import StringIO

    from rich.console import Console

    from aiplane.policy.report import render_cli

    console = Console(file=StringIO(), width=width, color_system=None, highlight=False)
    render_cli(shipped_report, console)
    lines = console.file.getvalue().splitlines()
    assert not any("…" in line for line in lines)
    for finding in shipped_report.findings:
        if finding.status == "passed":
            continue
        for text in (finding.resource, f"{finding.stack_field} (line {finding.stack_line})", f"{finding.source_file}:{finding.source_line}"):
            assert any(text in line for line in lines), (width, text)
    for stack in console.file.getvalue().split("aiplane check · stack ")[1:]:
        statuses = [w for line in stack.splitlines() for w in line.replace("│", " ").split()[:1] if w in ("violation", "advisory", "waived")]
        assert statuses and statuses == sorted(statuses, key=("violation", "advisory", "waived").index)
    assert any("prod: " in line and "0 violations" in line for line in lines)


def test_pull_request_workflow_runs_the_gate_and_uploads_sarif():
    from aiplane.files import read_yaml

    workflow = read_yaml(PROJECT_DIR / ".github" / "workflows" / "policy.yml")
    steps = workflow["jobs"]["aiplane-check"]["steps"]
    commands = [step.get("run", "") for step in steps]
    assert any("aiplane check --all --format sarif --output aiplane.sarif" in command for command in commands)
    upload = next(step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "aiplane.sarif"
    assert workflow["permissions"]["security-events"] == "write"
    # The scan cache: a pull request restores its base commit's, and only runs on main ever save one.
    restore = next(step for step in steps if step.get("uses", "").startswith("actions/cache/restore"))
    assert restore["with"] == {"path": ".aiplane-cache", "key": "aiplane-scan-${{ github.event.pull_request.base.sha }}", "restore-keys": "aiplane-scan-"}
    saves = [step for step in steps if step.get("uses", "").startswith(("actions/cache/save", "actions/cache@")) and ".aiplane-cache" in step["with"]["path"]]
    assert len(saves) == 1 and "github.event_name == 'push'" in saves[0]["if"]
    (hook,) = read_yaml(PROJECT_DIR / ".pre-commit-hooks.yaml")
    assert hook["entry"] == "aiplane check --all" and hook["pass_filenames"] is False


def checkov_answering(project, tmp_path, dev_scan):
    """A fake checkov that loads every aiplane check and answers `dev_scan` for each scan of the job (the gate
    scans a stack in pieces: its plan, and each namespace's manifests)."""
    from aiplane.policy.catalog import load_check_catalog

    loaded = sorted(check.id for check in load_check_catalog(project / "policies" / "checks"))
    answer = worker_answer(loaded, {})
    script = tmp_path / "answer.py"
    script.write_text(
        "import json, sys\n"
        f"answer = {answer!r}\n"
        "answer['scans'] = {scan['name']: " + repr({"ledger": [], **dev_scan}) + " for scan in json.load(sys.stdin)['scans']}\n"
        "print(json.dumps(answer))\n"
    )
    return fake_checkov(tmp_path, f'exec "{sys.executable}" "{script}"\n')


@pytest.mark.parametrize(
    ("dev_scan", "message"),
    [
        ({"results": [], "parsing_errors": []}, "checkov reported no result at all for stack dev"),
        ({"results": [], "parsing_errors": ["build/dev/tfplan.json"]}, "checkov could not parse build/dev/tfplan.json for stack dev"),
    ],
)
def test_an_answer_without_results_is_not_a_pass(project_copy, tmp_path, monkeypatch, dev_scan, message):
    monkeypatch.setenv("AIPLANE_CHECKOV", checkov_answering(project_copy, tmp_path, dev_scan))
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 3
    assert message in result.stderr
