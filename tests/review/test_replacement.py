"""The replacement table: an entry for every type aiplane emits, and the facts a reviewer relies on."""
from __future__ import annotations

import pytest

from aiplane.export.terraform import TERRAFORM_TYPES
from aiplane.review.replacement import load_replacement_table
from tests.conftest import SHIPPED_STACKS, synthesized


def test_every_type_aiplane_can_emit_has_an_entry():
    table = load_replacement_table()
    emitted = set(TERRAFORM_TYPES)
    for environment in SHIPPED_STACKS:
        emitted |= {resource.type for resource in synthesized(environment)[1].custom_resources}
    missing = sorted(t for t in emitted if not t.startswith("pulumi:providers:") and table.rule(t) is None)
    assert missing == [], "add these to aiplane/data/replacement.yaml, with their upstream source"
    assert all(rule.source for rule in [*table.aws.values(), *table.kubernetes.values(), *table.random.values()])


@pytest.mark.parametrize(
    ("resource_type", "path", "replaces"),
    [
        ("aws:eks/nodeGroup:NodeGroup", ("scalingConfig", "desiredSize"), False),
        ("aws:eks/nodeGroup:NodeGroup", ("instanceTypes", 0), True),
        ("aws:eks/nodeGroup:NodeGroup", ("subnetIds",), True),
        ("aws:eks/nodeGroup:NodeGroup", ("taints", 0, "effect"), False),
        ("aws:eks/nodeGroup:NodeGroup", ("launchTemplate", "version"), False),
        ("aws:eks/cluster:Cluster", ("name",), True),
        ("aws:eks/cluster:Cluster", ("version",), False),
        ("aws:eks/cluster:Cluster", ("kubernetesNetworkConfig", "serviceIpv4Cidr"), True),
        ("aws:s3/bucket:Bucket", ("bucket",), True),
        ("aws:s3/bucket:Bucket", ("tags", "team"), False),
        ("aws:kms/key:Key", ("description",), False),
        ("aws:rds/cluster:Cluster", ("engine",), True),
        ("aws:rds/cluster:Cluster", ("storageEncrypted",), True),
        ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", ("rules", 0, "transitions", 0, "days"), False),
        ("kubernetes:apps/v1:Deployment", ("spec", "selector", "matchLabels", "app"), True),
        ("kubernetes:apps/v1:Deployment", ("spec", "replicas"), False),
        ("kubernetes:apps/v1:StatefulSet", ("spec", "volumeClaimTemplates", 0, "spec"), True),
        ("kubernetes:core/v1:Namespace", ("metadata", "name"), True),
        ("kubernetes:core/v1:Namespace", ("metadata", "labels", "team"), False),
        ("kubernetes:core/v1:ConfigMap", ("data", "config.yaml"), True),
        ("kubernetes:helm.sh/v3:Release", ("version",), False),
        ("kubernetes:helm.sh/v3:Release", ("name",), True),
        ("random:index/randomPassword:RandomPassword", ("length",), True),
    ],
)
def test_what_forces_a_replacement(resource_type, path, replaces):
    assert load_replacement_table().forces_replacement(resource_type, path, "before", "after") is replaces


def test_pulumi_plural_blocks_are_read_as_terraform_names():
    table = load_replacement_table()
    assert table.attribute_path("aws:eks/nodeGroup:NodeGroup", ("taints", 2, "effect")) == "taint.effect"
    assert table.attribute_path("aws:eks/cluster:Cluster", ("kubernetesNetworkConfig", "serviceIpv4Cidr")) == (
        "kubernetes_network_config.service_ipv4_cidr"
    )
