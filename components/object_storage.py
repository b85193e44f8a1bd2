"""Object storage by purpose: datasets, model weights, checkpoints, audit records, and the access-log bucket.

Secure defaults (behaviour, not options):
- every data bucket is encrypted with the component's customer-managed key (SSE-KMS with S3 Bucket Keys,
  which cut KMS requests, and their cost, by caching a bucket-level data key);
- the bucket policy refuses plain-HTTP requests and uploads that ask for any other encryption or key;
- versioning, a public access block and bucket-owner-enforced object ownership (ACLs off) everywhere;
- server access logs of every bucket go to the log bucket, under the bucket's purpose as prefix;
- objects tier down hot -> warm -> archive by `aiplane.planning.tiering`, noncurrent versions expire, and
  incomplete multipart uploads are aborted;
- object events go to EventBridge, so pipelines can react to new weights or datasets without polling.

The log bucket is the one exception to SSE-KMS: S3 server access logging can only deliver to a bucket
whose default encryption is SSE-S3, so it uses that (see docs/storage.md for the AWS reference).

Optional, per stack or blueprint: Object Lock in compliance mode for audit records; an S3 Express One Zone
directory bucket in a GPU pool's zone as the hot tier for checkpoints; an FSx for Lustre file system linked
to the datasets bucket for training; and per-tenant prefixes or per-tenant buckets.
"""
from __future__ import annotations

import json
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aiplane.components.base import AiplaneComponent, StackSection, configured_by
from aiplane.components.encryption import rotating_key
from aiplane.components.iam import account_key_policy
from aiplane.planning.tiering import LifecycleRule, Purpose, Tiering, lifecycle_rules
from aiplane.spec.storage import LustreSizing, ObjectLock

PURPOSE_TAG = "aiplane:purpose"
LOG_PURPOSE: Purpose = "logs"
# Purposes a tenant gets its own bucket for under bucket isolation; audit and logs stay with the platform.
TENANT_PURPOSES: tuple[Purpose, ...] = ("datasets", "models", "checkpoints")
# Ports FSx for Lustre clients and servers talk on (FSx for Lustre user guide, "file system access control with Amazon VPC").
LUSTRE_PORTS = ((988, 988), (1018, 1023))


class BucketPlan(BaseModel):
    """One purpose's bucket: its tiering, versioning and optional Object Lock."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    purpose: Purpose
    tiering: Tiering
    versioned: bool = True
    object_lock: ObjectLock | None = None
    name: str | None = Field(default=None, description="The platform bucket's name in S3; None: Pulumi derives a unique one")

    @model_validator(mode="after")
    def _lock_needs_versioning(self) -> BucketPlan:
        if self.object_lock and not self.versioned:
            raise ValueError(f"bucket {self.purpose}: Object Lock needs versioning (S3 locks object versions)")
        return self


class TenantStorage(BaseModel):
    """Where a tenant's data lives: a prefix in the shared buckets, or buckets of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
    isolation: Literal["prefix", "bucket"]
    own_key: bool = Field(default=False, description="Encrypt the tenant's buckets with a key of its own (bucket isolation only)")
    stack_section: StackSection | None = Field(default=None, description="The stack-file entry of the tenant, recorded on its buckets' component")

    @model_validator(mode="after")
    def _own_key_needs_own_buckets(self) -> TenantStorage:
        if self.own_key and self.isolation != "bucket":
            raise ValueError(f"tenant {self.name}: an own key needs bucket isolation (a shared bucket takes only the storage key)")
        return self


