"""Errors that reach the user as one line and an exit code, never as a traceback."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class AiplaneError(Exception):
    """Base for errors the CLI reports as one line per problem."""

    exit_code = 2


class InputError(AiplaneError):
    """Bad user input: a stack file, a flag, a blueprint. Exit code 2."""

    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("\n".join(self.lines))


class FieldValueError(ValueError):
    """Raised by a whole-model validator about one of its fields: reported at that field's path, with the
    value as the file spells it."""

    def __init__(self, field: str, shown: str, message: str):
        self.field, self.shown, self.message = field, shown, message
        super().__init__(f"{field}: {shown} {message}")


def describe_validation_error(source: str, error: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[str]:
    """One line per problem: `<file>: <field path>: <value> <what is wrong>`."""
    lines = []
    for problem in error.errors():
        loc = prefix + tuple(problem["loc"])
        kind = problem["type"]
        cause = problem.get("ctx", {}).get("error")
        if isinstance(cause, FieldValueError):
            lines.append(f"{source}: {format_path(loc + (cause.field,))}: {cause.shown} {cause.message}")
            continue
        path = format_path(loc)
        if kind == "missing":
            lines.append(f"{source}: {path}: is required")
            continue
        if kind == "extra_forbidden":
            lines.append(f"{source}: {path}: is not a known key (value {_show(problem['input'])})")
            continue
        message = problem["msg"]
        if kind == "value_error":
            message = message.removeprefix("Value error, ")
        else:
            message = "is invalid: " + message[0].lower() + message[1:]
        if isinstance(problem["input"], dict):
            # A whole-object rule: its message names the fields; the mapping itself would only be noise.
            lines.append(f"{source}: {path}: {message}")
        else:
            lines.append(f"{source}: {path}: {_show(problem['input'])} {message}")
    return lines


def format_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
