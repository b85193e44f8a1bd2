"""The one loader of stack files: `stacks/Pulumi.<env>.yaml` in, a `StackSpec` out.

The stack file is the one the Pulumi CLI reads (`stackConfigDir: stacks`). `aiplane plan` and `pulumi up`
both load it through `load_stack`, so a typo fails the same way in both, before any resource exists. Keys
are camelCase, like Pulumi's own config; unknown keys are errors. Loading validates the file against the
models of `aiplane.spec`, plans the GPU pools' sizes, expands the tenants through their blueprints, and
checks the observability settings against the stack's policy profile.

The offline engine validates a stack before it runs the program; it hands the program that spec
(`preloaded`) so a synthesis parses the stack file once, and a stack held only in memory (the edit
`aiplane tenant add` proposes) synthesizes without being written anywhere.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from aiplane.errors import InputError, describe_validation_error, format_path
from aiplane.files import display_path, parse_located_yaml, read_text, read_yaml
from aiplane.planning.capacity import CapacityError
from aiplane.planning.compute import ColdStartBudgetError, ComputePlan, plan_compute
from aiplane.spec.observability import RetentionMinimums
from aiplane.spec.stack import StackConfig, StackFile, StackSpec
from aiplane.spec.tenant import Tenant
from aiplane.tenancy.expansion import expand_tenants
from aiplane.tenancy.queues import planned_queues

STACKS_FOLDER = "stacks"  # Pulumi.yaml's stackConfigDir
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Specs the engine has validated, by (stack folder, environment): what `load_stack` returns for them.
_preloaded: dict[tuple[Path, str], StackSpec] = {}


def stack_path(stacks_dir: Path, environment: str) -> Path:
    return stacks_dir / f"Pulumi.{environment}.yaml"


def known_stacks(stacks_dir: Path) -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in stacks_dir.glob("Pulumi.*.yaml"))


@contextmanager
def preloaded(spec: StackSpec, stacks_dir: Path) -> Iterator[None]:
    """While open, `load_stack(spec.environment, stacks_dir)` returns `spec` instead of reading the file."""
    key = (stacks_dir.resolve(), spec.environment)
    _preloaded[key] = spec
    try:
        yield
    finally:
        _preloaded.pop(key, None)


@dataclass(frozen=True)
class StackText:
    """A stack file as read: where it is, how messages name it, and its text."""

    environment: str
    path: Path
    source: str
    text: str


def read_stack(environment: str, stacks_dir: Path) -> StackText:
    """Read `<stacks_dir>/Pulumi.<environment>.yaml`, refusing a bad stack name or a missing file in one line."""
    check_stack_name(environment)
    path = stack_path(stacks_dir, environment)
    source = display_path(path)
    if not path.is_file():
        known = ", ".join(known_stacks(stacks_dir)) or "none"
        raise InputError(f"{source}: no such stack file; unknown stack {environment!r} (known stacks: {known})")
    return StackText(environment, path, source, read_text(path))


def check_stack_name(environment: str) -> None:
    if not STACK_NAME.match(environment):
        raise InputError(f"--stack: {environment!r} is not a valid stack name (lowercase letters, digits and '-')")


def load_stack(environment: str, stacks_dir: Path) -> StackSpec:
    """Load and validate `<stacks_dir>/Pulumi.<environment>.yaml`; raise InputError with one line per problem.
    (Only validated specs are preloaded, so a bad name is refused by `read_stack`.)"""
    held = _preloaded.get((stacks_dir.resolve(), environment))
    if held is not None:
        return held
    stack = read_stack(environment, stacks_dir)
    return parse_stack(stack.text, environment, stack.source, stacks_dir.parent / "blueprints")


def parse_stack(text: str, environment: str, source: str, blueprints_dir: Path) -> StackSpec:
    """Validate a stack file's text (what `load_stack` reads, or what `aiplane tenant add` would write)."""
    data, field_lines = parse_located_yaml(text, source)
    if not isinstance(data, dict):
        raise InputError(f"{source}: (top level): {type(data).__name__} found, expected a mapping with a 'config' key")
    problems = engine_only_values(data, source)
    if problems:
        raise InputError(problems)
    try:
        stack_file = StackFile.model_validate(data)
    except ValidationError as error:
        lines = [line.replace(": config.", ": ", 1) for line in describe_validation_error(source, error)]
        raise InputError(lines) from None
    compute_plan = planned_compute(stack_file.config, source)
    tenants = expand_tenants(stack_file.config, compute_plan, blueprints_dir, source)
    problems = observability_problems(stack_file.config, tenants, source, blueprints_dir.parent / "policies" / "profiles" / f"{environment}.yaml")
    if problems:
        raise InputError(problems)
    queue_plan = planned_queues(stack_file.config, compute_plan, tenants, source)
    return StackSpec(
        environment=environment, source=source, config=stack_file.config, tenants=tuple(tenants), compute_plan=compute_plan,
        queue_plan=queue_plan, field_lines=field_lines,
    )


def engine_only_values(data: dict, source: str) -> list[str]:
    """What only the Pulumi engine can read: an ESC `environment:` import and `secure:` ciphertext. aiplane reads
    the stack file itself, offline and in `pulumi up` alike, so it would see neither; say so, instead of a
    schema error about a key or a mapping the user did not write by hand."""
    problems = []
    if "environment" in data:
        problems.append(
            f"{source}: environment: Pulumi ESC environments are not read by aiplane, which reads this file alone "
            "(offline and in `pulumi up` alike); write their values into config"
        )

    def walk(value: object, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            if set(value) == {"secure"}:
                problems.append(
                    f"{source}: {format_path(path)}: a Pulumi secret (`pulumi config set --secret`), ciphertext only the engine "
                    "decrypts; aiplane takes no secret from the stack file: name a Kubernetes Secret created outside the stack "
                    "instead (as the gateway's `apiKey: {secret, key}` does; README: Running it for real)"
                )
                return
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(data.get("config"), ())
    return problems


def planned_compute(config: StackConfig, source: str) -> ComputePlan:
    """The pools' sizes; a model that cannot be served on its pool is a problem of the stack file's compute block."""
    try:
        return plan_compute(*config.platform.compute.demands())
    except ColdStartBudgetError as error:
        index = next(i for i, model in enumerate(config.platform.compute.models) if model.name == error.model)
        raise InputError(f"{source}: aiplane:platform.compute.models[{index}].coldStartSeconds: {error.budget:g}: {error}") from None
    except CapacityError as error:
        raise InputError(f"{source}: aiplane:platform.compute: {error}") from None


def observability_problems(config: StackConfig, tenants: list[Tenant], source: str, profile_path: Path) -> list[str]:
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
        lock = config.platform.storage.buckets.audit.object_lock
        days = lock.retention_days if lock is not None else None
        if days is not None and days < floor.audit_object_lock:
            problems.append(
                f"{source}: aiplane:platform.storage.buckets.audit.objectLock.retentionDays: {days} is below the "
                f"{floor.audit_object_lock} days {display_path(profile_path)} requires"
            )
    return problems
