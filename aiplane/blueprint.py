"""Blueprints: tenant patterns with typed parameters, rendered with jinja2 into a tenant's plan.

A blueprint is a YAML file in `blueprints/` (schema: `schemas/blueprint.schema.json`). Its `tenant` block
describes what the pattern deploys for a tenant, and its string values may use jinja2 on the parameters,
on `tenant` (the tenant's name) and on `instances` (the instance catalog: `instances[type].gpus`, `.vcpus`,
`.memory_gib`). A value that is one expression keeps its type (`"{{ gpus }}"` is a number). A stack names a blueprint and sets parameters per tenant; loading the
stack validates the parameters against the blueprint's schema, renders the block, and validates the result
as a `TenantPlan`, so a bad parameter fails `aiplane plan` and `pulumi up` alike, before anything exists.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2.nativetypes import NativeEnvironment
from pydantic import Field, ValidationError, model_validator

from aiplane.catalog import load_catalog
from aiplane.errors import InputError, describe_validation_error
from aiplane.profiles import CapacityType, PoolMode, ProfileName
from aiplane.spec import (
    GpuPoolSpec,
    InstanceType,
    Model,
    NodeCountSpec,
    VectorDatabaseSpec,
    display_path,
    read_yaml,
)

Isolation = Literal["namespace", "dedicated-pool", "dedicated-cluster"]
PARAMETER_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
TENANT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
# Namespaces the platform itself uses: a tenant named after one would share it.
RESERVED_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "model-gateway", "model-serving", "monitoring", "keda", "gpu-operator"}
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


class TenantGateway(Model):
    """The tenant's virtual key on the model gateway."""

    tier: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    budget_usd: float = Field(ge=0)
    budget_duration: Literal["1d", "7d", "30d"] = "30d"
    rpm: int = Field(gt=0)
    tpm: int = Field(gt=0)


class TenantPool(Model):
    """A GPU node pool of the tenant's own (isolation dedicated-pool), held by the tenant's taint."""

    profile: ProfileName
    instance_types: list[InstanceType] = Field(min_length=1)
    nodes: NodeCountSpec
    mode: PoolMode = "managed"
    capacity_types: list[CapacityType] | None = None


class TenantPlan(Model):
    monthly_budget_usd: float | None = Field(default=None, ge=0, description="All the tenant may cost per month; checked by AIP_FIN_2.")
    isolation: Isolation
    encryption: Literal["shared-key", "own-key"] = "shared-key"
    storage: Literal["prefix", "bucket"] = "prefix"
    quota: TenantQuota
    gateway: TenantGateway | None = None
    vector_database: VectorDatabaseSpec | None = None
    pool: TenantPool | None = None

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


# -- loading and rendering -----------------------------------------------------------------------------


@functools.cache
def load_blueprints(directory: Path) -> dict[str, BlueprintSpec]:
    """Every blueprint in `directory`, validated; a file's name must be its blueprint's name."""
    blueprints = {}
    for path in sorted(directory.glob("*.yaml")):
        data = read_yaml(path)
        try:
            blueprint = BlueprintSpec.model_validate(data)
        except ValidationError as error:
            raise InputError(describe_validation_error(display_path(path), error)) from None
        if blueprint.name != path.stem:
            raise InputError(f"{display_path(path)}: name: {blueprint.name!r} must match the file name ({path.stem!r})")
        blueprints[blueprint.name] = blueprint
    return blueprints


def blueprint_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.yaml"


def resolve_parameters(blueprint: BlueprintSpec, given: dict[str, Any], where: str, separator: str = ".") -> dict[str, Any]:
    """The blueprint's defaults with `given` over them; one line per problem, naming `where` (a stack file's
    `...parameters` with separator ".", or `--set` with separator " ")."""
    problems = []
    for name in given:
        if name not in blueprint.parameters:
            known = ", ".join(blueprint.parameters) or "none"
            problems.append(f"{where}{separator}{name}: is not a parameter of blueprint {blueprint.name!r} (parameters: {known})")
    values = {}
    for name, parameter in blueprint.parameters.items():
        if name in given:
            value = given[name]
            problem = parameter.problem(value)
            if problem:
                problems.append(f"{where}{separator}{name}: {value!r} {problem}")
                continue
            values[name] = value
        elif parameter.default is not None:
            values[name] = parameter.default
        else:
            problems.append(f"{where}{separator}{name}: is required by blueprint {blueprint.name!r} ({parameter.description})")
    if problems:
        raise InputError(problems)
    return values


@functools.cache
def _environment() -> NativeEnvironment:
    return NativeEnvironment(undefined=jinja2.StrictUndefined)


def _render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return _environment().from_string(value).render(context)
    if isinstance(value, dict):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context) for item in value]
    return value


def render_tenant(blueprint: BlueprintSpec, tenant: str, parameters: dict[str, Any], source: str) -> TenantPlan:
    """The blueprint's `tenant` block, rendered with the parameters and the tenant's name, as a plan."""
    instances = {
        name: {"gpus": instance.gpus, "vcpus": instance.vcpus, "memory_gib": instance.memory_gib}
        for name, instance in load_catalog().instances.items()
    }
    try:
        rendered = _render(blueprint.tenant, {**parameters, "tenant": tenant, "instances": instances})
    except jinja2.TemplateError as error:
        raise InputError(f"{source}: tenant: cannot be rendered for {tenant!r}: {error}") from None
    try:
        return TenantPlan.model_validate(rendered)
    except ValidationError as error:
        raise InputError(describe_validation_error(f"{source} (tenant {tenant!r})", error, ("tenant",))) from None


def expand_tenant(
    blueprints_dir: Path, name: str, blueprint_name: str, parameters: dict[str, Any], where: str, cost_center: str | None = None
) -> Tenant:
    """A stack's tenant entry as a Tenant; `where` names the entry in messages (`<file>: aiplane:tenants[0]`)."""
    if name in RESERVED_NAMESPACES:
        raise InputError(f"{where}.name: {name!r} is a namespace the platform uses; choose another tenant name")
    blueprints = load_blueprints(blueprints_dir)
    if blueprint_name not in blueprints:
        raise InputError(f"{where}.blueprint: {blueprint_name!r} is not a blueprint (blueprints: {', '.join(blueprints) or 'none'})")
    blueprint = blueprints[blueprint_name]
    values = resolve_parameters(blueprint, parameters, f"{where}.parameters")
    plan = render_tenant(blueprint, name, values, display_path(blueprint_path(blueprints_dir, blueprint_name)))
    return Tenant(name=name, blueprint=blueprint_name, cost_center=cost_center, plan=plan)
