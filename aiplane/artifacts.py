"""A synthesized stack's artifacts: what `aiplane plan` writes under `build/<env>/` and what `aiplane check`
scans. Rendering works on the stage before it, in memory (a spec and its graph); writing puts the result in
a folder; nothing here reads a build folder back."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from aiplane.cost import estimate
from aiplane.export.kubernetes import Manifest, manifests, render
from aiplane.export.terraform import plan_document
from aiplane.files import write_text_atomic, writing_output
from aiplane.spec import StackSpec
from aiplane.synth.engine import synthesize_stack
from aiplane.synth.graph import ResourceGraph

GRAPH_FILE, SUMMARY_FILE, PLAN_FILE, MANIFESTS_FOLDER = "graph.json", "summary.json", "tfplan.json", "k8s"


@dataclass(frozen=True)
class StackArtifacts:
    """A stack's spec and graph with what is derived from them: the summary (resources, capacity, cost), the
    Terraform-plan document and the Kubernetes manifests. `out_dir` is where they were written, if anywhere."""

    spec: StackSpec
    graph: ResourceGraph
    summary: dict
    plan: dict
    manifests: list[Manifest]
    out_dir: Path | None = None

    @property
    def environment(self) -> str:
        return self.spec.environment

    @property
    def tfplan(self) -> Path:
        return self._written() / PLAN_FILE

    @property
    def manifests_dir(self) -> Path:
        return self._written() / MANIFESTS_FOLDER

    def _written(self) -> Path:
        if self.out_dir is None:
            raise ValueError(f"the artifacts of stack {self.environment} are not written yet (write_artifacts)")
        return self.out_dir


def render_artifacts(spec: StackSpec, graph: ResourceGraph) -> StackArtifacts:
    """Everything derived from a synthesized stack, in memory. An unmapped resource type fails here, before
    anything is written, so it never leaves a partial build."""
    summary = {**graph.summary(), "capacity": spec.compute_plan.to_dict(), "cost": estimate(spec, graph).to_dict()}
    return StackArtifacts(spec, graph, summary, plan_document(graph), manifests(graph))


def write_artifacts(artifacts: StackArtifacts, out_dir: Path) -> StackArtifacts:
    """Write graph.json, summary.json, tfplan.json and k8s/ under `out_dir`, each file atomically."""
    write_text_atomic(out_dir / GRAPH_FILE, artifacts.graph.to_json())
    write_text_atomic(out_dir / SUMMARY_FILE, json.dumps(artifacts.summary, indent=2, sort_keys=True) + "\n")
    write_text_atomic(out_dir / PLAN_FILE, json.dumps(artifacts.plan, indent=2, sort_keys=True) + "\n")
    k8s_dir = out_dir / MANIFESTS_FOLDER
    # Manifests of objects removed from the stack must not linger in the scan. Only the flat YAML files a plan
    # writes are removed: `--out` may name a folder the user keeps other things in.
    current = {manifest.filename for manifest in artifacts.manifests}
    for stale in k8s_dir.glob("*.yaml"):
        if stale.name not in current and stale.is_file():
            stale.unlink()
    for manifest in artifacts.manifests:
        write_text_atomic(k8s_dir / manifest.filename, render(manifest))
    return replace(artifacts, out_dir=out_dir)


def plan_stack(project_dir: Path, environment: str, out_dir: Path | None = None) -> StackArtifacts:
    """`aiplane plan`: synthesize a stack offline and write its artifacts (default: `build/<env>/`)."""
    spec, graph = synthesize_stack(project_dir, environment)
    artifacts = render_artifacts(spec, graph)
    target = out_dir or project_dir / "build" / environment
    with writing_output(target, "--out" if out_dir else None):
        return write_artifacts(artifacts, target)
