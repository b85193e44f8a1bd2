"""The gate at scale: scanning in pieces (a namespace at a time, a cut-down plan) and answering from the cache
change no result. Each comparison is against checkov run the way the gate ran it before: the whole plan and
the whole manifests folder in one scan."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiplane.artifacts import plan_stack
from aiplane.bench.tenants import tenants_project
from aiplane.policy.gate import ScanOptions, _scan, _session, load_policy_inputs, run_gate
from aiplane.policy.report import render_json
from aiplane.policy.scan_cache import CACHE_FOLDER, ScanCache
from aiplane.policy.scan_tasks import PROVIDER, plan_stack_scan
from aiplane.policy.scanner import Scan, run_checkov, share_out
from tests.conftest import PROJECT_DIR, copy_project, edit

TENANTS = 50


def outcomes(scan: dict) -> tuple[set, set]:
    return (
        {(result["check_id"], result["resource"], result["result"]) for result in scan["results"]},
        {(line["check"], line["entity"], line["raised"]) for line in scan["ledger"]},
    )


def scanned_both_ways(project: Path, environment: str, out: Path) -> tuple[tuple[set, set], tuple[set, set]]:
    build = plan_stack(project, environment, out)
    inputs = load_policy_inputs(project, [environment])
    session = _session(inputs, ScanOptions(jobs=2, cache=False))
    try:
        pieces = _scan(session, inputs, [build], ScanOptions(jobs=2, cache=False))["scans"][environment]
    finally:
        session.abandon()
    whole = run_checkov(project, [Scan(environment, build.tfplan, build.manifests_dir)], inputs.checks_dir, set())
    return outcomes(pieces), outcomes(whole["scans"][environment])


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", f"prod+{TENANTS}"])
def test_scanning_in_pieces_finds_what_one_whole_scan_finds(environment, tmp_path):
    project = PROJECT_DIR
    if "+" in environment:
        project = tenants_project(PROJECT_DIR, tmp_path / "project", TENANTS)
        environment = "prod"
    (pieces, pieces_ledger), (whole, whole_ledger) = scanned_both_ways(project, environment, tmp_path / "build")
    assert len(whole) > 1000 if environment == "prod" else len(whole) > 300
    assert pieces == whole
    assert pieces_ledger == whole_ledger


def check_json(project: Path, cache: bool = True):
    report = run_gate(project, ["prod"], options=ScanOptions(jobs=2, cache=cache))
    return render_json(report), report.scan


def test_a_cached_check_is_byte_identical_and_scans_only_what_changed(project_copy):
    cold, cold_stats = check_json(project_copy)
    assert cold_stats.cache_hits == 0 and cold_stats.scanned == cold_stats.exported
    warm, warm_stats = check_json(project_copy)
    assert warm == cold and warm_stats.scanned == 0 and warm_stats.cache_misses == 0
    # One tenant's key budget, and the audit bucket's expiry: the bucket's connection checks (its public access
    # block, its object lock) must see its neighbours again although only its lifecycle rule changed.
    edit(project_copy, "prod", "        budgetUsd: 800\n", "        budgetUsd: 900\n")
    edit(project_copy, "prod", "          expireAfterDays: 2557\n", "          expireAfterDays: 2600\n")
    changed, changed_stats = check_json(project_copy)
    uncached, _ = check_json(project_copy, cache=False)
    assert changed == uncached
    assert 0 < changed_stats.scanned < changed_stats.exported / 4 and changed_stats.cache_hits > 0


def test_an_unreadable_cache_entry_is_a_miss(project_copy):
    cold, _ = check_json(project_copy)
    entries = sorted((project_copy / CACHE_FOLDER).rglob("*.json"))
    for index, entry in enumerate(entries):
        entry.write_text("{not json" if index % 2 else json.dumps({"key": "another", "results": [], "ledger": []}))
    again, stats = check_json(project_copy)
    assert again == cold and stats.cache_hits == 0
    assert all(json.loads(entry.read_text())["key"] == entry.stem for entry in entries)  # rewritten whole


def test_a_cache_that_git_tracks_is_refused(project_copy):
    from typer.testing import CliRunner

    from aiplane.cli import app

    forged = project_copy / CACHE_FOLDER / "scan" / "ab" / "forged.json"
    forged.parent.mkdir(parents=True)
    forged.write_text("{}")
    for command in (["init", "-q"], ["add", "-f", str(forged)]):
        subprocess.run(["git", *command], cwd=project_copy, check=True, capture_output=True)
    result = CliRunner().invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        ".aiplane-cache/: tracked by git; the scan cache must be this machine's own, never the repository's "
        "(`git rm -r --cached .aiplane-cache`, or run with --no-cache)"
    ]
    assert CliRunner().invoke(app, ["check", "--stack", "dev", "--no-cache"]).exit_code == 0


def test_two_checks_at_once_share_a_cold_cache(tmp_path):
    project = copy_project(tmp_path / "project")
    command = [sys.executable, "-m", "aiplane", "--project-dir", str(project), "check", "--stack", "dev", "--format", "json", "-j", "1"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    answers = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], answers
    uncached = subprocess.run([*command, "--no-cache"], capture_output=True, text=True, check=True).stdout
    assert answers[0][0] == answers[1][0] == uncached


def test_a_resource_is_rescanned_when_a_neighbour_changes(tmp_path):
    """The audit bucket's key holds its lifecycle rule's values: change the rule and the bucket is scanned
    again, with its other neighbours (public access block, object lock) in the cut plan beside it; a
    resource no edge reaches keeps its entry."""
    project = copy_project(tmp_path / "project")
    cache = ScanCache(tmp_path / "cache", "fingerprint")
    first = plan_stack_scan(plan_stack(project, "prod", tmp_path / "one"), tmp_path / "scratch-one", cache)
    (plan,) = [pending for pending in first.pending if pending.scan.plan]
    answer = {"results": [], "ledger": [], "parsing_errors": []}
    first.store({pending.scan.name: answer for pending in first.pending}, cache)
    edit(project, "prod", "          expireAfterDays: 2557\n", "          expireAfterDays: 2600\n")
    second = plan_stack_scan(plan_stack(project, "prod", tmp_path / "two"), tmp_path / "scratch-two", cache)
    (rescan,) = second.pending
    assert rescan.keep == {"aws_s3_bucket_lifecycle_configuration.storage-audit-lifecycle", "aws_s3_bucket.storage-audit"}
    cut = json.loads(rescan.scan.plan.read_text())
    carried = {entry["address"] for entry in cut["planned_values"]["root_module"]["resources"]}
    assert {"aws_s3_bucket_public_access_block.storage-audit-public-access-block", "aws_s3_bucket_object_lock_configuration.storage-audit-object-lock"} <= carried
    assert "aws_eks_cluster.cluster" not in carried and PROVIDER not in carried
    assert rescan.scan.cost < plan.scan.cost / 10


@given(st.lists(st.integers(min_value=1, max_value=500), max_size=40), st.integers(min_value=1, max_value=8))
def test_shares_hold_every_scan_once_and_are_balanced(costs, workers):
    scans = [Scan(f"s{index}", cost=cost) for index, cost in enumerate(costs)]
    shares = share_out(scans, workers)
    assert sorted(scan.name for share in shares for scan in share) == sorted(scan.name for scan in scans)
    totals = [sum(scan.cost for scan in share) for share in shares]
    assert max(totals) - min(totals) <= max(costs, default=0)


@pytest.mark.parametrize("value", ["0", "two", "-1", ""])
def test_a_bad_jobs_setting_is_refused_in_one_line(project_copy, monkeypatch, value):
    from typer.testing import CliRunner

    from aiplane.cli import app

    monkeypatch.setenv("AIPLANE_JOBS", value)
    result = CliRunner().invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"AIPLANE_JOBS: {value!r} is not a whole number of at least 1"]
