"""A workspace session of the dashboard and the loop of its poll worker.

`Session` is one workspace being watched: its tracked IDs, interval, poller and worker, and what
the screen learnt of it (name, health, the records it opened with, the last errorId).
`poll_workspace` is the worker's loop: it drives the core's Poller and posts what each tick
brought (jobwatch.tui.messages) to the screen, which changes the widgets. `Sessions` runs it as
one Textual worker per session and cancels it (its client is closed in a `finally`) before the
next session's worker starts, so no request for the old workspace leaves after a switch. The
first worker takes the poller `jobwatch watch` started before it imported the dashboard
(jobwatch.head_start), if that one polls what the session polls.

Three measured tricks live here: a tick's history write waits until its rows are on screen (the
"shown" handshake, `SHOWN_TIMEOUT`), `FreezePolicy` freezes the cycle collector's view of the
rows once they are loaded, and the worker has a description of its own (`WORKER_DESCRIPTION`),
so that Textual does not describe it by the repr of everything the session holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState

from jobwatch.errors import ApiError, JobwatchError
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
from jobwatch.give_way import give_way
from jobwatch.head_start import HeadStart, Plan, dashboard_poller, watched_ids
from jobwatch.models import Job
from jobwatch.poller import JobSource, Poller, StartedRun, wait_set
from jobwatch.schedule import DEFAULT_DISCOVERY_INTERVAL
from jobwatch.session import resolve_discovery_interval, resolve_interval
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import HistoryStore, JobRecord
from jobwatch.tui.job_index import (
    FIRST_SCREEN_AFTER,
    FIRST_SCREEN_ROWS,
    LEADING_COLUMN,
    first_screen,
)
from jobwatch.tui.messages import JobsChanged, PollStatus, SessionMessage, WorkspaceNamed
from jobwatch.tui.model import (
    LOOKUP_IN_THREAD,
    EndingNotices,
    Health,
    JobRow,
    Notice,
    ShownRows,
    WorkspaceHistory,
    ended_in,
    health_after,
    row_of,
    timed_rows,
    touched_by,
    unseen,
)
from jobwatch.tui.support import SupportFacts

#: The longest a tick's history write waits for its rows to be shown (e.g. while another screen
#: is on top, nothing is painted). Writing a tick of 1000 changed jobs among 100k takes 20-50 ms
#: in its thread (~130 ms with a WAL checkpoint); started before the repaint, its Python part
#: competed with the repaint for the GIL.
SHOWN_TIMEOUT = 1.0
#: How long an answer waits for the screen to have read the history (`Session.history_read`)
#: before it is handled without it. A restart's rest of the history, gathered in slices between
#: frames (jobwatch.tui.history_load), was not done after 1 s at 100k jobs with keys pressed;
#: handled without it, every job of the first answer was news (`_without_repeats` 0.70 s, the
#: rows 1.29 s, the next tick 2-4 s later: a running job's change shown 6.7-8.4 s after it).
HISTORY_TIMEOUT = 10.0
#: events `_without_repeats` looks at between two yields to the event loop (~2 ms)
REPEATS_SLICE = 5000
#: The poll worker's description. Without one, Textual describes a worker by `repr(work)`: the
#: partial's repr holds the Session's, which holds the repr of every record the history knew at
#: the start (`Session.initial`). A start with 100k jobs in the history spent 0.4-1.2 s in that
#: repr, on the event loop, before its first frame (traced on the 120x40 pty).
WORKER_DESCRIPTION = "the workspace's poll worker"
#: After the first rows and after a tick this large, the cycle collector stops re-scanning what is
#: in memory (gc.freeze): its full collections paused keys and polls by 30-100 ms at 100k jobs.
FREEZE_AFTER = 10_000

#: the events about one job, which `Session.absorb` passes over at once (a subclass of one would
#: only take the slower way through its checks, which none of them matches)
_ABOUT_A_JOB = frozenset({JobAppeared, StatusChanged, RunIdChanged, JobMissing, JobNotFound})


class WorkspaceClient(JobSource, Protocol):
    """What the worker needs of a client (jobwatch.api.client.SharelyClient is one)."""

    async def get_workspace(self) -> dict: ...
    async def aclose(self) -> None: ...


#: makes the client of a workspace (the session's SharelyClient, or a test's stand-in)
ClientFactory = Callable[[WorkspaceConfig], WorkspaceClient]


@dataclass(frozen=True)
class TickNews:
    """What the user hears of a tick (`Session.absorb`)."""

    notices: list[Notice]
    #: a job failed: ring the bell
    failed: bool
    #: the tick ended with a successful poll (its changes are stored)
    completed: bool
    #: the jobs that ended in it, with when (`ended_in`: the alerts take them from here)
    ended: list[tuple[Job, float]] = field(default_factory=list)


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass
class Session:
    """One workspace being watched: its worker, poller and what the screen knows about it."""

    generation: int
    workspace: WorkspaceConfig
    tracked: list[str] | None
    interval: float
    name: str
    history: WorkspaceHistory
    #: all-jobs mode: seconds between reads of the whole list (jobwatch.schedule)
    discovery_interval: float = DEFAULT_DISCOVERY_INTERVAL
    poller: Poller | None = None
    worker: Worker | None = None
    health: Health = field(default_factory=lambda: Health("connecting"))
    #: what the history knew when the session opened (times jobs the screen has not shown yet)
    initial: dict[str, JobRecord] = field(default_factory=dict)
    last_error_id: str | None = None
    history_warned: bool = False
    #: the toasts of jobs that ended, at most a batch every few seconds
    endings: EndingNotices = field(default_factory=EndingNotices)
    #: set once the screen has shown the rows of the latest tick (the worker then lets it be stored)
    shown: asyncio.Event | None = None
    #: set while `initial` holds what the history knew (the worker times its rows by it): cleared
    #: while a restart's first screen is shown and the rest not read yet (`history_first_screen`)
    history_read: asyncio.Event = field(default_factory=_set_event)
    #: set while an answer waits for `history_read`: what reads the history then stops giving
    #: way to keys (jobwatch.tui.history_load), since the answer holds the screen's news back
    history_wanted: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def open(
        cls,
        generation: int,
        workspace: WorkspaceConfig,
        job_ids: Sequence[str] | None,
        *,
        store: HistoryStore | None,
        interval: float | None = None,
        discovery_interval: float | None = None,
    ) -> Session:
        """A session watching `job_ids` (from the command line), else the IDs stored as tracked
        for the workspace, else every job of the workspace. `interval`, `discovery_interval`:
        the command line's, if given (jobwatch.session resolves them with the workspace's)."""
        history = WorkspaceHistory(store, workspace.workspace_id)
        tracked = watched_ids(job_ids, store, workspace.workspace_id)
        every = resolve_interval(interval, workspace)
        discover = resolve_discovery_interval(discovery_interval, workspace)
        return cls(generation, workspace, tracked, every, workspace.name, history, discover)

    def remember(self, records: Sequence[JobRecord]) -> list[JobRow]:
        """Keep the stored records of the watched jobs as `initial`; their rows, to show at once."""
        self.initial = {}
        rows = self.remember_more(records)
        self.remembered()
        return rows

    def remember_more(self, records: Sequence[JobRecord]) -> list[JobRow]:
        """`remember` for a slice of the stored records; `remembered` after the last."""
        if self.tracked is not None:
            wanted = set(self.tracked)
            records = [r for r in records if r.workflow_id in wanted]
        self.initial.update({r.workflow_id: r for r in records})
        return [row_of(r) for r in records]

    def remembered(self) -> None:
        """`initial` holds every stored record of the watched jobs (the worker waits for it)."""
        self.history_read.set()

    def history_first_screen(self, shown: ShownRows) -> list[JobRow]:
        """A large history's first screenful, read without reading every job (`first_screen_of`'s
        rule; the sort's leading column, job_index.LEADING_COLUMN): none for a small history, a
        sort no column leads, or tracked IDs (raises JobwatchError)."""
        column = LEADING_COLUMN.get(shown.sort_mode)
        if column is None or self.tracked is not None or not _first_screen_wanted(shown):
            return []
        history = self.history
        if history.count() < FIRST_SCREEN_AFTER:
            return []
        rows = [row_of(r) for r in history.leading(column, FIRST_SCREEN_ROWS)]
        self.history_read.clear()  # until `remember` has every stored job
        return first_screen(rows, shown.sort_mode)

    @property
    def plan(self) -> Plan:
        """What this session's poller polls, and how."""
        return Plan(self.workspace, self.tracked, self.interval, self.discovery_interval)

    @property
    def polling(self) -> bool:
        """The worker runs and its poller has not given up."""
        alive = self.worker is not None and self.worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        )
        return alive and self.poller is not None and not self.poller.stopped

    def set_health(self, health: Health) -> bool:
        """Take the health a PollStatus brought; True if polling stopped just now."""
        was_stopped = self.health.state == "stopped"
        self.health = health
        error = health.error
        if health.state in ("retrying", "stopped") and isinstance(error, ApiError):
            self.last_error_id = error.error_id or self.last_error_id
        return health.state == "stopped" and not was_stopped

    def worker_failed(self, error: BaseException | None) -> Health:
        """The worker died of an unexpected error: polling stopped, and the health says why."""
        described = JobwatchError(
            f"internal error in the poll worker: {type(error).__name__}: {error}"
        )
        self.health = Health("stopped", last_success=self.health.last_success, error=described)
        return self.health

    def overdue(self, now: float) -> bool | None:
        """Whether no answer came for three intervals (and polling is not paused); None unless
        the connection is fine (then its health says whether the rows are stale)."""
        health = self.health
        if health.state != "ok" or health.last_success is None:
            return None
        paused = self.poller is not None and self.poller.paused
        return now - health.last_success > 3 * self.interval and not paused

    def absorb(self, events: Sequence[Event], now: float) -> TickNews:
        """What a tick's events tell the user; remembers the last errorId and a history failure."""
        ended = ended_in(events, self.initial)
        jobs = [job for job, _ in ended]
        failed = any(job.status.is_failure for job in jobs)
        notices = self.endings.add(jobs, now)
        completed = False
        for event in events:
            if type(event) in _ABOUT_A_JOB:
                # the first answer's 100k JobAppeared took 30-38 ms through the checks below
                continue
            if isinstance(event, PollCompleted):
                completed = True
                # Every job the history knew has been answered for (or is gone): what it knew
                # times nothing from now on, and 100k records are some 20 MB.
                self.initial = {}
            elif isinstance(event, HistoryFailed) and not self.history_warned:
                self.history_warned = True
                notices.append(
                    Notice(event.error.describe(), "History not saved", "warning", markup=False)
                )
            elif isinstance(event, PollFailed | PollerStopped) and isinstance(
                event.error, ApiError
            ):
                self.last_error_id = event.error.error_id or self.last_error_id
            elif isinstance(event, Recovered):
                notices.append(Notice(f"Connection recovered after {event.failures} failed polls."))
        return TickNews(notices, failed, completed, ended)

    def support_facts(self, row: JobRow) -> SupportFacts:
        """What a support ticket about `row` needs."""
        return SupportFacts(
            organization_id=self.workspace.organization_id,
            workspace_id=self.workspace.workspace_id,
            workspace_name=self.name,
            workflow_id=row.workflow_id,
            run_id=row.run_id,
            status=row.status,
            run_chain=self.history.run_chain(row.workflow_id),
            first_seen=row.first_seen,
            last_change=row.last_change,
            last_error_id=self.last_error_id,
        )

    def track(self, ids: Sequence[str]) -> bool:
        """Watch these IDs too; True if every job of the workspace was watched until now."""
        was_all = self.tracked is None
        self.tracked = list(dict.fromkeys([*(self.tracked or []), *ids]))
        if self.poller is not None:
            self.poller.track(ids)
        return was_all

    def untrack(self, ids: Sequence[str]) -> None:
        """Stop watching these IDs; with none left, every job of the workspace is watched."""
        drop = set(ids)
        self.tracked = [i for i in self.tracked or [] if i not in drop] or None
        if self.poller is not None:
            self.poller.untrack(ids)


