"""How the job table draws its lines: fixed column widths, the columns that fit a width, the header
line and a job's line as Strips, and the cache that keeps drawn lines for the next paint.

Nothing is measured: every column but the workflowId has a fixed width, and the workflowId takes
what is left. (Textual's DataTable measures every cell it is given: ~12 s to add 100k rows.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip

from jobwatch.formatting import format_clock, format_duration, shorten_run_id, status_symbol
from jobwatch.tui.model import JobRow
from jobwatch.tui.theming.status_style import style_for

# Fixed column widths in cells. "↻ CONTINUED_AS_NEW" is 18; "Nov 27 14:03" is 12 (+1 for a sort arrow).
STATUS_WIDTH = 18
RUN_ID_WIDTH = 9
CLOCK_WIDTH = 13
ELAPSED_WIDTH = 7
MIN_WORKFLOW_ID_WIDTH = 20  # "role-assignment-0bfe93…": still tells jobs apart
# Columns after the status, in display order, and the order in which they are dropped when narrow.
TAIL_COLUMNS = ("runId", "first seen", "last change", "elapsed")
DROP_ORDER = ("first seen", "runId", "last change", "elapsed")
TAIL_WIDTHS = {
    "runId": RUN_ID_WIDTH,
    "first seen": CLOCK_WIDTH,
    "last change": CLOCK_WIDTH,
    "elapsed": ELAPSED_WIDTH,
}
#: the column whose title carries the sort arrow, per sort mode, and the arrow
SORT_COLUMN = {
    "workflowId": "workflowId",
    "status": "status",
    "first seen": "first seen",
    "last change": "last change",
}
SORT_ARROWS = {
    "last change": "▼",
    "first seen": "▼",
    "status": "▼",
    "workflowId": "▲",
}


def fit(text: str, width: int) -> str:
    """Pad or truncate (with "…") to exactly `width` cells."""
    if width <= 0:
        return ""
    if text.isascii():
        if len(text) <= width:
            return text + " " * (width - len(text))
        return text[: width - 1] + "…"
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def fit_right(text: str, width: int) -> str:
    """Like `fit`, but right-aligned."""
    if len(text) >= width:
        return fit(text, width)
    return " " * (width - len(text)) + text


@dataclass(slots=True, frozen=True)
class Layout:
    """The columns drawn at one width."""

    workflow_id_width: int
    tail: tuple[str, ...]
    #: cells the columns take (at most the width, unless even the narrowest layout does not fit)
    width: int


@lru_cache(maxsize=64)
def layout_for(width: int) -> Layout:
    """The columns for `width` cells: tail columns go (DROP_ORDER) before the workflowId gets
    narrower than MIN_WORKFLOW_ID_WIDTH."""
    tail = list(TAIL_COLUMNS)
    drop = list(DROP_ORDER)

    def id_width() -> int:
        return width - 2 - STATUS_WIDTH - 1 - sum(TAIL_WIDTHS[c] + 1 for c in tail)

    while id_width() < MIN_WORKFLOW_ID_WIDTH and drop:
        tail.remove(drop.pop(0))
    id_cells = max(1, id_width())
    used = 2 + id_cells + STATUS_WIDTH + sum(TAIL_WIDTHS[c] + 1 for c in tail)
    return Layout(id_cells, tuple(tail), used)


def elapsed_text(row: JobRow, now: float) -> str:
    """The elapsed cell: how long a running job runs so far, how long a finished one ran."""
    if not row.status.is_terminal:
        return format_duration(now - row.first_seen)
    # Terminal at first sight: it was never seen running, so how long it ran is unknown.
    if row.last_change > row.first_seen:
        return format_duration(row.last_change - row.first_seen)
    return "—"


def header_strip(sort_mode: str, width: int, style: Style) -> Strip:
    """The line of column titles, the sorted column's with its arrow."""
    layout = layout_for(width)
    sorted_column = SORT_COLUMN[sort_mode]
    arrow = SORT_ARROWS[sort_mode]

    def title(name: str) -> str:
        return f"{name} {arrow}" if name == sorted_column else name

    text = " " + fit(title("workflowId"), layout.workflow_id_width) + " "
    text += fit(title("status"), STATUS_WIDTH)
    for column in layout.tail:
        text += " " + fit(title(column), TAIL_WIDTHS[column])
    return Strip([Segment(fit(text, width), style)], width)


