"""JobTable's cursor keys while the order is being rebuilt: `down` moves from the cursor's job as
it is placed in the new order, not from its position in the old one (rows arrived above it)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from jobwatch.models import Status
from jobwatch.tui.model import JobRow
from jobwatch.tui.widgets.job_table import JobTable

NOW = 1_700_000_000.0
RUNNING = Status(1, "RUNNING")


def row(i: int) -> JobRow:
    """A larger i changed more recently: the default sort (last change) puts it higher."""
    return JobRow(f"job-{i:03d}", RUNNING, f"run{i:03d}", NOW - 100 + i, NOW - 100 + i)


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield JobTable(now=lambda: NOW)


async def test_down_and_up_move_from_the_cursors_job_after_rows_arrived_above_it():
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(JobTable)
        table.upsert([row(i) for i in range(10)])
        await pilot.pause()
        table.move_cursor("job-005")  # order: 009 ... 000, so at position 4
        assert table.cursor_row == 4
        for direction, expected in (("down", "job-004"), ("up", "job-006")):
            table.move_cursor("job-005")
            # two new jobs sort first; the order is not rebuilt until something reads it
            table.upsert([row(100 + len(table)), row(101 + len(table))])
            getattr(table, f"action_cursor_{direction}")()
            assert table.cursor_key == expected, direction


async def test_page_down_moves_a_page_from_the_cursors_job_after_rows_arrived():
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(JobTable)
        table.upsert([row(i) for i in range(100)])
        await pilot.pause()
        table.move_cursor("job-099")
        table.upsert([row(200), row(201), row(202)])
        table.action_cursor_page_down()
        page = table.scrollable_content_region.height - 1
        assert table.cursor_row == 3 + page
