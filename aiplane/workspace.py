"""A scratch copy of a project: what `aiplane tenant add` synthesizes and checks before it writes anything."""
from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_FILES = ("Pulumi.yaml", "__main__.py")
PROJECT_FOLDERS = ("stacks", "blueprints", "policies")
CHECKOV_VENV = ".venv-checkov"


def copy_project(source: Path, target: Path) -> Path:
    """What a stack needs to plan and be checked: the program, the stack and blueprint files, the policies,
    and (linked, not copied) checkov's virtualenv."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(source / name, target / name)
    for name in PROJECT_FOLDERS:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    if (source / CHECKOV_VENV).exists():
        (target / CHECKOV_VENV).symlink_to((source / CHECKOV_VENV).resolve())
    return target
