"""Stack specs: the pydantic models behind `stacks/Pulumi.<env>.yaml`, and the one loader for them.

The stack file is the one the Pulumi CLI reads (`stackConfigDir: stacks`). `aiplane plan` and `pulumi up`
both load it through `load_stack`, so a typo fails the same way in both, before any resource exists.
Keys are camelCase, like Pulumi's own config; unknown keys are errors.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace
from functools import cached_property
from ipaddress import AddressValueError, IPv4Network, NetmaskValueError
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from aiplane.capacity import CapacityError, ServedModel
from aiplane.catalog import load_catalog
from aiplane.cidr import CidrPlanError, plan_subnets
from aiplane.compute import ComputePlan, plan_compute
from aiplane.errors import InputError, describe_validation_error
from aiplane.profiles import PROFILES, CapacityType, PoolMode, ProfileName
from aiplane.routing import LARGE_MODEL_TASKS, SMALL_MODEL_TASKS, TASK_CLASSES, TaskClass, fallback_cycle
from aiplane.tiering import DEFAULT_TIERING, ArchiveClass, Purpose, Tiering, WarmClass
from aiplane.tiering import check as check_tiering
from components.cluster import NodeGroupSizing
from components.object_storage import LustreSizing, ObjectLock
from components.postgres import AuroraSettings
from components.vector_db import OpenSearchServerlessEngine, PgvectorEngine, QdrantEngine

STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# An Aurora DB subnet group must cover at least two availability zones.
MIN_DATABASE_ZONES = 2

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

# Core add-on builds pinned per Kubernetes version, from the EKS user guide's add-on pages. Refresh with
# `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>` before moving a version.
CORE_ADDONS: dict[str, dict[str, str]] = {
    "1.33": {
        "vpc-cni": "v1.19.5-eksbuild.1",
        "coredns": "v1.12.1-eksbuild.2",
        "kube-proxy": "v1.33.0-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.7-eksbuild.2",
        # Persistent volumes (the vector database, Prometheus): the build published alongside kube-proxy
        # v1.33.0-eksbuild.2 above.
        "aws-ebs-csi-driver": "v1.46.0-eksbuild.1",
    },
}
KubernetesVersion = Literal["1.33"]
AddonName = Literal["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"]


class Model(BaseModel):
    """Strict base: camelCase keys in files, unknown keys rejected, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_alias=True, validate_by_name=False
    )


def _ipv4_network(value: str) -> str:
    try:
        network = IPv4Network(value, strict=True)
    except (AddressValueError, NetmaskValueError, ValueError):
        raise ValueError("is not a valid IPv4 network") from None
    return str(network)


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"is not a retention CloudWatch Logs accepts ({', '.join(map(str, LOG_RETENTION_DAYS))})")
    return value


Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_network)]
RetentionDays = Annotated[int, AfterValidator(_log_retention)]
InstanceType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")]
IamPrincipalArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")]
AvailabilityZone = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")]


def _user_tag_key(value: str) -> str:
    if value.startswith(("aws:", "aiplane:")):
        raise ValueError("uses a reserved prefix (aws: belongs to AWS, aiplane: to the cost-allocation tags)")
    return value


TagKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+@-]+$"), AfterValidator(_user_tag_key)]


class FlowLogSpec(Model):
    retention_days: RetentionDays = 90


class NetworkSpec(Model):
    cidr: Ipv4Cidr
    az_count: int = Field(default=2, ge=2, le=6, description="EKS needs subnets in at least two zones.")
    availability_zones: list[AvailabilityZone] | None = Field(
        default=None, description="Explicit zones; default: the region's first azCount zones (a, b, c, ...)."
    )
    nat_gateways: Literal["single", "per-az"] = Field(
        default="single", description="One NAT gateway for the VPC, or one per zone so a zone outage keeps egress."
    )
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    private_subnet_prefix: int = Field(default=19, ge=16, le=28, description="Large: the VPC CNI gives pods VPC addresses.")
    interface_endpoints: list[Annotated[str, Field(pattern=r"^[a-z0-9.-]+$")]] = Field(
        default_factory=lambda: ["ecr.api", "ecr.dkr", "sts"],
        description="Services reached through interface endpoints, so nodes pull images without NAT charges.",
    )
    flow_logs: FlowLogSpec = FlowLogSpec()

    @model_validator(mode="after")
    def _zones_and_subnets_fit(self) -> NetworkSpec:
        prefix = IPv4Network(self.cidr).prefixlen
        if not 16 <= prefix <= 24:
            raise ValueError(f"cidr {self.cidr!r} must be between /16 and /24")
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise ValueError(f"availabilityZones lists {len(self.availability_zones)} zones but azCount is {self.az_count}")
        try:
            plan_subnets(self.cidr, [str(i) for i in range(self.az_count)], self.subnet_prefixes)
        except CidrPlanError as error:
            raise ValueError(str(error)) from None
        return self

    @property
    def subnet_prefixes(self) -> dict[str, int]:
        return {"public": self.public_subnet_prefix, "private": self.private_subnet_prefix}

    def zones(self, region: str) -> list[str]:
        return list(self.availability_zones or [f"{region}{chr(ord('a') + i)}" for i in range(self.az_count)])


