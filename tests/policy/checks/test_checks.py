"""Every aiplane check, through real checkov, on its own examples (`example_<rule file>.py`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiplane.export.kubernetes import manifests, render
from aiplane.export.terraform import plan_document
from aiplane.policy.catalog import load_check_catalog
from aiplane.policy.scanner import Scan, run_checkov
from aiplane.synth.engine import synthesize
from tests.conftest import PROJECT_DIR
from tests.policy.checks.programs import CHECKS_DIR, example_name, examples, tagged_program, untagged_program

CATALOG = {check.source: check.id for check in load_check_catalog(CHECKS_DIR)}
# What policies/checks/ holds besides rules: the package marker and the helpers the rules share.
SUPPORT_FILES = {"__init__.py", "aip_support.py"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixtures")
    scans = []
    for name, program in (("tagged", tagged_program), ("untagged", untagged_program)):
        graph = synthesize(program, stack="fixtures", region="us-east-1")
        (out / f"{name}.json").write_text(json.dumps(plan_document(graph)))
        objects = out / f"{name}-k8s"
        objects.mkdir()
        for manifest in manifests(graph):
            (objects / manifest.filename).write_text(render(manifest))
        scans.append(Scan(name, plan=out / f"{name}.json", manifests=objects))
    report = run_checkov(PROJECT_DIR, scans, CHECKS_DIR, set(CATALOG.values()))
    return [result for scan in report["scans"].values() for result in scan["results"]]


def outcomes(results, rule, prefix):
    # `type.name` for Terraform, `Kind.namespace.name` for Kubernetes: the name comes last either way.
    return {r["resource"]: r["result"] for r in results if r["check_id"] == rule and r["resource"].rsplit(".", 1)[1].startswith(prefix)}


def test_every_rule_file_has_an_example_with_a_pass_and_a_fail():
    rule_files = sorted(path.name for path in CHECKS_DIR.iterdir() if path.suffix in (".py", ".yaml") and path.name not in SUPPORT_FILES)
    assert rule_files == sorted(CATALOG), "a rule file is missing from the check catalog, or the reverse"
    modules = examples()
    for source, rule in CATALOG.items():
        assert (Path(__file__).with_name(f"{example_name(source)}.py")).is_file(), source
        assert callable(getattr(modules[rule], "passing", None)) and callable(getattr(modules[rule], "failing", None)), source


@pytest.mark.parametrize("source", sorted(CATALOG), ids=lambda source: source.rsplit(".", 1)[0])
def test_passes_its_example(results, source):
    rule = CATALOG[source]
    seen = outcomes(results, rule, rule.lower().replace("_", "-") + "-pass")
    assert seen, f"{rule} reported nothing on its pass example"
    assert set(seen.values()) == {"PASSED"}, seen


@pytest.mark.parametrize("source", sorted(CATALOG), ids=lambda source: source.rsplit(".", 1)[0])
def test_fails_its_example(results, source):
    rule = CATALOG[source]
    seen = outcomes(results, rule, rule.lower().replace("_", "-") + "-fail")
    assert "FAILED" in seen.values(), f"{rule} did not fail its fail example: {seen}"
