"""The dashboard as a demanding user sees it: what fits 80 and 120 columns, one-line history and
banner, honest elapsed times, the picker's keys, the theme remembered, warnings as notifications."""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, OptionList, Static

from jobwatch import give_way
from jobwatch.errors import Unauthorized
from jobwatch.models import Status
from jobwatch.session import Flags, Session
from jobwatch.store.config import Config, WorkspaceConfig, load_config, save_config
from jobwatch.store.history import Transition
from jobwatch.tui import app as app_module
from jobwatch.tui.app import JobwatchApp, run_dashboard
from jobwatch.tui.dialogs.picker import AddWorkspaceScreen, WorkspacePicker
from jobwatch.tui.messages import Health
from jobwatch.tui.screens.help import HelpScreen
from jobwatch.tui.widgets.detail import render_detail
from jobwatch.tui.widgets.header import ConnectionHeader
from jobwatch.tui.widgets.job_table import JobRow, JobTable
from jobwatch.tui.widgets.key_bar import KeyBar
from jobwatch.tui.widgets.summary import SummaryBar
from tests.support.tui import (
    ORG,
    WS,
    idle_app,
)

NOW = 1_700_000_000.0
RUNNING = Status(1, "RUNNING")
COMPLETED = Status(2, "COMPLETED")
FAILED = Status(3, "FAILED")
CONTINUED = Status(6, "CONTINUED_AS_NEW")
STYLES = defaultdict(Style)


@pytest.mark.parametrize("size", [(80, 24), (120, 30)])
async def test_footer_keys_fit_beside_the_palette_key(tmp_path, size) -> None:
    app = idle_app(tmp_path / "config.toml")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.main_screen
        bar = screen.query_one(KeyBar)
        drawn = bar._spans
        keys = [(start, end, item) for start, end, item in drawn if item is not bar.palette]
        (palette,) = [(start, end) for start, end, item in drawn if item is bar.palette]
        assert {item.key for _, _, item in keys} >= {
            "c",
            "y",
            "slash",
            "plus",
            "w",
            "question_mark",
            "q",
        }
        assert max(end for _, end, _ in keys) < palette[0] and palette[1] == size[0]
        line = bar.render().plain
        assert line.startswith("c Copy runId y Support / Filter") and line.endswith("▏^p palette ")
        # What the footer leaves out is still in the help.
        helped = {key for key, _ in app.key_help()}
        assert {"s", "p", "r", "t", "del", "1-7", "enter / tab"} <= helped


async def test_key_bar_follows_the_focus_and_presses_a_clicked_key(tmp_path) -> None:
    app = idle_app(tmp_path / "config.toml")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        bar = app.main_screen.query_one(KeyBar)
        await pilot.press("slash")
        await pilot.pause()
        keys = {item.key for item in bar.items}
        assert "slash" in keys and "c" not in keys  # typing "c" goes to the filter box
        assert "Copy runId" not in bar.render().plain
        await pilot.press("escape")
        await pilot.pause()
        assert "c" in {item.key for item in bar.items}
        (start,) = [s for s, _, item in bar._spans if item.key == "question_mark"]
        await pilot.hover(KeyBar, offset=(start, 0))
        await pilot.pause()
        assert bar.hovered is not None and bar.hovered.key == "question_mark"
        lit = bar.get_component_rich_style("keybar--hover", partial=True).bgcolor
        line = bar.render()
        assert line.get_style_at_offset(app.console, start).bgcolor == lit
        assert line.get_style_at_offset(app.console, 0).bgcolor != lit  # only that key
        await pilot.click(KeyBar, offset=(start, 0))
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SummaryBar()


async def test_summary_chip_grows_when_its_count_gains_a_digit() -> None:
    app = BarApp()
    async with app.run_test(size=(120, 5)) as pilot:
        bar = app.query_one(SummaryBar)
        bar.set_counts({1: 9, 4: 1})
        await pilot.pause()
        (running,) = [chip for chip in bar.query("StatusChip") if chip.code == 1]
        width = running.region.width
        bar.set_counts({1: 8, 4: 2})  # same widths: repainted in place
        await pilot.pause()
        assert running.region.width == width
        assert str(running.render()).endswith("RUNNING 8")
        bar.set_counts({1: 10, 4: 2})
        await pilot.pause()
        assert running.region.width == width + 1
        assert str(running.render()).endswith("RUNNING 10")


