"""Every generated file matches what its generator renders now (`make docs` rewrites them)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import aiplane.components
from aiplane.components.base import AiplaneComponent
from aiplane.docs import GENERATED
from aiplane.docs.__main__ import main
from aiplane.docs.components import COMPONENTS
from tests.conftest import PROJECT_DIR, copy_project


@pytest.mark.parametrize("generated", GENERATED, ids=lambda generated: generated.path)
def test_generated_file_is_current(generated):
    assert generated.is_current(PROJECT_DIR), f"{generated.path} is stale: run `make docs`"


def test_check_reports_a_stale_file_and_write_mends_it(tmp_path, capsys):
    project = copy_project(tmp_path)
    for generated in GENERATED:
        target = project / generated.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(generated.expected(PROJECT_DIR))
    (project / "docs" / "components.md").write_text("edited by hand\n")
    assert main(["--check", "--project-dir", str(project)]) == 1
    assert "docs/components.md: stale" in capsys.readouterr().out
    assert main(["--write", "--project-dir", str(project)]) == 0
    assert main(["--check", "--project-dir", str(project)]) == 0


def test_the_components_reference_covers_every_component_with_args():
    found = set()
    for info in pkgutil.walk_packages(aiplane.components.__path__, "aiplane.components."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, AiplaneComponent) and cls is not AiplaneComponent and hasattr(module, f"{name}Args"):
                found.add(name)
    assert found == {entry.component for entry in COMPONENTS}
