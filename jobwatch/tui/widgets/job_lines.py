"""How the job table draws its lines: column widths, the columns that fit a width, the header line
and a job's line as Strips, and the cache that keeps drawn lines for the next paint.

Nothing is measured at paint time: the status and clock columns have fixed widths; the widths the
IDs want are kept up to date as rows arrive (`IdWidths`), and `layout_for` shares out a width.
(Textual's DataTable measures every cell it is given: ~12 s to add 100k rows.)

Every ID and status name comes from the API: a cell shows it through `jobwatch.sanitize` (escaped,
then cut in the middle so the unique tail stays: `cascade-del…5c1fb80b`), never raw. A job's
label goes before its workflowId in the same cell (`nightly · taxonomy-pu…6f708192`), so the cut
keeps the ID's tail; a pinned job has PIN_MARK in the margin before it.

The ETA column (`eta`, jobwatch.progress.eta_cell: "~3m", "due", "slow") has a small fixed width
and fits an 80-column table; it is the first of the columns that matter while watching to go
(after "first seen" and the runId's 9-cell stub: see DROP_ORDER), so a 60-column table shows the
elapsed time alone. "slow" is drawn in the table's slow style.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip

from jobwatch.formatting import format_clock, format_duration, status_symbol
from jobwatch.sanitize import cell_width, middle_ellipsis, visible
from jobwatch.tui.model import JobRow
from jobwatch.tui.theming.status_style import style_for

# Fixed column widths in cells. "↻ CONTINUED_AS_NEW" is 18; "Nov 27 14:03" is 12 (+1 for a sort arrow).
STATUS_WIDTH = 18
CLOCK_WIDTH = 13
ELAPSED_WIDTH = 7
#: "~1h05m", "slow"; 7 rather than 6 so that an 80-column table and the same table with its
#: scrollbar (78) get the same columns (no flip-flop as rows arrive): the runId's stub gives way
ETA_WIDTH = 7
MIN_WORKFLOW_ID_WIDTH = 20  # "cascade-del…5c1fb80b": still tells jobs apart
MIN_RUN_ID_WIDTH = 9  # "0190…9a11"
#: The most the ID columns grow to, however long an ID: a longer one is cut in the middle. A UUID
#: runId is 36; the API's workflowIds are a kind and a hex suffix, 20-33 cells.
MAX_WORKFLOW_ID_WIDTH = 64
MAX_RUN_ID_WIDTH = 40
#: what the ID columns want before any row arrived
DEFAULT_WORKFLOW_ID_WIDTH = 33
DEFAULT_RUN_ID_WIDTH = 36
# Columns after the status, in display order, and the order in which they are dropped when narrow.
TAIL_COLUMNS = ("runId", "first seen", "last change", "elapsed", "eta")
#: "eta" goes after the runId: a runId at its least (9 cells, "0190…9a11") says less than an ETA
#: (the detail pane and `c` give it whole), and the table of a 120-column screen (the wide layout,
#: beside the detail pane) is 78 wide, like an 80-column one with its scrollbar.
DROP_ORDER = ("first seen", "runId", "eta", "last change", "elapsed")
FIXED_WIDTHS = {
    "first seen": CLOCK_WIDTH,
    "last change": CLOCK_WIDTH,
    "elapsed": ELAPSED_WIDTH,
    "eta": ETA_WIDTH,
}
#: in the margin before a pinned job's workflowId
PIN_MARK = "◆"
#: between a job's label and its workflowId in the workflowId cell
LABEL_SEPARATOR = " · "
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
#: Drawn lines kept for reuse (a screen of 40 lines uses 41). Measured at 120 columns: a line
#: drawn costs 26 µs, one from the cache 3 µs; a cursor move draws two lines, a poll that changed
#: only rows off screen draws none.
LINE_CACHE_SIZE = 1024
#: "workflowId ▲": the workflowId column is never narrower than its title, when there is room
WORKFLOW_ID_TITLE_WIDTH = len("workflowId ▲")


def fit(text: str, width: int) -> str:
    """Pad or truncate (with "…") to exactly `width` cells. For text of ours; IDs use `shown`."""
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


@lru_cache(maxsize=LINE_CACHE_SIZE)
def shown(text: str, width: int) -> str:
    """Text from outside in exactly `width` cells: escaped (`visible`), cut in the middle, padded.

    Cached: a running row is drawn again every second, and a 100k-character ID would otherwise
    be scanned each time (its hash is computed once per string object, then kept by Python).
    """
    if width <= 0:
        return ""
    cut = middle_ellipsis(visible(text), width)
    return fit(cut, width)


def id_cell_text(row: JobRow) -> str:
    """What the workflowId cell holds: the label (if any), then the workflowId."""
    label = row.label
    return f"{label}{LABEL_SEPARATOR}{row.workflow_id}" if label else row.workflow_id


def shown_width(text: str) -> int:
    """Cells `text` takes once escaped (`visible`)."""
    if text.isascii() and text.isprintable():
        return len(text)
    return cell_width(visible(text))


class IdWidths:
    """The widest workflowId and runId of the rows so far, as shown, capped at the columns' maxima.

    Kept as rows arrive, so a paint never measures. It only grows (a removed row's width stays
    until `reset`): a column a little wider than needed costs nothing, and jumping back and forth
    would move every column at each poll.
    """

    __slots__ = ("run_id", "workflow_id")

    def __init__(self) -> None:
        self.workflow_id = 0
        self.run_id = 0

    def reset(self) -> None:
        self.workflow_id = self.run_id = 0

    def add(self, rows: Iterable[JobRow]) -> bool:
        """Take these rows' IDs into account; True if a column wants more room now."""
        rows = rows if isinstance(rows, Sequence) else list(rows)
        # two comprehensions: 100k rows ~20 -> ~8 ms (a loop of appends, 2 cores)
        wids = [id_cell_text(row) if row.label else row.workflow_id for row in rows]
        runs = [row.run_id for row in rows]
        wid = min(MAX_WORKFLOW_ID_WIDTH, _widest(wids))
        run = min(MAX_RUN_ID_WIDTH, _widest(runs))
        grew = wid > self.workflow_id or run > self.run_id
        self.workflow_id = max(self.workflow_id, wid)
        self.run_id = max(self.run_id, run)
        return grew

    def wanted(self) -> tuple[int, int]:
        """(workflowId, runId) cells the columns want; the defaults before any row."""
        if not self.workflow_id and not self.run_id:
            return DEFAULT_WORKFLOW_ID_WIDTH, DEFAULT_RUN_ID_WIDTH
        return self.workflow_id, self.run_id


