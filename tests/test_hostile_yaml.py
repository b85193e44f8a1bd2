"""Stack files written to break the loader: an alias bomb is refused within a second, a boolean or an infinite
number where a count is meant is refused; each with one line naming the file, the field and the value."""
from __future__ import annotations

import time

import pytest
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


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("        minSize: 1\n", "        minSize: true\n",
         "stacks/Pulumi.dev.yaml: aiplane:platform.cluster.systemNodes.minSize: true is a boolean; a number is expected"),
        ("          p95LatencySeconds: 30\n", "          p95LatencySeconds: .inf\n",
         "stacks/Pulumi.dev.yaml: aiplane:platform.compute.models[0].p95LatencySeconds: inf is invalid: input should be a finite number"),
        ("          p95LatencySeconds: 30\n", "          p95LatencySeconds: 1e400\n",
         "stacks/Pulumi.dev.yaml: aiplane:platform.compute.models[0].p95LatencySeconds: inf is invalid: input should be a finite number"),
    ],
)
def test_a_boolean_or_an_infinite_number_is_not_a_number(project_copy, old, new, line):
    """pydantic reads `true` as 1 and lets `.inf` through, which would reach summary.json as non-JSON Infinity."""
    stack = project_copy / "stacks" / "Pulumi.dev.yaml"
    before = stack.read_text()
    assert old in before
    stack.write_text(before.replace(old, new, 1))
    result = CliRunner().invoke(app, ["plan", "--stack", "dev"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [line]
    assert not (project_copy / "build" / "dev" / "summary.json").exists()
