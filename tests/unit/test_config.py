"""Config file loading, validation, saving, and the helpers behind `jobwatch workspaces` (and the
dashboard's add-workspace form): building an entry from what a person typed."""

from __future__ import annotations

import importlib.util
import os
import stat
import time
import uuid
from pathlib import Path

import pytest

import jobwatch.store.paths as paths
from jobwatch.errors import ConfigError, UsageError
from jobwatch.store.config import (
    DEFAULT_BASE_URL,
    Config,
    InvalidSetting,
    WorkspaceConfig,
    WorkspaceInput,
    WorkspaceInputError,
    load_config,
    looks_like_secret,
    parse_job_ids,
    save_config,
    validate_base_url,
    validate_uuid,
    workspace_from_input,
)

WS_ID = "123e4567-e89b-42d3-a456-426614174000"
ORG_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"

GOOD = f"""\
default = "prod"
theme = "jobwatch-dark"
bell = false

[workspaces.prod]
workspace_id = "{WS_ID}"
organization_id = "{ORG_ID}"
token_env = "PROD_TOKEN"
interval = 2

[workspaces."staging.eu"]
workspace_id = "{WS_ID.upper()}"
organization_id = "{ORG_ID}"
base_url = "http://127.0.0.1:8080/"
token_command = "pass show sharely/staging"
theme = "jobwatch-light"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    return info.value


# -- paths -------------------------------------------------------------------------------


def test_config_path_precedence(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SHARELY_JOBWATCH_CONFIG", str(tmp_path / "env.toml"))
    assert paths.config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"
    assert paths.config_path() == tmp_path / "env.toml"
    monkeypatch.delenv("SHARELY_JOBWATCH_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert paths.config_path() == tmp_path / "xdg" / "sharely-jobwatch" / "config.toml"


def test_data_dir_precedence(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SHARELY_JOBWATCH_DATA_DIR", str(tmp_path / "d"))
    assert paths.data_dir() == tmp_path / "d"
    monkeypatch.delenv("SHARELY_JOBWATCH_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.data_dir() == tmp_path / "xdg" / "sharely-jobwatch"


def test_ensure_private_dir_creates_0700_and_leaves_existing_alone(tmp_path: Path):
    old = os.umask(0o022)
    try:
        created = paths.ensure_private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert created.is_dir() and mode(created) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    paths.ensure_private_dir(shared)
    assert mode(shared) == 0o755
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        paths.ensure_private_dir(tmp_path / "file")


# -- loading -----------------------------------------------------------------------------


def test_missing_file_is_an_empty_config(tmp_path: Path):
    config = load_config(tmp_path / "nope.toml")
    assert config == Config(tmp_path / "nope.toml")
    assert config.workspaces == {} and config.default is None and config.bell is True


def test_load_a_full_config(tmp_path: Path):
    config = load_config(write(tmp_path, GOOD))
    assert config.default == "prod" and config.theme == "jobwatch-dark" and config.bell is False
    prod = config.workspaces["prod"]
    assert prod == WorkspaceConfig(
        "prod", WS_ID, ORG_ID, DEFAULT_BASE_URL, token_env="PROD_TOKEN", interval=2.0
    )
    staging = config.workspaces["staging.eu"]
    assert staging.workspace_id == WS_ID  # lowercased
    assert staging.base_url == "http://127.0.0.1:8080"
    assert staging.token_command == "pass show sharely/staging"
    assert staging.theme == "jobwatch-light"


def test_round_trip_and_private_modes(tmp_path: Path):
    config = load_config(write(tmp_path, GOOD))
    target = tmp_path / "new" / "dir" / "config.toml"
    config.path = target
    save_config(config)
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    again = load_config(target)
    assert again == config
    save_config(again)
    assert load_config(target) == config


def test_save_replaces_atomically_and_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch):
    path = write(tmp_path, GOOD)
    before = path.read_bytes()
    config = load_config(path)
    config.remove_workspace("prod")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(paths.os, "replace", broken_replace)
    with pytest.raises(ConfigError, match="No space left on device"):
        save_config(config)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    monkeypatch.undo()
    save_config(config)
    assert "prod" not in load_config(path).workspaces


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('default = "prod"\ntheme = \n', 2),
        ("[workspaces.prod\nworkspace_id = 1\n", 1),
        ("bell = true\n\n\nbell = false\n", 4),
        ('theme = "unterminated', 1),
    ],
)
def test_invalid_toml_names_the_line(tmp_path: Path, text: str, line: int):
    error = load_error(tmp_path, text)
    assert error.line == line
    assert "invalid TOML" in error.message
    assert error.describe().startswith(f"{tmp_path / 'config.toml'}:{line}: invalid TOML")


def test_not_utf8_is_an_error(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'theme = "ok"\ntheme2 = "\xff"\n')
    with pytest.raises(ConfigError, match="UTF-8") as info:
        load_config(path)
    assert info.value.line == 2


BASE = f'[workspaces.prod]\nworkspace_id = "{WS_ID}"\norganization_id = "{ORG_ID}"\n'


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("bell = 1\n", "bell", 1, "true or false"),
        ("theme = 3\n[workspaces]\n", "theme", 1, "string"),
        ('colour = "red"\n', "colour", 1, "unknown setting"),
        (BASE + 'interval = "fast"\n', "workspaces.prod.interval", 4, "number"),
        (BASE + "interval = 0\n", "workspaces.prod.interval", 4, "between"),
        (BASE + "interval = true\n", "workspaces.prod.interval", 4, "number"),
        (BASE + 'region = "eu"\n', "workspaces.prod.region", 4, "unknown setting"),
        (
            f'[workspaces.prod]\norganization_id = "{ORG_ID}"\nworkspace_id = "nope"\n',
            "workspaces.prod.workspace_id",
            3,
            "not a UUID",
        ),
        (
            f'[workspaces.prod]\nworkspace_id = "{WS_ID}"\n',
            "workspaces.prod.organization_id",
            1,
            "missing",
        ),
        (BASE + 'base_url = "ftp://x"\n', "workspaces.prod.base_url", 4, "https://api.sharely.ai"),
        (
            BASE + 'token_env = "A"\n\ntoken_command = "x"\n',
            "workspaces.prod.token_command",
            6,
            "only one of",
        ),
        (
            BASE + 'token_env = "not a var"\n',
            "workspaces.prod.token_env",
            4,
            "environment variable",
        ),
        ('default = "other"\n' + BASE, "default", 1, "no configured workspace"),
        ('[workspaces."bad name"]\nworkspace_id = "x"\n', "workspaces.bad name", 1, "letters"),
        ("workspaces = 3\n", "workspaces", 1, "table"),
        ('[workspaces.a.b]\nworkspace_id = "x"\n', "workspaces.a.b", 1, "quoted"),
        (
            '# comment\n[workspaces."x.y"]\n' + BASE.split("\n", 1)[1] + "interval = []\n",
            "workspaces.x.y.interval",
            5,
            "number",
        ),
    ],
)
def test_bad_values_name_the_key_and_line(tmp_path: Path, text, key, line, words):
    error = load_error(tmp_path, text)
    assert error.key == key
    assert error.line == line
    assert words in error.message
    assert key in error.describe()


@pytest.mark.parametrize("secret_key", ["token", "api_key", "access_token", "API-KEY", "password"])
def test_secrets_are_refused_and_never_echoed(tmp_path: Path, secret_key: str):
    for text, key in [
        (f'"{secret_key}" = "sk-sharely-supersecret"\n', secret_key),
        (BASE + f'"{secret_key}" = "sk-sharely-supersecret"\n', f"workspaces.prod.{secret_key}"),
    ]:
        error = load_error(tmp_path, text)
        assert error.key == key
        assert "secrets do not belong in the config" in error.message
        assert "token_env, api_key_env or token_command" in error.message
        assert "supersecret" not in error.describe()


def test_unreadable_path_is_a_config_error(tmp_path: Path):
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "dir.toml")


# -- workspace helpers -------------------------------------------------------------------


def test_add_remove_default(tmp_path: Path):
    config = Config(tmp_path / "c.toml")
    added = config.add_workspace(
        WorkspaceConfig("prod", WS_ID.upper(), ORG_ID, "https://api.sharely.ai/", token_env="T")
    )
    assert added.workspace_id == WS_ID and added.base_url == DEFAULT_BASE_URL
    assert config.default is None
    config.add_workspace(WorkspaceConfig("dev", WS_ID, ORG_ID), make_default=True)
    assert config.default == "dev"
    assert set(config.workspaces) == {"prod", "dev"}
    with pytest.raises(UsageError, match="already exists"):
        config.add_workspace(WorkspaceConfig("prod", WS_ID, ORG_ID))
    with pytest.raises(InvalidSetting, match="not a UUID"):
        config.add_workspace(WorkspaceConfig("x", "123", ORG_ID))
    with pytest.raises(InvalidSetting, match="only one of"):
        config.add_workspace(WorkspaceConfig("x", WS_ID, ORG_ID, token_env="A", api_key_env="B"))
    with pytest.raises(InvalidSetting, match="letters"):
        config.add_workspace(WorkspaceConfig("a b", WS_ID, ORG_ID))
    assert "x" not in config.workspaces
    config.remove_workspace("dev")
    assert config.default is None and list(config.workspaces) == ["prod"]
    with pytest.raises(UsageError, match="no workspace named"):
        config.remove_workspace("dev")
    with pytest.raises(UsageError, match="no workspace named"):
        config.set_default("dev")
    config.set_default("prod")
    assert config.default == "prod"
    save_config(config)
    assert load_config(config.path) == config


def test_the_config_module_does_not_import_the_api():
    """store sits below api in the layers: a config entry is turned into a connection by session."""
    import ast

    source = Path(importlib.util.find_spec("jobwatch.store.config").origin).read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not any(name.startswith("jobwatch.api") for name in imported)
    assert not hasattr(WorkspaceConfig, "connection") and not hasattr(
        WorkspaceConfig, "credentials"
    )


# -- a new entry from what a person typed ------------------------------------------------


def test_workspace_from_input_normalizes():
    ws = workspace_from_input(
        WorkspaceInput(
            " prod ",
            WS_ID.upper(),
            f" {ORG_ID} ",
            "https://EU.api.sharely.ai/",
            "api_key_env",
            " PROD_KEY ",
            interval=5,
            theme="jobwatch-light",
        )
    )
    assert ws == WorkspaceConfig(
        "prod",
        WS_ID,
        ORG_ID,
        "https://eu.api.sharely.ai",
        api_key_env="PROD_KEY",
        interval=5.0,
        theme="jobwatch-light",
    )


def test_workspace_from_input_blank_means_the_defaults():
    ws = workspace_from_input(WorkspaceInput("p", WS_ID, ORG_ID))
    assert ws.base_url == DEFAULT_BASE_URL
    assert (ws.token_env, ws.api_key_env, ws.token_command) == (None, None, None)
    cmd = workspace_from_input(
        WorkspaceInput("p", WS_ID, ORG_ID, credential_kind="token_command", credential="op read x")
    )
    assert cmd.token_command == "op read x" and cmd.token_env is None


def test_workspace_from_input_names_every_problem_at_once():
    with pytest.raises(WorkspaceInputError) as caught:
        workspace_from_input(
            WorkspaceInput("a b", "nope", "", "ftp://x", "token_env", "NOT A NAME", interval=0),
        )
    problems = caught.value.problems
    assert list(problems) == [
        "name",
        "workspace_id",
        "organization_id",
        "base_url",
        "credential",
        "interval",
    ]
    assert "letters, digits" in problems["name"]
    assert "not a UUID" in problems["workspace_id"]
    assert "https://" in problems["base_url"]
    assert "env var name" in problems["credential"]
    assert "between" in problems["interval"]
    # the CLI names the fields the way they were typed
    labelled = caught.value.labelled({"workspace_id": "--workspace-id"})
    assert "--workspace-id: 'nope' is not a UUID" in labelled.describe()
    assert isinstance(labelled, UsageError)


def test_workspace_from_input_refuses_a_taken_name():
    with pytest.raises(WorkspaceInputError) as caught:
        workspace_from_input(WorkspaceInput("prod", WS_ID, ORG_ID), taken={"prod"})
    assert list(caught.value.problems) == ["name"]
    assert "already exists" in caught.value.problems["name"]


@pytest.mark.parametrize(
    "kind, secret",
    [
        ("token_env", "sk-sharely-0123456789abcdef"),
        ("api_key_env", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"),
        ("token_command", "echo sk-sharely-0123456789abcdef"),
    ],
)
def test_workspace_from_input_refuses_a_pasted_secret_without_echoing_it(kind, secret):
    assert looks_like_secret(secret)
    with pytest.raises(WorkspaceInputError) as caught:
        workspace_from_input(
            WorkspaceInput("p", WS_ID, ORG_ID, credential_kind=kind, credential=secret)
        )
    assert "looks like a secret" in caught.value.problems["credential"]
    assert secret not in caught.value.describe()


# -- validators --------------------------------------------------------------------------


def test_validate_uuid():
    value = str(uuid.uuid4())
    assert validate_uuid(value.upper(), "k") == value
    assert validate_uuid(f"  {value}\n", "k") == value
    assert (
        validate_uuid("00000000-0000-0000-0000-000000000000", "k")
        == "00000000-0000-0000-0000-000000000000"
    )
    for bad in [
        "",
        "123",
        value.replace("-", ""),
        "{" + value + "}",
        value + "0",
        value[:-1] + "g",
        None,
        5,
    ]:
        with pytest.raises(InvalidSetting) as info:
            validate_uuid(bad, "workspaces.p.workspace_id")
        assert info.value.key == "workspaces.p.workspace_id"
        assert isinstance(info.value, UsageError)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.sharely.ai", "https://api.sharely.ai"),
        ("https://api.sharely.ai/", "https://api.sharely.ai"),
        ("HTTPS://api.sharely.ai", "https://api.sharely.ai"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        (" https://example.com ", "https://example.com"),
    ],
)
def test_validate_base_url_accepts(given: str, expected: str):
    assert validate_base_url(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "api.sharely.ai",
        "ftp://api.sharely.ai",
        "https://",
        "https:///v1",
        "https://api.sharely.ai/v1",
        "https://api.sharely.ai?x=1",
        "https://api.sharely.ai/#frag",
        "https://api.sharely.ai:99999",
        "",
        None,
    ],
)
def test_validate_base_url_refuses(given):
    with pytest.raises(InvalidSetting) as info:
        validate_base_url(given)
    assert "https://api.sharely.ai" in str(info.value)


def test_validate_base_url_never_echoes_credentials():
    with pytest.raises(InvalidSetting) as info:
        validate_base_url("https://user:hunter2@api.sharely.ai")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b\tc\nd", ["a", "b", "c", "d"]),
        ("a,b, c ,,d\r\n", ["a", "b", "c", "d"]),
        ('["a", "b", \'c\', `d`]', ["a", "b", "c", "d"]),
        ("a a b a", ["a", "b"]),
        ("  \n , '' \"\" [] ", []),
        ("", []),
        ("role-create:0190-aa/1 knowledge.x", ["role-create:0190-aa/1", "knowledge.x"]),
    ],
)
def test_parse_job_ids(text: str, expected: list[str]):
    assert parse_job_ids(text) == expected


def test_parse_job_ids_10mb_paste_is_fast():
    ids = [f"workflow-{i:08d}-{uuid.UUID(int=i)}" for i in range(200_000)]
    text = ", ".join(f'"{x}"' for x in ids) + "\n" + "\n".join(ids)
    text = "[" + text + "]"
    assert len(text) > 10_000_000
    start = time.perf_counter()
    result = parse_job_ids(text)
    elapsed = time.perf_counter() - start
    assert result == ids
    assert elapsed < 1.0, elapsed
