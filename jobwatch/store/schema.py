"""The history's SQLite schema: one migration per version, applied in order (PRAGMA user_version).

Version 1 is the first schema. Version 2 adds observation windows and what they need:
- transitions.not_before: the last successful poll that still saw the earlier state (NULL when
  nothing earlier was seen, and for every row written before version 2: unknown, not invented);
- jobs.seen_at and jobs.in_full: when the job was last seen, kept cheap at 100k jobs: a job in the
  answer of the workspace's latest all-jobs poll (in_full = 1) was seen at polls.last_full, which
  one UPDATE per poll moves; seen_at is written only when a job changes, is seen by a poll of
  chosen IDs (at most once a minute: history.SEEN_WRITE_EVERY), or leaves the all-jobs answer
  (then it keeps the last time it was in it);
- jobs.start_not_before / start_observed_at: the window in which the job's current run started;
- polls.last_full: the latest successful poll of all jobs;
- gaps: periods without a successful poll; runs: finished runs with both windows known (for
  typical durations); annotations: a person's label and pin per job.
"""

from __future__ import annotations

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
    # 2: observation windows, gaps, finished runs, labels and pins
    """
    ALTER TABLE transitions ADD COLUMN not_before REAL;
    ALTER TABLE jobs ADD COLUMN seen_at REAL;
    ALTER TABLE jobs ADD COLUMN in_full INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN start_not_before REAL;
    ALTER TABLE jobs ADD COLUMN start_observed_at REAL;
    CREATE INDEX jobs_outside_full ON jobs (workspace_id, workflow_id) WHERE in_full = 0;
    ALTER TABLE polls ADD COLUMN last_full REAL;
    CREATE TABLE gaps (
        workspace_id TEXT NOT NULL,
        started REAL NOT NULL,
        ended REAL NOT NULL,
        PRIMARY KEY (workspace_id, started)
    ) WITHOUT ROWID;
    CREATE TABLE runs (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        code INTEGER NOT NULL,
        start_not_before REAL NOT NULL,
        start_observed_at REAL NOT NULL,
        end_not_before REAL NOT NULL,
        end_observed_at REAL NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id, end_observed_at)
    ) WITHOUT ROWID;
    CREATE TABLE annotations (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        label TEXT,
        pinned INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (workspace_id, workflow_id)
    ) WITHOUT ROWID;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
#: the first version with observation windows, gaps, runs and annotations
WINDOWS_VERSION = 2


def statements(migration: str) -> list[str]:
    """The SQL statements of one migration (none of them contains a semicolon in a literal)."""
    return [s for s in migration.split(";") if s.strip()]
