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
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check
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
# resource as checkov reports it, and the error if it raised) appended to the file the worker
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

    def reported_as(self, conf, entity_type) -> str:
        """The resource's id in checkov's report: `type.name` for Terraform (the name ends checkov's entity path)."""
        return f"{entity_type}.{self.entity_path.rsplit(':', 1)[1]}"

    def scan_entity_conf(self, conf, entity_type):
        try:
            result = super().scan_entity_conf(conf, entity_type)
        except Exception as error:
            _record(self.id, self.reported_as(conf, entity_type), f"{type(error).__name__}: {error}")
            raise
        _record(self.id, self.reported_as(conf, entity_type), None)
        return result


class AiplaneCheck(Ledgered, BaseResourceCheck):
    """A check described by its module's ID, TITLE, RESOURCES and CATEGORY constants (WHY is for the docs),
    so that what checkov runs and what `docs/policies.md` says come from the same lines."""

    def __init__(self):
        module = sys.modules[type(self).__module__]
        super().__init__(
            name=module.TITLE, id=module.ID, categories=[module.CATEGORY], supported_resources=list(module.RESOURCES)
        )


class AiplaneKubernetesCheck(Ledgered, BaseK8Check):
    """An aiplane check of Kubernetes objects, described by the same module constants (RESOURCES are kinds).
    checkov hands it the object's manifest as it is (no list wrapping)."""

    def __init__(self):
        module = sys.modules[type(self).__module__]
        super().__init__(name=module.TITLE, id=module.ID, categories=[module.CATEGORY], supported_entities=list(module.RESOURCES))

    def reported_as(self, conf, entity_type) -> str:
        metadata = conf.get("metadata") or {}
        return f"{entity_type}.{metadata.get('namespace', 'default')}.{metadata.get('name')}"


def manifest_field(document: dict[str, Any] | None, *path: str, default: Any = None) -> Any:
    """document[path[0]][path[1]]... or `default` where any step is missing or not a mapping."""
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return default
        document = document[key]
    return document


def object_annotations(conf: dict[str, Any]) -> dict[str, Any]:
    """metadata.annotations as a mapping: checkov's kubernetes parser turns it into a list of mappings."""
    found = manifest_field(conf, "metadata", "annotations", default={}) or {}
    if isinstance(found, list):
        return {key: item for entry in found if isinstance(entry, dict) for key, item in entry.items()}
    return found if isinstance(found, dict) else {}


__all__ = ["AiplaneCheck", "AiplaneKubernetesCheck", "manifest_field", "object_annotations", "GPU_FAMILIES", "CheckCategories", "CheckResult", "block", "blocks", "value", "is_gpu_instance", "EFA_NETWORK_CARDS"]
