"""What the dashboard knows about a workspace's jobs, apart from any widget (no Textual here).

- `JobRow`: one job as the table shows it, timed from what was seen of it (`rows_for`).
- `Health`: the connection's health as the header shows it, and how a tick's events change it.
- `StatusCounts`: how many rows have each status, kept up to date row by row; the title from it.
- `WorkspaceHistory`: one workspace's part of the history store, read the way the screen needs it.
- `ended_in`: which transitions of a tick count as a job ending (the one rule: the toasts, the
  bell, desktop notifications and `on_job_end` all use it); `EndingNotices` words them as toasts,
  one at most every NOTICE_GAP seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from jobwatch.errors import JobwatchError
from jobwatch.events import (
    Event,
    JobAppeared,
    JobNotFound,
    PollCompleted,
    PollerStopped,
    PollFailed,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.formatting import status_symbol
from jobwatch.models import NOT_FOUND, Job, Status
from jobwatch.statuses import ACTIVE_CODES, FAILURE_CODES
from jobwatch.store.history import NO_HISTORY, HistoryStore, JobHistory, JobRecord, Transition
from jobwatch.tui.detail_history import RecentHistories
from jobwatch.windows import Window


@dataclass(slots=True)
class JobRow:
    """One line of the table. Treat as immutable once given to the table: upsert a new one to change it."""

    workflow_id: str
    status: Status
    run_id: str
    first_seen: float
    last_change: float
    #: a person's name for the job (stored as given; escape it before showing it)
    label: str | None = None
    #: pinned rows stay at the top of the table (jobwatch.tui.job_index)
    pinned: bool = False
    #: the window in which the current (or last) run started; None: not known on this row
    started: Window | None = None


# ---------------------------------------------------------------- health


@dataclass(frozen=True)
class Health:
    """The connection's health as the header shows it."""

    state: str  # "connecting" | "ok" | "retrying" | "paused" | "stopped"
    last_success: float | None = None
    error: JobwatchError | None = None
    retry_at: float | None = None
    attempt: int = 0
    #: when the whole list was last read, while the polls in between ask only for the jobs that
    #: can change (all-jobs mode, a large workspace: jobwatch.schedule); None otherwise
    last_full: float | None = None


def health_after(
    health: Health,
    events: Iterable[Event],
    last_success: float | None,
    *,
    last_full: float | None = None,
) -> Health:
    """The health once a tick's events happened (`last_success`: the poller's last good poll;
    `last_full`: its last read of the whole list, when it reads the list only now and then)."""
    for event in events:
        if isinstance(event, PollCompleted):
            health = Health("ok", last_success=event.at, last_full=last_full)
        elif isinstance(event, PollFailed):
            health = Health(
                "retrying",
                last_success=last_success,
                error=event.error,
                retry_at=event.retry_at,
                attempt=event.attempt,
            )
        elif isinstance(event, PollerStopped):
            health = Health("stopped", last_success=last_success, error=event.error)
    return health


# ---------------------------------------------------------------- counts


class StatusCounts:
    """How many rows have each status code, kept in step with every change of a row.

    Each poll changes a few rows of many: counting them again cost a pass over every row.
    """

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self.counts: Counter[int] = Counter()

    def __len__(self) -> int:
        return len(self._codes)

    def ids(self) -> list[str]:
        """The workflowIds counted, in the order they were first counted."""
        return list(self._codes)

    def reset(self, rows: Iterable[JobRow]) -> None:
        """Count exactly these rows."""
        self._codes = {row.workflow_id: row.status.code for row in rows}
        self.counts = Counter(self._codes.values())

    def update(self, rows: Iterable[JobRow]) -> None:
        """Count these rows with their (new) status, each once."""
        if not self._codes:
            # nothing counted yet (the first answer): one pass, 100k rows 27-31 -> 12-22 ms
            self.reset(rows)
            return
        codes, counts = self._codes, self.counts
        for row in rows:
            wid, code = row.workflow_id, row.status.code
            old = codes.get(wid)
            if old == code:
                continue
            codes[wid] = code
            counts[code] += 1
            if old is not None:
                self._uncount(old)

    def discard(self, ids: Iterable[str]) -> None:
        """Stop counting these workflowIds (unknown ones are ignored)."""
        for wid in ids:
            code = self._codes.pop(wid, None)
            if code is not None:
                self._uncount(code)

    def _uncount(self, code: int) -> None:
        counts = self.counts
        counts[code] -= 1
        if counts[code] <= 0:
            del counts[code]

    @property
    def running(self) -> int:
        return sum(self.counts[code] for code in ACTIVE_CODES)

    @property
    def failed(self) -> int:
        return sum(self.counts[code] for code in FAILURE_CODES)

    def title(self) -> str:
        """The window title: "jobwatch — N running, M failed"."""
        return f"jobwatch — {self.running} running, {self.failed} failed"