class NodeGroupSpec(Model, NodeGroupSizing):
    """The cluster component's node group sizing, spelled in camelCase in stack files."""

    instance_types: list[InstanceType] = Field(min_length=1)


class NodeCountSpec(Model):
    min: int = Field(ge=0)
    desired: int = Field(ge=0)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> NodeCountSpec:
        if not self.min <= self.desired <= self.max:
            raise ValueError(f"node counts must satisfy min <= desired <= max, got {self.min}, {self.desired}, {self.max}")
        return self


PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
# Model names become Kubernetes Service names (DNS labels) and LiteLLM model groups.
ModelName = Annotated[str, Field(pattern=r"^[a-z]([-a-z0-9]{0,46}[a-z0-9])?$")]
KubernetesName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class GpuPoolSpec(Model):
    """A GPU node pool. Its profile sets the defaults; its sizes come from the models it serves."""

    name: PoolName
    profile: ProfileName
    instance_types: list[InstanceType] = Field(
        min_length=1, description="From the instance catalog; several only for a spot mix of equal GPU count."
    )
    mode: PoolMode = Field(default="managed", description="managed: an EKS managed node group; karpenter: NodePool + EC2NodeClass.")
    capacity_types: list[CapacityType] | None = Field(default=None, description="Default: the profile's first.")
    capacity_reservation_id: str | None = Field(
        default=None,
        pattern=r"^cr-[0-9a-f]{8,17}$",
        description="An On-Demand Capacity Reservation to launch into, or the reservation id of a Capacity Block.",
    )
    efa: bool | None = Field(default=None, description="Default: on for multi-node profiles (training).")
    availability_zones: list[AvailabilityZone] | None = Field(
        default=None, description="Default: every zone of the stack; a multi-node pool gets the first only."
    )
    nodes: NodeCountSpec | None = Field(default=None, description="For pools that serve no model: sizes set by hand.")
    disk_size_gib: int | None = Field(default=None, ge=50, le=16384, description="Default: the profile's.")

    @model_validator(mode="after")
    def _fits_profile_and_catalog(self) -> GpuPoolSpec:
        profile = PROFILES[self.profile]
        catalog = load_catalog()
        where = f"pool {self.name!r}"
        instances = []
        for instance_type in self.instance_types:
            instance = catalog.get(instance_type)
            if instance is None:
                raise ValueError(f"{where}: {instance_type} is not in the instance catalog (known: {', '.join(catalog.instances)})")
            if instance.family not in profile.families:
                raise ValueError(f"{where}: profile {self.profile} takes {', '.join(profile.families)} instances, not {instance_type}")
            if instance.gpu_memory_gib < profile.min_gpu_memory_gib:
                raise ValueError(
                    f"{where}: profile {self.profile} needs at least {profile.min_gpu_memory_gib:g} GiB per GPU; "
                    f"{instance_type}'s {instance.gpu} has {instance.gpu_memory_gib:.1f}"
                )
            if instance.gpus > profile.max_gpus_per_node:
                raise ValueError(f"{where}: profile {self.profile} takes nodes of at most {profile.max_gpus_per_node} GPU, not {instance_type}")
            instances.append(instance)
        if len({(instance.gpu_product, instance.gpus, instance.nvlink_domain) for instance in instances}) > 1:
            raise ValueError(f"{where}: instance types in one pool must have the same GPU model, GPU count and NVLink domain")
        capacity = self.effective_capacity_types
        if "capacity-block" in capacity and "spot" in capacity:
            raise ValueError(f"{where}: capacity blocks cannot be combined with spot (a block is reserved, spot is interruptible)")
        for capacity_type in capacity:
            if capacity_type not in profile.capacity_types:
                raise ValueError(f"{where}: profile {self.profile} buys {', '.join(profile.capacity_types)} capacity, not {capacity_type}")
        if "capacity-block" in capacity and not self.capacity_reservation_id:
            raise ValueError(f"{where}: a capacity-block pool needs capacityReservationId (the block's reservation id)")
        if self.capacity_reservation_id and "spot" in capacity:
            raise ValueError(f"{where}: a capacity reservation cannot be combined with spot")
        if self.mode == "managed" and len(capacity) > 1:
            raise ValueError(f"{where}: a managed node group buys one capacity type; use mode karpenter for a mix")
        if self.mode == "karpenter" and not profile.karpenter:
            raise ValueError(f"{where}: profile {self.profile} runs on managed node groups only, not karpenter")
        if self.mode == "karpenter" and self.capacity_reservation_id:
            raise ValueError(f"{where}: capacity reservations need mode managed")
        if self.efa:
            for instance in instances:
                if not instance.efa:
                    raise ValueError(f"{where}: EFA is asked for, but {instance.name} has no EFA support")
        if self.wants_efa and len(self.instance_types) > 1:
            raise ValueError(f"{where}: an EFA pool takes exactly one instance type (its interfaces are laid out per type)")
        if self.wants_efa and self.mode == "karpenter":
            raise ValueError(f"{where}: EFA pools need mode managed (a launch template with one interface per network card)")
        if profile.multi_node and self.availability_zones and len(self.availability_zones) > 1:
            raise ValueError(
                f"{where}: a {self.profile} pool must stay in one availability zone (its placement group cannot span zones), "
                f"got {', '.join(self.availability_zones)}"
            )
        return self

    @property
    def effective_capacity_types(self) -> list[CapacityType]:
        return list(self.capacity_types or [PROFILES[self.profile].default_capacity_type])

    @property
    def wants_efa(self) -> bool:
        if self.efa is not None:
            return self.efa
        return PROFILES[self.profile].multi_node and all(load_catalog().instances[t].efa for t in self.instance_types)


