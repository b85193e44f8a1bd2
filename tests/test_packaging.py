"""aiplane installs as one package: `components/` becomes `aiplane.components`, and nothing called
`components` lands on a user's path to shadow, or be shadowed by, a folder of their own."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR


def declared_packages() -> set[str]:
    return set(tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_declared():
    found = {".".join(("aiplane", *p.parent.relative_to(PROJECT_DIR / "aiplane").parts)) for p in (PROJECT_DIR / "aiplane").rglob("__init__.py")}
    found |= {".".join(("aiplane.components", *p.parent.relative_to(PROJECT_DIR / "components").parts)) for p in (PROJECT_DIR / "components").rglob("__init__.py")}
    assert {name.removesuffix(".") for name in found} == declared_packages()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources: setuptools keeps its work in `build/`, which is also aiplane's."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_DIR / name, source / name)
    for name in ("aiplane", "components"):
        shutil.copytree(PROJECT_DIR / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )
    return next(out.glob("aiplane-*.whl"))


def test_the_wheel_holds_aiplane_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == {"aiplane"}
    for expected in ("aiplane/components/cluster.py", "aiplane/components/model_gateway/templates/config.yaml.j2",
                     "aiplane/components/observability/dashboards/gpus.json", "aiplane/data/instances.yaml"):
        assert expected in names


def test_a_fresh_environment_imports_aiplane_components_and_not_components(wheel, tmp_path):
    """A new virtualenv outside the repository, with the wheel installed and the dependencies of this one."""
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    site_packages = next(environment.glob("lib/python*/site-packages"))
    zipfile.ZipFile(wheel).extractall(site_packages)
    dependencies = next(path for path in sys.path if path.endswith("site-packages") and Path(path, "pulumi").is_dir())
    (site_packages / "dependencies.pth").write_text(dependencies + "\n")  # a path only: its own .pth files do not run
    probe = (
        "import aiplane.components.cluster as c, importlib.util as u; "
        "print(c.__file__); print(u.find_spec('components'))"
    )
    result = subprocess.run([str(environment / "bin" / "python"), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    location, components = result.stdout.split()
    assert Path(location).is_relative_to(site_packages), location
    assert components == "None", "a top-level `components` package is importable"
