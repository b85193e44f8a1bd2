"""A content-addressed store of checkov's per-resource answers, so that a pull request's second `check` scans
only what it changed (`aiplane.policy.scan_tasks` decides what a key covers).

Every key starts from a fingerprint of everything that decides a result besides the resources themselves:
checkov's version (its installed distribution's name), the bytes of every file under `policies/checks/`, and
the source of the worker and of the task planner. Change any of them and every key changes: no entry is
ever read back under different checks. Where checkov's version cannot be read (a `$AIPLANE_CHECKOV` outside a
virtualenv), there is no fingerprint and no cache.

Entries are JSON files under `.aiplane-cache/scan/`, one per key, written to a temporary file and renamed
into place: two runs writing the same key write the same bytes, and a reader sees a whole file or none.
An entry that cannot be read as what was written is a miss, never an error.

Whoever can write the cache can answer for checkov, so the cache must be this machine's own: a cache folder
that git tracks (a pull request that commits forged entries, or a link to a folder that does) is refused
with exit 2 rather than read, and CI restores it only from runs on the base branch (policy.yml).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from aiplane.errors import InputError
from aiplane.files import write_text_atomic

CACHE_FOLDER = ".aiplane-cache"
SCAN_FOLDER = "scan"
_SOURCES = ("worker.py", "scan_tasks.py")


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def checkov_distribution(checkov_python: Path) -> str | None:
    """`checkov-3.3.30.dist-info`, from the virtualenv of `checkov_python`, or None where there is none."""
    found = sorted(checkov_python.parent.parent.glob("lib/python*/site-packages/checkov-*.dist-info"))
    return found[0].name if len(found) == 1 else None


def fingerprint(checkov_python: Path, checks_dir: Path) -> str | None:
    distribution = checkov_distribution(checkov_python)
    if distribution is None:
        return None
    here = Path(__file__).parent
    checks = {
        path.relative_to(checks_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(checks_dir.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    sources = {name: hashlib.sha256((here / name).read_bytes()).hexdigest() for name in _SOURCES}
    return digest(distribution, checks, sources)


class ScanCache:
    def __init__(self, root: Path, fingerprint: str):
        self.root = root
        self.fingerprint = fingerprint
        self.hits = 0
        self.misses = 0

    def key(self, *parts: Any) -> str:
        return digest(self.fingerprint, *parts)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entry = None
        valid = isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("results"), list) and isinstance(entry.get("ledger"), list)
        if valid:
            self.hits += 1
            return entry
        self.misses += 1
        return None

    def put(self, key: str, results: list[dict[str, Any]], ledger: list[dict[str, Any]]) -> None:
        ignore = self.root.parent / ".gitignore"
        if not ignore.exists():
            # As pytest does for .pytest_cache: git status stays clean in a project whose .gitignore
            # does not name the cache.
            write_text_atomic(ignore, "# written by aiplane: the scan cache is this machine's own\n*\n")
        entry = {"key": key, "results": results, "ledger": ledger}
        write_text_atomic(self._path(key), json.dumps(entry, sort_keys=True, separators=(",", ":")))


def tracked_by_git(project_dir: Path, folder: str) -> bool:
    """Whether git tracks `folder` or anything in it (False outside a git work tree)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(project_dir), "ls-files", "--", folder], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and bool(listed.stdout.strip())


def open_cache(project_dir: Path, checkov_python: Path, checks_dir: Path) -> ScanCache | None:
    if tracked_by_git(project_dir, CACHE_FOLDER):
        raise InputError(
            f"{CACHE_FOLDER}/: tracked by git; the scan cache must be this machine's own, never the repository's "
            f"(`git rm -r --cached {CACHE_FOLDER}`, or run with --no-cache)"
        )
    stamp = fingerprint(checkov_python, checks_dir)
    return ScanCache(project_dir / CACHE_FOLDER / SCAN_FOLDER, stamp) if stamp else None
