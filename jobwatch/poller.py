"""The one polling loop shared by `jobwatch wait`, `jobwatch status` and the dashboard.

One request per tick (the client splits only past its batch size; in all-jobs mode a large
workspace is asked only for its jobs that can still change, and read whole at the slower
discovery interval: jobwatch.schedule), a diff against the last snapshot that becomes change
events, every change written to the history
store, failed jobs and poll errors written to the event log (jobwatch.store.eventlog),
exponential backoff with full jitter on errors, and Retry-After honoured (up to
MAX_RETRY_AFTER). An exception that is not an ApiError (a bug, or one escaping a parser) never
ends the loop: it becomes an InternalError, reported like any failed poll and retried with
backoff; one from the history write becomes a HistoryFailed.
Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from jobwatch.api.transport import MAX_RETRY_AFTER
from jobwatch.errors import ApiError, InternalError, JobwatchError, RateLimited
from jobwatch.events import (
    Event,
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
from jobwatch.models import NOT_FOUND, Job
from jobwatch.schedule import (
    DEFAULT_DISCOVERY_INTERVAL,
    ActiveJobs,
    Discovery,
    Pace,
    partial_worth_it,
)
from jobwatch.store.coverage import Answer

if TYPE_CHECKING:
    from jobwatch.api.client import FetchResult
from jobwatch.store import eventlog

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_INTERVAL = 2.0
#: consecutive successful polls an ID may be absent before it counts as NOT_FOUND
DEFAULT_MISSING_AFTER = 3
#: ticks kept for the history store while it fails; past this the oldest two are merged
MAX_UNSAVED_BATCHES = 1000
#: answers with more jobs than this are diffed in a thread
DIFF_IN_THREAD_JOBS = 10_000


#: a tick for the history: (changed jobs, when, what the poll saw)
_Batch = tuple[list[Job], float, Answer]


class JobSource(Protocol):
    """What the poller polls: the API client, or a fake in unit tests."""

    async def fetch_jobs(self, job_ids: Sequence[str] | None) -> FetchResult: ...


class HistorySink(Protocol):
    def record(
        self,
        workspace_id: str,
        jobs: Iterable[Job],
        observed_at: float,
        *,
        polled_at: float | None = None,
        answer: Answer | None = None,
        interval: float | None = None,
    ) -> int: ...


class EventSink(Protocol):
    def record(self, workspace_id: str, events: list[Event]) -> None: ...


def backoff_delay(attempt: int, rng: random.Random, base: float = 1.0, cap: float = 30.0) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**attempt)) for attempt >= 1."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))


class Poller:
    """Polls one workspace: what to ask for, one tick (ask, diff against the last snapshot, store,
    back off) and the loop (`run`), with the controls the dashboard uses (track, pause, refresh).

    Over the ~400-line guide (about 430 lines) because every part reads and writes one state: the
    snapshot (`jobs`), the missing counts, the failures and backoff, the unsaved ticks and the
    all-jobs schedule. What needs none of it lives elsewhere: when to read the whole list and how
    rate limits slow the ticks (jobwatch.schedule), batching and answer reuse (jobwatch.api), what
    a tick writes to the history (jobwatch.store.coverage).
    """

    def __init__(
        self,
        client: JobSource,
        workspace_id: str,
        *,
        job_ids: Sequence[str] | None = None,
        history: HistorySink | None = None,
        interval: float = DEFAULT_INTERVAL,
        missing_after: int = DEFAULT_MISSING_AFTER,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        max_failures: int | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        log: EventSink | None = eventlog.DEFAULT,
        emit_before_write: bool = False,
        discovery_interval: float = DEFAULT_DISCOVERY_INTERVAL,
    ) -> None:
        self.client = client
        #: run() hands out a tick's changes before its history write (the dashboard), and its
        #: PollCompleted after it; False (the CLI) hands out nothing until the changes are stored
        self.emit_before_write = emit_before_write
        #: where notable events go (failed jobs, poll errors, recoveries); None: nowhere
        self.log = log
        self.workspace_id = workspace_id
        self.history = history
        self.interval = interval
        self.missing_after = missing_after
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_failures = max_failures
        self.clock = clock
        self.rng = rng or random.Random()
        self.jobs: dict[str, Job] = {}
        self.tracked: list[str] | None = (
            list(dict.fromkeys(job_ids)) if job_ids is not None else None
        )
        self.misses: dict[str, int] = {}
        self.failures = 0
        self.paused = False
        self.stopped = False
        self.last_success: float | None = None
        self.last_error: ApiError | None = None
        self.next_poll_at: float | None = None
        # (observed_at, changed jobs, what the poll saw) of ticks the history store has not taken
        # yet; only the newest keeps its answer (a thousand answers of 100k jobs would not fit)
        self._unsaved: list[tuple[float, list[Job], Answer | None]] = []
        # the request whose answer self.jobs reflects; None after the tracked set changed
        self._diffed: tuple[str, ...] | bool | None = None
        # the client's epoch (FetchResult.epoch) of which self.jobs holds every job handed out;
        # None when self.jobs was changed otherwise (untrack, NOT_FOUND) or is unsure
        self._epoch: int | None = None
        self._marked_gone = False  # this tick marked a job NOT_FOUND (see _epoch)
        self._wake = asyncio.Event()
        #: all-jobs mode: when the whole list is read (jobwatch.schedule)
        self.discovery = Discovery(discovery_interval)
        #: all-jobs mode: the jobs a tick asks for between reads of the whole list
        self.active = ActiveJobs(missing_after)
        #: how much rate limits slow the ticks and the discovery down
        self.pace = Pace()
        #: the latest tick asked only for the active jobs (all-jobs mode, a large workspace)
        self.partial = False
        self._reading_all = False  # the tick under way reads the whole list (all-jobs mode)

    # -- what to ask for -------------------------------------------------------------

    def pending_ids(self) -> list[str] | None:
        """IDs still worth requesting: tracked ones not yet terminal; None means all jobs."""
        if self.tracked is None:
            return None
        jobs = self.jobs
        return [i for i in self.tracked if i not in jobs or not jobs[i].status.is_terminal]

    def _next_request(self) -> tuple[list[str] | None, bool]:
        """What this tick asks for: (IDs, None for the whole list; whether only the active jobs
        of an all-jobs poll are asked for)."""
        if self.tracked is not None:
            return self.pending_ids(), False
        partial = partial_worth_it(len(self.active), len(self.jobs))
        factor = self.pace.factor
        if not partial or self.discovery.due(self.clock(), factor, self.interval * factor):
            return None, False
        return self.active.ids(), True

    @property
    def last_full_read(self) -> float | None:
        """When the whole list was last read, while the ticks in between ask only for the active
        jobs (all-jobs mode, a large workspace); else None (every tick reads what it shows)."""
        return self.discovery.last_read if self.partial else None

    @property
    def done(self) -> bool:
        """Tracked mode only: every tracked job has reached a terminal state."""
        return self.tracked is not None and self.last_success is not None and not self.pending_ids()

    # -- control, for the dashboard --------------------------------------------------

    def track(self, ids: Iterable[str]) -> None:
        self._diffed = None
        current = self.tracked or []
        self.tracked = list(dict.fromkeys([*current, *ids]))
        self.refresh_now()

    def untrack(self, ids: Iterable[str]) -> None:
        if self.tracked is None:
            return
        self._diffed = None
        drop = set(ids)
        self.tracked = [i for i in self.tracked if i not in drop]
        self._epoch = None  # jobs leave self.jobs: the next answer is compared whole
        for i in drop:
            self.jobs.pop(i, None)
            self.misses.pop(i, None)
        if not self.tracked:
            self.tracked = None
            self.jobs.clear()
            self.active.clear()
        self.refresh_now()

    def refresh_now(self) -> None:
        """Poll now; in all-jobs mode, read the whole list (not only the active jobs)."""
        self.discovery.force()
        self._wake.set()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._wake.set()

    def set_interval(self, seconds: float) -> None:
        self.interval = seconds
        self._wake.set()

    # -- one tick ------------------------------------------------------------------------

    async def poll_once(self) -> list[Event]:
        """Poll once and return the events; API errors become PollFailed / PollerStopped.

        The history write and the event log are done before it returns, in a thread: SQLite
        takes ~1 s for a first batch of 100k jobs, and the dashboard's event loop must not wait.
        """
        events, batch = await self._poll()
        failed = await self._persist(events, batch)
        if failed is not None:
            events.insert(len(events) - 1, failed)  # before PollCompleted, as before
        return events

    async def _persist(self, events: list[Event], batch: _Batch | None) -> Event | None:
        """Write the tick's changes (in a thread) and log its events; HistoryFailed if not stored.

        A cancel while the write runs (the dashboard quitting, SIGTERM, SIGHUP) waits for it and
        is passed on after: a write abandoned in its thread could be cut short by the exit."""
        return await _to_the_end(self._persist_now(events, batch))

    async def _persist_now(self, events: list[Event], batch: _Batch | None) -> Event | None:
        saving = asyncio.to_thread(self._save, batch)
        if self.log is None:
            failed = await saving
        else:
            # SQLite releases the GIL while it writes: the log lines are formatted meanwhile.
            logging = asyncio.to_thread(self.log.record, self.workspace_id, list(events))
            failed, _ = await asyncio.gather(saving, logging)
        if failed is not None and self.log is not None:
            self.log.record(self.workspace_id, [failed])
        return failed

    async def _poll(self) -> tuple[list[Event], _Batch | None]:
        """Fetch and diff: the events, and the (changed jobs, time, answer) the history must take.

        An unexpected exception is a failed poll (InternalError), retried like any other.
        """
        failures = self.failures
        try:
            return await self._fetch_and_diff()
        except Exception as exc:
            _log.debug("unexpected exception while polling", exc_info=True)
            # what self.jobs reflects is unsure now: the next tick compares every job again
            self._diffed = self._epoch = None
            self.failures = failures  # a fetch that worked before the failure is no recovery
            return self._failed(InternalError.from_exception(exc)), None

    async def _fetch_and_diff(self) -> tuple[list[Event], _Batch | None]:
        started = time.perf_counter()
        asked_at = self.clock()
        requested, partial = self._next_request()
        self._reading_all = requested is None
        unchanged = False
        fresh: list[Job] | None = None
        epoch: int | None = None
        try:
            if requested is not None and not requested:
                jobs: list[Job] = []
                nbytes = 0
            else:
                result = await self.client.fetch_jobs(requested)
                jobs, nbytes = result.jobs, result.nbytes
                unchanged = result.unchanged
                epoch = result.epoch
                if result.fresh is not None and epoch is not None and epoch == self._epoch:
                    fresh = result.fresh
        except ApiError as error:
            return self._failed(error), None
        if requested:
            jobs, fresh = _only_requested(jobs, fresh, requested)
        now = self.clock()
        events: list[Event] = []
        if self.failures:
            events.append(Recovered(self.failures, now))
        self.failures = 0
        self.last_error = None
        key = tuple(requested) if requested is not None else True
        # a tracked ID absent from the answer counts towards NOT_FOUND; an active job of an
        # all-jobs poll is only no longer asked for (ActiveJobs.answered)
        counted = None if partial else requested
        if unchanged and self._diffed == key:
            # The same bytes as last time: nothing to parse or compare, only absences to count.
            changed = self._count_missing(jobs, counted, now, events, self.jobs, [])
        else:
            # Every job outside `fresh` is one self.jobs already holds (FetchResult.fresh).
            compare = fresh if fresh is not None else jobs
            if len(compare) > DIFF_IN_THREAD_JOBS:
                # ~25 ms for 100k jobs: in a thread, the dashboard's event loop keeps running
                changed = await asyncio.to_thread(self._diff, jobs, counted, now, events, compare)
            else:
                changed = self._diff(jobs, counted, now, events, compare)
        if partial:
            self.active.answered(requested or (), jobs)
        elif requested is None:
            # the list is as of its request: counted from its answer (100k jobs: read and decoded
            # 0.3-1 s later) the reads drifted apart and new jobs showed after 31-32.6 s, not 30
            self.discovery.read(asked_at)
        self.partial = partial
        self.pace.succeeded()
        self._diffed = key
        # self.jobs holds this epoch's jobs, unless it changed otherwise (a job marked NOT_FOUND
        # holds no job of the client's) or an unchanged answer went uncompared after that
        gone, self._marked_gone = self._marked_gone, False
        uncompared = unchanged and self._epoch is None
        self._epoch = None if gone or uncompared else epoch
        self.last_success = now
        events.append(
            PollCompleted(now, len(self.jobs), len(changed), nbytes, time.perf_counter() - started)
        )
        return events, (changed, now, Answer(jobs, requested))

    def _save(self, batch: _Batch | None) -> Event | None:
        """Blocking: write the tick's changes to the history; HistoryFailed if it could not."""
        if batch is None or self.history is None:
            return None
        changed, now, answer = batch
        try:
            self._record(changed, now, answer)
        except JobwatchError as error:
            return HistoryFailed(error, now)
        except Exception as exc:  # e.g. a value SQLite cannot store: the batch is kept, retried
            return HistoryFailed(InternalError.from_exception(exc), now)
        return None

    def _record(self, changed: list[Job], now: float, answer: Answer | None = None) -> None:
        """Record this tick's changes after any earlier ones the history could not take.

        A failed record stores nothing, so the batch is kept and tried again on the next tick:
        a locked database or a full disk delays transitions but loses none.
        """
        unsaved = self._unsaved
        if unsaved and not unsaved[-1][1]:
            unsaved.pop()  # an empty batch only carried the poll time, which `now` supersedes
        if unsaved:  # an older tick is recorded as having seen only its changes
            at, jobs, _ = unsaved[-1]
            unsaved[-1] = (at, jobs, None)
        unsaved.append((now, changed, answer))
        if len(unsaved) > MAX_UNSAVED_BATCHES:
            (_, older, _), (at, newer, seen) = unsaved[0], unsaved[1]
            merged = {j.workflow_id: j for j in (*older, *newer)}
            unsaved[0:2] = [(at, list(merged.values()), seen)]
        history = self.history
        assert history is not None
        while unsaved:
            at, jobs, seen = unsaved[0]
            history.record(
                self.workspace_id, jobs, at, polled_at=at, answer=seen, interval=self.interval
            )
            unsaved.pop(0)

    def _diff(
        self,
        jobs: list[Job],
        requested: list[str] | None,
        now: float,
        events: list[Event],
        compare: list[Job] | None = None,
    ) -> list[Job]:
        """Compare `compare` (default: all of `jobs`) with self.jobs; count absences from `jobs`."""
        known = self.jobs
        todo = jobs if compare is None else compare
        if not known:
            first = {job.workflow_id: job for job in todo}
            if len(first) == len(todo):
                # Nothing known yet (the first answer) and no workflowId twice: every job
                # appears. 100k jobs: ~80 -> ~55 ms (the loop below compared each with None).
                known.update(first)
                events.extend([JobAppeared(job, now) for job in todo])
                appeared = list(todo)
                if self.tracked is None:
                    self.active.update(appeared)
                return self._count_missing(jobs, requested, now, events, known, appeared)
        changed: list[Job] = []
        emit = events.append
        get = known.get
        for job in todo:
            prev = get(job.workflow_id)
            if prev == job:
                continue  # one C-level comparison of the whole job: most jobs did not change
            if prev is None:
                emit(JobAppeared(job, now))
            else:
                ps, js = prev.status, job.status
                same_status = ps is js or (ps.code == js.code and ps.name == js.name)
                if same_status and prev.run_id == job.run_id:
                    continue
                if not same_status:
                    emit(StatusChanged(job, ps, now))
                if prev.run_id != job.run_id:
                    emit(RunIdChanged(job, prev.run_id, now))
            known[job.workflow_id] = job
            changed.append(job)
        if self.tracked is None:
            self.active.update(changed)
        return self._count_missing(jobs, requested, now, events, known, changed)

    def _count_missing(
        self,
        jobs: list[Job],
        requested: list[str] | None,
        now: float,
        events: list[Event],
        known: dict[str, Job],
        changed: list[Job],
    ) -> list[Job]:
        """Count the requested IDs absent from the answer; repeated absence becomes NOT_FOUND."""
        emit = events.append
        if requested:
            seen = {j.workflow_id for j in jobs}
            for wid in requested:
                if wid in seen:
                    self.misses.pop(wid, None)
                    continue
                misses = self.misses.get(wid, 0) + 1
                self.misses[wid] = misses
                emit(JobMissing(wid, misses, now))
                if misses >= self.missing_after:
                    gone = Job(wid, NOT_FOUND, known[wid].run_id if wid in known else "")
                    known[wid] = gone
                    self._marked_gone = True
                    changed.append(gone)
                    emit(JobNotFound(wid, now))
        return changed

    def _failed(self, error: ApiError) -> list[Event]:
        now = self.clock()
        self.failures += 1
        self.last_error = error
        if isinstance(error, RateLimited) or error.status in (429, 503):
            self.pace.rate_limited()
        if self._reading_all and self.tracked is None:
            self.discovery.failed(now, self.pace.factor)
        if not error.retryable:
            self.stopped = True
            return [PollerStopped(error, now)]
        if self.max_failures is not None and self.failures > self.max_failures:
            self.stopped = True
            return [PollerStopped(error, now)]
        delay = backoff_delay(self.failures, self.rng, self.backoff_base, self.backoff_cap)
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, MAX_RETRY_AFTER))
        self.next_poll_at = now + delay
        return [PollFailed(error, self.failures, delay, now + delay, now)]

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, *, until_done: bool = False) -> AsyncGenerator[list[Event], None]:
        """Poll until stopped by a non-retryable error or too many failures.

        With until_done (for `jobwatch wait`), also end once every tracked job is terminal.

        Ticks never overlap: the next one starts only after the previous one is done.
        """
        self.stopped = False
        while True:
            while self.paused:
                self._wake.clear()
                await self._wake.wait()
            self._wake.clear()
            tick_started = self.clock()
            if self.emit_before_write:
                async with contextlib.aclosing(self._tick_emitting_first()) as tick:
                    async for events in tick:
                        yield events
            else:
                yield await self.poll_once()
            if self.stopped:
                return
            if until_done and self.done:
                return
            if self.failures:
                delay = max(0.0, (self.next_poll_at or 0.0) - self.clock())
            else:
                # Ticks start one interval apart (slowed by rate limits), and the API rests at
                # least half an interval after an answer. The history's write counts as rest: at
                # a 100k restart it took 1.16 s after the first answer and then held the second
                # tick back by another whole half interval (measured in a pty, 2026-12-03).
                every = self.interval * self.pace.factor
                answered = tick_started if self.last_success is None else self.last_success
                now = self.clock()
                delay = max(0.0, max(tick_started + every, answered + every / 2) - now)
                self.next_poll_at = now + delay
            await self._sleep(delay)

    async def _tick_emitting_first(self) -> AsyncGenerator[list[Event], None]:
        """One tick as two batches: the changes at once, then [HistoryFailed?, PollCompleted]
        once the history has them (a first write of 100k jobs takes ~0.7 s).

        The write starts when the consumer asks for the next batch, so a consumer that first shows
        the changes (the dashboard) does not share the GIL with the write while it repaints.
        """
        events, batch = await self._poll()
        if batch is None:  # a failed poll: nothing to store
            await self._persist(events, None)
            yield events
            return
        completed = events.pop()
        try:
            if events:
                yield events
        finally:
            # also when the consumer stops here: the tick's changes are stored before the next fetch
            failed = await self._persist([*events, completed], batch)
        yield [completed] if failed is None else [failed, completed]

    async def _sleep(self, delay: float) -> None:
        if self._wake.is_set():
            return
        await wait_set(self._wake, delay)


