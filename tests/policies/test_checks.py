"""Every aiplane check, through real checkov, on its pass and fail fixtures."""
from __future__ import annotations

import json

import pytest

from aiplane.engine import synthesize
from aiplane.export.terraform import plan_document
from aiplane.policy.catalog import load_catalog
from aiplane.policy.scanner import Scan, run_checkov
from tests.conftest import PROJECT_DIR
from tests.policies.rule_fixtures import FIXTURES, tagged_program, untagged_program

CHECKS_DIR = PROJECT_DIR / "policies" / "checks"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixtures")
    scans = []
    for name, program in (("tagged", tagged_program), ("untagged", untagged_program)):
        graph = synthesize(program, stack="fixtures", region="us-east-1")
        (out / f"{name}.json").write_text(json.dumps(plan_document(graph)))
        scans.append(Scan(name, plan=out / f"{name}.json"))
    ids = {check.id for check in load_catalog(CHECKS_DIR)}
    report = run_checkov(PROJECT_DIR, scans, CHECKS_DIR, ids)
    return [result for scan in report["scans"].values() for result in scan["results"]]


def outcomes(results, rule, prefix):
    return {r["resource"]: r["result"] for r in results if r["check_id"] == rule and r["resource"].split(".", 1)[1].startswith(prefix)}


def test_every_catalogued_check_has_fixtures():
    assert sorted(FIXTURES) == sorted(check.id for check in load_catalog(CHECKS_DIR))


@pytest.mark.parametrize("rule", sorted(FIXTURES))
def test_pass_fixture_passes(results, rule):
    seen = outcomes(results, rule, rule.lower().replace("_", "-") + "-pass")
    assert seen, f"{rule} reported nothing on its pass fixture"
    assert set(seen.values()) == {"PASSED"}, seen


@pytest.mark.parametrize("rule", sorted(FIXTURES))
def test_fail_fixture_fails(results, rule):
    seen = outcomes(results, rule, rule.lower().replace("_", "-") + "-fail")
    assert "FAILED" in seen.values(), f"{rule} did not fail its fail fixture: {seen}"


@pytest.mark.parametrize("rule", ["AIP_S3_1", "AIP_S3_2", "AIP_S3_3", "AIP_S3_4", "AIP_S3_5"])
def test_storage_rules_skip_buckets_without_a_data_purpose(results, rule):
    assert outcomes(results, rule, "aip-s3-out-of-scope") in ({}, {"aws_s3_bucket.aip-s3-out-of-scope": "PASSED"})
