"""The history's SQLite file: opening it, its schema version, read-only use, locks and errors.

HistoryFile owns the connections (one for writes, a second for reads while a write is under
way), upgrades the schema with jobwatch.store.schema's MIGRATIONS in one BEGIN IMMEDIATE
transaction, refuses a file written by a newer jobwatch without touching it, opens a file this
process may not write read-only (`mode=ro`, or `immutable=1` on read-only media, where SQLite
cannot make its -shm file), and turns every sqlite3 or OS error into a HistoryError that names
the file and what to do. What is stored in it is jobwatch.store.history's business.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from jobwatch import DISTRIBUTION_NAME
from jobwatch.errors import JobwatchError
from jobwatch.store import schema
from jobwatch.store.paths import DATA_DIR_ENV, ensure_private_dir

DEFAULT_BUSY_TIMEOUT = 5.0
LOCK_RETRIES = 3
#: WAL pages before an automatic checkpoint (~32 MB of WAL at 4 KB pages)
WAL_AUTOCHECKPOINT_PAGES = 8192


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


class HistoryFile:
    """One history file, opened; safe to share between threads."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        read_only: bool | None = None,
    ) -> None:
        """read_only None: read-only when the file exists and this process may not write it."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._writes = 0  # writes under way or waiting for the lock (see `writing`)
        self._writes_lock = threading.Lock()
        self._target: tuple[str, bool] = (str(self.path), False)  # (database, is a URI)
        #: the schema version of the open file (older only when opened read-only)
        self.version = len(schema.MIGRATIONS)
        try:
            self._conn = self._open()
        except HistoryError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(_explain(self.path, exc, busy_timeout)) from None

    @property
    def windows(self) -> bool:
        """Whether the file has observation windows, gaps, runs and annotations (schema v2+)."""
        return self.version >= schema.WINDOWS_VERSION

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
                f"history {self.path} is a directory; remove it or set {DATA_DIR_ENV}"
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
            if version < len(schema.MIGRATIONS):
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
                f"history {self.path} cannot be written and does not exist; set {DATA_DIR_ENV}"
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
                version = len(schema.MIGRATIONS)
            conn.execute("PRAGMA query_only = ON")
            self.version = version
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
        if version > len(schema.MIGRATIONS):
            raise HistoryError(
                f"history {self.path} was written by a newer jobwatch (schema v{version}, this one "
                f"knows up to v{len(schema.MIGRATIONS)}); upgrade jobwatch (pip install -U {DISTRIBUTION_NAME}) "
                f"or set {DATA_DIR_ENV} to use another history"
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            for number in range(version + 1, len(schema.MIGRATIONS) + 1):
                for statement in schema.statements(schema.MIGRATIONS[number - 1]):
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

    def read(self, action):
        """Run a read; while another thread writes (the poller does, from a thread), on a second
        connection: in WAL mode it sees the last commit without waiting for the write to end."""
        if self._lock.acquire(blocking=False):
            try:
                return self.wrap(action)
            finally:
                self._lock.release()
        with self._read_lock:
            if self._conn is None:
                raise HistoryError(f"history {self.path} is closed")
            if self._target[0] == ":memory:":
                with self._lock:  # an in-memory stand-in has no second connection
                    return self.wrap(action)
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

    def read_slices(
        self, query: Callable[[sqlite3.Connection], sqlite3.Cursor], size: int
    ) -> Iterator[list[tuple]]:
        """The rows of one query, at most `size` at a time, on a connection of its own: the whole
        query sees one snapshot (WAL) however long its caller takes between slices, and holds no
        lock a write waits for. An in-memory stand-in (no second connection) gives them at once.
        Close the iterator if it is not read to its end (its connection closes with it)."""
        if self._conn is None:
            raise HistoryError(f"history {self.path} is closed")
        if self._target[0] == ":memory:":
            rows = self.read(lambda conn: query(conn).fetchall())
            if rows:
                yield rows
            return
        try:
            conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(_explain(self.path, exc, self.busy_timeout)) from None
        try:
            conn.execute("PRAGMA query_only = ON")
            cursor = query(conn)
            while rows := cursor.fetchmany(size):
                yield rows
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(_explain(self.path, exc, self.busy_timeout)) from None
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    @property
    def writing(self) -> bool:
        """A write is under way or waiting for the lock, in some thread."""
        return self._writes > 0

    def wrap(self, action):
        with self._lock:
            conn = self._connection()
            try:
                return action(conn)
            except HistoryError:
                raise
            except (sqlite3.Error, OSError) as exc:
                raise HistoryError(_explain(self.path, exc, self.busy_timeout)) from None

    def write(self, action):
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

        with self._writes_lock:
            self._writes += 1
        try:
            return self.wrap(lambda conn: self._retry_locked(lambda: transaction(conn)))
        finally:
            with self._writes_lock:
                self._writes -= 1

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


def _not_writable(path: Path) -> bool:
    """The file exists and this process may not write it or make its -wal file beside it."""
    if not path.is_file():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
