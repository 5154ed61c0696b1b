"""The history's write statements: one tick's rows (planned by jobwatch.store.coverage), the poll
times and gaps, labels and pins. Plain functions of a connection inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from jobwatch.store.coverage import OldRow, Tick
from jobwatch.windows import gap_threshold

#: workflowIds per `IN (...)` lookup (SQLite before 3.32 allows 999 variables per statement)
LOOKUP_CHUNK = 500
#: from this many changed jobs on, one scan of the workspace's rows beats lookups by ID: 100k
#: changed jobs took 270-340 ms in 200 `IN` lookups, 210-250 ms in one scan (best of 3, 2 cores)
SCAN_FROM = 5000


def _chunks(items: Sequence[str], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def poll_times(conn: sqlite3.Connection, workspace_id: str) -> tuple[float | None, float | None]:
    """(last successful poll, last successful all-jobs poll) of the workspace."""
    row = conn.execute(
        "SELECT last_success, last_full FROM polls WHERE workspace_id = ?", (workspace_id,)
    ).fetchone()
    return (None, None) if row is None else (row[0], row[1])


def outside_full(conn: sqlite3.Connection, workspace_id: str) -> set[str]:
    """Known jobs not in the latest all-jobs answer (read through the partial index)."""
    rows = conn.execute(
        "SELECT workflow_id FROM jobs WHERE workspace_id = ? AND in_full = 0", (workspace_id,)
    )
    return {row[0] for row in rows}


def old_rows(
    conn: sqlite3.Connection, workspace_id: str, last_full: float | None, wids: Sequence[str]
) -> dict[str, OldRow]:
    """What a change needs to know of known jobs: when each was last seen (in the latest
    all-jobs answer: at that poll), and when its run started."""
    seen = "coalesce(seen_at, last_change)"
    columns = (
        f"workflow_id, CASE WHEN in_full = 1 AND ?2 > {seen} THEN ?2 ELSE {seen} END,"
        " start_not_before, start_observed_at"
    )
    make = OldRow._make
    if len(wids) >= SCAN_FROM:
        wanted = set(wids)
        rows = conn.execute(
            f"SELECT {columns} FROM jobs WHERE workspace_id = ?1", (workspace_id, last_full)
        )
        return {row[0]: make(row[1:]) for row in rows if row[0] in wanted}
    found: dict[str, OldRow] = {}
    for chunk in _chunks(wids):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT {columns} FROM jobs WHERE workspace_id = ?1 AND workflow_id IN ({marks})",
            (workspace_id, last_full, *chunk),
        )
        found.update((row[0], make(row[1:])) for row in rows)
    return found


def write_tick(
    conn: sqlite3.Connection,
    workspace_id: str,
    tick: Tick,
    last_full: float | None,
) -> None:
    """Write a planned tick's rows (transitions, jobs, runs, who is in the all-jobs answer)."""
    if tick.transitions:
        conn.executemany(
            "INSERT INTO transitions (workspace_id, workflow_id, status_code, status_name, run_id,"
            " observed_at, not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
            tick.transitions,
        )
    if tick.new_jobs:
        conn.executemany(
            "INSERT INTO jobs (workspace_id, workflow_id, status_code, status_name, run_id,"
            " first_seen, last_change, seen_at, in_full, start_not_before, start_observed_at)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?7, ?8, ?9)",
            tick.new_jobs,
        )
    if tick.changed_jobs:
        conn.executemany(
            "INSERT INTO jobs (workspace_id, workflow_id, status_code, status_name, run_id,"
            " first_seen, last_change, seen_at, in_full, start_not_before, start_observed_at)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, coalesce(?7, 0), ?8, ?9)"
            " ON CONFLICT (workspace_id, workflow_id) DO UPDATE SET"
            " status_code = ?3, status_name = ?4, run_id = ?5, last_change = ?6, seen_at = ?6,"
            " in_full = coalesce(?7, in_full), start_not_before = ?8, start_observed_at = ?9",
            tick.changed_jobs,
        )
    if tick.runs:
        conn.executemany(
            "INSERT OR IGNORE INTO runs (workspace_id, workflow_id, run_id, code,"
            " start_not_before, start_observed_at, end_not_before, end_observed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            tick.runs,
        )
    if tick.returning:
        conn.executemany(
            "UPDATE jobs SET in_full = 1 WHERE workspace_id = ? AND workflow_id = ?",
            _pairs(workspace_id, tick.returning),
        )
    if tick.absent:
        # It was last seen by the previous all-jobs poll: keep that time on the row.
        conn.executemany(
            "UPDATE jobs SET in_full = 0, seen_at = max(coalesce(seen_at, last_change),"
            " coalesce(?1, last_change)) WHERE workspace_id = ?2 AND workflow_id = ?3",
            ((last_full, workspace_id, wid) for wid in tick.absent),
        )


def write_seen(
    conn: sqlite3.Connection, workspace_id: str, seen: Iterable[tuple[str, float]]
) -> None:
    """Move jobs' seen_at forward to when a poll of chosen IDs saw them unchanged (never back)."""
    conn.executemany(
        "UPDATE jobs SET seen_at = ?1 WHERE workspace_id = ?2 AND workflow_id = ?3"
        " AND coalesce(seen_at, last_change) < ?1",
        ((at, workspace_id, wid) for wid, at in seen),
    )


def _pairs(workspace_id: str, wids: Iterable[str]) -> Iterator[tuple[str, str]]:
    return ((workspace_id, wid) for wid in wids)


def write_poll(
    conn: sqlite3.Connection,
    workspace_id: str,
    polled_at: float,
    *,
    full: bool,
    last_success: float | None,
    interval: float | None,
) -> None:
    """Move the workspace's poll times (never backwards) and record a gap before this poll."""
    if last_success is not None and polled_at - last_success > gap_threshold(interval):
        conn.execute(
            "INSERT OR IGNORE INTO gaps (workspace_id, started, ended) VALUES (?, ?, ?)",
            (workspace_id, last_success, polled_at),
        )
    conn.execute(
        "INSERT INTO polls (workspace_id, last_success, last_full) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (workspace_id) DO UPDATE SET"
        " last_success = max(last_success, excluded.last_success),"
        " last_full = coalesce(max(last_full, excluded.last_full), last_full, excluded.last_full)",
        (workspace_id, polled_at, polled_at if full else None),
    )


def set_annotation(
    conn: sqlite3.Connection,
    workspace_id: str,
    workflow_id: str,
    *,
    label: str | None = None,
    set_label: bool = False,
    pinned: bool | None = None,
) -> None:
    """Change a job's label and/or pin; a row with neither is removed."""
    conn.execute(
        "INSERT INTO annotations (workspace_id, workflow_id, label, pinned) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (workspace_id, workflow_id) DO UPDATE SET"
        " label = CASE WHEN ?5 THEN ?3 ELSE label END,"
        " pinned = CASE WHEN ?6 THEN ?4 ELSE pinned END",
        (workspace_id, workflow_id, label, 1 if pinned else 0, set_label, pinned is not None),
    )
    conn.execute(
        "DELETE FROM annotations WHERE workspace_id = ? AND workflow_id = ?"
        " AND label IS NULL AND pinned = 0",
        (workspace_id, workflow_id),
    )
