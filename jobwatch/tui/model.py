"""What the dashboard knows about a workspace's jobs, apart from any widget: one row per job."""

from __future__ import annotations

from dataclasses import dataclass

from jobwatch.models import Status


@dataclass(slots=True)
class JobRow:
    """One line of the table. Treat as immutable once given to the table: upsert a new one to change it."""

    workflow_id: str
    status: Status
    run_id: str
    first_seen: float
    last_change: float
