"""The history of observed jobs: every status or runId change, in SQLite, with when it happened.

The API has no timestamps, so first-seen and last-change times exist only because jobwatch
records them here. Each transition carries its observation window: `observed_at` (the first poll
that saw the new state) and `not_before` (the last successful poll that still saw the earlier
state; NULL when none did). Periods without a successful poll are recorded as gaps, finished runs
with both windows known feed the typical durations, and a person's labels and pins are kept per
job. jobwatch.store.coverage works out what a poll means, history_writes and history_reads hold
the SQL, history_file the file itself (versions, read-only use, locks), schema the DDL.

One table holds the latest state of each job, another the transitions (append-only); both are
written in the same BEGIN IMMEDIATE transaction, which compares each job with the stored state
*inside* the write lock: two processes recording the same observations never duplicate a
transition. Every failure surfaces as HistoryError (never a sqlite3 exception) so the caller can
warn and keep watching.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

from jobwatch.durations import FinishedRun, Typical, typical_from_samples
from jobwatch.errors import UsageError
from jobwatch.models import Job
from jobwatch.store import history_reads as reads
from jobwatch.store import history_writes as writes
from jobwatch.store.coverage import Answer, Coverage, OldRow, applied, plan_tick, stored_job
from jobwatch.store.history_file import DEFAULT_BUSY_TIMEOUT, HistoryError, HistoryFile
from jobwatch.store.history_reads import NO_HISTORY, Annotation, JobHistory, JobRecord, Transition
from jobwatch.store.paths import HISTORY_FILE_NAME, data_dir
from jobwatch.store.schema import MIGRATIONS
from jobwatch.windows import Gap

if TYPE_CHECKING:
    from jobwatch.kinds import Kinds

__all__ = [
    "Annotation",
    "Answer",
    "HistoryError",
    "HistoryStore",
    "JobHistory",
    "JobRecord",
    "NO_HISTORY",
    "MIGRATIONS",
    "Transition",
]


#: the longest label a person can give a job
MAX_LABEL_CHARS = 200

#: seconds between writes of the "seen, unchanged" facts of polls of chosen IDs (see
#: HistoryStore._defer_seen): at 100k jobs, growing, the dashboard's poll of the ~2,000 running
#: jobs every 2 s wrote 2,000 rows' seen_at per tick, ~15 % of its busy samples (py-spy, 90 s)
SEEN_WRITE_EVERY = 60.0


class HistoryStore:
    """A history file opened for reading and recording; safe to share between threads."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        read_only: bool | None = None,
    ):
        """read_only None: read-only when the file exists and this process may not write it."""
        self._file = HistoryFile(path, busy_timeout=busy_timeout, read_only=read_only)
        self.path = self._file.path
        # Per workspace: the stored state of each job and who was in the last all-jobs answer.
        # It reflects every transition up to id _seen_id; when PRAGMA data_version says another
        # connection committed, the newer transitions are replayed into it inside the write
        # transaction (and the rest is read again).
        self._cache: dict[str, Coverage] = {}
        self._data_version: int | None = None
        self._seen_id = 0
        # Per workspace: jobs a poll of chosen IDs saw unchanged, and when, not yet written; and
        # when they were last written (see _defer_seen).
        self._seen_pending: dict[str, dict[str, float]] = {}
        self._seen_written: dict[str, float] = {}

    @classmethod
    def open_default(cls) -> HistoryStore:
        return cls(data_dir() / HISTORY_FILE_NAME)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        return bool(self._file.read_only)

    @property
    def _windows(self) -> bool:
        return self._file.windows

    # -- recording -----------------------------------------------------------------

    def record(
        self,
        workspace_id: str,
        jobs: Iterable[Job],
        observed_at: float,
        *,
        polled_at: float | None = None,
        answer: Answer | None = None,
        interval: float | None = None,
    ) -> int:
        """Store what changed since the stored state; returns the number of transitions written.

        `jobs` are the jobs to compare with the stored state (the poller passes only those that
        changed). `answer` is what the poll saw: every job of its answer and the IDs it asked for
        (None: all jobs; then `jobs` must be part of `answer.jobs`). Without it the poll is taken
        to have seen only the jobs that changed (windows stay valid, but wider). Sets the workspace's last successful poll time (polled_at, else
        observed_at) and records a gap before it when the previous one is more than
        jobwatch.windows.gap_threshold(interval) earlier.
        Raises HistoryError; on error nothing of this call is stored.
        """
        jobs = jobs if isinstance(jobs, list | tuple) else list(jobs)
        last_poll = observed_at if polled_at is None else polled_at
        try:
            return self._file.write(
                lambda conn: self._record(
                    conn, workspace_id, jobs, observed_at, last_poll, answer, interval
                )
            )
        except BaseException:
            # The cached state was updated ahead of the commit that did not happen.
            self._cache.clear()
            self._data_version = None
            raise

    def _record(
        self,
        conn: sqlite3.Connection,
        workspace_id: str,
        jobs: Sequence[Job],
        observed_at: float,
        last_poll: float,
        answer: Answer | None,
        interval: float | None,
    ) -> int:
        coverage = self._coverage(conn, workspace_id)
        last_success, last_full = writes.poll_times(conn, workspace_id)
        # An all-jobs poll older than the latest one (another process wrote it) says nothing new
        # about who is in the answer.
        full = (
            answer is not None
            and answer.requested is None
            and (last_full is None or last_poll >= last_full)
        )
        tick = plan_tick(
            coverage,
            workspace_id,
            jobs,
            observed_at,
            answer=answer,
            full=full,
            last_full=last_full,
            old_rows=lambda wids: self._old_rows(conn, workspace_id, last_full, wids),
        )
        writes.write_tick(conn, workspace_id, tick, last_full)
        self._defer_seen(conn, workspace_id, tick.seen, last_poll)
        if tick.transitions:
            self._seen_id = _max_transition_id(conn)
        writes.write_poll(
            conn,
            workspace_id,
            last_poll,
            full=full,
            last_success=last_success,
            interval=interval,
        )
        applied(coverage, tick, answer, last_poll)
        return len(tick.transitions)

    def _old_rows(
        self, conn: sqlite3.Connection, workspace_id: str, last_full: float | None, wids: list[str]
    ) -> dict[str, OldRow]:
        """The stored facts of known jobs that changed, with a later "seen" not yet written (the
        changed row gets a newer seen_at: the pending one is dropped)."""
        found = writes.old_rows(conn, workspace_id, last_full, wids)
        pending = self._seen_pending.get(workspace_id)
        if pending:
            for wid in wids:
                seen = pending.pop(wid, None)
                old = found.get(wid)
                if seen is not None and old is not None and seen > old.last_seen:
                    found[wid] = old._replace(last_seen=seen)
        return found

    def _defer_seen(
        self, conn: sqlite3.Connection, workspace_id: str, seen: Sequence[str], polled_at: float
    ) -> None:
        """Write the jobs a poll of chosen IDs saw unchanged at most every SEEN_WRITE_EVERY
        seconds (the first poll's at once, and the rest on close): in between they are kept here
        and used as the job's "last seen" if it changes. A crash loses at most that much of
        them, which only widens the windows of the next changes (never makes one wrong)."""
        pending = self._seen_pending.setdefault(workspace_id, {})
        pending.update(dict.fromkeys(seen, polled_at))
        written = self._seen_written.get(workspace_id)
        if pending and (written is None or polled_at - written >= SEEN_WRITE_EVERY):
            writes.write_seen(conn, workspace_id, pending.items())
            pending.clear()
            self._seen_written[workspace_id] = polled_at

    def _write_pending_seen(self) -> None:
        """Write every pending "seen" fact now (on close); a failure only widens windows."""
        if self.read_only or not any(self._seen_pending.values()):
            return

        def write(conn: sqlite3.Connection) -> None:
            # under the write lock: a poller thread still recording cannot change them meanwhile
            for workspace_id, seen in self._seen_pending.items():
                writes.write_seen(conn, workspace_id, seen.items())
            self._seen_pending.clear()

        with contextlib.suppress(HistoryError):
            self._file.write(write)

    def _coverage(self, conn: sqlite3.Connection, workspace_id: str) -> Coverage:
        """The workspace's memory, brought up to date with what other connections committed."""
        data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        if data_version != self._data_version:
            self._catch_up(conn)
            for stale in self._cache.values():
                stale.stale = True
                stale.last_answer = None
            self._data_version = data_version
        coverage = self._cache.get(workspace_id)
        if coverage is None:
            self._seen_id = _max_transition_id(conn)
            # keyed by the job's own (shared) workflowId, not the row's copy
            stored = (
                stored_job(wid, code, run_id)
                for wid, code, run_id in conn.execute(
                    "SELECT workflow_id, status_code, run_id FROM jobs WHERE workspace_id = ?",
                    (workspace_id,),
                )
            )
            state = {job.workflow_id: job for job in stored}
            coverage = Coverage(state, writes.outside_full(conn, workspace_id))
            self._cache[workspace_id] = coverage
        elif coverage.stale:
            coverage.outside = writes.outside_full(conn, workspace_id)
            coverage.stale = False
        return coverage

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        """Apply to the cache the transitions other connections committed since we last looked."""
        if not self._cache:
            return
        newest = _max_transition_id(conn)
        cached = sum(len(c.state) for c in self._cache.values())
        if newest < self._seen_id or newest - self._seen_id > cached:
            # History was rewritten, or replaying would cost more than reloading.
            self._cache.clear()
            return
        rows = conn.execute(
            "SELECT workspace_id, workflow_id, status_code, run_id FROM transitions WHERE id > ? ORDER BY id",
            (self._seen_id,),
        )
        for workspace_id, wid, code, run_id in rows:
            coverage = self._cache.get(workspace_id)
            if coverage is not None:
                job = stored_job(wid, code, run_id)
                coverage.state[job.workflow_id] = job
        self._seen_id = newest

    # -- reading -------------------------------------------------------------------

    def jobs(self, workspace_id: str) -> list[JobRecord]:
        """Every job ever seen in the workspace, in the order first seen, with labels and pins."""
        return self._file.read(lambda conn: reads.jobs(conn, self._windows, workspace_id))

    def job_slices(self, workspace_id: str, size: int) -> Iterator[list[JobRecord]]:
        """Every job of the workspace, as `jobs` but in no set order and at most `size` at a time,
        from one snapshot of the file (HistoryFile.read_slices): for a reader that gives way
        between slices."""
        windows = self._windows
        query = partial(reads.job_cursor, windows=windows, workspace_id=workspace_id)
        for rows in self._file.read_slices(query, size):
            yield reads.records_of(rows)

    def leading_jobs(self, workspace_id: str, column: str, limit: int) -> list[JobRecord]:
        """The pinned jobs and the `limit` latest in `column` (history_reads.leading_jobs)."""
        return self._file.read(
            lambda conn: reads.leading_jobs(conn, self._windows, workspace_id, column, limit)
        )

    def job_count(self, workspace_id: str) -> int:
        return self._file.read(lambda conn: reads.job_count(conn, workspace_id))

    def job(self, workspace_id: str, workflow_id: str) -> JobRecord | None:
        return self._file.read(
            lambda conn: reads.job(conn, self._windows, workspace_id, workflow_id)
        )

    def transitions(self, workspace_id: str, workflow_id: str) -> list[Transition]:
        """The job's transitions with their windows, oldest first (the first: when first seen)."""
        return self._file.read(
            lambda conn: reads.transitions(conn, self._windows, workspace_id, workflow_id)
        )

    def run_chain(self, workspace_id: str, workflow_id: str) -> list[str]:
        """The distinct non-empty runIds of the job in the order first seen."""
        return self._file.read(lambda conn: reads.run_chain(conn, workspace_id, workflow_id))

    def job_histories(
        self, workspace_id: str, workflow_ids: Sequence[str]
    ) -> dict[str, JobHistory]:
        """The transitions, runIds and gaps (`transitions`, `run_chain`, `job_gaps`) of several
        jobs in one read; a job never seen maps to NO_HISTORY."""
        ids = list(workflow_ids)
        return self._file.read(
            lambda conn: reads.job_histories(conn, self._windows, workspace_id, ids)
        )

    @property
    def writing(self) -> bool:
        """Whether a write is under way (in any thread): a read now may wait behind it."""
        return self._file.writing

    def last_poll(self, workspace_id: str) -> float | None:
        return self._file.read(lambda conn: reads.last_poll(conn, workspace_id))

    def gaps(
        self, workspace_id: str, start: float | None = None, end: float | None = None
    ) -> list[Gap]:
        """The workspace's periods without a successful poll overlapping (start, end)."""
        return self._file.read(
            lambda conn: reads.gaps(conn, self._windows, workspace_id, start, end)
        )

    def job_gaps(self, workspace_id: str, workflow_id: str) -> list[Gap]:
        """The gaps during the job's lifetime (from its first window to its end, or to now)."""

        def action(conn: sqlite3.Connection) -> list[Gap]:
            span = reads.job_lifetime(conn, self._windows, workspace_id, workflow_id)
            if span is None:
                return []
            return reads.gaps(conn, self._windows, workspace_id, *span)

        return self._file.read(action)

    def finished_runs(self, workspace_id: str) -> list[FinishedRun]:
        """Finished runs with both windows known, oldest end first."""
        return self._file.read(lambda conn: reads.finished_runs(conn, self._windows, workspace_id))

    def typical_durations(self, workspace_id: str, kinds: Kinds) -> dict[str, Typical]:
        """Median, p90 and run count per kind (a job's label is its kind when it has one).

        One query over the finished runs, done on workspace open: 110-235 ms for 100k finished
        runs (python -m bench.history), so call it off the event loop."""

        def action(conn: sqlite3.Connection) -> dict[str, Typical]:
            samples = reads.counted_durations(conn, self._windows, workspace_id)
            notes = reads.annotations_of(conn, self._windows, workspace_id)
            labels = {wid: note.label for wid, note in notes.items() if note.label}
            kind = kinds.kind
            if not labels:
                return typical_from_samples(samples, kind)
            return typical_from_samples(samples, lambda wid: kind(wid, labels.get(wid)))

        return self._file.read(action)

    # -- labels, pins and tracked IDs --------------------------------------------------

    def annotations(self, workspace_id: str) -> dict[str, Annotation]:
        """Every labelled or pinned job of the workspace."""
        return self._file.read(lambda conn: reads.annotations_of(conn, self._windows, workspace_id))

    def set_label(self, workspace_id: str, workflow_id: str, label: str | None) -> None:
        """Give a job a label (stored as given, at most MAX_LABEL_CHARS); None or blank clears it."""
        if label is not None and not label.strip():
            label = None
        if label is not None and len(label) > MAX_LABEL_CHARS:
            raise UsageError(
                f"a label has at most {MAX_LABEL_CHARS} characters (this one has {len(label)})"
            )
        self._file.write(
            lambda conn: writes.set_annotation(
                conn, workspace_id, workflow_id, label=label, set_label=True
            )
        )

    def set_pinned(self, workspace_id: str, workflow_id: str, pinned: bool) -> None:
        self._file.write(
            lambda conn: writes.set_annotation(conn, workspace_id, workflow_id, pinned=pinned)
        )

    def tracked(self, workspace_id: str) -> list[str]:
        """The workflow IDs the user asked to watch in this workspace, in their order."""
        return self._file.read(lambda conn: reads.tracked(conn, workspace_id))

    def set_tracked(self, workspace_id: str, ids: Sequence[str]) -> None:
        """Replace the tracked list (duplicates dropped, first occurrence kept)."""
        rows = [(workspace_id, wid, pos) for pos, wid in enumerate(dict.fromkeys(ids))]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM tracked WHERE workspace_id = ?", (workspace_id,))
            conn.executemany(
                "INSERT INTO tracked (workspace_id, workflow_id, position) VALUES (?, ?, ?)", rows
            )

        self._file.write(write)

    def close(self) -> None:
        self._write_pending_seen()
        self._file.close()
        self._cache.clear()
        self._data_version = None


def _max_transition_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM transitions").fetchone()[0]
