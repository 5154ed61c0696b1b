"""Messages the poll worker posts to the main screen; widgets react to these and never poll.

Every message carries the `generation` of the workspace session that produced it, so that a message
from a worker cancelled by a workspace switch is recognised and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.message import Message

from jobwatch.errors import JobwatchError
from jobwatch.events import Event


class SessionMessage(Message):
    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class JobsChanged(SessionMessage):
    """One poller tick: its events and the table rows for every job they touched."""

    def __init__(self, generation: int, events: Sequence[Event], rows: Sequence) -> None:
        super().__init__(generation)
        self.events = events
        self.rows = rows


@dataclass(frozen=True)
class Health:
    """The connection's health as the header shows it."""

    state: str  # "connecting" | "ok" | "retrying" | "paused" | "stopped"
    last_success: float | None = None
    error: JobwatchError | None = None
    retry_at: float | None = None
    attempt: int = 0


class PollStatus(SessionMessage):
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
