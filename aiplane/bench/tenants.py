"""Stacks of many tenants for the scale benchmark and the scale tests: the prod stack of this project with
`count` more tenants appended, on a mix of blueprints (managed API keys, hybrid routers with a vector
database of their own, batch caches, self-hosted inference), in a copy of the project."""
from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_FILES = ("Pulumi.yaml", "__main__.py")
PROJECT_FOLDERS = ("stacks", "blueprints", "policies")
CHECKOV_VENV = ".venv-checkov"
# (blueprint, parameters) cycled over the added tenants. Shared-pool GPUs stay at 0 so that any number of
# tenants fits the prod pools' quota; the tenants' GPU work is the shipped tenants'.
TENANT_SHAPES = (
    ("managed-api", ""),
    ("hybrid-router", ""),
    ("batch-cache", "{gpus: 0}"),
    ("self-hosted-inference", "{gpus: 0}"),
    ("hybrid-router", "{tier: premium}"),
)


def tenant_entries(count: int, budget_of: dict[int, int] | None = None) -> str:
    """Stack-file entries of tenants t000..t<count-1>; `budget_of` sets some tenants' gateway budget."""
    lines = []
    for index in range(count):
        blueprint, parameters = TENANT_SHAPES[index % len(TENANT_SHAPES)]
        if budget_of and index in budget_of:
            extra = f"budgetUsd: {budget_of[index]}"
            parameters = "{" + ", ".join(filter(None, [parameters.strip("{}"), extra])) + "}"
        lines.append(f"    - name: t{index:03d}\n      blueprint: {blueprint}\n")
        if parameters:
            lines.append(f"      parameters: {parameters}\n")
    return "".join(lines)


def copy_project(source: Path, target: Path) -> Path:
    """What a stack needs to synthesize and be checked, with checkov's virtualenv linked, not copied."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(source / name, target / name)
    for name in PROJECT_FOLDERS:
        shutil.rmtree(target / name, ignore_errors=True)
        shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    if (source / CHECKOV_VENV).exists() and not (target / CHECKOV_VENV).exists():
        (target / CHECKOV_VENV).symlink_to((source / CHECKOV_VENV).resolve())
    return target


def write_tenants(project: Path, count: int, budget_of: dict[int, int] | None = None, source: Path | None = None) -> None:
    """Make `project`'s prod stack the shipped one (from `source`, default `project`) plus `count` tenants."""
    shipped = ((source or project) / "stacks" / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    (project / "stacks" / "Pulumi.prod.yaml").write_text(shipped.rstrip("\n") + "\n" + tenant_entries(count, budget_of), encoding="utf-8")


def tenants_project(source: Path, target: Path, count: int) -> Path:
    copy_project(source, target)
    write_tenants(target, count, source=source)
    return target
