"""The checks' examples as two Pulumi programs, run through the same engine and export as a stack.

Every aiplane check `policies/checks/<rule>.(py|yaml)` has `example_<rule>.py` beside its test: `passing()`
builds resources named `<rule id>-pass-*`, `failing()` one named `<rule id>-fail` (lowercase, '-' for '_').
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pulumi
import pulumi_aws as aws

from aiplane.components.tagging import cost_tag_transformation
from aiplane.policy.catalog import load_check_catalog

CHECKS_DIR = Path(__file__).resolve().parents[3] / "policies" / "checks"


def example_name(source: str) -> str:
    """The example module of a rule file: `gpu_node_group_taint.py` -> `example_gpu_node_group_taint`."""
    return "example_" + source.rsplit(".", 1)[0]


def examples() -> dict[str, ModuleType]:
    """Each catalogued check's id -> its example module."""
    return {
        check.id: importlib.import_module(f"tests.policy.checks.{example_name(check.source)}")
        for check in load_check_catalog(CHECKS_DIR)
    }


def tagged_program() -> None:
    pulumi.runtime.register_stack_transformation(cost_tag_transformation("fixtures", "cc-fixtures", {}))
    for example in examples().values():
        example.passing()
        if not getattr(example, "UNTAGGED", False):
            example.failing()
    # A bucket with no data purpose is out of scope for the S3 rules even though it has none of the controls.
    aws.s3.Bucket("aip-s3-out-of-scope", aws.s3.BucketArgs(tags={"aiplane:purpose": "scratch"}))


def untagged_program() -> None:
    for example in examples().values():
        if getattr(example, "UNTAGGED", False):
            example.failing()
