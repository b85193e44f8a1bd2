"""Runs inside checkov's own virtualenv (its pins conflict with pulumi's): imports nothing from aiplane.

Started before the stack is synthesized, it spends the wait importing checkov (most of checkov's start-up);
then it reads one job from stdin, runs checkov's terraform_plan and kubernetes runners as a library, and
writes one JSON document to stdout. Everything checkov logs goes to stderr. A job may split its scans into
shares, one per core: the worker forks a copy of itself (checkov imported, checks loaded) for each share
but the first, so each copy runs its scans one after another, without checkov's own process pool.
Job:    {"external_checks_dir": str, "scans": [{"name": str, "plan": str | null, "manifests": str | null}],
         "shares": [[scan name, ...], ...] (optional: the scans in groups, each run by a forked copy at once)}
Result: {"checkov_version": str, "loaded_custom_checks": [ids], "check_ids": [every registered id],
         "custom_checks": {id: {"types": [...], "ledgered": bool}}, "checked_types": [types some check applies to],
         "faults": ["Failed to run check ..."],
         "scans": {name: {"results": [...], "parsing_errors": [...], "ledger": [{"check", "entity", "raised"}]}}}
The ledger is what aiplane's own checks recorded of each evaluation (policies/checks/aip_support.py); the
faults are checkov's own reports of checks that raised. The gate verifies the answer with both.
"""
import gc
import json
import logging
import os
import sys
import tempfile

os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")  # never call the vendor API: there is no network, and no need
# checkov forks a process per core to parse files, once per scan; each copy of the worker runs many small
# scans (one per namespace) beside the other copies, where those forks cost more than the parsing they share.
os.environ["CHECKOV_PARALLELIZATION_TYPE"] = "none"
# A one-shot process: the cyclic collector would only rescan checkov's large heap while it imports and
# builds its graph (about 0.6 s of a production scan); the process exits when the scan is done.
gc.disable()

from checkov.common.checks_infra.registry import get_graph_checks_registry  # noqa: E402
from checkov.kubernetes.checks.resource.registry import registry as kubernetes_registry  # noqa: E402
from checkov.kubernetes.runner import Runner as KubernetesRunner  # noqa: E402
from checkov.runner_filter import RunnerFilter  # noqa: E402
from checkov.terraform.checks.resource.registry import resource_registry  # noqa: E402
from checkov.terraform.plan_runner import Runner as PlanRunner  # noqa: E402
from checkov.version import version as checkov_version  # noqa: E402


def records(report):
    for state, checks in (("PASSED", report.passed_checks), ("FAILED", report.failed_checks), ("SKIPPED", report.skipped_checks)):
        for check in checks:
            yield {
                "check_id": check.check_id,
                "check_name": check.check_name,
                "result": state,
                "resource": check.resource,
                "guideline": check.guideline,
            }


LEDGER_ENV = "AIPLANE_CHECK_LEDGER"  # read by policies/checks/aip_support.py


