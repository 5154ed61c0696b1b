"""The history of observed jobs: every status or runId change, in SQLite.

The API has no timestamps, so first-seen and last-change times exist only because
jobwatch records them here. One table holds the latest state of each job, another
the transitions (append-only); both are written in the same BEGIN IMMEDIATE
transaction, which compares each job with the stored state *inside* the write lock:
two processes recording the same observations never duplicate a transition.

The schema is versioned with PRAGMA user_version and upgraded by MIGRATIONS; a file
written by a newer jobwatch is refused and left untouched. Every failure surfaces as
HistoryError (never a sqlite3 exception) so the caller can warn and keep watching.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from jobwatch import DISTRIBUTION_NAME
from jobwatch.errors import JobwatchError
from jobwatch.models import Job, Status
from jobwatch.store.paths import DATA_DIR_ENV, HISTORY_FILE_NAME, data_dir, ensure_private_dir

DEFAULT_BUSY_TIMEOUT = 5.0
LOCK_RETRIES = 3
#: WAL pages before an automatic checkpoint (~32 MB of WAL at 4 KB pages)
WAL_AUTOCHECKPOINT_PAGES = 8192

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE jobs (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        status_name TEXT NOT NULL,
        run_id TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_change REAL NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id)
    ) WITHOUT ROWID;
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        status_name TEXT NOT NULL,
        run_id TEXT NOT NULL,
        observed_at REAL NOT NULL
    );
    CREATE INDEX transitions_by_job ON transitions (workspace_id, workflow_id, id);
    CREATE TABLE polls (
        workspace_id TEXT PRIMARY KEY,
        last_success REAL NOT NULL
    );
    CREATE TABLE tracked (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id)
    );
    """,
]