def row_strip(
    row: JobRow, width: int, elapsed: str, now: float, style: Style, status_style: Style
) -> Strip:
    """One job's line: `style` for the whole line, `status_style` added to the status cell."""
    layout = layout_for(width)
    status = row.status
    head = " " + fit(row.workflow_id, layout.workflow_id_width) + " "
    status_cell = fit(f"{status_symbol(status)} {status.label}", STATUS_WIDTH)
    tail = []
    for column in layout.tail:
        if column == "runId":
            tail.append(fit(shorten_run_id(row.run_id), RUN_ID_WIDTH))
        elif column == "first seen":
            tail.append(fit(format_clock(row.first_seen, now), CLOCK_WIDTH))
        elif column == "last change":
            tail.append(fit(format_clock(row.last_change, now), CLOCK_WIDTH))
        else:
            tail.append(fit_right(elapsed, ELAPSED_WIDTH))
    rest = "".join(" " + cell for cell in tail)
    used = layout.width
    rest += " " * max(0, width - used)
    segments = [
        Segment(head, style),
        Segment(status_cell, style + status_style),
        Segment(rest, style),
    ]
    if used > width:
        return Strip(segments).crop(0, width)
    return Strip(segments, width)


def message_strip(message: str, width: int, style: Style) -> Strip:
    """A line with `message` centred (the empty table's and the no-match message)."""
    return Strip([Segment(fit(message.center(width), width), style)], width)


#: Drawn lines kept for reuse (a screen of 40 lines uses 41). Measured at 120 columns: a line
#: drawn costs 26 µs, one from the cache 3 µs; a cursor move draws two lines, a poll that changed
#: only rows off screen draws none.
LINE_CACHE_SIZE = 1024


@dataclass(slots=True)
class Frame:
    """What every line of one paint shares: the time, the day (clock columns) and the styles."""

    now: float
    day: tuple[int, int]
    #: names this combination of styles in the line cache's keys
    token: int
    base: Style
    cursor: Style
    header: Style
    empty: Style
    statuses: dict[int | str, Style]


class LinePainter:
    """Draws the table's lines and keeps them, keyed by everything that shows on a line.

    It also remembers which screen lines show a running job and the elapsed text drawn there, so
    that the once-a-second tick repaints only the elapsed cells whose text changed.
    """

    def __init__(self) -> None:
        self._cache: LRUCache[tuple, Strip] = LRUCache(LINE_CACHE_SIZE)
        self._tokens: dict[tuple, int] = {}
        # screen line -> (workflowId, elapsed text) of the last paint of a running row
        self._running: dict[int, tuple[str, str]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def frame(
        self,
        now: float,
        *,
        base: Style,
        cursor: Style,
        header: Style,
        empty: Style,
        statuses: dict[int | str, Style],
        generation: int,
    ) -> Frame:
        """The frame of a paint at `now` with these styles (`generation`: the rows' upserts so far)."""
        local = time.localtime(now)
        key = (base, cursor, header, id(statuses))
        token = self._tokens.get(key)
        if token is None:
            if len(self._tokens) > 64:
                self._tokens.clear()
                self._cache.clear()
            token = self._tokens[key] = len(self._tokens) + 1 + generation
        return Frame(
            now, (local.tm_year, local.tm_yday), token, base, cursor, header, empty, statuses
        )

    def header(self, sort_mode: str, width: int, frame: Frame) -> Strip:
        cache_key = ("\0header", sort_mode, width, frame.token)
        strip = self._cache.get(cache_key)
        if strip is None:
            strip = header_strip(sort_mode, width, frame.header)
            self._cache[cache_key] = strip
        return strip

    def forget(self, y: int) -> None:
        """Screen line `y` is being painted again (with a row, or without one)."""
        self._running.pop(y, None)

    def row(
        self, y: int, row: JobRow, version: int, width: int, is_cursor: bool, frame: Frame
    ) -> Strip:
        """The line of `row` as stored at `version` (a row is never changed in place), at line y."""
        elapsed = elapsed_text(row, frame.now)
        if not row.status.is_terminal:
            self._running[y] = (row.workflow_id, elapsed)
        cache_key = (row.workflow_id, version, width, is_cursor, elapsed, frame.day, frame.token)
        strip = self._cache.get(cache_key)
        if strip is None:
            style = frame.cursor if is_cursor else frame.base
            status_style = style_for(frame.statuses, row.status.code)
            strip = row_strip(row, width, elapsed, frame.now, style, status_style)
            self._cache[cache_key] = strip
        return strip

    def stale_elapsed(
        self, now: float, width: int, row_of: Callable[[str], JobRow | None]
    ) -> list[Region]:
        """The elapsed cells of running rows on screen whose text at `now` is not the one drawn."""
        if not self._running:
            return []
        layout = layout_for(width)
        x = layout.width - ELAPSED_WIDTH
        if "elapsed" not in layout.tail or x >= width:
            return []
        regions = []
        for y, (wid, elapsed) in self._running.items():
            row = row_of(wid)
            if row is None or row.status.is_terminal:
                continue
            if elapsed_text(row, now) != elapsed:
                regions.append(Region(x, y, min(ELAPSED_WIDTH, width - x), 1))
        return regions
