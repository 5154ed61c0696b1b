"""Pilot tests of issue 13 on the dashboard: when things happened, how long they usually take,
notifications that reach the person, labels and pins.

Two set-ups: the static simulator with the seeded history of the screenshots (`seed_when_history`:
past runs per kind, a job 5 s in, one 30 minutes in, a failure seen within 2 s, a label, a pin)
and a frozen clock; and the static simulator polled every 0.2 s with the real clock, where the
test changes a job's status and watches what reaches the terminal (`Alerts.sent`, the bytes the
app handed to Textual's driver).
"""

from __future__ import annotations

import sys
import time

import pytest
from textual import events

from jobwatch.models import Status
from jobwatch.notify.settings import NotifySettings
from jobwatch.store.history import HistoryStore
from scripts.screenshots import (
    CHAIN_ID,
    ETA_ID,
    FAILED_ID,
    LABEL,
    SLOW_ID,
)
from tests.support.tui import (
    RUNNING_ID,
    SIZE,
    loaded,
    make_app,
    screen_of,
    table_of,
    wait_for,
    when_app,
)

PAUSED_ID = "role-assignment-8192a3b4"
ITERM = {"TERM_PROGRAM": "iTerm.app"}


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def line_of(table, workflow_id: str) -> str:
    keys = table.visible_keys()
    y = keys.index(workflow_id) + 1 - round(table.scroll_y)
    return table.render_line(y).text


# -- windows, kinds, typical durations, ETA --------------------------------------------------


async def test_eta_column_and_slower_than_usual_mark(sim, tmp_path, utc):
    app, store = when_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = table_of(app)
        assert "eta" in table.columns().tail
        assert line_of(table, ETA_ID).rstrip().endswith("~10s")  # knowledge-create: median 15s
        assert line_of(table, SLOW_ID).rstrip().endswith("slow")  # role-create: p90 31s, 30m in
        # a paused job is not at work: no ETA, never "slow"; a finished one has none either
        assert not line_of(table, PAUSED_ID).rstrip().endswith("slow")
        assert line_of(table, FAILED_ID).rstrip().endswith("35m00s")
    store.close()


async def test_detail_pane_says_kind_usual_duration_and_windows(sim, tmp_path, utc):
    app, store = when_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen, table = screen_of(app), table_of(app)

        async def detail(wid: str) -> str:
            assert table.move_cursor(wid)
            await wait_for(pilot, lambda: screen.detail.workflow_id == wid, what=wid)
            return screen.detail.plain

        text = await detail(SLOW_ID)
        assert "kind    role-create" in text
        assert "usually 25s (p90 31s, 5 runs)" in text
        assert "slower than usual: running at least 30m00s" in text
        text = await detail(ETA_ID)
        assert "about 10s left (usually 15s)" in text
        # a narrow window: a poll 2 s before still saw it running
        text = await detail(FAILED_ID)
        assert "✗ FAILED between 10:04:58 and 10:05:00" in text
        assert f"label   {LABEL}" in text
        # wide windows across the gaps between the seeded polls
        text = await detail(CHAIN_ID)
        assert "between 10:10:00 and 10:25:00 (not watched in between)" in text
        assert "pinned  yes: stays at the top" in text
    store.close()


async def test_support_snippet_has_the_window_in_utc_the_label_and_the_kind(sim, tmp_path, utc):
    app, store = when_app(sim, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = screen_of(app)
        snippet = screen.support_text(table_of(app).row(FAILED_ID))
        lines = snippet.splitlines()
        assert f"label: {LABEL}" in lines
        assert f"kind: {LABEL}" in lines  # a label is its job's kind
        assert "when: FAILED between 2025-11-28T10:04:58Z and 2025-11-28T10:05:00Z" in lines
        assert "ran: at least 34m58s" in lines
    store.close()


async def test_typical_durations_load_on_open_and_after_a_completed_run_only(
    sim, history, tmp_path, monkeypatch
):
    calls: list[float] = []
    real = HistoryStore.typical_durations

    def counted(self, *args, **kwargs):
        calls.append(time.monotonic())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HistoryStore, "typical_durations", counted)
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await wait_for(pilot, lambda: len(calls) == 1, what="the load on open")
        await wait_for(
            pilot, lambda: screen.facts is not None and not screen.facts.loading, what="loaded"
        )
        polls = sim.jobs_request_count
        await wait_for(pilot, lambda: sim.jobs_request_count >= polls + 5, what="five more polls")
        assert len(calls) == 1  # not every tick
        screen.facts.typicals_loaded_at = -1e9  # as if the spacing had passed
        sim.set_status(RUNNING_ID, 3)  # a failure is no counted run
        await wait_for(pilot, lambda: table_of(app).row(RUNNING_ID).status.code == 3)
        await pilot.pause(0.5)
        assert len(calls) == 1
        sim.set_status("knowledge-create-a3b4c5d6", 2)  # a completed run counts
        await wait_for(pilot, lambda: len(calls) == 2, what="the load after a completed run")


