"""The main screen's one-line prompts under the table: filter by text (`/`), track workflow IDs
(`+`) and label the highlighted job (`l`); and `esc`, which leaves the one that is open.

Each prompt is a hidden Input that a key shows (class `-shown`) and focuses; it goes again when it
loses the focus. What a submitted prompt does to the jobs is the job actions'
(jobwatch.tui.screens.job_actions). A mixin of MainScreen (see jobwatch.tui.screens.host).
"""

from __future__ import annotations

from textual import on
from textual.widgets import Input

from jobwatch.errors import JobwatchError
from jobwatch.store.config import parse_job_ids
from jobwatch.tui.screens.host import MainScreenHost
from jobwatch.tui.widgets.label_input import LabelInput
from jobwatch.tui.widgets.track_input import TrackInput

__all__ = ["Prompts"]


class Prompts(MainScreenHost):
    """The filter, track and label prompts of MainScreen."""

    # -- filter by text ----------------------------------------------------------------------

    def action_filter_text(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_text_filter(event.value)
        self._show_detail(self.table.cursor_key)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    @on(Input.Blurred, "#filter")
    def _filter_left(self, event: Input.Blurred) -> None:
        """The prompt goes; a kept filter stays visible in the summary bar (`/` edits it)."""
        event.input.remove_class("-shown")
        self.summary.text_filter = event.value
        self._update_counts()

    # -- track workflow IDs ------------------------------------------------------------------

    def action_track(self) -> None:
        if self.session is None:
            self.notify("Choose a workspace first (w).", severity="warning")
            return
        box = self.query_one("#track", TrackInput)
        box.add_class("-shown")
        box.focus()

    @on(Input.Submitted, "#track")
    def _track_submitted(self, event: Input.Submitted) -> None:
        ids = parse_job_ids(event.value)
        self.table.focus()
        if ids:
            self.track(ids)

    @on(Input.Blurred, "#track")
    def _track_left(self, event: Input.Blurred) -> None:
        event.input.value = ""
        event.input.remove_class("-shown")

    # -- label the highlighted job -----------------------------------------------------------

    def action_label(self) -> None:
        row = self._highlighted_row()
        if row is None or self.facts is None:
            return
        box = self.query_one("#label", LabelInput)
        box.workflow_id = row.workflow_id
        box.value = row.label or ""
        box.add_class("-shown")
        box.focus()

    @on(Input.Submitted, "#label")
    def _label_submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#label", LabelInput)
        wid, facts = box.workflow_id, self.facts
        self.table.focus()
        row = self.table.row(wid) if wid is not None else None
        if row is None or facts is None:
            return
        try:
            facts.set_label(row.workflow_id, event.value)
        except JobwatchError as error:
            self.notify(error.describe(), title="Label not saved", severity="warning", markup=False)
            return
        note = facts.annotations.get(row.workflow_id)
        self._annotated(row, label=note.label if note else None)
        self._refresh_typicals()

    @on(Input.Blurred, "#label")
    def _label_left(self, event: Input.Blurred) -> None:
        event.input.value = ""
        event.input.remove_class("-shown")

    # -- leave a prompt ----------------------------------------------------------------------

    def action_close_input(self) -> None:
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "filter":
            focused.value = ""
            self.table.set_text_filter("")
            self.table.focus()
        elif isinstance(focused, TrackInput | LabelInput) or focused is self.detail:
            self.table.focus()