# ---------------------------------------------------------------- history


#: Jobs the screen has not seen are looked up one by one (0.02 ms a lookup at 100k stored jobs,
#: 0.008 ms in an empty history), not by reading the whole workspace (2.7 us a stored job: 270 ms
#: at 100k, which a growing workspace paid every tick that brought more than 32 new jobs); past
#: this many, the worker does the lookups in a thread.
LOOKUP_IN_THREAD = 32
#: ...unless they are more than this share of the stored jobs: then one read of the workspace is
#: cheaper. At the first start, 100k unseen jobs in an empty history took 0.8 s one by one, which
#: delayed the first rows by as much; read whole, the empty history takes 0.2 ms.
READ_WHOLE_OVER_SHARE = 0.15


class WorkspaceHistory:
    """One workspace's part of the history store as the dashboard reads it.

    Without a store (history disabled) every read is empty. A store error on a read that only
    adds detail (lookups, tracked IDs, a job's transitions) reads as empty too; `records` and
    `save_tracked` raise it, because the screen tells the user about those.
    """

    def __init__(self, store: HistoryStore | None, workspace_id: str) -> None:
        self.store = store
        self.workspace_id = workspace_id
        #: the histories read for the detail pane (jobwatch.tui.screens.job_detail)
        self.recent = RecentHistories()

    def records(self) -> list[JobRecord]:
        """Every job stored for the workspace, in the order first seen (raises JobwatchError)."""
        if self.store is None:
            return []
        return self.store.jobs(self.workspace_id)

    def record_slices(self, size: int) -> Iterator[list[JobRecord]]:
        """`records` in no set order, at most `size` at a time (HistoryStore.job_slices); raises
        JobwatchError as it is read."""
        if self.store is None:
            return iter(())
        return self.store.job_slices(self.workspace_id, size)

    def count(self) -> int:
        """How many jobs the workspace has stored (raises JobwatchError)."""
        return 0 if self.store is None else self.store.job_count(self.workspace_id)

    def leading(self, column: str, limit: int) -> list[JobRecord]:
        """The pinned jobs and the `limit` latest in `column` (raises JobwatchError)."""
        if self.store is None:
            return []
        return self.store.leading_jobs(self.workspace_id, column, limit)

    def lookup(self, wanted: Sequence[str]) -> dict[str, JobRecord]:
        """The stored records of these jobs, by workflowId (the unknown ones left out)."""
        store = self.store
        if store is None:
            return {}
        ws = self.workspace_id
        try:
            if len(wanted) > LOOKUP_IN_THREAD and len(wanted) > READ_WHOLE_OVER_SHARE * (
                store.job_count(ws)
            ):
                wanted_set = set(wanted)
                return {r.workflow_id: r for r in store.jobs(ws) if r.workflow_id in wanted_set}
            found = {}
            for wid in wanted:
                record = store.job(ws, wid)
                if record is not None:
                    found[wid] = record
            return found
        except JobwatchError:
            return {}

    def tracked(self) -> list[str]:
        if self.store is None:
            return []
        try:
            return list(self.store.tracked(self.workspace_id))
        except JobwatchError:
            return []

    def save_tracked(self, ids: Sequence[str]) -> None:
        """Store the tracked IDs (raises JobwatchError)."""
        if self.store is not None:
            self.store.set_tracked(self.workspace_id, ids)

    def detail(self, workflow_id: str) -> tuple[list[Transition], list[str]]:
        """The job's transitions and its chain of runIds, for the detail pane."""
        if self.store is None:
            return [], []
        try:
            transitions = self.store.transitions(self.workspace_id, workflow_id)
            return transitions, self.store.run_chain(self.workspace_id, workflow_id)
        except JobwatchError:
            return [], []

    def histories(self, workflow_ids: Sequence[str]) -> dict[str, JobHistory]:
        """What the detail pane shows of these jobs (transitions, runIds, gaps), in one read;
        blocking, so the dashboard calls it in a thread. Empty on a store error (the next read
        tries again); without a store, every job has NO_HISTORY."""
        if self.store is None:
            return dict.fromkeys(workflow_ids, NO_HISTORY)
        try:
            return self.store.job_histories(self.workspace_id, workflow_ids)
        except JobwatchError:
            return {}

    @property
    def writing(self) -> bool:
        """A history write is under way: a read on the event loop now could wait behind it."""
        return self.store is not None and self.store.writing

    def run_chain(self, workflow_id: str) -> list[str]:
        if self.store is None:
            return []
        try:
            return self.store.run_chain(self.workspace_id, workflow_id)
        except JobwatchError:
            return []


