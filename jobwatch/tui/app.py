"""The dashboard application: themes, the workspace choice, global keys and the CLI entry `run_dashboard`.

The app is thin: the main screen owns the poll worker and the widgets; the app asks its
`jobwatch.session.Session` which workspace to open (at start, and when one is picked with `w`), applies
that workspace's theme and hands the workspace to the screen. Clients are built by the session too.

Themes: a workspace's own `theme` is applied whenever that workspace opens; otherwise the config's
`theme`, else jobwatch-dark (`jobwatch.session.resolve_theme`). Choosing a theme with `t` (or the
command palette) applies it at once and saves it as the config's `theme`, which every workspace
without its own theme uses; applying a workspace's theme is never saved.

Notifications that reach the person (jobwatch.tui.alerts): the app owns them because the focus is
the app's (AppFocus / AppBlur, the terminal's focus reports); the route is detected once it runs
on a terminal, its notes are pointed at once (in the header) and listed in the `?` help, its
bytes go through Textual's driver
(`write_to_terminal`), and the on_job_end runs are stopped when the dashboard ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandListItem, SimpleCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen

from jobwatch import give_way
from jobwatch.api.client import SharelyClient
from jobwatch.errors import JobwatchError, UsageError
from jobwatch.head_start import HeadStart
from jobwatch.sanitize import visible, visible_lines
from jobwatch.session import (
    Flags,
    NoDefaultWorkspace,
    NoWorkspaceConfigured,
    Session,
    UnknownWorkspace,
    Warn,
    resolve_theme,
)
from jobwatch.statuses import API_CODES, STATUSES
from jobwatch.store.config import DEFAULT_THEME, Config, WorkspaceConfig, load_config, save_config
from jobwatch.store.history import HistoryStore
from jobwatch.tui.alerts import Alerts
from jobwatch.tui.idle_gc import START_HOLD_LIMIT, IdleCollector, end_start_hold
from jobwatch.tui.poll_session import ClientFactory
from jobwatch.tui.screens.main import MainScreen
from jobwatch.tui.textual_private import (
    break_strip_self_cycles,
    busy,
    noticing_keys,
    write_to_terminal,
)
from jobwatch.tui.watch_settings import kinds_of, notify_settings

__all__ = ["DEFAULT_THEME", "JobwatchApp", "run_dashboard", "shown_notice"]

#: A notification's lines are cut (in the middle) at this many cells, and there are at most
#: NOTICE_LINES of them: a 100k-character ID or error body would fill the screen otherwise.
NOTICE_LINE_CELLS = 160
NOTICE_LINES = 12
NOTICE_TITLE_CELLS = 60
#: the terminal's title bar: "jobwatch — N running, M failed"
TITLE_CELLS = 80
#: The signals that end the dashboard like `q` does, and the exit code of each (128 + its number,
#: what a shell reports for a process it killed): SIGTERM (kill, systemd, a container stop) and
#: SIGHUP (the terminal's tab or window closed).
SIGNAL_EXITS = {signal.SIGTERM: 143, signal.SIGHUP: 129}
#: The longest the dashboard waits, when quitting, for the rows on screen to be stored (the first
#: write of 100k jobs takes ~1 s); past it, it exits anyway.
STOP_TIMEOUT = 10.0


def shown_notice(title: str, message: str) -> tuple[str, str]:
    """(title, message) as a notification shows them: escaped (`jobwatch.sanitize`) and bounded.

    Line breaks of the message stay; anything else a terminal would act on is escaped.
    """
    lines = visible_lines(message, NOTICE_LINE_CELLS).split("\n")
    if len(lines) > NOTICE_LINES:
        lines = [*lines[: NOTICE_LINES - 1], f"… ({len(lines) - NOTICE_LINES + 1} more lines)"]
    return visible(title, NOTICE_TITLE_CELLS), "\n".join(lines)


class JobwatchApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "jobwatch"

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("w", "workspaces", "Workspaces"),
        Binding("t", "themes", "Theme", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        config: Config,
        *,
        workspace: str | None,
        job_ids: Sequence[str] | None,
        history: HistoryStore | None,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        poll: bool = True,
        interval: float | None = None,
        session: Session | None = None,
        warnings: Sequence[str] = (),
        notify_environ: Mapping[str, str] | None = None,
        head_start: HeadStart | None = None,
    ) -> None:
        """`session` resolves workspaces (default: `config` with no command-line flags but
        `interval`); `client_factory` replaces the session's clients (tests); `warnings` are
        shown as notifications once the screen is up (e.g. "history disabled").
        `notify_environ` is the environment the notification route is detected from (default:
        os.environ on a terminal; a headless app detects none unless it is given).
        `head_start`: the poller `jobwatch watch` started for its workspace (jobwatch.head_start);
        the main screen's first worker takes it."""
        super().__init__()
        if session is None:
            session = Session(config, Flags(interval=interval))
        elif session.config is not config:
            raise ValueError("the session must hold the app's config")
        break_strip_self_cycles()
        self.session = session
        self.config = config
        self.start_workspace = workspace
        self.start_job_ids = list(job_ids) if job_ids else None
        self.history = history
        self.client_factory: ClientFactory = client_factory or self._session_client
        self.clock = clock
        self.demo = demo
        self.poll = poll
        self.interval = session.flags.interval
        self.start_warnings = list(warnings)
        self.head_start = head_start
        self.theme_names: list[str] = []
        self.theme_warnings: list[str] = []
        self.workspace_name: str | None = None
        self._warned: set[str] = set()
        #: a theme the app applied for a workspace: its change is not the person's choice to save
        self._applied_theme: str | None = None
        self._ending = False
        self._signals: list[int] = []
        self._load_themes()
        self._open_theme(self._start_choice(), self.theme_warnings.append)
        self.idle_gc = IdleCollector()
        self.notify_environ = notify_environ
        self._screen_ready = False
        self._route_note = False
        self.alerts = Alerts(
            notify_settings(config),
            self.write_notification,
            allow_bell=config.bell,
            on_problem=self._job_end_problem,
        )

    def _session_client(self, workspace: WorkspaceConfig) -> SharelyClient:
        """The session's client for `workspace`; an --insecure warning becomes a notification."""
        return self.session.target_for(workspace).client(warn=self.warn)

    def _load_themes(self) -> None:
        try:
            from jobwatch.tui.theming.themes import load_themes
        except ImportError:
            return
        extra = self.config.path.parent / "themes" if self.config.path else None
        themes, warnings = load_themes(extra)
        for theme in themes:
            self.register_theme(theme)
        self.theme_names = [theme.name for theme in themes]
        self.theme_warnings = list(warnings)

    def _start_choice(self) -> WorkspaceConfig | None:
        """The workspace the dashboard opens on, or None when the picker must ask."""
        try:
            return self.session.choose(self.start_workspace)
        except UsageError:
            return None

    def _open_theme(self, workspace: WorkspaceConfig | None, warn: Warn) -> None:
        """Show the theme `workspace` asks for (see resolve_theme); unknown names are warned about once."""
        choice = resolve_theme(self.config, workspace, self.available_themes)
        for warning in choice.warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                warn(warning)
        if choice.name in self.available_themes and choice.name != self.theme:
            self._applied_theme = choice.name
            self.theme = choice.name

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.idle_gc.start()
        self.set_interval(0.5, self.idle_gc.tick, name="idle-gc")
        self.set_timer(START_HOLD_LIMIT, end_start_hold, name="gc-start-hold")
        if not self.is_headless:
            self._catch_signals()
        if self.notify_environ is not None or not self.is_headless:
            self.run_worker(self._detect_route(), group="notify-route", exit_on_error=False)

    # -- notifications that reach the person ---------------------------------------------

    async def _detect_route(self) -> None:
        """Choose how notifications reach this terminal; say once what the person could fix."""
        route = await self.alerts.detect(self.notify_environ)
        if route.notes:
            self._route_note = True
            if self._screen_ready:
                self._show_route_note()

    def _show_route_note(self) -> None:
        """A line in the header, the notes in the help: at 80x24 a toast of four lines filled
        the rack, and the next toasts (a failure, "Copied runId") stayed out of view."""
        if self._route_note:
            self._route_note = False
            self.main_screen.header.passing_note("notifications: see ? help")

    def write_notification(self, text: str) -> None:
        """Where the alerts' bytes go: the terminal, through Textual's driver (already made safe
        by jobwatch.notify.terminal)."""
        write_to_terminal(self, text)

    def _job_end_problem(self, message: str) -> None:
        self.notify(message, title="on_job_end", severity="warning", timeout=10, markup=False)

    def on_app_focus(self, event: events.AppFocus) -> None:
        self.alerts.set_focus(True)

    def on_app_blur(self, event: events.AppBlur) -> None:
        self.alerts.set_focus(False)

    def on_unmount(self) -> None:
        end_start_hold()
        self.idle_gc.stop()
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        self._signals.clear()

    # -- ending: q, SIGTERM, SIGHUP ------------------------------------------------------

    def _catch_signals(self) -> None:
        """End on SIGTERM and SIGHUP as on `q`: by default they would kill the process with the
        terminal still in the alternate screen, mouse tracking on, the cursor hidden, and the
        rows on screen not stored. (Not on Windows: its event loop has no signal handlers.)"""
        loop = asyncio.get_running_loop()
        for sig, code in SIGNAL_EXITS.items():
            try:
                loop.add_signal_handler(sig, self._signalled, code)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._signals.append(sig)

    def _signalled(self, return_code: int) -> None:
        self.call_later(self.end, return_code)

    async def end(self, return_code: int = 0) -> None:
        """Stop polling, so the rows on screen are stored, then exit with `return_code`.

        Textual's exit then restores the terminal (alternate screen off, mouse off, cursor on).
        A second request while ending changes nothing.
        """
        if self._ending:
            return
        self._ending = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.main_screen.stop_polling(), STOP_TIMEOUT)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.alerts.aclose(), STOP_TIMEOUT)
        self.exit(return_code=return_code)

    async def action_quit(self) -> None:
        await self.end(0)

    #: a key read from the terminal counts as pending from the driver's thread on
    _post_message = noticing_keys(App._post_message, give_way.key_pressed)  # type: ignore[assignment]

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.idle_gc.input_seen()
        if isinstance(event, events.Key):
            if not event.is_forwarded:
                give_way.key_pressed()
            else:
                # back from the focused widget: the bindings run now, and the callback once the
                # screen is repainted (a key a widget keeps counts for give_way.MAX_WAIT)
                await super().on_event(event)
                self.call_after_refresh(self._key_settled)
                return
        await super().on_event(event)

    def _key_settled(self) -> None:
        """After a repaint: the key has shown once nothing it set off is left to handle or paint."""
        if not give_way.key_pending():
            return  # shown, or waited for long enough
        if busy(self):
            self.call_after_refresh(self._key_settled)
        else:
            give_way.key_shown()

    def _theme_changed(self, theme) -> None:
        """Remember the chosen theme in the config file (not in demo mode), for the next start.

        The change the app made itself for a workspace's theme is skipped (once).
        """
        if theme.name == self._applied_theme:
            self._applied_theme = None
            return
        self._applied_theme = None
        if self.demo or theme.name == self.config.theme or self.config.path is None:
            return
        self.config.theme = theme.name
        try:
            # Re-read the file: the in-memory config may hold a workspace given on the command line.
            on_disk = load_config(self.config.path)
            on_disk.theme = theme.name
            save_config(on_disk)
        except (JobwatchError, OSError) as error:
            reason = error.describe() if isinstance(error, JobwatchError) else str(error)
            self.notify(reason, title="Theme not saved", severity="warning", markup=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification passes here (widgets' and screens' `notify` call the app's).

        The one boundary for notifications: title and message are escaped and bounded
        (`shown_notice`) and never parsed as markup, whatever the caller asked: they carry IDs,
        error bodies and config values, and none of ours needs markup.
        """
        title, message = shown_notice(title, message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def warn(self, message: str) -> None:
        """Show a warning (e.g. from creating a client) as a notification, once per distinct text."""
        if message in self._warned:
            return
        self._warned.add(message)
        self.notify(message, title="Warning", severity="warning", timeout=10, markup=False)

    def get_default_screen(self) -> Screen:
        return MainScreen(
            history=self.history,
            client_factory=self.client_factory,
            clock=self.clock,
            poll=self.poll,
            interval=self.interval,
            bell=self.config.bell,
            discovery_interval=self.session.flags.discovery_interval,
            kinds=partial(kinds_of, self.config),
            alerts=self.alerts,
            head_start=self.head_start,
        )

    @property
    def main_screen(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def _theme_warning(self, warning: str) -> None:
        self.notify(warning, title="Theme skipped", severity="warning", timeout=8, markup=False)

    async def on_main_screen_ready(self, _: MainScreen.Ready) -> None:
        self._screen_ready = True
        self.main_screen.table.on_first_rows = end_start_hold
        self._show_route_note()
        for warning in self.theme_warnings:
            self._theme_warning(warning)
        for warning in self.start_warnings:
            self.warn(warning)
        try:
            workspace = self.session.choose(self.start_workspace)
        except UnknownWorkspace as error:
            self.notify(error.describe(), severity="error", markup=False)
            self.action_workspaces()
        except NoDefaultWorkspace:
            self.action_workspaces()
        except NoWorkspaceConfigured:
            pass  # the table says how to add one (w, then a)
        else:
            await self.switch_workspace(workspace.name, job_ids=self.start_job_ids)

    async def switch_workspace(self, name: str, *, job_ids: Sequence[str] | None = None) -> None:
        """Watch the workspace `name` (configured, or the command line's) with its theme; the old
        one's worker is cancelled first."""
        try:
            workspace = self.session.choose(name)
        except UsageError as error:
            self.notify(error.describe(), severity="error", markup=False)
            return
        self.workspace_name = workspace.name
        self._open_theme(workspace, self._theme_warning)
        await self.main_screen.open_workspace(workspace, job_ids)

    # -- actions ------------------------------------------------------------------------

    def action_workspaces(self) -> None:
        from jobwatch.tui.dialogs.picker import WorkspacePicker

        async def chosen(name: str | None) -> None:
            if name and (name != self.workspace_name or self.main_screen.session is None):
                await self.switch_workspace(name)

        picker = WorkspacePicker(
            self.config, self.workspace_name, extra=self.session.extra_workspaces
        )
        self.push_screen(picker, chosen)

    def action_themes(self) -> None:
        names = self.theme_names or sorted(self.available_themes)
        commands: list[CommandListItem] = [
            SimpleCommand(
                name,
                partial(setattr, self, "theme", name),
                "current" if name == self.theme else None,
            )
            for name in names
        ]
        self.search_commands(commands, placeholder="Choose a theme…")

    def action_help(self) -> None:
        from jobwatch.tui.screens.help import HelpScreen

        route = self.alerts.route
        about = [route.describe(), *route.notes] if route is not None else []
        self.push_screen(HelpScreen(self.key_help(), notes=about))

    def key_help(self) -> list[tuple[str, str]]:
        """(key, description) for every key of the dashboard, for the help screen.

        Short enough to fit the help's two columns at 80 columns, hidden footer keys included.
        """
        rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        keys = {"filter_status(1)": "1-7", "focus_detail": "enter / tab"}
        for binding in [*MainScreen.BINDINGS, *self.BINDINGS]:
            assert isinstance(binding, Binding)
            action = binding.action.removeprefix("app.")
            if action in seen or action == "close_input":
                continue
            if action.startswith("filter_status(") and action != "filter_status(1)":
                continue
            seen.add(action)
            key = keys.get(binding.action, binding.key_display or binding.key)
            rows.append((key, binding.tooltip or binding.description))
            if action == "workspaces":
                rows.append(("w then a", "Add a workspace"))
        rows.append(("click status", "Filter by that status"))
        rows.append(("ctrl+p", "Command palette"))
        return rows

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        main = self.screen_stack[0] if self.screen_stack else None
        if isinstance(main, MainScreen):
            ours = [
                ("Refresh now", "Poll the API now (r)", main.action_refresh),
                (
                    "Pause or resume polling",
                    "Stop or restart polling (p)",
                    main.action_toggle_pause,
                ),
                ("Filter by text", "Show only jobs matching a text (/)", main.action_filter_text),
                ("Cycle the sort", "Change the table's sort order (s)", main.action_cycle_sort),
                ("Track jobs", "Add workflow IDs to watch (+)", main.action_track),
                ("Untrack job", "Stop tracking the highlighted job (delete)", main.action_untrack),
                ("Label job", "Give the highlighted job a label (l)", main.action_label),
                (
                    "Pin or unpin job",
                    "Keep the highlighted job at the top (space)",
                    main.action_pin,
                ),
                ("Copy runId", "Copy the highlighted job's runId (c)", main.action_copy_run_id),
                (
                    "Copy support details",
                    "Copy the IDs a support ticket needs (y)",
                    main.action_copy_support,
                ),
                ("Detail pane", "Focus the detail pane (enter)", main.action_focus_detail),
            ]
            for code in API_CODES:
                label = STATUSES[code].name.lower().replace("_", " ")
                ours.append(
                    (
                        f"Show only {label}",
                        f"Filter by status {code} ({code})",
                        partial(main.action_filter_status, code),
                    )
                )
            for title, help_text, callback in ours:
                yield SystemCommand(title, help_text, callback)
        yield SystemCommand("Workspaces", "Switch or add a workspace (w)", self.action_workspaces)
        yield SystemCommand(
            "Jobwatch themes", "Choose one of jobwatch's themes (t)", self.action_themes
        )
        yield SystemCommand("Help", "All keys (?)", self.action_help)
        yield from super().get_system_commands(screen)

    def set_terminal_title(self, title: str) -> None:
        """Put `title` in the terminal's title bar (OSC 2), on a real terminal only.

        Escaped (`jobwatch.sanitize.visible`): a BEL or ESC inside would end the sequence early
        and let the rest act on the terminal.
        """
        write_to_terminal(self, f"\x1b]2;{visible(title, TITLE_CELLS)}\x07")


def run_dashboard(
    session: Session,
    *,
    workspace: str | None,
    job_ids: Sequence[str] | None,
    history: HistoryStore | None,
    demo: bool = False,
    warnings: Sequence[str] = (),
    head_start: HeadStart | None = None,
    runner: asyncio.Runner | None = None,
) -> int:
    """Run the dashboard until the person quits; returns the process exit code.

    Clients come from `session`; their warnings (e.g. --insecure) and `warnings` are shown as
    notifications: printed to stderr they would land on top of the dashboard. `head_start` (the
    poller `jobwatch watch` started, jobwatch.head_start) runs in `runner`'s event loop, so the
    app runs there too.
    """
    app = JobwatchApp(
        session.config,
        session=session,
        workspace=workspace,
        job_ids=job_ids,
        history=history,
        demo=demo,
        warnings=[*warnings, *(head_start.warnings if head_start is not None else ())],
        head_start=head_start,
    )
    with give_way.loop_favoured():
        if runner is None:
            result = app.run()
        else:
            # what app.run() does, in the loop the head start runs in
            result = runner.run(app.run_async())
            if head_start is not None:
                runner.run(head_start.aclose())  # not taken (e.g. the picker opened first)
    _let_go_of_a_closed_terminal()
    if isinstance(result, int):
        return result
    return app.return_code or 0


def _let_go_of_a_closed_terminal() -> None:
    """After a hang-up (the terminal's tab closed) writing to it fails: what is left in stdout's
    buffer goes to /dev/null, or Python's final flush would fail and turn the exit code into 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
                stream.flush()