def _widest(texts: list[str]) -> int:
    """The largest `shown_width` of `texts`. One C-level pass when all are printable ASCII
    (100k IDs: ~3 ms); otherwise only the others are escaped and measured."""
    if not texts:
        return 0
    joined = "".join(texts)
    widest = max(map(len, texts))
    if joined.isascii() and joined.isprintable():
        return widest
    return max(shown_width(text) for text in texts)


@dataclass(slots=True, frozen=True)
class Layout:
    """The columns drawn at one width."""

    workflow_id_width: int
    run_id_width: int
    tail: tuple[str, ...]
    #: cells the columns take (at most the width, unless even the narrowest layout does not fit)
    width: int

    def column_width(self, column: str) -> int:
        return self.run_id_width if column == "runId" else FIXED_WIDTHS[column]


@lru_cache(maxsize=256)
def layout_for(
    width: int,
    workflow_id_cells: int = DEFAULT_WORKFLOW_ID_WIDTH,
    run_id_cells: int = DEFAULT_RUN_ID_WIDTH,
) -> Layout:
    """The columns for `width` cells when the widest IDs take these cells.

    Every column starts at its least (the runId at MIN_RUN_ID_WIDTH); tail columns go
    (DROP_ORDER) before the workflowId gets narrower than MIN_WORKFLOW_ID_WIDTH (or than its
    widest ID, when that is less). The room left goes to the workflowId up to its widest ID,
    then to the runId up to its widest; what is left after that stays blank at the right.
    """
    wid_want = max(WORKFLOW_ID_TITLE_WIDTH, workflow_id_cells)
    run_want = max(MIN_RUN_ID_WIDTH, run_id_cells)
    tail = list(TAIL_COLUMNS)
    drop = list(DROP_ORDER)

    def room() -> int:  # for the workflowId, with the runId at its least
        least = {**FIXED_WIDTHS, "runId": MIN_RUN_ID_WIDTH}
        return width - 2 - STATUS_WIDTH - 1 - sum(least[c] + 1 for c in tail)

    while room() < min(MIN_WORKFLOW_ID_WIDTH, wid_want) and drop:
        tail.remove(drop.pop(0))
    spare = room()
    id_cells = max(1, min(spare, wid_want))
    run_cells = MIN_RUN_ID_WIDTH
    if "runId" in tail:
        run_cells += max(0, min(spare - id_cells, run_want - MIN_RUN_ID_WIDTH))
    used = 2 + id_cells + STATUS_WIDTH
    used += sum((run_cells if c == "runId" else FIXED_WIDTHS[c]) + 1 for c in tail)
    return Layout(id_cells, run_cells, tuple(tail), used)


