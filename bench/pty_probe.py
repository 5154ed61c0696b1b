"""Measure a terminal program from outside its process, as a user sees it.

`PtySession` spawns a command on a pseudo-terminal of a given size, writes keys to it and feeds
every byte the program prints into a VT emulator (`pyte`). Each chunk read from the pty is timed
(`time.perf_counter()`) when `os.read` returns it, by a reader thread that does nothing else, and
parsed by a second thread, so a measured latency is "key written" to "the bytes that made the
screen right arrived", not "the screen was checked" — and not "our emulator got round to reading
them": pyte is pure Python, ~4 ms for a 4 KiB chunk (up to 127 ms measured), and while one
thread both read and parsed, the bytes of a key's frame waited in the pty behind the parse of a
large frame before it (a dashboard's poll repaints many rows; the minimal app never does): of
the presses over 90 ms at 100k jobs, up to 39 ms was that parse (measured 2026-12-02). A real
terminal reads on while it draws. The probe's process also switches threads every 0.5 ms
(sys.setswitchinterval), so the reader takes its time stamp within that of the read, however
long a parse runs. Predicates are evaluated by the parser thread after every chunk, so the first
screen state that satisfies one is never skipped, however fast chunks come; waiters sleep on a
`threading.Condition` that the parser thread notifies (nothing polls). `arm` waits until every
chunk read so far is parsed, so "before" is the screen as it is when the key is written.

Like most current terminals (kitty, WezTerm, foot, iTerm2, Windows Terminal, tmux 3.4+), the
session answers that it has synchronized output (DEC mode 2026), so Textual brackets each frame
and a frame split over several pty reads (a read returns at most ~4 KiB) is judged whole, at the
arrival of its last chunk, never half drawn. `synchronized_output=False` emulates a terminal
without it (xterm), where a predicate can hold on a half-drawn frame, as a user could see it.

The screen helpers (`table_rows`, `cursor_line`, `detail_ids`) read a two-pane layout like the
jobwatch dashboard's: a table on the left whose rows start with an ID (optionally after a status
glyph), a detail pane on the right. `TableLayout` holds the column ranges and regular
expressions, so the same helpers read the dashboard and `bench/minimal_app.py`.

Process figures come from /proc: `cpu_seconds(pid)` (utime + stime of every thread of the
process, plus cutime + cstime of its waited-for children) and `rss_mb(pid)` (VmRSS).

    with PtySession([sys.executable, "bench/minimal_app.py", "--rows", "50"]) as session:
        session.wait_for(lambda snap: len(table_rows(snap)) >= 10, timeout=20)
        ms = measure_key_latency(session, "down", detail_shows_next_row())
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import select
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import ptyprocess
import pyte
from pyte.screens import Char

DEFAULT_SIZE = (120, 40)  # columns, lines
#: the probe process's thread switch interval (s): the reader's time stamps wait at most this long
#: for the GIL while the parser thread runs (Python's default is 5 ms)
SWITCH_INTERVAL = 0.0005
TERMINAL_ENV = {"TERM": "xterm-256color", "COLORTERM": "truecolor"}

#: Key names to the bytes an xterm sends for them (normal cursor-key mode; Textual reads both).
#: Synchronized output (DEC mode 2026): the program asks whether the terminal has it and, told
#: so, brackets each frame in CSI ? 2026 h ... CSI ? 2026 l, which the terminal shows at once.
SYNC_QUERY = b"\x1b[?2026$p"
SYNC_REPLY = b"\x1b[?2026;2$y"  # "known, currently reset", as kitty, foot or WezTerm answer
_SYNC_MARK = re.compile(rb"\x1b\[\?2026(h|l|\$p)")

KEYS: dict[str, bytes] = {
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pgup": b"\x1b[5~",
    "pageup": b"\x1b[5~",
    "pgdn": b"\x1b[6~",
    "pagedown": b"\x1b[6~",
    "insert": b"\x1b[2~",
    "delete": b"\x1b[3~",
    "enter": b"\r",
    # A lone ESC: Textual waits a short while for more bytes before taking it as the escape key,
    # so a latency measured on "escape" includes that wait.
    "escape": b"\x1b",
    "esc": b"\x1b",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "space": b" ",
    "slash": b"/",
    "question_mark": b"?",
    "plus": b"+",
    "ctrl+c": b"\x03",
    "ctrl+p": b"\x10",
    "q": b"q",
}


def key_bytes(key: str | bytes) -> bytes:
    """The bytes a terminal sends for `key`: a name from KEYS, else the text itself (UTF-8).

    Bytes are passed through unchanged.
    """
    if isinstance(key, bytes):
        return key
    named = KEYS.get(key.lower())
    return named if named is not None else key.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Snapshots of the emulated screen


@dataclass(frozen=True)
class Snapshot:
    """The emulated screen at one moment: cells with their attributes, and when it was so.

    `time` is the `perf_counter()` arrival of the chunk that produced this state (the session's
    start for a screen nothing was written to yet); `seq` counts the chunks fed before it.
    """

    seq: int
    time: float
    cells: tuple[tuple[Char, ...], ...]
    cursor: tuple[int, int]  # (x, y) of the terminal cursor

    @property
    def columns(self) -> int:
        return len(self.cells[0]) if self.cells else 0

    def line(self, y: int, x0: int = 0, x1: int | None = None) -> str:
        """The text of line `y` between columns x0 and x1 (cells, so wide characters count 2)."""
        return "".join(cell.data for cell in self.cells[y][x0:x1])

    @property
    def lines(self) -> list[str]:
        return [self.line(y) for y in range(len(self.cells))]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _snapshot_of(screen: pyte.Screen, seq: int, when: float) -> Snapshot:
    cells = tuple(
        tuple(row[x] for x in range(screen.columns))
        for row in (screen.buffer[y] for y in range(screen.lines))
    )
    return Snapshot(seq=seq, time=when, cells=cells, cursor=(screen.cursor.x, screen.cursor.y))


Predicate = Callable[[Snapshot], bool]
#: (the screen before the key, a screen after it) -> does it show the key's effect?
Expectation = Callable[[Snapshot, Snapshot], bool]


class Waiter:
    """A predicate that the parser thread checks on every new screen state (each chunk, or each
    whole frame with synchronized output) until it first holds."""

    def __init__(self, session: PtySession, predicate: Predicate) -> None:
        self._session = session
        self.predicate = predicate
        self.snapshot: Snapshot | None = None
        self.error: BaseException | None = None

    def _check(self, snap: Snapshot) -> None:
        if self.snapshot is not None or self.error is not None:
            return
        try:
            if self.predicate(snap):
                self.snapshot = snap
        except Exception as exc:  # surfaced to the waiting thread, not lost in the reader
            self.error = exc

    def wait(self, timeout: float) -> Snapshot | None:
        """The first snapshot satisfying the predicate, or None after `timeout` seconds or EOF."""
        return self._session._wait(self, timeout)

    def cancel(self) -> None:
        self._session._unregister(self)


# --------------------------------------------------------------------------------------------
# The session


class PtySession:
    """A command on a pseudo-terminal, its output timed by a reader thread and parsed by pyte in another.

    The environment is the caller's (unless `inherit_env` is False) with TERM and COLORTERM set
    as a modern terminal would, then `env` on top, without COLUMNS and LINES (the pty has a
    size). The child is a session and process-group leader (ptyprocess calls setsid), so
    `close()` signals the whole group.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        size: tuple[int, int] = DEFAULT_SIZE,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        inherit_env: bool = True,
        synchronized_output: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.synchronized_output = synchronized_output
        self._tail = b""
        self._in_frame = False
        self.columns, self.rows = size
        full_env = dict(os.environ) if inherit_env else {}
        full_env.update(TERMINAL_ENV)
        full_env.update(env or {})
        # The pty has a size: COLUMNS and LINES inherited from a parent (a pytest run has 80x24)
        # would override it (shutil.get_terminal_size reads them first) and the program would
        # draw for another screen.
        full_env.pop("COLUMNS", None)
        full_env.pop("LINES", None)
        self.env = full_env
        self.screen = pyte.Screen(self.columns, self.rows)
        self.stream = pyte.ByteStream(self.screen)
        self._cond = threading.Condition(threading.Lock())
        # chunks read and not parsed yet (the reader appends, the parser takes), and whether the
        # parser is in the middle of a batch
        self._inbox: deque[tuple[bytes, float]] = deque()
        self._inbox_cond = threading.Condition(threading.Lock())
        self._parsing = False
        self._waiters: list[Waiter] = []
        self._seq = 0
        self._eof = False
        self._chunks: list[tuple[float, int]] = []
        self._frames: list[float] = []
        self._exit_status: int | None = None
        self._reaped = False
        self._reap_lock = threading.Lock()
        self.started_at = time.perf_counter()
        self._proc = ptyprocess.PtyProcess.spawn(
            self.argv, cwd=cwd, env=full_env, dimensions=(self.rows, self.columns)
        )
        self._wake_r, self._wake_w = os.pipe()  # close() wakes the reader with it
        self.pid: int = self._proc.pid
        self._fd: int = self._proc.fd
        self._last_time = self.started_at
        # Answer the terminal queries pyte understands (device attributes, cursor position)
        # like a real terminal; the write happens on the parser thread.
        self.screen.write_process_input = self._reply  # type: ignore[method-assign]
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._parser = threading.Thread(target=self._parse_loop, name="pty-parser", daemon=True)
        self._parser.start()
        self._reader = threading.Thread(target=self._read_loop, name="pty-reader", daemon=True)
        self._reader.start()

    # -- reading ------------------------------------------------------------------------------

    def _reply(self, data: str | bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._fd, data.encode("utf-8") if isinstance(data, str) else data)

    def _read_loop(self) -> None:
        """Read and time every chunk; the parser thread takes them (an empty one: the end)."""
        data = b""
        try:
            while True:
                ready, _, _ = select.select([self._fd, self._wake_r], [], [])
                if self._wake_r in ready:
                    break
                try:
                    data = os.read(self._fd, 65536)
                except OSError as exc:  # EIO: every holder of the slave side has closed it
                    if exc.errno not in (errno.EIO, errno.EBADF):
                        raise
                    data = b""
                arrived = time.perf_counter()
                if not data:
                    break
                with self._inbox_cond:
                    self._inbox.append((data, arrived))
                    self._inbox_cond.notify_all()
        finally:
            with self._inbox_cond:
                self._inbox.append((b"", time.perf_counter()))
                self._inbox_cond.notify_all()

    def _parse_loop(self) -> None:
        """Feed the chunks to the emulator in order, each with the time it was read."""
        try:
            while True:
                with self._inbox_cond:
                    while not self._inbox:
                        self._inbox_cond.wait()
                    batch = list(self._inbox)
                    self._inbox.clear()
                    self._parsing = True
                with self._cond:
                    for data, arrived in batch:
                        if not data:
                            return
                        self._feed(data, arrived)
                    self._cond.notify_all()
                with self._inbox_cond:
                    self._parsing = False
                    self._inbox_cond.notify_all()
        finally:
            with self._inbox_cond:
                self._parsing = False
                self._inbox_cond.notify_all()
            with self._cond:
                self._eof = True
                self._in_frame = False
                self._cond.notify_all()

    def _catch_up(self, timeout: float = 1.0) -> None:
        """Wait (at most `timeout` s) until every chunk read so far has been parsed."""
        with self._inbox_cond:
            self._inbox_cond.wait_for(lambda: not self._inbox and not self._parsing, timeout)

    def _feed(self, data: bytes, arrived: float) -> None:
        """Parse one chunk; check the waiters on every complete screen state in it."""
        self._seq += 1
        self._last_time = arrived
        self._chunks.append((arrived, len(data)))
        pieces: list[tuple[int, bytes]] = []  # (end of the sequence in data, its final bytes)
        if self.synchronized_output:
            combined = self._tail + data
            skip = len(self._tail)
            for match in _SYNC_MARK.finditer(combined):
                if match.end() > skip:  # not already seen whole at the end of the last chunk
                    pieces.append((match.end() - skip, match.group(1)))
            self._tail = combined[-len(SYNC_QUERY) :]
        start = 0
        for end, kind in pieces:
            self.stream.feed(data[start:end])
            start = end
            if kind == b"$p":
                self._reply(SYNC_REPLY)
            elif kind == b"h":
                self._in_frame = True
            else:
                self._in_frame = False
                self._frames.append(arrived)
                self._check_waiters(arrived)
        if start < len(data) or not pieces:
            self.stream.feed(data[start:])
            if not self._in_frame:
                self._check_waiters(arrived)

    def _check_waiters(self, arrived: float) -> None:
        if self._waiters:
            snap = _snapshot_of(self.screen, self._seq, arrived)
            for waiter in self._waiters:
                waiter._check(snap)

    def _snapshot_locked(self) -> Snapshot:
        """The screen now; in the middle of a synchronized frame, the screen once it is whole
        (waiting for it at most a second)."""
        deadline = time.monotonic() + 1.0
        while self._in_frame and (remaining := deadline - time.monotonic()) > 0:
            self._cond.wait(remaining)
        return _snapshot_of(self.screen, self._seq, self._last_time)

    def snapshot(self) -> Snapshot:
        """The screen now."""
        with self._cond:
            return self._snapshot_locked()

    def screen_text(self) -> str:
        return self.snapshot().text

    def lines(self) -> list[str]:
        return self.snapshot().lines

    @property
    def chunks(self) -> list[tuple[float, int]]:
        """(arrival perf_counter, byte count) of every chunk read so far."""
        with self._cond:
            return list(self._chunks)

    @property
    def frames(self) -> list[float]:
        """Arrival times of the ends of synchronized frames (empty without synchronized output,
        or when the program does not use it)."""
        with self._cond:
            return list(self._frames)

    def bytes_between(self, start: float, end: float) -> int:
        """Bytes the program wrote that arrived between two perf_counter() times."""
        return sum(n for t, n in self.chunks if start <= t < end)

    @property
    def eof(self) -> bool:
        with self._cond:
            return self._eof

    # -- waiting ------------------------------------------------------------------------------

    def expect(self, predicate: Predicate) -> Waiter:
        """Register `predicate`; the parser thread checks it after every chunk from now on.

        It is also checked once, at once, against the current screen.
        """
        waiter = Waiter(self, predicate)
        with self._cond:
            waiter._check(self._snapshot_locked())
            self._waiters.append(waiter)
        return waiter

    def arm(self, expectation: Expectation) -> tuple[Snapshot, Waiter]:
        """Take the screen as "before" and register expectation(before, now), atomically."""
        before, (waiter,) = self.arm_all([expectation])
        return before, waiter

    def arm_all(self, expectations: Sequence[Expectation]) -> tuple[Snapshot, list[Waiter]]:
        """arm() for several expectations against the same "before" screen."""
        self._catch_up()
        with self._cond:
            before = self._snapshot_locked()
            waiters = []
            for expectation in expectations:
                waiter = Waiter(self, functools.partial(expectation, before))
                waiter._check(before)
                self._waiters.append(waiter)
                waiters.append(waiter)
        return before, waiters

    def _unregister(self, waiter: Waiter) -> None:
        with self._cond:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wait(self, waiter: Waiter, timeout: float) -> Snapshot | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            try:
                while waiter.snapshot is None and waiter.error is None and not self._eof:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        if waiter.error is not None:
            raise waiter.error
        return waiter.snapshot

    def wait_for_snapshot(self, predicate: Predicate, timeout: float) -> Snapshot | None:
        """The first screen state satisfying `predicate`, or None (timeout, or the pty closed)."""
        return self.expect(predicate).wait(timeout)

    def wait_for(self, predicate: Predicate, timeout: float) -> float | None:
        """Seconds from this call to the arrival of the chunk that made `predicate` true.

        0.0 if it already holds; None after `timeout` or when the program closed the terminal.
        """
        called = time.perf_counter()
        snap = self.wait_for_snapshot(predicate, timeout)
        if snap is None:
            return None
        return max(0.0, snap.time - called)

    # -- writing ------------------------------------------------------------------------------

    def send(self, keys: str | bytes) -> float:
        """Write a key (a name from KEYS, text, or raw bytes); returns perf_counter() of the write."""
        data = key_bytes(keys)
        written = time.perf_counter()
        os.write(self._fd, data)
        return written

    def type_text(self, text: str) -> float:
        """Write `text` as typed characters (never read as a key name)."""
        return self.send(text.encode("utf-8"))

    # -- the process --------------------------------------------------------------------------

    @property
    def exit_status(self) -> int | None:
        """The exit code (negative: killed by that signal) once reaped, else None."""
        return self._exit_status

    def _reap(self, block: bool) -> bool:
        with self._reap_lock:
            if self._reaped:
                return True
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                self._reaped = True
                return True
            if pid == 0:
                return False
            self._exit_status = os.waitstatus_to_exitcode(status)
            self._reaped = True
            # ptyprocess must not try to reap or close it again (its __del__ would).
            self._proc.terminated = True
            self._proc.exitstatus = self._exit_status
            return True

    def wait_exit(self, timeout: float) -> int | None:
        """Wait (on a pidfd, no polling) for the process to exit; its exit code, or None."""
        if self._reaped:
            return self._exit_status
        try:
            pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            self._reap(block=True)
            return self._exit_status
        try:
            ready, _, _ = select.select([pidfd], [], [], max(0.0, timeout))
        finally:
            os.close(pidfd)
        if not ready:
            return None
        self._reap(block=True)
        return self._exit_status

    def alive(self) -> bool:
        return not self._reap(block=False)

    def close(self, grace: float = 3.0) -> int | None:
        """Terminate the process group (SIGTERM, then SIGKILL after `grace` s), reap, clean up.

        Returns the exit code (negative: the signal that ended it). Calling it again is harmless.
        """
        if self._wake_w == -1:
            return self._exit_status
        if not self._reaped:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, sig)
                if self.wait_exit(grace) is not None or self._reaped:
                    break
            self._reap(block=True)
        # Anything left in the group (a grandchild that outlived the leader) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        os.write(self._wake_w, b"x")
        self._reader.join(timeout=5.0)
        self._parser.join(timeout=5.0)
        if not self._proc.closed:
            with contextlib.suppress(OSError):
                self._proc.fileobj.close()
            self._proc.closed = True
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._wake_r = self._wake_w = -1
        return self._exit_status

    def __enter__(self) -> PtySession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Reading a table + detail layout


