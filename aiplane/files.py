"""Files in and out: reading text and strict YAML with errors that name the file, line and column, and
writing outputs so that a crash or a bad input never leaves a half-written file behind."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from aiplane.errors import InputError


def display_path(path: Path) -> str:
    """Paths in messages are relative to the working directory when they can be, as a user typed them."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    source = display_path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{source}: cannot be read: {error}") from None


def read_yaml(path: Path) -> Any:
    """Parse YAML strictly (duplicate keys are errors), reporting problems as `file: line L, column C: ...`."""
    return parse_yaml(read_text(path), display_path(path))


def parse_yaml(text: str, source: str) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(error.problem or error.context or "").split())
        raise InputError(f"{source}: {where}invalid YAML: {problem}") from None
    except YAMLError as error:
        raise InputError(f"{source}: invalid YAML: {' '.join(str(error).split())}") from None



def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename over it (atomic on POSIX filesystems)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