class Sessions:
    """The screen's workspace sessions, one at a time, each with its poll worker.

    Each session gets the next generation, and every message its worker posts carries it: a
    message of an older session's worker is recognised (`current`) and dropped. Opening a
    session first cancels the previous worker and waits for it to end.
    """

    def __init__(
        self,
        node: DOMNode,
        *,
        store: HistoryStore | None,
        client_factory: ClientFactory,
        clock: Callable[[], float],
        interval: float | None,
        discovery_interval: float | None = None,
        head_start: HeadStart | None = None,
    ) -> None:
        """`head_start`: the poller `jobwatch watch` started for the workspace it opens on
        (jobwatch.head_start), for the first worker to take if it polls just that."""
        self._node = node
        self._head_start = head_start
        self._store = store
        self._client_factory = client_factory
        self._clock = clock
        self._interval = interval
        self._discovery_interval = discovery_interval
        self._generation = 0
        self.session: Session | None = None

    async def open(self, workspace: WorkspaceConfig, job_ids: Sequence[str] | None) -> Session:
        """Stop the current session's worker (waiting for it), then open a session on `workspace`."""
        await self.stop()
        self._generation += 1
        self.session = Session.open(
            self._generation,
            workspace,
            job_ids,
            store=self._store,
            interval=self._interval,
            discovery_interval=self._discovery_interval,
        )
        return self.session

    async def stop(self) -> None:
        """Cancel the current session's worker and wait until it ended (its client closed)."""
        session = self.session
        if session is None or session.worker is None:
            return
        worker = session.worker
        session.worker = None
        worker.cancel()
        with contextlib.suppress(Exception):
            await worker.wait()

    def start(self, session: Session, shown: ShownRows) -> None:
        """Start (or start again) the poll worker of `session`, posting to the screen."""
        session.health = Health("connecting", last_success=session.health.last_success)
        head_start, self._head_start = self._head_start, None
        loop = partial(
            poll_workspace,
            session,
            client_factory=self._client_factory,
            store=self._store,
            clock=self._clock,
            post=self._node.post_message,
            shown=shown,
            head_start=head_start,
        )
        session.worker = self._node.run_worker(
            loop,
            name="poll",
            group="poll",
            description=WORKER_DESCRIPTION,
            exclusive=True,
            exit_on_error=False,
        )

    def current(self, message: SessionMessage) -> Session | None:
        """The session, if `message` came from its worker."""
        session = self.session
        if session is None or message.generation != session.generation:
            return None
        return session