# ---------------------------------------------------------------- timing


def row_of(record: JobRecord) -> JobRow:
    return JobRow(
        record.workflow_id,
        record.status,
        record.run_id,
        record.first_seen,
        record.last_change,
        record.label,
        record.pinned,
        record.started,
    )


class Timed(Protocol):
    """What times a job: a JobRow on screen or a JobRecord from the history."""

    @property
    def status(self) -> Status: ...
    @property
    def run_id(self) -> str: ...
    @property
    def first_seen(self) -> float: ...
    @property
    def last_change(self) -> float: ...


class ShownRows(Protocol):
    """The rows on screen (the job table)."""

    def row(self, workflow_id: str) -> JobRow | None: ...
    def __len__(self) -> int: ...
    @property
    def sort_mode(self) -> str: ...
    @property
    def text_filter(self) -> str: ...
    @property
    def status_filter(self) -> frozenset[int] | None: ...


#: the jobs a tick's events touched: workflowId -> (its new state, when)
Touched = dict[str, tuple[Job, float]]


def touched_by(events: Sequence[Event], jobs: Mapping[str, Job]) -> Touched:
    """The jobs these events touched (`jobs`: the poller's; a job not found keeps its status)."""
    touched: Touched = {}
    for event in events:
        if isinstance(event, JobAppeared | StatusChanged | RunIdChanged):
            touched[event.job.workflow_id] = (event.job, event.at)
        elif isinstance(event, JobNotFound):
            job = jobs.get(event.workflow_id) or Job(event.workflow_id, NOT_FOUND, "")
            touched[event.workflow_id] = (job, event.at)
    return touched


def unseen(touched: Touched, shown: ShownRows, initial: Mapping[str, JobRecord]) -> list[str]:
    """The touched jobs to look up in the history: the ones the screen never saw (no row, no
    initial record); none while it knows nothing (the first answer times itself)."""
    if not (initial or len(shown)):
        return []
    known_row = shown.row
    return [wid for wid in touched if known_row(wid) is None and wid not in initial]


def timed_rows(
    touched: Touched,
    *,
    shown: ShownRows,
    initial: Mapping[str, JobRecord],
    found: Mapping[str, JobRecord],
) -> list[JobRow]:
    """Table rows for the touched jobs, timed from their row, else their initial record, else
    what `found` (the history's records of the unseen ones) says."""
    if not (initial or found or len(shown)):
        # Nothing known of any job (the first answer): each is timed by its own event. 100k
        # rows: 93-97 ms through the lookups below, 55-65 ms this way (2 cores, 3 runs).
        return [JobRow(wid, job.status, job.run_id, at, at) for wid, (job, at) in touched.items()]
    known_row = shown.row
    rows = []
    for wid, (job, at) in touched.items():
        record: Timed | None = known_row(wid) or initial.get(wid) or found.get(wid)
        first, last = at, at
        if record is not None:
            first = min(first, record.first_seen)
            same = record.status.code == job.status.code and record.run_id == job.run_id
            last = record.last_change if same else at
        rows.append(JobRow(wid, job.status, job.run_id, first, last))
    return rows


def rows_for(
    events: Sequence[Event],
    *,
    jobs: Mapping[str, Job],
    shown: ShownRows,
    initial: Mapping[str, JobRecord],
    history: WorkspaceHistory,
) -> list[JobRow]:
    """Table rows for the jobs these events touched, timed from what was seen of them before.

    `jobs`: the poller's jobs (a job not found keeps its last status); `initial`: the records the
    session opened with. What the screen already knows (its row, else the initial record) times
    a job: no history query per tick, which at 100k jobs cost ~0.4 s. Only jobs it has never
    seen are looked up (one by one), and not at all while it knows nothing (the first answer).
    The poll worker does the same in three steps, with many lookups in a thread.
    """
    touched = touched_by(events, jobs)
    if not touched:
        return []
    missing = unseen(touched, shown, initial)
    found = history.lookup(missing) if missing else {}
    return timed_rows(touched, shown=shown, initial=initial, found=found)


# ---------------------------------------------------------------- notifications


Severity = Literal["information", "warning", "error"]

#: more endings than this told together become one summary notification
MAX_NOTIFICATIONS = 3
#: seconds between two ending notifications at least (EndingNotices)
NOTICE_GAP = 10.0


