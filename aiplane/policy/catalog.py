"""The catalog of aiplane's own checks, read from `policies/checks/` without importing checkov.

Python checks declare ID, TITLE, WHY and RESOURCES as module constants; YAML checks carry them in
`metadata` (id, name, why) and their resource types in the definition. One check per file.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from aiplane.errors import AiplaneError
from aiplane.files import read_yaml


@dataclass(frozen=True)
class CheckInfo:
    id: str
    title: str
    why: str
    resources: tuple[str, ...]
    source: str  # the file's name
    folder: str = "policies/checks"  # checkov's checks; aiplane's graph checks live in the package

    @property
    def area(self) -> str:
        return self.id.split("_")[1]

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.source}"


def module_catalog(modules: tuple[ModuleType, ...], folder: str) -> list[CheckInfo]:
    """The catalog entries of checks aiplane runs itself, one module each (graph checks, change checks)."""
    return [
        CheckInfo(check.ID, check.TITLE, check.WHY, tuple(check.RESOURCES), Path(check.__file__).name, folder=folder)
        for check in modules
    ]


def _python_check(path: Path) -> CheckInfo | None:
    constants: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("ID", "TITLE", "WHY", "RESOURCES"):
                constants[node.targets[0].id] = ast.literal_eval(node.value)
    if not constants:
        return None  # a support module, not a check
    missing = {"ID", "TITLE", "WHY", "RESOURCES"} - set(constants)
    if missing:
        raise AiplaneError(f"{path}: a check must define {', '.join(sorted(missing))}")
    return CheckInfo(constants["ID"], constants["TITLE"], constants["WHY"], tuple(constants["RESOURCES"]), path.name)


def _resource_types(definition: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(definition, dict):
        if definition.get("cond_type") == "filter":
            found |= set(definition.get("value") or [])
        for child in definition.values():
            found |= _resource_types(child)
    elif isinstance(definition, list):
        for child in definition:
            found |= _resource_types(child)
    return found


def _yaml_check(path: Path) -> CheckInfo:
    document = read_yaml(path)
    metadata = document.get("metadata") or {}
    for key in ("id", "name", "why"):
        if not metadata.get(key):
            raise AiplaneError(f"{path}: metadata.{key} is required")
    return CheckInfo(
        metadata["id"], metadata["name"], " ".join(metadata["why"].split()), tuple(sorted(_resource_types(document["definition"]))), path.name
    )


def load_check_catalog(checks_dir: Path) -> list[CheckInfo]:
    checks = [info for path in sorted(checks_dir.glob("*.py")) if path.name != "__init__.py" if (info := _python_check(path))]
    checks += [_yaml_check(path) for path in sorted(checks_dir.glob("*.yaml"))]
    ids = [check.id for check in checks]
    duplicated = sorted({check_id for check_id in ids if ids.count(check_id) > 1})
    if duplicated:
        raise AiplaneError(f"{checks_dir}: check ids used twice: {', '.join(duplicated)}")
    return in_order(checks)


def in_order(checks: list[CheckInfo]) -> list[CheckInfo]:
    """By area, then by number within it (AIP_GPU_2 before AIP_GPU_10)."""
    return sorted(checks, key=lambda check: (check.area, int(check.id.rsplit("_", 1)[1])))
