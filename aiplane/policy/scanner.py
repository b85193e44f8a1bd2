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

from aiplane.errors import AiplaneError

WORKER = Path(__file__).with_name("worker.py")
DEFAULT_TIMEOUT_SECONDS = 300
CHECKOV_OVERRIDE = "AIPLANE_CHECKOV"


class EngineError(AiplaneError):
    """The policy engine could not give a complete answer. Exit 3."""

    exit_code = 3


@dataclass(frozen=True)
class Scan:
    name: str
    plan: Path | None = None
    manifests: Path | None = None


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
    """Starts checkov's worker at once, so that its imports overlap the synthesis that runs meanwhile."""

    def __init__(self, project_dir: Path, timeout: float = DEFAULT_TIMEOUT_SECONDS):
        self.timeout = timeout
        self.python = checkov_python(project_dir)
        environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR", "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen(
            [str(self.python), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )

    def run(self, scans: list[Scan], external_checks_dir: Path, expected_custom_checks: set[str]) -> dict[str, Any]:
        job = {
            "external_checks_dir": str(external_checks_dir),
            "scans": [
                {"name": s.name, "plan": str(s.plan) if s.plan else None, "manifests": str(s.manifests) if s.manifests else None}
                for s in scans
            ],
        }
        try:
            stdout, stderr = self.process.communicate(json.dumps(job), timeout=self.timeout)
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
        shape = {"checkov_version", "loaded_custom_checks", "check_ids", "custom_checks", "checked_types", "faults", "scans"}
        if not isinstance(result, dict) or shape - set(result) or not all(
            isinstance(scan, dict) and {"results", "parsing_errors", "ledger"} <= set(scan) for scan in result["scans"].values()
        ):
            raise EngineError("checkov's worker answered without the fields the gate verifies (a different worker?)")
        missing = expected_custom_checks - set(result["loaded_custom_checks"])
        if missing:
            raise EngineError(f"checkov did not load these aiplane checks: {', '.join(sorted(missing))} (see `--debug`)")
        for name, scan in result["scans"].items():
            if scan["parsing_errors"]:
                raise EngineError(f"checkov could not parse {', '.join(scan['parsing_errors'])} for stack {name}")
        return result

    def abandon(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def run_checkov(project_dir: Path, scans: list[Scan], external_checks_dir: Path, expected_custom_checks: set[str]) -> dict[str, Any]:
    session = CheckovSession(project_dir)
    try:
        return session.run(scans, external_checks_dir, expected_custom_checks)
    finally:
        session.abandon()


if __name__ == "__main__":  # pragma: no cover - a debugging aid: python -m aiplane.policy.scanner PLAN
    print(json.dumps(run_checkov(Path.cwd(), [Scan("debug", Path(sys.argv[1]))], Path("policies/checks"), set()), indent=2))
