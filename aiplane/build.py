"""What `aiplane plan` writes for a stack, and what `aiplane check` scans: one place for both."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from aiplane.cost import estimate
from aiplane.engine import synthesize_stack
from aiplane.export.kubernetes import Manifest, manifests, render
from aiplane.export.terraform import plan_document
from aiplane.files import write_text_atomic
from aiplane.graph import ResourceGraph
from aiplane.spec import StackSpec


@dataclass(frozen=True)
class StackBuild:
    spec: StackSpec
    graph: ResourceGraph
    summary: dict
    out_dir: Path
    manifests: list[Manifest]

    @property
    def tfplan(self) -> Path:
        return self.out_dir / "tfplan.json"

    @property
    def manifests_dir(self) -> Path:
        return self.out_dir / "k8s"


def build_stack(project_dir: Path, environment: str, out_dir: Path | None = None) -> StackBuild:
    """Synthesize a stack and write graph.json, summary.json, tfplan.json and k8s/ under its build folder."""
    spec, graph = synthesize_stack(project_dir, environment)
    out_dir = out_dir or project_dir / "build" / environment
    summary = {**graph.summary(), "capacity": spec.platform.compute.plan.to_dict(), "cost": estimate(spec, graph).to_dict()}
    plan = plan_document(graph)  # before writing anything: an unmapped type must not leave a partial build
    objects = manifests(graph)
    write_text_atomic(out_dir / "graph.json", graph.to_json())
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    write_text_atomic(out_dir / "tfplan.json", json.dumps(plan, indent=2, sort_keys=True) + "\n")
    k8s_dir = out_dir / "k8s"
    if k8s_dir.exists():
        shutil.rmtree(k8s_dir)  # objects removed from the stack must not linger in the scan
    for manifest in objects:
        write_text_atomic(k8s_dir / manifest.filename, render(manifest))
    return StackBuild(spec, graph, summary, out_dir, objects)
