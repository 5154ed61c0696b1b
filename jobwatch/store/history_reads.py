"""The history's read queries, as plain functions of a connection.

Every function takes `windows`: whether the file has the version-2 columns and tables (a
read-only file of an older version is read as it is: unknown windows, no gaps, no labels).
The records they return are defined here too.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from operator import itemgetter

import msgspec

from jobwatch.durations import COUNTED_CODE, FinishedRun
from jobwatch.models import Status, shared_status, shared_text
from jobwatch.statuses import TERMINAL_CODES
from jobwatch.windows import NARROW_WINDOW_SECONDS, Gap, Window


class Transition(msgspec.Struct, frozen=True, gc=False):
    status: Status
    run_id: str
    observed_at: float
    #: the last successful poll that still saw the earlier state; None: unknown
    not_before: float | None = None

    @property
    def window(self) -> Window:
        return Window(self.not_before, self.observed_at)


# A msgspec Struct, not a dataclass: the dashboard reads 100k of these on open, and a frozen
# dataclass of nine fields took ~5 us each to build (0.5 s), a Struct a fraction of that.
class JobRecord(msgspec.Struct, frozen=True, gc=False):
    workflow_id: str
    status: Status
    run_id: str
    first_seen: float
    last_change: float
    #: a person's name for the job (stored as given; escape it before showing it)
    label: str | None = None
    pinned: bool = False
    #: the window in which the current (or last) run started (see `started`)
    start_not_before: float | None = None
    start_observed_at: float | None = None

    @property
    def started(self) -> Window | None:
        """When the current (or last) run started; None: never seen starting or running."""
        if self.start_observed_at is None:
            return None
        return Window(self.start_not_before, self.start_observed_at)


@dataclass(frozen=True)
class JobHistory:
    """What the detail pane shows of a job from the history: its transitions (oldest first),
    its distinct runIds in the order first seen, and the gaps during its lifetime."""

    transitions: list[Transition]
    run_chain: list[str]
    gaps: list[Gap]


#: an empty history (a job the store never saw, or no store)
NO_HISTORY = JobHistory([], [], [])


@dataclass(frozen=True)
class Annotation:
    label: str | None
    pinned: bool


def _job_select(windows: bool) -> str:
    if not windows:
        return (
            "SELECT workflow_id, status_code, status_name, run_id, first_seen, last_change,"
            " NULL, NULL, NULL, 0 FROM jobs j WHERE j.workspace_id = ?"
        )
    return (
        "SELECT j.workflow_id, j.status_code, j.status_name, j.run_id, j.first_seen,"
        " j.last_change, j.start_not_before, j.start_observed_at, a.label, coalesce(a.pinned, 0)"
        " FROM jobs j LEFT JOIN annotations a"
        " ON a.workspace_id = j.workspace_id AND a.workflow_id = j.workflow_id"
        " WHERE j.workspace_id = ?"
    )


def _job_record(row: tuple) -> JobRecord:
    wid, code, name, run_id, first_seen, last_change, start_nb, start_at, label, pinned = row
    return JobRecord(
        shared_text(wid),
        shared_status(code, name),
        shared_text(run_id),
        first_seen,
        last_change,
        label,
        pinned == 1,
        start_nb,
        start_at,
    )


def jobs(conn: sqlite3.Connection, windows: bool, workspace_id: str) -> list[JobRecord]:
    """Every job ever seen in the workspace, in the order first seen (then by workflowId).

    Sorted here, not by an ORDER BY: SQLite sorted the 100k rows of a restart in a temporary
    B-tree, 330-400 ms for the query against 220 ms unsorted, and Python sorts the fetched tuples
    in ~35 ms (same order: UTF-8 bytes and code points compare alike).
    """
    rows = job_cursor(conn, windows, workspace_id).fetchall()
    rows.sort(key=_first_seen_order)
    return records_of(rows)


def job_cursor(conn: sqlite3.Connection, windows: bool, workspace_id: str) -> sqlite3.Cursor:
    """Every job of the workspace, in no set order: rows for `records_of`."""
    return conn.execute(_job_select(windows), (workspace_id,))


def records_of(rows: list[tuple]) -> list[JobRecord]:
    """The records of rows `job_cursor` gave."""
    return [_job_record(row) for row in rows]


#: (first_seen, workflow_id) of a `_job_select` row
_first_seen_order = itemgetter(4, 0)

#: the columns `leading_jobs` may order by
LEADING_COLUMNS = ("last_change", "first_seen")


def leading_jobs(
    conn: sqlite3.Connection, windows: bool, workspace_id: str, column: str, limit: int
) -> list[JobRecord]:
    """The pinned jobs and the `limit` jobs latest in `column` (ties: the smaller workflowId),
    each once: what a restart needs for its first screen without reading every job.

    SQLite keeps the top `limit` while it scans, so no row but those becomes a Python object:
    ~25-35 ms at 100k jobs, against ~150-220 ms for every job (`jobs`). Its BINARY order of
    workflow_id is Python's order of str (UTF-8 bytes and code points compare alike).
    """
    if column not in LEADING_COLUMNS:
        raise ValueError(f"not a column leading_jobs orders by: {column!r}")
    select = _job_select(windows)
    rows = conn.execute(
        f"{select} ORDER BY j.{column} DESC, j.workflow_id LIMIT ?", (workspace_id, limit)
    ).fetchall()
    if windows:
        rows += conn.execute(f"{select} AND a.pinned = 1", (workspace_id,)).fetchall()
    records: dict[str, JobRecord] = {}
    for row in rows:
        records.setdefault(row[0], _job_record(row))
    return list(records.values())


def job_count(conn: sqlite3.Connection, workspace_id: str) -> int:
    """How many jobs the workspace has stored (an index count: ~1 ms at 100k)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM jobs WHERE workspace_id = ?", (workspace_id,)
        ).fetchone()[0]
    )


