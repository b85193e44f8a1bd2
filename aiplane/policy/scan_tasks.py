"""What checkov scans for a stack, in pieces that scale and that a cache can answer.

checkov's kubernetes runner compares every object with every other to build its graph, and its connection
solvers walk every edge for every node: at 200 tenants (3,560 manifests) that is 14 s of edges and 40 s of
graph checks against 0.5 s of per-object checks (docs/performance.md). Its edge builders match selectors
and names without looking at namespaces, so one tenant's default-deny policy "connects" to every pod of
every tenant. aiplane therefore scans each namespace's objects on their own, with the cluster-scoped objects
as one more unit and a Namespace in the unit it names: the graph each scan builds holds the connections
Kubernetes itself makes (a Role, RoleBinding, Service or NetworkPolicy acts within its namespace), its size
no longer grows with the number of tenants, and a unit's content is what its results depend on, so it is
the unit's cache key.

The Terraform plan is one graph: tenants share the cluster, keys and network. Each resource's key is its
planned values and configuration with those of its neighbours (what its `configuration` references, and
what references it): checkov's connection checks look one edge away. A run scans the resources whose key
missed, in a plan cut down to them and their neighbours, and keeps the results of the missed ones only; the
neighbours are there so that every connection a missed resource has is in the graph checkov builds.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiplane.artifacts import StackArtifacts
from aiplane.export.kubernetes import Manifest, render
from aiplane.policy.scan_cache import ScanCache
from aiplane.policy.scanner import Scan

CLUSTER_SCOPED_UNIT = "_cluster"  # not a DNS label, so no namespace is called that
PLAN_SCAN = "plan"
# What checkov reports on that is not a planned resource (its provider checks report on `aws.default`): it
# depends on the plan's provider configuration alone, and is kept under a key of its own.
PROVIDER = "<provider>"


def namespace_unit(manifest: Manifest) -> str:
    metadata = manifest.document.get("metadata") or {}
    if manifest.document.get("kind") == "Namespace":
        return metadata["name"]
    return metadata.get("namespace") or CLUSTER_SCOPED_UNIT


def manifest_units(manifests: list[Manifest]) -> dict[str, list[Manifest]]:
    units: dict[str, list[Manifest]] = defaultdict(list)
    for manifest in manifests:
        units[namespace_unit(manifest)].append(manifest)
    return dict(sorted(units.items()))


def plan_entries(plan: dict[str, Any]) -> dict[str, tuple[dict, dict]]:
    """address -> (its planned values entry, its configuration entry)."""
    configured = {entry["address"]: entry for entry in plan["configuration"]["root_module"]["resources"]}
    return {entry["address"]: (entry, configured.get(entry["address"], {})) for entry in plan["planned_values"]["root_module"]["resources"]}


def plan_neighbours(entries: dict[str, tuple[dict, dict]]) -> dict[str, set[str]]:
    """Each address's neighbours in checkov's graph: what its expressions reference, and what references it."""
    neighbours: dict[str, set[str]] = {address: set() for address in entries}
    for address, (_, configured) in entries.items():
        for expression in (configured.get("expressions") or {}).values():
            for reference in expression.get("references", []):
                target = reference[: -len(".id")] if reference.endswith(".id") else reference
                if target in entries and target != address:
                    neighbours[address].add(target)
                    neighbours[target].add(address)
    return neighbours


def cut_plan(plan: dict[str, Any], addresses: set[str]) -> dict[str, Any]:
    """The plan with only `addresses` in it (references to the others stay, as they would to a data source)."""
    planned = [entry for entry in plan["planned_values"]["root_module"]["resources"] if entry["address"] in addresses]
    configured = [entry for entry in plan["configuration"]["root_module"]["resources"] if entry["address"] in addresses]
    return {
        **plan,
        "planned_values": {"root_module": {"resources": planned}},
        "configuration": {**plan["configuration"], "root_module": {"resources": configured}},
    }


@dataclass
class _Pending:
    """A scan to run, and what of its answer goes under which cache key: the resources whose results a key
    holds (None: all of the scan's)."""

    scan: Scan
    keys: dict[str, set[str] | None]
    owners: set[str] | None = None  # the resources results are reported on; any other name is PROVIDER's

    @property
    def keep(self) -> set[str] | None:
        """The resources whose results count (None: all); the rest of a cut plan was only neighbours."""
        held = list(self.keys.values())
        return None if None in held else set().union(*held)


@dataclass
class StackScan:
    """A stack's scans: those the cache could not answer, and the answers it could."""

    stack: str
    pending: list[_Pending] = field(default_factory=list)
    cached_results: list[dict[str, Any]] = field(default_factory=list)
    cached_ledger: list[dict[str, Any]] = field(default_factory=list)
    scanned_resources: int = 0

    @property
    def scans(self) -> list[Scan]:
        return [pending.scan for pending in self.pending]

    def merge(self, answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """The stack's answer, shaped as one scan's, from the cache and from the workers."""
        results, ledger, parsing_errors = list(self.cached_results), list(self.cached_ledger), []
        for pending in self.pending:
            answer = answers[pending.scan.name]
            parsing_errors += answer["parsing_errors"]
            kept = _keep(answer, pending.keep, pending.owners)
            results += kept["results"]
            ledger += kept["ledger"]
        return {"results": results, "parsing_errors": sorted(set(parsing_errors)), "ledger": ledger}

    def store(self, answers: dict[str, dict[str, Any]], cache: ScanCache) -> None:
        """Put what was scanned in the cache: only once the whole answer has been verified."""
        for pending in self.pending:
            _store(cache, answers[pending.scan.name], pending.keys, pending.owners)


def _store(cache: ScanCache, answer: dict[str, Any], keys: dict[str, set[str] | None], owners: set[str] | None) -> None:
    by_resource: dict[str, dict[str, list]] = defaultdict(lambda: {"results": [], "ledger": []})
    for result in answer["results"]:
        by_resource[_owner(result["resource"], owners)]["results"].append(result)
    for line in answer["ledger"]:
        by_resource[_owner(line["entity"], owners)]["ledger"].append(line)
    for key, resources in keys.items():
        if resources is None:
            cache.put(key, answer["results"], answer["ledger"])
            continue
        shares = [by_resource[resource] for resource in sorted(resources) if resource in by_resource]
        cache.put(key, [r for share in shares for r in share["results"]], [line for share in shares for line in share["ledger"]])


def _owner(resource: str, owners: set[str] | None) -> str:
    return resource if owners is None or resource in owners else PROVIDER


def _keep(answer: dict[str, Any], resources: set[str] | None, owners: set[str] | None) -> dict[str, list]:
    if resources is None:
        return {"results": answer["results"], "ledger": answer["ledger"]}
    return {
        "results": [result for result in answer["results"] if _owner(result["resource"], owners) in resources],
        "ledger": [line for line in answer["ledger"] if _owner(line["entity"], owners) in resources],
    }


def plan_stack_scan(build: StackArtifacts, scratch: Path, cache: ScanCache | None) -> StackScan:
    """The scans `build` needs, their inputs written under `scratch`, with what `cache` already answers."""
    stack_scan = StackScan(build.environment)
    _plan_terraform(build, scratch, cache, stack_scan)
    _plan_kubernetes(build, scratch, cache, stack_scan)
    return stack_scan


def _answer_from(cache: ScanCache | None, key: str, stack_scan: StackScan) -> bool:
    entry = cache.get(key) if cache is not None else None
    if entry is None:
        return False
    stack_scan.cached_results += entry["results"]
    stack_scan.cached_ledger += entry["ledger"]
    return True


def _plan_terraform(build: StackArtifacts, scratch: Path, cache: ScanCache | None, stack_scan: StackScan) -> None:
    entries = plan_entries(build.plan)
    neighbours = plan_neighbours(entries)
    missed: dict[str, set[str]] = {}
    provider = {key: value for key, value in build.plan.items() if key not in ("planned_values", "configuration")}
    provider["provider_config"] = build.plan["configuration"].get("provider_config")
    key = cache.key("terraform_plan", PROVIDER, provider) if cache else PROVIDER
    if not _answer_from(cache, key, stack_scan):
        missed[key] = {PROVIDER}
    for address in sorted(entries):
        key = cache.key("terraform_plan", entries[address], [entries[n] for n in sorted(neighbours[address])]) if cache else address
        if not _answer_from(cache, key, stack_scan):
            missed[key] = {address}
    if not missed:
        return
    wanted = set().union(*missed.values()) - {PROVIDER}
    if len(wanted) == len(entries):  # nothing came from the cache: the whole plan, as `aiplane plan` wrote it
        plan_file, scanned = build.tfplan, wanted
    else:
        scanned = wanted | {n for address in wanted for n in neighbours[address]}
        plan_file = scratch / build.environment / "tfplan.json"
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        plan_file.write_text(json.dumps(cut_plan(build.plan, scanned), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    stack_scan.scanned_resources += len(scanned)
    scan = Scan(f"{build.environment}/{PLAN_SCAN}", plan=plan_file, cost=len(scanned) + 1)
    stack_scan.pending.append(_Pending(scan, missed, set(entries)))


def _plan_kubernetes(build: StackArtifacts, scratch: Path, cache: ScanCache | None, stack_scan: StackScan) -> None:
    for unit, manifests in manifest_units(build.manifests).items():
        key = cache.key("kubernetes", unit, sorted((m.filename, m.document) for m in manifests)) if cache else unit
        if _answer_from(cache, key, stack_scan):
            continue
        folder = scratch / build.environment / "k8s" / unit
        folder.mkdir(parents=True, exist_ok=True)
        for manifest in manifests:
            (folder / manifest.filename).write_text(render(manifest), encoding="utf-8")
        stack_scan.scanned_resources += len(manifests)
        stack_scan.pending.append(_Pending(Scan(f"{build.environment}/k8s/{unit}", manifests=folder, cost=len(manifests)), {key: None}))
