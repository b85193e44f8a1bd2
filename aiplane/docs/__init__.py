"""Generated files: one registry of every file aiplane generates from its own code, with its generator.

`python -m aiplane.docs --write` (`make docs`) rewrites the stale ones; `--check` lists them and exits 1.
One test, parametrized over `GENERATED`, fails while any file differs from what its generator renders, so
references cannot drift from the code they describe.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class GeneratedFile:
    path: str  # relative to the project
    render: Callable[[Path], str]  # the project folder -> the file's whole expected text
    # Both texts pass through this before they are compared: it masks what differs between runs (a duration).
    comparable: Callable[[str], str] = _as_is

    def expected(self, project_dir: Path) -> str:
        return self.render(project_dir)

    def is_current(self, project_dir: Path) -> bool:
        target = project_dir / self.path
        if not target.is_file():
            return False
        return self.comparable(target.read_text(encoding="utf-8")) == self.comparable(self.expected(project_dir))


def _readme(project_dir: Path) -> str:
    """The README with its CLI reference rendered from the commands, and its samples from a real run."""
    from aiplane.docs.cli import render_cli_reference, replace_block
    from aiplane.docs.samples import replace_samples

    text = replace_block((project_dir / "README.md").read_text(encoding="utf-8"), render_cli_reference())
    return replace_samples(text, project_dir)


def _readme_comparable(text: str) -> str:
    from aiplane.docs.samples import masked

    return masked(text)


def _schema(name: str) -> Callable[[Path], str]:
    def render(_: Path) -> str:
        from aiplane.schema import render_schemas

        return render_schemas()[name]

    return render


def _policies(project_dir: Path) -> str:
    from aiplane.docs.policies import render_policy_docs

    return render_policy_docs(project_dir)


def _blueprints(project_dir: Path) -> str:
    from aiplane.docs.blueprints import render_blueprint_docs

    return render_blueprint_docs(project_dir / "blueprints")


def _scheduling(project_dir: Path) -> str:
    from aiplane.docs.scheduling import render_scheduling_docs

    return render_scheduling_docs(project_dir)


def _plain(module: str, function: str) -> Callable[[Path], str]:
    def render(_: Path) -> str:
        import importlib

        return getattr(importlib.import_module(module), function)()

    return render


GENERATED: tuple[GeneratedFile, ...] = (
    GeneratedFile("README.md", _readme, _readme_comparable),
    GeneratedFile("schemas/stack.schema.json", _schema("stack.schema.json")),
    GeneratedFile("schemas/blueprint.schema.json", _schema("blueprint.schema.json")),
    GeneratedFile("docs/components.md", _plain("aiplane.docs.components", "render_component_docs")),
    GeneratedFile("docs/compute.md", _plain("aiplane.docs.compute", "render_compute_docs")),
    GeneratedFile("docs/storage.md", _plain("aiplane.docs.storage", "render_storage_docs")),
    GeneratedFile("docs/serving.md", _plain("aiplane.docs.serving", "render_serving_docs")),
    GeneratedFile("docs/scheduling.md", _scheduling),
    GeneratedFile("docs/blueprints.md", _blueprints),
    GeneratedFile("docs/policies.md", _policies),
)
