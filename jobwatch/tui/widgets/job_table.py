"""The dashboard's job table: a widget on Textual's Line API that draws only the rows on screen.

Built for 100k rows. The rows, their sort and filters and the order they are shown in live in a
JobIndex (jobwatch.tui.job_index); this widget draws it, keeps the cursor and the scroll position,
and posts a message when the highlighted job changes. Lines are drawn by jobwatch.tui.widgets.job_lines
and cached per (row, version, width, cursor, elapsed, day, styles), so an update of rows that are
off screen draws nothing.

The cursor follows its job (not its position) across updates, sorting and filtering, and the view is
scrolled so that the job stays on the same screen line when rows appear above it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Self

from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from jobwatch.tui.job_index import Change, JobIndex, Refill, SortEntry, View
from jobwatch.tui.model import JobRow
from jobwatch.tui.textual_private import QuietlySizedScrollView
from jobwatch.tui.theming.status_style import status_styles
from jobwatch.tui.widgets.job_lines import (
    Frame,
    IdWidths,
    Layout,
    LinePainter,
    layout_for,
    message_strip,
    no_eta,
)
from jobwatch.tui.widgets.scrollbar import move_quietly

__all__ = ["JobRow", "JobTable"]


class JobTable(QuietlySizedScrollView, can_focus=True):
    """A sortable, filterable table of jobs that renders only its visible rows.

    About 475 lines with its CSS (35) and key map because it is a whole widget: its API for the
    screen, cursor and scrolling, keys and mouse, and the paint. These share one state (the cursor's
    job, position and sort entry, the lazily rebuilt order and the scroll offset): every part calls
    `_ensure_order` and moves or reads the cursor, so a mixin would be this class in two files. The
    rows and their order are a JobIndex; the lines are drawn by job_lines.
    """

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
    JobTable > .job-table--slow {
        color: $warning;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {
        "job-table--header",
        "job-table--cursor",
        "job-table--stale",
        "job-table--empty",
        "job-table--slow",
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
        self._index = JobIndex()
        self._rebuild_scheduled = False
        self._cursor_key: str | None = None
        self._cursor_pos = -1
        # the cursor row's sort entry as last shown: where the cursor goes if its row disappears
        self._cursor_entry: SortEntry | None = None
        self._painter = LinePainter()
        self._frame: Frame | None = None
        self._tick_day: tuple[int, int] | None = None
        self._id_widths = IdWidths()
        #: a repaint of every line is pending (set by refresh() without regions, cleared by a paint)
        self._full_repaint_pending = False
        #: screen line -> what was painted there (`_line_shown`), for `_refresh_changed_lines`
        self._painted: dict[int, tuple] = {}
        #: the ETA cell of a running row at a time (the screen sets it: WorkspaceFacts.eta_text)
        self.eta_of: Callable[[JobRow, float], str] = no_eta
        #: called once, after the first paint that shows rows (the app ends its start-up hold of
        #: the garbage collector there: jobwatch.tui.idle_gc)
        self.on_first_rows: Callable[[], object] | None = None

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[JobRow]:
        return iter(self._index)

    @property
    def _generation(self) -> int:
        """Upserts so far (bench/bench.py reads it to tell when a poll's rows reached the table)."""
        return self._index.generation

    # ----------------------------------------------------------------- data

    def upsert(self, rows: Iterable[JobRow]) -> None:
        """Add rows, or replace the rows with the same workflowId."""
        rows = rows if isinstance(rows, Sequence) else list(rows)
        wider = self._id_widths.add(rows)
        change = self._index.upsert(rows)
        if self.on_first_rows is not None and len(self._index):
            first_rows, self.on_first_rows = self.on_first_rows, None
            self.call_after_refresh(first_rows)
        if wider and change is Change.ORDER:
            self._mark_dirty()
        elif wider:
            self.refresh()
        elif change is Change.ORDER:
            self._mark_dirty(lines_only=True)
        elif change is Change.ROWS:
            self._refresh_changed_lines()

    def remove_rows(self, ids: Iterable[str]) -> None:
        """Remove the rows with these workflowIds (unknown ones are ignored).

        (Not `remove`: that is Widget.remove, which takes the widget itself out of the DOM.)
        """
        if self._index.remove(ids):
            self._mark_dirty(lines_only=True)

    def replace_all(self, rows: Iterable[JobRow]) -> None:
        """Make the table hold exactly these rows; the cursor stays on its job if it is still there."""
        rows = list(rows)
        keep = {row.workflow_id for row in rows}
        gone = [row.workflow_id for row in self._index if row.workflow_id not in keep]
        if gone:
            self.remove_rows(gone)
        self._id_widths.reset()
        self.upsert(rows)
        self.refresh()

    def refill(self, fill: Refill, widths: IdWidths) -> None:
        """Make the table hold exactly the rows of `fill`, whose IDs `widths` measured: a whole
        table gathered a slice at a time (jobwatch.tui.history_load); the cursor stays on its
        job if it is still there."""
        self._index.refill(fill)
        self._id_widths = widths
        self._mark_dirty()

    def clear(self) -> None:
        """Remove every row."""
        self._index.clear()
        self._painter.clear()
        self._id_widths.reset()
        self._cursor_entry = None
        self._set_cursor(None, -1)
        self._update_virtual_size()
        self.refresh()

    def row(self, workflow_id: str) -> JobRow | None:
        return self._index.row(workflow_id)

    @property
    def visible_count(self) -> int:
        """Rows that pass the filters."""
        self._ensure_order()
        return self._index.visible_count

    def visible_keys(self, start: int = 0, stop: int | None = None) -> list[str]:
        """workflowIds in display order (a slice of it)."""
        self._ensure_order()
        return self._index.keys(start, stop)

    # ------------------------------------------------------ sort and filter

    @property
    def sort_mode(self) -> str:
        return self._index.sort_mode

    def cycle_sort(self) -> str:
        """Switch to the next sort mode and return its name."""
        return self.set_sort(self._index.next_sort_mode())

    def set_sort(self, name: str) -> str:
        """Sort by one of SORT_MODES; raises ValueError for another name."""
        if self._index.set_sort(name):
            self._mark_dirty()
        return self._index.sort_mode

    @property
    def text_filter(self) -> str:
        return self._index.text_filter

    @property
    def status_filter(self) -> frozenset[int] | None:
        return self._index.status_filter

    def set_text_filter(self, text: str) -> None:
        """Show only rows whose workflowId or runId contains `text` (case-insensitive); "" shows all."""
        if self._index.set_text_filter(text):
            self._mark_dirty()

    def set_status_filter(self, codes: Iterable[int] | None) -> None:
        """Show only rows with one of these status codes; None shows all."""
        if self._index.set_status_filter(codes):
            self._mark_dirty()

    # ------------------------------------------------------- order (lazy)

    def _mark_dirty(self, *, lines_only: bool = False) -> None:
        """The order changed: repaint, and rebuild it once after this burst of changes.

        `lines_only`: the rows changed but not how a row is drawn (sort, filters, columns): the
        rebuild repaints only the lines that show another row or version than before.
        """
        if not lines_only:
            self.refresh()
        if not self._rebuild_scheduled and self.is_attached:
            self._rebuild_scheduled = True
            self.call_later(self._scheduled_rebuild)

    def _scheduled_rebuild(self) -> None:
        self._rebuild_scheduled = False
        self._ensure_order()

    def _ensure_order(self) -> None:
        """Rebuild the sorted, filtered order if anything changed, keeping the cursor on its job.

        Every reader of the index's order calls this first: the index would rebuild by itself, but
        then the cursor and the scroll position would not follow.
        """
        old_order = self._index.rebuild()
        if old_order is not None:
            self._follow(old_order)

    def _follow(self, old_order: list[SortEntry]) -> None:
        """Put the cursor back on its job and keep it (or the top row) on the same screen line."""
        scroll = round(self.scroll_y)
        view = View(
            self._cursor_key, self._cursor_entry, self._cursor_pos, scroll, self._viewport_height()
        )
        placed = self._index.follow(old_order, view)
        self._update_virtual_size()
        self._set_cursor(placed.key, placed.position, repaint=False)
        if placed.scroll != scroll:
            self.scroll_to(y=placed.scroll, animate=False, force=True)
        self._refresh_changed_lines()

    def _update_virtual_size(self) -> None:
        """One line a row and the header's: Textual lays the screen out again for the scroll bar
        and the scroll range, but the lines are repainted only where they change
        (`_refresh_changed_lines`; `virtual_size` is a reactive that repaints the whole table)."""
        size = Size(0, self._index.visible_count + 1)
        if size != self.virtual_size:
            self.set_reactive(JobTable.virtual_size, size)
            self.refresh(repaint=False, layout=True)

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
        pos = self._index.position(key)
        if pos is None:
            return False
        self._set_cursor(key, pos)
        self._scroll_cursor_into_view()
        return True

    def _set_cursor(self, key: str | None, pos: int, *, repaint: bool = True) -> None:
        """Put the cursor on `key` at `pos`; `repaint=False`: the caller repaints the lines."""
        old_pos = self._cursor_pos
        self._cursor_pos = pos
        if pos >= 0:
            self._cursor_entry = self._index.order[pos]
        if old_pos != pos and repaint:
            self._refresh_row(old_pos)
            self._refresh_row(pos)
        if key != self._cursor_key:
            self._cursor_key = key
            if repaint:
                self._refresh_row(pos)
            self.post_message(self.Highlighted(key, self))

    def _refresh_row(self, pos: int) -> None:
        if pos >= 0:
            y = pos - round(self.scroll_y) + 1
            if 1 <= y < self._viewport_height():
                self.refresh(Region(0, y, self.size.width, 1))

    def _move_to(self, pos: int) -> None:
        self._ensure_order()
        count = self._index.visible_count
        if not count:
            return
        pos = max(0, min(pos, count - 1))
        self._set_cursor(self._index.key_at(pos), pos)
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
        self._ensure_order()  # first: a pending rebuild may move the cursor's job
        self._move_to(self._cursor_pos - 1)

    def action_cursor_down(self) -> None:
        self._ensure_order()  # first: a pending rebuild may move the cursor's job
        self._move_to(self._cursor_pos + 1)

    def action_cursor_page_up(self) -> None:
        self._page(-1)

    def action_cursor_page_down(self) -> None:
        self._page(1)

    def _page(self, direction: int) -> None:
        self._ensure_order()
        if not self._index.visible_count:
            return
        step = max(1, self._body_height()) * direction
        scroll_y = round(self.scroll_y)
        self.scroll_to(y=scroll_y + step, animate=False, force=True)
        self._move_to(self._cursor_pos + step)

    def action_cursor_first(self) -> None:
        self._move_to(0)

    def action_cursor_last(self) -> None:
        self._ensure_order()
        self._move_to(self._index.visible_count - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(key, self))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        self._ensure_order()
        pos = round(self.scroll_y) + offset.y - 1
        if 0 <= pos < self._index.visible_count:
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
        if self._index.dirty or self._full_repaint_pending:
            return
        width = self._content_width()
        layout = self.columns()
        stale = self._painter.stale_elapsed(now, width, layout, self._index.row, self.eta_of)
        for region in stale:
            self.refresh(region)

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        """Textual's refresh; remembers that every line will be painted when no region is given."""
        if not regions and repaint:
            self._full_repaint_pending = True
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """ScrollView's, except that the scroll bar is repainted only when its thumb moves a step
        that shows (jobwatch.tui.widgets.scrollbar: at 100k rows, ~350 rows a step), and only the
        lines that show another row are (the rows a poll put above the cursor scroll the view by
        as many: the same rows stay on the same lines)."""
        if self.show_vertical_scrollbar:
            move_quietly(self.vertical_scrollbar, new_value)
        if round(old_value) != round(new_value):
            self._refresh_changed_lines()

    def _line_shown(self, y: int) -> tuple[str, int, bool] | tuple[None, str]:
        """What body line `y` shows now: (workflowId, version, has the cursor) of its row, or
        (None, the message) of a line without one ("" for a blank line). Its elapsed and ETA
        cells change with the time, not with this: `tick` repaints them."""
        index = self._index
        order = index.order
        if not order:
            body = self._body_height()
            if y == 1 + (body - 1) // 2:
                return (None, self.empty_message if not index else self.no_match_message)
            return (None, "")
        position = round(self.scroll_y) + y - 1
        if position >= len(order):
            return (None, "")
        wid = order[position][-1]
        return (wid, index.version(wid), position == self._cursor_pos)

    def _refresh_changed_lines(self) -> None:
        """Repaint the body lines that would show something else than they were painted with.

        A poll that changes rows off screen, or moves rows above the cursor (the view scrolls with
        them), repaints nothing; a full repaint of the table was the poll's largest paint, and
        every repainted line is written to the terminal again. At 100k jobs, growing, 40 s
        without keys on a 120x40 pty: the table's paint took 94 -> 6 ms, all the compositor's
        refreshes 641 -> 278 ms (with the quiet scroll bar); CPU in a minute after 150 presses,
        main and this in turn: 4.05-4.73 -> 3.25-3.62 % (once 5.87), README "Performance".
        """
        if self._full_repaint_pending or not self._painted:
            self.refresh()
            return
        self._ensure_order()
        width = self.size.width
        painted = self._painted
        for y in range(1, self._viewport_height()):
            if painted.get(y) != self._line_shown(y):
                self.refresh(Region(0, y, width, 1))

    def watch_stale(self) -> None:
        self.refresh()

    def watch_empty_message(self) -> None:
        self.refresh()

    def watch_no_match_message(self) -> None:
        self.refresh()

    # ----------------------------------------------------------- rendering

    def _content_width(self) -> int:
        return self.scrollable_content_region.width or self.size.width

    def columns(self) -> Layout:
        """The columns at the table's width for the IDs it holds."""
        return layout_for(self._content_width(), *self._id_widths.wanted())

    def _make_frame(self) -> Frame:
        base = self.rich_style
        get = self.get_component_rich_style
        stale = get("job-table--stale") if self.stale else None
        row_base = base + stale if stale is not None else base
        return self._painter.frame(
            self._now(),
            base=row_base,
            cursor=row_base + get("job-table--cursor"),
            header=base + get("job-table--header"),
            empty=base + get("job-table--empty"),
            statuses=status_styles(self.app),
            generation=self._index.generation,
            layout=self.columns(),
            eta=self.eta_of,
            slow=get("job-table--slow"),
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        self._ensure_order()
        if self._full_repaint_pending:
            self._full_repaint_pending = False
            self._painted.clear()
        self._frame = self._make_frame()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        frame = self._frame or self._make_frame()
        self._painter.forget(y)
        width = self._content_width()
        if y == 0:
            return self._painter.header(self._index.sort_mode, width, frame)
        shown = self._painted[y] = self._line_shown(y)
        if shown[0] is None:
            message = shown[1]
            return (
                message_strip(message, width, frame.empty)
                if message
                else Strip.blank(width, frame.base)
            )
        wid, version, is_cursor = shown
        row = self._index.row(wid)
        assert row is not None
        return self._painter.row(y, row, version, width, is_cursor, frame)