async def test_summary_chips_whose_text_stays_are_not_repainted() -> None:
    app = BarApp()
    async with app.run_test(size=(120, 5)) as pilot:
        bar = app.query_one(SummaryBar)
        bar.set_counts({1: 9, 4: 1})
        await pilot.pause()
        chips = {chip.code: chip for chip in bar.query("StatusChip")}
        repainted: list[int] = []
        for code, chip in chips.items():
            original = chip.refresh

            def spy(*regions, _code=code, _original=original, **kwargs):
                repainted.append(_code)
                return _original(*regions, **kwargs)

            chip.refresh = spy
        bar.set_counts({1: 8, 4: 1})  # only RUNNING's count changed
        await pilot.pause()
        assert repainted == [1]
        assert str(chips[1].render()).endswith("RUNNING 8")
        assert str(chips[4].render()).endswith("CANCELLED 1")


async def test_summary_bar_shrinks_to_symbols_when_names_do_not_fit() -> None:
    codes = [1, 1, 2, 3, 4, 5, 6, 7, 0]
    app = BarApp()
    async with app.run_test(size=(80, 5)) as pilot:
        bar = app.query_one(SummaryBar)
        bar.set_counts(codes)
        await pilot.pause()
        text = bar.summary_text()
        assert bar.compact
        assert text.startswith("▶2 ↻1 ✓1 ✗1 ■1 ◔1 ⊘1 ?(0)1") and text.endswith("· 9 jobs")
        # Every chip is on screen, and still says which status it counts (also by tooltip).
        chips = list(bar.query("StatusChip"))
        assert max(chip.region.right for chip in chips) <= 80
        assert chips[0].tooltip.startswith("show only RUNNING")
        await pilot.resize_terminal(200, 5)
        await pilot.pause()
        assert not bar.compact
        assert bar.summary_text().startswith("▶ RUNNING 2 ↻ CONTINUED 1 ✓ COMPLETED 1")


def history_lines(width: int) -> list[str]:
    row = JobRow("job-1", FAILED, "run-2", NOW - 100, NOW - 96)
    transitions = [
        Transition(RUNNING, "run-1", NOW - 1300, NOW - 1302),
        Transition(CONTINUED, "run-1", NOW - 100, NOW - 102),
        Transition(FAILED, "run-1", NOW - 96, NOW - 97),
    ]
    text = render_detail(
        row, transitions=transitions, run_chain=["run-1"], now=NOW, styles=STYLES, width=width
    )
    return text.plain.splitlines()


def test_history_transition_takes_one_line_where_it_fits() -> None:
    # Too long for 39 cells: how long the previous state lasted goes whole on the next line.
    lines = history_lines(39)
    failed = next(i for i, line in enumerate(lines) if line.startswith("✗ FAILED between"))
    assert lines[failed + 1] == "          after 4s CONTINUED_AS_NEW"
    # Wide enough: each transition on a single line.
    lines = history_lines(80)
    assert any(
        line.startswith("↻ CONTINUED_AS_NEW between") and line.endswith("  after 20m00s RUNNING")
        for line in lines
    )
    assert any(line.endswith("  after 4s CONTINUED_AS_NEW") for line in lines)
    assert not any(line.strip().startswith("after") for line in lines)
    # In the pane's 39 cells a short change still fits on its line.
    row = JobRow("job-2", FAILED, "run-1", NOW - 4, NOW)
    text = render_detail(
        row,
        transitions=[
            Transition(RUNNING, "run-1", NOW - 4, NOW - 5),
            Transition(FAILED, "run-1", NOW, NOW - 1),
        ],
        run_chain=["run-1"],
        now=NOW,
        styles=STYLES,
        width=60,
    )
    assert any(line.endswith("  after 4s RUNNING") for line in text.plain.splitlines())


