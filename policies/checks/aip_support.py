"""Helpers shared by aiplane's checkov checks (checkov puts this folder on sys.path when it loads them).

checkov hands a check each attribute wrapped in a one-element list, and each block as a list of such
mappings; these helpers unwrap that once, in one place.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# GPU instance families on AWS (accelerated computing: NVIDIA GPUs).
GPU_FAMILIES = ("g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200")

# Network cards per EFA-capable instance type: the EFA interfaces a multi-node pool must attach, one per card.
# AWS, "Accelerated computing instance specifications" (network cards column), checked 2026-11.
EFA_NETWORK_CARDS = {
    "p4d.24xlarge": 4,
    "p4de.24xlarge": 4,
    "p5.48xlarge": 32,
    "p5e.48xlarge": 32,
    "p5en.48xlarge": 16,
    "p6-b200.48xlarge": 8,
    "g5.48xlarge": 1,
    "g6e.48xlarge": 4,
}


def value(conf: dict[str, Any] | None, key: str, default: Any = None) -> Any:
    if not conf:
        return default
    wrapped = conf.get(key)
    if isinstance(wrapped, list):
        return wrapped[0] if wrapped else default
    return default if wrapped is None else wrapped


def blocks(conf: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    found = (conf or {}).get(key) or []
    return [item for item in found if isinstance(item, dict)]


def block(conf: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    found = blocks(conf, key)
    return found[0] if found else None


def is_gpu_instance(instance_type: str) -> bool:
    return instance_type.split(".")[0] in GPU_FAMILIES


# What each aiplane check did, for the gate to verify the answer: one JSON line per evaluation (check id, the
# entity as checkov names it `file:type:name`, and the error if it raised) appended to the file the worker
# names in AIPLANE_CHECK_LEDGER. checkov turns a check that raises into no result at all, which would read
# as a pass; the gate refuses an answer with a raise or a gap in it. A file, because checkov may run checks
# in forked workers; one O_APPEND write per line, so lines from several processes never interleave.
LEDGER_ENV = "AIPLANE_CHECK_LEDGER"


def _record(check_id: str, entity: str, error: str | None) -> None:
    path = os.environ.get(LEDGER_ENV)
    if not path:
        return
    line = (json.dumps({"check": check_id, "entity": entity, "raised": error}) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


class Ledgered:
    """Records each evaluation of the check in the ledger; every aiplane check derives from it (the gate
    refuses one whose evaluations it cannot see)."""

    def scan_entity_conf(self, conf, entity_type):
        try:
            result = super().scan_entity_conf(conf, entity_type)
        except Exception as error:
            _record(self.id, self.entity_path, f"{type(error).__name__}: {error}")
            raise
        _record(self.id, self.entity_path, None)
        return result


class AiplaneCheck(Ledgered, BaseResourceCheck):
    """A check described by its module's ID, TITLE, RESOURCES and CATEGORY constants (WHY is for the docs),
    so that what checkov runs and what `docs/policies.md` says come from the same lines."""

    def __init__(self):
        module = sys.modules[type(self).__module__]
        super().__init__(
            name=module.TITLE, id=module.ID, categories=[module.CATEGORY], supported_resources=list(module.RESOURCES)
        )


__all__ = ["AiplaneCheck", "CheckCategories", "CheckResult", "block", "blocks", "value", "is_gpu_instance", "EFA_NETWORK_CARDS"]
