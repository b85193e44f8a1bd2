"""The README and docs/ mention no project file that does not exist: every relative link resolves, and every
path in backticks names a file or folder of the repository (or is one of the few names below, which are
outputs aiplane writes or files of other software)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import PROJECT_DIR

LINK = re.compile(r"\]\(([^)\s]+)\)")
TICKED = re.compile(r"`([^`\s]+)`")
PATH_LIKE = re.compile(r"^[A-Za-z0-9_.\-/]+$")
FILE_NAME = re.compile(r"\.(py|ya?ml|json|md|toml|txt|sh|cfg|ini|sarif|xml|rs|go|j2)$")
NOT_PROJECT_FILES = {
    # What aiplane writes (build/ is ignored by git).
    "build/": "aiplane plan's output folder", "build/diff_base/": "aiplane diff's scratch copy of the base",
    ".aiplane-cache/": "aiplane check's scan cache (it ignores itself for git)",
    "graph.json": "written by aiplane plan", "summary.json": "written by aiplane plan", "DIR/k8s/": "written by aiplane plan --out DIR",
    # Files of other software, named where the docs cite them.
    "settings.json": "VS Code's settings", "src/settings.rs": "a file of an upstream project the README credits",
    "provider/pkg/provider/diff.go": "pulumi-kubernetes' source, cited", "config.json": "a model's Hugging Face config",
    "config.yaml": "LiteLLM's config file, as the gateway mounts it", "config/local.yaml": "qdrant's config file in its pod",
}


def repository_paths() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {str(parent) + "/" for path in listed for parent in PurePosixPath(path).parents if str(parent) != "."}
    return set(listed) | folders


def missing_mentions(text: str, doc: Path, paths: set[str]) -> list[str]:
    """The mentions in a document's text of project files that do not exist."""
    missing = []
    for link in LINK.findall(text):
        target = link.split("#", 1)[0]
        if target and not re.match(r"^[a-z]+:", target) and not (doc.parent / target).exists():
            missing.append(f"link {link}")
    tops = {path.split("/", 1)[0] for path in paths}
    for token in (match.rstrip(".,:;") for match in TICKED.findall(text)):
        if not PATH_LIKE.match(token) or token.startswith("/") or token in NOT_PROJECT_FILES:
            continue
        if token.split("/", 1)[0] in tops and ("/" in token or token in paths):
            if token not in paths and token + "/" not in paths:
                missing.append(token)
        elif (FILE_NAME.search(token) or token.endswith("/")) and not any(path == token or path.endswith("/" + token) for path in paths):
            missing.append(token)  # a file named on its own (`loader.py`) exists somewhere in the repository
    return missing


DOCS = ["README.md", *sorted(str(path.relative_to(PROJECT_DIR)) for path in (PROJECT_DIR / "docs").glob("*.md"))]


@pytest.mark.parametrize("name", DOCS)
def test_docs_mention_only_files_that_exist(name):
    doc = PROJECT_DIR / name
    assert missing_mentions(doc.read_text(encoding="utf-8"), doc, repository_paths()) == []


def test_a_mention_of_a_file_that_is_gone_is_found():
    doc = PROJECT_DIR / "docs" / "policies.md"
    text = "See [the gate](../aiplane/policy/gate.py), [gone](../aiplane/policy/old_gate.py), `aiplane/loader.py`, " \
           "`aiplane/policy/old_gate.py`, `stacks/Pulumi.qa.yaml`, `loader.py`, `old_loader.py`, `aiplane.io/pool`, `graph.json`."
    assert missing_mentions(text, doc, repository_paths()) == [
        "link ../aiplane/policy/old_gate.py", "aiplane/policy/old_gate.py", "stacks/Pulumi.qa.yaml", "old_loader.py",
    ]
