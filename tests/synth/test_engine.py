"""The offline engine on a small program whose graph we know by heart."""
from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from aiplane.components.base import AiplaneComponent
from aiplane.synth.engine import SECRET_PLACEHOLDER, plain, synthesize
from aiplane.synth.graph import ResourceGraph
from tests.conftest import PROJECT_DIR

STACK_URN = "urn:pulumi:test::aiplane::pulumi:pulumi:Stack::aiplane-test"


class Store(AiplaneComponent):
    def __init__(self, name, opts=None):
        super().__init__("aiplane:store:Store", name, opts)
        bucket = aws.s3.Bucket(f"{name}-bucket", opts=self.child())
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            # The SDK names this one *InitArgs: BucketVersioningArgs is the Bucket's inline block.
            aws.s3.BucketVersioningInitArgs(
                bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            opts=self.child(),
        )
        secret = aws.secretsmanager.Secret(f"{name}-secret", opts=self.child())
        aws.secretsmanager.SecretVersion(
            f"{name}-secret-value",
            aws.secretsmanager.SecretVersionArgs(secret_id=secret.id, secret_string=pulumi.Output.secret("hunter2")),
            opts=self.child(depends_on=[bucket]),
        )
        self.register_outputs({})


class Outer(AiplaneComponent):
    def __init__(self, name, opts=None):
        super().__init__("aiplane:outer:Outer", name, opts)
        Store(f"{name}-store", opts=self.child())
        self.register_outputs({})


def program():
    Outer("outer")


@pytest.fixture(scope="module")
def graph():
    return synthesize(program, stack="test", region="eu-west-1", source_root=PROJECT_DIR)


def urn(qualified_type, name):
    return f"urn:pulumi:test::aiplane::{qualified_type}::{name}"


OUTER = urn("aiplane:outer:Outer", "outer")
STORE = urn("aiplane:outer:Outer$aiplane:store:Store", "outer-store")
BUCKET = urn("aiplane:outer:Outer$aiplane:store:Store$aws:s3/bucket:Bucket", "outer-store-bucket")
VERSIONING = urn("aiplane:outer:Outer$aiplane:store:Store$aws:s3/bucketVersioning:BucketVersioning", "outer-store-versioning")
SECRET = urn("aiplane:outer:Outer$aiplane:store:Store$aws:secretsmanager/secret:Secret", "outer-store-secret")
SECRET_VALUE = urn(
    "aiplane:outer:Outer$aiplane:store:Store$aws:secretsmanager/secretVersion:SecretVersion", "outer-store-secret-value"
)


def test_urns_follow_pulumis_type_chain(graph):
    assert [resource.urn for resource in graph.resources] == sorted(
        [STACK_URN, OUTER, STORE, BUCKET, VERSIONING, SECRET, SECRET_VALUE]
    )


def test_parent_edges(graph):
    assert graph[OUTER].parent == STACK_URN
    assert graph[STORE].parent == OUTER
    for child in (BUCKET, VERSIONING, SECRET, SECRET_VALUE):
        assert graph[child].parent == STORE
    assert graph.owning_component(graph[BUCKET]).urn == STORE


def test_each_resource_points_at_the_line_that_built_it(graph):
    lines = Path(__file__).read_text().splitlines()
    bucket_line = next(n for n, text in enumerate(lines, 1) if "aws.s3.Bucket(" in text)
    assert graph[BUCKET].source == f"tests/synth/test_engine.py:{bucket_line}"
    assert synthesize(program, stack="test", region="eu-west-1")[BUCKET].source is None


def test_components_and_custom_resources_are_told_apart(graph):
    assert [c.urn for c in graph.components] == sorted([OUTER, STORE])
    assert not graph[STACK_URN].is_component
    assert graph[BUCKET].custom and not graph[STORE].custom


def test_dependencies_per_resource_and_per_property(graph):
    assert graph[VERSIONING].dependencies == [BUCKET]
    assert graph[VERSIONING].property_dependencies == {"bucket": [BUCKET]}
    assert graph[SECRET_VALUE].dependencies == sorted([BUCKET, SECRET])
    assert graph[SECRET_VALUE].property_dependencies == {"secretId": [SECRET]}


def test_inputs_carry_values_from_outputs_and_hide_secrets(graph):
    versioning = graph[VERSIONING]
    assert versioning.inputs["bucket"] == graph[BUCKET].id
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert graph[SECRET_VALUE].inputs["secretString"] == SECRET_PLACEHOLDER
    assert "hunter2" not in graph.to_json()


def test_mock_outputs_look_like_aws(graph):
    bucket = graph[BUCKET]
    assert bucket.outputs["bucket"].startswith("outer-store-bucket-")
    assert graph[SECRET].outputs["arn"].startswith("arn:aws:secretsmanager:eu-west-1:123456789012:")


def test_two_runs_are_byte_identical(graph):
    again = synthesize(program, stack="test", region="eu-west-1", source_root=PROJECT_DIR)
    assert again.to_json() == graph.to_json()


def test_json_round_trip(graph):
    from aiplane.synth.graph import ResourceGraph

    assert ResourceGraph.from_json(graph.to_json()).to_json() == graph.to_json()


def test_summary_counts_per_component(graph):
    summary = graph.summary()
    assert summary["total"] == 4
    by_name = {component["name"]: component for component in summary["components"]}
    assert by_name["outer"]["total"] == 0
    assert by_name["outer-store"]["byType"] == {
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketVersioning:BucketVersioning": 1,
        "aws:secretsmanager/secret:Secret": 1,
        "aws:secretsmanager/secretVersion:SecretVersion": 1,
    }


def test_errors_in_the_program_propagate():
    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        synthesize(broken, stack="test", region="eu-west-1")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}, "[secret]"),
        (
            {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": {"user": "x", "password": "y"}},
            {"user": "[secret]", "password": "[secret]"},
        ),
        ({"4dabf18193072939515e22adb298388d": "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:x"}, "urn:x"),
        ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "[unknown]"),
        ({"a": [1.0, 2.5]}, {"a": [1, 2.5]}),
    ],
)
def test_wire_values_become_plain_json(wire, expected):
    assert json.dumps(plain(wire)) == json.dumps(expected)


def test_deploy_options_are_recorded_and_survive_the_json_round_trip():
    def with_options():
        first = aws.s3.Bucket("first")
        aws.s3.Bucket(
            "second",
            opts=pulumi.ResourceOptions(
                depends_on=[first],
                custom_timeouts=pulumi.CustomTimeouts(create="25m", update="30m"),
                ignore_changes=["tags"],
                protect=True,
                delete_before_replace=True,
                replace_on_changes=["bucket"],
                retain_on_delete=True,
            ),
        )
        aws.s3.BucketVersioning(
            "implied",
            aws.s3.BucketVersioningInitArgs(
                bucket=first.id, versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled")
            ),
        )

    graph = synthesize(with_options, stack="test", region="eu-west-1")
    first = urn("aws:s3/bucket:Bucket", "first")
    assert graph[urn("aws:s3/bucket:Bucket", "second")].options == {
        "dependsOn": [first],
        "customTimeouts": {"create": "25m", "update": "30m"},
        "ignoreChanges": ["tags"],
        "replaceOnChanges": ["bucket"],
        "protect": True,
        "deleteBeforeReplace": True,
        "retainOnDelete": True,
    }
    # A dependency its inputs imply is not an explicit dependsOn.
    implied = graph[urn("aws:s3/bucketVersioning:BucketVersioning", "implied")]
    assert first in implied.dependencies and implied.options == {}
    assert ResourceGraph.from_json(graph.to_json()) == graph
