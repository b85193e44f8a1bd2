"""The blueprint file format: a tenant pattern with typed parameters, rendered with jinja2 into a tenant.

A blueprint is YAML with jinja2 expressions in its `tenant` block. These models describe the file as
authors write it, so editors can check it against `schemas/blueprint.schema.json` while they type.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from aiplane.spec import Model


class BlueprintParameter(Model):
    type: Literal["string", "integer", "number", "boolean"]
    description: str = Field(min_length=1)
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> BlueprintParameter:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is above maximum {self.maximum}")
        return self


class BlueprintSpec(Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)
    best_for: str = Field(min_length=1, description="The workloads this pattern suits.")
    trade_offs: str = Field(min_length=1, description="What a tenant gives up by choosing it.")
    parameters: dict[str, BlueprintParameter] = Field(default_factory=dict)
    tenant: dict[str, Any] = Field(description="The tenant's components and sizes; string values may use jinja2 on the parameters.")
