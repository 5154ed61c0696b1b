"""The histories of the jobs around the table's cursor, kept for the detail pane.

Why: the pane shows a job's transitions, runIds and gaps from the history (four SQLite queries).
Read on the event loop on every cursor move, that took 1.3-2.8 ms per press at 100k jobs, and
4-20 ms while the poller's history write ran in its thread (GIL and SQLite contention; traced in
the 120x40 pty bench at 100k growing, the pane's read for one press once took 82 ms). Now the
screen (jobwatch.tui.screens.job_detail) reads the rows before and after the cursor in one read
in a thread and keeps them here, so holding a key finds each next job's history already read.

Each entry carries the `version` it was read at. The version goes up when a tick is stored in
the history (`outdated`): entries read before it may miss that tick's transitions. Such an entry
is still shown (the row is new, the history one tick old: what the pane showed before, between a
tick's rows and its write) while it is read again, and dropped once a second tick is stored. An
entry is kept per workflowId only, so a read that comes back late can never put one job's history
on another's row.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from jobwatch.store.history import JobHistory

__all__ = ["HISTORIES_KEPT", "RecentHistories"]

#: the most histories kept (the few pages around the cursor; LRU)
HISTORIES_KEPT = 512


class RecentHistories:
    """Job histories read for the detail pane, by workflowId, with the version read at."""

    def __init__(self, limit: int = HISTORIES_KEPT) -> None:
        self.limit = limit
        self.version = 0
        self._entries: OrderedDict[str, tuple[int, JobHistory]] = OrderedDict()
        #: a read is under way (the screen starts one at a time)
        self.reading = False
        #: more was wanted while it ran: look again when it ends
        self.again = False

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, workflow_id: str) -> JobHistory | None:
        """The job's history as last read, if read since the tick before the last one stored."""
        entry = self._entries.get(workflow_id)
        if entry is None or entry[0] < self.version - 1:
            return None
        self._entries.move_to_end(workflow_id)
        return entry[1]

    def fresh(self, workflow_id: str) -> bool:
        """Read since the last tick was stored."""
        entry = self._entries.get(workflow_id)
        return entry is not None and entry[0] >= self.version

    def missing(self, workflow_ids: Iterable[str]) -> list[str]:
        """The ones not fresh, in the order given."""
        return [wid for wid in workflow_ids if not self.fresh(wid)]

    def put(self, version: int, found: Mapping[str, JobHistory]) -> None:
        """Keep what a read begun at `version` found (never over what a later read found)."""
        entries = self._entries
        for wid, history in found.items():
            old = entries.get(wid)
            if old is not None and old[0] > version:
                continue
            entries[wid] = (version, history)
            entries.move_to_end(wid)
        while len(entries) > self.limit:
            entries.popitem(last=False)

    def outdated(self) -> None:
        """A tick was stored in the history: what was read before may miss its transitions."""
        self.version += 1
