"""Files in and out: reading text and strict YAML with errors that name the file, line and column, and
writing outputs so that a crash or a bad input never leaves a half-written file behind."""
from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

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


# What a document may expand to, aliases followed: stack files, blueprints and policies are a few thousand
# nodes. An alias bomb (each anchor repeating the one before) is refused before it is walked, in the time
# composing its text takes, instead of after minutes of validation.
MAX_EXPANDED_NODES = 200_000


def _expanded_size(root: Node | None) -> int:
    sizes: dict[int, int] = {}
    stack = [(root, False)] if root is not None else []
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = [child for pair in node.value for child in pair] if isinstance(node, MappingNode) else (
            list(node.value) if isinstance(node, SequenceNode) else [])
        if children_done or not children:
            sizes[id(node)] = min(MAX_EXPANDED_NODES + 1, 1 + sum(sizes[id(child)] for child in children))
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes.get(id(root), 0)


def parse_yaml(text: str, source: str) -> Any:
    try:
        yaml = YAML(typ="safe", pure=True)
        root = yaml.compose(text)
        if _expanded_size(root) > MAX_EXPANDED_NODES:
            raise InputError(f"{source}: expands to more than {MAX_EXPANDED_NODES:,} YAML nodes through its aliases; refused")
        return yaml.constructor.construct_document(root) if root is not None else None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(error.problem or error.context or "").split())
        raise InputError(f"{source}: {where}invalid YAML: {problem}") from None
    except YAMLError as error:
        raise InputError(f"{source}: invalid YAML: {' '.join(str(error).split())}") from None



TEMPORARY_PREFIX = "."  # write_text_atomic's scratch files: `.<name>.<random>` beside the file


def write_text_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write to a temporary file beside `path`, then rename over it (atomic on POSIX filesystems)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def locked_for_edit(path: Path) -> Iterator[None]:
    """Hold an advisory lock (fcntl) on a file others may edit, such as a stack file `tenant add` rewrites:
    a second editor waits for the first, then reads what it wrote. Under the lock, scratch files an
    interrupted editor left beside it are removed (no one else can be writing them)."""
    target = path.resolve()
    lock = target.with_name(f".{target.name}.lock")
    try:
        handle = open(lock, "a")  # noqa: SIM115 - held open for the lock's lifetime
    except OSError as error:
        raise InputError(f"{display_path(path)}: cannot be locked for editing ({error.strerror} on {display_path(lock)})") from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            for stray in target.parent.glob(f"{TEMPORARY_PREFIX}{target.name}.*"):
                if stray != lock:
                    stray.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def rewrite_in_place(path: Path, text: str) -> None:
    """Replace a user's file atomically as it is: through a symlink to its target, keeping its mode."""
    target = path.resolve()
    # Its mode, not os.access: a file marked read-only is refused even for root, who could write it anyway.
    if target.exists() and not target.stat().st_mode & 0o222:
        raise InputError(f"{display_path(path)}: is read-only; nothing was written")
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    try:
        write_text_atomic(target, text, mode)
    except OSError as error:
        raise InputError(f"{display_path(path)}: cannot be written ({error.strerror}); nothing was written") from None
