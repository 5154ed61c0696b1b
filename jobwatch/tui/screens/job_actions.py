"""What the main screen's keys do to the highlighted job or the watched set: copy its runId (`c`)
or support details (`y`), pin it (`space`), track more IDs (`+`, through the prompt) or stop
tracking it (`delete`), each persisted in the workspace's history.

A mixin of MainScreen (see jobwatch.tui.screens.host); the facts it changes are
jobwatch.tui.job_facts', the snippet's text is jobwatch.tui.support's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from jobwatch.errors import JobwatchError
from jobwatch.sanitize import visible
from jobwatch.tui.model import JobRow
from jobwatch.tui.poll_session import Session
from jobwatch.tui.screens.host import MainScreenHost
from jobwatch.tui.support import support_snippet

__all__ = ["JobActions"]


class JobActions(MainScreenHost):
    """Copy, pin, track and untrack on MainScreen."""

    def _highlighted_row(self) -> JobRow | None:
        wid = self.table.cursor_key
        row = self.table.row(wid) if wid is not None else None
        if row is None:
            self.notify("No job highlighted.", severity="warning")
        return row

    # -- copy ----------------------------------------------------------------------------------

    def action_copy_run_id(self) -> None:
        row = self._highlighted_row()
        if row is None:
            return
        if not row.run_id:
            self.notify("This job has no runId yet.", severity="warning")
            return
        # What is copied is what is shown: escaped, so a paste cannot carry control characters
        # or bidi overrides. (The history keeps the exact value.)
        run_id = visible(row.run_id)
        self.app.copy_to_clipboard(run_id)
        self.notify(run_id, title="Copied runId", markup=False)

    def action_copy_support(self) -> None:
        row = self._highlighted_row()
        session = self.session
        if row is None or session is None:
            return
        text = self.support_text(row)
        self.app.copy_to_clipboard(text)
        self.notify(text, title="Copied support details", timeout=12, markup=False)

    def support_text(self, row: JobRow) -> str:
        """The support snippet of `row` in the current workspace (what `y` copies)."""
        session = self.session
        assert session is not None
        facts = session.support_facts(row)
        history = self.job_history(row)
        transitions = history.transitions
        last = transitions[-1] if transitions else None
        extra = self._detail_facts(row, history.gaps)
        return support_snippet(
            dataclasses.replace(
                facts,
                label=row.label,
                kind=extra.kind,
                status_window=last.window if last and last.status.code == row.status.code else None,
                started=row.started,
                gaps=extra.gaps,
            )
        )

    # -- pin -----------------------------------------------------------------------------------

    def action_pin(self) -> None:
        row = self._highlighted_row()
        facts = self.facts
        if row is None or facts is None:
            return
        try:
            facts.set_pinned(row.workflow_id, not row.pinned)
        except JobwatchError as error:
            self.notify(error.describe(), title="Pin not saved", severity="warning", markup=False)
            return
        self._annotated(row, pinned=not row.pinned)

    def _annotated(self, row: JobRow, **change: object) -> None:
        """Show the row with its new label or pin (the sort and the filters see it too)."""
        self._finish_history_load()  # else the rest of the history would bring the old row back
        self.table.upsert([dataclasses.replace(row, **change)])  # type: ignore[arg-type]
        self._show_detail(self.table.cursor_key)

    # -- track and untrack ---------------------------------------------------------------------

    def track(self, ids: Sequence[str]) -> None:
        """Add workflow IDs to the watched set of the current workspace and persist it."""
        session = self.session
        if session is None:
            return
        self._finish_history_load()  # every stored job, to keep the tracked ones of
        was_all = session.track(ids)
        self._persist_tracked(session)
        if was_all:
            keep = set(session.tracked or ())
            rows = [self.table.row(wid) for wid in self._counts.ids()]
            self._replace_rows([r for r in rows if r is not None and r.workflow_id in keep])
        self.notify(f"Tracking {len(ids)} more job{'s' if len(ids) != 1 else ''}.", timeout=3)

    def action_untrack(self) -> None:
        session = self.session
        wid = self.table.cursor_key
        if session is None or wid is None:
            return
        if session.tracked is None:
            self.notify(
                "Nothing is tracked: every job of the workspace is shown. Press + to track some.",
                severity="warning",
            )
            return
        self.untrack([wid])

    def untrack(self, ids: Sequence[str]) -> None:
        """Stop watching these workflow IDs (persisted); with none left, watch every job."""
        session = self.session
        if session is None or session.tracked is None:
            return
        session.untrack(ids)
        self._persist_tracked(session)
        if session.tracked is None:
            self._load_from_history(session)
            self.notify("Nothing tracked any more: showing every job of the workspace.")
        else:
            drop = set(ids)
            if self.facts is not None:
                self.facts.forget(drop)
            self.table.remove_rows(list(drop))
            self._counts.discard(drop)
            self._update_counts()
            self._show_detail(self.table.cursor_key)
            self.notify(f"Stopped tracking {', '.join(ids)}.", timeout=3, markup=False)

    def _persist_tracked(self, session: Session) -> None:
        try:
            session.history.save_tracked(session.tracked or [])
        except JobwatchError as error:
            self.notify(
                error.describe(), title="Tracked IDs not saved", severity="warning", markup=False
            )