def job(
    conn: sqlite3.Connection, windows: bool, workspace_id: str, workflow_id: str
) -> JobRecord | None:
    row = conn.execute(
        _job_select(windows) + " AND j.workflow_id = ?", (workspace_id, workflow_id)
    ).fetchone()
    return None if row is None else _job_record(row)


def transitions(
    conn: sqlite3.Connection, windows: bool, workspace_id: str, workflow_id: str
) -> list[Transition]:
    """The job's transitions, oldest first (the first one is when it was first seen)."""
    not_before = "not_before" if windows else "NULL"
    rows = conn.execute(
        f"SELECT status_code, status_name, run_id, observed_at, {not_before} FROM transitions"
        " WHERE workspace_id = ? AND workflow_id = ? ORDER BY id",
        (workspace_id, workflow_id),
    ).fetchall()
    return [Transition(shared_status(code, name), run, at, nb) for code, name, run, at, nb in rows]


def gaps(
    conn: sqlite3.Connection,
    windows: bool,
    workspace_id: str,
    start: float | None = None,
    end: float | None = None,
) -> list[Gap]:
    """The workspace's gaps overlapping (start, end) (None: unbounded), oldest first."""
    if not windows:
        return []
    lo = float("-inf") if start is None else start
    hi = float("inf") if end is None else end
    rows = conn.execute(
        "SELECT started, ended FROM gaps WHERE workspace_id = ? AND started < ? AND ended > ?"
        " ORDER BY started",
        (workspace_id, hi, lo),
    )
    return [Gap(started, ended) for started, ended in rows]