class ExpressOneZone(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    availability_zone: str = Field(description="The GPU pool's zone, by name; the bucket is placed by the zone's id.")
    expire_after_days: int = Field(default=7, ge=1, description="The hot tier holds recent checkpoints only.")


class Lustre(LustreSizing):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    subnet_id: Any = Field(description="pulumi.Input[str]: one private subnet, in the training pool's zone")
    client_security_group_id: Any = Field(description="pulumi.Input[str]: the nodes that mount it")
    mount_path: str = Field(default="/datasets", pattern=r"^/[\w/-]*$")


class ObjectStorageArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    buckets: list[BucketPlan] = Field(min_length=1)
    vpc_id: Any = Field(default=None, description="pulumi.Input[str]; needed with lustre")
    tenants: list[TenantStorage] = Field(default_factory=list)
    express_one_zone: ExpressOneZone | None = None
    lustre: Lustre | None = None

    @model_validator(mode="after")
    def _complete(self) -> ObjectStorageArgs:
        purposes = [bucket.purpose for bucket in self.buckets]
        if sorted(purposes) != sorted(set(purposes)):
            raise ValueError(f"one bucket per purpose, got {purposes}")
        if LOG_PURPOSE not in purposes:
            raise ValueError("a logs bucket is required: every other bucket sends its access logs there")
        if self.express_one_zone and "checkpoints" not in purposes:
            raise ValueError("express_one_zone is the hot tier for checkpoints, but there is no checkpoints bucket")
        if self.lustre and ("datasets" not in purposes or self.vpc_id is None):
            raise ValueError("lustre links to the datasets bucket and needs vpc_id")
        tenant_names = [tenant.name for tenant in self.tenants]
        if len(tenant_names) != len(set(tenant_names)):
            raise ValueError(f"tenant names repeat: {tenant_names}")
        return self

    def plan(self, purpose: Purpose) -> BucketPlan:
        return next(bucket for bucket in self.buckets if bucket.purpose == purpose)


class StorageLocation(BaseModel):
    """Where one purpose's data of one tenant lives; IAM grants `bucket_arn` + `/` + `prefix` + `*`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    bucket_name: Any
    bucket_arn: Any
    prefix: str
    kms_key_arn: Any


class ObjectStorage(AiplaneComponent):
    """The platform's buckets. Outputs: bucket names and ARNs by purpose, the key, and tenants' locations."""

    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]
    kms_key_arn: pulumi.Output[str]
    tenant_locations: dict[str, dict[str, StorageLocation]]
    express_bucket_name: pulumi.Output[str] | None = None
    lustre_dns_name: pulumi.Output[str] | None = None

    def __init__(self, name: str, args: ObjectStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aiplane:storage:ObjectStorage", name, opts)
        account_id = aws.get_caller_identity_output().account_id
        key = rotating_key(self, f"{name}-key", "Encrypts the platform's datasets, weights, checkpoints and audit records",
                           account_key_policy(account_id))
        self.kms_key_arn = key.arn

        log_bucket = Bucket(self, f"{name}-{LOG_PURPOSE}", args.plan(LOG_PURPOSE), account_id, kms_key_arn=None, log_bucket=None)
        buckets = {LOG_PURPOSE: log_bucket}
        for plan in args.buckets:
            if plan.purpose != LOG_PURPOSE:
                buckets[plan.purpose] = Bucket(self, f"{name}-{plan.purpose}", plan, account_id, key.arn, log_bucket)
        self.bucket_names = {purpose: bucket.bucket.bucket for purpose, bucket in buckets.items()}
        self.bucket_arns = {purpose: bucket.bucket.arn for purpose, bucket in buckets.items()}

        self.tenant_locations = {}
        for tenant in args.tenants:
            self.tenant_locations[tenant.name] = self._tenant(name, tenant, args, buckets, key, account_id, log_bucket)

        if args.express_one_zone:
            self.express_bucket_name = self._express_one_zone(name, args.express_one_zone, key, account_id)
        if args.lustre:
            self.lustre_dns_name = self._lustre(name, args, args.lustre, buckets["datasets"], key)

        self.register_outputs({"bucketNames": self.bucket_names, "kmsKeyArn": self.kms_key_arn})

    def _tenant(self, name, tenant: TenantStorage, args, buckets, key, account_id, log_bucket) -> dict[str, StorageLocation]:
        if tenant.isolation == "prefix":
            return {
                purpose: StorageLocation(
                    bucket_name=buckets[purpose].bucket.bucket, bucket_arn=buckets[purpose].bucket.arn,
                    prefix=f"tenants/{tenant.name}/", kms_key_arn=key.arn,
                )
                for purpose in TENANT_PURPOSES if purpose in buckets
            }
        with configured_by(tenant.stack_section):
            own = TenantBuckets(f"{name}-{tenant.name}", tenant.name, pulumi.ResourceOptions(parent=self))
        key_arn = key.arn
        if tenant.own_key:
            key_arn = rotating_key(
                own, f"{name}-{tenant.name}-key", f"Encrypts the data of tenant {tenant.name}", account_key_policy(account_id)
            ).arn
        locations = {}
        for purpose in TENANT_PURPOSES:
            if purpose in buckets:
                # A tenant's bucket keeps the purpose's tiering, never the platform bucket's name.
                plan = args.plan(purpose).model_copy(update={"name": None})
                bucket = Bucket(own, f"{name}-{tenant.name}-{purpose}", plan, account_id, key_arn, log_bucket)
                locations[purpose] = StorageLocation(
                    bucket_name=bucket.bucket.bucket, bucket_arn=bucket.bucket.arn, prefix="", kms_key_arn=key_arn
                )
        own.register_outputs({})
        return locations

    def _express_one_zone(self, name: str, express: ExpressOneZone, key: aws.kms.Key, account_id) -> pulumi.Output[str]:
        zone_id = aws.get_availability_zone_output(name=express.availability_zone).zone_id
        bucket_name = pulumi.Output.all(account_id, zone_id).apply(
            lambda values: f"{name}-ckpt-{values[0]}--{values[1]}--x-s3"
        )
        directory = aws.s3.DirectoryBucket(
            f"{name}-checkpoints-hot",
            aws.s3.DirectoryBucketArgs(
                bucket=bucket_name,
                data_redundancy="SingleAvailabilityZone",
                type="Directory",
                location=aws.s3.DirectoryBucketLocationArgs(name=zone_id, type="AvailabilityZone"),
            ),
            opts=self.child(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-checkpoints-hot-encryption",
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=directory.bucket,
                rules=[kms_encryption_rule(key.arn)],
            ),
            opts=self.child(),
        )
        # Directory buckets support expiry and multipart aborts, not transitions: the hot tier only forgets.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-checkpoints-hot-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=directory.bucket,
                rules=[lifecycle_rule(LifecycleRule(
                    id="hot-tier", prefix="", expire_after_days=express.expire_after_days, abort_incomplete_upload_after_days=1,
                ))],
            ),
            opts=self.child(),
        )
        return directory.bucket

    def _lustre(self, name: str, args: ObjectStorageArgs, lustre: Lustre, datasets: Bucket, key: aws.kms.Key) -> pulumi.Output[str]:
        group = aws.ec2.SecurityGroup(
            f"{name}-lustre-sg",
            aws.ec2.SecurityGroupArgs(
                description=f"FSx for Lustre {name}: Lustre traffic among its servers and from the nodes that mount it",
                vpc_id=args.vpc_id,
                ingress=[
                    aws.ec2.SecurityGroupIngressArgs(
                        description=f"Lustre {low}-{high} {source}", protocol="tcp", from_port=low, to_port=high, **peer
                    )
                    for low, high in LUSTRE_PORTS
                    for source, peer in (
                        ("among file servers", {"self": True}),
                        ("from cluster nodes", {"security_groups": [lustre.client_security_group_id]}),
                    )
                ],
                egress=[
                    aws.ec2.SecurityGroupEgressArgs(
                        description=f"Lustre {low}-{high} among file servers", protocol="tcp", from_port=low, to_port=high, self=True
                    )
                    for low, high in LUSTRE_PORTS
                ],
            ),
            opts=self.child(),
        )
        file_system = aws.fsx.LustreFileSystem(
            f"{name}-lustre",
            aws.fsx.LustreFileSystemArgs(
                deployment_type="PERSISTENT_2",
                storage_type="SSD",
                storage_capacity=lustre.storage_capacity_gib,
                per_unit_storage_throughput=lustre.throughput_per_tib,
                subnet_ids=lustre.subnet_id,
                security_group_ids=[group.id],
                kms_key_id=key.arn,
                data_compression_type="LZ4",
                copy_tags_to_backups=True,
            ),
            opts=self.child(),
        )
        aws.fsx.DataRepositoryAssociation(
            f"{name}-lustre-datasets",
            aws.fsx.DataRepositoryAssociationArgs(
                file_system_id=file_system.id,
                file_system_path=lustre.mount_path,
                data_repository_path=datasets.bucket.bucket.apply(lambda bucket: f"s3://{bucket}/"),
                batch_import_meta_data_on_create=True,
                # Datasets flow from S3 into the file system; jobs write results to the checkpoints bucket.
                s3=aws.fsx.DataRepositoryAssociationS3Args(
                    auto_import_policy=aws.fsx.DataRepositoryAssociationS3AutoImportPolicyArgs(events=["NEW", "CHANGED", "DELETED"]),
                ),
            ),
            opts=self.child(),
        )
        return file_system.dns_name


class TenantBuckets(AiplaneComponent):
    """A tenant's own buckets under bucket isolation: its children carry the tenant's cost tag."""

    def __init__(self, name: str, tenant: str, opts: pulumi.ResourceOptions):
        super().__init__("aiplane:storage:TenantBuckets", name, opts, tenant=tenant)


class Bucket:
    """A bucket and the resources that make it safe: encryption, versioning, public access block,
    ownership, lifecycle, access logging, event notifications and a TLS-only policy."""

    def __init__(
        self,
        owner: AiplaneComponent,
        name: str,
        plan: BucketPlan,
        account_id: pulumi.Input[str],
        kms_key_arn: pulumi.Input[str] | None,
        log_bucket: Bucket | None,
    ):
        child = owner.child
        self.bucket = aws.s3.Bucket(
            name,
            aws.s3.BucketArgs(bucket=plan.name, object_lock_enabled=True if plan.object_lock else None, tags={PURPOSE_TAG: plan.purpose}),
            opts=child(),
        )
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            aws.s3.BucketOwnershipControlsArgs(
                bucket=bucket_id, rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced")
            ),
            opts=child(),
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            aws.s3.BucketPublicAccessBlockArgs(
                bucket=bucket_id, block_public_acls=True, block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True
            ),
            opts=child(),
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=bucket_id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                    status="Enabled" if plan.versioned else "Suspended"
                ),
            ),
            opts=child(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=bucket_id,
                rules=[kms_encryption_rule(kms_key_arn) if kms_key_arn is not None else s3_managed_encryption_rule()],
            ),
            opts=child(),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=bucket_id, rules=[lifecycle_rule(rule) for rule in lifecycle_rules(plan.tiering, plan.versioned)]
            ),
            # S3 evaluates noncurrent-version rules against the versioning state: set that first.
            opts=child(depends_on=[versioning]),
        )
        if plan.object_lock:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                aws.s3.BucketObjectLockConfigurationInitArgs(
                    bucket=bucket_id,
                    rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                        default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                            mode=plan.object_lock.mode, days=plan.object_lock.retention_days
                        )
                    ),
                ),
                opts=child(depends_on=[versioning]),
            )
        if log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-access-logs",
                aws.s3.BucketLoggingInitArgs(
                    bucket=bucket_id,
                    target_bucket=log_bucket.bucket.id,
                    target_prefix=f"{name}/",
                ),
                opts=child(),
            )
        aws.s3.BucketNotification(
            f"{name}-events", aws.s3.BucketNotificationArgs(bucket=bucket_id, eventbridge=True), opts=child()
        )
        policy = pulumi.Output.all(self.bucket.arn, account_id, kms_key_arn).apply(
            lambda values: bucket_policy(values[0], values[1], values[2], receives_access_logs=log_bucket is None)
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            aws.s3.BucketPolicyArgs(bucket=bucket_id, policy=policy),
            # A policy put before the public access block exists could be judged public and refused.
            opts=child(depends_on=[public_access_block]),
        )


def kms_encryption_rule(kms_key_arn: pulumi.Input[str]) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgs:
    return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
        ),
        bucket_key_enabled=True,
    )


def s3_managed_encryption_rule() -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgs:
    return aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="AES256"
        ),
    )


def lifecycle_rule(rule: LifecycleRule) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule.id,
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=rule.prefix),
        transitions=[
            aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=days, storage_class=storage_class)
            for days, storage_class in rule.transitions
        ] or None,
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=rule.expire_after_days)
        if rule.expire_after_days is not None else None,
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=rule.noncurrent_expire_after_days
        ) if rule.noncurrent_expire_after_days is not None else None,
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=rule.abort_incomplete_upload_after_days
        ) if rule.abort_incomplete_upload_after_days is not None else None,
    )


def bucket_policy(bucket_arn: str, account_id: str, kms_key_arn: str | None, receives_access_logs: bool) -> str:
    """Refuse plain HTTP; refuse uploads that ask for another encryption or another key (uploads that ask
    for none get the bucket's default key); let S3's logging service deliver to the log bucket."""
    objects = f"{bucket_arn}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, objects],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if kms_key_arn is not None:
        statements += [
            {
                "Sid": "DenyOtherEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                },
            },
            {
                "Sid": "DenyOtherKeys",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {
                    "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn},
                    "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                },
            },
        ]
    if receives_access_logs:
        statements.append(
            {
                "Sid": "S3ServerAccessLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
