"""The top line of the dashboard: workspace name and the connection's health.

Health reads "updated 3s ago", "retrying in 8s — HTTP 503 … errorId …", "paused", or
"token expired — fix the environment and press r". While the polls ask only for the jobs that can
still change (a large workspace, jobwatch.schedule), it adds when the whole list was last read:
"updated 1s ago · list read 12s ago". It never replaces the job data below it.
It is always one line: a reason too long for the width ends in "…" (the whole of it is the
header's tooltip, and a poll that stops also says it in a notification). The workspace's name (from
the API or the config) and the reason (error bodies are the API's) are shown escaped
(`jobwatch.sanitize`): painted raw, an OSC sequence in them would set the window title.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from jobwatch.errors import ApiError, Unauthorized
from jobwatch.formatting import format_age
from jobwatch.sanitize import visible, visible_lines
from jobwatch.tui.messages import Health

#: the most cells the workspace's name takes in the line
NAME_CELLS = 40
#: the tooltip's lines are cut at this many cells (the reason can hold a whole error body)
TOOLTIP_CELLS = 200
#: the reason is escaped from its first this many characters (more than a line can show, so
#: a huge error body costs no more each second than a short one)
REASON_CHARS = 1000


def health_text(health: Health, now: float, paused: bool = False) -> tuple[str, str]:
    """(text, level) for a health state; level is "ok", "warning" or "error"."""
    if health.state == "stopped":
        error = health.error
        if isinstance(error, Unauthorized):
            detail = f" (errorId {error.error_id})" if error.error_id else ""
            return f"token expired or invalid — fix the environment and press r{detail}", "error"
        if error is None:
            return "stopped — press r to start again", "error"
        return f"stopped: {error.describe()} — press r to retry", "error"
    if paused:
        suffix = ""
        if health.last_success is not None:
            suffix = f" · updated {format_age(now - health.last_success)}"
        return f"paused — press p to resume{suffix}", "warning"
    if health.state == "retrying":
        wait = max(0, int((health.retry_at or now) - now + 0.999))
        error = health.error
        described = error.describe() if isinstance(error, ApiError) else str(error or "")
        head = f"retrying in {wait}s" if wait else "retrying now"
        return f"{head} — {described}", "warning"
    if health.state == "connecting" or health.last_success is None:
        return "connecting…", "warning"
    text = f"updated {format_age(now - health.last_success)}"
    if health.last_full is not None:
        text += f" · list read {format_age(now - health.last_full)}"
    return text, "ok"


#: how long a passing note (e.g. what tmux does not pass on) stays in the header
NOTE_SECONDS = 20.0


class ConnectionHeader(Static):
    """Workspace name on the left, health on the right; re-rendered once a second by the screen."""

    DEFAULT_CSS = """
    ConnectionHeader {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    ConnectionHeader.-warning { background: $warning-muted; }
    ConnectionHeader.-error { background: $error-muted; }
    """

    def __init__(self, clock: Callable[[], float], **kwargs) -> None:
        super().__init__("", **kwargs)
        self._clock = clock
        self.workspace_name = ""
        self.health = Health("connecting")
        self.paused = False
        #: a standing warning after the health ("no history"), "" for none
        self.note = ""
        self.level = "ok"
        self.text = ""
        self._shown: tuple | None = None

    def set_state(
        self,
        *,
        workspace_name: str | None = None,
        health: Health | None = None,
        paused: bool | None = None,
        note: str | None = None,
    ) -> None:
        if note is not None:
            self.note = note
        if workspace_name is not None:
            self.workspace_name = workspace_name
        if health is not None:
            self.health = health
        if paused is not None:
            self.paused = paused
        self.update_text()

    def passing_note(self, text: str, seconds: float = NOTE_SECONDS) -> None:
        """Say `text` in the note for a while (the whole of it in its tooltip), unless a standing
        note (the history's) is there."""
        if self.note:
            return
        self.set_state(note=text)

        def clear() -> None:
            if self.note == text:
                self.set_state(note="")

        self.set_timer(seconds, clear)

    def update_text(self) -> None:
        """Re-render the line; nothing at all when it would read the same."""
        text, level = health_text(self.health, self._clock(), self.paused)
        width = self.content_region.width
        shown = (text, level, self.workspace_name, width, self.note)
        if shown == self._shown:
            return
        self._shown = shown
        self.text = text
        self.level = level
        self.set_class(level == "warning", "-warning")
        self.set_class(level == "error", "-error")
        line = Text()
        line.append("jobwatch", style="bold")
        line.append(" · ")
        line.append(visible(self.workspace_name, NAME_CELLS) or "no workspace", style="bold")
        line.append("  ")
        symbol = {"ok": "●", "warning": "▲", "error": "✗"}[level]
        line.append(f"{symbol} {visible(text[:REASON_CHARS])}")
        if self.note:
            line.append(f"  ▲ {self.note}", style="bold")
        if width and line.cell_len > width:
            line.truncate(width, overflow="ellipsis")
        tip = visible_lines(text[: REASON_CHARS * 4], TOOLTIP_CELLS)
        self.tooltip = tip if level != "ok" else None
        # One line of fixed height and width: a new text never changes the layout.
        self.update(line, layout=False)

    def on_resize(self) -> None:
        self.update_text()