class FreezePolicy:
    """When to freeze the cycle collector's view of memory (see FREEZE_AFTER)."""

    def __init__(self) -> None:
        self._frozen = False

    def rows_shown(self, count: int) -> None:
        """`count` rows were just put in the table."""
        if not self._frozen or count >= FREEZE_AFTER:
            self._frozen = True
            gc.freeze()


async def poll_workspace(
    session: Session,
    *,
    client_factory: ClientFactory,
    store: HistoryStore | None,
    clock: Callable[[], float],
    post: Callable[[Message], object],
    shown: ShownRows,
    head_start: HeadStart | None = None,
) -> None:
    """The poll worker of `session`: poll until cancelled or stopped, posting every tick.

    `shown`: the rows on screen, which time the rows of each tick (jobwatch.tui.model.rows_for).
    `head_start`: a poller already started (jobwatch.head_start); its loop is this worker's if it
    polls what `session` polls, else it is closed and the worker makes its own.
    """
    gen = session.generation
    started = None
    if head_start is not None:
        started = head_start.take(session.plan, history=store, clock=clock)
        if started is None:
            await head_start.aclose()
    client: WorkspaceClient
    if started is not None:
        client, run = started
        poller = run.poller
    else:
        try:
            client = client_factory(session.workspace)
        except JobwatchError as error:
            post(PollStatus(gen, Health("stopped", error=error)))
            return
        poller = dashboard_poller(client, session.plan, history=store, clock=clock)
    name_task: asyncio.Task | None = None
    ticks: AsyncGenerator[list[Event], None] | StartedRun | None = None
    try:
        session.poller = poller
        name_task = asyncio.create_task(_fetch_name(client, gen, post))
        ticks = run if started is not None else poller.run()
        async for events in ticks:
            if not session.history_read.is_set():
                # a restart's first screen is painted before the rest of the history is read
                session.history_wanted.set()
                await wait_set(session.history_read, HISTORY_TIMEOUT)
            events = await _without_repeats(events, session.initial)
            rows = await _rows_of(events, poller, session, shown)
            early = first_screen_of(rows, shown)
            if early:
                # the first screenful first, on screen before the rest is merged in
                early_shown = session.shown = asyncio.Event()
                post(JobsChanged(gen, [], early, partial=True))
                await wait_set(early_shown, SHOWN_TIMEOUT)
            rows_shown = session.shown = asyncio.Event() if rows else None
            if rows:
                # a key being handled is painted first: the merge and the repaint of a tick's
                # rows take 5-60 ms at 100k jobs (jobwatch.give_way)
                await give_way()
            post(JobsChanged(gen, events, rows))
            # the events about one job never change the health: the first answer's 100k took
            # health_after's three isinstance checks each (~15 ms), one type test ~9 ms
            polls = [event for event in events if type(event) not in _ABOUT_A_JOB]
            health = health_after(
                session.health, polls, poller.last_success, last_full=poller.last_full_read
            )
            post(PollStatus(gen, health))
            if rows_shown is not None:
                # The poller writes the history once asked for more: after the rows are on
                # screen, so that the write does not hold the GIL during the repaint.
                await wait_set(rows_shown, SHOWN_TIMEOUT)
                await give_way()  # nor while a key that came meanwhile is painted
    except JobwatchError as error:
        post(PollStatus(gen, Health("stopped", error=error)))
    finally:
        if ticks is not None:
            # Closing the poller's loop stores the tick whose rows are on screen before the
            # worker ends (quit, SIGTERM, a workspace switch): cancelled, it would wait for the
            # garbage collector, and the process may exit first.
            await ticks.aclose()
        if name_task is not None:
            name_task.cancel()
            with contextlib.suppress(BaseException):
                await name_task
        await client.aclose()