class HistoryError(JobwatchError):
    """The history database cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class Transition:
    status: Status
    run_id: str
    observed_at: float


@dataclass(frozen=True)
class JobRecord:
    workflow_id: str
    status: Status
    run_id: str
    first_seen: float
    last_change: float


def _is_locked(exc: sqlite3.Error) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _explain(path: Path, exc: BaseException, busy_timeout: float) -> str:
    msg = str(exc)
    low = msg.lower()
    if isinstance(exc, OSError):
        reason = exc.strerror or msg
        return f"history {path}: cannot use it ({reason}); check that its directory exists and is yours, or set {DATA_DIR_ENV}"
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

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        # workflow_id -> (status code, run_id) of the stored state, per workspace. It reflects
        # every transition up to id _seen_id; when PRAGMA data_version says another connection
        # committed, the newer transitions are replayed into it inside the write transaction.
        self._cache: dict[str, dict[str, tuple[int, str]]] = {}
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

    # -- opening and migrating -------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        ensure_private_dir(self.path.parent)
        if not self.path.exists():
            # SQLite gives the -wal and -shm files the mode of the database file.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        if self.path.is_dir():
            raise HistoryError(
                f"history {self.path} is a directory; remove it or set {DATA_DIR_ENV}"
            )
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
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

    def _check_version(self, version: int) -> None:
        if version > len(MIGRATIONS):
            raise HistoryError(
                f"history {self.path} was written by a newer jobwatch (schema v{version}, this one "
                f"knows up to v{len(MIGRATIONS)}); upgrade jobwatch (pip install -U {DISTRIBUTION_NAME}) "
                f"or set {DATA_DIR_ENV} to use another history"
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            for number in range(version + 1, len(MIGRATIONS) + 1):
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
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
            try:
                if self._reader is None:
                    reader = sqlite3.connect(
                        self.path,
                        timeout=self.busy_timeout,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                    reader.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
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

    # -- recording -----------------------------------------------------------------

    def record(
        self,
        workspace_id: str,
        jobs: Iterable[Job],
        observed_at: float,
        *,
        polled_at: float | None = None,
    ) -> int:
        """Store what changed since the stored state; returns the number of transitions written.

        Also sets the workspace's last successful poll time (polled_at, else observed_at).
        Raises HistoryError; on error nothing of this call is stored.
        """
        jobs = jobs if isinstance(jobs, list | tuple) else list(jobs)
        last_poll = observed_at if polled_at is None else polled_at

        return self._wrap(
            lambda conn: self._retry_locked(
                lambda: self._record(conn, workspace_id, jobs, observed_at, last_poll)
            )
        )

    def _record(
        self,
        conn: sqlite3.Connection,
        workspace_id: str,
        jobs: Sequence[Job],
        observed_at: float,
        last_poll: float,
    ) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            if data_version != self._data_version:
                self._catch_up(conn)
                self._data_version = data_version
            state = self._cache.get(workspace_id)
            if state is None:
                self._seen_id = _max_transition_id(conn)
                state = {
                    wid: (code, run_id)
                    for wid, code, run_id in conn.execute(
                        "SELECT workflow_id, status_code, run_id FROM jobs WHERE workspace_id = ?",
                        (workspace_id,),
                    )
                }
                self._cache[workspace_id] = state
            get = state.get
            # Most jobs are unchanged: find the others in one comprehension, then look closer.
            candidates = [j for j in jobs if get(j.workflow_id) != (j.status.code, j.run_id)]
            new_rows = []
            changed_rows = []
            for job in candidates:
                wid = job.workflow_id
                key = (job.status.code, job.run_id)
                current = get(wid)
                if current == key:
                    continue  # the same job twice in one observation
                row = (workspace_id, wid, key[0], job.status.name, key[1], observed_at)
                if current is None:
                    new_rows.append(row)
                else:
                    changed_rows.append(row)
                state[wid] = key
            # In key order the B-tree inserts touch neighbouring pages: a first batch of 100k
            # jobs is written ~25% faster. Each job has one row per batch, so its own order holds.
            new_rows.sort(key=_by_workflow_id)
            changed_rows.sort(key=_by_workflow_id)
            transitions = new_rows + changed_rows
            if transitions:
                conn.executemany(
                    "INSERT INTO transitions (workspace_id, workflow_id, status_code, status_name, run_id, observed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    transitions,
                )
            if new_rows:
                conn.executemany(
                    "INSERT INTO jobs (workspace_id, workflow_id, status_code, status_name, run_id, first_seen, last_change)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    new_rows,
                )
            if changed_rows:
                conn.executemany(
                    "INSERT INTO jobs (workspace_id, workflow_id, status_code, status_name, run_id, first_seen, last_change)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (workspace_id, workflow_id) DO UPDATE SET"
                    " status_code = ?3, status_name = ?4, run_id = ?5, last_change = ?6",
                    changed_rows,
                )
            if transitions:
                self._seen_id = _max_transition_id(conn)
            conn.execute(
                "INSERT INTO polls (workspace_id, last_success) VALUES (?, ?)"
                " ON CONFLICT (workspace_id) DO UPDATE SET last_success = excluded.last_success",
                (workspace_id, last_poll),
            )
            conn.execute("COMMIT")
        except BaseException:
            # The cached state was updated ahead of the commit that did not happen.
            self._cache.clear()
            self._data_version = None
            self._rollback(conn)
            raise
        return len(transitions)

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        """Apply to the cache the transitions other connections committed since we last looked."""
        if not self._cache:
            return
        newest = _max_transition_id(conn)
        cached = sum(len(state) for state in self._cache.values())
        if newest < self._seen_id or newest - self._seen_id > cached:
            # History was rewritten, or replaying would cost more than reloading.
            self._cache.clear()
            return
        rows = conn.execute(
            "SELECT workspace_id, workflow_id, status_code, run_id FROM transitions WHERE id > ? ORDER BY id",
            (self._seen_id,),
        )
        for workspace_id, wid, code, run_id in rows:
            state = self._cache.get(workspace_id)
            if state is not None:
                state[wid] = (code, run_id)
        self._seen_id = newest

    # -- reading -------------------------------------------------------------------

    def jobs(self, workspace_id: str) -> list[JobRecord]:
        """Every job ever seen in the workspace, in the order first seen."""

        def action(conn: sqlite3.Connection) -> list[JobRecord]:
            rows = conn.execute(
                "SELECT workflow_id, status_code, status_name, run_id, first_seen, last_change FROM jobs"
                " WHERE workspace_id = ? ORDER BY first_seen, workflow_id",
                (workspace_id,),
            ).fetchall()
            return [_job_record(row) for row in rows]

        return self._read(action)

    def job(self, workspace_id: str, workflow_id: str) -> JobRecord | None:
        def action(conn: sqlite3.Connection) -> JobRecord | None:
            row = conn.execute(
                "SELECT workflow_id, status_code, status_name, run_id, first_seen, last_change FROM jobs"
                " WHERE workspace_id = ? AND workflow_id = ?",
                (workspace_id, workflow_id),
            ).fetchone()
            return None if row is None else _job_record(row)

        return self._read(action)

    def transitions(self, workspace_id: str, workflow_id: str) -> list[Transition]:
        """The job's transitions, oldest first (the first one is when it was first seen)."""

        def action(conn: sqlite3.Connection) -> list[Transition]:
            rows = conn.execute(
                "SELECT status_code, status_name, run_id, observed_at FROM transitions"
                " WHERE workspace_id = ? AND workflow_id = ? ORDER BY id",
                (workspace_id, workflow_id),
            ).fetchall()
            return [Transition(Status(code, name), run_id, at) for code, name, run_id, at in rows]

        return self._read(action)

    def run_chain(self, workspace_id: str, workflow_id: str) -> list[str]:
        """The distinct non-empty runIds of the job in the order first seen."""

        def action(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT run_id FROM transitions WHERE workspace_id = ? AND workflow_id = ? ORDER BY id",
                (workspace_id, workflow_id),
            )
            return [run_id for run_id in dict.fromkeys(row[0] for row in rows) if run_id]

        return self._read(action)

    def last_poll(self, workspace_id: str) -> float | None:
        def action(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT last_success FROM polls WHERE workspace_id = ?", (workspace_id,)
            ).fetchone()
            return None if row is None else row[0]

        return self._read(action)

    # -- tracked IDs ---------------------------------------------------------------

    def tracked(self, workspace_id: str) -> list[str]:
        """The workflow IDs the user asked to watch in this workspace, in their order."""

        def action(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT workflow_id FROM tracked WHERE workspace_id = ? ORDER BY position",
                (workspace_id,),
            )
            return [row[0] for row in rows]

        return self._read(action)

    def set_tracked(self, workspace_id: str, ids: Sequence[str]) -> None:
        """Replace the tracked list (duplicates dropped, first occurrence kept)."""
        rows = [(workspace_id, wid, pos) for pos, wid in enumerate(dict.fromkeys(ids))]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM tracked WHERE workspace_id = ?", (workspace_id,))
                conn.executemany(
                    "INSERT INTO tracked (workspace_id, workflow_id, position) VALUES (?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise

        self._wrap(lambda conn: self._retry_locked(lambda: write(conn)))

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


_by_workflow_id = itemgetter(1)


def _max_transition_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM transitions").fetchone()[0]


def _job_record(row: tuple) -> JobRecord:
    wid, code, name, run_id, first_seen, last_change = row
    return JobRecord(wid, Status(code, name), run_id, first_seen, last_change)
