"""Validate custom resources against the CRDs vendored in tests/data/crds (their OpenAPI v3 schemas, made
strict: where a schema lists properties and neither allows others nor preserves unknown fields, any other
key is an error, as the API server's strict field validation reports it)."""
from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML

CRDS = Path(__file__).with_name("data") / "crds"


def strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        converted["additionalProperties"] = False
    return converted


@cache
def crd_schema(file_name: str, version: str) -> dict[str, Any]:
    crd = YAML(typ="safe").load(gzip.decompress((CRDS / file_name).read_bytes()))
    served = next(entry for entry in crd["spec"]["versions"] if entry["name"] == version)
    schema = strict(served["schema"]["openAPIV3Schema"])
    # metadata is the API server's, not the CRD's, to validate.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def schema_errors(document: dict[str, Any], file_name: str) -> list[str]:
    """Every schema error of `document`, as `path: message`, against its apiVersion's schema in the CRD."""
    version = document["apiVersion"].split("/", 1)[1]
    validator = jsonschema.Draft7Validator(crd_schema(file_name, version))
    return [f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}" for error in validator.iter_errors(document)]