class ServedModelSpec(Model, ServedModel):
    """A model served on a pool, with the traffic it must carry. Architecture fields from its config.json."""

    name: ModelName
    pool: PoolName
    peak_concurrency: int | None = Field(default=None, gt=0, description="Requests in flight at the planned peak.")
    peak_rps: float | None = Field(default=None, gt=0, description="Or: requests per second at the peak.")
    tensor_parallel: int | None = Field(default=None, ge=1, description="Pin the TP degree; default: the planner's choice.")
    weights_prefix: str | None = Field(
        default=None, pattern=r"^[\w.-]+(/[\w.-]+)*/$", description="Where the weights are in the models bucket; default: <name>/."
    )

    @model_validator(mode="after")
    def _one_load_figure(self) -> ServedModelSpec:
        if (self.peak_concurrency is None) == (self.peak_rps is None):
            raise ValueError("give exactly one of peakConcurrency and peakRps")
        return self

    def served_model(self) -> ServedModel:
        """The planner's input. Little's law turns a request rate into concurrency; the SLO bounds the latency."""
        concurrency = self.peak_concurrency or math.ceil(self.peak_rps * self.p95_latency_seconds)
        fields = {name: getattr(self, name) for name in ServedModel.model_fields}
        return ServedModel.model_validate({**fields, "peak_concurrency": concurrency})


class ComputeSpec(Model):
    pools: list[GpuPoolSpec] = Field(default_factory=list)
    models: list[ServedModelSpec] = Field(default_factory=list, description="Served models: the capacity planner's input.")

    @model_validator(mode="after")
    def _models_fit_their_pools(self) -> ComputeSpec:
        for kind, names in (("pool", [p.name for p in self.pools]), ("model", [m.name for m in self.models])):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"{kind} names must be unique, repeated: {', '.join(repeated)}")
        pools = {pool.name: pool for pool in self.pools}
        for model in self.models:
            if model.pool not in pools:
                raise ValueError(f"model {model.name!r}: pool {model.pool!r} is not defined (pools: {', '.join(pools) or 'none'})")
        for pool in self.pools:
            serves = [model.name for model in self.models if model.pool == pool.name]
            if serves and pool.nodes:
                raise ValueError(f"pool {pool.name!r}: serves {', '.join(serves)}, so its sizes come from the capacity plan; remove nodes")
            if not serves and not pool.nodes:
                raise ValueError(f"pool {pool.name!r}: serves no model, so it needs nodes (min, desired, max)")
        try:
            self.plan  # noqa: B018 - computing the plan is the check: a model that cannot be served fails here
        except CapacityError as error:
            raise ValueError(str(error)) from None
        return self

    @cached_property
    def plan(self) -> ComputePlan:
        return plan_compute(self.pools, self.models)