@dataclass(frozen=True)
class TableLayout:
    """Where the table and the detail pane are, and what a row's ID looks like.

    `row_pattern` is searched in the table columns of each line; a line that matches is a table
    row, its group "id" the ID as shown (maybe cut short with "…"). `key_pattern`, searched in
    the rest of the row, tells rows with the same shown ID apart (the runId column, "55c1b9b4…"),
    so a row can be found again after the table re-sorted. `id_pattern` finds full IDs in the
    detail pane. The defaults fit the jobwatch dashboard at 120 columns (table 0-77, a
    border at 78, detail from 79) and bench/minimal_app.py, which copies that layout.
    """

    table_columns: tuple[int, int | None] = (0, 78)
    detail_columns: tuple[int, int | None] = (78, None)
    row_pattern: re.Pattern[str] = field(
        default_factory=lambda: re.compile(
            r"^\s{0,2}(?:[^\w\s]\s)?(?P<id>[a-z][a-z0-9]*(?:-[a-z0-9]*)+(?:…[a-z0-9-]*)?)(?=\s|$)"
        )
    )
    id_pattern: re.Pattern[str] = field(
        default_factory=lambda: re.compile(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b")
    )
    key_pattern: re.Pattern[str] | None = field(
        default_factory=lambda: re.compile(
            r"(?<![\w-])(?:[0-9a-f]{8}…|[0-9a-f-]{2,}…[0-9a-f-]{2,}|[0-9a-f]{8}-[0-9a-f-]{27})(?![\w-])"
        )
    )


DEFAULT_LAYOUT = TableLayout()


@dataclass(frozen=True)
class Row:
    y: int
    id: str  # as shown, maybe ending in "…"
    span: tuple[int, int]  # the columns of the ID's cells
    key: str | None = None  # layout.key_pattern's match in the rest of the row

    def same(self, other: Row) -> bool:
        """The same row (job), wherever it is now: same ID and key; without keys, same line."""
        if self.id != other.id:
            return False
        if self.key is not None and other.key is not None:
            return self.key == other.key
        return self.y == other.y

    @property
    def truncated(self) -> bool:
        """Cut short: with "…" (at the end, or in the middle as the dashboard cuts IDs, keeping
        their tail) or, where a table cuts without an ellipsis, ending with "-"."""
        return "…" in self.id or self.id.endswith("-")

    @property
    def prefix(self) -> str:
        return self.id.split("…", 1)[0]

    @property
    def suffix(self) -> str:
        """What is shown after a middle "…" ("" when cut at the end or not cut)."""
        return self.id.split("…", 1)[1] if "…" in self.id else ""

    def matches(self, full_id: str) -> bool:
        """Is `full_id` the ID this row shows (whole, or cut short)?"""
        if not self.truncated:
            return full_id == self.id
        return full_id.startswith(self.prefix) and full_id.endswith(self.suffix)


def _as_snapshot(screen: Snapshot | pyte.Screen) -> Snapshot:
    return screen if isinstance(screen, Snapshot) else _snapshot_of(screen, 0, 0.0)


def table_rows(screen: Snapshot | pyte.Screen, layout: TableLayout = DEFAULT_LAYOUT) -> list[Row]:
    """The lines that are table rows (their table columns match layout.row_pattern)."""
    snap = _as_snapshot(screen)
    x0, x1 = layout.table_columns
    rows = []
    for y in range(len(snap.cells)):
        text = snap.line(y, x0, x1)
        match = layout.row_pattern.search(text)
        if match:
            key = layout.key_pattern.search(text, match.end()) if layout.key_pattern else None
            span = (x0 + match.start("id"), x0 + match.end("id"))
            rows.append(Row(y, match.group("id"), span, key.group(0) if key else None))
    return rows


def _background(cell: Char) -> tuple[bool, str]:
    """The colour a cell's background shows: its fg when reversed (marked, since "default"
    means different colours for fg and bg)."""
    return (True, cell.fg) if cell.reverse else (False, cell.bg)


def _row_background(snap: Snapshot, row: Row) -> tuple[bool, str]:
    x0, x1 = row.span
    cells = snap.cells[row.y][max(0, x0 - 1) : x1]
    return Counter(_background(c) for c in cells).most_common(1)[0][0]


def _table_background(snap: Snapshot, rows: list[Row], layout: TableLayout) -> tuple[bool, str]:
    """The background of the table's blank lines (below or between rows), if there are any."""
    x0, x1 = layout.table_columns
    row_lines = {r.y for r in rows}
    below = [y for y in range(rows[-1].y + 1, len(snap.cells)) if y not in row_lines]
    for y in below:
        cells = snap.cells[y][x0:x1]
        if cells and all(c.data == " " for c in cells[:-2]):  # the last columns: a scrollbar
            return Counter(_background(c) for c in cells).most_common(1)[0][0]
    return (False, "default")


def cursor_line(screen: Snapshot | pyte.Screen, layout: TableLayout = DEFAULT_LAYOUT) -> int | None:
    """The line of the highlighted table row, from cell attributes; None if none stands out.

    For each table row, the most common background of its first column's cells (reverse video
    counts as a background of its foreground colour). The cursor row is the one row whose
    background no other row has. With one or two rows, or when more than one row is unique
    (several highlighted styles), the rows whose background differs from the table's blank
    lines are taken instead, and only a single such row is an answer.
    """
    snap = _as_snapshot(screen)
    rows = table_rows(snap, layout)
    if not rows:
        return None
    backgrounds = {row.y: _row_background(snap, row) for row in rows}
    counts = Counter(backgrounds.values())
    if len(rows) >= 3:
        majority = counts.most_common(1)[0][0]
        unique = [y for y, bg in backgrounds.items() if counts[bg] == 1 and bg != majority]
        if len(unique) == 1:
            return unique[0]
    plain = _table_background(snap, rows, layout)
    standing_out = [y for y, bg in backgrounds.items() if bg != plain]
    return standing_out[0] if len(standing_out) == 1 else None


def row_at(
    screen: Snapshot | pyte.Screen, y: int, layout: TableLayout = DEFAULT_LAYOUT
) -> Row | None:
    return next((row for row in table_rows(screen, layout) if row.y == y), None)


def detail_text(screen: Snapshot | pyte.Screen, layout: TableLayout = DEFAULT_LAYOUT) -> str:
    snap = _as_snapshot(screen)
    x0, x1 = layout.detail_columns
    return "\n".join(snap.line(y, x0, x1) for y in range(len(snap.cells)))


def detail_ids(screen: Snapshot | pyte.Screen, layout: TableLayout = DEFAULT_LAYOUT) -> list[str]:
    """Every full ID (layout.id_pattern) in the detail pane, top to bottom."""
    return layout.id_pattern.findall(detail_text(screen, layout))


def detail_shows_row(row: Row, screen: Snapshot, layout: TableLayout = DEFAULT_LAYOUT) -> bool:
    """Does the detail pane name the ID of `row`?"""
    return any(row.matches(found) for found in detail_ids(screen, layout))


def rows_shown(min_rows: int, layout: TableLayout = DEFAULT_LAYOUT) -> Predicate:
    """A predicate: at least `min_rows` table rows on screen, one of them highlighted."""

    def predicate(snap: Snapshot) -> bool:
        return len(table_rows(snap, layout)) >= min_rows and cursor_line(snap, layout) is not None

    return predicate


def cursor_row_in_detail(layout: TableLayout = DEFAULT_LAYOUT) -> Predicate:
    """A predicate: a row is highlighted and the detail pane names its ID."""

    def predicate(snap: Snapshot) -> bool:
        y = cursor_line(snap, layout)
        row = row_at(snap, y, layout) if y is not None else None
        return row is not None and detail_shows_row(row, snap, layout)

    return predicate


# --------------------------------------------------------------------------------------------
# Expectations for key presses


def detail_shows_row_after(
    choose: Callable[[list[Row], int], Row | None],
    layout: TableLayout = DEFAULT_LAYOUT,
    *,
    follow: bool = True,
    detail: bool = True,
) -> Expectation:
    """An expectation: the cursor is on the row `choose(rows, cursor_y)` picked on the screen
    before the key and (if `detail`) the detail pane names that row's ID.

    With `follow`, the row is that job wherever it is now (Row.same: its ID and runId), so a
    table that re-sorted between the two screens (a job changed and moved to the top) does not
    fail the press; without it, the row is whatever is on the chosen line now (right for
    `home`, whose target is a place, not a job). When the ID is cut short in the table
    ("cascade-delete-knowledge…", shared by several rows), the detail pane must name an ID that
    it did not name before the key. If `choose` returns None (the target row is not on screen:
    the table will scroll), any row but the one highlighted before will do, again with a new ID
    in the detail pane.
    """
    # What the screen before the key says, read once per key (the snapshot is kept, so that
    # its identity cannot be reused by a later snapshot).
    cache: list[tuple[Snapshot, Row | None, Row | None, set[str]]] = []

    def read_before(before: Snapshot) -> tuple[Row | None, Row | None, set[str]]:
        if not cache or cache[0][0] is not before:
            rows = table_rows(before, layout)
            y = cursor_line(before, layout)
            current = next((r for r in rows if r.y == y), None)
            target = choose(rows, y) if y is not None else None
            cache[:] = [(before, current, target, set(detail_ids(before, layout)))]
        _, current, target, shown = cache[0]
        return current, target, shown

    def expectation(before: Snapshot, now: Snapshot) -> bool:
        current, target, shown_before = read_before(before)
        if current is None:
            return False
        y = cursor_line(now, layout)
        row = row_at(now, y, layout) if y is not None else None
        if row is None:
            return False
        if target is None:
            if row.same(current):
                return False
        elif not (row.same(target) if follow else row.y == target.y):
            return False
        if not detail:
            return True
        new_needed = row.truncated or target is None
        return any(
            row.matches(found) and (not new_needed or found not in shown_before)
            for found in detail_ids(now, layout)
        )

    return expectation


def _next_row(rows: list[Row], y: int) -> Row | None:
    return next((r for r in rows if r.y > y), None)


def _first_row(rows: list[Row], y: int) -> Row | None:
    return rows[0] if rows else None


def detail_shows_next_row(layout: TableLayout = DEFAULT_LAYOUT) -> Expectation:
    """The expectation for `down`: the cursor moved to the row below (read before the key, with
    its ID) and the detail pane shows that ID. Works for the dashboard and the minimal app."""
    return detail_shows_row_after(_next_row, layout)


def cursor_on_next_row(layout: TableLayout = DEFAULT_LAYOUT) -> Expectation:
    """`down`'s first visible effect: the cursor is on the row below, whatever the detail says."""
    return detail_shows_row_after(_next_row, layout, detail=False)


def detail_shows_first_row(layout: TableLayout = DEFAULT_LAYOUT) -> Expectation:
    """The expectation for `home`: the cursor is on the first row line and the detail names
    the row there. Only right when the first row is on screen (the table is not scrolled)."""
    return detail_shows_row_after(_first_row, layout, follow=False)


def has_next_row(snap: Snapshot, layout: TableLayout = DEFAULT_LAYOUT) -> bool:
    """Is there a row on screen below the highlighted one?"""
    y = cursor_line(snap, layout)
    return y is not None and _next_row(table_rows(snap, layout), y) is not None


def measure_key_latencies(
    session: PtySession,
    key: str | bytes,
    expects: Mapping[str, Expectation],
    timeout: float = 5.0,
) -> dict[str, float | None]:
    """For one press of `key`: for each named expectation, milliseconds from writing the key to
    the arrival of the first chunk (frame) after which `expect(before, now)` holds; None if it
    never did within `timeout` seconds, or already held before the key (then it cannot tell the
    key's effect)."""
    before, waiters = session.arm_all(list(expects.values()))
    if any(w.snapshot is not None for w in waiters):
        for w in waiters:
            w.cancel()
        return dict.fromkeys(expects)
    sent = session.send(key)
    deadline = time.monotonic() + timeout
    results: dict[str, float | None] = {}
    for name, waiter in zip(expects, waiters, strict=True):
        snap = waiter.wait(max(0.0, deadline - time.monotonic()))
        results[name] = None if snap is None else (snap.time - sent) * 1000.0
    return results


def measure_key_latency(
    session: PtySession, key: str | bytes, expect: Expectation, timeout: float = 5.0
) -> float | None:
    """Milliseconds from writing `key` to the arrival of the first chunk (frame) after which
    `expect(before, now)` holds; None as measure_key_latencies says."""
    return measure_key_latencies(session, key, {"key": expect}, timeout)["key"]


def first_rows_seconds(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    predicate: Predicate | None = None,
    *,
    timeout: float = 30.0,
    size: tuple[int, int] = DEFAULT_SIZE,
    cwd: str | None = None,
    quit_key: str | None = None,
) -> tuple[float | None, float, str]:
    """Seconds from spawning `argv` to the first screen where `predicate` holds (default: ten
    table rows, one highlighted), None on timeout; with perf_counter() of the spawn and the
    screen's text then. `quit_key` is sent afterwards (and the exit awaited); the process is
    closed in any case."""
    check = predicate or rows_shown(10)
    with PtySession(argv, size=size, env=env, cwd=cwd) as session:
        snap = session.wait_for_snapshot(check, timeout)
        seconds = None if snap is None else snap.time - session.started_at
        text = session.screen_text()
        if quit_key is not None and snap is not None:
            session.send(quit_key)
            session.wait_exit(15.0)
        return seconds, session.started_at, text


# --------------------------------------------------------------------------------------------
# Process figures from /proc

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat split so that index n - 1 is field n of proc(5) (comm may hold spaces)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    head, _, tail = text.rpartition(")")
    pid_field, _, comm = head.partition(" (")
    return [pid_field, comm, *tail.split()]


def cpu_seconds(pid: int) -> float:
    """CPU seconds of process `pid`: utime + stime (fields 14, 15: all its threads) plus
    cutime + cstime (16, 17: its children that it has waited for)."""
    fields = _stat_fields(pid)
    return sum(int(fields[n - 1]) for n in (14, 15, 16, 17)) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` (VmRSS of /proc/PID/status) in MiB; 0.0 for a zombie."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _all_parents() -> Iterator[tuple[int, int]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield int(entry), int(_stat_fields(int(entry))[3])
            except (OSError, IndexError, ValueError):
                continue


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants."""
    children: dict[int, list[int]] = {}
    for child, parent in _all_parents():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds() summed over `pid` and its live descendants (for a command run by a shell)."""
    total = 0.0
    for p in process_tree(pid):
        try:
            total += cpu_seconds(p)
        except OSError:
            continue
    return total


def tree_rss_mb(pid: int) -> float:
    """rss_mb() summed over `pid` and its live descendants."""
    total = 0.0
    for p in process_tree(pid):
        try:
            total += rss_mb(p)
        except OSError:
            continue
    return total