async def _rows_of(
    events: Sequence[Event], poller: Poller, session: Session, shown: ShownRows
) -> list[JobRow]:
    """The table rows of a tick (jobwatch.tui.model.rows_for), the history's lookups of jobs the
    screen never saw in a thread when there are many (a growing workspace brings hundreds at a
    discovery: ~0.02 ms each, on the event loop they would hold up keys)."""
    if not (session.initial or len(shown)):
        rows = _appeared_rows(events)
        if rows is not None:
            return rows
    touched = touched_by(events, poller.jobs)
    if not touched:
        return []
    missing = unseen(touched, shown, session.initial)
    found: dict[str, JobRecord] = {}
    if len(missing) > LOOKUP_IN_THREAD:
        found = await asyncio.to_thread(session.history.lookup, missing)
    elif missing:
        found = session.history.lookup(missing)
    return timed_rows(touched, shown=shown, initial=session.initial, found=found)


async def _without_repeats(events: list[Event], initial: Mapping[str, JobRecord]) -> list[Event]:
    """The tick's events but each JobAppeared of a job just as the history left it (status and
    runId), which tells the screen nothing: a restart's first answer lists every stored job
    again. In slices of REPEATS_SLICE, giving way between (100k: ~40 ms in all; the rows, the
    merge and the notices of those 100k jobs took ~0.5 s of the event loop, or in a thread held
    the GIL against the first keys pressed: one waited 334 ms)."""
    if not initial:
        return events
    kept: list[Event] = []
    for start in range(0, len(events), REPEATS_SLICE):
        if start:
            await give_way()
        for event in events[start : start + REPEATS_SLICE]:
            if type(event) is JobAppeared:
                job = event.job
                before = initial.get(job.workflow_id)
                if (
                    before is not None
                    and before.status == job.status
                    and before.run_id == job.run_id
                ):
                    continue
            kept.append(event)
    return kept