class ObjectLockSpec(Model, ObjectLock):
    """COMPLIANCE (the default): no one, the root user included, can delete a locked version early."""


class EstimatedGibSpec(Model):
    """How much data a bucket is expected to hold in each tier, for the cost estimate."""

    hot: float = Field(default=0, ge=0)
    warm: float = Field(default=0, ge=0)
    archive: float = Field(default=0, ge=0)


class BucketSpec(Model):
    """One purpose's bucket. Unset tiering fields keep the purpose's default (docs/storage.md); null removes a tier."""

    warm_after_days: int | None = Field(default=None, ge=0, description="Days until the warm class.")
    warm_class: WarmClass | None = Field(default=None, description="INTELLIGENT_TIERING (default) or STANDARD_IA.")
    archive_after_days: int | None = Field(default=None, ge=0, description="Days until the archive class.")
    archive_class: ArchiveClass | None = None
    expire_after_days: int | None = Field(default=None, ge=1, description="Days until current versions are deleted.")
    noncurrent_expire_after_days: int | None = Field(default=None, ge=1)
    abort_incomplete_uploads_after_days: int | None = Field(default=None, ge=1)
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
    expire_after_days: int = Field(default=7, ge=1, description="Checkpoints older than this leave the hot tier.")
    estimated_gib: float = Field(default=0, ge=0, description="Expected data in the hot tier (cost estimate).")


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


class SecretRefSpec(Model):
    """A key in a Kubernetes Secret of the gateway's namespace, created outside the stack file."""

    secret: KubernetesName
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")


class ProviderModelSpec(Model):
    """A managed model the gateway reaches over the internet (OpenAI, Anthropic, Bedrock, ...)."""

    name: ModelName = Field(description="The name routes and fallbacks use.")
    model: str = Field(pattern=r"^[a-z0-9_]+/[\w.:/@-]+$", description="LiteLLM's provider/model, e.g. openai/gpt-4o.")
    api_key: SecretRefSpec | None = Field(default=None, description="Where the key is; none for providers that use the pod's IAM role (bedrock).")
    api_base: str | None = Field(default=None, pattern=r"^https://[\w.-]+(:\d+)?(/[\w./-]*)?$")

    @model_validator(mode="before")
    @classmethod
    def _keys_are_referenced(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("apiKey") is None and not str(data.get("model", "")).startswith("bedrock/"):
            raise ValueError("apiKey is required: only bedrock/ models are reached without a key (through the gateway's IAM role)")
        if isinstance(data, dict) and isinstance(data.get("apiKey"), str):
            # The value is never echoed: it is a credential.
            raise ValueError(
                "apiKey is a literal key; a key in a stack file ends up in git: reference a Kubernetes Secret "
                "instead, apiKey: {secret: NAME, key: KEY}"
            )
        return data


class DegradationSpec(Model):
    model: ModelName = Field(description="The smaller model the tier falls back to under overload.")
    max_tokens: int = Field(gt=0, le=131072, description="Completions are capped at this many tokens.")
    tools: bool = Field(default=False, description="Whether tool calls survive degradation.")


class TierSpec(Model):
    degrade: DegradationSpec | None = Field(default=None, description="Under overload; none: fail over to fallbacks only.")


class GatewayKeySpec(Model):
    """A tenant's virtual key: what it may spend and how fast it may call."""

    tenant: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]
    tier: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    budget_usd: float = Field(ge=0, description="Spend allowed per budget period.")
    budget_duration: Literal["1d", "7d", "30d"] = "30d"
    rpm: int = Field(gt=0, description="Requests per minute.")
    tpm: int = Field(gt=0, description="Tokens per minute.")


