"""A one-line input that keeps every line of a paste, for entering many workflow IDs at once.

Textual's Input keeps only the first line of a paste; IDs copied from a log are often one per line,
so the lines are joined with spaces (config.parse_job_ids splits them again). Characters a terminal
would act on (`jobwatch.sanitize.is_unsafe_char`: controls, bidi, zero-width) are dropped from a
paste: typed keys never produce them, and the input paints what it holds as it is.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from jobwatch.sanitize import is_clean, is_unsafe_char


def pasted_text(text: str) -> str:
    """A paste as one line: its lines joined with spaces, unsafe characters left out."""
    joined = " ".join(part for part in text.splitlines() if part.strip())
    if is_clean(joined):
        return joined
    return "".join(char for char in joined if not is_unsafe_char(char))


class MultiPasteInput(Input):
    def on_paste(self, event: events.Paste) -> None:
        # Input's own handler keeps the first line only: prevent_default skips it (the handlers
        # of base classes), the public way to replace a widget's default behaviour.
        event.prevent_default()
        if event.text:
            joined = pasted_text(event.text)
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
