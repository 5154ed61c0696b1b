"""Snapshot tests of the dashboard's screens (pytest-textual-snapshot).

Everything shown is fixed: the config, the job data and the clock. Regenerate after an intended
change with `pytest tests/snapshots/test_snapshots.py --snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, Static

from jobwatch.simulator.server import Simulator
from jobwatch.store.config import DEFAULT_THEME, Config, WorkspaceConfig
from jobwatch.store.history import HistoryStore
from jobwatch.tui.dialogs.picker import AddWorkspaceScreen, WorkspacePicker
from jobwatch.tui.screens.help import HelpScreen
from jobwatch.tui.theming.themes import SHIPPED_THEMES, load_themes
from scripts.screenshots import (
    CHAIN_ID,
    ETA_ID,
    FAILED_ID,
    SLOW_ID,
    seed_history,
    seed_when_history,
    static_dashboard,
)

ORG = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
WS_OTHER = "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f"
HELP_KEYS = [
    ("c", "copy the highlighted job's runId"),
    ("y", "copy a support snippet"),
    ("enter / tab", "focus the detail pane"),
    ("/", "filter by text"),
    ("1-7", "filter by status"),
    ("s", "cycle the sort"),
    ("r", "refresh now"),
    ("p", "pause / resume polling"),
    ("t", "themes"),
    ("w", "workspaces"),
    ("+", "track job IDs"),
    ("delete", "stop tracking the highlighted job"),
    ("?", "this help"),
    ("q", "quit"),
]


class ScreenHost(App[None]):
    """A bare app that shows one modal screen over a plain background, in one of jobwatch's themes."""

    def __init__(self, make_screen: Callable[[], Screen], theme: str = DEFAULT_THEME) -> None:
        super().__init__()
        for loaded in load_themes(None)[0]:
            self.register_theme(loaded)
        self.theme = theme
        self._make_screen = make_screen

    def compose(self):
        yield Static("jobwatch (background)")

    def on_mount(self) -> None:
        self.push_screen(self._make_screen())


async def freeze_cursors(pilot) -> None:
    """Stop every Input's cursor from blinking so the screenshot does not depend on timing."""
    await pilot.pause()
    for screen in pilot.app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False
    await pilot.pause()


def test_help_screen(snap_compare) -> None:
    assert snap_compare(ScreenHost(lambda: HelpScreen(HELP_KEYS)), run_before=freeze_cursors)


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_help_screen_in_each_theme(snap_compare, theme: str) -> None:
    assert snap_compare(
        ScreenHost(lambda: HelpScreen(HELP_KEYS), theme=theme), run_before=freeze_cursors
    )


def snapshot_config(names: tuple[str, ...] = ("acme-prod", "acme-staging", "globex")) -> Config:
    """A fixed config; its path is never written by these tests."""
    config = Config(Path("/nonexistent/jobwatch/config.toml"))
    table = {
        "acme-prod": (
            "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f",
            ORG,
            {"token_env": "ACME_PROD_TOKEN"},
        ),
        "acme-staging": (
            "1c9f8063-4d2b-4e7f-8031-9b8c7d6e5f40",
            ORG,
            {"api_key_env": "ACME_STAGING_KEY"},
        ),
        "globex": (
            "2d0a9174-5e3c-4f80-9142-0c9d8e7f6a51",
            "6a5f4e3d-2c1b-4a98-9765-43210fedcba9",
            {},
        ),
    }
    for name in names:
        workspace_id, organization_id, creds = table[name]
        config.add_workspace(WorkspaceConfig(name, workspace_id, organization_id, **creds))
    config.default = names[0] if names else None
    return config


def test_workspace_picker(snap_compare) -> None:
    app = ScreenHost(lambda: WorkspacePicker(snapshot_config(), current="acme-staging"))
    assert snap_compare(app, run_before=freeze_cursors)


def test_workspace_picker_filtered(snap_compare) -> None:
    app = ScreenHost(lambda: WorkspacePicker(snapshot_config(), current="acme-staging"))
    assert snap_compare(app, press=list("glob"), run_before=freeze_cursors)


def test_workspace_picker_empty_config(snap_compare) -> None:
    app = ScreenHost(lambda: WorkspacePicker(snapshot_config(()), current=None))
    assert snap_compare(app, run_before=freeze_cursors)


async def _enter_invalid_workspace(pilot) -> None:
    screen = pilot.app.screen
    values = {
        "#add-name": "acme-eu",
        "#add-workspace-id": "0b8e7f52-3c1a-4d6e-9f20",
        "#add-organization-id": ORG,
        "#add-base-url": "api.sharely.ai",
        "#add-credential": "ACME_EU_TOKEN",
    }
    for selector, value in values.items():
        screen.query_one(selector, Input).value = value
    await pilot.press("ctrl+s")
    await freeze_cursors(pilot)


