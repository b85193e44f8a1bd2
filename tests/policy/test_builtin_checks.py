"""checkov's own checks, run for real on the export: insecure resources trip them, secure ones pass."""
from __future__ import annotations

import json

import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from aiplane.export.kubernetes import manifests, render
from aiplane.export.terraform import plan_document
from aiplane.policy.scanner import Scan, run_checkov
from aiplane.synth.engine import synthesize
from tests.conftest import PROJECT_DIR


def insecure_program():
    aws.eks.Cluster(
        "open-eks",
        aws.eks.ClusterArgs(
            role_arn="arn:aws:iam::123456789012:role/eks",
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=["subnet-1", "subnet-2"], endpoint_public_access=True, public_access_cidrs=["0.0.0.0/0"]
            ),
        ),
    )
    aws.kms.Key("unrotated-key", aws.kms.KeyArgs(enable_key_rotation=False))
    aws.s3.Bucket("bare-bucket")
    aws.ec2.SecurityGroup(
        "ssh-open",
        aws.ec2.SecurityGroupArgs(
            description="ssh",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])],
        ),
    )
    k8s.core.v1.Pod(
        "privileged-pod",
        metadata=k8s.meta.v1.ObjectMetaArgs(name="privileged", namespace="tenant-a"),
        spec=k8s.core.v1.PodSpecArgs(
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="shell", image="busybox:1.36", security_context=k8s.core.v1.SecurityContextArgs(privileged=True)
                )
            ]
        ),
    )
    # A bucket with its public access block: the graph check must see the connection the export writes.
    guarded = aws.s3.Bucket("guarded-bucket")
    aws.s3.BucketPublicAccessBlock(
        "guarded-bucket-pab",
        aws.s3.BucketPublicAccessBlockArgs(
            bucket=guarded.id, block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True
        ),
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("insecure")
    graph = synthesize(insecure_program, stack="insecure", region="us-east-1")
    (out / "tfplan.json").write_text(json.dumps(plan_document(graph)))
    (out / "k8s").mkdir()
    for manifest in manifests(graph):
        (out / "k8s" / manifest.filename).write_text(render(manifest))
    report = run_checkov(PROJECT_DIR, [Scan("insecure", out / "tfplan.json", out / "k8s")], PROJECT_DIR / "policies" / "checks", set())
    return {(r["check_id"], r["resource"]): r["result"] for r in report["scans"]["insecure"]["results"]}


@pytest.mark.parametrize(
    ("check_id", "resource"),
    [
        ("CKV_AWS_39", "aws_eks_cluster.open-eks"),  # public endpoint
        ("CKV_AWS_38", "aws_eks_cluster.open-eks"),  # ... open to 0.0.0.0/0
        ("CKV_AWS_58", "aws_eks_cluster.open-eks"),  # no secrets encryption
        ("CKV_AWS_7", "aws_kms_key.unrotated-key"),  # no rotation
        ("CKV_AWS_145", "aws_s3_bucket.bare-bucket"),  # not KMS-encrypted
        ("CKV2_AWS_6", "aws_s3_bucket.bare-bucket"),  # no public access block
        ("CKV_AWS_24", "aws_security_group.ssh-open"),  # port 22 open to the world
        ("CKV_K8S_16", "Pod.tenant-a.privileged"),  # privileged container
    ],
)
def test_insecure_resources_trip_builtin_checks(results, check_id, resource):
    assert results.get((check_id, resource)) == "FAILED", sorted(k for k in results if k[1] == resource)


def test_connection_checks_see_references_from_captured_dependencies(results):
    assert results[("CKV2_AWS_6", "aws_s3_bucket.guarded-bucket")] == "PASSED"
