"""What the dashboard knows about a workspace apart from its widgets (jobwatch.tui.model), and the
workspace session with its poll worker (jobwatch.tui.poll_session), without a running app."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

import jobwatch.tui.poll_session as poll_session
from jobwatch.api.client import FetchResult
from jobwatch.errors import ApiError, JobwatchError
from jobwatch.events import (
    HistoryFailed,
    JobAppeared,
    JobNotFound,
    PollCompleted,
    PollerStopped,
    PollFailed,
    Recovered,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.models import NOT_FOUND, Job, Status
from jobwatch.poller import DEFAULT_INTERVAL
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import HistoryError, HistoryStore, JobRecord
from jobwatch.tui.job_index import JobIndex
from jobwatch.tui.messages import JobsChanged, PollStatus, WorkspaceNamed
from jobwatch.tui.model import (
    LOOKUP_IN_THREAD,
    MAX_NOTIFICATIONS,
    NOTICE_GAP,
    EndingNotices,
    Health,
    JobRow,
    Notice,
    StatusCounts,
    WorkspaceHistory,
    ended_in,
    health_after,
    rows_for,
    timed_rows,
    touched_by,
)
from jobwatch.tui.poll_session import FREEZE_AFTER, FreezePolicy, Session, poll_workspace

NOW = 1_700_000_000.0
WS = "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f"
ORG = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
RUNNING = Status(1, "RUNNING")
COMPLETED = Status(2, "COMPLETED")
FAILED = Status(3, "FAILED")
CANCELLED = Status(4, "CANCELLED")
TERMINATED = Status(5, "TERMINATED")
CONTINUED = Status(6, "CONTINUED_AS_NEW")
TIMED_OUT = Status(7, "TIMED_OUT")
ALL_STATUSES = [RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, CONTINUED, TIMED_OUT]
WORKSPACE = WorkspaceConfig(name="acme", workspace_id=WS, organization_id=ORG, interval=7.0)


def record(wid: str, status: Status = RUNNING, *, first: float, last: float, run: str = "r1"):
    return JobRecord(wid, status, run, first, last)


def job_row(wid: str, status: Status = RUNNING, *, first: float, last: float, run: str = "r1"):
    return JobRow(wid, status, run, first, last)


class BrokenStore:
    """A history store whose every read fails."""

    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise HistoryError("history h.db: locked")

        return fail


class CountingStore:
    """Counts the lookups a history store gets."""

    def __init__(self, records: list[JobRecord]) -> None:
        self.records = {r.workflow_id: r for r in records}
        self.calls: Counter[str] = Counter()

    def jobs(self, workspace_id: str) -> list[JobRecord]:
        self.calls["jobs"] += 1
        return list(self.records.values())

    def job(self, workspace_id: str, workflow_id: str) -> JobRecord | None:
        self.calls["job"] += 1
        return self.records.get(workflow_id)

    def job_count(self, workspace_id: str) -> int:
        self.calls["job_count"] += 1
        return len(self.records)


# ---------------------------------------------------------------- counts and title


class TestStatusCounts:
    def test_kept_in_step_with_a_recount_on_random_changes(self) -> None:
        rng = random.Random(3)
        counts = StatusCounts()
        rows = {
            f"w{i}": job_row(f"w{i}", rng.choice(ALL_STATUSES), first=0, last=0) for i in range(50)
        }
        counts.reset(rows.values())
        for _ in range(200):
            changed = [
                job_row(f"w{rng.randrange(70)}", rng.choice(ALL_STATUSES), first=0, last=0)
                for _ in range(rng.randrange(5))
            ]
            counts.update(changed)
            rows.update((r.workflow_id, r) for r in changed)
            gone = [f"w{rng.randrange(70)}" for _ in range(rng.randrange(3))]
            counts.discard(gone)
            for wid in gone:
                rows.pop(wid, None)
            assert counts.counts == Counter(r.status.code for r in rows.values())
            assert 0 not in counts.counts.values()
            assert len(counts) == len(rows) and set(counts.ids()) == set(rows)

    def test_the_first_update_counts_each_row_once_with_its_last_status(self) -> None:
        rng = random.Random(5)
        rows = [
            job_row(f"w{rng.randrange(40)}", rng.choice(ALL_STATUSES), first=0, last=0)
            for _ in range(100)
        ]
        at_once, one_by_one = StatusCounts(), StatusCounts()
        at_once.update(rows)  # an empty count takes its first rows in one pass
        for row in rows:
            one_by_one.update([row])
        assert at_once.counts == one_by_one.counts
        assert set(at_once.ids()) == set(one_by_one.ids())

    def test_title_counts_active_and_failure_codes(self) -> None:
        counts = StatusCounts()
        statuses = [
            RUNNING,
            RUNNING,
            CONTINUED,
            COMPLETED,
            FAILED,
            CANCELLED,
            TERMINATED,
            TIMED_OUT,
        ]
        counts.reset(job_row(f"w{i}", s, first=0, last=0) for i, s in enumerate(statuses))
        assert (counts.running, counts.failed) == (3, 4)
        assert counts.title() == "jobwatch — 3 running, 4 failed"
        counts.update([job_row("w0", COMPLETED, first=0, last=0)])
        assert counts.title() == "jobwatch — 2 running, 4 failed"
        assert StatusCounts().title() == "jobwatch — 0 running, 0 failed"


# ---------------------------------------------------------------- health


def test_health_follows_the_last_event_of_a_tick() -> None:
    error = ApiError("HTTP 503", status=503, error_id="e-1")
    start = Health("connecting")
    assert health_after(start, [], None) is start
    ok = health_after(start, [PollCompleted(NOW, 3, 1, 10, 0.1)], None)
    assert ok == Health("ok", last_success=NOW)
    failed = health_after(ok, [PollFailed(error, 2, 4.0, NOW + 5, NOW + 1)], NOW)
    assert failed == Health("retrying", NOW, error, retry_at=NOW + 5, attempt=2)
    stopped = health_after(failed, [PollerStopped(error, NOW + 9)], NOW)
    assert stopped == Health("stopped", last_success=NOW, error=error)
    recovered = [Recovered(2, NOW + 10), PollCompleted(NOW + 10, 3, 0, 10, 0.1)]
    assert health_after(stopped, recovered, NOW) == Health("ok", last_success=NOW + 10)


# ---------------------------------------------------------------- timing


class TestRowsFor:
    def test_a_job_on_screen_keeps_its_times_unless_it_changed(self) -> None:
        shown = JobIndex()
        shown.upsert(
            [
                job_row("a", first=NOW - 100, last=NOW - 50),
                job_row("b", first=NOW - 9, last=NOW - 9),
            ]
        )
        history = WorkspaceHistory(BrokenStore(), WS)  # never asked: the screen knows both
        events = [
            StatusChanged(Job("a", FAILED, "r1"), RUNNING, NOW),
            RunIdChanged(Job("b", RUNNING, "r1"), "r0", NOW),  # same status and runId as shown
        ]
        rows = rows_for(events, jobs={}, shown=shown, initial={}, history=history)
        assert rows == [
            JobRow("a", FAILED, "r1", NOW - 100, NOW),
            JobRow("b", RUNNING, "r1", NOW - 9, NOW - 9),
        ]

    def test_the_first_answer_is_timed_by_itself_without_a_lookup(self) -> None:
        store = CountingStore([record("a", first=NOW - 500, last=NOW - 400)])
        events = [JobAppeared(Job("a", RUNNING, "r1"), NOW)]
        rows = rows_for(
            events, jobs={}, shown=JobIndex(), initial={}, history=WorkspaceHistory(store, WS)
        )
        assert rows == [JobRow("a", RUNNING, "r1", NOW, NOW)] and not store.calls

    def test_a_few_jobs_never_seen_are_looked_up_one_by_one_not_by_reading_the_workspace(
        self,
    ) -> None:
        # (reading every stored job took 270 ms at 100k: a growing workspace paid it every tick)
        stored = [record(f"w{i}", first=NOW - 500, last=NOW - 400) for i in range(1000)]
        initial = {"known": record("known", first=NOW - 900, last=NOW - 800)}
        for wanted in (LOOKUP_IN_THREAD, LOOKUP_IN_THREAD + 1, 100):
            calls = {"job": wanted} | ({"job_count": 1} if wanted > LOOKUP_IN_THREAD else {})
            store = CountingStore(stored)
            events = [JobAppeared(Job(f"w{i}", RUNNING, "r1"), NOW) for i in range(wanted)]
            events.append(JobAppeared(Job("known", RUNNING, "r1"), NOW))
            rows = rows_for(
                events,
                jobs={},
                shown=JobIndex(),
                initial=initial,
                history=WorkspaceHistory(store, WS),
            )
            assert store.calls == calls
            assert rows[0] == JobRow("w0", RUNNING, "r1", NOW - 500, NOW - 400)
            assert rows[-1] == JobRow("known", RUNNING, "r1", NOW - 900, NOW - 800)

    def test_a_job_not_found_keeps_its_last_status(self) -> None:
        jobs = {"a": Job("a", RUNNING, "r1")}
        events = [JobNotFound("a", NOW), JobNotFound("gone", NOW)]
        rows = rows_for(
            events, jobs=jobs, shown=JobIndex(), initial={}, history=WorkspaceHistory(None, WS)
        )
        assert rows == [
            JobRow("a", RUNNING, "r1", NOW, NOW),
            JobRow("gone", NOT_FOUND, "", NOW, NOW),
        ]

    def test_events_that_touch_no_job_make_no_rows(self) -> None:
        events = [PollCompleted(NOW, 0, 0, 0, 0.0), Recovered(1, NOW)]
        assert (
            rows_for(
                events, jobs={}, shown=JobIndex(), initial={}, history=WorkspaceHistory(None, WS)
            )
            == []
        )


class TestWorkspaceHistory:
    def test_without_a_store_everything_is_empty(self) -> None:
        history = WorkspaceHistory(None, WS)
        assert history.records() == [] and history.lookup(["a"]) == {}
        assert history.tracked() == [] and history.detail("a") == ([], [])
        assert history.run_chain("a") == []
        history.save_tracked(["a"])  # nowhere to save: nothing happens

    def test_reads_that_add_detail_give_way_to_a_broken_store(self) -> None:
        history = WorkspaceHistory(BrokenStore(), WS)
        assert history.lookup(["a"]) == {} and history.lookup([f"w{i}" for i in range(99)]) == {}
        assert history.tracked() == [] and history.detail("a") == ([], [])
        assert history.run_chain("a") == []
        with pytest.raises(JobwatchError):
            history.records()
        with pytest.raises(JobwatchError):
            history.save_tracked(["a"])

    def test_reads_the_workspace_of_a_real_store(self, tmp_path) -> None:
        store = HistoryStore(tmp_path / "h.db")
        store.record(WS, [Job("a", RUNNING, "r1"), Job("b", RUNNING, "r2")], NOW)
        store.record(WS, [Job("a", FAILED, "r3")], NOW + 5)
        store.record("other", [Job("c", RUNNING, "r9")], NOW)
        history = WorkspaceHistory(store, WS)
        assert [r.workflow_id for r in history.records()] == ["a", "b"]
        (found,) = history.lookup(["a", "c"]).values()
        assert (found.workflow_id, found.status, found.run_id) == ("a", FAILED, "r3")
        assert (found.first_seen, found.last_change) == (NOW, NOW + 5)
        transitions, chain = history.detail("a")
        assert [t.status for t in transitions] == [RUNNING, FAILED] and chain == ["r1", "r3"]
        history.save_tracked(["b", "a", "b"])
        assert history.tracked() == ["b", "a"]


# ---------------------------------------------------------------- notifications


def told(events, initial=None, now=NOW, endings=None):
    """The notices a tick's events give at `now` (a new EndingNotices unless one is given)."""
    endings = EndingNotices() if endings is None else endings
    return endings.add([job for job, _ in ended_in(events, initial or {})], now)


