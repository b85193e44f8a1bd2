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

# A place in a YAML document: mapping keys and sequence indexes from the root, as in `config.x.pools[0]`.
FieldPath = tuple[str | int, ...]


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
    return parse_located_yaml(text, source)[0]


def parse_located_yaml(text: str, source: str) -> tuple[Any, dict[FieldPath, int]]:
    """`parse_yaml`, and the line of every mapping key and sequence item in the text, by its path: what a
    report needs to point at the line a user wrote, from one parse."""
    try:
        yaml = YAML(typ="safe", pure=True)
        root = yaml.compose(text)
        if _expanded_size(root) > MAX_EXPANDED_NODES:
            raise InputError(f"{source}: expands to more than {MAX_EXPANDED_NODES:,} YAML nodes through its aliases; refused")
        if root is None:
            return None, {}
        return yaml.constructor.construct_document(root), _field_lines(root)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(error.problem or error.context or "").split())
        raise InputError(f"{source}: {where}invalid YAML: {problem}") from None
    except YAMLError as error:
        raise InputError(f"{source}: invalid YAML: {' '.join(str(error).split())}") from None
    except (ValueError, OverflowError) as error:  # a scalar that matches a tag's pattern but not its range: 2027-13-45
        raise InputError(f"{source}: {_unconstructible(root)}invalid YAML value: {error}") from None


def _field_lines(root: Node) -> dict[FieldPath, int]:
    """1-based lines by path: a key's line for a mapping entry, the item's first line for a sequence item.
    Merge keys (`<<`) are not followed: a field they supply is located at its nearest written ancestor."""
    lines: dict[FieldPath, int] = {}
    pending: list[tuple[Node, FieldPath]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key.value, str) and key.value != "<<":
                    lines[path + (key.value,)] = key.start_mark.line + 1
                    pending.append((value, path + (key.value,)))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                lines[path + (index,)] = item.start_mark.line + 1
                pending.append((item, path + (index,)))
    return lines


def line_of(lines: dict[FieldPath, int], path: FieldPath) -> tuple[FieldPath, int]:
    """The line of `path`, or, where the file leaves it to a default, of its nearest ancestor the file writes
    (line 1 when none is): that ancestor's path and line."""
    for length in range(len(path), 0, -1):
        if (line := lines.get(path[:length])) is not None:
            return path[:length], line
    return (), 1


def _unconstructible(root: Node) -> str:
    """`line L, column C: 'text' ` of the first scalar that cannot be constructed, for the error message."""
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, MappingNode):
            pending.extend(part for pair in reversed(node.value) for part in reversed(pair))
        elif isinstance(node, SequenceNode):
            pending.extend(reversed(node.value))
        else:
            try:
                YAML(typ="safe", pure=True).constructor.construct_object(node, deep=True)
            except (ValueError, OverflowError):
                return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}: {node.value!r} is an "
    return ""


def output_file(path: Path, flag: str) -> Path:
    """A file the user named for a command's output, refused before any work is done if it cannot be written:
    a folder, something other than a regular file (writing over /dev/null would replace it), a file marked
    read-only, or a place under a file or a read-only folder."""
    if path.exists() or path.is_symlink():
        if path.is_dir():
            raise InputError(f"{flag}: {display_path(path)!r} is a folder; name a file to write")
        if not path.is_file():
            raise InputError(f"{flag}: {display_path(path)!r} is not a regular file; name a file to write")
        if not path.stat().st_mode & 0o222:
            raise InputError(f"{flag}: {display_path(path)!r} is read-only; nothing was written")
    _writable_place(path.parent, path, flag)
    return path


def output_folder(path: Path, flag: str) -> Path:
    """A folder the user named for a command's outputs (created if missing), refused before any work is done
    if it is a file, lies under a file, or cannot be written in."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag}: {display_path(path)!r} is a file, not a folder")
    _writable_place(path, path, flag)
    return path


def _writable_place(folder: Path, named: Path, flag: str) -> None:
    existing = next(candidate for candidate in [folder, *folder.parents] if candidate.exists())
    if not existing.is_dir():
        raise InputError(f"{flag}: {display_path(named)!r} lies under {display_path(existing)!r}, which is a file, not a folder")
    # Mode bits as well as os.access: root may write anywhere os.access allows, /proc included, but should not.
    if not (os.access(existing, os.W_OK | os.X_OK) and existing.stat().st_mode & 0o222):
        raise InputError(f"{flag}: {display_path(named)!r} cannot be written: {display_path(existing)!r} is read-only")


@contextmanager
def writing_output(path: Path, flag: str | None = None) -> Iterator[None]:
    """What the operating system still refuses after `output_file`/`output_folder` (a full disk, a filesystem
    mounted read-only) is bad input too: one line naming the flag (or the default place), not an internal error."""
    try:
        yield
    except OSError as error:
        where = f"{flag}: {display_path(path)!r}" if flag else f"{display_path(path)}:"
        raise InputError(f"{where} cannot be written ({error.strerror or error})") from None


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
    a second editor waits for the first, then reads what it wrote. The lock is on the file itself, so no
    lock file is left in the user's tree; since an edit renames a new file over the old one, a waiter that
    wakes holding the replaced file locks again, on the file now at the path. Under the lock, scratch files an
    interrupted editor left beside it are removed (no one else can be writing them)."""
    target = path.resolve()
    while True:
        try:
            handle = open(target, "rb")  # noqa: SIM115 - held open for the lock's lifetime
        except FileNotFoundError:
            raise InputError(f"{display_path(path)}: no such file") from None
        except OSError as error:
            raise InputError(f"{display_path(path)}: cannot be locked for editing ({error.strerror})") from None
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            current = os.stat(target)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(os.fstat(handle.fileno()), current):
            break
        handle.close()  # replaced while we waited: lock the file that is there now
    with handle:
        try:
            for stray in target.parent.glob(f"{TEMPORARY_PREFIX}{target.name}.*"):
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