class ReplicaRangeSpec(Model):
    min: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ReplicaRangeSpec:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class GatewayDatabaseSpec(Model, AuroraSettings):
    """The gateway's metering database (keys, budgets, spend): Aurora PostgreSQL Serverless v2."""

    max_capacity_acu: float = Field(default=4, ge=1, le=256, multiple_of=0.5)


class GatewaySpec(Model):
    replicas: ReplicaRangeSpec = ReplicaRangeSpec(min=2, max=6)
    database: GatewayDatabaseSpec = GatewayDatabaseSpec()
    exposure: Literal["internal", "public"] = Field(
        default="internal", description="internal: a cluster-internal Service; public: an ALB behind WAF and an allow-list."
    )
    allowed_cidrs: list[Ipv4Cidr] = Field(default_factory=list, description="Public exposure: the networks that may call it.")
    certificate_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")
    routing_strategy: Literal["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2"] = "latency-based-routing"
    timeout_seconds: int = Field(default=120, ge=1, le=3600)
    retries: int = Field(default=2, ge=0, le=10)
    providers: list[ProviderModelSpec] = Field(default_factory=list)
    routes: dict[TaskClass, ModelName] = Field(
        default_factory=dict,
        description="Task class to model; default: classification, extraction and summarization to the smallest served model, "
        "synthesis and reasoning to the largest.",
    )
    fallbacks: dict[ModelName, list[ModelName]] = Field(default_factory=dict, description="Where a model's requests go when it fails.")
    tiers: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")], TierSpec] = Field(
        default_factory=lambda: {"standard": TierSpec()}, min_length=1
    )
    keys: list[GatewayKeySpec] = Field(default_factory=list, description="Tenants' virtual keys, budgets and rate limits.")

    @model_validator(mode="after")
    def _exposure_is_guarded(self) -> GatewaySpec:
        if self.exposure == "public" and (not self.allowed_cidrs or not self.certificate_arn):
            raise ValueError("exposure 'public' needs allowedCidrs (the callers' networks) and certificateArn (TLS on the load balancer)")
        if self.exposure == "internal" and self.allowed_cidrs:
            raise ValueError("allowedCidrs is set but exposure is 'internal'")
        for index, key in enumerate(self.keys):
            if key.tier not in self.tiers:
                raise ValueError(f"keys[{index}] (tenant {key.tenant!r}): tier {key.tier!r} is not defined (tiers: {', '.join(self.tiers)})")
        tenants = [key.tenant for key in self.keys]
        repeated = sorted({tenant for tenant in tenants if tenants.count(tenant) > 1})
        if repeated:
            raise ValueError(f"one key per tenant, repeated: {', '.join(repeated)}")
        cycle = fallback_cycle(self.fallbacks)
        if cycle:
            raise ValueError(f"fallbacks: a fallback cycle: {' -> '.join(cycle)}")
        return self


class ServingSpec(Model):
    gateway: GatewaySpec | None = Field(default=None, description="The model gateway (LiteLLM) in front of the model servers.")


class MetricsSpec(Model):
    retention_days: int = Field(default=15, ge=1, le=3650, description="How long Prometheus keeps samples.")
    storage_gib: int = Field(default=50, ge=1, le=16384, description="Prometheus's encrypted volume.")


class LogsSpec(Model):
    retention_days: RetentionDays = Field(default=90, description="Workload log group retention.")


class TracesSpec(Model):
    exporter: Literal["xray", "otlp"] = Field(default="xray", description="Where the collector sends traces.")
    otlp_endpoint: str | None = Field(default=None, pattern=r"^https://[\w.-]+(:\d+)?(/[\w./-]*)?$")

    @model_validator(mode="after")
    def _endpoint_for_otlp(self) -> TracesSpec:
        if (self.exporter == "otlp") != (self.otlp_endpoint is not None):
            raise ValueError("exporter otlp, and only it, takes otlpEndpoint")
        return self


