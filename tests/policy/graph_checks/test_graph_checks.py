"""Every graph check on its own examples (`example_<check file>.py`), through the offline engine, under a
profile whose floors are the examples' (AIP_S3_6's FLOOR)."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from aiplane.policy.graph_checks import GRAPH_CHECKS, graph_check_catalog
from aiplane.policy.graph_checks.context import GateContext
from aiplane.spec import RetentionMinimums
from aiplane.synth.engine import synthesize

CHECKS = {Path(check.__file__).stem: check for check in GRAPH_CHECKS}


def results(check, program) -> dict[str, bool]:
    graph = synthesize(program, stack="fixtures", region="us-east-1")
    context = GateContext(RetentionMinimums(auditObjectLock=example("audit_lock_retention").FLOOR))
    return {resource.name: passed for resource, passed in check.evaluate(graph, context)}


def example(stem: str):
    return importlib.import_module(f"tests.policy.graph_checks.example_{stem}")


def test_every_graph_check_has_an_example_and_is_catalogued():
    for stem in CHECKS:
        assert Path(__file__).with_name(f"example_{stem}.py").is_file(), stem
    assert [info.id for info in graph_check_catalog()] == [check.ID for check in GRAPH_CHECKS]
    assert all(info.id.startswith(("AIP_DEP_", "AIP_TEN_", "AIP_S3_", "AIP_SRV_", "AIP_SCH_")) for info in graph_check_catalog())


@pytest.mark.parametrize("stem", sorted(CHECKS))
def test_passes_its_example(stem):
    check = CHECKS[stem]
    seen = results(check, example(stem).passing)
    prefix = check.ID.lower().replace("_", "-") + "-pass"
    assert seen and all(name.startswith(prefix) for name in seen), seen
    assert all(seen.values()), seen


@pytest.mark.parametrize("stem", sorted(CHECKS))
def test_fails_its_example(stem):
    check = CHECKS[stem]
    seen = results(check, example(stem).failing)
    failed = {name for name, passed in seen.items() if not passed}
    prefix = check.ID.lower().replace("_", "-") + "-fail"
    assert failed and all(name.startswith(prefix) for name in failed), seen
    # Every resource of the failing example that the check reports on fails it.
    assert failed == set(seen), seen