async def wait_set(event: asyncio.Event, timeout: float) -> None:
    """Wait until `event` is set, for at most `timeout` seconds.

    Not asyncio.wait_for: on Python 3.11 a cancel that comes as the event is set is lost there
    (bpo-42130, fixed in 3.12), and the task runs on; a worker being stopped as its rows were
    shown kept polling, and the stop waited for it forever (seen once in CI, under load).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()


class StartedRun:
    """`Poller.run()` whose first tick is already under way, iterated like `run()` itself.

    The dashboard starts its poller's loop before it imports Textual and draws its first frame
    (jobwatch.session.HeadStart): the first answer of a large workspace (12.7 MB at 100k jobs) is
    asked for, read, parsed and diffed meanwhile. Its worker then iterates this object as it
    would iterate `run()`: the first batch is that first tick's, the rest come from the same loop.
    """

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self._ticks = poller.run()
        self._first: asyncio.Future[list[Event]] | None = asyncio.ensure_future(anext(self._ticks))

    @property
    def first_done(self) -> bool:
        """The first tick has ended (its events wait for `__anext__`)."""
        return self._first is None or self._first.done()

    def __aiter__(self) -> StartedRun:
        return self

    async def __anext__(self) -> list[Event]:
        first, self._first = self._first, None
        if first is not None:
            return await first  # a cancel of the caller cancels the tick, as with run()
        return await anext(self._ticks)

    async def aclose(self) -> None:
        """End the loop; a first tick still under way is cancelled."""
        first, self._first = self._first, None
        if first is not None and not first.done():
            first.cancel()
            await asyncio.wait([first])
        await self._ticks.aclose()


async def _to_the_end(work: Coroutine[object, object, _T]) -> _T:
    """`work`'s result, awaited to its end even if the caller is cancelled meanwhile; the cancel
    is raised once it has ended."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


def _only_requested(
    jobs: list[Job], fresh: list[Job] | None, requested: Sequence[str]
) -> tuple[list[Job], list[Job] | None]:
    """The jobs of an answer that were asked for: one the API sends unasked is not this poll's to
    show, count or record (a tracked `wait` would print a stranger's job). ~0.2 ms for 2,000 IDs."""
    asked = set(requested)
    if all(job.workflow_id in asked for job in jobs):
        return jobs, fresh
    _log.debug(
        "dropped %d jobs the answer held unasked",
        sum(1 for j in jobs if j.workflow_id not in asked),
    )
    kept = [job for job in jobs if job.workflow_id in asked]
    return kept, None if fresh is None else [job for job in fresh if job.workflow_id in asked]
