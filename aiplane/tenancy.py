"""A stack's tenants: each entry of `aiplane:tenants` expanded through its blueprint, then checked against
the platform it joins (its gateway tier exists, its pool is a valid pool, its GPU quota can be filled, its
names collide with nothing). Every problem is one line naming the stack file and the tenant entry.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from aiplane.blueprint import (
    RESERVED_NAMESPACES,
    TENANT_NAME_PATTERN,
    BlueprintSpec,
    Tenant,
    TenantPlan,
    expand_tenant,
    load_blueprints,
    pool_name,
    render_tenant,
    resolve_parameters,
)
from aiplane.catalog import load_catalog
from aiplane.engine import synthesize_stack
from aiplane.errors import InputError, describe_validation_error
from aiplane.graph import GraphResource, ResourceGraph
from aiplane.policy.gate import run_gate
from aiplane.spec import StackConfig, load_stack, parse_stack, read_text, stack_path
from aiplane.stackfile import add_tenant, remove_tenant
from aiplane.workspace import copy_project


def expand_tenants(config: StackConfig, blueprints_dir: Path, source: str) -> list[Tenant]:
    tenants, problems = [], []
    for index, entry in enumerate(config.tenants):
        where = f"{source}: aiplane:tenants[{index}]"
        try:
            tenant = expand_tenant(blueprints_dir, entry.name, entry.blueprint, entry.parameters, where, entry.cost_center)
            problems += fits_platform(tenant, config, where, others=[t.name for t in config.tenants if t.name != entry.name])
            tenants.append(tenant)
        except InputError as error:
            problems += error.lines
    if problems:
        raise InputError(problems)
    return tenants


def fits_platform(tenant: Tenant, config: StackConfig, where: str, others: list[str]) -> list[str]:
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
    pool_names = [pool.name for pool in platform.compute.pools]
    if pool_name(tenant.name) in pool_names:
        problems.append(f"{where}: pool {pool_name(tenant.name)!r} is the stack's; it is reserved for the tenant's dedicated pool")
    try:
        tenant.pool_spec()
    except ValidationError as error:
        problems += [line.replace(": (top level): ", ": ") for line in describe_validation_error(f"{where}: pool", error)]
    if plan.isolation == "namespace" and plan.quota.gpus:
        shared = shared_gpu_capacity(config)
        if plan.quota.gpus > shared:
            problems.append(
                f"{where}: a quota of {plan.quota.gpus} GPUs can never be filled: the shared pools hold {shared} GPUs at their maximum"
            )
    return problems


def shared_gpu_capacity(config: StackConfig) -> int:
    """GPUs of the stack's own pools at their maximum sizes: what namespace tenants share."""
    catalog = load_catalog()
    plan = config.platform.compute.plan
    return sum(pool.max_nodes * catalog.instances[pool.instance_types[0]].gpus for pool in plan.pools)


# -- onboarding: what `aiplane tenant add` and `remove` change ------------------------------------------


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


@dataclass(frozen=True)
class TenantChange:
    action: str  # "add" or "remove"
    environment: str
    path: Path
    source: str
    text: str  # the stack file as it will be written
    added: dict[str, int]  # component -> resources it gains
    changed: dict[str, int]
    removed: dict[str, int]
    findings: list | None  # the tenant's policy findings (add only)


def propose_tenant_change(project_dir: Path, environment: str, add: dict | None = None, remove: str | None = None) -> TenantChange:
    """Validate the edited stack file, synthesize it beside the current one, and (for an addition) run the
    policy gate on it, all in a scratch copy of the project: nothing is written here."""
    stacks_dir = project_dir / "stacks"
    before_spec = load_stack(environment, stacks_dir)
    path = stack_path(stacks_dir, environment)
    text = read_text(path)
    blueprints_dir = project_dir / "blueprints"
    if add is not None:
        blueprints = load_blueprints(blueprints_dir)
        if add["blueprint"] not in blueprints:
            raise InputError(f"--blueprint: {add['blueprint']!r} is not a blueprint (blueprints: {', '.join(blueprints) or 'none'})")
        resolve_parameters(blueprints[add["blueprint"]], add["parameters"], "--set", separator=" ")
        new_text = add_tenant(text, before_spec.source, add)
    else:
        new_text = remove_tenant(text, before_spec.source, remove)
    parse_stack(new_text, environment, before_spec.source, blueprints_dir)
    _, before = synthesize_stack(project_dir, environment)
    with tempfile.TemporaryDirectory(prefix="aiplane-tenant-") as scratch:
        scratch_dir = copy_project(project_dir, Path(scratch))
        stack_path(scratch_dir / "stacks", environment).write_text(new_text, encoding="utf-8")
        findings = None
        if add is not None:
            report = run_gate(scratch_dir, [environment])
            findings = [finding for finding in report.findings if finding.tenant == add["name"]]
            after = ResourceGraph.from_json((scratch_dir / "build" / environment / "graph.json").read_text(encoding="utf-8"))
        else:
            _, after = synthesize_stack(scratch_dir, environment)
    added, changed, removed = graph_diff(before, after)
    return TenantChange(
        action="add" if add is not None else "remove", environment=environment, path=path, source=before_spec.source,
        text=new_text, added=added, changed=changed, removed=removed, findings=findings,
    )


def graph_diff(before: ResourceGraph, after: ResourceGraph) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Custom resources added, changed (different inputs) and removed, counted per owning component."""

    def by_urn(graph: ResourceGraph) -> dict[str, GraphResource]:
        return {resource.urn: resource for resource in graph.custom_resources}

    old, new = by_urn(before), by_urn(after)

    def component(graph: ResourceGraph, resource: GraphResource) -> str:
        owner = graph.owning_component(resource)
        return f"{owner.name} ({owner.type})" if owner else "stack"

    added: dict[str, int] = {}
    changed: dict[str, int] = {}
    removed: dict[str, int] = {}
    for urn, resource in new.items():
        if urn not in old:
            key = component(after, resource)
            added[key] = added.get(key, 0) + 1
        elif old[urn].inputs != resource.inputs:
            key = component(after, resource)
            changed[key] = changed.get(key, 0) + 1
    for urn, resource in old.items():
        if urn not in new:
            key = component(before, resource)
            removed[key] = removed.get(key, 0) + 1
    return added, changed, removed