def test_a_change_without_a_recorded_window_says_what_is_known() -> None:
    """A history written before windows: the change happened after the earlier sighting, and
    how long the state before it lasted is not made up."""
    row = JobRow("job-3", FAILED, "run-1", NOW - 100, NOW)
    transitions = [Transition(RUNNING, "run-1", NOW - 100), Transition(FAILED, "run-1", NOW)]
    lines = render_detail(
        row, transitions=transitions, run_chain=[], now=NOW, styles=STYLES, width=80
    ).plain.splitlines()
    first = next(line for line in lines if line.startswith("▶ RUNNING"))
    assert first.endswith("(already so when first seen)")
    failed = next(line for line in lines if line.startswith("✗ FAILED"))
    assert failed.startswith("✗ FAILED between ") and "after" not in failed


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield JobTable(now=lambda: NOW)


async def test_elapsed_of_a_job_first_seen_finished_is_unknown() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(JobTable)
        table.upsert(
            [
                JobRow("seen-done", COMPLETED, "r1", NOW - 50, NOW - 50),
                JobRow("seen-run", COMPLETED, "r2", NOW - 50, NOW - 20),
            ]
        )
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(table.size.height)]
        done = next(line for line in lines if "seen-done" in line)
        ran = next(line for line in lines if "seen-run" in line)
        assert done.rstrip().endswith("—") and not done.rstrip().endswith("0s")
        assert ran.rstrip().endswith("30s")


class HeaderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ConnectionHeader(lambda: NOW)


async def test_401_banner_is_one_line_with_the_whole_reason_in_its_tooltip() -> None:
    app = HeaderApp()
    async with app.run_test(size=(120, 10)) as pilot:
        header = app.query_one(ConnectionHeader)
        error = Unauthorized(
            "token expired", status=401, error_id="edcae076-7c40-45a6-8053-0e5304b7b5fe"
        )
        header.set_state(
            workspace_name="Static Test Workspace", health=Health("stopped", error=error)
        )
        await pilot.pause()
        assert header.size.height == 1
        shown = str(header.render())
        assert len(shown) <= 118 and shown.endswith("…")
        assert "edcae076-7c40-45a6-8053-0e5304b7b5fe" in header.tooltip


async def test_help_rows_each_take_one_line_at_80_columns(tmp_path) -> None:
    app = idle_app(tmp_path / "config.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = app.screen.query_one("#help-keys", Static)
        assert keys.size.height == math.ceil(len(app.key_help()) / 2)
        assert ("w then a", "Add a workspace") in app.key_help()


async def until(pilot, predicate, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def choose_theme(pilot, name: str) -> None:
    """`t`, type `name`, enter on the one theme left."""
    app = pilot.app
    await pilot.press("t")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the theme list")
    await pilot.press(*name)
    options = app.screen.query_one(CommandList)
    await until(
        pilot,
        lambda: options.option_count == 1 and options.highlighted == 0,
        f"only {name} listed",
    )
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), "the palette closed")


async def test_chosen_theme_is_saved_to_the_config_file(tmp_path) -> None:
    path = tmp_path / "config.toml"
    app = idle_app(path)
    save_config(app.config)
    # A workspace given on the command line lives in memory only: saving the theme keeps it out.
    app.config.workspaces["adhoc"] = WorkspaceConfig("adhoc", WS, ORG)
    app.start_workspace = "adhoc"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert load_config(path).theme is None
        await choose_theme(pilot, "light")
        assert app.theme == "jobwatch-light"
    saved = load_config(path)
    assert saved.theme == "jobwatch-light"
    assert set(saved.workspaces) == {"acme"}
    again = idle_app(path, theme=saved.theme)
    assert again.theme == "jobwatch-light"


