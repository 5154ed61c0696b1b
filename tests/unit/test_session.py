"""jobwatch.session: which workspace, with which connection, credentials, interval and theme.

These pin the precedence rules and the errors a person meets before anything is sent; the
CLI and dashboard tests check that every command and screen goes through them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jobwatch.api.client import SharelyClient
from jobwatch.api.credentials import TOKEN_COMMAND_TIMEOUT, CredentialsError, CredentialSpec
from jobwatch.api.transport import MAX_ANSWER_BYTES, Connection
from jobwatch.cli.parser import build_parser
from jobwatch.errors import UsageError
from jobwatch.poller import DEFAULT_INTERVAL
from jobwatch.session import (
    COMMAND_LINE_WORKSPACE,
    DEFAULT_REQUEST_TIMEOUT,
    Flags,
    NoDefaultWorkspace,
    NoWorkspaceConfigured,
    Session,
    UnknownWorkspace,
    credential_source,
    open_history,
    resolve_answer_limit,
    resolve_interval,
    resolve_theme,
    resolve_token_command_timeout,
)
from jobwatch.store.config import DEFAULT_THEME, Config, WorkspaceConfig, save_config

WS_A = "123e4567-e89b-42d3-a456-426614174000"
ORG_A = "0f8fad5b-d9cb-469f-a165-70867728950e"
WS_B = "9b2f6c1e-3d4a-4b5c-8d6e-7f8091a2b3c4"
ORG_B = "1c9f8063-5a4b-4c3d-9e2f-0a1b2c3d4e5f"


def config(tmp_path: Path, *names: str, default: str | None = None, theme=None) -> Config:
    cfg = Config(tmp_path / "config.toml", theme=theme)
    for name in names:
        cfg.add_workspace(WorkspaceConfig(name, WS_A, ORG_A, token_env=f"{name.upper()}_TOKEN"))
    cfg.default = default
    return cfg


def direct(**extra) -> Flags:
    return Flags(workspace_id=WS_B, organization_id=ORG_B, **extra)


class TestChoosingTheWorkspace:
    def test_nothing_configured(self, tmp_path):
        with pytest.raises(NoWorkspaceConfigured, match="workspaces add"):
            Session(config(tmp_path)).choose()

    def test_several_and_no_default_names_them(self, tmp_path):
        with pytest.raises(NoDefaultWorkspace) as caught:
            Session(config(tmp_path, "prod", "dev")).choose()
        assert caught.value.names == ("dev", "prod")
        assert "--workspace NAME" in caught.value.describe()

    def test_the_only_one_then_the_default_then_a_name(self, tmp_path):
        assert Session(config(tmp_path, "prod")).choose().name == "prod"
        both = config(tmp_path, "prod", "dev", default="dev")
        assert Session(both).choose().name == "dev"
        assert Session(both, Flags(workspace="prod")).choose().name == "prod"
        # a name asked for (the picker) wins over --workspace
        assert Session(both, Flags(workspace="prod")).choose("dev").name == "dev"

    def test_unknown_name_lists_the_configured_ones(self, tmp_path):
        session = Session(config(tmp_path, "prod", "dev"), Flags(workspace="staging"))
        with pytest.raises(UnknownWorkspace) as caught:
            session.choose()
        message = caught.value.describe()
        assert "'staging'" in message and "dev, prod" in message and str(tmp_path) in message
        with pytest.raises(UnknownWorkspace):
            session.choose("nope")

    def test_flags_give_a_workspace_that_the_config_never_holds(self, tmp_path):
        cfg = config(tmp_path, "prod", default="prod")
        session = Session(cfg, direct(base_url="http://127.0.0.1:8080/"))
        ws = session.choose()
        assert ws == WorkspaceConfig(COMMAND_LINE_WORKSPACE, WS_B, ORG_B, "http://127.0.0.1:8080")
        assert session.extra_workspaces == {COMMAND_LINE_WORKSPACE: ws}
        assert set(session.workspaces) == {"prod", COMMAND_LINE_WORKSPACE}
        assert COMMAND_LINE_WORKSPACE not in cfg.workspaces
        # the picker can switch between the two
        assert session.choose("prod").name == "prod"
        assert session.choose(COMMAND_LINE_WORKSPACE) is ws

    def test_flags_and_workspace_together_are_refused(self, tmp_path):
        with pytest.raises(UsageError, match="not both"):
            Session(config(tmp_path, "prod"), direct(workspace="prod"))

    def test_workspace_id_and_organization_id_go_together(self, tmp_path):
        with pytest.raises(UsageError, match="go together"):
            Session(config(tmp_path), Flags(workspace_id=WS_A))
        with pytest.raises(UsageError, match="go together"):
            Session(config(tmp_path), Flags(base_url="https://api.sharely.ai"))

    def test_bad_flags_are_named_as_typed(self, tmp_path):
        with pytest.raises(UsageError, match="--workspace-id: 'nope' is not a UUID"):
            Session(config(tmp_path), Flags(workspace_id="nope", organization_id=ORG_A))
        with pytest.raises(UsageError, match="--base-url: .* must start with https://"):
            Session(config(tmp_path), direct(base_url="ftp://x"))

    def test_bad_numbers_are_refused(self):
        with pytest.raises(UsageError, match="--request-timeout"):
            Flags(request_timeout=0)
        with pytest.raises(UsageError, match="--interval"):
            Flags(interval=-1)

    def test_load_reads_the_config_named_by_the_flags(self, tmp_path):
        path = tmp_path / "elsewhere.toml"
        other = Config(path)
        other.add_workspace(WorkspaceConfig("x", WS_A, ORG_A))
        save_config(other)
        assert list(Session.load(Flags(config=str(path))).config.workspaces) == ["x"]
        # without --config: $SHARELY_JOBWATCH_CONFIG (the autouse fixture points it into tmp_path)
        assert Session.load().config.workspaces == {}


class TestInterval:
    def test_flag_then_workspace_then_default(self):
        ws = WorkspaceConfig("p", WS_A, ORG_A, interval=5.0)
        plain = WorkspaceConfig("q", WS_A, ORG_A)
        assert resolve_interval(0.5, ws) == 0.5
        assert resolve_interval(None, ws) == 5.0
        assert resolve_interval(None, plain) == DEFAULT_INTERVAL
        assert resolve_interval(None, None) == DEFAULT_INTERVAL

    def test_the_target_uses_it(self, tmp_path):
        cfg = config(tmp_path, "prod")
        cfg.workspaces["prod"].interval = 7.0
        assert Session(cfg).target().interval == 7.0
        assert Session(cfg, Flags(interval=0.25)).target().interval == 0.25


class TestLimits:
    """--max-answer-mib and --token-command-timeout: flag, else the workspace's key, else the
    api's default; every Target (every command, the dashboard's switch) carries them."""

    def test_flag_then_workspace_then_default(self):
        ws = WorkspaceConfig("p", WS_A, ORG_A, max_answer_mib=512.0, token_command_timeout=30.0)
        plain = WorkspaceConfig("q", WS_A, ORG_A)
        assert resolve_answer_limit(2.5, ws) == int(2.5 * 1024 * 1024)
        assert resolve_answer_limit(None, ws) == 512 * 1024 * 1024
        assert resolve_answer_limit(None, plain) == resolve_answer_limit(None, None)
        assert resolve_answer_limit(None, None) == MAX_ANSWER_BYTES
        assert resolve_token_command_timeout(1.5, ws) == 1.5
        assert resolve_token_command_timeout(None, ws) == 30.0
        assert resolve_token_command_timeout(None, plain) == TOKEN_COMMAND_TIMEOUT

    def test_the_target_carries_them(self, tmp_path):
        cfg = config(tmp_path, "prod")
        cfg.workspaces["prod"].max_answer_mib = 300.0
        cfg.workspaces["prod"].token_command_timeout = 20.0
        target = Session(cfg).target()
        assert target.connection.max_answer_bytes == 300 * 1024 * 1024
        assert target.credentials.token_command_timeout == 20.0
        flagged = Session(cfg, Flags(max_answer_mib=1.0, token_command_timeout=0.5)).target()
        assert flagged.connection.max_answer_bytes == 1024 * 1024
        assert flagged.credentials.token_command_timeout == 0.5

    def test_the_help_says_the_api_defaults(self):
        # the parser writes them as literals (it must not import httpx): they must not drift
        helps = {
            a.dest: a.help for a in build_parser()._actions if a.dest.endswith(("mib", "timeout"))
        }
        assert f"else {MAX_ANSWER_BYTES // (1024 * 1024)})" in helps["max_answer_mib"]
        assert f"else {TOKEN_COMMAND_TIMEOUT:g})" in helps["token_command_timeout"]


class TestTheme:
    def test_workspace_then_config_then_default(self, tmp_path):
        ws = WorkspaceConfig("p", WS_A, ORG_A, theme="jobwatch-light")
        plain = WorkspaceConfig("q", WS_A, ORG_A)
        with_theme = config(tmp_path, theme="jobwatch-high-contrast")
        assert resolve_theme(with_theme, ws).name == "jobwatch-light"
        assert resolve_theme(with_theme, plain).name == "jobwatch-high-contrast"
        assert resolve_theme(with_theme, None).name == "jobwatch-high-contrast"
        assert resolve_theme(config(tmp_path), plain).name == DEFAULT_THEME

    def test_an_unavailable_theme_is_skipped_with_a_warning(self, tmp_path):
        ws = WorkspaceConfig("p", WS_A, ORG_A, theme="neon")
        cfg = config(tmp_path, theme="jobwatch-light")
        choice = resolve_theme(cfg, ws, {"jobwatch-light", DEFAULT_THEME})
        assert choice.name == "jobwatch-light"
        assert choice.warnings == (
            "theme 'neon' from workspace p is not known; using jobwatch-light",
        )
        choice = resolve_theme(config(tmp_path, theme="gone"), ws, {DEFAULT_THEME})
        assert choice.name == DEFAULT_THEME and len(choice.warnings) == 2

    def test_the_target_carries_the_wanted_theme(self, tmp_path):
        cfg = config(tmp_path, "prod", "dev", default="prod", theme="jobwatch-light")
        cfg.workspaces["dev"].theme = "jobwatch-high-contrast"
        session = Session(cfg)
        assert session.target().theme == "jobwatch-light"
        assert session.target("dev").theme == "jobwatch-high-contrast"


class TestTarget:
    def test_connection_and_credentials_come_from_the_entry_and_the_flags(self, tmp_path):
        cfg = config(tmp_path)
        cfg.add_workspace(
            WorkspaceConfig("p", WS_A, ORG_A, "http://127.0.0.1:9", token_command="echo t")
        )
        target = Session(cfg, Flags(insecure=True, request_timeout=3.0)).target()
        assert target.connection == Connection(
            base_url="http://127.0.0.1:9",
            workspace_id=WS_A,
            organization_id=ORG_A,
            insecure=True,
            timeout=3.0,
        )
        assert target.credentials == CredentialSpec(token_command="echo t")
        default = Session(cfg).target().connection
        assert default.timeout == DEFAULT_REQUEST_TIMEOUT and not default.insecure

    async def test_client_reads_the_session_environment_and_never_shows_it(self, tmp_path):
        secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        session = Session(config(tmp_path, "prod"), environ={"PROD_TOKEN": secret})
        target = session.target()
        assert secret not in repr(session) and secret not in repr(target)
        client = target.client()
        try:
            assert isinstance(client, SharelyClient)
            assert client.credential_source == "access token from $PROD_TOKEN"
        finally:
            await client.aclose()
        with pytest.raises(CredentialsError, match=r"\$PROD_TOKEN"):
            Session(session.config, environ={}).target().client()

    async def test_plain_http_needs_insecure_and_then_warns(self, tmp_path):
        cfg = config(tmp_path)
        cfg.add_workspace(WorkspaceConfig("lab", WS_A, ORG_A, "http://10.0.0.7:8080"))
        environ = {"SHARELY_ACCESS_TOKEN": "not-a-real-token"}
        heard: list[str] = []
        with pytest.raises(UsageError, match="--insecure"):
            Session(cfg, environ=environ).target().client(warn=heard.append)
        client = Session(cfg, Flags(insecure=True), environ=environ).target().client(heard.append)
        await client.aclose()
        assert len(heard) == 1 and heard[0].startswith("sending credentials over plain http")


def test_credential_source_names_where_the_credential_comes_from():
    def ws(**credential) -> WorkspaceConfig:
        return WorkspaceConfig("p", WS_A, ORG_A, **credential)

    assert credential_source(ws(token_env="T")) == "token from $T"
    assert credential_source(ws(api_key_env="K")) == "API key from $K"
    # a command may embed a secret: never shown
    assert credential_source(ws(token_command="op read sk-sharely-x")) == "token from a command"
    assert credential_source(ws()) == "$SHARELY_ACCESS_TOKEN or $SHARELY_API_KEY"


def test_open_history_warns_and_goes_on_without_it(tmp_path, monkeypatch):
    store = open_history(warn=pytest.fail)
    assert store is not None
    store.close()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("SHARELY_JOBWATCH_DATA_DIR", str(blocker))
    heard: list[str] = []
    assert open_history(warn=heard.append) is None
    assert len(heard) == 1 and heard[0].startswith("history disabled: ")


def test_no_repr_shows_a_token_command(tmp_path):
    """A token_command may embed a secret; a Target (or its entry) printed in a traceback hides it."""
    command = "print-token --key sk-sharely-0123456789abcdef"
    cfg = config(tmp_path)
    cfg.add_workspace(WorkspaceConfig("p", WS_A, ORG_A, token_command=command))
    target = Session(cfg).target()
    for shown in (repr(target), repr(target.workspace), repr(target.credentials), repr(cfg)):
        assert "sk-sharely" not in shown
