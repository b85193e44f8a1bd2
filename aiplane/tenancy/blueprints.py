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
from pathlib import Path
from typing import Any

import jinja2
from jinja2.nativetypes import NativeEnvironment
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import ValidationError

from aiplane.errors import InputError, describe_validation_error
from aiplane.files import display_path, read_yaml
from aiplane.planning.instances import load_instance_catalog
from aiplane.spec.tenant import RESERVED_NAMESPACES, BlueprintSpec, Tenant, TenantPlan

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


class _SandboxedNativeEnvironment(NativeEnvironment, ImmutableSandboxedEnvironment):
    """Native types (a `{{ gpus }}` stays an int), inside jinja2's immutable sandbox: blueprints are written by
    other teams, and an unsandboxed template can reach Python (`cycler.__init__.__globals__.os`) and run code."""


@functools.cache
def _environment() -> NativeEnvironment:
    return _SandboxedNativeEnvironment(undefined=jinja2.StrictUndefined)


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
        for name, instance in load_instance_catalog().instances.items()
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
