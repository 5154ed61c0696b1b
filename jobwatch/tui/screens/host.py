"""What the main screen's parts (jobwatch.tui.screens.prompts, .job_actions, .job_alerts,
.job_detail) use of
MainScreen: its widgets, its session and facts, and the helpers that redraw.

The parts are mixins of MainScreen, each a Screen subclass at run time: Textual collects `@on`
handlers only in classes made by its message-pump metaclass (a plain-object mixin's handlers would
never run), and it finds actions and BINDINGS along the MRO. `MainScreenHost` is what the type
checker sees instead, so a part can call what MainScreen or another part provides; mypy checks
MainScreen's definitions against these. Nothing is declared at run time, so no stub here can shadow
the real method in the MRO.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from textual.screen import Screen

__all__ = ["MainScreenHost"]

if TYPE_CHECKING:
    from jobwatch.store.history import JobHistory
    from jobwatch.tui.alerts import Alerts
    from jobwatch.tui.job_facts import WorkspaceFacts
    from jobwatch.tui.model import JobRow, StatusCounts
    from jobwatch.tui.poll_session import Session
    from jobwatch.tui.widgets.detail import DetailFacts, DetailPane
    from jobwatch.tui.widgets.job_table import JobTable
    from jobwatch.tui.widgets.summary import SummaryBar
    from jobwatch.windows import Gap

    class MainScreenHost(Screen):
        clock: Callable[[], float]
        alerts: Alerts | None
        facts: WorkspaceFacts | None
        _counts: StatusCounts

        @property
        def table(self) -> JobTable: ...
        @property
        def detail(self) -> DetailPane: ...
        @property
        def summary(self) -> SummaryBar: ...
        @property
        def session(self) -> Session | None: ...

        # MainScreen's
        def _update_counts(self) -> None: ...
        def _replace_rows(self, rows: Iterable[JobRow]) -> None: ...
        def _load_from_history(self, session: Session) -> None: ...
        def _finish_history_load(self) -> None: ...

        # JobActions'
        def track(self, ids: Sequence[str]) -> None: ...
        def _highlighted_row(self) -> JobRow | None: ...
        def _annotated(self, row: JobRow, **change: object) -> None: ...

        # JobAlerts'
        def _refresh_typicals(self) -> None: ...
        def _detail_facts(self, row: JobRow, gaps: Sequence[Gap]) -> DetailFacts: ...

        # JobDetail's
        def _show_detail(self, workflow_id: str | None) -> None: ...
        def job_history(self, row: JobRow) -> JobHistory: ...
        def _history_stored(self, session: Session) -> None: ...

else:
    MainScreenHost = Screen
