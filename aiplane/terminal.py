"""What every report printed to a terminal shares: whether a table fits it whole, and counted nouns."""
from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

UNBOUNDED = 100_000


def fits(console: Console, table: Table) -> bool:
    """Whether a table fits the console at its narrowest, every cell whole (its no-wrap columns uncut, the
    others wrapped between words): squeezed further, rich would cut names, paths and numbers short."""
    return Measurement.get(console, console.options.update(max_width=UNBOUNDED), table).minimum <= console.width


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"
