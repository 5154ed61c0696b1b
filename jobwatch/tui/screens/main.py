"""The main screen: header, summary bar, job table, detail pane, and the one poll worker of a workspace.

Polling runs in one long-lived async worker per workspace session. It drives the core's Poller and
posts messages (jobwatch.tui.messages); the widgets change only in reaction to those messages.
A workspace switch cancels the worker and waits for it (its client is closed in a `finally`) before
the next workspace's worker starts, so no request for the old workspace leaves after a switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from jobwatch.errors import ApiError, JobwatchError
from jobwatch.events import (
    Event,
    HistoryFailed,
    JobAppeared,
    JobNotFound,
    PollCompleted,
    PollerStopped,
    PollFailed,
    Recovered,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.formatting import status_symbol
from jobwatch.models import NOT_FOUND, Job
from jobwatch.poller import DEFAULT_INTERVAL, Poller
from jobwatch.statuses import ACTIVE_CODES, FAILURE_CODES
from jobwatch.store.config import WorkspaceConfig, parse_job_ids
from jobwatch.tui.messages import (
    Health,
    JobsChanged,
    PollStatus,
    StatusFilterRequested,
    WorkspaceNamed,
)
from jobwatch.tui.support import SupportFacts, support_snippet
from jobwatch.tui.widgets.detail import DetailPane
from jobwatch.tui.widgets.header import ConnectionHeader, health_text
from jobwatch.tui.widgets.job_table import JobRow, JobTable
from jobwatch.tui.widgets.key_bar import KeyBar
from jobwatch.tui.widgets.summary import SummaryBar
from jobwatch.tui.widgets.track_input import MultiPasteInput, TrackInput

#: how many history lookups one tick may do one by one before reading the whole workspace at once
_BULK_LOOKUP = 32
#: after the first rows and after a tick this large, the cycle collector stops re-scanning what
#: is in memory (gc.freeze): its full collections paused keys and polls by 30-100 ms
_FREEZE_AFTER = 10_000
#: the longest a tick's history write waits for its rows to be shown (e.g. another screen is on top)
_SHOWN_TIMEOUT = 1.0
#: more terminal transitions than this in one tick become one summary notification
_MAX_NOTIFICATIONS = 3


@dataclass
class Session:
    """One workspace being watched: its worker, poller and what the screen knows about it."""

    generation: int
    workspace: WorkspaceConfig
    tracked: list[str] | None
    interval: float
    name: str
    poller: Poller | None = None
    worker: Worker | None = None
    health: Health = field(default_factory=lambda: Health("connecting"))
    initial: dict = field(default_factory=dict)
    last_error_id: str | None = None
    history_warned: bool = False
    #: the detail pane's job changed in this tick: re-read its history once the tick is stored
    detail_stale: bool = False
    #: set once the screen has shown the rows of the latest tick (the worker then lets it be stored)
    shown: asyncio.Event | None = None


class MainScreen(Screen):
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
        history,
        client_factory: Callable[[WorkspaceConfig], object],
        clock: Callable[[], float],
        poll: bool = True,
        interval: float | None = None,
        bell: bool = True,
    ) -> None:
        super().__init__()
        self.history = history
        self.client_factory = client_factory
        self.clock = clock
        self.poll_enabled = poll
        self.interval_override = interval
        self.bell_enabled = bell
        self.session: Session | None = None
        self._generation = 0
        self._statuses: dict[str, int] = {}
        #: how many rows have each status code, kept in step with _statuses (no recount per poll)
        self._counts: Counter[int] = Counter()
        self._status_filter: frozenset[int] | None = None
        self._last_title = ""
        self._frozen = False

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
        self.header.set_state(health=Health("connecting"))
        self.set_interval(1.0, self._tick)
        self.table.focus()
        self.app.post_message(self.Ready())

    # -- workspace sessions ------------------------------------------------------------

    async def open_workspace(
        self, workspace: WorkspaceConfig, job_ids: Sequence[str] | None = None
    ) -> None:
        """Stop watching the current workspace (waiting for its worker to end), then watch `workspace`.

        `job_ids` (from the command line) are watched for this session; otherwise the tracked IDs
        stored for the workspace are used, and with none every job of the workspace is shown.
        """
        await self.stop_polling()
        self._generation += 1
        if job_ids:
            tracked: list[str] | None = list(dict.fromkeys(job_ids))
        else:
            tracked = self._stored_tracked(workspace.workspace_id) or None
        interval = self.interval_override or workspace.interval or DEFAULT_INTERVAL
        session = Session(self._generation, workspace, tracked, interval, workspace.name)
        self.session = session
        self._load_from_history(session)
        self.header.set_state(workspace_name=session.name, health=session.health, paused=False)
        self.table.empty_message = "Waiting for the first answer from the API…"
        if self.poll_enabled:
            self._start_worker(session)

    async def stop_polling(self) -> None:
        session = self.session
        if session is None or session.worker is None:
            return
        worker = session.worker
        session.worker = None
        worker.cancel()
        with contextlib.suppress(Exception):
            await worker.wait()

    def _start_worker(self, session: Session) -> None:
        session.health = Health("connecting", last_success=session.health.last_success)
        session.worker = self._poll(session)

    @work(exclusive=True, group="poll", exit_on_error=False, name="poll")
    async def _poll(self, session: Session) -> None:
        gen = session.generation
        try:
            client = self.client_factory(session.workspace)
        except JobwatchError as error:
            self.post_message(PollStatus(gen, Health("stopped", error=error)))
            return
        name_task: asyncio.Task | None = None
        try:
            poller = Poller(
                client,
                session.workspace.workspace_id,
                job_ids=session.tracked,
                history=self.history,
                interval=session.interval,
                clock=self.clock,
                # the table shows a tick's changes while the history write runs in its thread
                emit_before_write=True,
            )
            session.poller = poller
            name_task = asyncio.create_task(self._fetch_name(client, gen))
            async for events in poller.run():
                rows = self._rows_for(session, events)
                shown = session.shown = asyncio.Event() if rows else None
                self.post_message(JobsChanged(gen, events, rows))
                self.post_message(PollStatus(gen, self._health_after(session, events)))
                if shown is not None:
                    # The poller writes the history once asked for more: after the rows are on
                    # screen, so that the write does not hold the GIL during the repaint.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(shown.wait(), _SHOWN_TIMEOUT)
        except JobwatchError as error:
            self.post_message(PollStatus(gen, Health("stopped", error=error)))
        finally:
            if name_task is not None:
                name_task.cancel()
                with contextlib.suppress(BaseException):
                    await name_task
            await client.aclose()

    async def _fetch_name(self, client, gen: int) -> None:
        try:
            info = await client.get_workspace()
        except JobwatchError:
            return
        name = info.get("name") if isinstance(info, dict) else None
        if isinstance(name, str) and name:
            self.post_message(WorkspaceNamed(gen, name))

    def _health_after(self, session: Session, events: Sequence[Event]) -> Health:
        last_success = session.poller.last_success if session.poller else None
        health = session.health
        for event in events:
            if isinstance(event, PollCompleted):
                health = Health("ok", last_success=event.at)
            elif isinstance(event, PollFailed):
                health = Health(
                    "retrying",
                    last_success=last_success,
                    error=event.error,
                    retry_at=event.retry_at,
                    attempt=event.attempt,
                )
            elif isinstance(event, PollerStopped):
                health = Health("stopped", last_success=last_success, error=event.error)
        return health

    def _rows_for(self, session: Session, events: Sequence[Event]) -> list[JobRow]:
        """Table rows for the jobs these events touched, timed from the history store."""
        touched: dict[str, tuple[Job, float]] = {}
        for event in events:
            if isinstance(event, JobAppeared | StatusChanged | RunIdChanged):
                touched[event.job.workflow_id] = (event.job, event.at)
            elif isinstance(event, JobNotFound):
                job = session.poller.jobs.get(event.workflow_id) if session.poller else None
                touched[event.workflow_id] = (
                    job or Job(event.workflow_id, NOT_FOUND, ""),
                    event.at,
                )
        if not touched:
            return []
        # What the screen already knows (its row, else the history read when the session
        # opened) times each job: no history query per tick, which at 100k jobs cost ~0.4 s.
        known_row = self.table.row
        initial = session.initial
        known: dict[str, object] = {}
        missing: list[str] = []
        for wid in touched:
            found = known_row(wid) or initial.get(wid)
            if found is None:
                missing.append(wid)
            else:
                known[wid] = found
        if missing and (initial or len(self.table)):
            known.update(self._records(session.workspace.workspace_id, missing))
        rows = []
        for wid, (job, at) in touched.items():
            record = known.get(wid)
            first, last = at, at
            if record is not None:
                first = min(first, record.first_seen)
                same = record.status.code == job.status.code and record.run_id == job.run_id
                last = record.last_change if same else at
            rows.append(JobRow(wid, job.status, job.run_id, first, last))
        return rows

    def _records(self, workspace_id: str, wanted: list[str]) -> dict:
        """History records of jobs the screen has not seen (e.g. IDs tracked just now)."""
        if self.history is None:
            return {}
        try:
            if len(wanted) > _BULK_LOOKUP:
                keep = set(wanted)
                return {
                    r.workflow_id: r
                    for r in self.history.jobs(workspace_id)
                    if r.workflow_id in keep
                }
            found = {}
            for wid in wanted:
                record = self.history.job(workspace_id, wid)
                if record is not None:
                    found[wid] = record
            return found
        except JobwatchError:
            return {}

    def _stored_tracked(self, workspace_id: str) -> list[str]:
        if self.history is None:
            return []
        try:
            return list(self.history.tracked(workspace_id))
        except JobwatchError:
            return []

    def _load_from_history(self, session: Session) -> None:
        """Show what the store knows at once, marked stale until the first successful poll."""
        records = []
        if self.history is not None:
            try:
                records = self.history.jobs(session.workspace.workspace_id)
            except JobwatchError as error:
                self.notify(
                    error.describe(), title="History unavailable", severity="warning", markup=False
                )
        if session.tracked is not None:
            wanted = set(session.tracked)
            records = [r for r in records if r.workflow_id in wanted]
        session.initial = {r.workflow_id: r for r in records}
        rows = [
            JobRow(r.workflow_id, r.status, r.run_id, r.first_seen, r.last_change) for r in records
        ]
        self._replace_rows(rows)
        self.table.stale = True

    # -- messages from the worker ----------------------------------------------------------

    def _current(self, message) -> Session | None:
        session = self.session
        if session is None or message.generation != session.generation:
            return None
        return session

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        session = self._current(message)
        if session is None:
            return
        if message.rows:
            if session.shown is not None:
                self.call_after_refresh(session.shown.set)
            with self.app.batch_update():
                self.table.upsert(message.rows)
            self._set_statuses(message.rows)
            if not self._frozen or len(message.rows) >= _FREEZE_AFTER:
                self._frozen = True
                gc.freeze()
            self._update_counts()
            if self.detail.workflow_id is None:
                self._show_detail(self.table.cursor_key)
                session.detail_stale = True
            elif self.detail.workflow_id in {row.workflow_id for row in message.rows}:
                session.detail_stale = True
        self._announce(session, message.events)
        for event in message.events:
            if isinstance(event, PollCompleted):
                if session.detail_stale:
                    # the history now holds this tick's transitions
                    session.detail_stale = False
                    self._show_detail(self.detail.workflow_id or self.table.cursor_key)
                self.table.empty_message = (
                    "No background jobs in this workspace yet."
                    if session.tracked is None
                    else "None of the tracked IDs is known yet."
                )
            elif isinstance(event, HistoryFailed) and not session.history_warned:
                session.history_warned = True
                self.notify(
                    event.error.describe(),
                    title="History not saved",
                    severity="warning",
                    markup=False,
                )
            elif isinstance(event, PollFailed | PollerStopped) and isinstance(
                getattr(event, "error", None), ApiError
            ):
                session.last_error_id = event.error.error_id or session.last_error_id
            elif isinstance(event, Recovered):
                self.notify(f"Connection recovered after {event.failures} failed polls.")

    def _announce(self, session: Session, events: Sequence[Event]) -> None:
        """Notify terminal states reached while watching (and the bell for failures)."""
        reached: list[Job] = []
        for event in events:
            if isinstance(event, StatusChanged) and event.job.status.is_terminal:
                reached.append(event.job)
            elif isinstance(event, JobAppeared) and event.job.status.is_terminal:
                before = session.initial.get(event.job.workflow_id)
                if before is not None and not before.status.is_terminal:
                    reached.append(event.job)
            elif isinstance(event, JobNotFound):
                reached.append(Job(event.workflow_id, NOT_FOUND, ""))
        if not reached:
            return
        failed = [j for j in reached if j.status.is_failure]
        if len(reached) <= _MAX_NOTIFICATIONS:
            for job in reached:
                # Failures carry the runId a support ticket needs; other endings stay small and brief.
                bad = job.status.is_failure
                self.notify(
                    f"{job.workflow_id}\nrunId {job.run_id or 'unknown'}"
                    if bad
                    else job.workflow_id,
                    title=f"{status_symbol(job.status)} {job.status.label}",
                    severity="error" if bad else "information",
                    timeout=8 if bad else 3,
                    markup=False,
                )
        else:
            self.notify(
                f"{len(reached)} jobs finished, {len(failed)} of them did not complete.",
                severity="error" if failed else "information",
            )
        if failed and self.bell_enabled:
            self.app.bell()

    @on(PollStatus)
    def _poll_status(self, message: PollStatus) -> None:
        session = self._current(message)
        if session is None:
            return
        was_stopped = session.health.state == "stopped"
        session.health = message.health
        if message.health.state == "stopped" and not was_stopped:
            reason, _ = health_text(message.health, self.clock())
            self.notify(reason, title="Polling stopped", severity="error", timeout=10, markup=False)
        if message.health.state == "ok":
            self.table.stale = False
        elif message.health.state in ("retrying", "stopped"):
            self.table.stale = True
            error = message.health.error
            if isinstance(error, ApiError) and error.error_id:
                session.last_error_id = error.error_id
        self.header.set_state(health=message.health)

    @on(WorkspaceNamed)
    def _workspace_named(self, message: WorkspaceNamed) -> None:
        session = self._current(message)
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
            error = event.worker.error
            described = JobwatchError(
                f"internal error in the poll worker: {type(error).__name__}: {error}"
            )
            session.health = Health(
                "stopped", last_success=session.health.last_success, error=described
            )
            self.table.stale = True
            self.header.set_state(health=session.health)

    # -- the once-a-second tick ----------------------------------------------------------

    def _tick(self) -> None:
        session = self.session
        self.header.update_text()
        self.table.tick()
        if session is None:
            return
        health = session.health
        if health.state == "ok" and health.last_success is not None:
            too_old = self.clock() - health.last_success > 3 * session.interval
            paused = session.poller is not None and session.poller.paused
            self.table.stale = too_old and not paused
        wid = self.detail.workflow_id
        if wid is not None:
            row = self.table.row(wid)
            if row is not None and not row.status.is_terminal:
                # Only "so far" moves: the history shown is re-read when a poll changes it.
                self.detail.tick(self.clock())

    # -- table, summary, detail -------------------------------------------------------

    def _replace_rows(self, rows: Iterable[JobRow]) -> None:
        rows = list(rows)
        self.table.replace_all(rows)
        self._statuses = {row.workflow_id: row.status.code for row in rows}
        self._counts = Counter(self._statuses.values())
        self._update_counts()
        self._show_detail(self.table.cursor_key)

    def _set_statuses(self, rows: Iterable[JobRow]) -> None:
        statuses, counts = self._statuses, self._counts
        for row in rows:
            wid, code = row.workflow_id, row.status.code
            old = statuses.get(wid)
            if old == code:
                continue
            statuses[wid] = code
            counts[code] += 1
            if old is not None:
                self._uncount(old)

    def _uncount(self, code: int) -> None:
        counts = self._counts
        counts[code] -= 1
        if counts[code] <= 0:
            del counts[code]

    def _update_counts(self) -> None:
        summary = self.summary
        shown = self.table.visible_count if summary.text_filter else None
        summary.set_counts(self._counts, self._status_filter or (), shown)
        self._update_title()

    def _update_title(self) -> None:
        counts = self._counts
        running = sum(counts[code] for code in ACTIVE_CODES)
        failed = sum(counts[code] for code in FAILURE_CODES)
        title = f"jobwatch — {running} running, {failed} failed"
        self.app.title = title
        if self.session is not None:
            self.app.sub_title = self.session.name
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

    def _show_detail(self, workflow_id: str | None) -> None:
        session = self.session
        row = self.table.row(workflow_id) if workflow_id is not None else None
        if row is None or session is None:
            self.detail.clear()
            return
        transitions: list = []
        chain: list[str] = []
        if self.history is not None:
            try:
                ws = session.workspace.workspace_id
                transitions = self.history.transitions(ws, workflow_id)
                chain = self.history.run_chain(ws, workflow_id)
            except JobwatchError:
                pass
        self.detail.show(row, transitions=transitions, run_chain=chain, now=self.clock())

    # -- actions ------------------------------------------------------------------------

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
        self.table.set_status_filter(set(self._status_filter) if self._status_filter else None)
        self._update_counts()
        self._show_detail(self.table.cursor_key)

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

    @on(Input.Blurred, "#track")
    def _track_left(self, event: Input.Blurred) -> None:
        event.input.value = ""
        event.input.remove_class("-shown")

    def action_close_input(self) -> None:
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "filter":
            focused.value = ""
            self.table.set_text_filter("")
            self.table.focus()
        elif isinstance(focused, TrackInput) or focused is self.detail:
            self.table.focus()

    def action_cycle_sort(self) -> None:
        name = self.table.cycle_sort()
        self.notify(f"Sorted by {name}.", timeout=2)

    def action_refresh(self) -> None:
        session = self.session
        if session is None:
            return
        worker_alive = session.worker is not None and session.worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        )
        if not self.poll_enabled:
            return
        if session.poller is None or not worker_alive or session.poller.stopped:
            self._start_worker(session)
            self.header.set_state(health=session.health)
        else:
            session.poller.refresh_now()

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

    def track(self, ids: Sequence[str]) -> None:
        """Add workflow IDs to the watched set of the current workspace and persist it."""
        session = self.session
        if session is None:
            return
        was_all = session.tracked is None
        tracked = list(dict.fromkeys([*(session.tracked or []), *ids]))
        session.tracked = tracked
        self._persist_tracked(session)
        if was_all:
            keep = set(tracked)
            rows = [self.table.row(wid) for wid in list(self._statuses)]
            self._replace_rows([r for r in rows if r is not None and r.workflow_id in keep])
        if session.poller is not None:
            session.poller.track(ids)
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
        session = self.session
        if session is None or session.tracked is None:
            return
        drop = set(ids)
        session.tracked = [i for i in session.tracked if i not in drop] or None
        self._persist_tracked(session)
        if session.poller is not None:
            session.poller.untrack(ids)
        if session.tracked is None:
            self._load_from_history(session)
            self.notify("Nothing tracked any more: showing every job of the workspace.")
        else:
            self.table.remove_rows(list(drop))
            for wid in drop:
                code = self._statuses.pop(wid, None)
                if code is not None:
                    self._uncount(code)
            self._update_counts()
            self._show_detail(self.table.cursor_key)
            self.notify(f"Stopped tracking {', '.join(ids)}.", timeout=3, markup=False)

    def _persist_tracked(self, session: Session) -> None:
        if self.history is None:
            return
        try:
            self.history.set_tracked(session.workspace.workspace_id, session.tracked or [])
        except JobwatchError as error:
            self.notify(
                error.describe(), title="Tracked IDs not saved", severity="warning", markup=False
            )

    def action_copy_run_id(self) -> None:
        row = self._highlighted_row()
        if row is None:
            return
        if not row.run_id:
            self.notify("This job has no runId yet.", severity="warning")
            return
        self.app.copy_to_clipboard(row.run_id)
        self.notify(row.run_id, title="Copied runId", markup=False)

    def action_copy_support(self) -> None:
        row = self._highlighted_row()
        session = self.session
        if row is None or session is None:
            return
        self.app.copy_to_clipboard(self.support_text(row))
        self.notify(
            self.support_text(row), title="Copied support details", timeout=12, markup=False
        )

    def support_text(self, row: JobRow) -> str:
        session = self.session
        assert session is not None
        chain: list[str] = []
        if self.history is not None:
            with contextlib.suppress(JobwatchError):
                chain = self.history.run_chain(session.workspace.workspace_id, row.workflow_id)
        return support_snippet(
            SupportFacts(
                organization_id=session.workspace.organization_id,
                workspace_id=session.workspace.workspace_id,
                workspace_name=session.name,
                workflow_id=row.workflow_id,
                run_id=row.run_id,
                status=row.status,
                run_chain=chain,
                first_seen=row.first_seen,
                last_change=row.last_change,
                last_error_id=session.last_error_id,
            )
        )

    def _highlighted_row(self) -> JobRow | None:
        wid = self.table.cursor_key
        row = self.table.row(wid) if wid is not None else None
        if row is None:
            self.notify("No job highlighted.", severity="warning")
        return row

    def action_focus_detail(self) -> None:
        if self.focused is self.detail:
            self.table.focus()
        else:
            self.detail.focus()
