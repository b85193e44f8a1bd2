"""Run checkov, in its own virtualenv, as a subprocess; fail closed on anything short of a full report.

(Named scanner, not checkov: the worker runs with this folder first on sys.path, where a checkov.py would
shadow the real package.)

Fail closed means: no checkov, a crash, a timeout, output that is not the expected JSON, parsing errors
on our files, or one of our custom checks not loaded — each is an EngineError (exit 3), never a pass.
What checkov lets through inside a well-formed answer is `aiplane.policy.answer`'s to refuse.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiplane.errors import AiplaneError, InputError

WORKER = Path(__file__).with_name("worker.py")
DEFAULT_TIMEOUT_SECONDS = 300
CHECKOV_OVERRIDE = "AIPLANE_CHECKOV"
JOBS_OVERRIDE = "AIPLANE_JOBS"
ANSWER_FIELDS = frozenset({"checkov_version", "loaded_custom_checks", "check_ids", "custom_checks", "checked_types", "faults", "scans"})


def default_jobs() -> int:
    """Scans a gate run runs at once (the worker's forked copies): `$AIPLANE_JOBS` if set, else one per core."""
    configured = os.environ.get(JOBS_OVERRIDE)
    if configured is None:
        return os.cpu_count() or 1
    if not configured.isdigit() or int(configured) < 1:
        raise InputError(f"{JOBS_OVERRIDE}: {configured!r} is not a whole number of at least 1")
    return int(configured)


class EngineError(AiplaneError):
    """The policy engine could not give a complete answer. Exit 3."""

    exit_code = 3


@dataclass(frozen=True)
class Scan:
    """One checkov run: a Terraform plan, a folder of manifests, or both. `cost` (the resources in it) is what
    the scans are shared out among the workers by."""

    name: str
    plan: Path | None = None
    manifests: Path | None = None
    cost: int = 1


def checkov_python(project_dir: Path) -> Path:
    """The python of checkov's virtualenv: beside `$AIPLANE_CHECKOV` if set, else `.venv-checkov`."""
    override = os.environ.get(CHECKOV_OVERRIDE)
    checkov = Path(override) if override else project_dir / ".venv-checkov" / "bin" / "checkov"
    python = checkov.parent / "python"
    if not checkov.is_file() or not python.is_file():
        where = f"{CHECKOV_OVERRIDE}={override}" if override else str(checkov)
        raise EngineError(f"checkov not found ({where}): run `make setup`, or point {CHECKOV_OVERRIDE} at a checkov executable")
    return python


class CheckovSession:
    """Starts checkov's worker at once, so that its imports (and the loading of the checks folder, where it
    is named) overlap the synthesis that runs meanwhile; `run` hands it the scans in `jobs` shares, which it
    runs at once in forked copies of itself."""

    def __init__(self, project_dir: Path, timeout: float = DEFAULT_TIMEOUT_SECONDS, jobs: int = 1, checks_dir: Path | None = None):
        self.timeout = timeout
        self.jobs = max(1, jobs)
        self.python = checkov_python(project_dir)
        environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR", "PYTHONDONTWRITEBYTECODE": "1"}
        command = [str(self.python), str(WORKER), *([str(checks_dir)] if checks_dir else [])]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)

    def run(self, scans: list[Scan], external_checks_dir: Path, expected_custom_checks: set[str]) -> dict[str, Any]:
        job = json.dumps({
            "external_checks_dir": str(external_checks_dir),
            "scans": [_job_scan(scan) for scan in scans],
            "shares": [[scan.name for scan in share] for share in share_out(scans, self.jobs) if share],
        })
        try:
            stdout, stderr = self.process.communicate(job, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise EngineError(f"checkov did not finish within {self.timeout:.0f}s") from None
        if self.process.returncode != 0:
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineError(f"checkov failed (exit {self.process.returncode}): {last}")
        try:
            result = json.loads(stdout)
        except json.JSONDecodeError:
            raise EngineError("checkov's worker printed something other than its JSON report") from None
        if not isinstance(result, dict) or ANSWER_FIELDS - set(result) or not all(
            isinstance(scan, dict) and {"results", "parsing_errors", "ledger"} <= set(scan) for scan in result["scans"].values()
        ):
            raise EngineError("checkov's worker answered without the fields the gate verifies (a different worker?)")
        missing = expected_custom_checks - set(result["loaded_custom_checks"])
        if missing:
            raise EngineError(f"checkov did not load these aiplane checks: {', '.join(sorted(missing))} (see `--debug`)")
        absent = [scan.name for scan in scans if scan.name not in result["scans"]]
        if absent:
            raise EngineError(f"checkov's worker answered nothing for the scan {absent[0]} (a different worker?)")
        for name, scan in result["scans"].items():
            if scan["parsing_errors"]:
                raise EngineError(f"checkov could not parse {', '.join(scan['parsing_errors'])} for stack {name.split('/')[0]}")
        return result

    def abandon(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def _job_scan(scan: Scan) -> dict[str, str | None]:
    return {"name": scan.name, "plan": str(scan.plan) if scan.plan else None, "manifests": str(scan.manifests) if scan.manifests else None}


def share_out(scans: list[Scan], shares: int) -> list[list[Scan]]:
    """The scans in `shares` groups of about equal cost: each, the costliest first, to the group that costs
    least so far."""
    groups: list[list[Scan]] = [[] for _ in range(shares)]
    totals = [0] * shares
    for scan in sorted(scans, key=lambda s: (-s.cost, s.name)):
        lightest = totals.index(min(totals))
        groups[lightest].append(scan)
        totals[lightest] += scan.cost
    return groups


def run_checkov(project_dir: Path, scans: list[Scan], external_checks_dir: Path, expected_custom_checks: set[str]) -> dict[str, Any]:
    session = CheckovSession(project_dir)
    try:
        return session.run(scans, external_checks_dir, expected_custom_checks)
    finally:
        session.abandon()


if __name__ == "__main__":  # pragma: no cover - a debugging aid: python -m aiplane.policy.scanner PLAN
    print(json.dumps(run_checkov(Path.cwd(), [Scan("debug", Path(sys.argv[1]))], Path("policies/checks"), set()), indent=2))
