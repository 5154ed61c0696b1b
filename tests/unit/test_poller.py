"""Unit tests of the poller's policy against a scripted job source (no network)."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from jobwatch.api.client import FetchResult
from jobwatch.api.transport import MAX_RETRY_AFTER
from jobwatch.errors import (
    InternalError,
    JobwatchError,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from jobwatch.events import (
    HistoryFailed,
    JobAppeared,
    JobMissing,
    JobNotFound,
    PollCompleted,
    PollerStopped,
    PollFailed,
    Recovered,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.models import Job, Status
from jobwatch.poller import Poller, backoff_delay, wait_set

RUNNING = Status(1, "RUNNING")
DONE = Status(2, "COMPLETED")
CAN = Status(6, "CONTINUED_AS_NEW")


class Script:
    """Answers each fetch with the next scripted item: a list of jobs or an exception."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[list[str] | None] = []

    async def fetch_jobs(self, job_ids):
        self.calls.append(None if job_ids is None else list(job_ids))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return FetchResult(answer, nbytes=10)


class Recorder:
    def __init__(self):
        self.calls = []

    def record(self, workspace_id, jobs, observed_at, *, polled_at=None, **seen):
        self.calls.append((workspace_id, list(jobs), observed_at, polled_at))
        return len(self.calls[-1][1])


def kinds(events):
    return [type(e) for e in events]


async def test_appeared_then_status_and_run_changes_are_events_and_recorded():
    src = Script(
        [Job("a", RUNNING, "r1")],
        [Job("a", RUNNING, "r1")],
        [Job("a", CAN, "r1")],
        [Job("a", RUNNING, "r2")],
    )
    hist = Recorder()
    p = Poller(src, "ws", job_ids=["a"], history=hist, clock=lambda: 100.0)
    first = await p.poll_once()
    assert kinds(first) == [JobAppeared, PollCompleted]
    same = await p.poll_once()
    assert kinds(same) == [PollCompleted]
    assert same[-1].changed == 0
    cont = await p.poll_once()
    assert kinds(cont) == [StatusChanged, PollCompleted]
    assert cont[0].previous == RUNNING and cont[0].job.status == CAN
    newrun = await p.poll_once()
    assert kinds(newrun) == [StatusChanged, RunIdChanged, PollCompleted]
    assert newrun[1].previous_run_id == "r1"
    assert [len(c[1]) for c in hist.calls] == [1, 0, 1, 1]
    assert not p.done  # CONTINUED_AS_NEW then RUNNING is never the end


async def test_terminal_ids_are_no_longer_requested_and_done_ends_run():
    src = Script([Job("a", DONE, "r"), Job("b", RUNNING, "r")], [Job("b", DONE, "r")])
    p = Poller(src, "ws", job_ids=["a", "b"], interval=0.01)
    ticks = [events async for events in p.run(until_done=True)]
    assert src.calls == [["a", "b"], ["b"]]
    assert len(ticks) == 2 and p.done


async def test_missing_becomes_not_found_after_n_polls_and_recovers_count_when_seen():
    src = Script([Job("a", RUNNING, "r")])
    p = Poller(src, "ws", job_ids=["a", "ghost"], missing_after=3)
    e1 = await p.poll_once()
    assert [e.misses for e in e1 if isinstance(e, JobMissing)] == [1]
    await p.poll_once()
    e3 = await p.poll_once()
    assert JobNotFound in kinds(e3)
    assert p.jobs["ghost"].status.label == "NOT_FOUND"
    assert p.pending_ids() == ["a"]


async def test_all_jobs_mode_sends_no_ids():
    src = Script([Job("a", RUNNING, "r")])
    p = Poller(src, "ws")
    await p.poll_once()
    assert src.calls == [None]
    assert p.pending_ids() is None and not p.done


async def test_backoff_respects_retry_after_and_resets_on_success():
    src = Script(
        RateLimited("slow down", status=429, retry_after=7.0), ServerError("x", status=503), []
    )
    p = Poller(src, "ws", rng=random.Random(1), clock=lambda: 0.0)
    e = await p.poll_once()
    assert isinstance(e[0], PollFailed) and e[0].retry_in >= 7.0 and e[0].attempt == 1
    e = await p.poll_once()
    assert isinstance(e[0], PollFailed) and e[0].attempt == 2 and 0 <= e[0].retry_in <= 4
    e = await p.poll_once()
    assert isinstance(e[0], Recovered) and e[0].failures == 2 and p.failures == 0


