"""Buckets by purpose and their tiers, the fast tiers (S3 Express One Zone, FSx for Lustre), and the vector
databases with the Aurora settings they share with the gateway's database. The settings models without the
stack file's camelCase (`ObjectLock`, `LustreSizing`, `AuroraSettings`, the engines) are what components take."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from aiplane.planning.tiering import (
    DEFAULT_TIERING,
    ArchiveClass,
    Purpose,
    Tiering,
    WarmClass,
)
from aiplane.planning.tiering import check as check_tiering
from aiplane.spec.common import MAX_DAYS, MAX_GIB, AvailabilityZone, Model, PoolName


class ObjectLock(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    retention_days: int = Field(ge=1, le=36500)


class LustreSizing(BaseModel):
    """Size and speed of a PERSISTENT_2 file system, as FSx for Lustre sells it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    storage_capacity_gib: int = Field(default=1200, ge=1200, le=MAX_GIB, description="1200, or a multiple of 2400.")
    throughput_per_tib: Literal[125, 250, 500, 1000] = Field(default=250, description="MB/s per TiB of storage.")

    @model_validator(mode="after")
    def _capacity_step(self) -> LustreSizing:
        if self.storage_capacity_gib != 1200 and self.storage_capacity_gib % 2400:
            raise ValueError(f"storageCapacityGib {self.storage_capacity_gib} must be 1200 or a multiple of 2400 (PERSISTENT_2 steps)")
        return self


