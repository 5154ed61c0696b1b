"""Messages the poll worker posts to the main screen; widgets react to these and never poll.

Every message carries the `generation` of the workspace session that produced it, so that a message
from a worker cancelled by a workspace switch is recognised and dropped. (`Health` lives in
jobwatch.tui.model and is importable from here too.)
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from jobwatch.events import Event
from jobwatch.tui.model import Health, JobRow

__all__ = [
    "Health",
    "JobsChanged",
    "PollStatus",
    "SessionMessage",
    "StatusFilterRequested",
    "WorkspaceNamed",
]


class SessionMessage(Message):
    """A message from the worker of the session `generation`."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class JobsChanged(SessionMessage):
    """One poller tick: its events and the table rows for every job they touched.

    `partial`: only the first screenful of a large first answer, shown before the rest (its
    counts would be those of 200 jobs: the summary and the title wait for the whole answer).
    """

    def __init__(
        self,
        generation: int,
        events: Sequence[Event],
        rows: Sequence[JobRow],
        *,
        partial: bool = False,
    ) -> None:
        super().__init__(generation)
        self.events = events
        self.rows = rows
        self.partial = partial


class PollStatus(SessionMessage):
    """The connection's health after a tick (or after the worker stopped)."""

    def __init__(self, generation: int, health: Health) -> None:
        super().__init__(generation)
        self.health = health


class WorkspaceNamed(SessionMessage):
    """The API answered GET /v1/workspaces/{id}: its real name and organization."""

    def __init__(self, generation: int, name: str) -> None:
        super().__init__(generation)
        self.name = name


class StatusFilterRequested(Message):
    """A chip of the summary bar was clicked."""

    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code
