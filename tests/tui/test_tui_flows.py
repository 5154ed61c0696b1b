"""Pilot tests of the dashboard's flows against the real simulator over loopback HTTP."""

from __future__ import annotations

import asyncio
import time

from jobwatch.models import Job, Status
from tests.support.tui import (
    FAILED_ID,
    FAILED_RUN,
    INTERVAL,
    RUNNING_ID,
    SIZE,
    make_app,
    screen_of,
    table_of,
    wait_for,
    workspace_a,
    workspace_b,
)


async def test_rows_appear_with_workspace_name_and_counts(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        screen = screen_of(app)
        await wait_for(
            pilot,
            lambda: (
                "Static Test Workspace" in screen.header.text
                or "Static" in str(screen.header.render())
            ),
        )
        await wait_for(pilot, lambda: screen.header.text.startswith("updated"), what="updated")
        assert not table.stale
        summary = screen.summary.summary_text()
        # Nine statuses do not fit 120 columns with their names: symbol and count only.
        assert "▶2 " in summary and "✗1 " in summary and "↻1 " in summary
        assert app.title == "jobwatch — 3 running, 5 failed"
        assert table.row(FAILED_ID).run_id == FAILED_RUN


async def test_history_is_shown_at_once_and_marked_stale(sim, history, tmp_path):
    history.record(
        sim.workspace_id, [Job("old-job-1", Status(2, "COMPLETED"), "run-1")], time.time() - 600
    )
    app = make_app(sim, history, tmp_path, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        assert len(table) == 1
        assert table.row("old-job-1").status.code == 2
        assert table.stale


async def test_switching_workspace_cancels_the_old_worker(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path, workspaces=[workspace_a(sim), workspace_b(sim)])
    path_a = f"/v1/workspaces/{sim.workspace_id}/background-jobs"
    path_b = f"/v1/workspaces/{sim.other_workspace_id}/background-jobs"

    def count(path: str) -> int:
        return sum(1 for _, p, _ in sim.requests if p == path)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: count(path_a) >= 2, what="polls of a")
        screen = screen_of(app)
        old_worker = screen.session.worker
        await app.switch_workspace("b")
        after_switch = count(path_a)
        assert old_worker.is_cancelled
        await wait_for(pilot, lambda: count(path_b) >= 3, what="polls of b")
        await pilot.pause(3 * INTERVAL)
        assert count(path_a) == after_switch
        assert screen.session.workspace.name == "b"
        assert len(table_of(app)) == 0


async def test_w_opens_the_picker_and_enter_switches(sim, history, tmp_path):
    from jobwatch.tui.dialogs.picker import WorkspacePicker

    app = make_app(sim, history, tmp_path, workspaces=[workspace_a(sim), workspace_b(sim)])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(table_of(app)) == 12)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkspacePicker), what="picker")
        await pilot.press("down", "enter")
        await wait_for(
            pilot, lambda: screen_of(app).session.workspace.name == "b", what="switch to b"
        )