class AuroraSettings(BaseModel):
    """Size and safety of an Aurora PostgreSQL Serverless v2 cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine_version: str = Field(default="16.6", pattern=r"^\d+\.\d+$", description="Aurora PostgreSQL with pgvector 0.8.")
    min_capacity_acu: float = Field(default=0.5, ge=0.5, le=256, multiple_of=0.5)
    max_capacity_acu: float = Field(default=8, ge=1, le=256, multiple_of=0.5)
    instances: int = Field(default=2, ge=1, le=16, description="A writer and readers in other zones.")
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    deletion_protection: bool = True

    @model_validator(mode="after")
    def _capacity_ordered(self) -> AuroraSettings:
        if self.min_capacity_acu > self.max_capacity_acu:
            raise ValueError(f"minCapacityAcu {self.min_capacity_acu:g} is above maxCapacityAcu {self.max_capacity_acu:g}")
        return self


DbName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{2,27}$", description="3-28 characters: OpenSearch's collection name limit.")]
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class VectorEngineBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: DbName
    client_namespaces: list[Namespace] = Field(
        default_factory=list, description="Namespaces whose pods may use the database, besides the model gateway's."
    )


class QdrantEngine(VectorEngineBase):
    engine: Literal["qdrant"]
    replicas: int = Field(default=3, ge=1, le=15, description="Pods of the StatefulSet; more than one forms a qdrant cluster.")
    storage_gib: int = Field(default=50, ge=1, le=16384, description="Encrypted gp3 volume per replica.")
    cpu: str = Field(default="2", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field(default="8Gi", pattern=r"^\d+(Mi|Gi)$")


class OpenSearchServerlessEngine(VectorEngineBase):
    engine: Literal["opensearch-serverless"]
    standby_replicas: bool = Field(default=True, description="Replicas in a second zone; off only for development.")


class PgvectorEngine(VectorEngineBase, AuroraSettings):
    engine: Literal["pgvector"]


VectorEngine = Annotated[QdrantEngine | OpenSearchServerlessEngine | PgvectorEngine, Field(discriminator="engine")]


class ObjectLockSpec(Model, ObjectLock):
    """COMPLIANCE (the default): no one, the root user included, can delete a locked version early."""


# S3's general purpose bucket naming rules (Amazon S3 user guide, "General purpose bucket naming rules").
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name(name: str) -> str:
    if not BUCKET_NAME.match(name):
        raise ValueError("is not a bucket name: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end")
    if ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        raise ValueError("is not a bucket name: no two adjacent dots, and not an IP address")
    if name.startswith(RESERVED_BUCKET_PREFIXES) or name.endswith(RESERVED_BUCKET_SUFFIXES):
        raise ValueError("is not a bucket name: S3 reserves its prefix or suffix")
    return name


BucketName = Annotated[str, AfterValidator(bucket_name)]


class EstimatedGibSpec(Model):
    """How much data a bucket is expected to hold in each tier, for the cost estimate."""

    hot: float = Field(default=0, ge=0, le=MAX_GIB)
    warm: float = Field(default=0, ge=0, le=MAX_GIB)
    archive: float = Field(default=0, ge=0, le=MAX_GIB)


class BucketSpec(Model):
    """One purpose's bucket. Unset tiering fields keep the purpose's default (docs/storage.md); null removes a tier."""

    name: BucketName | None = Field(
        default=None, description="The bucket's name in S3. Default: a unique name Pulumi derives. Changing it replaces the bucket."
    )

    warm_after_days: int | None = Field(default=None, ge=0, le=MAX_DAYS, description="Days until the warm class.")
    warm_class: WarmClass | None = Field(default=None, description="INTELLIGENT_TIERING (default) or STANDARD_IA.")
    archive_after_days: int | None = Field(default=None, ge=0, le=MAX_DAYS, description="Days until the archive class.")
    archive_class: ArchiveClass | None = None
    expire_after_days: int | None = Field(default=None, ge=1, le=MAX_DAYS, description="Days until current versions are deleted.")
    noncurrent_expire_after_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    abort_incomplete_uploads_after_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    versioning: bool = True
    object_lock: ObjectLockSpec | None = Field(default=None, description="Write-once retention of every object version.")
    estimated_gib: EstimatedGibSpec = Field(default_factory=EstimatedGibSpec, description="Expected data per tier (cost estimate).")

    @model_validator(mode="after")
    def _lock_needs_versioning(self) -> BucketSpec:
        if self.object_lock and not self.versioning:
            raise ValueError("objectLock needs versioning: true (S3 Object Lock protects object versions)")
        return self

    def tiering(self, purpose: Purpose) -> Tiering:
        overrides = {
            TIERING_FIELDS[name]: getattr(self, name)
            for name in self.model_fields_set
            if name in TIERING_FIELDS and (getattr(self, name) is not None or name in NULLABLE_TIERS)
        }
        return replace(DEFAULT_TIERING[purpose], **overrides)


TIERING_FIELDS = {
    "warm_after_days": "warm_after_days",
    "warm_class": "warm_class",
    "archive_after_days": "archive_after_days",
    "archive_class": "archive_class",
    "expire_after_days": "expire_after_days",
    "noncurrent_expire_after_days": "noncurrent_expire_after_days",
    "abort_incomplete_uploads_after_days": "abort_incomplete_upload_after_days",
}
# Fields whose null means "no such tier" rather than "the default".
NULLABLE_TIERS = {"warm_after_days", "archive_after_days", "expire_after_days"}


def _tiered(purpose: Purpose) -> AfterValidator:
    def check_bucket(bucket: BucketSpec) -> BucketSpec:
        problems = check_tiering(bucket.tiering(purpose))
        if problems:
            raise ValueError("; ".join(problems))
        return bucket

    return AfterValidator(check_bucket)


class BucketsSpec(Model):
    datasets: Annotated[BucketSpec, _tiered("datasets")] = BucketSpec()
    models: Annotated[BucketSpec, _tiered("models")] = BucketSpec()
    checkpoints: Annotated[BucketSpec, _tiered("checkpoints")] = BucketSpec()
    audit: Annotated[BucketSpec, _tiered("audit")] = BucketSpec()
    logs: Annotated[BucketSpec, _tiered("logs")] = BucketSpec()


class ExpressOneZoneSpec(Model):
    pool: PoolName = Field(description="The GPU pool whose zone holds the directory bucket (its first zone).")
    expire_after_days: int = Field(default=7, ge=1, le=MAX_DAYS, description="Checkpoints older than this leave the hot tier.")
    estimated_gib: float = Field(default=0, ge=0, le=MAX_GIB, description="Expected data in the hot tier (cost estimate).")


class LustreSpec(Model, LustreSizing):
    pool: PoolName = Field(description="The training pool whose zone holds the file system (its first zone).")


class StorageSpec(Model):
    buckets: BucketsSpec = BucketsSpec()
    express_one_zone: ExpressOneZoneSpec | None = Field(
        default=None, description="An S3 Express One Zone directory bucket as the hot tier for checkpoints."
    )
    lustre: LustreSpec | None = Field(default=None, description="FSx for Lustre linked to the datasets bucket, for training.")


class QdrantSpec(Model, QdrantEngine):
    """qdrant on the cluster."""


class OpenSearchServerlessSpec(Model, OpenSearchServerlessEngine):
    """An Amazon OpenSearch Serverless VECTORSEARCH collection."""


class PgvectorSpec(Model, PgvectorEngine):
    """Aurora PostgreSQL Serverless v2 with the pgvector extension."""

    availability_zones: list[AvailabilityZone] | None = Field(
        default=None, description="Zones whose private subnets hold the database (at least two); default: every zone of the stack."
    )


VectorDatabaseSpec = Annotated[QdrantSpec | OpenSearchServerlessSpec | PgvectorSpec, Field(discriminator="engine")]
