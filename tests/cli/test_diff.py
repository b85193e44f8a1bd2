"""`aiplane diff` on a real git history: a commit that raises a pool, adds a model and renames a bucket."""
from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from rich.console import Console
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.diff import review_stack
from aiplane.diff.report import render_cli, render_json
from tests.conftest import PROJECT_DIR, edit

runner = CliRunner()

NEW_MODEL = """        - name: llama-3-2-3b
          pool: chat
          parametersBillion: 3.21
          layers: 28
          kvHeads: 8
          headDim: 128
          contextTokens: 4096
          promptTokens: 800
          completionTokens: 250
          peakConcurrency: 16
          p95LatencySeconds: 30
    storage:
"""
ALLOWANCE = """  aiplane:allowReplacements:
    - resource: aws_s3_bucket.storage-datasets
      reason: The datasets bucket moves to the name the data team's tooling expects; it holds no data yet.
      expires: 2099-01-01
"""


def git(project, *args):
    subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


def cost_total(project) -> float:
    result = runner.invoke(app, ["cost", "--stack", "dev", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["total"]


@pytest.fixture
def history(project_copy):
    """A repository whose main commit is the shipped dev stack with a named datasets bucket, and whose
    working tree is a second commit: the chat pool raised (more peak traffic), a model added, the bucket renamed."""
    edit(project_copy, "dev", "datasets: {noncurrentExpireAfterDays: 7}", "datasets: {noncurrentExpireAfterDays: 7, name: acme-dev-datasets-a}")
    (project_copy / ".gitignore").write_text("build/\n.venv-checkov\n")
    git(project_copy, "init", "-q", "-b", "main")
    git(project_copy, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "add", "-A")
    git(project_copy, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "-m", "base")
    base_cost = cost_total(project_copy)
    edit(project_copy, "dev", "          peakConcurrency: 8\n", "          peakConcurrency: 24\n")
    edit(project_copy, "dev", "    storage:\n", NEW_MODEL)
    edit(project_copy, "dev", "name: acme-dev-datasets-a}", "name: acme-dev-datasets-b}")
    git(project_copy, "checkout", "-q", "-b", "change")
    git(project_copy, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "-am", "raise chat, add a model, rename a bucket")
    return project_copy, base_cost


def test_the_diff_of_a_change_names_every_change_its_cost_and_the_replacement_it_needs(history):
    project, base_cost = history
    reviewed = review_stack(project, "dev", None)  # what `aiplane diff --stack dev` computes, rendered below
    assert reviewed.exit_code == 1  # AIP_CHG_1: the bucket's replacement is not allowed yet
    diff = json.loads(render_json(reviewed))
    documented = re.findall(r"^\| `(\w+)` \|", (PROJECT_DIR / "docs" / "diff.md").read_text(), re.M)
    assert sorted(documented) == sorted(diff)  # docs/diff.md documents every key, and no other
    assert diff["base"]["ref"].startswith("main (merge base") and diff["base"]["stackExists"]
    assert diff["head"]["uncommittedChanges"] == []
    changes = {change["resource"]: change for change in diff["changes"]}

    node_group = changes["aws_eks_node_group.gpu-chat-nodes"]
    assert node_group["action"] == "update"
    paths = {entry["path"] for entry in node_group["inputs"]}
    assert {"scalingConfig.desiredSize", "scalingConfig.maxSize"} & paths and all(p.startswith("scalingConfig.") for p in paths)

    created = [change for change in diff["changes"] if change["component"] == "serving-llama-3-2-3b"]
    assert created and {change["action"] for change in created} == {"create"}
    assert any(change["type"] == "kubernetes:apps/v1:Deployment" for change in created)

    bucket = changes["aws_s3_bucket.storage-datasets"]
    assert bucket["action"] == "replace" and bucket["replacedBy"] == ["bucket"]
    assert bucket["inputs"] == [{"path": "bucket", "before": "acme-dev-datasets-a", "after": "acme-dev-datasets-b", "forcesReplacement": True}]

    assert diff["cost"]["before"] == base_cost
    assert diff["cost"]["delta"] == pytest.approx(cost_total(project) - base_cost, abs=0.01)
    assert diff["cost"]["delta"] > 0 and "gpu-chat" in diff["cost"]["byComponent"]
    chat = diff["capacity"]["chat"]
    assert chat["after"]["max"] > chat["before"]["max"]

    (blocked,) = [f for f in diff["policy"]["changeChecks"] if f["status"] != "passed"]
    assert (blocked["check"], blocked["status"], blocked["resource"]) == ("AIP_CHG_1", "violation", "aws_s3_bucket.storage-datasets")

    for width in (80, 100, 120, 200):  # the terminal view: every address, path and figure whole
        console = Console(file=io.StringIO(), width=width, highlight=False)
        render_cli(reviewed, console)
        shown = console.file.getvalue()
        assert "…" not in shown and "aws_s3_bucket.storage-datasets" in shown.split()
        assert {f"{row['delta']:+,.2f}" for row in diff["cost"]["byComponent"].values()} <= set(shown.replace("(", " ").replace(")", " ").split())

    # Allowed in the stack file, with a reason: the same change passes.
    edit(project, "dev", "  aiplane:tenants:\n", ALLOWANCE + "  aiplane:tenants:\n")
    result = runner.invoke(app, ["diff", "--stack", "dev", "--format", "json"])
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["head"]["uncommittedChanges"] == ["stacks/Pulumi.dev.yaml"]
    assert [(f["check"], f["status"]) for f in diff["policy"]["changeChecks"]] == [("AIP_CHG_1", "passed")]


def test_a_base_that_is_not_a_commit_is_bad_input(history):
    result = runner.invoke(app, ["diff", "--stack", "dev", "--base", "no-such-branch"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "--base: 'no-such-branch' is not a commit in this repository"


def test_a_stack_the_base_lacks_is_new_and_the_uncommitted_file_is_named(project_copy):
    (project_copy / ".gitignore").write_text("build/\n.venv-checkov\n")
    staged = (project_copy / "stacks" / "Pulumi.dev.yaml").read_text()
    (project_copy / "stacks" / "Pulumi.dev.yaml").unlink()
    git(project_copy, "init", "-q", "-b", "main")
    git(project_copy, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "add", "-A")
    git(project_copy, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "-m", "no dev stack yet")
    (project_copy / "stacks" / "Pulumi.dev.yaml").write_text(staged)
    result = runner.invoke(app, ["diff", "--stack", "dev", "--base", "main", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "A new stack: it does not exist at the base." in result.stdout
    assert "Includes uncommitted changes to 1 file." in result.stdout
    assert "~ 0 to update, ± 0 to replace, - 0 to delete" in result.stdout