@dataclass(frozen=True)
class Notice:
    """A notification to show (the arguments of Textual's `notify`)."""

    message: str
    title: str = ""
    severity: Severity = "information"
    timeout: float | None = None
    markup: bool = True


def _one_line(text: str) -> str:
    """`text` with its line breaks written out, so that an ID cannot add a line to a notice.

    Everything else is escaped where notices are shown (JobwatchApp.notify, jobwatch.sanitize:
    not imported here, as it may import rich).
    """
    return text.replace("\r", "\\r").replace("\n", "\\n")


def ended_in(events: Sequence[Event], initial: Mapping[str, JobRecord]) -> list[tuple[Job, float]]:
    """The jobs that reached a terminal state in a tick while watching, with when it was seen.

    A job first seen already finished is no news, unless the history knew it still running.
    """
    reached: list[tuple[Job, float]] = []
    for event in events:
        # JobAppeared first, and no more about it without `initial`: the first answer's 100k of
        # them took 14-17 ms a pass (twice a tick: the notices and the alerts), now ~3 ms
        if isinstance(event, JobAppeared):
            if initial and event.job.status.is_terminal:
                before = initial.get(event.job.workflow_id)
                if before is not None and not before.status.is_terminal:
                    reached.append((event.job, event.at))
        elif isinstance(event, StatusChanged) and event.job.status.is_terminal:
            reached.append((event.job, event.at))
        elif isinstance(event, JobNotFound):
            reached.append((Job(event.workflow_id, NOT_FOUND, ""), event.at))
    return reached


def ending_notices(jobs: Sequence[Job], total: int, failed: int) -> list[Notice]:
    """The one notification for `total` endings told together, `failed` of them failures: the job
    (`jobs` holds them all) up to MAX_NOTIFICATIONS of them, else a summary."""
    if total > MAX_NOTIFICATIONS:
        outcome = f"{failed} of them did not complete" if failed else "none failed"
        summary = f"{total} jobs finished, {outcome}."
        return [Notice(summary, severity="error" if failed else "information")]
    if not jobs:
        return []
    severity: Severity = "error" if failed else "information"
    # Failures carry the runId a support ticket needs; other endings stay small and brief.
    timeout = 8 if failed else 3
    if len(jobs) == 1:
        job = jobs[0]
        title = f"{status_symbol(job.status)} {job.status.label}"
        return [Notice(_ending_line(job, named=False), title, severity, timeout, markup=False)]
    title = f"{total} jobs finished" + (f", {failed} failed" if failed else "")
    message = "\n".join(_ending_line(job, named=True) for job in jobs)
    return [Notice(message, title, severity, timeout, markup=False)]


def _ending_line(job: Job, *, named: bool) -> str:
    """A job's lines in an ending notice: its ID (after its status when `named`), a failure's
    runId below."""
    text = _one_line(job.workflow_id)
    if named:
        text = f"{status_symbol(job.status)} {job.status.label} {text}"
    if job.status.is_failure:
        text += f"\nrunId {_one_line(job.run_id) or 'unknown'}"
    return text


class EndingNotices:
    """The notification of jobs that ended (`ended_in`): one at most every `gap` seconds.

    Endings that come sooner wait and are told together in the next one, once `gap` has passed
    since the last (`due`, called every second). In a busy workspace jobs end in every poll, and
    each toast costs Textual a relayout of the whole screen twice (mount, dismiss): about 40 ms.
    Measured watching a growing workspace (no key pressed): at 1k jobs, a toast per ending (19 a
    minute) was 1.3 % of a core of the 2.8 % the dashboard used; at 100k, one per poll 2.3 % of
    7.1 % (py-spy). The bell and desktop notifications do not wait.
    """

    def __init__(self, gap: float = NOTICE_GAP) -> None:
        self.gap = gap
        #: the endings waiting, at most MAX_NOTIFICATIONS + 1 of them (beyond, a summary counts)
        self._held: list[Job] = []
        self._total = 0
        self._failed = 0
        self._last: float | None = None

    def add(self, ended: Sequence[Job], now: float) -> list[Notice]:
        """Hold a tick's endings; return the batch to show now, if one is due."""
        for job in ended:
            self._total += 1
            self._failed += job.status.is_failure
            if len(self._held) <= MAX_NOTIFICATIONS:
                self._held.append(job)
        return self.due(now)

    def due(self, now: float) -> list[Notice]:
        """The batch waiting, if `gap` has passed since the last one was shown; else nothing."""
        if not self._total or (self._last is not None and now - self._last < self.gap):
            return []
        notices = ending_notices(self._held, self._total, self._failed)
        self._held, self._total, self._failed, self._last = [], 0, 0, now
        return notices
