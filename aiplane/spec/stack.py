"""A whole stack: the platform, the `config:` block of `stacks/Pulumi.<env>.yaml`, the file itself, and the
loaded stack (`StackSpec`: config, tenants expanded, compute planned) that `aiplane.loader` returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from aiplane.files import FieldPath, line_of
from aiplane.planning.compute import ComputePlan
from aiplane.planning.queues import QueuePlan
from aiplane.planning.routing import LARGE_MODEL_TASKS, SMALL_MODEL_TASKS, TASK_CLASSES
from aiplane.spec.cluster import ClusterSpec
from aiplane.spec.common import MAX_GIB, Model, TagKey, collapsed, valid_glob
from aiplane.spec.compute import ComputeSpec
from aiplane.spec.network import NetworkSpec
from aiplane.spec.observability import ObservabilitySpec
from aiplane.spec.scheduling import DRA_MIN_KUBERNETES, SchedulingSpec
from aiplane.spec.serving import ServingSpec
from aiplane.spec.storage import PgvectorSpec, StorageSpec, VectorDatabaseSpec
from aiplane.spec.tenant import Tenant

# An Aurora DB subnet group must cover at least two availability zones.
MIN_DATABASE_ZONES = 2


class CostSpec(Model):
    """Assumptions of the cost estimate that a stack knows better than aiplane."""

    log_gib_per_group_per_month: float = Field(default=1.0, ge=0, le=MAX_GIB, description="Logs ingested per log group and month.")


class PlatformSpec(Model):
    cost_center: str = Field(min_length=1, max_length=256, pattern=r"^[\w .:/=+@-]+$")
    network: NetworkSpec
    cluster: ClusterSpec
    compute: ComputeSpec = Field(default_factory=ComputeSpec, description="GPU node pools and the models they serve.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Buckets by purpose, their tiers, and fast tiers.")
    serving: ServingSpec = Field(default_factory=ServingSpec, description="The model gateway; every served model gets a model server.")
    cost: CostSpec = Field(default_factory=CostSpec, description="Assumptions of the monthly cost estimate.")
    scheduling: SchedulingSpec = Field(
        default_factory=SchedulingSpec, description="GPU allocation mode and the platform's evaluation queue; Kueue and priorities always run."
    )
    observability: ObservabilitySpec = Field(default_factory=ObservabilitySpec, description="Metrics, traces, logs, dashboards, SLOs.")
    vector_databases: list[VectorDatabaseSpec] = Field(
        default_factory=list, description="Vector databases; the engine is chosen per database (qdrant, opensearch-serverless, pgvector)."
    )
    tags: dict[TagKey, Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict, description="Extra tags on every taggable resource; aiplane:* keys are reserved."
    )
    protect_stateful_resources: bool = Field(
        default=False,
        description="Create clusters, node groups, buckets, keys and databases with Pulumi's `protect` (and buckets, keys and "
        "databases with `retainOnDelete`): `pulumi up` refuses to replace or delete them. prod sets it.",
    )

    @model_validator(mode="after")
    def _fast_tiers_on_known_pools(self) -> PlatformSpec:
        pools = [pool.name for pool in self.compute.pools]
        for key, fast_tier in (("expressOneZone", self.storage.express_one_zone), ("lustre", self.storage.lustre)):
            if fast_tier and fast_tier.pool not in pools:
                raise ValueError(f"storage.{key}.pool: {fast_tier.pool!r} is not a pool of this stack (pools: {', '.join(pools) or 'none'})")
        return self

    @model_validator(mode="after")
    def _dra_on_a_version_that_serves_it(self) -> PlatformSpec:
        version = self.cluster.version
        if self.scheduling.gpu_allocation == "dra" and tuple(map(int, version.split("."))) < tuple(map(int, DRA_MIN_KUBERNETES.split("."))):
            raise ValueError(
                f"scheduling.gpuAllocation: 'dra' needs Kubernetes {DRA_MIN_KUBERNETES} or later (resource.k8s.io/v1); "
                f"cluster.version is {version!r}: set cluster.version to {DRA_MIN_KUBERNETES!r} or use 'device-plugin'"
            )
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
    queue_pool: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]{0,30}$",
        description="The shared GPU pool the tenant's queue draws its nominal share from. Default: the one with the most GPUs left after serving and the queues before it.",
    )


class ReplacementAllowance(Model):
    """A replacement or deletion a change may make of a stateful resource (AIP_CHG_1), said in the stack file."""

    resource: Annotated[str, AfterValidator(valid_glob)] = Field(
        min_length=1, description="Glob on the resource's Terraform address, e.g. aws_s3_bucket.storage-datasets"
    )
    reason: Annotated[str, BeforeValidator(collapsed)] = Field(min_length=20, description="Why losing its state is acceptable.")
    expires: date = Field(description="After this day the allowance allows nothing: remove it once the change has landed.")


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
    allow_replacements: list[ReplacementAllowance] = Field(default_factory=list, alias="aiplane:allowReplacements")

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


@dataclass(frozen=True)
class StackSpec:
    """A loaded stack: its environment name (the Pulumi stack name), its source file, its config, its tenants
    with the plans their blueprints rendered, and its pools' sizes from the capacity planner."""

    environment: str
    source: str
    config: StackConfig
    tenants: tuple[Tenant, ...] = ()
    compute_plan: ComputePlan = field(default_factory=ComputePlan)
    queue_plan: QueuePlan = field(default_factory=QueuePlan)
    # The stack file's line of every key and list item, by its path from the document's root.
    field_lines: dict[FieldPath, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def written_keys(self) -> frozenset[str]:
        """The `config:` keys the stack file writes (`aws:region`, `aiplane:platform`, ...)."""
        return frozenset(path[1] for path in self.field_lines if len(path) == 2 and path[0] == "config")

    def line_of(self, section: FieldPath) -> tuple[FieldPath, int]:
        """Where the stack file writes a section of its `config` (a path such as `("aiplane:platform",
        "network")`): the section, or the nearest enclosing one the file writes where it is left to
        defaults, and that line."""
        written, line = line_of(self.field_lines, ("config", *section))
        return written[1:], line

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
