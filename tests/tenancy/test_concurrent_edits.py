"""`tenant add`/`remove` rewrite the stack file under an advisory lock: concurrent runs serialize and none
loses another's tenant; the file keeps its mode and its symlink; a read-only file is refused; a run killed
mid-way leaves nothing a later run does not clean."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ruamel.yaml import YAML

AIPLANE = [sys.executable, "-m", "aiplane"]


def tenants(path) -> list[str]:
    return [tenant["name"] for tenant in (YAML(typ="safe").load(path.read_text()).get("config", {}).get("aiplane:tenants") or [])]


def add(project, name: str) -> subprocess.Popen:
    return subprocess.Popen([*AIPLANE, "tenant", "add", name, "--blueprint", "managed-api", "--stack", "dev"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_adds_keep_every_tenant(project_copy):
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    runs = [add(project_copy, name) for name in ("alpha", "bravo", "charlie")]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    assert {"alpha", "bravo", "charlie"} <= set(tenants(stack))


def test_the_file_keeps_its_mode_and_its_symlink(project_copy):
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    real = project_copy / "real-dev.yaml"
    stack.rename(real)
    stack.symlink_to(real)
    os.chmod(real, 0o640)
    run = add(project_copy, "delta")
    assert run.wait(timeout=600) == 0, run.stderr.read()
    assert stack.is_symlink() and "delta" in tenants(real)
    assert real.stat().st_mode & 0o777 == 0o640


def test_a_read_only_stack_file_is_refused_with_one_line(project_copy):
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    before = stack.read_bytes()
    os.chmod(stack, 0o444)
    run = add(project_copy, "echo")
    _, err = run.communicate(timeout=600)
    assert run.returncode == 2 and err.strip().splitlines() == ["stacks/Pulumi.dev.yaml: is read-only; nothing was written"], err
    assert stack.read_bytes() == before


def test_a_run_killed_mid_way_leaves_nothing_a_later_run_does_not_clean(project_copy):
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    before = stack.read_bytes()
    for delay in (0.5, 1.5, 3.0):
        run = add(project_copy, "foxtrot")
        time.sleep(delay)
        run.send_signal(signal.SIGKILL)
        run.wait()
        text = stack.read_bytes()
        assert text == before or b"foxtrot" in text  # never a partial file
        if text != before:
            stack.write_bytes(before)
    (stack.parent / ".Pulumi.dev.yaml.stale1234").write_text("left by a killed run")
    run = add(project_copy, "golf")
    assert run.wait(timeout=600) == 0, run.stderr.read()
    assert [p.name for p in stack.parent.iterdir() if p.name.startswith(".Pulumi.dev.yaml.")] == []  # no scratch file, no lock file
