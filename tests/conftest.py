from __future__ import annotations

import functools
import inspect
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pulumi_aws
import pytest
from typer.testing import CliRunner

from aiplane.bench import tenants
from aiplane.cli import app
from aiplane.spec import StackSpec
from aiplane.synth.engine import synthesize_stack
from aiplane.synth.graph import ResourceGraph

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHIPPED_STACKS = ("dev", "staging", "prod")


@functools.cache
def synthesized(environment: str) -> tuple[StackSpec, ResourceGraph]:
    """The shipped stack, run through the same __main__.py as `pulumi up`; cached per test session."""
    return synthesize_stack(PROJECT_DIR, environment)


@pytest.fixture(params=SHIPPED_STACKS)
def shipped(request) -> tuple[StackSpec, ResourceGraph]:
    return synthesized(request.param)


def takes_tags(resource_type: str) -> bool:
    """Does pulumi_aws's class for this type accept `tags`? Read from the SDK itself, not from our transform."""
    module_path, class_name = resource_type.split(":")[1].split("/")[0], resource_type.split(":")[2]
    module = getattr(pulumi_aws, module_path)
    return "tags" in inspect.signature(getattr(module, class_name)._internal_init).parameters


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1: a real HTTP endpoint that boto3 talks to as it would to AWS."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


# What a stack needs to plan and be checked: the program, the stack and blueprint files, and the policies.


def copy_project(target: Path) -> Path:
    """A copy of this project to edit or re-point stack files in, with checkov's virtualenv linked, not copied."""
    return tenants.copy_project(PROJECT_DIR, target)


def fixture_project(target: Path, stack_file: Path) -> Path:
    """A copy of the project whose prod stack is `stack_file`: synthesized and gated under the prod profile."""
    copy_project(target)
    shutil.copy(stack_file, target / "stacks" / "Pulumi.prod.yaml")
    return target


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A throwaway copy of the project to edit stack files in, with the working directory inside it."""
    monkeypatch.chdir(tmp_path)
    return copy_project(tmp_path)


def edit(project: Path, environment: str, old: str, new: str) -> None:
    """Replace `old` (which must be there) by `new` in a copied project's stack file."""
    path = project / "stacks" / f"Pulumi.{environment}.yaml"
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def plan_fails_with(args: list[str], expected_line: str) -> None:
    """The command exits 2 with exactly this one line on stderr, and no traceback."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [expected_line]
    assert "Traceback" not in result.output
