"""Blueprints and the tenants they render: a blueprint's typed parameters, and the plan a tenant gets from it
(quota, gateway key, vector database, dedicated pool). `aiplane.tenancy` loads and renders them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from aiplane.planning.node_profiles import CapacityType, PoolMode, ProfileName
from aiplane.planning.queues import EVALUATION_QUEUE, PriorityName
from aiplane.spec.common import MAX_USD, InstanceType, Model
from aiplane.spec.compute import GpuPoolSpec, NodeCountSpec
from aiplane.spec.serving import KeyLimits
from aiplane.spec.storage import VectorDatabaseSpec

Isolation = Literal["namespace", "dedicated-pool", "dedicated-cluster"]
PARAMETER_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
TENANT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
# Namespaces the platform itself uses: a tenant named after one would share it.
RESERVED_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "model-gateway", "model-serving", "monitoring", "keda", "gpu-operator",
     "kueue-system", "jobset-system", "nvidia-dra-driver-gpu", EVALUATION_QUEUE}
)


class BlueprintParameter(Model):
    type: Literal["string", "integer", "number", "boolean"]
    description: str = Field(min_length=1)
    default: Any = Field(default=None, description="Without a default the parameter is required.")
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> BlueprintParameter:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is above maximum {self.maximum}")
        if self.default is not None and self.problem(self.default):
            raise ValueError(f"default {self.default!r} {self.problem(self.default)}")
        return self

    def allowed(self, quote: str = "") -> str:
        """The values allowed, as people read them: `a, b`, `≥ 0`, `≥ 1 and ≤ 64`, or "" for any."""
        if self.choices:
            return ", ".join(f"{quote}{choice}{quote}" for choice in self.choices)
        bounds = [f"{sign} {bound:g}" for sign, bound in (("≥", self.minimum), ("≤", self.maximum)) if bound is not None]
        return " and ".join(bounds)

    def problem(self, value: Any) -> str | None:
        """Why `value` does not fit this parameter, or None."""
        expected = PARAMETER_TYPES[self.type]
        if isinstance(value, bool) and self.type != "boolean" or not isinstance(value, expected):
            return f"is not {'an' if self.type == 'integer' else 'a'} {self.type}"
        if self.minimum is not None and value < self.minimum:
            return f"is below the blueprint's minimum {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"is above the blueprint's maximum {self.maximum:g}"
        if self.choices is not None and value not in self.choices:
            return f"is not one of {', '.join(map(str, self.choices))}"
        return None


class BlueprintSpec(Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)
    best_for: str = Field(min_length=1, description="The workloads this pattern suits.")
    trade_offs: str = Field(min_length=1, description="What a tenant gives up by choosing it.")
    parameters: dict[str, BlueprintParameter] = Field(default_factory=dict)
    tenant: dict[str, Any] = Field(description="The tenant's components and sizes; string values may use jinja2 on the parameters.")


# -- what a blueprint renders into -----------------------------------------------------------------------


class TenantQuota(Model):
    """The namespace's ResourceQuota: what the tenant's pods may request in all."""

    cpu: int = Field(ge=1, le=100000, description="CPU cores.")
    memory_gib: int = Field(ge=1, le=1000000)
    gpus: int = Field(ge=0, le=4096, description="requests.nvidia.com/gpu")
    storage_gib: int = Field(default=0, ge=0, le=1000000, description="Persistent volume claims, in all.")
    pods: int = Field(default=100, ge=1, le=10000)


class TenantQueue(Model):
    """The tenant's Kueue queue: its nominal share is `quota.gpus`; these say what it may borrow and lend, and
    the highest priority its workloads may run at."""

    borrowing_limit: int = Field(
        default=0, ge=0, le=4096, description="GPUs above its nominal share it may borrow from the cohort while other queues leave theirs idle."
    )
    lending_limit: int | None = Field(
        default=None, ge=0, le=4096, description="GPUs of its nominal share others may borrow while it leaves them idle. Default: all of them."
    )
    priority: PriorityName = Field(default="batch", description="The highest priority class its workloads may use.")


ExampleWork = Literal["batch-job", "training-jobset"]


class TenantGateway(KeyLimits):
    """The tenant's virtual key on the model gateway."""


class TenantPool(Model):
    """A GPU node pool of the tenant's own (isolation dedicated-pool), held by the tenant's taint."""

    profile: ProfileName
    instance_types: list[InstanceType] = Field(min_length=1)
    nodes: NodeCountSpec
    mode: PoolMode = "managed"
    capacity_types: list[CapacityType] | None = None


class TenantPlan(Model):
    monthly_budget_usd: float | None = Field(default=None, ge=0, le=MAX_USD, description="All the tenant may cost per month; checked by AIP_FIN_2.")
    isolation: Isolation
    encryption: Literal["shared-key", "own-key"] = "shared-key"
    storage: Literal["prefix", "bucket"] = "prefix"
    quota: TenantQuota
    gateway: TenantGateway | None = None
    vector_database: VectorDatabaseSpec | None = None
    pool: TenantPool | None = None
    queue: TenantQueue = Field(default_factory=TenantQueue)
    example_work: ExampleWork | None = Field(
        default=None, description="Work the blueprint submits through the tenant's queue to show the path: a GPU batch Job or a training JobSet."
    )

    @model_validator(mode="after")
    def _coherent(self) -> TenantPlan:
        if self.encryption == "own-key" and self.storage != "bucket":
            raise ValueError("encryption own-key needs storage bucket: a shared bucket accepts only its own key")
        if (self.isolation == "dedicated-pool") != (self.pool is not None):
            raise ValueError("isolation dedicated-pool, and only it, takes a pool")
        return self


@dataclass(frozen=True)
class Tenant:
    """A tenant as the platform builds it: its name, blueprint and rendered plan."""

    name: str
    blueprint: str
    plan: TenantPlan
    cost_center: str | None = None

    @property
    def namespace(self) -> str:
        return self.name

    def pool_spec(self) -> GpuPoolSpec | None:
        """The dedicated pool as a GPU pool of the stack (validated like any pool)."""
        if self.plan.pool is None:
            return None
        return GpuPoolSpec.model_validate(
            {"name": pool_name(self.name), **self.plan.pool.model_dump(by_alias=True, exclude_none=True)}
        )


def pool_name(tenant: str) -> str:
    return f"t-{tenant}"
