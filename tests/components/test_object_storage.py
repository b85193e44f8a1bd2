"""Object storage under the mocks runtime: the data fixture stack, the shipped stacks, and tenant layouts."""
from __future__ import annotations

import json

import pulumi
import pytest
from pydantic import ValidationError

from aiplane.components.object_storage import (
    LUSTRE_PORTS,
    PURPOSE_TAG,
    TENANT_PURPOSES,
    BucketPlan,
    ObjectLock,
    ObjectStorage,
    ObjectStorageArgs,
    TenantStorage,
)
from aiplane.components.tagging import TENANT_TAG, cost_tag_transformation
from aiplane.planning.tiering import DEFAULT_TIERING, PURPOSES
from aiplane.synth.engine import synthesize
from aiplane.synth.mockcloud import _digest
from tests.conftest import synthesized

BUCKET = "aws:s3/bucket:Bucket"
DATA_PURPOSES = ("datasets", "models", "checkpoints", "audit")


def companion(graph, kind, bucket_name, suffix):
    return graph.find(f"aws:s3/{kind}", f"{bucket_name}-{suffix}")


def test_one_bucket_per_purpose_tagged_with_it(shipped):
    spec, graph = shipped
    buckets = {bucket.name: bucket for bucket in graph.of_type(BUCKET) if TENANT_TAG not in bucket.inputs["tags"]}
    assert sorted(buckets) == sorted(f"storage-{purpose}" for purpose in PURPOSES)
    # Tenants with bucket isolation get their own, for their data purposes only.
    tenant_buckets = {bucket.name for bucket in graph.of_type(BUCKET) if TENANT_TAG in bucket.inputs["tags"]}
    owners = [tenant for tenant in spec.tenants if tenant.plan.storage == "bucket"]
    assert tenant_buckets == {f"storage-{tenant.name}-{purpose}" for tenant in owners for purpose in TENANT_PURPOSES}
    for purpose in PURPOSES:
        assert buckets[f"storage-{purpose}"].inputs["tags"][PURPOSE_TAG] == purpose


@pytest.mark.parametrize("purpose", DATA_PURPOSES)
def test_data_buckets_are_kms_encrypted_versioned_private_and_logged(shipped, purpose):
    _, graph = shipped
    name = f"storage-{purpose}"
    bucket = graph.find(BUCKET, name)
    key_arn = graph.find("aws:kms/key:Key", "storage-key").outputs["arn"]
    (rule,) = companion(graph, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name, "encryption").inputs["rules"]
    assert rule == {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}, "bucketKeyEnabled": True}
    assert companion(graph, "bucketVersioning:BucketVersioning", name, "versioning").inputs["versioningConfiguration"] == {"status": "Enabled"}
    block = companion(graph, "bucketPublicAccessBlock:BucketPublicAccessBlock", name, "public-access-block").inputs
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    ownership = companion(graph, "bucketOwnershipControls:BucketOwnershipControls", name, "ownership").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    logging = companion(graph, "bucketLogging:BucketLogging", name, "access-logs").inputs
    assert logging["targetBucket"] == graph.find(BUCKET, "storage-logs").id and logging["targetPrefix"] == f"{name}/"
    assert companion(graph, "bucketNotification:BucketNotification", name, "events").inputs["eventbridge"] is True
    assert bucket.inputs["tags"]["aiplane:component"] == "storage"


