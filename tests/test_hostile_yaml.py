"""A stack file written to exhaust the loader: an alias bomb is refused within a second, with one line."""
from __future__ import annotations

import time

from typer.testing import CliRunner

from aiplane.cli import app


def alias_bomb(levels: int = 12) -> str:
    lines = ["bomb0: &bomb0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"bomb{level}: &bomb{level} [{', '.join([f'*bomb{level - 1}'] * 10)}]" for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_stack_file_is_refused_within_a_second(project_copy):
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + alias_bomb())
    started = time.monotonic()
    result = CliRunner().invoke(app, ["plan", "--stack", "dev"])
    assert time.monotonic() - started < 1.0 + 0.5  # the CLI's own start-up included
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == ["stacks/Pulumi.dev.yaml: expands to more than 200,000 YAML nodes through its aliases; refused"]
