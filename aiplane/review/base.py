"""The base a change is reviewed against: a commit of the project's git repository, read from git's objects
into a scratch folder (the user's working tree and index are never touched), then planned and gated by
that commit's own code in a subprocess, so that a change to a component is reviewed as well as a change to
a stack file."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiplane.errors import AiplaneError, InputError
from aiplane.loader import STACKS_FOLDER, stack_path
from aiplane.synth.graph import ResourceGraph

# Runs `aiplane` from the scratch copy's own aiplane/ and components/ when the commit holds them (this
# repository does), else from the installed aiplane (a project that only uses it).
BOOTSTRAP = """
import importlib.util, sys
from pathlib import Path
root = Path(sys.argv[1])
for name, folder in (("aiplane", root / "aiplane"), ("aiplane.components", root / "components")):
    if (folder / "__init__.py").is_file():
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
sys.argv = ["aiplane", *sys.argv[2:]]
from aiplane.cli import main
main()
"""
GIT_TIMEOUT_SECONDS = 60
BASE_TIMEOUT_SECONDS = 900


class BaseError(AiplaneError):
    """The base commit could not be planned or gated by its own code: not the change's fault. Exit 3."""

    exit_code = 3


@dataclass(frozen=True)
class Base:
    commit: str
    described: str  # what the user asked for, as messages name it: "origin/main (merge base 3f2c1ab)"
    graph: ResourceGraph | None  # None: the stack does not exist at the base
    summary: dict[str, Any]
    findings: list[dict[str, Any]]


def git(project_dir: Path, *args: str, binary: bool = False) -> Any:
    try:
        completed = subprocess.run(
            ["git", "-C", str(project_dir), *args], capture_output=True, timeout=GIT_TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError:
        raise InputError("--base: git is not installed; `aiplane diff` reads the base from the project's git repository") from None
    if completed.returncode != 0:
        raise GitError(completed.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["git failed"])
    # Whitespace ends a line of output only: `git status --porcelain` starts lines with a space.
    return completed.stdout if binary else completed.stdout.decode().rstrip("\n")


class GitError(Exception):
    def __init__(self, lines: list[str]):
        self.line = lines[0] if lines else ""
        super().__init__(self.line)


def repository_root(project_dir: Path) -> Path:
    try:
        return Path(git(project_dir, "rev-parse", "--show-toplevel"))
    except GitError:
        raise InputError(f"--base: {project_dir} is not in a git repository; `aiplane diff` compares against a commit") from None


def default_base(project_dir: Path) -> tuple[str, str]:
    """The merge base of HEAD with the default branch: origin's HEAD if the clone knows it, else main or master."""
    candidates = []
    try:
        candidates.append(git(project_dir, "symbolic-ref", "--short", "refs/remotes/origin/HEAD"))
    except GitError:
        pass
    candidates += ["origin/main", "main", "origin/master", "master"]
    for branch in candidates:
        try:
            commit = git(project_dir, "merge-base", "HEAD", branch)
        except GitError:
            continue
        return commit, f"{branch} (merge base {commit[:7]})"
    raise InputError("--base: no default branch (origin/HEAD, main or master) shares history with HEAD; name one with --base REF")


def resolve_base(project_dir: Path, ref: str | None) -> tuple[str, str]:
    repository_root(project_dir)
    if ref is None:
        return default_base(project_dir)
    if ref.startswith("-"):
        raise InputError(f"--base: {ref!r} is not a commit (a git ref may not start with '-')")
    try:
        commit = git(project_dir, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except GitError:
        raise InputError(f"--base: {ref!r} is not a commit in this repository") from None
    return commit, f"{ref} ({commit[:7]})"


def uncommitted_changes(project_dir: Path) -> list[str]:
    """The project's files that differ from HEAD (staged, unstaged or untracked): what the head side adds."""
    status = git(project_dir, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--", ".")
    return [entry[3:] for entry in status.split("\0") if len(entry) > 3 and entry[2] == " "]


def export_commit(project_dir: Path, commit: str, target: Path) -> None:
    """The project's folder at `commit`, written under `target` from git's objects (`git archive`)."""
    prefix = git(project_dir, "rev-parse", "--show-prefix")
    tree = f"{commit}:{prefix}" if prefix else commit
    try:
        archive = git(project_dir, "archive", "--format=tar", tree, binary=True)
    except GitError as error:
        raise InputError(f"--base: the project folder does not exist at {commit[:7]} ({error.line})") from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter=_inside_the_tree)


def _inside_the_tree(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's `data` filter, skipping what it refuses (an absolute path, a link out of the tree, a device)
    instead of failing: none of those is a project input, and a commit may hold one (a committed venv link)."""
    try:
        return tarfile.data_filter(member, path)
    except tarfile.FilterError:
        return None


def plan_base(project_dir: Path, environment: str, commit: str, described: str, scratch: Path) -> Base:
    """Plan and gate `environment` at `commit` with that commit's code; a stack the commit lacks is new."""
    export_commit(project_dir, commit, scratch)
    if not stack_path(scratch / STACKS_FOLDER, environment).is_file():
        return Base(commit, described, None, {}, [])
    checkov = project_dir / ".venv-checkov"
    if checkov.exists() and not (scratch / ".venv-checkov").exists():
        (scratch / ".venv-checkov").symlink_to(checkov.resolve())
    report = scratch / "base-check.json"
    environment_variables = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-c", BOOTSTRAP, str(scratch), "--project-dir", str(scratch),
               "check", "--stack", environment, "--format", "json", "--output", str(report)]
    try:
        completed = subprocess.run(command, cwd=scratch, capture_output=True, text=True, timeout=BASE_TIMEOUT_SECONDS, env=environment_variables)
    except subprocess.TimeoutExpired:
        raise BaseError(f"the base {described} did not plan within {BASE_TIMEOUT_SECONDS} s") from None
    if completed.returncode not in (0, 1) or not report.is_file():
        last = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise BaseError(f"the base {described} does not plan and check with its own code (exit {completed.returncode}): {last}")
    build = scratch / "build" / environment
    graph = ResourceGraph.from_json((build / "graph.json").read_text(encoding="utf-8"))
    summary = json.loads((build / "summary.json").read_text(encoding="utf-8"))
    findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
    return Base(commit, described, graph, summary, findings)


def scratch_folder(project_dir: Path) -> Path:
    """A fresh scratch folder under the project's build/ (ignored by git, on the same disk). Not hidden:
    checkov skips files under a folder whose name starts with a dot; not a stack name (no underscore is)."""
    folder = project_dir / "build" / "diff_base"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