class DashboardSpec(Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    pools: list[PoolName] = Field(min_length=1, description="The GPU pools the dashboard shows, one row each.")


class SloSpec(Model):
    availability: float = Field(default=0.995, gt=0.9, lt=1, description="Share of gateway requests that must succeed (30 days).")
    p95_latency_seconds: float = Field(default=10, gt=0, description="The gateway's p95 latency objective.")


class ObservabilitySpec(Model):
    metrics: MetricsSpec = MetricsSpec()
    logs: LogsSpec = LogsSpec()
    traces: TracesSpec = TracesSpec()
    dashboards: list[DashboardSpec] = Field(default_factory=list, description="Dashboards of groups of pools, besides the shipped ones.")
    slo: SloSpec = SloSpec()


class RetentionMinimums(Model):
    """A policy profile's floor for retention (`minimumRetentionDays` in policies/profiles/<env>.yaml)."""

    metrics: int = Field(default=1, ge=1)
    logs: int = Field(default=1, ge=1)


class CostSpec(Model):
    """Assumptions of the cost estimate that a stack knows better than aiplane."""

    log_gib_per_group_per_month: float = Field(default=1.0, ge=0, description="Logs ingested per log group and month.")


class ClusterSpec(Model):
    name: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$", description="Default: aiplane-<env>.")
    version: KubernetesVersion = "1.33"
    endpoint_access: Literal["private", "public-and-private"] = Field(
        default="private", description="private: the API is reachable only from the VPC (and peered networks)."
    )
    public_access_cidrs: list[Ipv4Cidr] = Field(default_factory=list)
    log_retention_days: RetentionDays = 90
    admin_principal_arns: list[IamPrincipalArn] = Field(
        default_factory=list, description="IAM roles or users granted cluster admin through EKS access entries."
    )
    system_nodes: NodeGroupSpec
    addon_versions: dict[AddonName, Annotated[str, Field(pattern=r"^v[0-9][\w.-]*$")]] = Field(
        default_factory=dict, description="Overrides of the pinned core add-on builds."
    )

    @model_validator(mode="after")
    def _public_endpoint_is_restricted(self) -> ClusterSpec:
        if self.endpoint_access == "private" and self.public_access_cidrs:
            raise ValueError("publicAccessCidrs is set but endpointAccess is 'private'")
        if self.endpoint_access == "public-and-private" and not self.public_access_cidrs:
            raise ValueError("endpointAccess 'public-and-private' needs publicAccessCidrs (the networks allowed to reach the API)")
        return self

    @property
    def addons(self) -> dict[str, str]:
        return {**CORE_ADDONS[self.version], **self.addon_versions}


class PlatformSpec(Model):
    cost_center: str = Field(min_length=1, max_length=256, pattern=r"^[\w .:/=+@-]+$")
    network: NetworkSpec
    cluster: ClusterSpec
    compute: ComputeSpec = Field(default_factory=ComputeSpec, description="GPU node pools and the models they serve.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Buckets by purpose, their tiers, and fast tiers.")
    serving: ServingSpec = Field(default_factory=ServingSpec, description="The model gateway; every served model gets a model server.")
    cost: CostSpec = Field(default_factory=CostSpec, description="Assumptions of the monthly cost estimate.")
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec, description="Metrics, traces, logs, dashboards, SLOs.")
    vector_databases: list[VectorDatabaseSpec] = Field(
        default_factory=list, description="Vector databases; the engine is chosen per database (qdrant, opensearch-serverless, pgvector)."
    )
    tags: dict[TagKey, Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict, description="Extra tags on every taggable resource; aiplane:* keys are reserved."
    )

    @model_validator(mode="after")
    def _fast_tiers_on_known_pools(self) -> PlatformSpec:
        pools = [pool.name for pool in self.compute.pools]
        for key, fast_tier in (("expressOneZone", self.storage.express_one_zone), ("lustre", self.storage.lustre)):
            if fast_tier and fast_tier.pool not in pools:
                raise ValueError(f"storage.{key}.pool: {fast_tier.pool!r} is not a pool of this stack (pools: {', '.join(pools) or 'none'})")
        return self

    @model_validator(mode="after")
    def _gateway_routes_to_known_models(self) -> PlatformSpec:
        gateway = self.serving.gateway
        if gateway is None:
            return self
        served = [model.name for model in self.compute.models]
        providers = [provider.name for provider in gateway.providers]
        clash = sorted(set(served) & set(providers))
        if clash:
            raise ValueError(f"serving.gateway.providers: {', '.join(clash)} is also a served model; give providers distinct names")
        known = set(served) | set(providers)
        available = f"served: {', '.join(served) or 'none'}; providers: {', '.join(providers) or 'none'}"
        if not gateway.routes and not served:
            raise ValueError(f"serving.gateway.routes: no model is served, so every task class needs a route ({available})")
        references = [(f"routes.{task}", model) for task, model in gateway.routes.items()]
        references += [(f"fallbacks.{model}", model) for model in gateway.fallbacks]
        references += [(f"fallbacks.{model}", target) for model, targets in gateway.fallbacks.items() for target in targets]
        references += [(f"tiers.{tier}.degrade.model", spec.degrade.model) for tier, spec in gateway.tiers.items() if spec.degrade]
        for where, model in references:
            if model not in known:
                raise ValueError(f"serving.gateway.{where}: {model!r} is not a served or provider model ({available})")
        return self

    @property
    def gateway_routes(self) -> dict[str, str]:
        """Every task class's model: the stack's routes over the default (small tasks to the smallest
        served model, open-ended ones to the largest)."""
        gateway = self.serving.gateway
        by_size = sorted(self.compute.models, key=lambda model: model.parameters_billion)
        defaults = {}
        if by_size:
            defaults = {task: by_size[0].name for task in SMALL_MODEL_TASKS} | {task: by_size[-1].name for task in LARGE_MODEL_TASKS}
        routes = {**defaults, **(gateway.routes if gateway else {})}
        return {task: routes[task] for task in TASK_CLASSES if task in routes}

    @model_validator(mode="after")
    def _vector_database_names_unique(self) -> PlatformSpec:
        names = [database.name for database in self.vector_databases]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"vector database names must be unique, repeated: {', '.join(repeated)}")
        return self

    def pool_zone(self, pool_name: str, stack_zones: list[str]) -> str:
        """The zone a single-zone resource of this pool goes in: the pool's first zone."""
        pool = next(pool for pool in self.compute.pools if pool.name == pool_name)
        return (pool.availability_zones or stack_zones)[0]