def test_add_workspace_form_validation_error(snap_compare) -> None:
    app = ScreenHost(lambda: AddWorkspaceScreen(snapshot_config()))
    assert snap_compare(app, run_before=_enter_invalid_workspace)


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_workspace_picker_in_each_theme(snap_compare, theme: str) -> None:
    app = ScreenHost(
        lambda: WorkspacePicker(snapshot_config(), current="acme-staging"), theme=theme
    )
    assert snap_compare(app, run_before=freeze_cursors)


# -- the whole dashboard on the static simulator scenario, with a frozen clock ----------------


@pytest.fixture
def utc(monkeypatch):
    """Times on screen in UTC, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def dashboard(sim: Simulator, tmp_path: Path, *, theme: str | None = None, workspaces: int = 1):
    store = HistoryStore(tmp_path / "history.sqlite3")
    if sim.jobs_snapshot():
        seed_history(store, sim)
    return static_dashboard(
        sim, store, tmp_path / "config.toml", theme=theme, other_workspace=workspaces > 1
    )


async def wait_until(pilot, predicate, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def loaded(pilot) -> None:
    """Wait for the first poll and the workspace's name, then clear notifications."""
    app = pilot.app
    screen = app.main_screen
    await wait_until(
        pilot,
        lambda: screen.session is not None and screen.session.health.state == "ok",
        "first poll",
    )
    await wait_until(
        pilot, lambda: screen.session.name == "Static Test Workspace", "workspace name"
    )
    await wait_until(pilot, lambda: screen.table.visible_count == 12, "12 rows")
    app.clear_notifications()
    await freeze_cursors(pilot)


def test_main_screen_every_status(snap_compare, sim, tmp_path, utc) -> None:
    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(120, 30), run_before=loaded)


def test_main_screen_80x24(snap_compare, sim, tmp_path, utc) -> None:
    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(80, 24), run_before=loaded)


async def _detail_of_chain(pilot) -> None:
    await loaded(pilot)
    screen = pilot.app.main_screen
    assert screen.table.move_cursor(CHAIN_ID)
    await wait_until(pilot, lambda: screen.detail.workflow_id == CHAIN_ID, "detail of the chain")
    await pilot.pause()


def test_detail_pane_continued_as_new_chain(snap_compare, sim, tmp_path, utc) -> None:
    assert snap_compare(
        dashboard(sim, tmp_path), terminal_size=(120, 36), run_before=_detail_of_chain
    )


async def _failed_poll(pilot, sim: Simulator, fault) -> None:
    await loaded(pilot)
    screen = pilot.app.main_screen
    fault(sim)
    await pilot.press("r")
    await wait_until(
        pilot, lambda: screen.session.health.state in ("retrying", "stopped"), "a failed poll"
    )
    pilot.app.clear_notifications()
    await pilot.pause()


def test_error_banner_401(snap_compare, sim, tmp_path, utc) -> None:
    async def run_before(pilot) -> None:
        await _failed_poll(pilot, sim, lambda s: s.revoke_token())

    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(120, 30), run_before=run_before)


def test_error_banner_503_with_retry_countdown(snap_compare, sim, tmp_path, utc) -> None:
    def fail(s: Simulator) -> None:
        s.faults.retry_after = "8"
        s.faults.error_status = 503
        s.faults.error_rate = 1.0

    async def run_before(pilot) -> None:
        await _failed_poll(pilot, sim, fail)

    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(120, 30), run_before=run_before)


def test_empty_workspace(snap_compare, tmp_path, utc) -> None:
    empty = Simulator("empty")
    empty.start()
    try:
        app = dashboard(empty, tmp_path)

        async def run_before(pilot) -> None:
            screen = pilot.app.main_screen
            await wait_until(
                pilot,
                lambda: screen.session is not None and screen.session.health.state == "ok",
                "first poll",
            )
            await wait_until(pilot, lambda: screen.session.name != "static", "workspace name")
            pilot.app.clear_notifications()
            await pilot.pause()

        assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)
    finally:
        empty.stop()


@pytest.mark.parametrize("theme", SHIPPED_THEMES)
def test_main_screen_in_each_theme(snap_compare, sim, tmp_path, utc, theme: str) -> None:
    assert snap_compare(
        dashboard(sim, tmp_path, theme=theme), terminal_size=(120, 30), run_before=_detail_of_chain
    )


def test_dashboard_help_screen(snap_compare, sim, tmp_path, utc) -> None:
    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(80, 24), run_before=run_before)


FIXED_PORT = 47613


def test_dashboard_workspace_picker(snap_compare, tmp_path, utc) -> None:
    """The picker shows base URLs, so this simulator listens on a fixed port (skipped if taken)."""
    fixed = Simulator("static")
    try:
        fixed.start(port=FIXED_PORT)
    except OSError:
        pytest.skip(f"port {FIXED_PORT} is in use")
    try:

        async def run_before(pilot) -> None:
            await loaded(pilot)
            await pilot.press("w")
            await freeze_cursors(pilot)

        app = dashboard(fixed, tmp_path, workspaces=2)
        assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
    finally:
        fixed.stop()


