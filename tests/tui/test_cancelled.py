"""A CANCELLED job, as the dashboard treats it: the bell, the terminal title's count, the summary
bar and the `?` help all read jobwatch.statuses, so each test checks the screen against it.

(`wait`'s exit code for CANCELLED is pinned over loopback in tests/integration/test_cli.py.)
A job goes RUNNING -> CANCELLED in the simulator while the dashboard polls it over loopback.
"""

from __future__ import annotations

import pytest

from jobwatch.simulator.server import Simulator
from jobwatch.statuses import STATUSES
from jobwatch.tui.screens.help import HelpScreen
from jobwatch.tui.widgets.summary import SummaryBar
from tests.support.tui import SIZE, make_app, screen_of, table_of, wait_for

CANCELLED = STATUSES[4]


@pytest.fixture
def sim():
    """Two running jobs, nothing else: every count on screen comes from them."""
    with Simulator("empty") as simulator:
        simulator.add_job("job-stays", code=1)
        simulator.add_job("job-stopped", code=1)
        yield simulator


def failed_count(app) -> int:
    """How many rows the status table calls failures."""
    table = table_of(app)
    return sum(
        1
        for wid in ("job-stays", "job-stopped")
        if (row := table.row(wid)) is not None and STATUSES[row.status.code].failure
    )


async def cancel_and_wait(pilot, app, sim, spelling: str) -> None:
    await wait_for(pilot, lambda: len(table_of(app)) == 2, what="both rows")
    sim.set_status("job-stopped", 4, spelling)
    await wait_for(
        pilot,
        lambda: (row := table_of(app).row("job-stopped")) is not None and row.status.code == 4,
        what="the cancelled row",
    )


@pytest.mark.parametrize("spelling", ["CANCELLED", "CANCELED"])
async def test_the_bell_rings_for_a_cancelled_job(sim, history, tmp_path, spelling):
    app = make_app(sim, history, tmp_path)
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await cancel_and_wait(pilot, app, sim, spelling)
        await wait_for(pilot, lambda: bool(rung) == CANCELLED.failure, what="the bell")
        assert rung == ([1] if CANCELLED.failure else [])
        # a failure's notification is an error carrying the runId a ticket needs; the ending's
        # toast can come a moment after the row (a bell that does not ring is no sign of it)
        await wait_for(
            pilot,
            lambda: any("job-stopped" in n.message for n in app._notifications),
            what="the notification",
        )
        shown = [n for n in app._notifications if "job-stopped" in n.message]
        assert shown and shown[-1].severity == ("error" if CANCELLED.failure else "information")
        assert ("runId" in shown[-1].message) == CANCELLED.failure


async def test_the_title_counts_a_cancelled_job_with_the_failed(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    titles: list[str] = []
    app.set_terminal_title = titles.append  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await cancel_and_wait(pilot, app, sim, "CANCELLED")
        failed = failed_count(app)
        assert failed == (1 if CANCELLED.failure else 0)
        expected = f"jobwatch — 1 running, {failed} failed"
        await wait_for(pilot, lambda: app.title == expected, what=expected)
        assert titles[-1] == expected


async def test_the_summary_shows_cancelled_as_the_table_says(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await cancel_and_wait(pilot, app, sim, "CANCELED")
        summary = screen_of(app).query_one(SummaryBar)
        chip = f"{CANCELLED.symbol} {CANCELLED.short} 1"
        await wait_for(pilot, lambda: chip in summary.summary_text(), what=chip)
        # both spellings are one status: one chip, and the job no longer counts as running
        text = summary.summary_text()
        assert text.count(CANCELLED.symbol) == 1
        assert f"{STATUSES[1].symbol} {STATUSES[1].short} 1" in text


async def test_the_help_says_what_cancelled_means(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        await pilot.pause()
        text = str(app.screen.query_one("#help-statuses").render())
        line = next(row for row in text.splitlines() if CANCELLED.name in row)
        assert line.startswith(f"{CANCELLED.symbol} {CANCELLED.name}")
        assert CANCELLED.meaning in line
        assert ("failure" in CANCELLED.meaning) == CANCELLED.failure