@pytest.mark.parametrize("error", [Unauthorized("no", status=401), NotFound("no", status=404)])
async def test_non_retryable_errors_stop_the_loop(error):
    p = Poller(Script(error), "ws", interval=0.01)
    ticks = [events async for events in p.run()]
    assert len(ticks) == 1 and isinstance(ticks[0][0], PollerStopped)
    assert ticks[0][0].error is error


async def test_retries_exhausted_stops():
    p = Poller(Script(ServerError("down", status=502)), "ws", max_failures=2, backoff_base=0.001)
    ticks = [events async for events in p.run()]
    assert kinds(ticks[-1]) == [PollerStopped]
    assert len(ticks) == 3


def test_full_jitter_bounds():
    rng = random.Random(3)
    values = [backoff_delay(n, rng, 1.0, 30.0) for n in range(1, 12) for _ in range(50)]
    assert all(0 <= v <= 30 for v in values)
    assert max(backoff_delay(1, rng) for _ in range(200)) <= 2.0
    assert max(backoff_delay(10, rng) for _ in range(200)) > 20  # capped at 30, not 1024


async def test_untrack_everything_returns_to_all_jobs_mode():
    src = Script([Job("a", RUNNING, "r")])
    p = Poller(src, "ws", job_ids=["a"])
    await p.poll_once()
    p.untrack(["a"])
    await p.poll_once()
    assert src.calls == [["a"], None]