def column_x(layout: Layout, column: str) -> int:
    """The first cell of a tail column in a line of `layout`."""
    x = 1 + layout.workflow_id_width + 1 + STATUS_WIDTH
    for name in layout.tail:
        x += 1
        if name == column:
            return x
        x += layout.column_width(name)
    raise ValueError(f"{column!r} is not in the layout")


def elapsed_text(row: JobRow, now: float) -> str:
    """The elapsed cell: how long a running job runs so far, how long a finished one ran."""
    if not row.status.is_terminal:
        return format_duration(now - row.first_seen)
    # Terminal at first sight: it was never seen running, so how long it ran is unknown.
    if row.last_change > row.first_seen:
        return format_duration(row.last_change - row.first_seen)
    return "—"


def header_strip(sort_mode: str, width: int, style: Style, layout: Layout) -> Strip:
    """The line of column titles, the sorted column's with its arrow."""
    sorted_column = SORT_COLUMN[sort_mode]
    arrow = SORT_ARROWS[sort_mode]

    def title(name: str) -> str:
        return f"{name} {arrow}" if name == sorted_column else name

    text = " " + fit(title("workflowId"), layout.workflow_id_width) + " "
    text += fit(title("status"), STATUS_WIDTH)
    for column in layout.tail:
        text += " " + fit(title(column), layout.column_width(column))
    return Strip([Segment(fit(text, width), style)], width)


def status_cell(row: JobRow) -> str:
    """ "✗ FAILED", "? PAUSED (9)": the glyph is ours, the name the API's (escaped)."""
    return shown(f"{status_symbol(row.status)} {row.status.label}", STATUS_WIDTH)


def row_strip(
    row: JobRow,
    width: int,
    elapsed: str,
    now: float,
    style: Style,
    status_style: Style,
    layout: Layout,
    eta: str = "",
    slow_style: Style | None = None,
) -> Strip:
    """One job's line: `style` for the whole line, `status_style` added to the status cell and
    `slow_style` to an ETA cell that says "slow"."""
    mark = PIN_MARK if row.pinned else " "
    head = mark + shown(id_cell_text(row), layout.workflow_id_width) + " "
    tail = []
    eta_cell = ""
    for column in layout.tail:
        if column == "runId":
            tail.append(shown(row.run_id, layout.run_id_width))
        elif column == "first seen":
            tail.append(fit(format_clock(row.first_seen, now), CLOCK_WIDTH))
        elif column == "last change":
            tail.append(fit(format_clock(row.last_change, now), CLOCK_WIDTH))
        elif column == "elapsed":
            tail.append(fit_right(elapsed, ELAPSED_WIDTH))
        else:
            eta_cell = fit_right(eta, ETA_WIDTH)
    rest = "".join(" " + cell for cell in tail)
    used = layout.width
    end = " " * max(0, width - used)
    segments = [
        Segment(head, style),
        Segment(status_cell(row), style + status_style),
    ]
    if "eta" in layout.tail:
        eta_style = style + slow_style if slow_style is not None and eta == "slow" else style
        segments += [Segment(rest + " ", style), Segment(eta_cell, eta_style), Segment(end, style)]
    else:
        segments.append(Segment(rest + end, style))
    if used > width:
        return Strip(segments).crop(0, width)
    return Strip(segments, width)