class TestEndingNotices:
    def test_one_ending_is_told_by_itself_a_failure_with_its_run_id(self) -> None:
        ok = [StatusChanged(Job("ok-1", COMPLETED, "r1"), RUNNING, NOW)]
        assert told(ok) == [Notice("ok-1", "✓ COMPLETED", "information", timeout=3, markup=False)]
        bad = [StatusChanged(Job("bad-1", FAILED, "r2"), RUNNING, NOW)]
        assert told(bad) == [
            Notice("bad-1\nrunId r2", "✗ FAILED", "error", timeout=8, markup=False)
        ]
        gone = [JobNotFound("gone", NOW)]
        assert told(gone) == [Notice("gone", "∅ NOT_FOUND", "information", timeout=3, markup=False)]

    def test_a_few_endings_together_are_one_notice_naming_each(self) -> None:
        events = [
            StatusChanged(Job("ok-1", COMPLETED, "r1"), RUNNING, NOW),
            StatusChanged(Job("bad-1", FAILED, "r2"), RUNNING, NOW),
            StatusChanged(Job("still", CONTINUED, "r3"), RUNNING, NOW),  # not an ending
            JobNotFound("gone", NOW),
        ]
        message = "✓ COMPLETED ok-1\n✗ FAILED bad-1\nrunId r2\n∅ NOT_FOUND gone"
        assert told(events) == [
            Notice(message, "3 jobs finished, 1 failed", "error", timeout=8, markup=False)
        ]
        calm = told(events[:1] + events[3:])
        assert calm == [
            Notice(
                "✓ COMPLETED ok-1\n∅ NOT_FOUND gone",
                "2 jobs finished",
                "information",
                timeout=3,
                markup=False,
            )
        ]

    def test_a_job_first_seen_finished_is_news_only_if_the_history_knew_it_running(self) -> None:
        initial = {
            "was-running": record("was-running", first=NOW - 9, last=NOW - 9),
            "was-done": record("was-done", COMPLETED, first=NOW - 9, last=NOW - 9),
        }
        events = [
            JobAppeared(Job(wid, CANCELLED, ""), NOW) for wid in ("was-running", "was-done", "new")
        ]
        assert [n.message for n in told(events, initial)] == ["was-running\nrunId unknown"]
        assert told([JobAppeared(Job("x", RUNNING, "r"), NOW)], initial) == []

    def test_many_endings_make_one_summary(self) -> None:
        endings = [COMPLETED] * MAX_NOTIFICATIONS + [TIMED_OUT]
        events = [StatusChanged(Job(f"w{i}", s, "r"), RUNNING, NOW) for i, s in enumerate(endings)]
        text = f"{MAX_NOTIFICATIONS + 1} jobs finished, 1 of them did not complete."
        assert told(events) == [Notice(text, severity="error")]
        calm = told(events[:-1] + [events[0]])
        assert calm == [Notice(f"{MAX_NOTIFICATIONS + 1} jobs finished, none failed.")]

    def test_endings_within_the_gap_wait_and_are_told_together(self) -> None:
        endings = EndingNotices()
        one = [StatusChanged(Job("a", COMPLETED, "r"), RUNNING, NOW)]
        assert [n.message for n in told(one, endings=endings)] == ["a"]
        # three more polls inside the gap: nothing shown, one of them a failure
        for i, status in enumerate((COMPLETED, FAILED, COMPLETED)):
            tick = [StatusChanged(Job(f"b{i}", status, "r"), RUNNING, NOW + 1 + i)]
            assert told(tick, now=NOW + 1 + i, endings=endings) == []
        assert endings.due(NOW + NOTICE_GAP - 0.1) == []
        (held,) = endings.due(NOW + NOTICE_GAP)
        assert held.title == "3 jobs finished, 1 failed"
        assert held.message == "✓ COMPLETED b0\n✗ FAILED b1\nrunId r\n✓ COMPLETED b2"
        assert endings.due(NOW + 3 * NOTICE_GAP) == []  # nothing left

    def test_a_long_wait_is_one_summary_that_counts_every_ending(self) -> None:
        endings = EndingNotices()
        told([StatusChanged(Job("first", COMPLETED, "r"), RUNNING, NOW)], endings=endings)
        for i in range(500):
            status = FAILED if i % 100 == 0 else COMPLETED
            told([StatusChanged(Job(f"j{i}", status, "r"), RUNNING, NOW)], endings=endings)
        assert len(endings._held) == MAX_NOTIFICATIONS + 1  # bounded, whatever waits
        assert endings.due(NOW + NOTICE_GAP) == [
            Notice("500 jobs finished, 5 of them did not complete.", severity="error")
        ]


