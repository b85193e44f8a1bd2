"""The graph diff: resources matched by URN, changed inputs found leaf by leaf, replacements by the table."""
from __future__ import annotations

import copy
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from aiplane.errors import format_path
from aiplane.review.changes import ABSENT, changed_paths, diff_graphs
from aiplane.review.replacement import load_replacement_table
from aiplane.synth.graph import ResourceGraph
from tests.conftest import synthesized

KEYS = st.sampled_from(["a", "b", "c", "spec", "name", "items"])
VALUES = st.recursive(
    st.one_of(st.integers(0, 3), st.sampled_from(["x", "y"]), st.none()),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=3)),
    max_leaves=12,
)


def value_at(document, path):
    for part in path:
        if isinstance(part, int):
            if not isinstance(document, list) or part >= len(document):
                return ABSENT
        elif not isinstance(document, dict) or part not in document:
            return ABSENT
        document = document[part]
    return document


@given(VALUES, VALUES)
def test_changed_paths_are_exactly_where_the_values_differ(before, after):
    changes = list(changed_paths(before, after))
    assert (changes == []) == (before == after)
    for path, was, now in changes:
        assert value_at(before, path) == was and value_at(after, path) == now and was != now
    # No change is reported twice or inside another one.
    paths = [path for path, _, _ in changes]
    assert len(set(paths)) == len(paths)
    assert not any(a != b and a == b[: len(a)] for a in paths for b in paths)


def test_an_unchanged_stack_has_no_changes():
    _, graph = synthesized("dev")
    assert diff_graphs(graph, graph, load_replacement_table()) == []


def test_a_new_stack_creates_everything():
    _, graph = synthesized("dev")
    changes = diff_graphs(None, graph, load_replacement_table())
    assert {change.action for change in changes} == {"create"}
    assert len(changes) == len(graph.custom_resources)


def with_resource(graph: ResourceGraph, urn_part: str, edit) -> ResourceGraph:
    resources = []
    for resource in graph.resources:
        if urn_part in resource.urn:
            inputs = copy.deepcopy(resource.inputs)
            edit(inputs)
            resource = replace(resource, inputs=inputs)
        resources.append(resource)
    return ResourceGraph(graph.project, graph.stack, resources)


def test_a_node_groups_size_is_an_update_and_its_instance_types_a_replacement():
    _, graph = synthesized("dev")
    table = load_replacement_table()
    bigger = with_resource(graph, "NodeGroup::gpu-chat", lambda inputs: inputs["scalingConfig"].update(maxSize=9))
    (change,) = diff_graphs(graph, bigger, table)
    assert change.action == "update" and [i.path for i in change.inputs] == ["scalingConfig.maxSize"]
    assert (change.inputs[0].before, change.inputs[0].after) == (3, 9)
    other = with_resource(graph, "NodeGroup::gpu-chat", lambda inputs: inputs.update(instanceTypes=["g6.2xlarge"]))
    (change,) = diff_graphs(graph, other, table)
    assert change.action == "replace" and change.replaced_by == ("instanceTypes[0]",)


def test_a_resource_whose_urn_changes_is_deleted_and_created():
    _, graph = synthesized("dev")
    bucket = next(r for r in graph.resources if r.type == "aws:s3/bucket:Bucket" and r.name == "storage-models")
    renamed = replace(bucket, urn=bucket.urn.replace("storage-models", "storage-weights"), name="storage-weights")
    head = ResourceGraph(graph.project, graph.stack, [renamed if r is bucket else r for r in graph.resources])
    actions = {(change.action, change.resource.name) for change in diff_graphs(graph, head, load_replacement_table())}
    assert actions == {("delete", "storage-models"), ("create", "storage-weights")}


def test_paths_are_dotted_with_indexes():
    assert format_path(("spec", "template", "spec", "containers", 0, "image")) == "spec.template.spec.containers[0].image"
