"""What a graph check may know besides the graph: the floors of the stack's policy profile."""
from __future__ import annotations

from dataclasses import dataclass, field

from aiplane.spec import RetentionMinimums


@dataclass(frozen=True)
class GateContext:
    floors: RetentionMinimums = field(default_factory=RetentionMinimums)