# -- labels and pins ---------------------------------------------------------------------------


async def test_l_labels_the_highlighted_job_and_slash_finds_it(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        assert table.move_cursor(RUNNING_ID)
        await pilot.press("l")
        box = app.main_screen.query_one("#label")
        assert box.has_class("-shown") and app.focused is box
        await pilot.press(*"nightly sync", "enter")
        await wait_for(pilot, lambda: table.row(RUNNING_ID).label == "nightly sync")
        assert not box.has_class("-shown")
        assert history.annotations(sim.workspace_id)[RUNNING_ID].label == "nightly sync"
        assert "nightly sync · " in line_of(table, RUNNING_ID)
        # the filter matches the label
        await pilot.press("slash", *"NIGHTLY", "enter")
        await wait_for(pilot, lambda: table.visible_keys() == [RUNNING_ID], what="one match")
        await pilot.press("slash", "escape")
        # a poll that changes the job keeps its label
        sim.set_status(RUNNING_ID, 2)
        await wait_for(pilot, lambda: table.row(RUNNING_ID).status.code == 2)
        assert table.row(RUNNING_ID).label == "nightly sync"
        # enter on an empty prompt clears it; escape leaves it as it was
        assert table.move_cursor(RUNNING_ID)
        await pilot.press("l", "x", "escape")
        assert table.row(RUNNING_ID).label == "nightly sync"
        await pilot.press("l", "ctrl+u", "enter")
        await wait_for(pilot, lambda: table.row(RUNNING_ID).label is None)
        assert RUNNING_ID not in history.annotations(sim.workspace_id)


async def test_space_pins_the_job_to_the_top_through_every_sort_and_filter(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        await pilot.press("end")
        last = table.cursor_key
        assert last is not None and table.visible_keys()[0] != last
        await pilot.press("space")
        await wait_for(pilot, lambda: table.visible_keys()[0] == last, what="pinned on top")
        assert history.annotations(sim.workspace_id)[last].pinned
        for _ in range(4):
            await pilot.press("s")
            await pilot.pause()
            assert table.visible_keys()[0] == last, table.sort_mode
        await pilot.press("3")  # only FAILED: the pinned job stays in view, on top
        await pilot.pause()
        keys = table.visible_keys()
        assert keys[0] == last and FAILED_ID in keys
        await pilot.press("3", "slash", *"no-such-job", "enter")
        await wait_for(pilot, lambda: table.visible_keys() == [last], what="only the pin")
        await pilot.press("slash", "escape")
        assert table.move_cursor(last)
        await pilot.press("space")
        await wait_for(pilot, lambda: not table.row(last).pinned)
        assert last not in history.annotations(sim.workspace_id)


async def test_labels_and_pins_come_back_from_the_history(sim, history, tmp_path):
    history.set_label(sim.workspace_id, RUNNING_ID, "from last time")
    history.set_pinned(sim.workspace_id, FAILED_ID, True)
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        await wait_for(pilot, lambda: not table.stale, what="the first poll")
        assert table.row(RUNNING_ID).label == "from last time"
        assert table.visible_keys()[0] == FAILED_ID


# -- notifications that reach the person --------------------------------------------------------


async def test_a_failure_after_focus_out_sends_osc9_once(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path, notify_environ=ITERM)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12 and app.alerts.route is not None)
        assert app.alerts.route.method == "osc9"
        assert app.alerts.focused is None  # unknown until the terminal says
        app.post_message(events.AppFocus())
        sim.set_status(RUNNING_ID, 3)
        await wait_for(pilot, lambda: table.row(RUNNING_ID).status.code == 3)
        await pilot.pause(0.3)
        assert app.alerts.sent == []  # looking at it: the table says it
        app.post_message(events.AppBlur())
        await pilot.pause()
        sim.set_status("knowledge-create-a3b4c5d6", 5)
        await wait_for(pilot, lambda: app.alerts.sent, what="a notification")
        assert app.alerts.sent == [
            "\x1b]9;jobwatch \u00b7 Static Test Workspace: \u25a0 TERMINATED "
            "knowledge-create-a3b4c5d6\x07"
        ]
        await pilot.pause(0.5)  # more polls: the same ending is not sent again
        assert len(app.alerts.sent) == 1


async def test_many_endings_in_one_tick_are_one_notification(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path, notify_environ={"TERM_PROGRAM": "WezTerm"})
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12 and app.alerts.route is not None)
        app.post_message(events.AppBlur())
        with sim.lock:
            for wid in (RUNNING_ID, "knowledge-create-a3b4c5d6", "role-assignment-8192a3b4"):
                sim.set_status(wid, 3)  # under the lock: one answer sees all three
        await wait_for(pilot, lambda: app.alerts.sent, what="a notification")
        await pilot.pause(0.5)
        (sent,) = app.alerts.sent
        assert sent.startswith("\x1b]777;notify;jobwatch \u00b7 Static Test Workspace;3 jobs ended")