# ---------------------------------------------------------------- the session


class TestSession:
    def test_opening_takes_ids_given_else_the_stored_ones_else_all(self, tmp_path) -> None:
        store = HistoryStore(tmp_path / "h.db")
        given = Session.open(1, WORKSPACE, ["b", "a", "b"], store=store)
        assert given.tracked == ["b", "a"] and given.interval == 7.0 and given.name == "acme"
        assert Session.open(2, WORKSPACE, None, store=store).tracked is None
        store.set_tracked(WS, ["s1", "s2"])
        stored = Session.open(3, WORKSPACE, [], store=store, interval=0.5)
        assert stored.tracked == ["s1", "s2"] and stored.interval == 0.5
        plain = WorkspaceConfig(name="p", workspace_id=WS, organization_id=ORG)
        assert Session.open(4, plain, None, store=None).interval == DEFAULT_INTERVAL

    def test_remember_keeps_only_the_tracked_records(self) -> None:
        session = Session.open(1, WORKSPACE, ["a"], store=None)
        rows = session.remember([record("a", first=1, last=2), record("b", first=3, last=4)])
        assert rows == [JobRow("a", RUNNING, "r1", 1, 2)] and list(session.initial) == ["a"]
        session.untrack(["a"])
        assert session.tracked is None
        assert (
            len(session.remember([record("a", first=1, last=2), record("b", first=3, last=4)])) == 2
        )

    def test_track_and_untrack(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        assert session.track(["a", "b"]) is True
        assert session.track(["b", "c"]) is False
        assert session.tracked == ["a", "b", "c"]
        session.untrack(["b", "x"])
        assert session.tracked == ["a", "c"]

    def test_health_remembers_the_last_error_id_and_says_when_polling_stopped(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        assert (
            session.set_health(Health("retrying", error=ApiError("503", error_id="e-1"))) is False
        )
        assert session.last_error_id == "e-1"
        assert session.set_health(Health("retrying", error=ApiError("503"))) is False
        assert session.last_error_id == "e-1"
        assert session.set_health(Health("stopped", error=ApiError("403", error_id="e-2"))) is True
        assert session.set_health(Health("stopped")) is False  # already stopped
        assert session.last_error_id == "e-2"
        failed = session.worker_failed(KeyError("boom"))
        assert failed.state == "stopped" and session.health is failed
        assert failed.error is not None and "KeyError" in failed.error.describe()

    def test_overdue_after_three_intervals_unless_paused_or_unhealthy(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        assert session.overdue(NOW) is None
        session.health = Health("ok", last_success=NOW)
        assert session.overdue(NOW + 3 * 7.0) is False
        assert session.overdue(NOW + 3 * 7.0 + 0.1) is True
        session.health = Health("retrying", last_success=NOW)
        assert session.overdue(NOW + 100) is None

    def test_absorb_tells_a_history_failure_once_and_keeps_error_ids(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        broken = HistoryFailed(HistoryError("history h.db: the disk is full"), NOW)
        error = ApiError("HTTP 429", status=429, error_id="e-7")
        news = session.absorb([PollFailed(error, 1, 1.0, NOW + 1, NOW), broken], NOW)
        assert news.notices == [
            Notice("history h.db: the disk is full", "History not saved", "warning", markup=False)
        ]
        assert not news.completed and not news.failed and session.last_error_id == "e-7"
        news = session.absorb(
            [Recovered(3, NOW), broken, PollerStopped(None, NOW), PollCompleted(NOW, 1, 0, 1, 0.0)],
            NOW,
        )
        assert news.notices == [Notice("Connection recovered after 3 failed polls.")]
        assert news.completed and session.last_error_id == "e-7"

    def test_support_facts(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        session.last_error_id = "e-9"
        facts = session.support_facts(JobRow("a", FAILED, "r2", NOW - 5, NOW))
        assert (facts.organization_id, facts.workspace_id, facts.workspace_name) == (
            ORG,
            WS,
            "acme",
        )
        assert (facts.workflow_id, facts.run_id, facts.status) == ("a", "r2", FAILED)
        assert (facts.first_seen, facts.last_change, facts.last_error_id) == (NOW - 5, NOW, "e-9")


def test_gc_is_frozen_after_the_first_rows_and_after_big_ticks(monkeypatch) -> None:
    frozen = []
    monkeypatch.setattr(poll_session.gc, "freeze", lambda: frozen.append(1))
    policy = FreezePolicy()
    policy.rows_shown(5)
    policy.rows_shown(FREEZE_AFTER - 1)
    assert len(frozen) == 1
    policy.rows_shown(FREEZE_AFTER)
    assert len(frozen) == 2


# ---------------------------------------------------------------- the worker loop


class FakeClient:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.closed = False

    async def fetch_jobs(self, job_ids):
        return FetchResult(list(self.jobs), nbytes=10)

    async def get_workspace(self) -> dict:
        return {"name": "Acme Prod"}

    async def aclose(self) -> None:
        self.closed = True


class RecordingStore:
    """Notes when the poller writes the history (and whether the rows were shown by then)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.writes: list[bool] = []

    def record(self, workspace_id, jobs, observed_at, *, polled_at=None, **seen) -> int:
        shown = self.session.shown
        self.writes.append(shown is not None and shown.is_set())
        return 0


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def run_worker(session: Session, client, store) -> tuple[asyncio.Task, list]:
    posted: list = []
    task = asyncio.create_task(
        poll_workspace(
            session,
            client_factory=lambda ws: client,
            store=store,
            clock=time.time,
            post=posted.append,
            shown=JobIndex(),
        )
    )
    return task, posted


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_history_write_waits_until_the_rows_are_shown() -> None:
    session = Session.open(1, WORKSPACE, None, store=None)
    client = FakeClient([Job("a", RUNNING, "r1"), Job("b", FAILED, "r2")])
    store = RecordingStore(session)
    task, posted = await run_worker(session, client, store)
    await until(lambda: any(isinstance(m, JobsChanged) for m in posted))
    changed = next(m for m in posted if isinstance(m, JobsChanged))
    assert [r.workflow_id for r in changed.rows] == ["a", "b"] and changed.generation == 1
    assert not session.history_wanted.is_set()  # the history was read: nothing asked of it
    await asyncio.sleep(0.3)
    assert store.writes == []  # the rows are not on screen yet
    assert session.shown is not None
    session.shown.set()
    await until(lambda: store.writes)
    assert store.writes == [True]
    await until(lambda: any(isinstance(m, WorkspaceNamed) for m in posted))
    await until(lambda: any(isinstance(m, PollStatus) and m.health.state == "ok" for m in posted))
    await stop(task)
    assert client.closed


async def test_the_first_rows_wait_until_the_history_is_read() -> None:
    """A restart shows its first screen before reading the rest of the history: a tick that comes
    meanwhile is timed by what the history knew once it is read, not as jobs never seen."""
    session = Session.open(1, WORKSPACE, None, store=None)
    session.history_read.clear()  # as history_first_screen leaves it
    task, posted = await run_worker(session, FakeClient([Job("a", FAILED, "r1")]), None)
    await asyncio.sleep(0.3)
    assert not any(isinstance(m, JobsChanged) for m in posted)
    assert session.history_wanted.is_set()  # what reads the history stops giving way to keys
    session.remember([JobRecord("a", RUNNING, "r1", 100.0, 150.0)])
    await until(lambda: any(isinstance(m, JobsChanged) and m.rows for m in posted))
    (row,) = next(m for m in posted if isinstance(m, JobsChanged) and m.rows).rows
    assert row.first_seen == 100.0 and row.last_change > 150.0  # seen since, and ended since
    await stop(task)


async def test_the_first_rows_wait_for_the_history_no_longer_than_its_timeout(monkeypatch) -> None:
    """A history never read (the screen gone): the answer is shown after HISTORY_TIMEOUT anyway."""
    monkeypatch.setattr(poll_session, "HISTORY_TIMEOUT", 0.05)
    session = Session.open(1, WORKSPACE, None, store=None)
    session.history_read.clear()
    task, posted = await run_worker(session, FakeClient([Job("a", FAILED, "r1")]), None)
    await until(lambda: any(isinstance(m, JobsChanged) and m.rows for m in posted))
    assert not session.history_read.is_set()
    await stop(task)


async def test_the_history_write_waits_no_longer_than_the_timeout(monkeypatch) -> None:
    monkeypatch.setattr(poll_session, "SHOWN_TIMEOUT", 0.05)
    session = Session.open(1, WORKSPACE, None, store=None)
    store = RecordingStore(session)
    task, _ = await run_worker(session, FakeClient([Job("a", RUNNING, "r1")]), store)
    await until(lambda: store.writes)
    assert store.writes == [False]  # never shown (e.g. another screen on top): stored anyway
    await stop(task)


async def test_no_client_stops_the_session() -> None:
    """A factory that cannot make a client (no credentials) stops the session with its reason."""

    def factory(ws):
        raise JobwatchError("no credentials for acme")

    posted: list = []
    session = Session.open(1, WORKSPACE, None, store=None)
    await poll_workspace(
        session,
        client_factory=factory,
        store=None,
        clock=time.time,
        post=posted.append,
        shown=JobIndex(),
    )
    (status,) = posted
    assert isinstance(status, PollStatus) and status.health.state == "stopped"
    assert status.health.error is not None
    assert "credentials" in status.health.error.describe()


def test_lookup_reads_the_workspace_whole_when_most_jobs_are_unseen(tmp_path, monkeypatch) -> None:
    from jobwatch.tui.model import READ_WHOLE_OVER_SHARE, WorkspaceHistory

    store = HistoryStore(tmp_path / "h.db")
    stored = [Job(f"job-{i:04d}", Status(1, "RUNNING"), f"r{i}") for i in range(400)]
    store.record("ws", stored, 100.0)
    history = WorkspaceHistory(store, "ws")
    one_by_one = []
    real_job = store.job
    monkeypatch.setattr(store, "job", lambda ws, wid: one_by_one.append(wid) or real_job(ws, wid))
    many = [j.workflow_id for j in stored[:200]] + [f"new-{i}" for i in range(300)]
    assert READ_WHOLE_OVER_SHARE * 400 < 200 + 300
    found = history.lookup(many)
    assert sorted(found) == sorted(many[:200]) and one_by_one == []  # one read, not 500
    few = many[:40] + ["new-x"]  # 41 of 400 stored: one by one
    assert sorted(history.lookup(few)) == sorted(many[:40]) and len(one_by_one) == 41
    assert history.lookup(few) == {k: v for k, v in found.items() if k in few}
    store.close()


def test_the_first_answers_rows_are_the_general_ways() -> None:
    """poll_session._appeared_rows (one pass) makes the rows touched_by and timed_rows make."""
    jobs = [Job(f"j{i}", ALL_STATUSES[i % 7], f"r{i}") for i in range(30)]
    events: list = [JobAppeared(job, NOW + i % 4) for i, job in enumerate(jobs)]
    events.append(JobAppeared(Job("j3", FAILED, "r99"), NOW + 9))  # a workflowId twice
    events.append(PollCompleted(NOW, 30, 30, 10, 0.1))
    general = timed_rows(touched_by(events, {}), shown=JobIndex(), initial={}, found={})
    assert poll_session._appeared_rows(events) == general
    assert general[3] == JobRow("j3", FAILED, "r99", NOW + 9, NOW + 9)
    changed = StatusChanged(Job("j1", FAILED, "r1"), RUNNING, NOW)
    assert poll_session._appeared_rows([*events, changed]) is None


async def test_a_restarts_first_answer_tells_the_screen_only_what_the_history_did_not_know(
    monkeypatch,
) -> None:
    """JobAppeared of a job just as the history left it is dropped (in slices, giving way between);
    a job changed or unknown to the history, and every other event, reach the screen."""
    session = Session.open(1, WORKSPACE, None, store=None)
    session.remember(
        [
            JobRecord("same", RUNNING, "r1", 100.0, 150.0),
            JobRecord("ended", RUNNING, "r1", 100.0, 150.0),
            JobRecord("rerun", FAILED, "r1", 100.0, 150.0),
        ]
    )
    events = [
        JobAppeared(Job("same", RUNNING, "r1"), NOW),
        JobAppeared(Job("ended", FAILED, "r1"), NOW),
        JobAppeared(Job("rerun", FAILED, "r2"), NOW),
        JobAppeared(Job("new", RUNNING, "r9"), NOW),
        StatusChanged(Job("same", FAILED, "r1"), RUNNING, NOW),
    ]
    ways: list[int] = []

    async def counted() -> None:
        ways.append(1)

    monkeypatch.setattr(poll_session, "give_way", counted)
    monkeypatch.setattr(poll_session, "REPEATS_SLICE", 2)
    kept = await poll_session._without_repeats(events, session.initial)
    assert kept == events[1:]
    assert len(ways) == 2  # three slices of two
    assert await poll_session._without_repeats(events, {}) == events
    news = session.absorb(kept, NOW)
    assert [job.workflow_id for job, _ in news.ended] == ["ended", "same"]
