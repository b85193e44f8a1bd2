"""Every hostile input of the corpus is refused at the edge: exit code 2, one line on stderr naming the file or
flag, the field and the value, no traceback, and every file of the project as it was before the run."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.policy.scan_cache import CACHE_FOLDER
from tests.hostile.corpus import CORPUS, Hostile

KINDS = ("stack", "blueprint", "set", "waiver", "profile", "flag")


def apply(case: Hostile, project: Path) -> None:
    if case.file is None:
        return
    path = project / case.file
    if case.fifo:
        os.mkfifo(path)
    if case.new is not None:
        if case.old is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(case.new)
        else:
            text = path.read_text()
            assert text.count(case.old) == 1, f"{case.name}: {case.old!r} must occur once in {case.file}"
            path.write_text(text.replace(case.old, case.new))
    if case.read_only:
        path.chmod(0o444)


def snapshot(project: Path, outputs: tuple[str, ...] = ()) -> dict[str, tuple[bytes, int]]:
    """Every file under the project (checkov's linked virtualenv, the scan cache and the folders in `outputs`
    aside): its bytes and its mode. The cache is the machine's, not the project's: a gate run that judged
    the stack adds checkov's answers to it (each entry whole) even where the command then refuses its input."""
    outputs = (*outputs, CACHE_FOLDER)
    files = {}
    for folder, subfolders, names in os.walk(project):
        subfolders[:] = [
            name for name in subfolders
            if not (Path(folder) / name).is_symlink() and str((Path(folder) / name).relative_to(project)) not in outputs
        ]
        for name in names:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            # A named pipe's bytes are not read: that would wait for a writer.
            files[str(path.relative_to(project))] = (path.read_bytes() if path.is_file() else b"", path.stat().st_mode)
    return files


def test_the_corpus_covers_every_kind_of_input_with_at_least_sixty_cases():
    kinds = Counter(case.kind for case in CORPUS)
    assert len(CORPUS) >= 60
    assert set(kinds) == set(KINDS), kinds
    assert len({(case.kind, case.name) for case in CORPUS}) == len(CORPUS), "case names repeat"


@pytest.mark.parametrize("case", CORPUS, ids=[f"{case.kind}-{case.name}" for case in CORPUS])
def test_a_hostile_input_is_refused_with_one_line_and_changes_nothing(project_copy, case):
    apply(case, project_copy)
    # `check` writes each stack's artifacts (build/<stack>) before checkov judges them: they are its output,
    # what `plan` writes for the same stack file. The gate learns which check ids exist from checkov's answer,
    # so a profile or waiver naming no check is refused after that; every input file must still be untouched.
    outputs = ("build",) if case.argv[0] == "check" else ()
    before = snapshot(project_copy, outputs)
    result = CliRunner().invoke(app, list(case.argv))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for name in case.names:
        assert name in lines[0], f"{name!r} is not named in: {lines[0]}"
    after = snapshot(project_copy, outputs)
    assert after == before, sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not (project_copy / "MARKER").exists()
