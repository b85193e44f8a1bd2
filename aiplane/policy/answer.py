"""Verifying checkov's answer before the gate judges it: the ways checkov itself lets a scan pass open.

checkov turns a check that raises into no result (and a log line), runs a check whose resource type exists
nowhere on nothing, and a report that lost results reads like a clean one. The gate therefore refuses
(EngineError, exit 3) an answer in which:
- checkov logged that a check failed to run;
- an aiplane check does not derive from `aip_support.AiplaneCheck` (its evaluations cannot be verified), or
  applies to a type aiplane never renders (a typo such as `aws_eks_nodegroup`: it would never run);
- an aiplane check did not evaluate every exported resource of its types (its ledger, written by the check
  itself, has a gap), or one of aiplane's YAML checks has no result on one of them;
- an exported resource of a type some checkov check applies to has no result at all.
"""
from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from aiplane.artifacts import StackArtifacts
from aiplane.export.terraform import TERRAFORM_TYPES
from aiplane.policy.catalog import CheckInfo
from aiplane.policy.scanner import EngineError

# Kinds of the custom resources aiplane installs with its pinned charts (Karpenter 1.5, KEDA 2.17, the
# Prometheus Operator of kube-prometheus-stack 77.5.0), besides the Kubernetes kinds pulumi-kubernetes knows.
CUSTOM_RESOURCE_KINDS = frozenset({
    "NodePool", "EC2NodeClass", "NodeClaim",
    "ScaledObject", "ScaledJob", "TriggerAuthentication", "ClusterTriggerAuthentication",
    "ServiceMonitor", "PodMonitor", "PrometheusRule", "Probe", "ScrapeConfig", "AlertmanagerConfig",
})


@cache
def kubernetes_kinds() -> frozenset[str]:
    """Every kind pulumi-kubernetes has a type for (from its package's resource registry), and our CRDs'."""
    source = resources.files("pulumi_kubernetes").joinpath("__init__.py").read_text(encoding="utf-8")
    registered = json.loads(re.search(r'resource_modules="""(.*?)"""', source, re.S).group(1))
    kinds = {token.rsplit(":", 1)[1] for module in registered for token in module["classes"]}
    return frozenset({kind for kind in kinds if not kind.endswith(("List", "Patch"))} | CUSTOM_RESOURCE_KINDS)


@cache
def _renderable() -> frozenset[str]:
    return frozenset(TERRAFORM_TYPES.values()) | kubernetes_kinds()


def renders(pattern: str) -> bool:
    """Whether a check's type (or wildcard) names something aiplane can render."""
    known = _renderable()
    return any(fnmatch.fnmatchcase(kind, pattern) for kind in known) if "*" in pattern else pattern in known


def _exported(stack: StackArtifacts) -> list[tuple[str, str]]:
    """(type, the id checkov reports it by) of every resource the stack exported for the scan."""
    planned = stack.plan["planned_values"]["root_module"]["resources"]
    found = [(resource["type"], resource["address"]) for resource in planned]
    return found + [(manifest.document.get("kind", ""), manifest.checkov_id) for manifest in stack.manifests]


def _yaml_check_types(catalog: list[CheckInfo]) -> dict[str, tuple[str, ...]]:
    """aiplane's YAML checks are checkov graph checks: their types are in their definitions, not the registry."""
    return {check.id: check.resources for check in catalog if check.source.endswith(".yaml")}


def _check_definitions(raw: dict[str, Any], catalog: list[CheckInfo]) -> list[str]:
    problems = []
    yaml_types = _yaml_check_types(catalog)
    for check_id, entry in sorted(raw["custom_checks"].items()):
        if not entry["ledgered"]:
            problems.append(f"{check_id} does not derive from aip_support.AiplaneCheck, so the gate cannot see what it evaluated")
        for kind in [*entry["types"], *yaml_types.get(check_id, ())]:
            if not renders(kind):
                problems.append(f"{check_id} applies to {kind!r}, a type aiplane never renders: it would never run")
    return problems


def _coverage(raw_scan: dict[str, Any], stack: StackArtifacts, raw: dict[str, Any], catalog: list[CheckInfo]) -> list[str]:
    problems = []
    evaluated: dict[str, set[str]] = {}
    for line in raw_scan["ledger"]:
        if line["raised"]:
            problems.append(f"{line['check']} raised on {line['entity']} in stack {stack.environment}: {line['raised']}")
        evaluated.setdefault(line["check"], set()).add(line["entity"])
    answered: dict[str, set[str]] = {}
    for result in raw_scan["results"]:
        answered.setdefault(result["check_id"], set()).add(result["resource"])
    exported = _exported(stack)
    yaml_types = _yaml_check_types(catalog)
    for check_id, entry in sorted(raw["custom_checks"].items()):
        types = yaml_types.get(check_id) or entry["types"]
        seen = answered.get(check_id, set()) if check_id in yaml_types else evaluated.get(check_id, set())
        missing = sorted(ident for kind, ident in exported if any(fnmatch.fnmatchcase(kind, t) for t in types) and ident not in seen)
        if missing:
            problems.append(f"{check_id} has no result on {len(missing)} resource(s) of its types in stack {stack.environment}, e.g. {missing[0]}")
    checked = set(raw["checked_types"])
    anything = set().union(*answered.values()) if answered else set()
    silent = sorted(ident for kind, ident in exported if kind in checked and ident not in anything)
    if silent:
        problems.append(f"checkov reported nothing on {len(silent)} resource(s) its checks apply to in stack {stack.environment}, e.g. {silent[0]}")
    return problems


def verify_answer(raw: dict[str, Any], stacks: list[StackArtifacts], catalog: list[CheckInfo]) -> None:
    """Raise EngineError unless checkov's answer is complete (see the module docstring)."""
    problems = _check_definitions(raw, catalog)
    for stack in stacks:
        problems += _coverage(raw["scans"][stack.environment], stack, raw, catalog)
    problems += [f"checkov: {fault}" for fault in raw["faults"]]  # a built-in check's, or what the ledger said first
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise EngineError(f"refusing an incomplete policy answer: {problems[0]}{more}")
