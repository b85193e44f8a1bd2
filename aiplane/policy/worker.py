"""Runs inside checkov's own virtualenv (its pins conflict with pulumi's): imports nothing from aiplane.

Started before the stack is synthesized, it spends the wait importing checkov (most of checkov's start-up);
then it reads one job from stdin, runs checkov's terraform_plan and kubernetes runners as a library, and
writes one JSON document to stdout. Everything checkov logs goes to stderr.
Job:    {"external_checks_dir": str, "scans": [{"name": str, "plan": str | null, "manifests": str | null}]}
Result: {"checkov_version": str, "loaded_custom_checks": [ids], "scans": {name: {"results": [...], "parsing_errors": [...]}}}
"""
import gc
import json
import os
import sys

os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")  # never call the vendor API: there is no network, and no need
# A one-shot process: the cyclic collector would only rescan checkov's large heap while it imports and
# builds its graph (about 0.6 s of a production scan); the process exits when the scan is done.
gc.disable()

from checkov.common.checks_infra.registry import get_graph_checks_registry  # noqa: E402
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
                "file_path": check.file_path,
                "file_line_range": check.file_line_range,
                "guideline": check.guideline,
            }


def scan(job_scan, external_checks_dir):
    results, parsing_errors = [], []
    if job_scan.get("plan"):
        report = PlanRunner().run(
            root_folder=None,
            files=[job_scan["plan"]],
            external_checks_dir=[external_checks_dir],
            runner_filter=RunnerFilter(framework=["terraform_plan"], download_external_modules=False),
        )
        results += records(report)
        parsing_errors += list(report.parsing_errors)
    if job_scan.get("manifests"):
        report = KubernetesRunner().run(
            root_folder=job_scan["manifests"],
            external_checks_dir=[external_checks_dir],
            runner_filter=RunnerFilter(framework=["kubernetes"], download_external_modules=False),
        )
        results += records(report)
        parsing_errors += list(report.parsing_errors)
    # YAML connection checks can report the same finding twice (DESIGN.md §4).
    unique = {(r["check_id"], r["resource"], r["result"]): r for r in results}
    return {"results": list(unique.values()), "parsing_errors": sorted(set(parsing_errors))}


def main():
    job = json.loads(sys.stdin.read())
    scans = {item["name"]: scan(item, job["external_checks_dir"]) for item in job["scans"]}
    loaded = sorted(
        {check.id for checks in resource_registry.checks.values() for check in checks if check.id.startswith("AIP_")}
        | {check.id for checks in resource_registry.wildcard_checks.values() for check in checks if check.id.startswith("AIP_")}
        | {check.id for check in get_graph_checks_registry("terraform").checks if check.id.startswith("AIP_")}
    )
    document = json.dumps({"checkov_version": checkov_version, "loaded_custom_checks": loaded, "scans": scans})
    # One write to the real stdout: checkov's colorama wraps sys.stdout, and json.dump's many small writes
    # through that wrapper cost a third of a second on a production stack.
    sys.__stdout__.write(document)
    sys.__stdout__.flush()


if __name__ == "__main__":
    main()