def first_screen_of(rows: list[JobRow], shown: ShownRows) -> list[JobRow]:
    """The rows to show before the rest (jobwatch.tui.job_index.first_screen): the first
    screenful of a large first answer or history, while the table holds nothing and filters
    nothing; none otherwise."""
    if len(rows) < FIRST_SCREEN_AFTER or not _first_screen_wanted(shown):
        return []
    return first_screen(rows, shown.sort_mode)


def _first_screen_wanted(shown: ShownRows) -> bool:
    """Whether a first screenful may go before the rest: the table holds and filters nothing."""
    return not (len(shown) or shown.text_filter or shown.status_filter is not None)


def _appeared_rows(events: Sequence[Event]) -> list[JobRow] | None:
    """The rows of a tick in which jobs only appeared, while the screen knows no job (the first
    answer): each timed by its own event, as `timed_rows` times them then, in one pass instead of
    touched_by's and timed_rows' two (100k rows: 85-90 -> ~40 ms). None if the tick changed a
    job otherwise: those take the general way."""
    rows: dict[str, JobRow] = {}
    for event in events:
        if type(event) is JobAppeared:
            job = event.job
            wid = job.workflow_id
            rows[wid] = JobRow(wid, job.status, job.run_id, event.at, event.at)
        elif isinstance(event, JobAppeared | StatusChanged | RunIdChanged | JobNotFound):
            return None
    return list(rows.values())


async def _fetch_name(client: WorkspaceClient, gen: int, post: Callable[[Message], object]) -> None:
    """Ask for the workspace's real name once; nothing if the API does not say."""
    try:
        info = await client.get_workspace()
    except JobwatchError:
        return
    name = info.get("name") if isinstance(info, dict) else None
    if isinstance(name, str) and name:
        post(WorkspaceNamed(gen, name))
