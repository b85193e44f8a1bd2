"""Every command's terminal output at 80, 100, 120 and 200 columns, and in a pipe: tables print where they fit
whole, else as lines or one record per row; no name, number or path is ever cut short (rich's `…`)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from aiplane.cli import app
from aiplane.cli.app import stdout
from tests.conftest import PROJECT_DIR

runner = CliRunner()
WIDTHS = (80, 100, 120, 200)
BORDERS = re.compile(r"[│┃┏┓┗┛┡┩┢┪╇╈╋━─┼├┤┬┴┌┐└┘╭╮╰╯]")


def words(text: str) -> set[str]:
    return set(BORDERS.sub(" ", text).split())


def at_width(monkeypatch, width: int, argv: list[str]) -> str:
    monkeypatch.setattr(stdout, "width", width)
    result = runner.invoke(app, ["--project-dir", str(PROJECT_DIR), *argv])
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    return result.stdout


def json_of(argv: list[str]) -> dict:
    result = runner.invoke(app, ["--project-dir", str(PROJECT_DIR), *argv, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def cost_figures() -> set[str]:
    estimate = json_of(["cost", "--stack", "dev"])
    figures = {f"{usd:,.2f}" for kind in ("byComponent", "byTenant") for usd in estimate[kind].values()}
    return figures | {name for kind in ("byComponent", "byTenant") for name in estimate[kind]}


@pytest.mark.parametrize("width", WIDTHS)
def test_cost_never_cuts_a_figure_or_a_name(monkeypatch, width, cost_figures):
    assert cost_figures <= words(at_width(monkeypatch, width, ["cost", "--stack", "dev"]))


@pytest.mark.parametrize("width", WIDTHS)
def test_blueprints_list_and_show_never_cut_a_name_or_a_price(monkeypatch, width):
    listed = json_of(["blueprints", "list"])["blueprints"]
    expected = {row["name"] for row in listed} | {f"{row['usdPerMonth']:,.0f}" for row in listed}
    assert expected <= words(at_width(monkeypatch, width, ["blueprints", "list"]))
    shown = json_of(["blueprints", "show", "hybrid-router"])
    parameters = set(shown["parameters"]) | {str(p["default"]) for p in shown["parameters"].values() if "default" in p}
    assert parameters <= words(at_width(monkeypatch, width, ["blueprints", "show", "hybrid-router"]))


@pytest.mark.parametrize("width", WIDTHS)
def test_tenant_add_dry_run_never_cuts_a_component(project_copy, monkeypatch, width):
    monkeypatch.setattr(stdout, "width", width)
    result = runner.invoke(app, ["tenant", "add", "acme", "--blueprint", "managed-api", "--stack", "dev", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert {"tenant-acme", "(aiplane:tenant:TenantBoundary)", "(aiplane:gateway:ModelGateway)", "18"} <= words(result.stdout)
    assert "+    - name: acme\n+      blueprint: managed-api\n" in result.stdout


@pytest.fixture
def credentials(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("width", WIDTHS)
def test_preflight_never_cuts_a_subject(monkeypatch, width, aws_endpoint, credentials):
    argv = ["preflight", "--stack", "prod", "--endpoint-url", aws_endpoint]
    checks = json_of(argv)["checks"]
    expected = {word for check in checks for word in check["subject"].split()}
    assert expected <= words(at_width(monkeypatch, width, argv))


def test_wide_prints_the_table_past_the_terminal_and_json_is_for_scripts(monkeypatch):
    narrow = at_width(monkeypatch, 80, ["blueprints", "list"])
    assert "┏" not in narrow and max(map(len, narrow.splitlines())) <= 80
    wide = at_width(monkeypatch, 80, ["blueprints", "list", "--wide"])
    assert "┏" in wide and max(map(len, wide.splitlines())) > 80
    assert stdout.width == 80  # --wide widens the console for the table only
    assert [row["name"] for row in json_of(["blueprints", "list"])["blueprints"]][0] == "batch-cache"


def test_a_pipe_gets_whole_lines(tmp_path):
    """Not on a terminal, rich would wrap at 80 columns: `aiplane` prints at COLUMNS (default 120) instead."""
    environment = {key: value for key, value in os.environ.items() if key != "COLUMNS"}
    script = "from aiplane.cli import main; main()"
    piped = subprocess.run(
        [sys.executable, "-c", script, "--project-dir", str(PROJECT_DIR), "blueprints", "list"],
        capture_output=True, text=True, env=environment, check=True,
    ).stdout
    assert "…" not in piped and max(map(len, piped.splitlines())) <= 120
    assert {row["name"] for row in json_of(["blueprints", "list"])["blueprints"]} <= words(piped)
