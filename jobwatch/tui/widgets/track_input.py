"""A one-line input that keeps every line of a paste, for entering many workflow IDs at once.

Textual's Input keeps only the first line of a paste; IDs copied from a log are often one per line,
so the lines are joined with spaces (config.parse_job_ids splits them again).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class MultiPasteInput(Input):
    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()
        if event.text:
            joined = " ".join(part for part in event.text.splitlines() if part.strip())
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(joined)
            else:
                self.replace(joined, *selection)
        event.stop()


class TrackInput(MultiPasteInput):
    """Input shown by `+`: workflow IDs separated by spaces, commas or newlines."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            placeholder="workflow IDs to track (spaces, commas or newlines) — enter to add, esc to cancel",
            compact=True,
            **kwargs,
        )
