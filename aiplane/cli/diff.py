"""`aiplane diff`: a stack's change against a base commit, for a terminal, as JSON or as one PR comment."""
from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from aiplane.cli.app import StackOption, WideOption, named_output, project_dir, stderr, stdout
from aiplane.files import display_path


class DiffFormat(str, Enum):
    cli = "cli"
    json = "json"
    markdown = "markdown"


def diff(
    stack: StackOption,
    base: Annotated[
        str | None, typer.Option("--base", help="Git ref to compare with. Default: the merge base of HEAD with the default branch.")
    ] = None,
    diff_format: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format (json: docs/diff.md).")] = DiffFormat.cli,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    wide: WideOption = False,
) -> None:
    """What a change does to a stack: resources created, updated, replaced and deleted, the cost, capacity and
    policy deltas, against a base commit planned by its own code.

    Exit 0: the change passes the gate; 1: violations (the gate's, or AIP_CHG_1 on a replacement); 2: bad
    input; 3: the engine failed, or the base does not plan.
    """
    from aiplane.diff import review_stack
    from aiplane.diff.report import render_cli, render_json, render_markdown
    from aiplane.files import write_text_atomic, writing_output
    from aiplane.loader import check_stack_name

    check_stack_name(stack)
    if output is not None:
        named_output(output, "--output", folder=False)
    with stderr.status(f"Planning and checking stack {stack} at the working tree and at the base…", spinner="dots"):
        result = review_stack(project_dir(), stack, base)
    if diff_format is DiffFormat.cli and output is None:
        render_cli(result, stdout, wide)
        raise typer.Exit(result.exit_code)
    if diff_format is DiffFormat.cli:
        from io import StringIO

        from rich.console import Console

        console = Console(file=StringIO(), width=160, highlight=False)
        render_cli(result, console, wide)
        text = console.file.getvalue()
    else:
        text = render_json(result) if diff_format is DiffFormat.json else render_markdown(result)
    if output is not None:
        with writing_output(output, "--output"):
            write_text_atomic(output, text)
        stderr.print(f"Wrote {display_path(output)}", markup=False)
    else:
        sys.stdout.write(text)
    raise typer.Exit(result.exit_code)
