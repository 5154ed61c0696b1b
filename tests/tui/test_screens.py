"""Pilot tests of the workspace picker, the add-workspace form and the help screen."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.screen import Screen
from textual.widgets import Checkbox, Input, OptionList, Select, Static

from jobwatch.store.config import Config, WorkspaceConfig, load_config
from jobwatch.tui.dialogs.picker import (
    API_KEY_ENV,
    EMPTY_MESSAGE,
    TOKEN_COMMAND,
    AddWorkspaceScreen,
    WorkspacePicker,
    credential_source,
)
from jobwatch.tui.screens.help import HelpScreen

WS_A = "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f"
ORG_A = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
WS_B = "1c9f8063-4d2b-4e7f-8031-9b8c7d6e5f40"
ORG_B = "6a5f4e3d-2c1b-4a98-9765-43210fedcba9"


def make_config(
    path: Path, names: tuple[str, ...] = ("acme-prod", "acme-staging", "globex")
) -> Config:
    config = Config(path)
    ids = {
        "acme-prod": (WS_A, ORG_A, "ACME_PROD_TOKEN", None),
        "acme-staging": (WS_B, ORG_A, None, "ACME_STAGING_KEY"),
        "globex": ("2d0a9174-5e3c-4f80-9142-0c9d8e7f6a51", ORG_B, None, None),
    }
    for name in names:
        ws_id, org_id, token_env, api_key_env = ids[name]
        config.add_workspace(
            WorkspaceConfig(name, ws_id, org_id, token_env=token_env, api_key_env=api_key_env)
        )
    config.default = names[0] if names else None
    return config


class Host(App[None]):
    """Pushes one screen and records what it was dismissed with."""

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self._first = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self._first, self.results.append)


def option_ids(screen: WorkspacePicker) -> list[str | None]:
    option_list = screen.query_one("#picker-list", OptionList)
    return [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]


async def test_picker_lists_workspaces_without_secrets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ACME_PROD_TOKEN", "eyJhbGciOiJIUzI1NiJ9.secret-value.sig")
    config = make_config(tmp_path / "config.toml")
    config.workspaces["globex"].token_command = "print-token --secret sk-sharely-abc"
    picker = WorkspacePicker(config, current="acme-staging")
    app = Host(picker)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert option_ids(picker) == ["acme-prod", "acme-staging", "globex"]
        assert picker.highlighted == "acme-staging"
        shown = " ".join(
            str(picker.query_one("#picker-list", OptionList).get_option_at_index(i).prompt)
            for i in range(3)
        )
        assert WS_A in shown and ORG_A in shown and "https://api.sharely.ai" in shown
        assert "$ACME_PROD_TOKEN" in shown and "$ACME_STAGING_KEY" in shown
        assert "secret" not in shown and "sk-sharely" not in shown and "eyJ" not in shown
        assert credential_source(config.workspaces["globex"]) == "token from a command"


async def test_picker_filters_as_you_type_and_enter_chooses(tmp_path: Path) -> None:
    picker = WorkspacePicker(make_config(tmp_path / "config.toml"), current=None)
    app = Host(picker)
    async with app.run_test() as pilot:
        await pilot.pause()
        # The list has focus; typing a letter starts the filter with it.
        assert isinstance(app.focused, OptionList)
        await pilot.press("s", "t", "a", "g")
        assert isinstance(app.focused, Input)
        assert option_ids(picker) == ["acme-staging"]
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"1c9f8063")
        assert option_ids(picker) == ["acme-staging"]
        await pilot.press(*["backspace"] * 8, *"acme")
        assert option_ids(picker) == ["acme-prod", "acme-staging"]
        # The highlight stays on the workspace it was on while the filter changes.
        assert picker.highlighted == "acme-staging"
        await pilot.press("up")
        assert picker.highlighted == "acme-prod"
        await pilot.press("down")
        assert picker.highlighted == "acme-staging"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["acme-staging"]


async def test_picker_shows_no_match_and_escape_cancels(tmp_path: Path) -> None:
    picker = WorkspacePicker(make_config(tmp_path / "config.toml"))
    app = Host(picker)
    async with app.run_test() as pilot:
        await pilot.press(*"zzz")
        assert option_ids(picker) == []
        assert picker.query_one("#picker-empty", Static).display
        await pilot.press("enter")
        assert app.results == []
        # Escape in the filter clears it and goes back to the list; escape there cancels.
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == []
        assert picker.query_one("#picker-filter", Input).value == ""
        assert isinstance(app.focused, OptionList)
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


async def test_picker_up_down_and_mouse_click(tmp_path: Path) -> None:
    picker = WorkspacePicker(make_config(tmp_path / "config.toml"))
    app = Host(picker)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert picker.highlighted == "acme-prod"
        await pilot.press("down", "down", "up")
        assert picker.highlighted == "acme-staging"
        await pilot.press("up", "up")
        assert picker.highlighted == "globex"
        option_list = picker.query_one("#picker-list", OptionList)
        await pilot.click(option_list, offset=(4, 7))
        await pilot.pause()
        assert app.results == ["globex"]


async def test_empty_config_says_how_to_add(tmp_path: Path) -> None:
    picker = WorkspacePicker(Config(tmp_path / "config.toml"))
    app = Host(picker)
    async with app.run_test() as pilot:
        await pilot.pause()
        empty = picker.query_one("#picker-empty", Static)
        assert empty.display and str(empty.render()) == EMPTY_MESSAGE
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddWorkspaceScreen)


async def fill(pilot, screen: AddWorkspaceScreen, **values: str) -> None:
    for field, value in values.items():
        screen.query_one(f"#add-{field}", Input).value = value
    await pilot.pause()


def error_text(screen: AddWorkspaceScreen, field: str) -> str:
    widget = screen.query_one(f"#add-{field}-error", Static)
    return str(widget.render()) if widget.has_class("-shown") else ""


async def test_add_form_shows_validation_errors_and_does_not_save(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    config = make_config(path, ("acme-prod",))
    form = AddWorkspaceScreen(config)
    app = Host(form)
    async with app.run_test() as pilot:
        await fill(
            pilot,
            form,
            **{
                "name": "acme-prod",
                "workspace-id": "not-a-uuid",
                "organization-id": ORG_B,
                "base-url": "ftp://example.com",
                "credential": "BAD NAME",
            },
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "already exists" in error_text(form, "name")
        assert "is not a UUID" in error_text(form, "workspace-id")
        assert error_text(form, "organization-id") == ""
        assert "https://" in error_text(form, "base-url")
        assert "env var name" in error_text(form, "credential")
        assert app.screen is form and app.results == []
        assert not path.exists()
        assert list(config.workspaces) == ["acme-prod"]


async def test_add_form_refuses_a_pasted_secret_without_echoing_it(tmp_path: Path) -> None:
    form = AddWorkspaceScreen(Config(tmp_path / "config.toml"))
    app = Host(form)
    async with app.run_test() as pilot:
        secret = "sk-sharely-0123456789abcdef"
        await fill(
            pilot,
            form,
            **{"name": "x", "workspace-id": WS_A, "organization-id": ORG_A, "credential": secret},
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        message = error_text(form, "credential")
        assert "looks like a secret" in message and secret not in message
        assert form.query_one("#add-credential", Input).value == ""
        assert not (tmp_path / "config.toml").exists()


async def test_add_form_saves_a_private_config_and_the_picker_refreshes(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    config = make_config(path, ("acme-prod",))
    picker = WorkspacePicker(config, current="acme-prod")
    app = Host(picker)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, AddWorkspaceScreen)
        assert form.query_one("#add-base-url", Input).value == "https://api.sharely.ai"
        await fill(
            pilot,
            form,
            **{
                "name": "globex",
                "workspace-id": WS_B.upper(),
                "organization-id": ORG_B,
                "base-url": "https://eu.api.sharely.ai/",
                "credential": "GLOBEX_KEY",
            },
        )
        form.query_one("#add-source", Select).value = API_KEY_ENV
        form.query_one("#add-default", Checkbox).value = True
        await pilot.pause()
        await pilot.click("#add-save")
        await pilot.pause()
        assert app.screen is picker
        assert option_ids(picker) == ["acme-prod", "globex"]
        assert picker.highlighted == "globex"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = load_config(path)
    assert saved.default == "globex"
    ws = saved.workspaces["globex"]
    assert (ws.workspace_id, ws.organization_id, ws.base_url) == (
        WS_B,
        ORG_B,
        "https://eu.api.sharely.ai",
    )
    assert (ws.api_key_env, ws.token_env, ws.token_command) == ("GLOBEX_KEY", None, None)
    assert saved.workspaces["acme-prod"].token_env == "ACME_PROD_TOKEN"


async def test_add_form_token_command_and_cancel(tmp_path: Path) -> None:
    config = Config(tmp_path / "config.toml")
    form = AddWorkspaceScreen(config)
    app = Host(form)
    async with app.run_test() as pilot:
        form.query_one("#add-source", Select).value = TOKEN_COMMAND
        await pilot.pause()
        assert "command" in str(form.query_one("#add-credential-note", Static).render())
        await fill(
            pilot,
            form,
            **{
                "name": "cmd",
                "workspace-id": WS_A,
                "organization-id": ORG_A,
                "credential": "my-sso token",
            },
        )
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == ["cmd"]
    saved = load_config(config.path)
    assert saved.workspaces["cmd"].token_command == "my-sso token"
    assert saved.default == "cmd"

    form = AddWorkspaceScreen(Config(tmp_path / "other.toml"))
    app = Host(form)
    async with app.run_test() as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]
    assert not (tmp_path / "other.toml").exists()


async def test_help_screen_lists_keys_and_closes_on_each_key() -> None:
    for key in ("escape", "q", "question_mark"):
        screen = HelpScreen([("c", "copy the runId"), ("q", "quit")])
        app = Host(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            console = Console(width=80, record=True, file=io.StringIO())
            console.print(screen.query_one("#help-keys", Static).content)
            assert "copy the runId" in console.export_text()
            assert "CONTINUED_AS_NEW" in str(screen.query_one("#help-statuses", Static).render())
            await pilot.press(key)
            await pilot.pause()
            assert app.results == [None], key
