"""The Typer application, its consoles and the one error boundary every command runs inside.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, naming file, field and value);
3 an internal failure (`--debug` shows the traceback).
"""
from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aiplane.errors import AiplaneError, InputError

INTERNAL_ERROR_EXIT = 3

app = typer.Typer(
    name="aiplane",
    help="AI infrastructure as code: synthesize aiplane stacks offline and check them against policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
blueprints_app = typer.Typer(help="Tenant blueprints: the deployment patterns a tenant can be onboarded with.", no_args_is_help=True)
tenant_app = typer.Typer(help="Onboard and offboard tenants: edit a stack file's aiplane:tenants safely.", no_args_is_help=True)
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack (environment) name: reads stacks/Pulumi.STACK.yaml.")]


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