async def test_track_and_untrack_persist(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        await pilot.press("plus")
        await pilot.press(*f"{RUNNING_ID}, {FAILED_ID}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(table) == 2, what="only the tracked rows")
        assert history.tracked(sim.workspace_id) == [RUNNING_ID, FAILED_ID]
        await wait_for(
            pilot,
            lambda: any(ids == [RUNNING_ID] for _, _, ids in sim.requests),
            what="a request for the tracked running job",
        )
        table.move_cursor(FAILED_ID)
        await pilot.press("delete")
        await wait_for(pilot, lambda: len(table) == 1)
        assert table.row(RUNNING_ID) is not None
        assert history.tracked(sim.workspace_id) == [RUNNING_ID]


async def test_paste_of_several_lines_tracks_every_id(sim, history, tmp_path):
    from textual import events

    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(table_of(app)) == 12)
        await pilot.press("plus")
        box = screen_of(app).query_one("#track")
        box.post_message(events.Paste(f"{RUNNING_ID}\n{FAILED_ID}\n\n{RUNNING_ID}\n"))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert history.tracked(sim.workspace_id) == [RUNNING_ID, FAILED_ID]


async def test_status_and_text_filters(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        await pilot.press("3")
        assert table.visible_count == 1
        assert table.cursor_key == FAILED_ID
        await pilot.press("3")
        assert table.visible_count == 12
        await pilot.press("slash", *"taxonomy")
        assert table.visible_count == 2
        await pilot.press("escape")
        assert table.visible_count == 12
        assert app.focused is table


async def test_filter_prompt_covers_the_key_bar_and_a_kept_filter_shows_in_the_summary(
    sim, history, tmp_path
):
    from textual.widgets import Input

    from jobwatch.tui.widgets.key_bar import KeyBar

    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        table_region, detail_region = table.region, screen.detail.region
        await pilot.press("slash", *"taxonomy")
        await pilot.pause()
        prompt = screen.query_one("#filter", Input)
        assert prompt.region.y == screen.query_one(KeyBar).region.y == SIZE[1] - 1
        assert app.get_widget_at(5, SIZE[1] - 1)[0] is prompt  # drawn over the key bar
        # Nothing else moved or changed size: the prompt only covers the key bar's line.
        assert (table.region, screen.detail.region) == (table_region, detail_region)
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is table and not prompt.display
        assert table.visible_count == 2
        assert screen.summary.summary_text().endswith("· 12 jobs · /taxonomy: 2 shown")
        await pilot.press("3")  # a status filter on top: still said
        await pilot.pause()
        assert screen.summary.summary_text().endswith("· 12 jobs · /taxonomy: 0 shown")
        await pilot.press("3")
        await pilot.press("slash")
        assert prompt.display and prompt.value == "taxonomy"
        await pilot.press("escape")
        await pilot.pause()
        assert table.visible_count == 12 and app.focused is table and not prompt.display
        assert screen.summary.summary_text().endswith("· 12 jobs")


async def test_clicking_a_summary_chip_filters(sim, history, tmp_path):
    from jobwatch.tui.widgets.summary import StatusChip

    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        await pilot.pause()
        chip = next(c for c in screen_of(app).query(StatusChip) if c.code == 2)
        await pilot.click(chip)
        assert table.visible_count == 2
        assert table.status_filter == frozenset({2})


async def test_sort_keeps_the_cursor_on_the_same_job(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        assert table.move_cursor(FAILED_ID)
        positions = set()
        for _ in range(4):
            await pilot.press("s")
            assert table.cursor_key == FAILED_ID
            positions.add(table.cursor_row)
        assert len(positions) > 1, "the sorts should have moved the job"


async def test_c_copies_the_run_id_and_y_the_support_snippet(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        table.move_cursor(FAILED_ID)
        await pilot.press("c")
        assert app.clipboard == FAILED_RUN
        await pilot.press("y")
        snippet = app.clipboard
        assert f"workflowId: {FAILED_ID}" in snippet
        assert f"runId: {FAILED_RUN}" in snippet
        assert f"organizationId: {sim.organization_id}" in snippet
        assert "status: 3 FAILED" in snippet


async def test_detail_follows_the_cursor_with_run_chain_and_hint(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        detail = screen_of(app).detail
        await wait_for(pilot, lambda: len(table) == 12)
        table.move_cursor(RUNNING_ID)
        await wait_for(pilot, lambda: detail.workflow_id == RUNNING_ID)
        old_run = table.row(RUNNING_ID).run_id
        sim.set_status(RUNNING_ID, 6, run_id="0190ffff-0000-7000-8000-000000000001")
        await wait_for(pilot, lambda: table.row(RUNNING_ID).status.code == 6, what="continued")
        await wait_for(pilot, lambda: "earlier runIds" in detail.plain, what="run chain")
        assert old_run in detail.plain
        assert "0190ffff-0000-7000-8000-000000000001" in detail.plain
        assert "new runId" in detail.plain
        table.move_cursor(FAILED_ID)
        await wait_for(pilot, lambda: detail.workflow_id == FAILED_ID)
        assert "support ticket" in detail.plain
        await pilot.press("enter")
        assert app.focused is detail


async def test_terminal_state_notifies_and_updates_title(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        sim.set_status(RUNNING_ID, 3)
        await wait_for(pilot, lambda: table.row(RUNNING_ID).status.code == 3)
        assert app.title == "jobwatch — 2 running, 6 failed"
        messages = [n.message for n in app._notifications]
        assert any(RUNNING_ID in m for m in messages)


async def test_an_ending_soon_after_another_waits_for_the_gap_then_is_told(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12)
        screen = screen_of(app)
        endings = screen.session.endings
        endings.gap = 3.0  # the default's behaviour, sooner
        other = next(
            wid
            for wid in table.visible_keys()
            if table.row(wid).status.code == 1 and wid != RUNNING_ID
        )

        def told(wid: str) -> bool:
            return any(wid in n.message for n in app._notifications)

        sim.set_status(RUNNING_ID, 2)
        await wait_for(pilot, lambda: told(RUNNING_ID), what="the first ending's toast")
        first = time.monotonic()
        sim.set_status(other, 3)
        await wait_for(pilot, lambda: table.row(other).status.code == 3, what="the second ending")
        if time.monotonic() - first < endings.gap - 0.5:
            assert not told(other)  # held: shown no sooner than the gap after the first
        await wait_for(pilot, lambda: told(other), what="the held toast", timeout=8)
        assert time.monotonic() - first >= endings.gap - 1.0  # the next poll or 1 s tick after it


async def test_failing_poll_keeps_data_shows_banner_and_recovers(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        header = screen_of(app).header
        await wait_for(pilot, lambda: len(table) == 12)
        sim.fail_next(503, headers={"Retry-After": "1"}, count=2)
        await wait_for(pilot, lambda: header.text.startswith("retrying"), what="retry banner")
        assert "HTTP 503" in header.text
        assert len(table) == 12
        assert table.stale
        await wait_for(
            pilot, lambda: header.text.startswith("updated"), timeout=10, what="recovery"
        )
        assert not table.stale
        assert len(table) == 12


async def test_401_with_a_bare_token_says_token_expired_and_r_retries(sim, history, tmp_path):
    environ = {"TOKEN_A": "not-a-valid-token"}
    app = make_app(sim, history, tmp_path, environ=environ)
    async with app.run_test(size=SIZE) as pilot:
        header = screen_of(app).header
        await wait_for(pilot, lambda: "token expired" in header.text, what="token banner")
        assert header.level == "error"
        assert "not-a-valid-token" not in header.text
        assert app.is_running
        environ["TOKEN_A"] = sim.token
        await pilot.press("r")
        await wait_for(pilot, lambda: len(table_of(app)) == 12, what="rows after the fix")
        await wait_for(pilot, lambda: header.text.startswith("updated"))


async def test_command_palette_offers_the_dashboard_commands(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path, poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for expected in ("Copy runId", "Copy support details", "Refresh now", "Workspaces", "Help"):
            assert expected in titles
        keys = dict(app.key_help())
        for key in ("c", "y", "/", "1-7", "s", "r", "p", "t", "w", "+", "del", "?", "q"):
            assert key in keys, key


async def test_pause_and_resume(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(table_of(app)) == 12)
        header = screen_of(app).header
        await pilot.press("p")
        assert header.text.startswith("paused")
        await pilot.pause(2 * INTERVAL)
        count = sim.jobs_request_count
        await pilot.pause(3 * INTERVAL)
        assert sim.jobs_request_count == count
        await pilot.press("p")
        await wait_for(pilot, lambda: sim.jobs_request_count > count, what="polling again")


async def test_narrow_terminal_puts_detail_below(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(table_of(app)) == 12)
        screen = screen_of(app)
        assert screen.has_class("-narrow")
        table_region = table_of(app).region
        detail_region = screen.detail.region
        assert detail_region.y >= table_region.bottom
        assert table_region.height >= 5


async def test_the_first_screen_of_a_large_answer_is_not_counted_until_the_rest_comes(
    sim, history, tmp_path
) -> None:
    """A partial JobsChanged (jobwatch.tui.poll_session's first screenful) shows its rows, but
    the summary and the title count only whole answers: never "200 jobs" of 100k."""
    from jobwatch.store.history import JobRecord
    from jobwatch.tui.messages import JobsChanged
    from jobwatch.tui.model import row_of

    app = make_app(sim, history, tmp_path, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = screen_of(app)
        await wait_for(pilot, lambda: screen.session is not None, what="a session")
        session = screen.session
        assert session is not None
        before = screen.summary.summary_text()
        rows = [row_of(JobRecord(f"job-{i}", Status(1, "RUNNING"), "r1", 1.0, 2.0)) for i in (1, 2)]
        screen.post_message(JobsChanged(session.generation, [], rows, partial=True))
        await wait_for(pilot, lambda: len(table_of(app)) >= 2, what="the partial rows")
        assert "no jobs" in before and screen.summary.summary_text() == "counting jobs…"
        screen.post_message(JobsChanged(session.generation, [], rows))
        await wait_for(
            pilot, lambda: "RUNNING 2" in screen.summary.summary_text(), what="the counts"
        )
        assert "counting" not in screen.summary.summary_text()


async def test_a_large_history_paints_its_first_screenful_before_the_whole_table(
    sim, history, tmp_path, monkeypatch
) -> None:
    """A restart in a large workspace (jobwatch.tui.screens.main._load_from_history): the first
    screenful of the stored rows is read and goes in first, every job is read after its paint, a
    slice at a time (jobwatch.tui.history_load), and then every row is there and counted."""
    from jobwatch.tui.history_load import SLICE_ROWS
    from jobwatch.tui.job_index import FIRST_SCREEN_AFTER, FIRST_SCREEN_ROWS
    from jobwatch.tui.widgets.job_table import JobTable

    jobs = [Job(f"old-{i:05d}", Status(2, "COMPLETED"), "run-1") for i in range(FIRST_SCREEN_AFTER)]
    history.record(sim.workspace_id, jobs, time.time() - 600)
    calls: list[object] = []
    replace_all, refill, read_slices = JobTable.replace_all, JobTable.refill, history.job_slices

    def spy(self, rows):
        rows = list(rows)
        calls.append(len(rows))
        replace_all(self, rows)

    def refill_spy(self, fill, widths):
        calls.append(("refill", len(fill.rows)))
        refill(self, fill, widths)

    def read_spy(workspace_id, size):
        calls.append("every job read")
        calls.append(screen_of(app).summary.summary_text())  # the first screenful's
        for records in read_slices(workspace_id, size):
            calls.append(len(records))
            yield records

    monkeypatch.setattr(JobTable, "replace_all", spy)
    monkeypatch.setattr(JobTable, "refill", refill_spy)
    monkeypatch.setattr(history, "job_slices", read_spy)
    app = make_app(sim, history, tmp_path, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(table_of(app)) == FIRST_SCREEN_AFTER, what="rows")
        whole, rest = divmod(FIRST_SCREEN_AFTER, SLICE_ROWS)
        slices = [SLICE_ROWS] * whole + ([rest] if rest else [])
        assert calls == [
            FIRST_SCREEN_ROWS,
            "every job read",
            "counting jobs…",
            *slices,
            ("refill", FIRST_SCREEN_AFTER),
        ]
        assert f"{FIRST_SCREEN_AFTER}" in screen_of(app).summary.summary_text()
        assert table_of(app).stale


def app_restarted_on(sim, history, tmp_path, status: Status):
    """An app (no polling) on a history of FIRST_SCREEN_AFTER jobs in `status`: a large restart."""
    from jobwatch.tui.job_index import FIRST_SCREEN_AFTER

    jobs = [Job(f"old-{i:05d}", status, "run-1") for i in range(FIRST_SCREEN_AFTER)]
    history.record(sim.workspace_id, jobs, time.time() - 600)
    return make_app(sim, history, tmp_path, poll=False)


async def restarted(app, pilot):
    """The screen and session of `app_restarted_on`'s app once every stored job is shown."""
    from jobwatch.tui.job_index import FIRST_SCREEN_AFTER

    screen = screen_of(app)
    await wait_for(pilot, lambda: len(table_of(app)) == FIRST_SCREEN_AFTER, what="rows")
    session = screen.session
    assert session is not None
    return screen, session


async def test_the_rest_of_the_history_stops_giving_way_to_keys_once_an_answer_waits_for_it(
    sim, history, tmp_path, monkeypatch
) -> None:
    """Gathered in slices, the rest of a restart's history gives way to keys between them, until
    an answer waits for it (Session.history_wanted): then it goes on without pausing."""
    from jobwatch import give_way
    from jobwatch.tui.job_index import FIRST_SCREEN_AFTER

    app = app_restarted_on(sim, history, tmp_path, Status(2, "COMPLETED"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen, session = await restarted(app, pilot)
        key_shown = asyncio.Event()
        waits: list[int] = []

        async def a_key_pending() -> None:  # give_way while a key is not shown yet
            waits.append(len(session.initial))
            await key_shown.wait()

        monkeypatch.setattr(give_way, "give_way", a_key_pending)
        table_of(app).clear()
        screen._load_from_history(session)
        await wait_for(pilot, lambda: waits, what="the first slice")
        await pilot.pause()
        assert len(waits) == 1 and not session.history_read.is_set()  # held by the key
        session.history_wanted.set()
        key_shown.set()
        await wait_for(pilot, session.history_read.is_set, what="the rest")
        assert len(waits) == 1 and len(table_of(app)) == FIRST_SCREEN_AFTER


async def test_a_poll_that_comes_before_the_rest_of_the_history_is_not_undone_by_it(
    sim, history, tmp_path
) -> None:
    from jobwatch.store.history import JobRecord
    from jobwatch.tui.job_index import FIRST_SCREEN_AFTER
    from jobwatch.tui.messages import JobsChanged
    from jobwatch.tui.model import row_of

    app = app_restarted_on(sim, history, tmp_path, Status(1, "RUNNING"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen, session = await restarted(app, pilot)
        # the same start again, with a poll's row handled before the paint that fills the rest
        table_of(app).clear()
        screen._load_from_history(session)
        assert screen._history_rest is not None
        newer = row_of(JobRecord("old-04999", Status(2, "COMPLETED"), "run-1", 1.0, 2.0))
        screen._jobs_changed(JobsChanged(session.generation, [], [newer]))
        assert screen._history_rest is None
        await pilot.pause()
        assert table_of(app).row("old-04999").status.code == 2
        assert len(table_of(app)) == FIRST_SCREEN_AFTER