async def test_demo_does_not_save_the_theme(tmp_path) -> None:
    path = tmp_path / "config.toml"
    app = idle_app(path, demo=True)
    save_config(app.config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await choose_theme(pilot, "light")
        assert app.theme == "jobwatch-light"
    assert load_config(path).theme is None


def test_insecure_warning_goes_to_the_dashboard_not_stderr(monkeypatch, capsys, tmp_path) -> None:
    ws = WorkspaceConfig("lab", WS, ORG, base_url="http://10.0.0.7:8080", token_env="LAB_TOKEN")
    monkeypatch.setenv("LAB_TOKEN", "not-a-real-token")
    config = Config(tmp_path / "config.toml", workspaces={"lab": ws})
    session = Session(config, Flags(insecure=True, request_timeout=5.0))
    # The CLI commands keep printing it.
    session.target_for(ws).client()
    assert "warning" in capsys.readouterr().err
    seen: dict[str, object] = {}

    def fake_run(self: JobwatchApp) -> int:
        seen["client"] = self.client_factory(ws)
        seen["warned"] = set(self._warned)
        return 0

    monkeypatch.setattr(JobwatchApp, "run", fake_run)
    code = run_dashboard(session, workspace=None, job_ids=None, history=None)
    assert code == 0 and seen["client"] is not None
    assert capsys.readouterr().err == ""
    assert any("http" in message for message in seen["warned"])


def test_while_the_dashboard_runs_its_threads_hand_the_gil_back_sooner(
    monkeypatch, tmp_path
) -> None:
    seen: list[float] = []

    def fake_run(self: JobwatchApp) -> int:
        seen.append(sys.getswitchinterval())
        return 0

    monkeypatch.setattr(JobwatchApp, "run", fake_run)
    before = sys.getswitchinterval()
    session = Session(Config(tmp_path / "config.toml"), Flags())
    assert run_dashboard(session, workspace=None, job_ids=None, history=None) == 0
    assert seen == [give_way.SWITCH_INTERVAL] and before != give_way.SWITCH_INTERVAL
    assert sys.getswitchinterval() == before


async def test_app_warn_notifies_once(tmp_path) -> None:
    app = idle_app(tmp_path / "config.toml")
    async with app.run_test() as pilot:
        app.warn("plain http to [/10.0.0.7]")
        app.warn("plain http to [/10.0.0.7]")
        await pilot.pause()
        shown = list(app._notifications)
        assert len(shown) == 1 and shown[0].message == "plain http to [/10.0.0.7]"
        assert not shown[0].markup


def picker_config(path: Path) -> Config:
    config = Config(path)
    config.add_workspace(WorkspaceConfig("acme-prod", WS, ORG, token_env="ACME_TOKEN"))
    config.add_workspace(
        WorkspaceConfig("glacier", "2d0a9174-5e3c-4f80-9142-0c9d8e7f6a51", ORG, token_env="GX")
    )
    return config


class PickerApp(App[None]):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(WorkspacePicker(self.config), self.results.append)


async def test_a_in_the_picker_adds_a_workspace_and_letters_filter(tmp_path) -> None:
    app = PickerApp(picker_config(tmp_path / "config.toml"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, OptionList)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddWorkspaceScreen)
        await pilot.press("escape")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, WorkspacePicker) and isinstance(app.focused, OptionList)
        # Other letters start the filter, and then `a` is just a letter of it.
        await pilot.press(*"gla")
        assert picker.query_one("#picker-filter", Input).value == "gla"
        assert picker.highlighted == "glacier"
        await pilot.press("escape", "slash", *"acme", "enter")
        await pilot.pause()
        assert app.results == ["acme-prod"]


async def test_notifications_show_ids_verbatim(tmp_path, monkeypatch) -> None:
    """A runId with brackets is shown as it is (markup would eat or reject it)."""
    app = idle_app(tmp_path / "config.toml")
    async with app.run_test() as pilot:
        await pilot.pause()
        screen = app.main_screen
        monkeypatch.setattr(app_module.MainScreen, "_highlighted_row", lambda self: row)
        row = JobRow("job-[/x]", FAILED, "run-[b]1", NOW, NOW)
        screen.action_copy_run_id()
        await pilot.pause()
        (shown,) = list(app._notifications)
        assert shown.message == "run-[b]1" and not shown.markup
