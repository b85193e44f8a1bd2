"""What a change does to a stack: the resources two synthesized graphs of it create, update, replace and
delete, with the input paths that changed. Pure: two graphs and a replacement table in, changes out.

Resources are matched by URN, as the Pulumi engine matches them against its state: a resource whose URN
changes (a renamed logical name, a new parent) is deleted and created, and one whose URN stays but whose
change touches a property the provider cannot update in place is replaced (`aiplane.review.replacement`).
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from aiplane.errors import format_path
from aiplane.review.replacement import ReplacementTable
from aiplane.synth.graph import GraphResource, ResourceGraph

Action = Literal["create", "update", "replace", "delete"]
ACTION_SIGNS: dict[Action, str] = {"create": "+", "update": "~", "replace": "±", "delete": "-"}
# Values shown in a change are cut here: a diff names what changed; the graph holds the whole value. A
# token (no whitespace: a digest, an ARN, an image reference) is shown whole up to the longer limit, since
# half a digest tells a reviewer nothing.
SHOWN_VALUE_CHARACTERS = 60
SHOWN_TOKEN_CHARACTERS = 160
MAX_INNER_PATHS = 4


@dataclass(frozen=True)
class InputChange:
    path: str  # the input's path in the resource's Pulumi inputs: scalingConfig.desiredSize, spec.template.spec.containers[0].image
    before: Any
    after: Any
    forces_replacement: bool = False

    def shown(self) -> str:
        """One line: the values where they are short; for a JSON document (an IAM policy), the paths inside it
        that changed; for text of several lines (a rendered config file), how many lines changed."""
        if isinstance(self.before, str) and isinstance(self.after, str):
            inner = json_paths(self.before, self.after)
            if inner is not None:
                more = len(inner) - MAX_INNER_PATHS
                return f"{self.path}: JSON changed at {', '.join(inner[:MAX_INNER_PATHS])}" + (f" and {more} more" if more > 0 else "")
            if "\n" in self.before or "\n" in self.after:
                return f"{self.path}: text changed, {changed_lines(self.before, self.after)} of {len(self.after.splitlines())} lines"
        return f"{self.path}: {show(self.before)} → {show(self.after)}"


@dataclass(frozen=True)
class ResourceChange:
    action: Action
    resource: GraphResource  # the head's resource, or the base's for a delete
    inputs: tuple[InputChange, ...] = field(default_factory=tuple)

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def replaced_by(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.inputs if change.forces_replacement)


def show(value: Any) -> str:
    """A value as a diff line shows it: absent, a short scalar, or the size of a collection."""
    if value is ABSENT:
        return "(absent)"
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    text = repr(value) if isinstance(value, str) else str(value)
    token = not any(character.isspace() for character in text)
    if len(text) <= (SHOWN_TOKEN_CHARACTERS if token else SHOWN_VALUE_CHARACTERS):
        return text
    return text[: SHOWN_VALUE_CHARACTERS - 1] + "…"


def json_paths(before: str, after: str) -> list[str] | None:
    """Where two JSON documents differ, or None when either is not a JSON object or array."""
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return None
    if not isinstance(old, dict | list) or not isinstance(new, dict | list):
        return None
    return [format_path(path) if path else "(the whole document)" for path, _, _ in changed_paths(old, new)]


def changed_lines(before: str, after: str) -> int:
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def changed_paths(before: Any, after: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    """The innermost places where two input values differ. Lists of equal length are compared item by
    item (a node group's third taint); a list that grows or shrinks is one change of the whole list."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            yield from changed_paths(before.get(key, ABSENT), after.get(key, ABSENT), (*path, key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from changed_paths(old, new, (*path, index))
    else:
        yield path, before, after


def diff_graphs(base: ResourceGraph | None, head: ResourceGraph, replacements: ReplacementTable) -> list[ResourceChange]:
    """Every custom resource that differs between `base` (None: a new stack) and `head`, in URN order.
    Components and the stack carry no cloud state, so they are not changes themselves."""
    before = {resource.urn: resource for resource in base.custom_resources} if base else {}
    after = {resource.urn: resource for resource in head.custom_resources}
    changes = []
    for urn in sorted(set(before) | set(after)):
        old, new = before.get(urn), after.get(urn)
        if old is None:
            changes.append(ResourceChange("create", new))
        elif new is None:
            changes.append(ResourceChange("delete", old))
        else:
            inputs = tuple(
                InputChange(format_path(path), was, now, replacements.forces_replacement(new.type, path, was, now))
                for path, was, now in changed_paths(old.inputs, new.inputs)
            )
            if inputs:
                changes.append(ResourceChange("replace" if any(change.forces_replacement for change in inputs) else "update", new, inputs))
    return changes
