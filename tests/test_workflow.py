"""The pull-request workflow: its diff step run for real in bash (with a stand-in `aiplane` that records how it
was called), and the settings the comment and the cache depend on."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from aiplane.files import read_yaml
from tests.conftest import PROJECT_DIR

WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "policy.yml"


def steps() -> list[dict]:
    return read_yaml(WORKFLOW)["jobs"]["aiplane-check"]["steps"]


def step(name: str) -> dict:
    return next(s for s in steps() if s.get("name") == name)


STAND_IN = """#!/bin/sh
# aiplane diff --stack S --base B --format markdown --output F: records its arguments, writes F, fails for prod.
echo "$@" >> "$CALLS"
while [ $# -gt 0 ]; do
  case "$1" in --stack) stack="$2"; shift;; --output) out="$2"; shift;; esac; shift
done
printf '### aiplane diff %s\\n' "$stack" > "$out"
[ "$stack" = prod ] && exit 1
exit 0
"""


def test_the_diff_step_comments_every_stack_and_fails_when_one_fails(tmp_path: Path):
    (tmp_path / "stacks").mkdir()
    for stack in ("dev", "prod", "staging"):
        (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    aiplane = tmp_path / ".venv" / "bin" / "aiplane"
    aiplane.parent.mkdir(parents=True)
    aiplane.write_text(STAND_IN)
    aiplane.chmod(0o755)
    diff = step("Diff every stack against the base branch")
    env = {**os.environ, "BASE": "origin/main", "CALLS": str(tmp_path / "calls"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    result = subprocess.run(["bash", "-e", "-c", diff["run"]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr  # prod's diff failed: the job fails, after every stack was diffed
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [f"diff --stack {stack} --base origin/main --format markdown --output diff-{stack}.md" for stack in ("dev", "prod", "staging")]
    comment = (tmp_path / "aiplane-diff.md").read_text()
    assert comment.count("### aiplane diff") == 3
    assert (tmp_path / "summary.md").read_text() == comment
    post = step("Post the diff on the pull request")
    assert post["uses"].startswith("marocchino/sticky-pull-request-comment@")
    assert post["with"] == {"header": "aiplane-diff", "path": "aiplane-diff.md"}
    assert "always()" in post["if"] and "always()" in diff["if"]


def test_the_base_is_fetched_and_the_virtualenvs_are_cached_on_their_pins():
    workflow = read_yaml(WORKFLOW)
    assert workflow["permissions"]["pull-requests"] == "write"
    checkout = next(s for s in steps() if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the merge base and the base branch's objects
    cache = step("Cache the virtualenvs")
    assert set(cache["with"]["path"].split()) == {".venv", ".venv-checkov", ".venv-litellm"}
    assert "hashFiles('pyproject.toml', 'Makefile')" in cache["with"]["key"]
    names = [s.get("name") for s in steps()]
    assert names.index("Cache the virtualenvs") < names.index("Set up aiplane and its checkov")
