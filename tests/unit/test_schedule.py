"""What the poller asks for in all-jobs mode (jobwatch.schedule): the jobs that can still change
each tick, the whole list at the discovery interval, and both slowed by rate limits."""

from __future__ import annotations

import pytest

from jobwatch.api.client import FetchResult, SharelyClient
from jobwatch.errors import RateLimited, ServerError
from jobwatch.events import JobMissing, JobNotFound, PollCompleted, RunIdChanged, StatusChanged
from jobwatch.models import Job, Status
from jobwatch.poller import Poller
from jobwatch.schedule import (
    BATCH_SIZE,
    MAX_PARTIAL_REQUESTS,
    MAX_SLOWDOWN,
    RECOVERY_TICKS,
    SMALL_WORKSPACE_JOBS,
    ActiveJobs,
    Discovery,
    Pace,
    partial_worth_it,
)

RUNNING = Status(1, "RUNNING")
DONE = Status(2, "COMPLETED")
FAILED = Status(3, "FAILED")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Workspace:
    """A job source holding a workspace: the whole list, or the jobs asked for (as the API)."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = {j.workflow_id: j for j in jobs}
        self.calls: list[list[str] | None] = []
        self.fail: list[Exception] = []

    def set(self, job: Job) -> None:
        self.jobs[job.workflow_id] = job

    async def fetch_jobs(self, job_ids):
        self.calls.append(None if job_ids is None else list(job_ids))
        if self.fail:
            raise self.fail.pop(0)
        if job_ids is None:
            return FetchResult(list(self.jobs.values()), nbytes=100 * len(self.jobs))
        found = [self.jobs[i] for i in job_ids if i in self.jobs]
        return FetchResult(found, nbytes=100 * len(found))


def large(running: int = 20, finished: int = 980) -> Workspace:
    jobs = [Job(f"run-{i:04d}", RUNNING, "r") for i in range(running)]
    jobs += [Job(f"old-{i:04d}", DONE, "r") for i in range(finished)]
    return Workspace(jobs)


def kinds(events):
    return [type(e) for e in events]


# ------------------------------------------------------------------ the rules


def test_the_batch_size_is_the_clients():
    assert BATCH_SIZE == SharelyClient.BATCH_SIZE


def test_a_partial_tick_only_pays_in_a_large_workspace_with_few_jobs_running():
    assert not partial_worth_it(1, SMALL_WORKSPACE_JOBS)  # small: the whole list, one request
    assert partial_worth_it(1, SMALL_WORKSPACE_JOBS + 1)
    assert partial_worth_it(2000, 100_000)
    assert not partial_worth_it(60_000, 100_000)  # most jobs run: the whole list is cheaper
    limit = MAX_PARTIAL_REQUESTS * BATCH_SIZE
    assert partial_worth_it(limit, 10 * limit) and not partial_worth_it(limit + 1, 10 * limit)


def test_discovery_is_due_first_then_every_interval_and_when_forced():
    d = Discovery(30.0)
    assert d.due(0.0)
    d.read(0.0)
    assert not d.due(29.9) and d.due(30.0)
    assert not d.due(59.0, factor=2.0) and d.due(60.0, factor=2.0)
    # with ticks 2 s apart, the last tick before the interval is overrun reads the list
    assert not d.due(27.9, tick=2.0) and d.due(28.0, tick=2.0)
    d.force()
    assert d.due(1.0)
    d.read(1.0)
    d.failed(2.0)  # a failed read waits one more interval
    assert not d.due(31.5) and d.due(32.0)
    with pytest.raises(ValueError):
        Discovery(0.0)


def test_pace_doubles_on_rate_limits_and_recovers_after_good_ticks():
    pace = Pace()
    for _ in range(5):
        pace.rate_limited()
    assert pace.factor == MAX_SLOWDOWN
    for _ in range(RECOVERY_TICKS - 1):
        pace.succeeded()
    assert pace.factor == MAX_SLOWDOWN
    pace.succeeded()
    assert pace.factor == MAX_SLOWDOWN / 2


def test_active_jobs_follow_changes_and_forget_ids_the_api_dropped():
    active = ActiveJobs(missing_after=2)
    active.update([Job("a", RUNNING), Job("b", RUNNING), Job("c", DONE)])
    assert active.ids() == ["a", "b"]
    active.update([Job("a", FAILED)])
    assert active.ids() == ["b"]
    active.answered(["b"], [])
    assert "b" in active
    active.answered(["b"], [])
    assert active.ids() == []


# ------------------------------------------------------------------ the poller


async def test_a_large_workspace_is_read_whole_first_then_asked_only_for_running_jobs():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, discovery_interval=30.0, log=None)
    await p.poll_once()
    assert ws.calls == [None] and p.last_full_read is None  # nothing partial yet
    clock.now += 2
    await p.poll_once()
    assert ws.calls[-1] == [f"run-{i:04d}" for i in range(20)]
    assert p.partial and p.last_full_read == 1000.0
    clock.now += 30
    await p.poll_once()
    assert ws.calls[-1] is None  # the discovery interval passed: the whole list
    assert not p.partial and p.discovery.last_read == 1032.0


async def test_a_job_that_finished_is_no_longer_asked_for():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, log=None)
    await p.poll_once()
    ws.set(Job("run-0003", FAILED, "r"))
    events = await p.poll_once()
    assert StatusChanged in kinds(events) and p.jobs["run-0003"].status == FAILED
    await p.poll_once()
    assert "run-0003" not in ws.calls[-1] and len(ws.calls[-1]) == 19


async def test_new_jobs_appear_at_the_next_discovery_and_r_reads_at_once():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, discovery_interval=30.0, log=None)
    await p.poll_once()
    ws.set(Job("brand-new", RUNNING, "r"))
    clock.now += 2
    assert not any(isinstance(e, PollCompleted) and e.jobs > 1000 for e in await p.poll_once())
    assert "brand-new" not in p.jobs
    p.refresh_now()  # the dashboard's r
    await p.poll_once()
    assert ws.calls[-1] is None and "brand-new" in p.jobs
    clock.now += 2
    await p.poll_once()
    assert "brand-new" in ws.calls[-1]


async def test_a_reused_workflow_id_is_caught_at_the_next_discovery():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, discovery_interval=30.0, log=None)
    await p.poll_once()
    ws.set(Job("old-0007", RUNNING, "r2"))  # finished, then started again under a new runId
    clock.now += 2
    await p.poll_once()
    assert p.jobs["old-0007"].status == DONE  # terminal jobs are not asked for between reads
    clock.now += 30
    events = await p.poll_once()
    assert {StatusChanged, RunIdChanged} <= set(kinds(events))
    clock.now += 2
    await p.poll_once()
    assert "old-0007" in ws.calls[-1]


async def test_a_running_job_the_api_dropped_is_not_reported_missing_and_no_longer_asked_for():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, missing_after=2, log=None)
    await p.poll_once()
    del ws.jobs["run-0000"]
    for _ in range(2):
        clock.now += 2
        events = await p.poll_once()
        assert not {JobMissing, JobNotFound} & set(kinds(events))
    clock.now += 2
    await p.poll_once()
    assert "run-0000" not in ws.calls[-1]
    assert p.jobs["run-0000"].status == RUNNING  # as last seen, like a job gone from the list


async def test_a_small_workspace_and_one_where_most_jobs_run_are_read_whole_every_tick():
    for ws in (large(running=10, finished=100), large(running=900, finished=600)):
        p = Poller(ws, "ws", clock=Clock(), log=None)
        for _ in range(3):
            await p.poll_once()
        assert ws.calls == [None, None, None] and p.last_full_read is None


async def test_rate_limits_slow_the_ticks_and_postpone_the_whole_list():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, discovery_interval=30.0, log=None)
    await p.poll_once()
    clock.now += 30
    ws.fail = [RateLimited("slow down", status=429)]
    await p.poll_once()  # the whole-list read is refused
    assert ws.calls[-1] is None and p.pace.factor == 2.0
    clock.now += 5
    await p.poll_once()  # the next tick asks by ID; the whole list waits 2 x 30 s
    assert ws.calls[-1] is not None
    clock.now += 50  # 55 s after the refusal
    await p.poll_once()
    assert ws.calls[-1] is not None
    clock.now += 6
    await p.poll_once()
    assert ws.calls[-1] is None
    ws.fail = [ServerError("unavailable", status=503)]
    await p.poll_once()
    assert p.pace.factor == 4.0


async def test_a_first_read_that_fails_is_retried_whole():
    ws = large()
    ws.fail = [ServerError("unavailable", status=503)]
    p = Poller(ws, "ws", clock=Clock(), log=None)
    await p.poll_once()
    await p.poll_once()
    assert ws.calls == [None, None] and len(p.jobs) == 1000


async def test_untracking_the_last_id_reads_the_whole_list_again():
    ws = large()
    p = Poller(ws, "ws", job_ids=["run-0001"], clock=Clock(), log=None)
    await p.poll_once()
    assert ws.calls == [["run-0001"]]
    p.untrack(["run-0001"])
    await p.poll_once()
    assert ws.calls[-1] is None and len(p.active) == 20


async def test_tracked_ids_are_asked_for_every_tick_whatever_the_discovery():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", job_ids=["run-0001", "old-0001"], clock=clock, log=None)
    for _ in range(3):
        await p.poll_once()
        clock.now += 31
    assert ws.calls == [["run-0001", "old-0001"], ["run-0001"], ["run-0001"]]
    assert p.last_full_read is None


async def test_the_loop_waits_one_interval_from_tick_start_slowed_by_rate_limits():
    ws, clock = large(), Clock()
    p = Poller(ws, "ws", clock=clock, interval=0.01, log=None)
    p.pace.rate_limited()
    ticks = 0
    async for _ in p.run():
        ticks += 1
        if ticks == 2:
            break
    assert p.next_poll_at == pytest.approx(clock.now + 0.02)


@pytest.mark.parametrize(
    ("fetch_s", "write_s", "wait_s"),
    [
        (0.0, 3.0, 0.0),  # a slow write: the API rested 3 s already
        (0.0, 0.5, 1.5),  # a quick tick: one interval from its start
        (3.0, 0.0, 1.0),  # a slow answer: still half an interval of rest after it
    ],
)
async def test_the_api_rests_half_an_interval_after_an_answer_and_the_write_counts_as_rest(
    fetch_s, write_s, wait_s
):
    ws, clock = large(), Clock()
    fetch = ws.fetch_jobs

    async def slow_fetch(job_ids):
        clock.now += fetch_s
        return await fetch(job_ids)

    class History:
        def record(self, *args, **kwargs) -> None:
            clock.now += write_s

    ws.fetch_jobs = slow_fetch  # type: ignore[method-assign]
    p = Poller(ws, "ws", clock=clock, interval=2.0, history=History(), log=None)  # type: ignore[arg-type]
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)

    p._sleep = sleep  # type: ignore[method-assign]
    async for _ in p.run():
        if waits:
            break
    assert waits == [pytest.approx(wait_s)]


async def test_the_discovery_interval_counts_from_when_the_list_was_asked_for():
    """The whole list is as of its request: a slow answer does not push the next read later."""
    ws, clock = large(), Clock()
    fetch = ws.fetch_jobs

    async def slow(job_ids):
        result = await fetch(job_ids)
        clock.now += 3.0 if job_ids is None else 0.0
        return result

    ws.fetch_jobs = slow  # type: ignore[method-assign]
    p = Poller(ws, "ws", clock=clock, interval=2.0, discovery_interval=30.0, log=None)
    asked = clock.now
    await p.poll_once()
    assert ws.calls == [None] and p.discovery.last_read == asked
    clock.now = asked + 28.0  # the last tick before 30 s after the request would be overrun
    await p.poll_once()
    assert ws.calls[-1] is None
