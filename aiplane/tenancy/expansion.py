"""A stack's tenants: each entry of `aiplane:tenants` expanded through its blueprint, then checked against
the platform it joins (its gateway tier exists, its pool is a valid pool, its GPU quota can be filled, its
names collide with nothing). Every problem is one line naming the stack file and the tenant entry.
"""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from aiplane.errors import InputError, describe_validation_error
from aiplane.planning.compute import ComputePlan
from aiplane.planning.instances import load_instance_catalog
from aiplane.spec.stack import StackConfig
from aiplane.spec.tenant import (
    RESERVED_NAMESPACES,
    TENANT_NAME_PATTERN,
    BlueprintSpec,
    Tenant,
    TenantPlan,
    pool_name,
)
from aiplane.tenancy.blueprints import expand_tenant, render_tenant, resolve_parameters


def expand_tenants(config: StackConfig, compute_plan: ComputePlan, blueprints_dir: Path, source: str) -> list[Tenant]:
    tenants, problems = [], []
    for index, entry in enumerate(config.tenants):
        where = f"{source}: aiplane:tenants[{index}]"
        try:
            tenant = expand_tenant(blueprints_dir, entry.name, entry.blueprint, entry.parameters, where, entry.cost_center)
            problems += fits_platform(tenant, config, compute_plan, where, others=[t.name for t in config.tenants if t.name != entry.name])
            tenants.append(tenant)
        except InputError as error:
            problems += error.lines
    if problems:
        raise InputError(problems)
    return tenants


def fits_platform(tenant: Tenant, config: StackConfig, compute_plan: ComputePlan, where: str, others: list[str]) -> list[str]:
    """What keeps a rendered tenant from joining this stack's platform."""
    platform = config.platform
    plan = tenant.plan
    problems = []
    gateway = platform.serving.gateway
    if plan.gateway is not None:
        if gateway is None:
            problems.append(f"{where}: blueprint {tenant.blueprint!r} gives the tenant a gateway key, but the stack has no serving.gateway")
        elif plan.gateway.tier not in gateway.tiers:
            problems.append(f"{where}: gateway tier {plan.gateway.tier!r} is not one of the stack's tiers ({', '.join(gateway.tiers)})")
        elif any(key.tenant == tenant.name for key in gateway.keys):
            problems.append(f"{where}: serving.gateway.keys already has a key for {tenant.name!r}; the blueprint gives it one")
    if plan.isolation == "dedicated-cluster" and others:
        problems.append(f"{where}: isolation dedicated-cluster makes this stack the tenant's own; it shares it with {', '.join(others)}")
    if plan.vector_database is not None:
        names = [database.name for database in platform.vector_databases]
        if plan.vector_database.name in names:
            problems.append(f"{where}: vector database {plan.vector_database.name!r} is also one of the platform's")
    # Each vector database gets the namespace `vector-<name>`; a tenant of that name would share it.
    database_namespaces = {f"vector-{database.name}" for database in platform.vector_databases}
    if tenant.name in database_namespaces:
        problems.append(f"{where}: {tenant.name!r} is the namespace of the platform's vector database; choose another tenant name")
    pool_names = [pool.name for pool in platform.compute.pools]
    if pool_name(tenant.name) in pool_names:
        problems.append(f"{where}: pool {pool_name(tenant.name)!r} is the stack's; it is reserved for the tenant's dedicated pool")
    try:
        tenant.pool_spec()
    except ValidationError as error:
        problems += [line.replace(": (top level): ", ": ") for line in describe_validation_error(f"{where}: pool", error)]
    if plan.isolation == "namespace" and plan.quota.gpus:
        shared = shared_gpu_capacity(compute_plan)
        if plan.quota.gpus > shared:
            problems.append(
                f"{where}: a quota of {plan.quota.gpus} GPUs can never be filled: the shared pools hold {shared} GPUs at their maximum"
            )
    return problems


def shared_gpu_capacity(compute_plan: ComputePlan) -> int:
    """GPUs of the stack's own pools at their maximum sizes: what namespace tenants share."""
    catalog = load_instance_catalog()
    return sum(pool.max_nodes * catalog.instances[pool.instance_types[0]].gpus for pool in compute_plan.pools)


# -- names and defaults of tenants ------------------------------------------------------------------------


def check_tenant_name(name: str) -> None:
    if not re.fullmatch(TENANT_NAME_PATTERN, name):
        raise InputError(
            f"NAME: {name!r} is not a valid tenant name: it becomes the tenant's namespace, so lowercase letters, digits "
            "and '-', 3 to 32 characters, starting with a letter and ending with a letter or digit"
        )
    if name in RESERVED_NAMESPACES:
        raise InputError(f"NAME: {name!r} is a namespace the platform uses; choose another tenant name")


def default_plan(blueprint: BlueprintSpec) -> TenantPlan:
    """What a blueprint deploys at its defaults (for a tenant named `example`)."""
    required = [name for name, parameter in blueprint.parameters.items() if parameter.default is None]
    if required:
        raise InputError(f"blueprint {blueprint.name!r}: parameters {', '.join(required)} have no default")
    values = resolve_parameters(blueprint, {}, blueprint.name)
    return render_tenant(blueprint, "example", values, blueprint.name)
