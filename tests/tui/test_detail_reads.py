"""The detail pane's history, read ahead in a thread (jobwatch.tui.screens.job_detail): it always
belongs to the highlighted job, however fast the cursor moves and however late a read comes back.

The static simulator with the seeded history of the screenshots (every job has its own
transitions); reads are held back with a gate to make them late.
"""

from __future__ import annotations

import threading

from jobwatch.tui.model import WorkspaceHistory
from jobwatch.tui.screens.job_detail import JobDetail
from jobwatch.tui.widgets.detail import READING, DetailPane
from tests.support.tui import loaded, screen_of, table_of, wait_for, when_app


def gate_reads(monkeypatch) -> tuple[threading.Event, list[str]]:
    """Reads in a thread wait for the returned event; the list names the threads that read."""
    gate = threading.Event()
    readers: list[str] = []
    read = WorkspaceHistory.histories

    def held(self, ids):
        readers.append(threading.current_thread().name)
        if threading.current_thread() is not threading.main_thread():
            gate.wait(10)
        return read(self, ids)

    monkeypatch.setattr(WorkspaceHistory, "histories", held)
    return gate, readers


def watch_shows(monkeypatch, store, workspace_id: str) -> list[str]:
    """Every history the pane is given that is not its row's own (none, or being read: fine)."""
    wrong: list[str] = []
    show = DetailPane.show

    def checked(self, row, *, transitions, **kwargs):
        if transitions is not None and list(transitions) != store.transitions(
            workspace_id, row.workflow_id
        ):
            wrong.append(row.workflow_id)
        return show(self, row, transitions=transitions, **kwargs)

    monkeypatch.setattr(DetailPane, "show", checked)
    return wrong


async def test_fast_moves_during_a_write_never_show_another_jobs_history(
    sim, tmp_path, monkeypatch
):
    app, store = when_app(sim, tmp_path)
    gate, _ = gate_reads(monkeypatch)
    wrong = watch_shows(monkeypatch, store, sim.workspace_id)
    gate.set()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            screen, table = screen_of(app), table_of(app)
            recent = screen.session.history.recent
            await wait_for(pilot, lambda: not recent.reading, what="the first read ahead")
            # a history write under way from now on, and every read late: nothing is read ahead
            monkeypatch.setattr(WorkspaceHistory, "writing", property(lambda self: True))
            gate.clear()
            recent.outdated()
            recent.outdated()  # what was read before is too old to show
            seen = []
            for _ in range(6):
                await pilot.press("down")
                wid = table.cursor_key
                seen.append(wid)
                assert screen.detail.workflow_id == wid
                shown = screen.detail.transitions
                assert shown is None or shown == store.transitions(sim.workspace_id, wid)
                if shown is None:
                    assert READING in screen.detail.plain and wid in screen.detail.plain
            assert len(set(seen)) == 6
            assert screen.detail.reading  # the last one's history is still being read
            gate.set()  # the late reads come back, the oldest first
            await wait_for(pilot, lambda: not screen.detail.reading, what="the history")
            await wait_for(pilot, lambda: not recent.reading, what="the reads to end")
            wid = table.cursor_key
            assert screen.detail.workflow_id == wid == seen[-1]
            assert screen.detail.transitions == store.transitions(sim.workspace_id, wid)
            assert READING not in screen.detail.plain
            assert wrong == []
    finally:
        gate.set()
        store.close()


async def test_holding_down_finds_each_history_read_ahead(sim, tmp_path, monkeypatch):
    app, store = when_app(sim, tmp_path)
    gate, readers = gate_reads(monkeypatch)
    wrong = watch_shows(monkeypatch, store, sim.workspace_id)
    gate.set()
    read_now = []
    now = JobDetail._read_now

    def counted(session, wid):
        read_now.append(wid)
        return now(session, wid)

    monkeypatch.setattr(JobDetail, "_read_now", staticmethod(counted))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            screen, table = screen_of(app), table_of(app)
            recent = screen.session.history.recent
            await wait_for(pilot, lambda: not recent.reading, what="the first read ahead")
            read_now.clear()
            readers.clear()
            for _ in range(min(12, len(table) - 1)):
                await pilot.press("down")
                wid = table.cursor_key
                assert screen.detail.workflow_id == wid
                assert screen.detail.transitions == store.transitions(sim.workspace_id, wid)
            assert read_now == []  # nothing read on the event loop while the key was held
            assert all(name != "MainThread" for name in readers)
            assert wrong == []
    finally:
        gate.set()
        store.close()
