"""The history of observed jobs: every status or runId change, in SQLite, with when it happened.

The API has no timestamps, so first-seen and last-change times exist only because jobwatch
records them here. Each transition carries its observation window: `observed_at` (the first poll
that saw the new state) and `not_before` (the last successful poll that still saw the earlier
state; NULL when none did). Periods without a successful poll are recorded as gaps, finished runs
with both windows known feed the typical durations, and a person's labels and pins are kept per
job. jobwatch.store.coverage works out what a poll means; history_writes and history_reads hold
the SQL; jobwatch.store.schema the versions.

One table holds the latest state of each job, another the transitions (append-only); both are
written in the same BEGIN IMMEDIATE transaction, which compares each job with the stored state
*inside* the write lock: two processes recording the same observations never duplicate a
transition. The schema is versioned with PRAGMA user_version and upgraded by MIGRATIONS; a file
written by a newer jobwatch is refused and left untouched. A file this process may not write is
opened read-only (`mode=ro`, or `immutable=1` on read-only media), not migrated, and read as it
is. Every failure surfaces as HistoryError (never a sqlite3 exception) so the caller can warn and
keep watching.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from jobwatch.durations import FinishedRun, Typical, typical_from_samples
from jobwatch.errors import JobwatchError, UsageError
from jobwatch.kinds import Kinds
from jobwatch.models import Job
from jobwatch.store import history_reads as reads
from jobwatch.store import history_writes as writes
from jobwatch.store.coverage import Answer, Coverage, applied, plan_tick
from jobwatch.store.history_reads import Annotation, JobRecord, Transition
from jobwatch.store.paths import data_dir, ensure_private_dir
from jobwatch.store.schema import MIGRATIONS, WINDOWS_VERSION, statements
from jobwatch.windows import Gap

__all__ = [
    "Annotation",
    "Answer",
    "HistoryError",
    "HistoryStore",
    "JobRecord",
    "MIGRATIONS",
    "Transition",
]

HISTORY_FILE_NAME = "history.sqlite3"
DEFAULT_BUSY_TIMEOUT = 5.0
LOCK_RETRIES = 3
#: WAL pages before an automatic checkpoint (~32 MB of WAL at 4 KB pages)
WAL_AUTOCHECKPOINT_PAGES = 8192
#: the longest label a person can give a job
MAX_LABEL_CHARS = 200


class HistoryError(JobwatchError):
    """The history database cannot be used; the message names the file and what to do."""


def _is_locked(exc: sqlite3.Error) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _explain(path: Path, exc: BaseException, busy_timeout: float) -> str:
    msg = str(exc)
    low = msg.lower()
    if isinstance(exc, OSError):
        reason = exc.strerror or msg
        return f"history {path}: cannot use it ({reason}); check that its directory exists and is yours, or set JOBWATCH_DATA_DIR"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"history {path} is not a usable SQLite database ({msg}); move it away or delete it to start a new history"
    if "full" in low:
        return f"history {path}: the disk is full; free some space (this observation was not saved)"
    if "locked" in low or "busy" in low:
        return (
            f"history {path} stayed locked by another process for more than {busy_timeout:g} s; "
            "close other jobwatch instances or try again"
        )
    if "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
        return f"history {path}: cannot open or write it ({msg}); check that the file and its directory are yours and writable"
    return f"history {path}: {msg}"


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
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._target: tuple[str, bool] = (str(self.path), False)  # (database, is a URI)
        self._version = len(MIGRATIONS)
        # Per workspace: the stored state of each job and who was in the last all-jobs answer.
        # It reflects every transition up to id _seen_id; when PRAGMA data_version says another
        # connection committed, the newer transitions are replayed into it inside the write
        # transaction (and the rest is read again).
        self._cache: dict[str, Coverage] = {}
        self._data_version: int | None = None
        self._seen_id = 0
        try:
            self._conn = self._open()
        except HistoryError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(_explain(self.path, exc, busy_timeout)) from None

    @classmethod
    def open_default(cls) -> HistoryStore:
        return cls(data_dir() / HISTORY_FILE_NAME)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _windows(self) -> bool:
        return self._version >= WINDOWS_VERSION

    # -- opening and migrating -------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.read_only is None:
            self.read_only = _not_writable(self.path)
        if self.read_only:
            return self._open_read_only()
        ensure_private_dir(self.path.parent)
        if not self.path.exists():
            # SQLite gives the -wal and -shm files the mode of the database file.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        if self.path.is_dir():
            raise HistoryError(
                f"history {self.path} is a directory; remove it or set JOBWATCH_DATA_DIR"
            )
        conn = self._connect()
        try:
            # Read the version before anything can write: a newer file must stay untouched.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self._retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            # A tick changing 1% of 100k jobs dirties ~1000 pages; at SQLite's default of 1000
            # every such commit also checkpoints (35 ms -> 18 ms median with this).
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            if version < len(MIGRATIONS):
                self._retry_locked(lambda: self._migrate(conn))
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """Open without writing anything; a WAL file on read-only media (no -shm to be made)
        is opened immutable, which is safe there: nobody can be writing it."""
        if not self.path.is_file():
            raise HistoryError(
                f"history {self.path} cannot be written and does not exist; set JOBWATCH_DATA_DIR"
            )
        base = "file:" + quote(str(self.path.resolve()))
        for params in ("mode=ro", "immutable=1"):
            self._target = (f"{base}?{params}", True)
            conn = self._connect()
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                self._check_version(version)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError as exc:
                conn.close()
                if "unable to open" in str(exc).lower() and params == "mode=ro":
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if version == 0:
                # Nothing was ever written: read an empty history of the current schema.
                conn.close()
                self._target = (":memory:", False)
                conn = self._connect()
                self._migrate(conn)
                version = len(MIGRATIONS)
            conn.execute("PRAGMA query_only = ON")
            self._version = version
            return conn
        raise AssertionError("unreachable")

    def _connect(self) -> sqlite3.Connection:
        database, uri = self._target
        conn = sqlite3.connect(
            database,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        return conn

    def _check_version(self, version: int) -> None:
        if version > len(MIGRATIONS):
            raise HistoryError(
                f"history {self.path} was written by a newer jobwatch (schema v{version}, this one "
                f"knows up to v{len(MIGRATIONS)}); upgrade jobwatch (pip install -U jobwatch) "
                "or set JOBWATCH_DATA_DIR to use another history"
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            for number in range(version + 1, len(MIGRATIONS) + 1):
                for statement in statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise

    def _retry_locked(self, action):
        for attempt in range(LOCK_RETRIES):
            started = time.monotonic()
            try:
                return action()
            except sqlite3.OperationalError as exc:
                # SQLite sometimes reports "locked" at once, without using the busy timeout
                # (e.g. a read snapshot that cannot become a write): those are worth a retry.
                # After a whole busy timeout another process really holds the lock, and waiting
                # again would only stall the poll loop (and overrun `wait --timeout`).
                waited = time.monotonic() - started
                if (
                    not _is_locked(exc)
                    or attempt == LOCK_RETRIES - 1
                    or waited >= self.busy_timeout / 2
                ):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"history {self.path} is closed")
        return self._conn

    def _read(self, action):
        """Run a read; while another thread writes (the poller does, from a thread), on a second
        connection: in WAL mode it sees the last commit without waiting for the write to end."""
        if self._lock.acquire(blocking=False):
            try:
                return self._wrap(action)
            finally:
                self._lock.release()
        with self._read_lock:
            if self._conn is None:
                raise HistoryError(f"history {self.path} is closed")
            if self._target[0] == ":memory:":
                with self._lock:  # an in-memory stand-in has no second connection
                    return self._wrap(action)
            try:
                if self._reader is None:
                    reader = self._connect()
                    reader.execute("PRAGMA query_only = ON")
                    self._reader = reader
                return action(self._reader)
            except HistoryError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise HistoryError(_explain(self.path, exc, self.busy_timeout)) from None

    def _wrap(self, action):
        with self._lock:
            conn = self._connection()
            try:
                return action(conn)
            except HistoryError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise HistoryError(_explain(self.path, exc, self.busy_timeout)) from None

    def _write(self, action):
        """Run `action(conn)` in one BEGIN IMMEDIATE transaction, retried while locked."""
        if self.read_only:
            raise HistoryError(
                f"history {self.path} is open read-only (this process may not write it); "
                "nothing was saved"
            )

        def transaction(conn: sqlite3.Connection):
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = action(conn)
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
            return result

        return self._wrap(lambda conn: self._retry_locked(lambda: transaction(conn)))

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
        to have seen `jobs` only. Sets the workspace's last successful poll time (polled_at, else
        observed_at) and records a gap before it when the previous one is more than
        jobwatch.windows.gap_threshold(interval) earlier.
        Raises HistoryError; on error nothing of this call is stored.
        """
        jobs = jobs if isinstance(jobs, list | tuple) else list(jobs)
        last_poll = observed_at if polled_at is None else polled_at
        try:
            return self._write(
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
            old_rows=lambda wids: writes.old_rows(conn, workspace_id, last_full, wids),
        )
        writes.write_tick(conn, workspace_id, tick, last_poll, last_full)
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
            state = {
                wid: (code, run_id)
                for wid, code, run_id in conn.execute(
                    "SELECT workflow_id, status_code, run_id FROM jobs WHERE workspace_id = ?",
                    (workspace_id,),
                )
            }
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
                coverage.state[wid] = (code, run_id)
        self._seen_id = newest

    # -- reading -------------------------------------------------------------------

    def jobs(self, workspace_id: str) -> list[JobRecord]:
        """Every job ever seen in the workspace, in the order first seen, with labels and pins."""
        return self._read(lambda conn: reads.jobs(conn, self._windows, workspace_id))

    def job(self, workspace_id: str, workflow_id: str) -> JobRecord | None:
        return self._read(lambda conn: reads.job(conn, self._windows, workspace_id, workflow_id))

    def transitions(self, workspace_id: str, workflow_id: str) -> list[Transition]:
        """The job's transitions with their windows, oldest first (the first: when first seen)."""
        return self._read(
            lambda conn: reads.transitions(conn, self._windows, workspace_id, workflow_id)
        )

    def run_chain(self, workspace_id: str, workflow_id: str) -> list[str]:
        """The distinct non-empty runIds of the job in the order first seen."""
        return self._read(lambda conn: reads.run_chain(conn, workspace_id, workflow_id))

    def last_poll(self, workspace_id: str) -> float | None:
        return self._read(lambda conn: reads.last_poll(conn, workspace_id))

    def gaps(
        self, workspace_id: str, start: float | None = None, end: float | None = None
    ) -> list[Gap]:
        """The workspace's periods without a successful poll overlapping (start, end)."""
        return self._read(lambda conn: reads.gaps(conn, self._windows, workspace_id, start, end))

    def job_gaps(self, workspace_id: str, workflow_id: str) -> list[Gap]:
        """The gaps during the job's lifetime (from its first window to its end, or to now)."""

        def action(conn: sqlite3.Connection) -> list[Gap]:
            span = reads.job_lifetime(conn, self._windows, workspace_id, workflow_id)
            if span is None:
                return []
            return reads.gaps(conn, self._windows, workspace_id, *span)

        return self._read(action)

    def finished_runs(self, workspace_id: str) -> list[FinishedRun]:
        """Finished runs with both windows known, oldest end first."""
        return self._read(lambda conn: reads.finished_runs(conn, self._windows, workspace_id))

    def typical_durations(self, workspace_id: str, kinds: Kinds) -> dict[str, Typical]:
        """Median, p90 and run count per kind (a job's label is its kind when it has one)."""

        def action(conn: sqlite3.Connection) -> dict[str, Typical]:
            samples = reads.counted_durations(conn, self._windows, workspace_id)
            notes = reads.annotations_of(conn, self._windows, workspace_id)
            labels = {wid: note.label for wid, note in notes.items() if note.label}
            kind = kinds.kind
            if not labels:
                return typical_from_samples(samples, kind)
            return typical_from_samples(samples, lambda wid: kind(wid, labels.get(wid)))

        return self._read(action)

    # -- labels, pins and tracked IDs --------------------------------------------------

    def annotations(self, workspace_id: str) -> dict[str, Annotation]:
        """Every labelled or pinned job of the workspace."""
        return self._read(lambda conn: reads.annotations_of(conn, self._windows, workspace_id))

    def set_label(self, workspace_id: str, workflow_id: str, label: str | None) -> None:
        """Give a job a label (stored as given, at most MAX_LABEL_CHARS); None or blank clears it."""
        if label is not None and not label.strip():
            label = None
        if label is not None and len(label) > MAX_LABEL_CHARS:
            raise UsageError(
                f"a label has at most {MAX_LABEL_CHARS} characters (this one has {len(label)})"
            )
        self._write(
            lambda conn: writes.set_annotation(
                conn, workspace_id, workflow_id, label=label, set_label=True
            )
        )

    def set_pinned(self, workspace_id: str, workflow_id: str, pinned: bool) -> None:
        self._write(
            lambda conn: writes.set_annotation(conn, workspace_id, workflow_id, pinned=pinned)
        )

    def tracked(self, workspace_id: str) -> list[str]:
        """The workflow IDs the user asked to watch in this workspace, in their order."""
        return self._read(lambda conn: reads.tracked(conn, workspace_id))

    def set_tracked(self, workspace_id: str, ids: Sequence[str]) -> None:
        """Replace the tracked list (duplicates dropped, first occurrence kept)."""
        rows = [(workspace_id, wid, pos) for pos, wid in enumerate(dict.fromkeys(ids))]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM tracked WHERE workspace_id = ?", (workspace_id,))
            conn.executemany(
                "INSERT INTO tracked (workspace_id, workflow_id, position) VALUES (?, ?, ?)", rows
            )

        self._write(write)

    def close(self) -> None:
        with self._read_lock:
            if self._reader is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._reader.close()
                self._reader = None
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
            self._cache.clear()
            self._data_version = None


def _not_writable(path: Path) -> bool:
    """The file exists and this process may not write it or make its -wal file beside it."""
    if not path.is_file():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _max_transition_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM transitions").fetchone()[0]