async def test_the_bell_rings_once_when_the_route_is_the_bell(sim, history, tmp_path):
    app = make_app(sim, history, tmp_path, notify_environ={})  # unknown terminal: the bell
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12 and app.alerts.route is not None)
        assert app.alerts.route.method == "bell"
        sim.set_status(RUNNING_ID, 3)  # focus unknown: notified, by the bell
        await wait_for(pilot, lambda: app.alerts.sent == ["\x07"], what="the bell")
        await pilot.pause(0.3)
        assert rings == []  # the failure bell did not ring on top of it
        app.post_message(events.AppFocus())
        await pilot.pause()
        sim.set_status("knowledge-create-a3b4c5d6", 3)  # focused: the failure bell alone
        await wait_for(pilot, lambda: rings == [1], what="the failure bell")
        assert app.alerts.sent == ["\x07"]


async def test_slower_than_usual_notifies_once_per_run(sim, tmp_path, utc):
    app, store = when_app(sim, tmp_path, notify_environ=ITERM)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.post_message(events.AppBlur())
        await wait_for(pilot, lambda: app.alerts.sent, what="the slow notice", timeout=4)
        await pilot.pause(2.5)  # two more once-a-second ticks
        (sent,) = app.alerts.sent
        assert "2 slower than usual" in sent and SLOW_ID in sent and CHAIN_ID in sent
    store.close()


async def test_on_job_end_runs_with_the_windows_the_history_recorded(
    sim, history, tmp_path, monkeypatch
):
    out = tmp_path / "ended.txt"
    script = (
        "import os; open(os.environ['OUT'], 'a').write(' '.join(os.environ[k] for k in "
        "('JOBWATCH_STATUS', 'JOBWATCH_WORKFLOW_ID', 'JOBWATCH_NOT_BEFORE', "
        "'JOBWATCH_OBSERVED_AT')) + '\\n')"
    )
    settings = NotifySettings(on_job_end=(sys.executable, "-c", script), method="off")
    monkeypatch.setattr("jobwatch.tui.app.notify_settings", lambda config: settings)
    monkeypatch.setenv("OUT", str(out))
    monkeypatch.setattr("jobwatch.notify.command.SAFE_VARIABLES", ("PATH", "OUT"))
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 12 and not table.stale)
        sim.set_status(RUNNING_ID, 3)
        await wait_for(pilot, lambda: out.exists() and out.read_text(), what="the command")
        status, wid, not_before, observed_at = out.read_text().split()
        assert (status, wid) == ("FAILED", RUNNING_ID)
        # both ends of the window, from the history: a poll 0.2 s earlier still saw it running
        assert not_before.endswith("Z") and observed_at.endswith("Z")
        assert not_before <= observed_at
        record = history.transitions(sim.workspace_id, RUNNING_ID)[-1]
        assert record.status == Status(3, "FAILED") and record.not_before is not None


async def test_what_to_fix_in_tmux_is_pointed_at_in_the_header_and_said_in_the_help(
    sim, history, tmp_path
):
    inside = {**ITERM, "TMUX": str(tmp_path / "no-such-socket") + ",1,0"}
    app = make_app(sim, history, tmp_path, notify_environ=inside)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await wait_for(pilot, lambda: app.alerts.route is not None, what="the route")
        assert app.alerts.route.wrap == "tmux" and app.alerts.route.notes
        await wait_for(pilot, lambda: not table_of(app).stale, what="the first poll")
        await pilot.pause(0.5)  # polls do not take the note away
        assert screen.header.note == "notifications: see ? help"
        await pilot.press("question_mark")
        notes = str(app.screen.query_one("#help-notes").render())
        assert notes.startswith("notifications: OSC 9 (iTerm2, TERM_PROGRAM=iTerm.app)")
        assert "allow-passthrough on" in notes
