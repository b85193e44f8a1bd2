"""The `aiplane` command line.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, naming file, field and value);
3 an internal failure (`--debug` shows the traceback).
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from aiplane.errors import AiplaneError, InputError
from aiplane.spec import display_path

INTERNAL_ERROR_EXIT = 3

app = typer.Typer(
    name="aiplane",
    help="AI infrastructure as code: synthesize and inspect aiplane stacks offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    debug = False
    project_dir: Path | None = None


def find_project_dir(start: Path) -> Path:
    for directory in [start, *start.parents]:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise InputError(f"--project-dir: no Pulumi.yaml in {start} or above it; run from an aiplane project or pass --project-dir")


def project_dir() -> Path:
    if State.project_dir is not None:
        if not (State.project_dir / "Pulumi.yaml").is_file():
            raise InputError(f"--project-dir: {str(State.project_dir)!r} holds no Pulumi.yaml")
        return State.project_dir.resolve()
    return find_project_dir(Path.cwd().resolve())


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn aiplane's errors into one line per problem and an exit code; never a traceback unless --debug."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except AiplaneError as error:
            if State.debug:
                traceback.print_exc()
            for line in str(error).splitlines():
                stderr.print(line, markup=False)
            raise typer.Exit(error.exit_code) from None
        except Exception as error:  # noqa: BLE001 - the CLI's last line of defence
            if State.debug:
                traceback.print_exc()
            message = " ".join(str(error).split()) or type(error).__name__
            stderr.print(f"aiplane: internal error: {type(error).__name__}: {message} (rerun with --debug for details)", markup=False)
            raise typer.Exit(INTERNAL_ERROR_EXIT) from None

    return wrapper


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    project: Annotated[
        Path | None,
        typer.Option("--project-dir", envvar="AIPLANE_PROJECT_DIR", help="The project (the folder with Pulumi.yaml). Default: found from the working directory."),
    ] = None,
) -> None:
    State.debug = debug
    State.project_dir = project


StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack (environment) name: reads stacks/Pulumi.STACK.yaml.")]


@app.command()
@reports_errors
def plan(
    stack: StackOption,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: build/STACK.")] = None,
) -> None:
    """Synthesize a stack offline (no cloud account, no Pulumi CLI) and write its resource graph."""
    from aiplane.engine import synthesize_stack
    from aiplane.files import write_text_atomic

    root_dir = project_dir()
    started = time.perf_counter()
    with stderr.status(f"Synthesizing stack {stack} under Pulumi's mocks runtime…", spinner="dots"):
        spec, graph = synthesize_stack(root_dir, stack)
    elapsed = time.perf_counter() - started
    summary = graph.summary()
    out_dir = out or root_dir / "build" / stack
    write_text_atomic(out_dir / "graph.json", graph.to_json())
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")

    stdout.print(f"[bold]aiplane plan[/bold] · stack [bold]{stack}[/bold] · {spec.region} · from {spec.source}")
    stdout.print(component_tree(summary))
    stdout.print(type_table(summary))
    stdout.print(
        f"Resources: [green]+ {summary['total']} to create[/green] "
        f"in {len(summary['components'])} components · synthesized in {elapsed:.1f}s"
    )
    stdout.print(f"Wrote {display_path(out_dir / 'graph.json')} and {display_path(out_dir / 'summary.json')}")


def component_tree(summary: dict[str, Any]) -> Tree:
    tree = Tree(f"[bold]pulumi:pulumi:Stack[/bold] {summary['project']}-{summary['stack']}")
    nodes: dict[str | None, Tree] = {}
    components = sorted(summary["components"], key=lambda item: item["urn"].count("$"))
    for component in components:
        parent = nodes.get(component["parent"], tree)
        node = parent.add(f"[bold]{component['name']}[/bold] ({component['type']}) · {component['total']} resources")
        for type_, count in component["byType"].items():
            node.add(f"{type_} × {count}")
        nodes[component["urn"]] = node
    for type_, count in summary["outsideComponents"].items():
        tree.add(f"{type_} × {count}")
    return tree


def type_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Resources by type", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, count in summary["byType"].items():
        table.add_row(type_, str(count))
    table.add_section()
    table.add_row("[bold]total[/bold]", f"[bold]{summary['total']}[/bold]")
    return table


@app.command()
@reports_errors
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Output folder. Default: schemas/ in the project.")] = None,
) -> None:
    """Write JSON Schemas for stack files and blueprint files (for editors and CI)."""
    from aiplane.schema import write_schemas

    target = out if out is not None else project_dir() / "schemas"
    for path in write_schemas(target):
        stdout.print(f"Wrote {display_path(path)}")


def main() -> None:
    # Rich would otherwise wrap lines at 80 columns when not on a terminal (CI logs, pipes).
    if not sys.stdout.isatty():
        stdout.width = max(stdout.width, int(os.environ.get("COLUMNS", "120")))
    app()


if __name__ == "__main__":
    main()