def job_lifetime(
    conn: sqlite3.Connection, windows: bool, workspace_id: str, workflow_id: str
) -> tuple[float, float] | None:
    """From the earliest time the job can have existed to when its watch ended: its last
    change when it is over, else the workspace's last successful poll."""
    first_nb = "min(coalesce(t.not_before, t.observed_at))" if windows else "min(t.observed_at)"
    row = conn.execute(
        f"SELECT {first_nb}, j.last_change, j.status_code, p.last_success"
        " FROM transitions t JOIN jobs j"
        " ON j.workspace_id = t.workspace_id AND j.workflow_id = t.workflow_id"
        " LEFT JOIN polls p ON p.workspace_id = t.workspace_id"
        " WHERE t.workspace_id = ? AND t.workflow_id = ?",
        (workspace_id, workflow_id),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    first, last_change, code, last_poll = row
    end = last_change if code in TERMINAL_CODES or last_poll is None else last_poll
    return first, max(end, last_change)


def finished_runs(conn: sqlite3.Connection, windows: bool, workspace_id: str) -> list[FinishedRun]:
    """Every finished run whose start and end windows are both known, oldest end first."""
    if not windows:
        return []
    rows = conn.execute(
        "SELECT workflow_id, code, start_not_before, start_observed_at, end_not_before,"
        " end_observed_at FROM runs WHERE workspace_id = ? ORDER BY end_observed_at",
        (workspace_id,),
    )
    return [
        FinishedRun(wid, Window(snb, sat), Window(enb, eat), code)
        for wid, code, snb, sat, enb, eat in rows
    ]


def counted_durations(
    conn: sqlite3.Connection, windows: bool, workspace_id: str
) -> list[tuple[str, float]]:
    """(workflowId, seconds) of every run that counts for typical durations: the rule of
    jobwatch.durations.FinishedRun.counts, in SQL, so that no run object is built: reading 100k
    finished runs as FinishedRun objects took ~0.55 s; this way, with their kinds and medians,
    HistoryStore.typical_durations takes 110-235 ms (python -m bench.history, 2 cores)."""
    if not windows:
        return []
    rows = conn.execute(
        "SELECT workflow_id, (end_not_before + end_observed_at - start_not_before"
        " - start_observed_at) / 2 FROM runs WHERE workspace_id = ?1 AND code = ?2"
        " AND start_observed_at - start_not_before <= ?3"
        " AND end_observed_at - end_not_before <= ?3",
        (workspace_id, COUNTED_CODE, NARROW_WINDOW_SECONDS),
    )
    return rows.fetchall()


def annotations_of(
    conn: sqlite3.Connection, windows: bool, workspace_id: str
) -> dict[str, Annotation]:
    """Every labelled or pinned job of the workspace."""
    if not windows:
        return {}
    rows = conn.execute(
        "SELECT workflow_id, label, pinned FROM annotations WHERE workspace_id = ?",
        (workspace_id,),
    )
    return {wid: Annotation(label, bool(pinned)) for wid, label, pinned in rows}


def last_poll(conn: sqlite3.Connection, workspace_id: str) -> float | None:
    row = conn.execute(
        "SELECT last_success FROM polls WHERE workspace_id = ?", (workspace_id,)
    ).fetchone()
    return None if row is None else row[0]


def tracked(conn: sqlite3.Connection, workspace_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT workflow_id FROM tracked WHERE workspace_id = ? ORDER BY position",
        (workspace_id,),
    )
    return [row[0] for row in rows]


#: the most workflow IDs bound in one query (SQLite's limit is 32766 since 3.32, 999 before)
IDS_PER_QUERY = 500


def job_histories(
    conn: sqlite3.Connection, windows: bool, workspace_id: str, workflow_ids: list[str]
) -> dict[str, JobHistory]:
    """`transitions`, `run_chain` and the gaps of `job_lifetime` for several jobs in a few
    queries (the same answers as those functions, one job at a time); an unknown job: NO_HISTORY."""
    found: dict[str, list[Transition]] = {}
    ends: dict[str, tuple[float, int]] = {}
    not_before = "not_before" if windows else "NULL"
    for start in range(0, len(workflow_ids), IDS_PER_QUERY):
        chunk = workflow_ids[start : start + IDS_PER_QUERY]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT workflow_id, status_code, status_name, run_id, observed_at, {not_before}"
            f" FROM transitions WHERE workspace_id = ? AND workflow_id IN ({marks}) ORDER BY id",
            (workspace_id, *chunk),
        )
        for wid, code, name, run, at, nb in rows:
            found.setdefault(wid, []).append(Transition(shared_status(code, name), run, at, nb))
        for wid, last_change, code in conn.execute(
            f"SELECT workflow_id, last_change, status_code FROM jobs"
            f" WHERE workspace_id = ? AND workflow_id IN ({marks})",
            (workspace_id, *chunk),
        ):
            ends[wid] = (last_change, code)
    workspace_gaps = gaps(conn, windows, workspace_id) if windows and found else []
    polled = last_poll(conn, workspace_id) if workspace_gaps else None
    out: dict[str, JobHistory] = {}
    for wid in workflow_ids:
        transitions = found.get(wid)
        if not transitions:
            out[wid] = NO_HISTORY
            continue
        chain = [run for run in dict.fromkeys(t.run_id for t in transitions) if run]
        job_gaps: list[Gap] = []
        end = ends.get(wid)
        if workspace_gaps and end is not None:
            # job_lifetime's span, from the transitions already read
            first = min(
                t.observed_at if t.not_before is None else t.not_before for t in transitions
            )
            last_change, code = end
            until = last_change if code in TERMINAL_CODES or polled is None else polled
            until = max(until, last_change)
            job_gaps = [g for g in workspace_gaps if g.started < until and g.ended > first]
        out[wid] = JobHistory(transitions, chain, job_gaps)
    return out


def run_chain(conn: sqlite3.Connection, workspace_id: str, workflow_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT run_id FROM transitions WHERE workspace_id = ? AND workflow_id = ? ORDER BY id",
        (workspace_id, workflow_id),
    )
    return [run_id for run_id in dict.fromkeys(row[0] for row in rows) if run_id]
