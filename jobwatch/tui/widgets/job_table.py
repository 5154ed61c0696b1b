"""The dashboard's job table: a virtual table on Textual's Line API that renders only the rows on screen.

Built for 100k rows. Rows live in a dict keyed by workflowId; the sorted and filtered order is a list of
sort-key tuples (each ending with the workflowId) rebuilt lazily, and incrementally: entries of changed
rows are dropped by identity and the new ones merged with one C-level `list.sort()` (Timsort on an
almost sorted list). Rendered lines are cached per (row, version, width, cursor, elapsed, theme), so an
update of rows that are off screen renders nothing. Column widths are fixed; nothing is measured.

The cursor follows its job (not its position) across updates, sorting and filtering, and the view is
scrolled so that the job stays on the same screen line when rows appear above it.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from jobwatch.formatting import format_clock, format_duration, shorten_run_id, status_symbol
from jobwatch.tui.job_index import _SORT_KEYS, SORT_MODES, _merge
from jobwatch.tui.model import JobRow
from jobwatch.tui.theming.status_style import status_styles, style_for

_SORT_ARROWS: dict[str, str] = {
    "last change": "▼",
    "first seen": "▼",
    "status": "▼",
    "workflowId": "▲",
}

# Fixed column widths in cells. "↻ CONTINUED_AS_NEW" is 18; "Nov 27 14:03" is 12 (+1 for a sort arrow).
STATUS_WIDTH = 18
RUN_ID_WIDTH = 9
CLOCK_WIDTH = 13
ELAPSED_WIDTH = 7
MIN_WORKFLOW_ID_WIDTH = 20  # "role-assignment-0bfe93…": still tells jobs apart
# Columns after the status, in display order, and the order in which they are dropped when narrow.
_TAIL_COLUMNS = ("runId", "first seen", "last change", "elapsed")
_DROP_ORDER = ("first seen", "runId", "last change", "elapsed")
_TAIL_WIDTHS = {
    "runId": RUN_ID_WIDTH,
    "first seen": CLOCK_WIDTH,
    "last change": CLOCK_WIDTH,
    "elapsed": ELAPSED_WIDTH,
}
_HEADER_SORT_COLUMN = {
    "workflowId": "workflowId",
    "status": "status",
    "first seen": "first seen",
    "last change": "last change",
}


def _fit(text: str, width: int) -> str:
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


def _fit_right(text: str, width: int) -> str:
    if len(text) >= width:
        return _fit(text, width)
    return " " * (width - len(text)) + text


@dataclass(slots=True, frozen=True)
class _Layout:
    workflow_id_width: int
    tail: tuple[str, ...]
    width: int


@dataclass(slots=True)
class _Frame:
    """What every line of one paint shares."""

    now: float
    day: tuple[int, int]
    token: int
    base: Style
    cursor: Style
    header: Style
    empty: Style
    statuses: dict


class JobTable(ScrollView, can_focus=True):
    """A sortable, filterable table of jobs that renders only its visible rows."""

    DEFAULT_CSS = """
    JobTable {
        height: 1fr;
        width: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
        color: $foreground;
    }
    JobTable > .job-table--header {
        text-style: bold;
        background: $panel;
        color: $text-muted;
    }
    JobTable > .job-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    JobTable:focus > .job-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    JobTable > .job-table--stale {
        text-style: dim;
    }
    JobTable > .job-table--empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    COMPONENT_CLASSES = {
        "job-table--header",
        "job-table--cursor",
        "job-table--stale",
        "job-table--empty",
    }

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "cursor_page_up", "Page up", show=False),
        Binding("pagedown", "cursor_page_down", "Page down", show=False),
        Binding("home,g", "cursor_first", "First", show=False),
        Binding("end,G", "cursor_last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    stale: reactive[bool] = reactive(False)
    empty_message: reactive[str] = reactive("No jobs yet — waiting for the first poll")
    no_match_message: reactive[str] = reactive("No job matches the filter")

    class _JobMessage(Message):
        def __init__(self, workflow_id: str | None, job_table: JobTable | None = None) -> None:
            super().__init__()
            self.workflow_id = workflow_id
            self.job_table = job_table

        @property
        def control(self) -> JobTable | None:
            return self.job_table

    class Highlighted(_JobMessage):
        """The cursor moved to another job (or to none)."""

    class Selected(_JobMessage):
        """Enter (or a click on the cursor row) chose a job."""

        workflow_id: str

    def __init__(
        self,
        *,
        now: Callable[[], float] = time.time,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._now = now
        self._rows: dict[str, JobRow] = {}
        self._versions: dict[str, int] = {}
        self._generation = 0
        self._sort = SORT_MODES[0]
        self._key = _SORT_KEYS[self._sort]
        # workflowId -> its current sort entry; an entry in _sorted is live only if it *is* this object.
        self._entries: dict[str, tuple] = {}
        self._sorted: list[tuple] = []
        self._pending: list[tuple] = []
        # replaced or removed entries that may still sit in _sorted
        self._stale: list[tuple] = []
        # rows whose filter membership flipped since the last rebuild (their entry may be unchanged)
        self._flipped: set[str] = set()
        self._refiltered = False
        self._order: list[tuple] = []
        self._dirty = False
        self._rebuild_scheduled = False
        self._text_filter = ""
        self._status_filter: frozenset[int] | None = None
        self._matching: set[str] | None = None
        self._cursor_key: str | None = None
        self._cursor_pos = -1
        self._cursor_entry: tuple | None = None
        self._line_cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._layouts: dict[int, _Layout] = {}
        self._tokens: dict[tuple, int] = {}
        self._frame: _Frame | None = None
        # screen line -> (workflowId, elapsed text) of the last paint of a running row, for tick()
        self._painted: dict[int, tuple[str, str]] = {}
        self._tick_day: tuple[int, int] | None = None

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._rows)

    # ----------------------------------------------------------------- data

    def upsert(self, rows: Iterable[JobRow]) -> None:
        """Add rows, or replace the rows with the same workflowId."""
        stored = self._rows
        versions = self._versions
        entries = self._entries
        pending = self._pending
        stale = self._stale
        key = self._key
        matching = self._matching
        matches = self._matches
        self._generation += 1
        generation = self._generation
        changed = False
        reorder = False
        for row in rows:
            wid = row.workflow_id
            old = stored.get(wid)
            if old is not None and old == row:
                continue
            stored[wid] = row
            versions[wid] = generation
            changed = True
            entry = key(row)
            if old is None:
                entries[wid] = entry
                pending.append(entry)
                reorder = True
            else:
                previous = entries[wid]
                if previous != entry:
                    stale.append(previous)
                    entries[wid] = entry
                    pending.append(entry)
                    reorder = True
            if matching is not None:
                if matches(row):
                    if wid not in matching:
                        matching.add(wid)
                        self._flipped.add(wid)
                        reorder = True
                elif wid in matching:
                    matching.discard(wid)
                    self._flipped.add(wid)
                    reorder = True
        if reorder:
            self._mark_dirty()
        elif changed:
            self.refresh()

    def remove(self, ids: Iterable[str]) -> None:
        """Remove the rows with these workflowIds (unknown ones are ignored)."""
        removed = False
        for wid in ids:
            if self._rows.pop(wid, None) is not None:
                self._stale.append(self._entries.pop(wid))
                self._versions.pop(wid, None)
                if self._matching is not None:
                    self._matching.discard(wid)
                removed = True
        if removed:
            self._mark_dirty()

    def replace_all(self, rows: Iterable[JobRow]) -> None:
        """Make the table hold exactly these rows; the cursor stays on its job if it is still there."""
        rows = list(rows)
        keep = {row.workflow_id for row in rows}
        gone = [wid for wid in self._rows if wid not in keep]
        if gone:
            self.remove(gone)
        self.upsert(rows)

    def clear(self) -> None:
        """Remove every row."""
        self._rows.clear()
        self._entries.clear()
        self._versions.clear()
        self._sorted = []
        self._pending = []
        self._stale = []
        self._flipped = set()
        self._order = []
        if self._matching is not None:
            self._matching = set()
        self._line_cache.clear()
        self._dirty = False
        self._cursor_entry = None
        self._set_cursor(None, -1)
        self._update_virtual_size()
        self.refresh()

    def row(self, workflow_id: str) -> JobRow | None:
        return self._rows.get(workflow_id)

    @property
    def visible_count(self) -> int:
        """Rows that pass the filters."""
        self._ensure_order()
        return len(self._order)

    def visible_keys(self, start: int = 0, stop: int | None = None) -> list[str]:
        """workflowIds in display order (a slice of it)."""
        self._ensure_order()
        return [entry[-1] for entry in self._order[start:stop]]

    def __iter__(self) -> Iterator[JobRow]:
        return iter(self._rows.values())

    # ------------------------------------------------------ sort and filter

    @property
    def sort_mode(self) -> str:
        return self._sort

    def cycle_sort(self) -> str:
        """Switch to the next sort mode and return its name."""
        index = SORT_MODES.index(self._sort)
        return self.set_sort(SORT_MODES[(index + 1) % len(SORT_MODES)])

    def set_sort(self, name: str) -> str:
        """Sort by one of SORT_MODES; raises ValueError for another name."""
        if name not in _SORT_KEYS:
            raise ValueError(f"unknown sort {name!r}; expected one of {', '.join(SORT_MODES)}")
        if name != self._sort:
            self._sort = name
            self._key = key = _SORT_KEYS[name]
            self._entries = {wid: key(row) for wid, row in self._rows.items()}
            self._sorted = []
            self._stale = []
            self._pending = list(self._entries.values())
            self._mark_dirty()
        return self._sort

    @property
    def text_filter(self) -> str:
        return self._text_filter

    @property
    def status_filter(self) -> frozenset[int] | None:
        return self._status_filter

    def set_text_filter(self, text: str) -> None:
        """Show only rows whose workflowId or runId contains `text` (case-insensitive); "" shows all."""
        text = text.strip().casefold()
        if text != self._text_filter:
            self._text_filter = text
            self._refilter()

    def set_status_filter(self, codes: set[int] | frozenset[int] | None) -> None:
        """Show only rows with one of these status codes; None shows all."""
        codes = None if codes is None else frozenset(codes)
        if codes != self._status_filter:
            self._status_filter = codes
            self._refilter()

    def _matches(self, row: JobRow) -> bool:
        codes = self._status_filter
        if codes is not None and row.status.code not in codes:
            return False
        text = self._text_filter
        return not text or text in row.workflow_id.casefold() or text in row.run_id.casefold()

    def _refilter(self) -> None:
        if not self._text_filter and self._status_filter is None:
            self._matching = None
        else:
            matches = self._matches
            self._matching = {wid for wid, row in self._rows.items() if matches(row)}
        self._refiltered = True
        self._mark_dirty()

    # ------------------------------------------------------- order (lazy)

    def _mark_dirty(self) -> None:
        self._dirty = True
        self.refresh()
        if not self._rebuild_scheduled and self.is_attached:
            self._rebuild_scheduled = True
            self.call_later(self._scheduled_rebuild)

    def _scheduled_rebuild(self) -> None:
        self._rebuild_scheduled = False
        self._ensure_order()

    def _ensure_order(self) -> None:
        """Rebuild the sorted, filtered order if anything changed, keeping the cursor on its job."""
        if not self._dirty:
            return
        self._dirty = False
        entries = self._entries
        pending = self._pending
        stale = self._stale
        flipped = self._flipped
        refiltered = self._refiltered
        self._pending = []
        self._stale = []
        self._flipped = set()
        self._refiltered = False
        get = entries.get
        live = [entry for entry in pending if get(entry[-1]) is entry]
        full = (len(pending) + len(stale) + len(flipped)) * 8 >= len(entries)
        ordered = sorted(entries.values()) if full else _merge(self._sorted, stale, live)
        self._sorted = ordered
        matching = self._matching
        old_order_len = len(self._order)
        if matching is None:
            order = ordered
        elif full or refiltered:
            order = [entry for entry in ordered if entry[-1] in matching]
        else:
            remove = stale + [entries[w] for w in flipped if w in entries and w not in matching]
            add = [entry for entry in live if entry[-1] in matching]
            add += [entries[w] for w in flipped if w in matching and w in entries]
            order = _merge(self._order, remove, add)

        body = self._body_height()
        scroll_y = round(self.scroll_y)
        old_pos = self._cursor_pos
        cursor_visible = 0 <= old_pos - scroll_y < body and old_pos < old_order_len
        anchor_line = old_pos - scroll_y if cursor_visible else 0
        anchor_entry = None
        if not cursor_visible and 0 <= scroll_y < old_order_len:
            anchor_entry = self._order[scroll_y]
            anchor_entry = entries.get(anchor_entry[-1], anchor_entry)

        self._order = order
        key = self._cursor_key
        target = entries.get(key) if key is not None else None
        if target is None:
            target = self._cursor_entry
        if not order:
            new_key, new_pos = None, -1
        elif target is None:
            new_key, new_pos = order[0][-1], 0
        else:
            pos = bisect_left(order, target)
            if pos >= len(order):
                pos = len(order) - 1
            new_key, new_pos = order[pos][-1], pos
        self._update_virtual_size()
        self._set_cursor(new_key, new_pos)

        if new_pos >= 0 and (cursor_visible or old_pos < 0):
            new_scroll = new_pos - anchor_line
        elif anchor_entry is not None:
            new_scroll = bisect_left(order, anchor_entry)
        else:
            new_scroll = scroll_y
        new_scroll = max(0, min(new_scroll, len(order) + 1 - self._viewport_height()))
        if new_scroll != scroll_y:
            self.scroll_to(y=new_scroll, animate=False, force=True)
        self.refresh()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(0, len(self._order) + 1)

    def _viewport_height(self) -> int:
        return self.scrollable_content_region.height

    def _body_height(self) -> int:
        return max(0, self._viewport_height() - 1)

    # ------------------------------------------------------------- cursor

    @property
    def cursor_key(self) -> str | None:
        """workflowId of the job under the cursor, or None when nothing is shown."""
        self._ensure_order()
        return self._cursor_key

    @property
    def cursor_row(self) -> int:
        """Position of the cursor in display order, -1 when none."""
        self._ensure_order()
        return self._cursor_pos

    def move_cursor(self, key: str | None) -> bool:
        """Put the cursor on the job `key` and scroll it into view; False if that job is not shown."""
        self._ensure_order()
        if key is None:
            self._cursor_entry = None
            self._set_cursor(None, -1)
            return True
        entry = self._entries.get(key)
        if entry is None or (self._matching is not None and key not in self._matching):
            return False
        pos = bisect_left(self._order, entry)
        self._set_cursor(key, pos)
        self._scroll_cursor_into_view()
        return True

    def _set_cursor(self, key: str | None, pos: int) -> None:
        old_pos = self._cursor_pos
        self._cursor_pos = pos
        if pos >= 0:
            self._cursor_entry = self._order[pos]
        if old_pos != pos:
            self._refresh_row(old_pos)
            self._refresh_row(pos)
        if key != self._cursor_key:
            self._cursor_key = key
            self._refresh_row(pos)
            self.post_message(self.Highlighted(key, self))

    def _refresh_row(self, pos: int) -> None:
        if pos >= 0:
            y = pos - round(self.scroll_y) + 1
            if 1 <= y < self._viewport_height():
                self.refresh(Region(0, y, self.size.width, 1))

    def _move_to(self, pos: int) -> None:
        self._ensure_order()
        if not self._order:
            return
        pos = max(0, min(pos, len(self._order) - 1))
        self._set_cursor(self._order[pos][-1], pos)
        self._scroll_cursor_into_view()

    def _scroll_cursor_into_view(self) -> None:
        pos = self._cursor_pos
        if pos < 0:
            return
        body = max(1, self._body_height())
        scroll_y = round(self.scroll_y)
        if pos < scroll_y:
            self.scroll_to(y=pos, animate=False, force=True)
        elif pos >= scroll_y + body:
            self.scroll_to(y=pos - body + 1, animate=False, force=True)

    def action_cursor_up(self) -> None:
        self._move_to(self._cursor_pos - 1)

    def action_cursor_down(self) -> None:
        self._move_to(self._cursor_pos + 1)

    def action_cursor_page_up(self) -> None:
        self._page(-1)

    def action_cursor_page_down(self) -> None:
        self._page(1)

    def _page(self, direction: int) -> None:
        self._ensure_order()
        if not self._order:
            return
        step = max(1, self._body_height()) * direction
        scroll_y = round(self.scroll_y)
        self.scroll_to(y=scroll_y + step, animate=False, force=True)
        self._move_to(self._cursor_pos + step)

    def action_cursor_first(self) -> None:
        self._move_to(0)

    def action_cursor_last(self) -> None:
        self._move_to(len(self._order) - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(key, self))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        self._ensure_order()
        pos = round(self.scroll_y) + offset.y - 1
        if 0 <= pos < len(self._order):
            event.stop()
            if pos == self._cursor_pos:
                self.action_select()
            else:
                self._move_to(pos)

    # ------------------------------------------------------------ refresh

    def tick(self) -> None:
        """Advance the elapsed column (call every second): repaint only the cells whose text changed.

        Nothing is repainted when no row on screen is running, or when a full repaint is pending.
        """
        now = self._now()
        local = time.localtime(now)
        day = (local.tm_year, local.tm_yday)
        new_day = self._tick_day is not None and day != self._tick_day
        self._tick_day = day
        if new_day:
            self.refresh()  # the clock columns drop or gain their date
            return
        painted = self._painted
        if self._dirty or self._repaint_required or not painted:
            return
        width = self.scrollable_content_region.width or self.size.width
        layout = self._layout(width)
        if "elapsed" not in layout.tail:
            return
        x = layout.width - ELAPSED_WIDTH
        if x >= width:
            return
        rows = self._rows
        for y, (wid, elapsed) in painted.items():
            row = rows.get(wid)
            if row is None or row.status.is_terminal:
                continue
            if format_duration(now - row.first_seen) != elapsed:
                self.refresh(Region(x, y, min(ELAPSED_WIDTH, width - x), 1))

    def watch_stale(self) -> None:
        self.refresh()

    def watch_empty_message(self) -> None:
        self.refresh()

    def watch_no_match_message(self) -> None:
        self.refresh()

    # ----------------------------------------------------------- rendering

    def _layout(self, width: int) -> _Layout:
        layout = self._layouts.get(width)
        if layout is None:
            tail = list(_TAIL_COLUMNS)
            drop = list(_DROP_ORDER)

            def id_width() -> int:
                return width - 2 - STATUS_WIDTH - 1 - sum(_TAIL_WIDTHS[c] + 1 for c in tail)

            while id_width() < MIN_WORKFLOW_ID_WIDTH and drop:
                tail.remove(drop.pop(0))
            id_cells = max(1, id_width())
            used = 2 + id_cells + STATUS_WIDTH + sum(_TAIL_WIDTHS[c] + 1 for c in tail)
            layout = _Layout(id_cells, tuple(tail), used)
            self._layouts[width] = layout
        return layout

    def _make_frame(self) -> _Frame:
        now = self._now()
        local = time.localtime(now)
        base = self.rich_style
        get = self.get_component_rich_style
        stale = get("job-table--stale") if self.stale else None
        row_base = base + stale if stale is not None else base
        cursor = row_base + get("job-table--cursor")
        header = base + get("job-table--header")
        empty = base + get("job-table--empty")
        statuses = status_styles(self.app)
        key = (row_base, cursor, header, id(statuses))
        token = self._tokens.get(key)
        if token is None:
            if len(self._tokens) > 64:
                self._tokens.clear()
                self._line_cache.clear()
            token = self._tokens[key] = len(self._tokens) + 1 + self._generation
        return _Frame(
            now, (local.tm_year, local.tm_yday), token, row_base, cursor, header, empty, statuses
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        self._ensure_order()
        self._frame = self._make_frame()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._frame or self._make_frame()
        self._painted.pop(y, None)
        width = self.scrollable_content_region.width or self.size.width
        if y == 0:
            return self._render_header(width, frame)
        order = self._order
        if not order:
            body = self._body_height()
            if y == 1 + (body - 1) // 2:
                message = self.empty_message if not self._rows else self.no_match_message
                return Strip([Segment(_fit(message.center(width), width), frame.empty)], width)
            return Strip.blank(width, frame.base)
        index = round(self.scroll_y) + y - 1
        if index >= len(order):
            return Strip.blank(width, frame.base)
        wid = order[index][-1]
        row = self._rows[wid]
        status = row.status
        if status.is_terminal:
            # Terminal at first sight: it was never seen running, so how long it ran is unknown.
            seen_run = row.last_change > row.first_seen
            elapsed = format_duration(row.last_change - row.first_seen) if seen_run else "—"
        else:
            elapsed = format_duration(frame.now - row.first_seen)
            self._painted[y] = (wid, elapsed)
        is_cursor = index == self._cursor_pos
        cache_key = (wid, self._versions[wid], width, is_cursor, elapsed, frame.day, frame.token)
        strip = self._line_cache.get(cache_key)
        if strip is None:
            strip = self._render_row(row, width, is_cursor, elapsed, frame)
            self._line_cache[cache_key] = strip
        return strip

    def _render_header(self, width: int, frame: _Frame) -> Strip:
        cache_key = ("\0header", self._sort, width, frame.token)
        strip = self._line_cache.get(cache_key)
        if strip is None:
            layout = self._layout(width)
            sorted_column = _HEADER_SORT_COLUMN[self._sort]
            arrow = _SORT_ARROWS[self._sort]

            def title(name: str) -> str:
                return f"{name} {arrow}" if name == sorted_column else name

            text = " " + _fit(title("workflowId"), layout.workflow_id_width) + " "
            text += _fit(title("status"), STATUS_WIDTH)
            for column in layout.tail:
                text += " " + _fit(title(column), _TAIL_WIDTHS[column])
            strip = Strip([Segment(_fit(text, width), frame.header)], width)
            self._line_cache[cache_key] = strip
        return strip

    def _render_row(
        self, row: JobRow, width: int, is_cursor: bool, elapsed: str, frame: _Frame
    ) -> Strip:
        layout = self._layout(width)
        style = frame.cursor if is_cursor else frame.base
        status = row.status
        status_style = style + style_for(frame.statuses, status.code)
        head = " " + _fit(row.workflow_id, layout.workflow_id_width) + " "
        status_cell = _fit(f"{status_symbol(status)} {status.label}", STATUS_WIDTH)
        tail = []
        for column in layout.tail:
            if column == "runId":
                tail.append(_fit(shorten_run_id(row.run_id), RUN_ID_WIDTH))
            elif column == "first seen":
                tail.append(_fit(format_clock(row.first_seen, frame.now), CLOCK_WIDTH))
            elif column == "last change":
                tail.append(_fit(format_clock(row.last_change, frame.now), CLOCK_WIDTH))
            else:
                tail.append(_fit_right(elapsed, ELAPSED_WIDTH))
        rest = "".join(" " + cell for cell in tail)
        used = layout.width
        rest += " " * max(0, width - used)
        segments = [Segment(head, style), Segment(status_cell, status_style), Segment(rest, style)]
        if used > width:
            return Strip(segments).crop(0, width)
        return Strip(segments, width)
