"""What the poller asks for in all-jobs mode, and when it reads a workspace's whole list.

A workspace's list only grows, and most of it is finished: a job in a terminal state never changes
again for that run. So once a workspace is large, a tick of the all-jobs poll asks only for the
jobs that can still change (`ActiveJobs`: the ones not terminal, batched by the client as any
list of IDs), and the whole list is read at a slower *discovery* interval (`Discovery`): that is how
new jobs appear, and how a workflowId started again after it finished (a new runId) is caught.
At 100k jobs of which 2% run, a tick asks for ~2,000 jobs (~250 KB in two requests) instead of
the whole list (~12.7 MB).

The whole list is read every tick instead while that is no dearer (`partial_worth_it`): a small
workspace (one request either way, and new jobs show within a tick), or one where most jobs run.

Rate limits slow both (`Pace`): each 429 or 503 doubles a factor (up to MAX_SLOWDOWN) that
multiplies the tick interval and the discovery interval; RECOVERY_TICKS successful ticks in a
row halve it again. The poller's own backoff still spaces the retries of a failing tick.

Nothing here does I/O; the poller (jobwatch.poller) owns the loop. Nothing imports Textual.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jobwatch.models import Job
from jobwatch.statuses import TERMINAL_CODES

#: seconds between reads of the whole list in all-jobs mode, unless the workspace's
#: `discovery_interval` or --discovery-interval says otherwise
DEFAULT_DISCOVERY_INTERVAL = 30.0
#: up to this many jobs the whole list is read every tick (one request, ~64 KB)
SMALL_WORKSPACE_JOBS = 500
#: past this many requests of IDs (of the client's BATCH_SIZE each) a tick reads the whole list
MAX_PARTIAL_REQUESTS = 10
#: the IDs a request carries (jobwatch.api.client.SharelyClient.BATCH_SIZE; not imported: the
#: client pulls in httpx) -- tests/unit/test_schedule.py pins the two together
BATCH_SIZE = 1000
#: rate limits multiply the intervals by at most this
MAX_SLOWDOWN = 8.0
#: successful ticks in a row that halve the slowdown
RECOVERY_TICKS = 10


def partial_worth_it(active: int, known: int) -> bool:
    """Whether a tick should ask for the `active` jobs rather than read the whole list of `known`.

    Only in a workspace past SMALL_WORKSPACE_JOBS, with at most MAX_PARTIAL_REQUESTS requests of
    IDs, and at most half the jobs active (an ID asked for costs its bytes in the request too).
    """
    return (
        known > SMALL_WORKSPACE_JOBS
        and active <= MAX_PARTIAL_REQUESTS * BATCH_SIZE
        and active * 2 <= known
    )


class ActiveJobs:
    """The jobs of an all-jobs poll that can still change (not terminal), in first-seen order.

    Kept up to date from each tick's changed jobs (O(changes)), so that choosing a tick's IDs
    never walks the whole workspace. A job left out of `missing_after` answers in a row to its
    ID is no longer asked for: the API dropped it, and it stays as it was last seen (as a job
    that disappears from the whole list does); a later discovery brings it back if it returns.
    """

    def __init__(self, missing_after: int) -> None:
        self.missing_after = missing_after
        self._ids: dict[str, None] = {}
        self._misses: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, workflow_id: object) -> bool:
        return workflow_id in self._ids

    def ids(self) -> list[str]:
        return list(self._ids)

    def update(self, jobs: Iterable[Job]) -> None:
        """Take these jobs' new states: a terminal one leaves the set, any other joins it."""
        ids, misses = self._ids, self._misses
        terminal = TERMINAL_CODES
        for job in jobs:
            wid = job.workflow_id
            if job.status.code in terminal:
                if wid in ids:
                    del ids[wid]
                    misses.pop(wid, None)
            elif wid not in ids:
                ids[wid] = None

    def answered(self, requested: Sequence[str], answer: Iterable[Job]) -> None:
        """Count the requested IDs the answer left out; drop those missing too often."""
        if not requested:
            return
        seen = {job.workflow_id for job in answer}
        misses = self._misses
        for wid in requested:
            if wid in seen:
                if misses:
                    misses.pop(wid, None)
                continue
            count = misses.get(wid, 0) + 1
            if count >= self.missing_after:
                misses.pop(wid, None)
                self._ids.pop(wid, None)
            else:
                misses[wid] = count

    def clear(self) -> None:
        self._ids.clear()
        self._misses.clear()


class Pace:
    """How much rate limits (429, 503) slow the poller down: a factor on both intervals."""

    def __init__(self) -> None:
        self.factor = 1.0
        self._good = 0

    def rate_limited(self) -> None:
        self.factor = min(MAX_SLOWDOWN, self.factor * 2)
        self._good = 0

    def succeeded(self) -> None:
        if self.factor == 1.0:
            return
        self._good += 1
        if self._good >= RECOVERY_TICKS:
            self.factor = max(1.0, self.factor / 2)
            self._good = 0


class Discovery:
    """When the next read of the whole list is due: first of all, then every `interval` seconds
    (times the Pace's factor) after the last one, and at once when forced (the dashboard's r)."""

    def __init__(self, interval: float = DEFAULT_DISCOVERY_INTERVAL) -> None:
        if not interval > 0:
            raise ValueError("the discovery interval must be greater than 0")
        self.interval = interval
        #: when the whole list was last read (the poller's clock); None: never
        self.last_read: float | None = None
        self._forced = True
        self._not_before: float | None = None

    def due(self, now: float, factor: float = 1.0, tick: float = 0.0) -> bool:
        """Whether this tick reads the whole list. `tick`: the time to the next tick; the list is
        read at the last tick before the interval would be overrun, so that a job that appeared
        just after a read is seen within one interval (not one interval and one tick)."""
        if self._forced or self.last_read is None:
            return True  # asked for, or never read: nothing to ask for by ID yet
        if self._not_before is not None and now < self._not_before:
            return False
        return now + tick - self.last_read >= self.interval * factor

    def force(self) -> None:
        self._forced = True

    def read(self, now: float) -> None:
        """The whole list was read (successfully) at `now`."""
        self.last_read = now
        self._forced = False
        self._not_before = None

    def failed(self, now: float, factor: float = 1.0) -> None:
        """A read of the whole list failed at `now`: the ticks go on by ID (once the list was read
        at all) and the next read of the whole list waits one more interval."""
        self._forced = False
        self._not_before = now + self.interval * factor
