"""What every report printed to a terminal shares: whether a table fits it whole, how a table prints where
it does not, and counted nouns."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

UNBOUNDED = 100_000


def _measure(console: Console, table: Table) -> Measurement:
    return Measurement.get(console, console.options.update(max_width=UNBOUNDED), table)


def fits(console: Console, table: Table) -> bool:
    """Whether a table prints at the console's width with every cell whole (no-wrap columns uncut, the others
    wrapped between words). Rich narrows the widest columns first, so a table whose narrowest layout fits can
    still come out with a word cut short: where it does not fit at its natural width, look at what it prints."""
    measured = _measure(console, table)
    if measured.maximum <= console.width:
        return True
    if measured.minimum > console.width:
        return False
    lines = console.render_lines(table, console.options, pad=False)
    return not any("…" in segment.text for line in lines for segment in line)


@contextmanager
def widened(console: Console, width: int) -> Iterator[None]:
    """The console at least `width` columns wide for a while: rich never prints past a console's width."""
    before = console.width
    console.width = max(before, width)
    try:
        yield
    finally:
        console.width = before


def _plain(cell: RenderableType) -> Text:
    text = Text.from_markup(cell) if isinstance(cell, str) else cell if isinstance(cell, Text) else Text(str(cell))
    return Text(" · ").join(line for line in text.split("\n") if line.plain.strip())


def records(table: Table) -> Iterator[Text]:
    """A table as one record per row: the first cell, then `column: value` for each other cell that says
    something. The same words as the table, none cut, at any width."""
    if table.title:
        yield Text.from_markup(str(table.title), style="bold") if isinstance(table.title, str) else table.title
    columns = [(str(column.header), list(column.cells)) for column in table.columns]
    if not columns:
        return
    for row in range(len(columns[0][1])):
        yield _plain(columns[0][1][row]).copy()
        for header, cells in columns[1:]:
            value = _plain(cells[row])
            if value.plain.strip():
                yield Text.assemble("  ", (f"{header}: " if header else ""), value)


def show_table(console: Console, table: Table, *, wide: bool = False, fallback: Iterable[RenderableType] | None = None) -> None:
    """Print a table whole: as a table where it fits the console, or with `wide` at its natural width past
    the console's edge (for a file or `less -S`); elsewhere as `fallback` (the same figures as lines) or as
    one record per row."""
    if wide:
        with widened(console, _measure(console, table).maximum):
            console.print(table)
    elif fits(console, table):
        console.print(table)
    elif fallback is not None:
        for line in fallback:  # whole lines, names and paths unbroken for copying: the terminal wraps them
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        for record in records(table):  # prose: wrapped between words at the console's width
            console.print(record, highlight=False, overflow="fold")


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"
