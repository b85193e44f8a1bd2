"""The Typer application, its consoles and the one error boundary every command runs inside.

Exit codes: 0 success; 2 bad input (one line per problem on stderr, naming file, field and value);
3 an internal failure (`--debug` shows the traceback).
"""
from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

# Typer 0.29 carries its own copy of click (typer._click); its exceptions are not re-exported, hence the
# private import, and the pin on typer's minor version in pyproject.toml.
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from aiplane.errors import AiplaneError, InputError

INTERNAL_ERROR_EXIT = 3


class OneLineUsageErrors(TyperGroup):
    """Click reports a usage error (an unknown option, a bad choice, a missing flag) as a boxed panel of
    several lines; aiplane's rule is one line naming the flag and the value, exit 2, as for every bad input."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            outcome = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as shown:
            if shown.ctx is not None:
                typer.echo(shown.ctx.get_help(), err=True)
            code = shown.exit_code
        except ClickException as error:
            command = error.ctx.command_path if getattr(error, "ctx", None) else "aiplane"
            message = " ".join(error.format_message().split()).replace("Value error, ", "")
            stderr.print(f"{command}: {message} (see `{command} --help`)", markup=False)
            code = error.exit_code
        except typer.Abort:
            stderr.print("Aborted.", markup=False)
            code = 1
        else:
            if not standalone_mode:
                return outcome
            code = outcome if isinstance(outcome, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    cls=OneLineUsageErrors,
    name="aiplane",
    help="AI infrastructure as code: synthesize aiplane stacks offline and check them against policy.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: paragraphs rewrapped to the width, flags without a `<bool>` metavar
)
blueprints_app = typer.Typer(help="Tenant blueprints: the deployment patterns a tenant can be onboarded with.", no_args_is_help=True)
tenant_app = typer.Typer(help="Onboard and offboard tenants: edit a stack file's aiplane:tenants safely.", no_args_is_help=True)
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack (environment) name: reads stacks/Pulumi.STACK.yaml.")]
WideOption = Annotated[
    bool,
    typer.Option("--wide", help="Print tables at their full width, past the terminal's edge (for a file or `less -S`). "
                 "Default: a table too wide for the terminal prints as lines."),
]


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


# What a project reads: an output written here would overwrite a stack file, a blueprint or a policy.
PROJECT_INPUT_FOLDERS = ("stacks", "blueprints", "policies")
PROJECT_INPUT_FILES = ("Pulumi.yaml", "__main__.py")


def named_output(path: Path, flag: str, *, folder: bool) -> Path:
    """A path the user named with `--out`/`--output`, checked before any work: writable, of the right kind, and
    not one of the project's inputs."""
    from aiplane.files import display_path, output_file, output_folder

    checked = output_folder(path, flag) if folder else output_file(path, flag)
    try:
        root = project_dir()
    except InputError:
        return checked  # `aiplane schema --out` runs outside a project too
    resolved = checked.resolve()
    inputs = [root / name for name in PROJECT_INPUT_FOLDERS]
    if resolved in (root / name for name in PROJECT_INPUT_FILES) or any(resolved.is_relative_to(place) for place in inputs):
        raise InputError(f"{flag}: {display_path(path)!r} is one of the project's inputs (Pulumi.yaml, __main__.py, stacks/, blueprints/, policies/); write outputs elsewhere")
    return checked


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


def show_version(asked: bool) -> None:
    if asked:
        from aiplane import __version__

        typer.echo(f"aiplane {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print aiplane's version and exit.")
    ] = False,
    project: Annotated[
        Path | None,
        typer.Option("--project-dir", envvar="AIPLANE_PROJECT_DIR", help="The project (the folder with Pulumi.yaml). Default: found from the working directory."),
    ] = None,
) -> None:
    State.debug = debug
    State.project_dir = project
