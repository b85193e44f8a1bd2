"""Edits of a stack file that keep everything else as it was: comments, key order, quoting and layout.

ruamel.yaml's round-trip mode reads the file into structures that remember their formatting and writes it
back unchanged where nothing changed (the shipped stacks round-trip byte for byte; a test keeps it so). A
tenant added and then removed leaves the file exactly as it was: an empty tenant list goes back to `[]`.
"""
from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from aiplane.errors import InputError

TENANTS_KEY = "aiplane:tenants"


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was not folded
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(text: str, source: str) -> CommentedMap:
    data = _yaml().load(text)
    if not isinstance(data, CommentedMap) or not isinstance(data.get("config"), CommentedMap):
        raise InputError(f"{source}: expected a mapping with a 'config' mapping")
    return data


def _dump(data: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def round_trip(text: str, source: str) -> str:
    return _dump(_load(text, source))


def tenant_names(text: str, source: str) -> list[str]:
    tenants = _load(text, source)["config"].get(TENANTS_KEY) or []
    return [entry.get("name") for entry in tenants]


def add_tenant(text: str, source: str, entry: dict[str, Any]) -> str:
    """The stack file with `entry` appended to its tenants."""
    data = _load(text, source)
    config = data["config"]
    tenants = config.get(TENANTS_KEY)
    if tenants is None:
        tenants = config[TENANTS_KEY] = CommentedSeq()
    if any(existing.get("name") == entry["name"] for existing in tenants):
        raise InputError(f"NAME: tenant {entry['name']!r} is already in {source}; remove it first or choose another name")
    tenants.fa.set_block_style()
    item = CommentedMap()
    for key, value in entry.items():
        if value or value == 0:
            item[key] = CommentedMap(value) if isinstance(value, dict) else value
    tenants.append(item)
    return _dump(data)


def remove_tenant(text: str, source: str, name: str) -> str:
    """The stack file without tenant `name`."""
    data = _load(text, source)
    tenants = data["config"].get(TENANTS_KEY) or []
    index = next((i for i, entry in enumerate(tenants) if entry.get("name") == name), None)
    if index is None:
        known = ", ".join(str(entry.get("name")) for entry in tenants) or "none"
        raise InputError(f"NAME: {source} has no tenant {name!r} (tenants: {known})")
    del tenants[index]
    if not tenants:
        tenants.fa.set_flow_style()
    return _dump(data)


def set_pool_reservation(text: str, source: str, pool: str, reservation_id: str, zone: str | None = None) -> str:
    """The stack file with `reservation_id` as pool `pool`'s capacityReservationId (and, where given, `zone` as its
    one availability zone: a block's instances launch only in the block's zone)."""
    data = _load(text, source)
    entry = _pool_entry(data, source, pool)
    entry["capacityReservationId"] = reservation_id
    if zone is not None:
        zones = CommentedSeq([zone])
        zones.fa.set_flow_style()
        entry["availabilityZones"] = zones
    return _dump(data)


def check_pool_entry(text: str, source: str, pool: str) -> None:
    """Refuse, before anything is bought, a pool the file does not list itself (one a blueprint renders)."""
    _pool_entry(_load(text, source), source, pool)


def _pool_entry(data: CommentedMap, source: str, pool: str) -> CommentedMap:
    platform = data["config"].get("aiplane:platform") or {}
    pools = (platform.get("compute") or {}).get("pools") or []
    entry = next((item for item in pools if isinstance(item, CommentedMap) and item.get("name") == pool), None)
    if entry is None:
        raise InputError(f"--pool: {source} has no pool {pool!r} in aiplane:platform.compute.pools")
    return entry
