"""The dashboard application: themes, the workspace choice, global keys and the CLI entry `run_dashboard`.

The app is thin: the main screen owns the poll worker and the widgets; the app chooses the theme and
the workspace and hands the workspace to the screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandListItem, SimpleCommand
from textual.screen import Screen

from jobwatch.errors import JobwatchError
from jobwatch.statuses import API_CODES, STATUSES
from jobwatch.store.config import Config, WorkspaceConfig, load_config, save_config
from jobwatch.tui.idle_gc import IdleCollector
from jobwatch.tui.screens.main import MainScreen

DEFAULT_THEME = "jobwatch-dark"


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
        history,
        client_factory: Callable[[WorkspaceConfig], object],
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        poll: bool = True,
        interval: float | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.start_workspace = workspace
        self.start_job_ids = list(job_ids) if job_ids else None
        self.history = history
        self.client_factory = client_factory
        self.clock = clock
        self.demo = demo
        self.poll = poll
        self.interval = interval
        self.theme_names: list[str] = []
        self.theme_warnings: list[str] = []
        self.workspace_name: str | None = None
        self._warned: set[str] = set()
        self._load_themes()
        self._saved_theme = self.theme
        self.idle_gc = IdleCollector()

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
        wanted = self.config.theme
        if wanted and wanted in self.available_themes:
            self.theme = wanted
        elif DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME
        if wanted and wanted not in self.available_themes:
            self.theme_warnings.append(
                f"theme {wanted!r} from the config is not known; using {self.theme}"
            )

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.idle_gc.start()
        self.set_interval(0.5, self.idle_gc.tick, name="idle-gc")

    def on_unmount(self) -> None:
        self.idle_gc.stop()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.idle_gc.input_seen()
        await super().on_event(event)

    def _theme_changed(self, theme) -> None:
        """Remember the chosen theme in the config file (not in demo mode), for the next start."""
        if self.demo or theme.name == self._saved_theme or self.config.path is None:
            return
        self._saved_theme = theme.name
        self.config.theme = theme.name
        try:
            # Re-read the file: the in-memory config may hold a workspace given on the command line.
            on_disk = load_config(self.config.path)
            on_disk.theme = theme.name
            save_config(on_disk)
        except (JobwatchError, OSError) as error:
            reason = error.describe() if isinstance(error, JobwatchError) else str(error)
            self.notify(reason, title="Theme not saved", severity="warning", markup=False)

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
        )

    @property
    def main_screen(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    async def on_main_screen_ready(self, _: MainScreen.Ready) -> None:
        for warning in self.theme_warnings:
            self.notify(warning, title="Theme skipped", severity="warning", timeout=8)
        workspaces = self.config.workspaces
        name = self.start_workspace or self.config.default
        if name is None and len(workspaces) == 1:
            name = next(iter(workspaces))
        if name is not None and name in workspaces:
            await self.switch_workspace(name, job_ids=self.start_job_ids)
        elif name is not None:
            self.notify(f"No workspace named {name!r} in the config.", severity="error")
            self.action_workspaces()
        elif workspaces:
            self.action_workspaces()

    async def switch_workspace(self, name: str, *, job_ids: Sequence[str] | None = None) -> None:
        """Watch the configured workspace `name`; the old one's worker is cancelled first."""
        workspace = self.config.workspaces.get(name)
        if workspace is None:
            self.notify(f"No workspace named {name!r}.", severity="error")
            return
        self.workspace_name = name
        await self.main_screen.open_workspace(workspace, job_ids)

    # -- actions ------------------------------------------------------------------------

    def action_workspaces(self) -> None:
        from jobwatch.tui.dialogs.picker import WorkspacePicker

        async def chosen(name: str | None) -> None:
            if name and (name != self.workspace_name or self.main_screen.session is None):
                await self.switch_workspace(name)

        self.push_screen(WorkspacePicker(self.config, self.workspace_name), chosen)

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

        self.push_screen(HelpScreen(self.key_help()))

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
        """Put `title` in the terminal's title bar (OSC 2), on a real terminal only."""
        driver = self._driver
        if driver is None or self.is_headless:
            return
        safe = "".join(ch for ch in title if ch.isprintable())
        driver.write(f"\x1b]2;{safe}\x07")


def run_dashboard(
    config: Config,
    *,
    workspace: str | None,
    job_ids: Sequence[str] | None,
    history,
    client_factory: Callable[..., object],
    demo: bool = False,
) -> int:
    """Run the dashboard until the person quits; returns the process exit code.

    `client_factory(workspace, warn=...)` gets a `warn(text)` that shows a warning as a notification:
    printed to stderr it would land on top of the dashboard.
    """
    app: JobwatchApp

    def make_client(ws: WorkspaceConfig) -> object:
        return client_factory(ws, warn=app.warn)

    app = JobwatchApp(
        config,
        workspace=workspace,
        job_ids=job_ids,
        history=history,
        client_factory=make_client,
        demo=demo,
    )
    result = app.run()
    if isinstance(result, int):
        return result
    return app.return_code or 0
