"""AIP_CHG_1 on its pass and fail cases: a stateful replacement or deletion fails unless a live allowance
in the stack file names it; an update, or a replacement of what holds no state, passes untouched."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date

import pytest
from pydantic import ValidationError

from aiplane.policy.change_checks import stateful_replacement
from aiplane.review.changes import diff_graphs
from aiplane.review.replacement import load_replacement_table
from aiplane.spec.stack import ReplacementAllowance
from aiplane.synth.graph import ResourceGraph
from tests.conftest import synthesized

TODAY = date(2026, 12, 2)


def changed(graph: ResourceGraph, name: str, edit) -> ResourceGraph:
    resources = []
    for resource in graph.resources:
        if resource.name == name and resource.custom:
            inputs = copy.deepcopy(resource.inputs)
            edit(inputs)
            resource = replace(resource, inputs=inputs)
        resources.append(resource)
    return ResourceGraph(graph.project, graph.stack, resources)


def results(base: ResourceGraph, head: ResourceGraph, allowances: list[ReplacementAllowance]) -> list[tuple[str, bool]]:
    changes = diff_graphs(base, head, load_replacement_table())
    return [(resource.name, passed) for resource, passed in stateful_replacement.evaluate(changes, allowances, TODAY)]


def allowance(resource: str, expires: date = date(2099, 1, 1)) -> ReplacementAllowance:
    return ReplacementAllowance(resource=resource, reason="The bucket moves to its final name before any data lands.", expires=expires)


@pytest.fixture(scope="module")
def renamed_bucket():
    _, graph = synthesized("dev")
    return graph, changed(graph, "storage-datasets", lambda inputs: inputs.update(bucket="acme-datasets"))


def test_fail_a_stateful_replacement_without_an_allowance(renamed_bucket):
    assert results(*renamed_bucket, []) == [("storage-datasets", False)]


def test_fail_a_stateful_deletion_without_an_allowance():
    _, graph = synthesized("dev")
    head = ResourceGraph(graph.project, graph.stack, [r for r in graph.resources if r.name != "storage-datasets"])
    assert results(graph, head, []) == [("storage-datasets", False)]


def test_pass_a_replacement_the_stack_file_allows(renamed_bucket):
    assert results(*renamed_bucket, [allowance("aws_s3_bucket.storage-data*")]) == [("storage-datasets", True)]


def test_fail_when_the_allowance_has_expired_or_names_another_resource(renamed_bucket):
    assert results(*renamed_bucket, [allowance("aws_s3_bucket.storage-datasets", expires=date(2026, 12, 1))]) == [("storage-datasets", False)]
    assert results(*renamed_bucket, [allowance("aws_s3_bucket.storage-models")]) == [("storage-datasets", False)]


def test_pass_an_update_of_a_stateful_resource_untouched():
    _, graph = synthesized("dev")
    head = changed(graph, "gpu-chat-nodes", lambda inputs: inputs["scalingConfig"].update(maxSize=9))
    assert results(graph, head, []) == []


def test_an_allowance_needs_a_real_reason_and_a_valid_glob():
    with pytest.raises(ValidationError, match="at least 20 characters"):
        ReplacementAllowance(resource="aws_s3_bucket.x", reason="                         ", expires=date(2099, 1, 1))
    with pytest.raises(ValidationError, match="not a valid glob"):
        ReplacementAllowance(resource="aws_s3_bucket.[x", reason="A reason that is long enough to read.", expires=date(2099, 1, 1))


def test_prod_creates_its_stateful_resources_protected():
    _, graph = synthesized("prod")
    stateful = [r for r in graph.custom_resources if r.type in stateful_replacement.STATEFUL_TYPES]
    assert {r.type for r in stateful} >= {"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:s3/bucket:Bucket", "aws:kms/key:Key"}
    assert all(r.options.get("protect") for r in stateful)
    buckets = [r for r in stateful if r.type == "aws:s3/bucket:Bucket"]
    assert all(r.options.get("retainOnDelete") for r in buckets)
    assert not any(r.options.get("retainOnDelete") for r in stateful if r.type == "aws:eks/nodeGroup:NodeGroup")
    _, dev = synthesized("dev")
    assert not any(r.options.get("protect") for r in dev.custom_resources)
