"""How long a model server takes from nothing to ready, per served model, and whether that meets its budget.

Pure functions over the capacity plan and `aiplane/data/cold_start.yaml` (every figure sourced there): a node
(launch and join), the image (pulled and unpacked), the weights (each node streams its share of them from the
models bucket: a pipeline stage holds 1/PP of the layers), and the engine (bootstrap, compile, warm-up). The
startup probe covers weights and engine, the deploy's await the whole estimate, both with a margin; an alert
fires when a server takes longer than its budget (components/observability/rules.py).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from aiplane.planning.capacity import GIB
from aiplane.planning.instances import DataModel, Source

COLD_START_PATH = Path(__file__).resolve().parent.parent / "data" / "cold_start.yaml"
# Probes and awaits allow this much more than the estimate: the figures are typical, not worst cases.
MARGIN = 1.5
# What FSx for Lustre offers per TiB of storage (PERSISTENT_2), for the staging advice.
LUSTRE_THROUGHPUTS_PER_TIB = (125, 250, 500, 1000)
MB = 1e6


class Sourced(DataModel):
    """A figure with the key of its source, and whether that source measured it."""

    source: str
    measured: bool


class Figure(Sourced):
    value: float = Field(gt=0)


class NodeFigure(Sourced):
    default: float = Field(gt=0)
    families: dict[str, float] = Field(default_factory=dict)


class ImageFigure(Sourced):
    size_gb: float = Field(gt=0)


class ColdStartFigures(DataModel):
    sources: dict[str, Source]
    node_ready_seconds: NodeFigure
    image: ImageFigure
    image_pull_mb_per_second: Figure
    s3_streamer_gib_per_second: Figure
    engine_seconds: Figure

    @model_validator(mode="after")
    def _sources_exist(self) -> ColdStartFigures:
        for name in type(self).model_fields:
            figure = getattr(self, name)
            if isinstance(figure, Sourced) and figure.source not in self.sources:
                raise ValueError(f"{to_camel(name)}.source: {figure.source!r} is not in sources")
        return self


@functools.cache
def load_cold_start_figures(path: Path = COLD_START_PATH) -> ColdStartFigures:
    from ruamel.yaml import YAML

    return ColdStartFigures.model_validate(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class ColdStart:
    """A model server's time to ready, by phase, in seconds."""

    model: str
    node: float
    image: float
    weights: float
    engine: float
    weights_gib_per_node: float
    budget: float | None = None

    @property
    def total(self) -> float:
        return self.node + self.image + self.weights + self.engine

    @property
    def startup_probe_seconds(self) -> int:
        """What the startup probe allows: the container's own start (weights and engine), with the margin."""
        return _tens(MARGIN * (self.weights + self.engine))

    @property
    def before_start_seconds(self) -> int:
        """What a rollout waits for before the container starts: a node and the image, with the margin."""
        return _tens(MARGIN * (self.node + self.image))

    @property
    def alert_seconds(self) -> int:
        """When the time-to-ready alert fires: the budget where the stack sets one, else the estimate's margin."""
        return math.ceil(self.budget) if self.budget is not None else _tens(MARGIN * self.total)

    def breakdown(self) -> str:
        return (
            f"node {self.node:.0f} s + image {self.image:.0f} s + weights {self.weights:.0f} s "
            f"({self.weights_gib_per_node:.0f} GiB per node from S3) + engine {self.engine:.0f} s = {self.total:.0f} s"
        )

    def staging_advice(self) -> str:
        """What would bring the estimate within the budget, or why nothing about the weights can."""
        if self.budget is None:
            return ""
        room = self.budget - (self.node + self.image + self.engine)
        if room <= 0:
            return (
                f"the node, the image and the engine alone take {self.node + self.image + self.engine:.0f} s: keep warm "
                "capacity (a higher nominal replica count) instead of scaling from cold"
            )
        needed_mb_s = self.weights_gib_per_node * GIB / MB / room
        for per_tib in LUSTRE_THROUGHPUTS_PER_TIB:
            storage_tib = math.ceil(needed_mb_s / per_tib * 10) / 10
            if storage_tib <= 100:
                return (
                    f"weights must stream at {needed_mb_s:,.0f} MB/s per node to fit: for example from FSx for Lustre at "
                    f"{per_tib} MB/s per TiB over {storage_tib:g} TiB (or more replicas kept warm)"
                )
        return f"weights must stream at {needed_mb_s:,.0f} MB/s per node to fit: keep warm capacity instead"


def _tens(seconds: float) -> int:
    return int(math.ceil(seconds / 10) * 10)


def estimate_cold_start(
    model: str, weight_bytes: float, nodes_per_replica: int, instance_family: str, network_gbps: float, budget: float | None = None
) -> ColdStart:
    """The phases of one replica's cold start on a node of `instance_family` with `network_gbps` of bandwidth."""
    figures = load_cold_start_figures()
    node = figures.node_ready_seconds.families.get(instance_family, figures.node_ready_seconds.default)
    pull_mb_s = min(figures.image_pull_mb_per_second.value, network_gbps * 1000 / 8)
    image = figures.image.size_gb * 1000 / pull_mb_s
    per_node = weight_bytes / nodes_per_replica / GIB
    stream_gib_s = min(figures.s3_streamer_gib_per_second.value, network_gbps * 1e9 / 8 / GIB)
    return ColdStart(
        model=model, node=node, image=image, weights=per_node / stream_gib_s, engine=figures.engine_seconds.value,
        weights_gib_per_node=per_node, budget=budget,
    )