class TenantSpec(Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
    blueprint: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    cost_center: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class StackConfig(BaseModel):
    """The `config:` block. Keys are namespaced (`aws:`, `aiplane:`), as the Pulumi CLI writes them."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=False)

    region: str = Field(alias="aws:region", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    profile: str | None = Field(default=None, alias="aws:profile")
    allowed_account_ids: list[Annotated[str, Field(pattern=r"^\d{12}$")]] | None = Field(
        default=None, alias="aws:allowedAccountIds"
    )
    platform: PlatformSpec = Field(alias="aiplane:platform")
    tenants: list[TenantSpec] = Field(default_factory=list, alias="aiplane:tenants")

    @model_validator(mode="after")
    def _tenant_names_unique(self) -> StackConfig:
        names = [tenant.name for tenant in self.tenants]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"tenant names must be unique, repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _pools_in_stack_zones(self) -> StackConfig:
        zones = self.platform.network.zones(self.region)
        for pool in self.platform.compute.pools:
            outside = sorted(set(pool.availability_zones or []) - set(zones))
            if outside:
                raise ValueError(f"pool {pool.name!r}: zones {', '.join(outside)} are not among the stack's zones ({', '.join(zones)})")
        return self


    @model_validator(mode="after")
    def _databases_in_private_subnets(self) -> StackConfig:
        zones = self.platform.network.zones(self.region)
        for index, database in enumerate(self.platform.vector_databases):
            if not isinstance(database, PgvectorSpec):
                continue
            where = f"aiplane:platform.vectorDatabases[{index}] (pgvector {database.name!r})"
            outside = sorted(set(database.availability_zones or []) - set(zones))
            if outside:
                raise ValueError(f"{where}: zones {', '.join(outside)} are not among the stack's zones ({', '.join(zones)})")
            chosen = database.availability_zones or zones
            if len(set(chosen)) < MIN_DATABASE_ZONES:
                raise ValueError(
                    f"{where}: Aurora needs private subnets in at least {MIN_DATABASE_ZONES} availability zones; "
                    f"the stack gives it private subnets in {', '.join(chosen)} only"
                )
        return self


class StackFile(BaseModel):
    """A whole `Pulumi.<env>.yaml`. The top-level keys other than `config` are the ones the Pulumi CLI writes."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="aiplane stack file")

    config: StackConfig
    encryptionsalt: str | None = None
    secretsprovider: str | None = None
    encryptedkey: str | None = None


class StackSpec(BaseModel):
    """A loaded stack: its environment name (the Pulumi stack name), its source file, and its config."""

    model_config = ConfigDict(frozen=True)

    environment: str
    source: str
    config: StackConfig
    tenants: tuple[Any, ...] = Field(default=(), description="aiplane.blueprint.Tenant: each tenant with its rendered plan")

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def platform(self) -> PlatformSpec:
        return self.config.platform


    @property
    def cluster_name(self) -> str:
        return self.platform.cluster.name or f"aiplane-{self.environment}"

    @property
    def zones(self) -> list[str]:
        return self.platform.network.zones(self.region)


def stack_path(stacks_dir: Path, environment: str) -> Path:
    return stacks_dir / f"Pulumi.{environment}.yaml"


def known_stacks(stacks_dir: Path) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in stacks_dir.glob("Pulumi.*.yaml"))


