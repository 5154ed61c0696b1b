"""The config's [notify] and [kinds] tables and the workspace's answer-size and token-command
limits: loaded and validated (errors name the key and the line), and kept through round-trip
edits like every other key."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobwatch.errors import ConfigError
from jobwatch.kinds import Kinds, compile_rules
from jobwatch.notify.settings import NotifySettings
from jobwatch.store.config import Config, WorkspaceConfig, load_config, save_config

WS = "123e4567-e89b-42d3-a456-426614174000"
ORG = "123e4567-e89b-42d3-a456-426614174001"
BASE = f'[workspaces.prod]\nworkspace_id = "{WS}"\norganization_id = "{ORG}"\n'

HAND = f"""\
# mine
theme = "jobwatch-dark"

[notify]
method = "osc777"   # my terminal
on = ["failure", "COMPLETED"]
on_job_end = 'notify-send "$JOBWATCH_STATUS"'

# kinds, in order
[kinds]
rules = [
  {{ match = "^tax-", kind = "taxonomy-publish" }},   # publishes
  {{ match = 'role-(create|assign)', kind = "roles" }},
]

{BASE}max_answer_mib = 512
token_command_timeout = 30
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_the_tables_load_into_typed_settings(tmp_path):
    config = load_config(write(tmp_path, HAND))
    assert config.notify.method == "osc777"
    assert config.notify.on == ("failure", "COMPLETED")
    assert config.notify.on_job_end == 'notify-send "$JOBWATCH_STATUS"'
    assert [(r.pattern.pattern, r.kind) for r in config.kind_rules] == [
        ("^tax-", "taxonomy-publish"),
        ("role-(create|assign)", "roles"),
    ]
    kinds = Kinds(config.kind_rules)  # what the dashboard does with them
    assert kinds.kind("tax-9ef14040") == "taxonomy-publish"
    assert kinds.kind("role-assign-5a5c8e5e") == "roles"
    assert kinds.kind("cascade-delete-1234abcd") == "cascade-delete"
    ws = config.workspaces["prod"]
    assert (ws.max_answer_mib, ws.token_command_timeout) == (512.0, 30.0)


def test_without_the_tables_the_defaults(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.notify == NotifySettings()
    assert config.kind_rules == ()
    assert config.workspaces["prod"].max_answer_mib is None


def test_array_of_tables_form_is_the_same_rules(tmp_path):
    text = (
        '[[kinds.rules]]\nmatch = "^a"\nkind = "A"\n\n[[kinds.rules]]\nmatch = "^b"\nkind = "B"\n'
    )
    config = load_config(write(tmp_path, text))
    assert [r.kind for r in config.kind_rules] == ["A", "B"]


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ('[notify]\nmethod = "smoke"\n', "notify.method", 2, "not a method"),
        ("[notify]\nmin_interval = -1\n", "notify.min_interval", 2, "between"),
        ('[notify]\nsound = "ding"\n', "notify.sound", 2, "unknown setting"),
        ('notify = "osc9"\n', "notify", 1, "table"),
        ("[kinds]\nrules = 3\n", "kinds.rules", 2, "array"),
        ('[kinds]\norder = "first"\n', "kinds.order", 2, "unknown setting"),
        (
            '[kinds]\nrules = [\n  { match = "^a", kind = "A" },\n  { match = "(", kind = "B" },\n]\n',
            "kinds.rules[2]",
            4,
            "not a valid regular expression",
        ),
        (
            '[kinds]\nrules = [{ match = "(a+)+$", kind = "slow" }]\n',
            "kinds.rules[1]",
            2,
            "could take very long",
        ),
        ('[kinds]\nrules = [{ match = "^a" }]\n', "kinds.rules[1]", 2, "missing kind"),
        ('[kinds]\nrules = [{ match = "^a", kind = "" }]\n', "kinds.rules[1]", 2, "empty"),
        (
            '[kinds]\nrules = [{ match = "^a", kind = "A", colour = "red" }]\n',
            "kinds.rules[1]",
            2,
            "unknown key",
        ),
        ('[kinds]\nrules = ["^a"]\n', "kinds.rules[1]", 2, "expected"),
        (
            '[[kinds.rules]]\nmatch = "a"\nkind = "A"\n[[kinds.rules]]\nmatch = "(a{1,3}){1,3}"\nkind = "B"\n',
            "kinds.rules[2]",
            5,
            "could take very long",
        ),
        (BASE + "max_answer_mib = 0\n", "workspaces.prod.max_answer_mib", 4, "between 1 and 4096"),
        (BASE + 'max_answer_mib = "big"\n', "workspaces.prod.max_answer_mib", 4, "number"),
        (
            BASE + "token_command_timeout = 601\n",
            "workspaces.prod.token_command_timeout",
            4,
            "between 0.1 and 600 seconds",
        ),
        (
            BASE + "token_command_timeout = nan\n",
            "workspaces.prod.token_command_timeout",
            4,
            "between",
        ),
    ],
)
def test_bad_values_name_the_key_and_line(tmp_path, text, key, line, words):
    error = load_error(tmp_path, text)
    assert (error.key, error.line) == (key, line), error.describe()
    assert words in error.message


@pytest.mark.parametrize(
    "command",
    [
        "\"curl -H 'x-api-key: sk-sharely-abcdef' https://hooks.example\"",
        '["curl", "-H", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.sig"]',
    ],
)
def test_a_secret_pasted_into_on_job_end_is_refused_and_not_echoed(tmp_path, command):
    error = load_error(tmp_path, f"[notify]\non_job_end = {command}\n")
    assert (error.key, error.line) == ("notify.on_job_end", 2)
    assert "secret" in error.message
    assert "abcdef" not in error.describe() and "eyJ" not in error.describe()


def test_edits_keep_the_tables_byte_for_byte(tmp_path):
    path = write(tmp_path, HAND)
    config = load_config(path)
    config.theme = "jobwatch-light"
    config.add_workspace(WorkspaceConfig("other", WS, ORG))
    save_config(config)
    text = path.read_text()
    assert text.startswith(HAND.replace("jobwatch-dark", "jobwatch-light"))
    again = load_config(path)
    assert again.notify == load_config(write(tmp_path / "..", HAND)).notify
    assert [r.kind for r in again.kind_rules] == ["taxonomy-publish", "roles"]


def test_changing_one_notify_key_changes_only_that_line(tmp_path):
    path = write(tmp_path, HAND)
    config = load_config(path)
    config.notify = NotifySettings.from_table({**config.notify.to_table(), "method": "osc9"})
    save_config(config)
    assert path.read_text() == HAND.replace('method = "osc777"', 'method = "osc9"')


def test_a_config_built_in_memory_writes_its_tables(tmp_path):
    path = tmp_path / "config.toml"
    config = Config(path)
    config.notify = NotifySettings.from_table({"on": ["ended"], "on_job_end": ["notify-send", "x"]})
    config.kind_rules = compile_rules([(r"^tax-\d+", "taxonomy")])
    save_config(config)
    assert path.read_text() == (
        '[notify]\non = ["ended"]\non_job_end = ["notify-send", "x"]\n\n'
        '[kinds]\nrules = [\n    {match = "^tax-\\\\d+", kind = "taxonomy"},\n]\n'
    )
    again = load_config(path)
    assert again.notify == config.notify
    assert again.kind_rules[0].pattern.pattern == r"^tax-\d+"
    config.notify = NotifySettings()
    config.kind_rules = ()
    save_config(config)
    assert path.read_text() == ""