@pytest.mark.parametrize("purpose", DATA_PURPOSES)
def test_bucket_policy_refuses_plain_http_and_other_encryption(shipped, purpose):
    _, graph = shipped
    name = f"storage-{purpose}"
    bucket_arn = graph.find(BUCKET, name).outputs["arn"]
    key_arn = graph.find("aws:kms/key:Key", "storage-key").outputs["arn"]
    policy = json.loads(companion(graph, "bucketPolicy:BucketPolicy", name, "policy").inputs["policy"])
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert set(statements) == {"DenyInsecureTransport", "DenyOtherEncryption", "DenyOtherKeys"}
    assert all(statement["Effect"] == "Deny" and statement["Principal"] == "*" for statement in statements.values())
    assert statements["DenyInsecureTransport"]["Resource"] == [bucket_arn, f"{bucket_arn}/*"]
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyOtherEncryption"]["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "aws:kms"}
    assert statements["DenyOtherKeys"]["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}
    # Only uploads that ask for something else are refused: one that asks for nothing gets the default key.
    assert statements["DenyOtherKeys"]["Condition"]["Null"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}


def test_log_bucket_takes_sse_s3_and_only_the_logging_service_from_this_account(shipped):
    spec, graph = shipped
    (rule,) = companion(graph, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "storage-logs", "encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    assert not [r for r in graph.of_type("aws:s3/bucketLogging:BucketLogging") if r.name == "storage-logs-access-logs"]
    policy = json.loads(companion(graph, "bucketPolicy:BucketPolicy", "storage-logs", "policy").inputs["policy"])
    (delivery,) = [statement for statement in policy["Statement"] if statement["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"} and delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_lifecycle_follows_the_stack_tiering(shipped, purpose):
    spec, graph = shipped
    tiering = getattr(spec.platform.storage.buckets, purpose).tiering(purpose)
    lifecycle = companion(graph, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"storage-{purpose}", "lifecycle")
    (rule,) = lifecycle.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert [(t["days"], t["storageClass"]) for t in rule.get("transitions", [])] == tiering.transitions
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": tiering.noncurrent_expire_after_days}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": tiering.abort_incomplete_upload_after_days}
    assert rule.get("expiration", {}).get("days") == tiering.expire_after_days
    assert companion(graph, "bucketVersioning:BucketVersioning", f"storage-{purpose}", "versioning").urn in lifecycle.dependencies


def test_environments_tier_differently():
    tierings = {env: synthesized(env)[0].platform.storage.buckets.checkpoints.tiering("checkpoints") for env in ("dev", "prod")}
    assert tierings["prod"] == DEFAULT_TIERING["checkpoints"]
    assert tierings["dev"].archive_after_days is None and tierings["dev"].noncurrent_expire_after_days == 1


def test_prod_locks_audit_records_in_compliance_mode_and_dev_does_not():
    _, prod = synthesized("prod")
    assert prod.find(BUCKET, "storage-audit").inputs["objectLockEnabled"] is True
    lock = prod.find("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "storage-audit-object-lock")
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 365}}
    assert prod.find("aws:s3/bucketVersioning:BucketVersioning", "storage-audit-versioning").urn in lock.dependencies
    _, dev = synthesized("dev")
    assert not dev.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert "objectLockEnabled" not in dev.find(BUCKET, "storage-audit").inputs


def test_express_one_zone_hot_tier_sits_in_the_training_pool_zone(data_stack):
    spec, graph = data_stack
    directory = graph.find("aws:s3/directoryBucket:DirectoryBucket", "storage-checkpoints-hot")
    # us-west-2b is the training pool's zone; offline, zone b has the id usw2-az2.
    assert directory.inputs["location"] == {"name": "usw2-az2", "type": "AvailabilityZone"}
    assert directory.inputs["bucket"] == "storage-ckpt-123456789012--usw2-az2--x-s3"
    assert directory.inputs["dataRedundancy"] == "SingleAvailabilityZone"
    (rule,) = graph.find("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "storage-checkpoints-hot-lifecycle").inputs["rules"]
    assert "transitions" not in rule  # directory buckets only expire
    assert rule["expiration"] == {"days": 2} and rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 1}
    (encryption,) = graph.find(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "storage-checkpoints-hot-encryption"
    ).inputs["rules"]
    assert encryption["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"


def test_lustre_links_the_datasets_bucket_in_the_training_zone(data_stack):
    spec, graph = data_stack
    file_system = graph.find("aws:fsx/lustreFileSystem:LustreFileSystem", "storage-lustre")
    assert file_system.inputs["subnetIds"] == graph.find("aws:ec2/subnet:Subnet", "network-private-us-west-2b").id
    assert file_system.inputs["deploymentType"] == "PERSISTENT_2"
    assert (file_system.inputs["storageCapacity"], file_system.inputs["perUnitStorageThroughput"]) == (4800, 1000)
    assert file_system.inputs["kmsKeyId"] == graph.find("aws:kms/key:Key", "storage-key").outputs["arn"]
    association = graph.find("aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation", "storage-lustre-datasets")
    assert association.inputs["dataRepositoryPath"] == f"s3://{graph.find(BUCKET, 'storage-datasets').id}/"
    assert association.inputs["s3"]["autoImportPolicy"]["events"] == ["NEW", "CHANGED", "DELETED"]
    group = graph.find("aws:ec2/securityGroup:SecurityGroup", "storage-lustre-sg")
    cluster_group = f"sg-{_digest('aws:eks/cluster:Cluster', 'cluster-eks')[:17]}"  # what the offline EKS reports
    opened = {(rule["fromPort"], rule["toPort"], tuple(rule.get("securityGroups", ["self"]))) for rule in group.inputs["ingress"]}
    assert opened == {(low, high, peer) for low, high in LUSTRE_PORTS for peer in (("self",), (cluster_group,))}
    assert all(rule.get("self") for rule in group.inputs["egress"])


# -- tenants, straight through the component ----------------------------------------------------------------


def tenant_program(tenants, locations):
    """Builds the storage; `locations` receives each tenant's resolved (bucket, prefix) per purpose."""

    def program():
        pulumi.runtime.register_stack_transformation(cost_tag_transformation("test", "cc-test", {}))
        storage = ObjectStorage(
            "storage",
            ObjectStorageArgs(
                buckets=[BucketPlan(purpose=purpose, tiering=DEFAULT_TIERING[purpose]) for purpose in PURPOSES], tenants=tenants
            ),
        )
        for tenant, purposes in storage.tenant_locations.items():
            for purpose, location in purposes.items():
                pulumi.Output.from_input(location.bucket_name).apply(
                    lambda bucket, key=(tenant, purpose), prefix=location.prefix: locations.__setitem__(key, (bucket, prefix))
                )

    return program


def test_prefix_tenants_share_buckets_and_bucket_tenants_get_their_own_charged_to_them():
    locations = {}
    graph = synthesize(
        tenant_program([TenantStorage(name="acme", isolation="prefix"), TenantStorage(name="globex", isolation="bucket")], locations),
        stack="test", region="us-east-1",
    )
    buckets = {bucket.name: bucket for bucket in graph.of_type(BUCKET)}
    assert {name for name in buckets if "globex" in name} == {f"storage-globex-{purpose}" for purpose in TENANT_PURPOSES}
    assert not [name for name in buckets if "acme" in name]
    for purpose in TENANT_PURPOSES:
        tags = buckets[f"storage-globex-{purpose}"].inputs["tags"]
        assert tags[TENANT_TAG] == "globex" and tags[PURPOSE_TAG] == purpose
        assert TENANT_TAG not in buckets[f"storage-{purpose}"].inputs["tags"]
        logging = graph.find("aws:s3/bucketLogging:BucketLogging", f"storage-globex-{purpose}-access-logs")
        assert logging.inputs["targetBucket"] == buckets["storage-logs"].id
    assert locations[("acme", "models")] == (buckets["storage-models"].id, "tenants/acme/")
    assert locations[("globex", "models")] == (buckets["storage-globex-models"].id, "")
    assert sorted(locations) == sorted((tenant, purpose) for tenant in ("acme", "globex") for purpose in TENANT_PURPOSES)


def test_object_lock_without_versioning_is_refused():
    with pytest.raises(ValidationError, match="Object Lock needs versioning"):
        BucketPlan(purpose="audit", tiering=DEFAULT_TIERING["audit"], versioned=False, object_lock=ObjectLock(retention_days=30))


def test_storage_needs_a_log_bucket_and_unique_purposes():
    with pytest.raises(ValidationError, match="a logs bucket is required"):
        ObjectStorageArgs(buckets=[BucketPlan(purpose="models", tiering=DEFAULT_TIERING["models"])])
    twice = [BucketPlan(purpose=purpose, tiering=DEFAULT_TIERING[purpose]) for purpose in ("logs", "models", "models")]
    with pytest.raises(ValidationError, match="one bucket per purpose"):
        ObjectStorageArgs(buckets=twice)