def message_strip(message: str, width: int, style: Style) -> Strip:
    """A line with `message` centred (the empty table's and the no-match message)."""
    return Strip([Segment(fit(message.center(width), width), style)], width)


@dataclass(slots=True)
class Frame:
    """What every line of one paint shares: the time, the day (clock columns), the styles and
    the columns."""

    now: float
    day: tuple[int, int]
    #: names this combination of styles in the line cache's keys
    token: int
    base: Style
    cursor: Style
    header: Style
    empty: Style
    statuses: dict[int | str, Style]
    layout: Layout
    #: the ETA cell of a row at a time (jobwatch.tui.job_facts.WorkspaceFacts.eta_text)
    eta: Callable[[JobRow, float], str]
    #: added to an ETA cell that says "slow"
    slow: Style


def no_eta(row: JobRow, now: float) -> str:
    return ""


class LinePainter:
    """Draws the table's lines and keeps them, keyed by everything that shows on a line.

    It also remembers which screen lines show a running job and the elapsed and ETA texts drawn
    there, so that the once-a-second tick repaints only the cells whose text changed.
    """

    def __init__(self) -> None:
        self._cache: LRUCache[tuple, Strip] = LRUCache(LINE_CACHE_SIZE)
        self._tokens: dict[tuple, int] = {}
        # screen line -> (workflowId, elapsed text, ETA text) of the last paint of a running row
        self._running: dict[int, tuple[str, str, str]] = {}

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
        layout: Layout,
        eta: Callable[[JobRow, float], str] = no_eta,
        slow: Style | None = None,
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
            now,
            (local.tm_year, local.tm_yday),
            token,
            base,
            cursor,
            header,
            empty,
            statuses,
            layout,
            eta,
            slow if slow is not None else Style(),
        )

    def header(self, sort_mode: str, width: int, frame: Frame) -> Strip:
        cache_key = ("\0header", sort_mode, width, frame.token, frame.layout)
        strip = self._cache.get(cache_key)
        if strip is None:
            strip = header_strip(sort_mode, width, frame.header, frame.layout)
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
        eta = ""
        if not row.status.is_terminal:
            eta = frame.eta(row, frame.now)
            self._running[y] = (row.workflow_id, elapsed, eta)
        layout = frame.layout
        cache_key = (
            row.workflow_id,
            version,
            width,
            is_cursor,
            elapsed,
            eta,
            frame.day,
            frame.token,
            layout,
        )
        strip = self._cache.get(cache_key)
        if strip is None:
            style = frame.cursor if is_cursor else frame.base
            status_style = style_for(frame.statuses, row.status.code)
            strip = row_strip(
                row, width, elapsed, frame.now, style, status_style, layout, eta, frame.slow
            )
            self._cache[cache_key] = strip
        return strip

    def stale_elapsed(
        self,
        now: float,
        width: int,
        layout: Layout,
        row_of: Callable[[str], JobRow | None],
        eta: Callable[[JobRow, float], str] = no_eta,
    ) -> list[Region]:
        """The elapsed and ETA cells of running rows on screen whose text at `now` is not the
        one drawn (one region a line, from the elapsed cell to the end of the ETA cell)."""
        if not self._running or "elapsed" not in layout.tail:
            return []
        x = column_x(layout, "elapsed")
        if x >= width:
            return []
        cells = layout.width - x
        regions = []
        for y, (wid, elapsed, drawn_eta) in self._running.items():
            row = row_of(wid)
            if row is None or row.status.is_terminal:
                continue
            if elapsed_text(row, now) != elapsed or eta(row, now) != drawn_eta:
                regions.append(Region(x, y, min(cells, width - x), 1))
        return regions