def display_path(path: Path) -> str:
    """Paths in messages are relative to the working directory when they can be, as a user typed them."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    source = display_path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{source}: cannot be read: {error}") from None


def read_yaml(path: Path) -> Any:
    """Parse YAML strictly (duplicate keys are errors), reporting problems as `file: line L, column C: ...`."""
    return parse_yaml(read_text(path), display_path(path))


def parse_yaml(text: str, source: str) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(error.problem or error.context or "").split())
        raise InputError(f"{source}: {where}invalid YAML: {problem}") from None
    except YAMLError as error:
        raise InputError(f"{source}: invalid YAML: {' '.join(str(error).split())}") from None


def load_stack(environment: str, stacks_dir: Path) -> StackSpec:
    """Load and validate `<stacks_dir>/Pulumi.<environment>.yaml`; raise InputError with one line per problem."""
    if not STACK_NAME.match(environment):
        raise InputError(f"--stack: {environment!r} is not a valid stack name (lowercase letters, digits and '-')")
    path = stack_path(stacks_dir, environment)
    source = display_path(path)
    if not path.is_file():
        known = ", ".join(known_stacks(stacks_dir)) or "none"
        raise InputError(f"{source}: no such stack file; unknown stack {environment!r} (known stacks: {known})")
    return parse_stack(read_text(path), environment, source, stacks_dir.parent / "blueprints")


def parse_stack(text: str, environment: str, source: str, blueprints_dir: Path) -> StackSpec:
    """Validate a stack file's text (what `load_stack` reads, or what `aiplane tenant add` would write)."""
    data = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise InputError(f"{source}: (top level): {type(data).__name__} found, expected a mapping with a 'config' key")
    try:
        stack_file = StackFile.model_validate(data)
    except ValidationError as error:
        lines = [line.replace(": config.", ": ", 1) for line in describe_validation_error(source, error)]
        raise InputError(lines) from None
    # Blueprints build on the spec's models, so they are imported here rather than at the top.
    from aiplane.tenancy import expand_tenants

    tenants = expand_tenants(stack_file.config, blueprints_dir, source)
    problems = observability_problems(stack_file.config, tenants, source, blueprints_dir.parent / "policies" / "profiles" / f"{environment}.yaml")
    if problems:
        raise InputError(problems)
    return StackSpec(environment=environment, source=source, config=stack_file.config, tenants=tuple(tenants))


def observability_problems(config: StackConfig, tenants: list[Any], source: str, profile_path: Path) -> list[str]:
    """Dashboards name pools that exist, and retention meets the floor of the stack's policy profile."""
    observability = config.platform.observability
    where = f"{source}: aiplane:platform.observability"
    pools = [pool.name for pool in config.platform.compute.pools] + [
        spec.name for tenant in tenants if (spec := tenant.pool_spec()) is not None
    ]
    problems = []
    for index, dashboard in enumerate(observability.dashboards):
        for pool in dashboard.pools:
            if pool not in pools:
                problems.append(f"{where}.dashboards[{index}].pools: {pool!r} is not a pool of this stack (pools: {', '.join(pools) or 'none'})")
    if profile_path.is_file():
        floor = RetentionMinimums.model_validate((read_yaml(profile_path) or {}).get("minimumRetentionDays") or {})
        for field, days, minimum in (
            ("metrics", observability.metrics.retention_days, floor.metrics),
            ("logs", observability.logs.retention_days, floor.logs),
        ):
            if days < minimum:
                problems.append(f"{where}.{field}.retentionDays: {days} is below the {minimum} days {display_path(profile_path)} requires")
    return problems