# -- small terminals and few colours (issue 12) -------------------------------------------


def test_main_screen_60x20(snap_compare, sim, tmp_path, utc) -> None:
    """The narrowest layout: elapsed is the only column after the status; `?` and `q` stay."""
    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(60, 20), run_before=loaded)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
def test_add_workspace_form_small(snap_compare, size: tuple[int, int]) -> None:
    """Every field's error shown: the fields scroll, Save and Cancel stay in view."""

    async def run_before(pilot) -> None:
        await pilot.press("ctrl+s")
        await freeze_cursors(pilot)

    app = ScreenHost(lambda: AddWorkspaceScreen(snapshot_config()))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_light_theme_in_16_colours(snap_compare, sim, tmp_path, utc) -> None:
    """The light theme as a 16-colour terminal shows it: the highlighted row stands out.

    pytest-textual-snapshot renders on a truecolor console whatever TEXTUAL_COLOR_SYSTEM says,
    so the colours are reduced by a line filter (tests/support/color_depth.py) that calls the
    same Rich downgrade as Textual's terminal output."""
    from tests.support.color_depth import with_color_depth

    app = with_color_depth(dashboard(sim, tmp_path, theme="jobwatch-light"), 16)

    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 24), run_before=run_before)


# -- when things happened, how long they take, labels and pins (issue 13) ------------------


def when_dashboard(sim: Simulator, tmp_path: Path):
    """The static dashboard over `seed_when_history`: past runs of every kind, a job 5 s in
    (an ETA), one 30 minutes in (slower than usual), a failure seen within 2 s and labelled, the
    continued-as-new chain pinned and seen across gaps (wide windows)."""
    store = HistoryStore(tmp_path / "history.sqlite3")
    seed_when_history(store, sim)
    return static_dashboard(sim, store, tmp_path / "config.toml", other_workspace=False)


def showing(workflow_id: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        screen = app.main_screen
        await wait_until(
            pilot,
            lambda: screen.session is not None and screen.session.health.state == "ok",
            "first poll",
        )
        await wait_until(
            pilot, lambda: screen.session.name == "Static Test Workspace", "workspace name"
        )
        await wait_until(pilot, lambda: bool(screen.facts and screen.facts.typicals), "typicals")
        assert screen.table.move_cursor(workflow_id)
        await wait_until(pilot, lambda: screen.detail.workflow_id == workflow_id, workflow_id)
        app.clear_notifications()
        await freeze_cursors(pilot)

    return run_before


def test_when_labelled_failure_with_a_narrow_window(snap_compare, sim, tmp_path, utc) -> None:
    """The table: the pinned chain on top, an ETA, "slow" marks, the label before its ID; the
    detail: `FAILED between 10:04:58 and 10:05:00`, the label as its kind."""
    assert snap_compare(
        when_dashboard(sim, tmp_path), terminal_size=(120, 36), run_before=showing(FAILED_ID)
    )


def test_when_pinned_chain_with_wide_windows(snap_compare, sim, tmp_path, utc) -> None:
    """Windows across the gaps between polls: `(not watched in between)`, durations as ranges."""
    assert snap_compare(
        when_dashboard(sim, tmp_path), terminal_size=(120, 36), run_before=showing(CHAIN_ID)
    )


def test_when_slower_than_usual(snap_compare, sim, tmp_path, utc) -> None:
    assert snap_compare(
        when_dashboard(sim, tmp_path), terminal_size=(120, 36), run_before=showing(SLOW_ID)
    )


def test_when_eta_at_80x24(snap_compare, sim, tmp_path, utc) -> None:
    """At 80 columns the ETA column stays (the runId's stub gives way)."""
    assert snap_compare(
        when_dashboard(sim, tmp_path), terminal_size=(80, 24), run_before=showing(ETA_ID)
    )


async def _two_jobs_end(pilot, sim: Simulator) -> None:
    await loaded(pilot)
    app = pilot.app
    table = app.main_screen.table
    running = [w for w in table.visible_keys() if table.row(w).status.code == 1][:2]
    assert len(running) == 2
    sim.set_status(running[0], 2)
    sim.set_status(running[1], 3)
    await pilot.press("r")
    await wait_until(
        pilot,
        lambda: any(n.title == "2 jobs finished, 1 failed" for n in app._notifications),
        "one notice for both endings",
    )
    await freeze_cursors(pilot)
    await pilot.pause()


def test_two_endings_in_one_poll_are_one_notice(snap_compare, sim, tmp_path, utc) -> None:
    async def run_before(pilot) -> None:
        await _two_jobs_end(pilot, sim)

    assert snap_compare(dashboard(sim, tmp_path), terminal_size=(120, 30), run_before=run_before)
