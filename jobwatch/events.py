"""Change events the poller emits after each tick, so that no caller diffs by itself.

Times are wall-clock seconds since the epoch (float), as observed by jobwatch:
the API reports no timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobwatch.errors import ApiError, JobwatchError
from jobwatch.models import Job, Status


@dataclass(frozen=True, slots=True)
class JobAppeared:
    """First time this run of the poller sees the job."""

    job: Job
    at: float


@dataclass(frozen=True, slots=True)
class StatusChanged:
    job: Job
    previous: Status
    at: float


@dataclass(frozen=True, slots=True)
class RunIdChanged:
    """The job went on under a new runId (CONTINUED_AS_NEW, or a reset)."""

    job: Job
    previous_run_id: str
    at: float


@dataclass(frozen=True, slots=True)
class JobMissing:
    """A requested ID was absent from a successful response (`misses` polls in a row)."""

    workflow_id: str
    misses: int
    at: float


@dataclass(frozen=True, slots=True)
class JobNotFound:
    """A requested ID stayed absent; treated as terminal from now on."""

    workflow_id: str
    at: float


@dataclass(frozen=True, slots=True)
class PollFailed:
    error: ApiError
    attempt: int
    retry_in: float
    retry_at: float
    at: float


@dataclass(frozen=True, slots=True)
class Recovered:
    """The first successful poll after one or more failures."""

    failures: int
    at: float


@dataclass(frozen=True, slots=True)
class PollCompleted:
    """End of every successful tick, changed or not: drives "updated Ns ago"."""

    at: float
    jobs: int
    changed: int
    nbytes: int
    duration: float


@dataclass(frozen=True, slots=True)
class HistoryFailed:
    """The history store could not record this tick; polling goes on, data stays in memory."""

    error: JobwatchError
    at: float


@dataclass(frozen=True, slots=True)
class PollerStopped:
    """The poller gave up (401 after renewal, 403, 404, retries exhausted) or finished."""

    error: ApiError | None
    at: float


Event = (
    JobAppeared
    | StatusChanged
    | RunIdChanged
    | JobMissing
    | JobNotFound
    | PollFailed
    | Recovered
    | PollCompleted
    | HistoryFailed
    | PollerStopped
)
