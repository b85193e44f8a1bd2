"""JSON Schemas for the files users edit, for editors' YAML extensions and for review tools."""
from __future__ import annotations

import json
from pathlib import Path

from aiplane.files import write_text_atomic
from aiplane.spec import StackFile
from aiplane.spec.tenant import BlueprintSpec

SCHEMAS = {"stack.schema.json": StackFile, "blueprint.schema.json": BlueprintSpec}


def render_schemas() -> dict[str, str]:
    rendered = {}
    for filename, model in SCHEMAS.items():
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema(by_alias=True)}
        rendered[filename] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def write_schemas(directory: Path) -> list[Path]:
    written = []
    for filename, text in render_schemas().items():
        write_text_atomic(directory / filename, text)
        written.append(directory / filename)
    return written
