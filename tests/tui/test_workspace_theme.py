"""A workspace's own `theme` is applied whenever that workspace opens (at start, and when it is
picked with `w`); without one the config's `theme` (the one `t` saves) is used, else the default.
Applying a workspace's theme is never saved as the global choice.
"""

from __future__ import annotations

from pathlib import Path

from jobwatch.session import Flags, Session
from jobwatch.store.config import DEFAULT_THEME, Config, WorkspaceConfig, load_config, save_config
from jobwatch.tui.app import JobwatchApp
from jobwatch.tui.dialogs.picker import WorkspacePicker
from tests.support.tui import ORG, WS, wait_for
from tests.tui.test_tui_polish import choose_theme

LIGHT = "jobwatch-light"
CONTRAST = "jobwatch-high-contrast"


def app_with(path: Path, *, theme: str | None = None, start: str | None = "lit") -> JobwatchApp:
    """Two workspaces, `lit` (its own light theme) and `plain` (none), saved to `path`; no polling."""
    config = Config(path, theme=theme, default="lit")
    config.workspaces = {
        "lit": WorkspaceConfig("lit", WS, ORG, token_env="LIT_TOKEN", theme=LIGHT),
        "plain": WorkspaceConfig("plain", WS, ORG, token_env="PLAIN_TOKEN"),
    }
    save_config(config)
    return JobwatchApp(
        config,
        workspace=start,
        job_ids=None,
        history=None,
        client_factory=lambda ws: None,  # type: ignore[arg-type,return-value]
        poll=False,
    )


async def pick(pilot, name: str) -> None:
    """`w`, move to `name`, enter; wait until it is the open workspace."""
    app = pilot.app
    await pilot.press("w")
    await wait_for(pilot, lambda: isinstance(app.screen, WorkspacePicker), what="the picker")
    picker = app.screen
    while picker.highlighted != name:
        await pilot.press("down")
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.workspace_name == name, what=f"{name} opened")
    await pilot.pause()


async def test_workspace_theme_applies_at_start_and_on_every_switch(tmp_path):
    path = tmp_path / "config.toml"
    app = app_with(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.workspace_name == "lit", what="lit opened")
        assert app.theme == LIGHT
        await pick(pilot, "plain")
        assert app.theme == DEFAULT_THEME
        await pick(pilot, "lit")
        assert app.theme == LIGHT
    # applying a workspace's theme is not the person's choice: nothing saved
    assert load_config(path).theme is None


async def test_t_still_sets_the_global_theme_which_workspaces_without_one_use(tmp_path):
    path = tmp_path / "config.toml"
    app = app_with(path, start="plain")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.workspace_name == "plain", what="plain opened")
        assert app.theme == DEFAULT_THEME
        await choose_theme(pilot, "contrast")
        assert app.theme == CONTRAST
        await wait_for(pilot, lambda: load_config(path).theme == CONTRAST, what="saved")
        await pick(pilot, "lit")
        assert app.theme == LIGHT  # the workspace's own theme wins while it is open
        await pick(pilot, "plain")
        assert app.theme == CONTRAST
        # choosing the workspace's theme by hand is a choice like any other
        await choose_theme(pilot, "light")
        await wait_for(pilot, lambda: load_config(path).theme == LIGHT, what="light saved")
    assert load_config(path).workspaces["lit"].theme == LIGHT


async def test_an_unknown_workspace_theme_falls_back_with_a_warning(tmp_path):
    path = tmp_path / "config.toml"
    app = app_with(path, theme=CONTRAST)
    app.config.workspaces["lit"].theme = "no-such-theme"
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.workspace_name == "lit", what="lit opened")
        assert app.theme == CONTRAST
        shown = [n for n in app._notifications if n.title == "Theme skipped"]
        assert len(shown) == 1 and "'no-such-theme' from workspace lit" in shown[0].message


async def test_the_picker_offers_the_command_line_workspace(tmp_path):
    """`watch --base-url …` with a config: both can be picked, and the config file never gets it."""
    path = tmp_path / "config.toml"
    config = Config(path)
    config.workspaces = {"lit": WorkspaceConfig("lit", WS, ORG, theme=LIGHT)}
    save_config(config)
    other_ws = "9b2f6c1e-3d4a-4b5c-8d6e-7f8091a2b3c4"
    session = Session(config, Flags(workspace_id=other_ws, organization_id=ORG))
    app = JobwatchApp(
        config,
        session=session,
        workspace=None,
        job_ids=None,
        history=None,
        client_factory=lambda ws: None,  # type: ignore[arg-type,return-value]
        poll=False,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.workspace_name == "command line", what="opened")
        assert app.main_screen.session.workspace.workspace_id == other_ws
        assert app.theme == DEFAULT_THEME
        await pick(pilot, "lit")
        assert app.theme == LIGHT
        await pick(pilot, "command line")
        assert app.main_screen.session.workspace.workspace_id == other_ws
    assert set(load_config(path).workspaces) == {"lit"}
