"""The main screen: header, summary bar, job table and detail pane; what the keys and the poll
worker's messages do to them.

The screen holds no polling and no bookkeeping of its own: a workspace is watched by a
`Session` whose worker loop (jobwatch.tui.poll_session) posts messages (jobwatch.tui.messages);
the rows are kept in the table's index (jobwatch.tui.job_index); status counts, row timing, the
title and which transitions to announce come from jobwatch.tui.model; kinds, typical durations,
labels, pins and run starts from jobwatch.tui.job_facts; desktop notifications and on_job_end go
through the app's jobwatch.tui.alerts. Here they are composed, and the handlers below change the
widgets in reaction to the worker's messages and to the keys that act on the view and the polling.
The prompts (jobwatch.tui.screens.prompts), the actions on a job (.job_actions), the glue to
the facts and alerts (.job_alerts) and the detail pane's reads (.job_detail) are mixins of
MainScreen, each in its own module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.worker import Worker, WorkerState

from jobwatch import give_way
from jobwatch.errors import JobwatchError
from jobwatch.events import HistoryFailed, PollCompleted
from jobwatch.head_start import HeadStart
from jobwatch.kinds import Kinds
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import HistoryStore
from jobwatch.tui.alerts import Alerts
from jobwatch.tui.history_load import SLICE_ROWS, HistoryLoad
from jobwatch.tui.job_facts import WorkspaceFacts
from jobwatch.tui.messages import (
    Health,
    JobsChanged,
    PollStatus,
    StatusFilterRequested,
    WorkspaceNamed,
)
from jobwatch.tui.model import JobRow, Notice, StatusCounts
from jobwatch.tui.poll_session import (
    ClientFactory,
    FreezePolicy,
    Session,
    Sessions,
)
from jobwatch.tui.screens.job_actions import JobActions
from jobwatch.tui.screens.job_alerts import JobAlerts
from jobwatch.tui.screens.job_detail import JobDetail
from jobwatch.tui.screens.prompts import Prompts
from jobwatch.tui.widgets.detail import DetailPane
from jobwatch.tui.widgets.header import ConnectionHeader, health_text
from jobwatch.tui.widgets.job_table import JobTable
from jobwatch.tui.widgets.key_bar import KeyBar
from jobwatch.tui.widgets.label_input import LabelInput
from jobwatch.tui.widgets.summary import SummaryBar
from jobwatch.tui.widgets.track_input import MultiPasteInput, TrackInput

__all__ = ["MainScreen", "Session"]

#: the header's standing warnings about the history (the README promises them)
NO_HISTORY = "no history: what you see is not saved"
HISTORY_NOT_SAVED = "history not saved"


class MainScreen(Prompts, JobActions, JobAlerts, JobDetail):
    """The dashboard of one workspace at a time (`open_workspace` switches).

    Composition, the workspace's session and the worker's messages are here, and the one key map
    (BINDINGS, which the help and the key bar read) for the keys of this class and of its mixins:
    Prompts (filter, track, label), JobActions (copy, pin, untrack), JobAlerts (typicals, alerts).
    """

    class Ready(Message):
        """The screen is composed and mounted: a workspace can be opened."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    # The footer shows the keys a watcher needs most and fits 80 columns next to Textual's "^p palette";
    # the others are in the `?` help and the command palette. A tooltip is the longer help text.
    BINDINGS = [
        Binding("c", "copy_run_id", "Copy runId", tooltip="Copy the job's runId"),
        Binding("y", "copy_support", "Support", tooltip="Copy support details"),
        Binding("slash", "filter_text", "Filter", key_display="/", tooltip="Filter by text"),
        Binding("plus", "track", "Track", key_display="+", tooltip="Track workflow IDs"),
        Binding("w", "app.workspaces", "Workspaces", tooltip="Switch / add workspace"),
        Binding("question_mark", "app.help", "Help", key_display="?", tooltip="This help"),
        Binding("q", "app.quit", "Quit", tooltip="Quit"),
        Binding(
            "1",
            "filter_status(1)",
            "Status",
            key_display="1-7",
            show=False,
            tooltip="One status; again: all",
        ),
        *[
            Binding(str(code), f"filter_status({code})", f"Only status {code}", show=False)
            for code in range(2, 8)
        ],
        Binding(
            "delete",
            "untrack",
            "Untrack",
            key_display="del",
            show=False,
            tooltip="Stop tracking the job",
        ),
        Binding("l", "label", "Label", show=False, tooltip="Label the job"),
        Binding("space", "pin", "Pin", show=False, tooltip="Pin the job to the top"),
        Binding("s", "cycle_sort", "Sort", show=False, tooltip="Cycle the sort"),
        Binding("p", "toggle_pause", "Pause", show=False, tooltip="Pause / resume polling"),
        Binding("r", "refresh", "Refresh", show=False, tooltip="Refresh now"),
        Binding("t", "app.themes", "Theme", show=False, tooltip="Choose a theme"),
        Binding("enter", "focus_detail", "Detail", show=False, tooltip="Detail pane and back"),
        Binding("tab", "focus_detail", "Detail", show=False),
        Binding("escape", "close_input", "Close", show=False),
    ]

    def __init__(
        self,
        *,
        history: HistoryStore | None,
        client_factory: ClientFactory,
        clock: Callable[[], float],
        poll: bool = True,
        interval: float | None = None,
        bell: bool = True,
        discovery_interval: float | None = None,
        kinds: Callable[[], Kinds] = Kinds,
        alerts: Alerts | None = None,
        head_start: HeadStart | None = None,
    ) -> None:
        """`kinds` makes the Kinds of a workspace that opens (the config's rules); `alerts` sends
        the desktop notifications and runs on_job_end (None: neither); `head_start`: the poller
        started before the dashboard was (jobwatch.head_start), for the first worker."""
        super().__init__()
        self.history = history
        self.client_factory = client_factory
        self.clock = clock
        self.poll_enabled = poll
        self.interval_override = interval
        self.bell_enabled = bell
        self._sessions = Sessions(
            self,
            store=history,
            client_factory=client_factory,
            clock=clock,
            interval=interval,
            discovery_interval=discovery_interval,
            head_start=head_start,
        )
        self._counts = StatusCounts()
        self._status_filter: frozenset[int] | None = None
        self._last_title = ""
        self._freeze = FreezePolicy()
        #: the rest of the history of a session whose first screenful is shown, being gathered
        self._history_rest: HistoryLoad | None = None
        self._kinds = kinds
        self.alerts = alerts
        #: the open workspace's kinds, typical durations, labels and pins (None before one opens)
        self.facts: WorkspaceFacts | None = None

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ConnectionHeader(self.clock, id="header")
        yield SummaryBar(id="summary")
        with Horizontal(id="body"):
            yield JobTable(now=self.clock, id="jobs")
            yield DetailPane(id="detail")
        yield MultiPasteInput(
            placeholder="filter by text — enter to keep, esc to clear", id="filter", compact=True
        )
        yield TrackInput(id="track")
        yield LabelInput(id="label")
        yield KeyBar(id="keys")

    @property
    def table(self) -> JobTable:
        return self.query_one("#jobs", JobTable)

    @property
    def header(self) -> ConnectionHeader:
        return self.query_one("#header", ConnectionHeader)

    @property
    def detail(self) -> DetailPane:
        return self.query_one("#detail", DetailPane)

    @property
    def summary(self) -> SummaryBar:
        return self.query_one("#summary", SummaryBar)

    def on_mount(self) -> None:
        self.table.empty_message = "No workspace yet — press w to choose or add one."
        self.header.set_state(health=Health("connecting"), note="" if self.history else NO_HISTORY)
        self.set_interval(1.0, self._tick)
        self.table.focus()
        self.app.post_message(self.Ready())

    # -- workspace sessions ------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        """The workspace being watched, None before the first is opened."""
        return self._sessions.session

    async def open_workspace(
        self, workspace: WorkspaceConfig, job_ids: Sequence[str] | None = None
    ) -> None:
        """Stop watching the current workspace (waiting for its worker to end), then watch `workspace`.

        `job_ids` (from the command line) are watched for this session; otherwise the tracked IDs
        stored for the workspace are used, and with none every job of the workspace is shown.
        """
        session = await self._sessions.open(workspace, job_ids)
        facts = WorkspaceFacts(
            self.history, workspace, self._kinds(), generation=session.generation
        )
        facts.load_annotations()
        self.facts = facts
        self.table.eta_of = facts.eta_text
        self._load_from_history(session)
        self._refresh_typicals()
        self.header.set_state(workspace_name=session.name, health=session.health, paused=False)
        self.table.empty_message = "Waiting for the first answer from the API…"
        if self.poll_enabled:
            self._sessions.start(session, self.table)

    async def stop_polling(self) -> None:
        """Cancel the worker of the watched workspace and wait until it ended."""
        await self._sessions.stop()

    def _load_from_history(self, session: Session) -> None:
        """Show what the store knows at once, marked stale until the first successful poll."""
        try:
            early = session.history_first_screen(self.table)
        except JobwatchError:
            early = []  # the whole read below says what is wrong
        self._drop_history_load()
        if early:
            # A restart in a large workspace: its first screenful is read and painted before the
            # whole history (100k jobs: ~30 ms), which is then gathered in slices (history_load).
            self.table.replace_all(early)
            self.summary.show_counting()
            slices = session.history.record_slices(SLICE_ROWS)
            load = self._history_rest = HistoryLoad(session, self.table.sort_mode, slices)
            self.call_after_refresh(self._start_history_load, load)
        else:
            self._replace_rows(self._history_rows(session))
        self.table.stale = True

    def _history_rows(self, session: Session) -> list[JobRow]:
        """The rows of every job the history holds for `session` (which remembers them)."""
        try:
            records = session.history.records()
        except JobwatchError as error:
            self._history_unavailable(error)
            records = []
        return session.remember(records)

    def _history_unavailable(self, error: JobwatchError) -> None:
        self.notify(error.describe(), title="History unavailable", severity="warning", markup=False)

    def _start_history_load(self, load: HistoryLoad) -> None:
        """After the first screenful's paint: gather the rest of the history between frames."""
        if load is self._history_rest:
            self.run_worker(
                self._gather_history(load), group="history", description="the history's rest"
            )

    async def _gather_history(self, load: HistoryLoad) -> None:
        while load is self._history_rest and load.session is self.session:
            try:
                more = load.step()
            except JobwatchError as error:
                self._history_load_failed(load, error)
                return
            if not more:
                self._history_gathered(load)
                return
            if load.session.history_wanted.is_set():
                await asyncio.sleep(0)  # an answer waits for it: no pause for keys (poll_session)
            else:
                await give_way.give_way()  # a key that came meanwhile is painted first

    def _finish_history_load(self) -> None:
        """Gather and show the rest of the history at once if it is still being gathered: before
        anything else changes the table (a poll's rows)."""
        load = self._history_rest
        if load is None:
            return
        if load.session is not self.session:
            self._drop_history_load()
            return
        try:
            load.finish()
        except JobwatchError as error:
            self._history_load_failed(load, error)
            return
        self._history_gathered(load)

    def _history_gathered(self, load: HistoryLoad) -> None:
        """Show every stored job `load` gathered, in place of the first screenful."""
        self._history_rest = None
        load.session.remembered()
        if self.facts is not None:
            self.facts.shown_running(load.running)
        self.table.refill(load.fill, load.widths)
        self._counts = load.counts
        self._update_counts()
        self._show_detail(self.table.cursor_key)

    def _history_load_failed(self, load: HistoryLoad, error: JobwatchError) -> None:
        self._drop_history_load()
        self._history_unavailable(error)
        self._replace_rows(load.session.remember([]))

    def _drop_history_load(self) -> None:
        """Stop gathering the history of a session left (or failed)."""
        load, self._history_rest = self._history_rest, None
        if load is not None:
            load.close()

    # -- messages from the worker ----------------------------------------------------------

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        session = self._sessions.current(message)
        if session is None:
            return
        self._finish_history_load()
        facts = self.facts
        if message.rows and facts is not None:
            facts.adopt(message.rows, self.table.row if len(self.table) else None)
        if message.rows:
            if session.shown is not None:
                self.call_after_refresh(session.shown.set)
            with self.app.batch_update():
                self.table.upsert(message.rows)
            self._freeze.rows_shown(len(message.rows))
            if not message.partial:
                self._counts.update(message.rows)
                self._update_counts()
            else:
                self.summary.show_counting()
            if self.detail.workflow_id is None:
                self._show_detail(self.table.cursor_key)
        self._history_note(message.events)
        news = session.absorb(message.events, self.clock())
        self._show_notices(news.notices)
        rang = self._job_endings(session, news.ended)
        if news.failed and self.bell_enabled and not rang:
            self.app.bell()
        if news.completed:
            self._tick_stored()
            # the history now holds this tick's transitions: the pane's job, if this tick
            # changed it, is shown with its new row and history once they are read again
            self._history_stored(session)
            self.table.empty_message = (
                "No background jobs in this workspace yet."
                if session.tracked is None
                else "None of the tracked IDs is known yet."
            )

    def _history_note(self, events) -> None:
        """The header says while the history cannot take what is shown (disabled, or a write
        failed), and stops saying it once a tick is stored again."""
        if self.history is None:
            return
        if any(isinstance(event, HistoryFailed) for event in events):
            self.header.set_state(note=HISTORY_NOT_SAVED)
        elif self.header.note == HISTORY_NOT_SAVED and any(
            isinstance(event, PollCompleted) for event in events
        ):
            self.header.set_state(note="")

    @on(PollStatus)
    def _poll_status(self, message: PollStatus) -> None:
        session = self._sessions.current(message)
        if session is None:
            return
        if session.set_health(message.health):
            reason, _ = health_text(message.health, self.clock())
            self.notify(reason, title="Polling stopped", severity="error", timeout=10, markup=False)
        if message.health.state == "ok":
            self.table.stale = False
        elif message.health.state in ("retrying", "stopped"):
            self.table.stale = True
        self.header.set_state(health=message.health)

    @on(WorkspaceNamed)
    def _workspace_named(self, message: WorkspaceNamed) -> None:
        session = self._sessions.current(message)
        if session is None:
            return
        session.name = message.name
        self.header.set_state(workspace_name=message.name)
        self._update_title()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        session = self.session
        if session is None or event.worker is not session.worker:
            return
        if event.state == WorkerState.ERROR:
            self.table.stale = True
            self.header.set_state(health=session.worker_failed(event.worker.error))

    def _show_notices(self, notices: Iterable[Notice]) -> None:
        """Toasts for what a tick told (Session.absorb) or what waited (EndingNotices.due)."""
        for notice in notices:
            self.notify(
                notice.message,
                title=notice.title,
                severity=notice.severity,
                timeout=notice.timeout,
                markup=notice.markup,
            )

    # -- the once-a-second tick ----------------------------------------------------------

    def _tick(self) -> None:
        session = self.session
        self.header.update_text()
        self.table.tick()
        if session is None:
            return
        now = self.clock()
        overdue = session.overdue(now)
        if overdue is not None:
            self.table.stale = overdue
        self._alert_tick(session, now)
        if not give_way.key_pending():
            # a toast relays out the screen (10-60 ms at 100k): held endings wait a second more
            self._show_notices(session.endings.due(now))
        wid = self.detail.workflow_id
        if wid is not None:
            row = self.table.row(wid)
            if row is not None and not row.status.is_terminal:
                # Only "so far" moves: the history shown is re-read when a poll changes it.
                self.detail.tick(self.clock())

    # -- table, summary, detail -------------------------------------------------------

    def _replace_rows(self, rows: Iterable[JobRow]) -> None:
        rows = list(rows)
        if self.facts is not None:
            self.facts.shown(rows)
        self.table.replace_all(rows)
        self._counts.reset(rows)
        self._update_counts()
        self._show_detail(self.table.cursor_key)

    def _update_counts(self) -> None:
        summary = self.summary
        shown = self.table.visible_count if summary.text_filter else None
        summary.set_counts(self._counts.counts, self._status_filter or (), shown)
        self._update_title()

    def _update_title(self) -> None:
        title = self._counts.title()
        # App.title and sub_title are repainting reactives: setting them repainted the whole
        # screen on every poll that changed a count (nothing on screen shows them; the terminal
        # title is set below). Measured at 100k jobs, growing: ~8 ms of each tick's repaint.
        app = self.app
        app.set_reactive(type(app).title, title)
        if self.session is not None:
            app.set_reactive(type(app).sub_title, self.session.name)
        if title != self._last_title:
            self._last_title = title
            set_terminal_title = getattr(self.app, "set_terminal_title", None)
            if set_terminal_title is not None:
                set_terminal_title(title)

    @on(JobTable.Highlighted)
    def _highlighted(self, message: JobTable.Highlighted) -> None:
        self._show_detail(message.workflow_id)

    @on(JobTable.Selected)
    def _selected(self, message: JobTable.Selected) -> None:
        self._show_detail(message.workflow_id)
        self.detail.focus()

    # -- the view's and the polling's actions (the job's: JobActions, prompts: Prompts) -----

    def action_filter_status(self, code: int) -> None:
        self._toggle_status_filter(code)

    @on(StatusFilterRequested)
    def _chip_clicked(self, message: StatusFilterRequested) -> None:
        self._toggle_status_filter(message.code)

    def _toggle_status_filter(self, code: int) -> None:
        if self._status_filter == frozenset({code}):
            self._status_filter = None
        else:
            self._status_filter = frozenset({code})
        self.table.set_status_filter(self._status_filter)
        self._update_counts()
        self._show_detail(self.table.cursor_key)

    def action_cycle_sort(self) -> None:
        name = self.table.cycle_sort()
        self.notify(f"Sorted by {name}.", timeout=2)

    def action_refresh(self) -> None:
        session = self.session
        if session is None or not self.poll_enabled:
            return
        if session.poller is not None and session.polling:
            session.poller.refresh_now()
        else:
            self._sessions.start(session, self.table)
            self.header.set_state(health=session.health)

    def action_toggle_pause(self) -> None:
        session = self.session
        if session is None or session.poller is None:
            return
        poller = session.poller
        if poller.paused:
            poller.resume()
        else:
            poller.pause()
        self.header.set_state(paused=poller.paused)

    def action_focus_detail(self) -> None:
        if self.focused is self.detail:
            self.table.focus()
        else:
            self.detail.focus()