class FaultLog(logging.Handler):
    """checkov logs a check that raised ("Failed to run check ID on ...") and carries on without a result."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.faults = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Failed to run check"):
            self.faults.append(message)


def load_checks(external_checks_dir):
    """Every check, checkov's and aiplane's, into checkov's registries, before any scan: a worker's scans then
    pass no checks folder (checkov would import it again for each), and a worker whose scans all came from
    the cache still reports the whole catalog."""
    for registry in (resource_registry, kubernetes_registry):
        registry.load_external_checks(external_checks_dir)
    for framework in ("terraform", "kubernetes"):
        graph_registry = get_graph_checks_registry(framework)
        graph_registry.load_external_checks(external_checks_dir)
        graph_registry.load_checks()


def scan(job_scan):
    results, parsing_errors = [], []
    with tempfile.NamedTemporaryFile(prefix="aiplane-ledger-", suffix=".jsonl", delete=False) as handle:
        ledger_path = handle.name
    os.environ[LEDGER_ENV] = ledger_path  # inherited by any worker checkov forks
    try:
        if job_scan.get("plan"):
            report = PlanRunner().run(
                root_folder=None,
                files=[job_scan["plan"]],
                external_checks_dir=None,
                runner_filter=RunnerFilter(framework=["terraform_plan"], download_external_modules=False),
            )
            results += records(report)
            parsing_errors += list(report.parsing_errors)
        if job_scan.get("manifests"):
            report = KubernetesRunner().run(
                root_folder=job_scan["manifests"],
                external_checks_dir=None,
                runner_filter=RunnerFilter(framework=["kubernetes"], download_external_modules=False),
            )
            results += records(report)
            parsing_errors += list(report.parsing_errors)
        with open(ledger_path, encoding="utf-8") as ledger:
            evaluations = [json.loads(line) for line in ledger if line.strip()]
    finally:
        os.environ.pop(LEDGER_ENV, None)
        os.unlink(ledger_path)
    # YAML connection checks can report the same finding twice (DESIGN.md §4).
    unique = {(r["check_id"], r["resource"], r["result"]): r for r in results}
    return {"results": list(unique.values()), "parsing_errors": sorted(set(parsing_errors)), "ledger": evaluations}


def registered_checks():
    """(check, the types it applies to) for every check checkov registered, ours and its own."""
    for registry in (resource_registry, kubernetes_registry):
        for types in (registry.checks, registry.wildcard_checks):
            for entity, checks in types.items():
                for check in checks:
                    yield check, entity
    for framework in ("terraform", "kubernetes"):
        for check in get_graph_checks_registry(framework).checks:
            yield check, None


def is_ledgered(check):
    """Derives from aip_support.Ledgered (checkov may import that module under another name: match by name)."""
    return any(cls.__name__ == "Ledgered" and cls.__module__.rsplit(".", 1)[-1] == "aip_support" for cls in type(check).__mro__)


def run_shares(shares, faults):
    """Run the first share here and each other in a forked copy of this process: the copies start with
    checkov imported and every check loaded, which is most of a worker's start-up, at no cost."""
    children = []
    for share in shares[1:]:
        with tempfile.NamedTemporaryFile(prefix="aiplane-share-", suffix=".json", delete=False) as handle:
            answer_path = handle.name
        pid = os.fork()
        if pid == 0:  # the copy: run its share, write its answer, and leave without running the parent's exit
            code = 1
            try:
                answer = {"scans": {item["name"]: scan(item) for item in share}, "faults": faults.faults}
                with open(answer_path, "w", encoding="utf-8") as out:
                    out.write(json.dumps(answer))
                code = 0
            finally:
                os._exit(code)
        children.append((pid, answer_path))
    scans = {item["name"]: scan(item) for item in shares[0]} if shares else {}
    for pid, answer_path in children:
        _, status = os.waitpid(pid, 0)
        try:
            if status != 0:
                raise RuntimeError(f"a forked scan worker exited with status {status}")
            with open(answer_path, encoding="utf-8") as answer_file:
                answer = json.load(answer_file)
        finally:
            os.unlink(answer_path)
        scans.update(answer["scans"])
        faults.faults += [fault for fault in answer["faults"] if fault not in faults.faults]
    return scans


def main():
    job = json.loads(sys.stdin.read())
    faults = FaultLog()
    logging.getLogger().addHandler(faults)
    if not CHECKS_PRELOADED:
        load_checks(job["external_checks_dir"])
    by_name = {item["name"]: item for item in job["scans"]}
    shares = [[by_name[name] for name in share] for share in job["shares"]] if job.get("shares") else [job["scans"]]
    scans = run_shares(shares, faults)
    custom, checked_types, check_ids = {}, set(), set()
    for check, entity in registered_checks():
        check_ids.add(check.id)
        if entity is not None:
            checked_types.add(entity)
        if check.id.startswith("AIP_"):
            entry = custom.setdefault(check.id, {"types": set(), "ledgered": entity is None or is_ledgered(check)})
            if entity is not None:
                entry["types"].add(entity)
    document = json.dumps({
        "checkov_version": checkov_version,
        "loaded_custom_checks": sorted(custom),
        "check_ids": sorted(check_ids),
        "custom_checks": {check_id: {"types": sorted(entry["types"]), "ledgered": entry["ledgered"]} for check_id, entry in custom.items()},
        "checked_types": sorted(checked_types),
        "faults": faults.faults,
        "scans": scans,
    })
    # One write to the real stdout: checkov's colorama wraps sys.stdout, and json.dump's many small writes
    # through that wrapper cost a third of a second on a production stack.
    sys.__stdout__.write(document)
    sys.__stdout__.flush()


# The gate names the checks folder on the command line, so that loading it overlaps the stack's synthesis too.
CHECKS_PRELOADED = len(sys.argv) > 1
if CHECKS_PRELOADED:
    load_checks(sys.argv[1])

if __name__ == "__main__":
    main()