class GatedRecorder(Recorder):
    """A history whose writes wait (in their thread) until the test opens the gate."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.gate = threading.Event()
        self.fail = fail

    def record(self, workspace_id, jobs, observed_at, *, polled_at=None, **seen):
        assert self.gate.wait(5), "the test never opened the gate"
        if self.fail:
            raise JobwatchError("disk full")
        return super().record(workspace_id, jobs, observed_at, polled_at=polled_at)


async def test_emit_before_write_hands_out_changes_first_and_poll_completed_once_stored():
    src = Script([Job("a", RUNNING, "r1")], [Job("a", RUNNING, "r1")])
    hist = GatedRecorder()
    p = Poller(src, "ws", history=hist, interval=0.01, log=None, emit_before_write=True)
    ticks = p.run()
    first = await asyncio.wait_for(ticks.__anext__(), 5)
    assert kinds(first) == [JobAppeared]  # handed out while the write is still waiting
    assert hist.calls == []
    hist.gate.set()
    second = await asyncio.wait_for(ticks.__anext__(), 5)
    assert kinds(second) == [PollCompleted] and second[0].changed == 1
    assert [[j.workflow_id for j in c[1]] for c in hist.calls] == [["a"]]  # stored by now
    # A tick without changes is only its PollCompleted, after its (empty) write.
    third = await asyncio.wait_for(ticks.__anext__(), 5)
    assert kinds(third) == [PollCompleted] and third[0].changed == 0
    assert len(hist.calls) == 2
    await ticks.aclose()


async def test_emit_before_write_starts_the_write_only_when_asked_for_more():
    hist = Recorder()
    p = Poller(
        Script([Job("a", RUNNING, "r1")]), "ws", history=hist, log=None, emit_before_write=True
    )
    ticks = p.run()
    assert kinds(await ticks.__anext__()) == [JobAppeared]
    await asyncio.sleep(0.05)
    assert hist.calls == []  # the dashboard repaints meanwhile; the write would share the GIL
    assert kinds(await ticks.__anext__()) == [PollCompleted]
    assert len(hist.calls) == 1
    await ticks.aclose()


async def test_emit_before_write_stores_the_tick_when_the_consumer_stops_after_its_changes():
    hist = Recorder()
    p = Poller(
        Script([Job("a", RUNNING, "r1")]), "ws", history=hist, log=None, emit_before_write=True
    )
    ticks = p.run()
    assert kinds(await ticks.__anext__()) == [JobAppeared]
    await ticks.aclose()
    assert [[j.workflow_id for j in c[1]] for c in hist.calls] == [["a"]]


async def test_a_consumer_cancelled_during_the_write_ends_only_once_the_tick_is_stored():
    # The dashboard's worker is cancelled on quit, SIGTERM or SIGHUP, perhaps while the first
    # write of every job runs in its thread: abandoned there, the process could exit mid-write
    # and SQLite would roll it back (0 of 20,000 rows stored, seen under load).
    hist = GatedRecorder()
    p = Poller(
        Script([Job("a", RUNNING, "r1")]), "ws", history=hist, log=None, emit_before_write=True
    )
    ticks = p.run()
    assert kinds(await ticks.__anext__()) == [JobAppeared]

    async def consume() -> None:
        try:
            await ticks.__anext__()  # starts the write, which waits at the gate
        finally:
            await ticks.aclose()

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    consumer.cancel()
    await asyncio.sleep(0.05)
    assert not consumer.done()  # still waiting for the write
    hist.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(consumer, 5)
    assert [[j.workflow_id for j in c[1]] for c in hist.calls] == [["a"]]


async def test_emit_before_write_reports_a_failed_write_before_poll_completed():
    hist = GatedRecorder(fail=True)
    hist.gate.set()
    p = Poller(
        Script([Job("a", RUNNING, "r1")]), "ws", history=hist, log=None, emit_before_write=True
    )
    ticks = p.run()
    assert kinds(await ticks.__anext__()) == [JobAppeared]
    assert kinds(await ticks.__anext__()) == [HistoryFailed, PollCompleted]
    await ticks.aclose()


async def test_default_run_hands_out_a_tick_only_once_stored():
    hist = GatedRecorder()
    p = Poller(Script([Job("a", RUNNING, "r1")]), "ws", history=hist, log=None)
    ticks = p.run()
    pending = asyncio.ensure_future(ticks.__anext__())
    await asyncio.sleep(0.05)
    assert not pending.done()  # nothing before the write
    hist.gate.set()
    assert kinds(await asyncio.wait_for(pending, 5)) == [JobAppeared, PollCompleted]
    assert len(hist.calls) == 1
    await ticks.aclose()


async def test_only_fresh_jobs_are_compared_within_an_epoch_the_poller_absorbed():
    first = [Job("a", Status(1, "RUNNING")), Job("b", Status(1, "RUNNING"))]
    b_done = Job("b", Status(2, "COMPLETED"))
    answers = [
        FetchResult(first, 10, epoch=1),
        FetchResult([first[0], b_done], 10, fresh=[b_done], epoch=1),
        # claims nothing is fresh, but of an epoch this poller never saw: all compared
        FetchResult([Job("a", Status(3, "FAILED")), b_done], 10, fresh=[], epoch=2),
    ]

    class Source:
        async def fetch_jobs(self, job_ids):
            return answers.pop(0)

    poller = Poller(Source(), "ws", log=None)
    await poller.poll_once()
    events = await poller.poll_once()
    assert [(type(e).__name__, e.job.workflow_id) for e in events[:-1]] == [("StatusChanged", "b")]
    assert poller.jobs["b"] is b_done
    events = await poller.poll_once()
    assert [(type(e).__name__, e.job.workflow_id) for e in events[:-1]] == [("StatusChanged", "a")]


# -- an unexpected exception never ends the loop ------------------------------------------


class BrokenDiff(Exception):
    pass


@pytest.mark.parametrize(
    "exc", [ValueError("no"), RecursionError("deep"), OverflowError("int too big"), KeyError("x")]
)
async def test_an_unexpected_exception_is_a_failed_poll_then_polling_recovers(exc):
    src = Script(exc, [Job("a", RUNNING, "r1")])
    p = Poller(src, "ws", rng=random.Random(1), clock=lambda: 0.0, log=None, backoff_base=0.001)
    [failed] = await p.poll_once()
    assert isinstance(failed, PollFailed) and isinstance(failed.error, InternalError)
    assert failed.error.retryable and failed.error.exit_code == 3
    assert type(exc).__name__ in failed.error.describe()
    assert "test_poller.py:" in failed.error.message  # where it was raised
    assert not p.stopped and p.failures == 1
    recovered = await p.poll_once()
    assert kinds(recovered) == [Recovered, JobAppeared, PollCompleted]


async def test_run_keeps_going_through_unexpected_exceptions():
    src = Script(ZeroDivisionError(), ZeroDivisionError(), [Job("a", DONE, "r1")])
    p = Poller(src, "ws", job_ids=["a"], backoff_base=0.001, backoff_cap=0.01, log=None)
    seen = []
    async with asyncio.timeout(5):
        async for batch in p.run(until_done=True):
            seen.extend(batch)
    assert [type(e) for e in seen if isinstance(e, PollFailed)] == [PollFailed, PollFailed]
    assert p.done and not any(isinstance(e, PollerStopped) for e in seen)


async def test_a_failing_diff_is_a_failed_poll_and_the_next_tick_compares_everything(monkeypatch):
    src = Script([Job("a", RUNNING, "r1")], [Job("a", DONE, "r1")])
    p = Poller(src, "ws", log=None, backoff_base=0.001)
    original = Poller._diff
    calls = []

    def diff(self, *args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise BrokenDiff("bug")
        return original(self, *args, **kw)

    monkeypatch.setattr(Poller, "_diff", diff)
    [failed] = await p.poll_once()
    assert isinstance(failed.error, InternalError) and "BrokenDiff: bug" in failed.error.message
    events = await p.poll_once()
    assert StatusChanged not in kinds(events) and JobAppeared in kinds(events)


async def test_a_failing_diff_after_a_failed_poll_counts_as_the_next_attempt(monkeypatch):
    src = Script(ServerError("down", status=503), [Job("a", RUNNING, "r1")])
    p = Poller(src, "ws", log=None, backoff_base=0.001)
    await p.poll_once()
    monkeypatch.setattr(Poller, "_diff", lambda self, *a, **k: 1 / 0)
    [failed] = await p.poll_once()
    assert failed.attempt == 2 and p.failures == 2


async def test_an_internal_error_text_is_bounded():
    p = Poller(Script(ValueError("x" * 10_000)), "ws", log=None)
    [failed] = await p.poll_once()
    assert len(failed.error.describe()) < 400


async def test_an_unexpected_history_exception_is_a_history_failure_and_kept():
    class Flaky(Recorder):
        def record(self, *args, **kw):
            if not self.calls:
                self.calls.append(None)
                raise OverflowError("Python int too large to convert to SQLite INTEGER")
            return super().record(*args, **kw)

    hist = Flaky()
    p = Poller(Script([Job("a", RUNNING, "r1")]), "ws", history=hist, log=None)
    first = await p.poll_once()
    assert HistoryFailed in kinds(first)
    failed = next(e for e in first if isinstance(e, HistoryFailed))
    assert "OverflowError" in failed.error.describe()
    await p.poll_once()
    assert [job.workflow_id for job in hist.calls[1][1]] == ["a"]  # stored on the next tick


async def test_a_retry_after_above_the_cap_waits_the_cap():
    error = RateLimited("slow", retry_after=1e9)
    p = Poller(Script(error), "ws", clock=lambda: 0.0, log=None)
    [failed] = await p.poll_once()
    assert failed.retry_in == MAX_RETRY_AFTER


async def test_jobs_the_answer_holds_unasked_are_not_shown_counted_or_recorded():
    stranger = Job("stranger", Status(3, "FAILED"), "rx")
    src = Script([Job("a", RUNNING, "r"), stranger], [Job("a", DONE, "r"), stranger])
    hist = Recorder()
    p = Poller(src, "ws", job_ids=["a"], history=hist, clock=lambda: 100.0)
    first = await p.poll_once()
    assert [e.job.workflow_id for e in first if isinstance(e, JobAppeared)] == ["a"]
    second = await p.poll_once()
    assert [e.job.workflow_id for e in second if isinstance(e, StatusChanged)] == ["a"]
    assert set(p.jobs) == {"a"}
    assert all(job.workflow_id == "a" for call in hist.calls for job in call[1])


async def test_the_first_answer_makes_every_job_appear_in_its_order():
    jobs = [Job(f"j{i}", RUNNING if i % 3 else DONE, "r") for i in range(50)]
    p = Poller(Script(jobs), "ws", clock=lambda: 100.0, log=None)
    events = await p.poll_once()
    assert kinds(events) == [JobAppeared] * 50 + [PollCompleted]
    assert [e.job for e in events[:-1]] == jobs and events[-1].changed == 50
    assert p.jobs == {j.workflow_id: j for j in jobs}
    assert sorted(p.active.ids()) == sorted(j.workflow_id for j in jobs if j.status == RUNNING)


async def test_a_first_answer_with_a_workflow_id_twice_is_compared_as_ever():
    src = Script([Job("a", RUNNING, "r1"), Job("b", RUNNING, "r1"), Job("a", CAN, "r1")])
    p = Poller(src, "ws", clock=lambda: 100.0, log=None)
    events = await p.poll_once()
    assert kinds(events) == [JobAppeared, JobAppeared, StatusChanged, PollCompleted]
    assert p.jobs["a"].status == CAN and events[-1].changed == 3


async def test_a_cancel_that_comes_as_the_event_is_set_is_not_lost() -> None:
    """wait_set, unlike Python 3.11's asyncio.wait_for (bpo-42130): a worker stopped just as its
    rows were shown must stop."""
    event = asyncio.Event()
    task = asyncio.create_task(wait_set(event, 10.0))
    await asyncio.sleep(0)  # the task waits for the event
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_wait_set_ends_at_the_event_or_the_timeout() -> None:
    event = asyncio.Event()
    started = time.monotonic()
    await wait_set(event, 0.05)  # never set: the timeout, without an error
    assert time.monotonic() - started >= 0.05
    event.set()
    await asyncio.wait_for(wait_set(event, 10.0), 1.0)  # set: at once
