"""The [notify] table: defaults, every key's validation, and errors shaped like the config's."""

from __future__ import annotations

import tomllib
import typing

import pytest

from jobwatch.notify.settings import (
    DEFAULT_ON,
    METHOD_SETTINGS,
    NotifySettingError,
    NotifySettings,
)
from jobwatch.notify.terminal import METHODS
from jobwatch.statuses import FAILURE_CODES, NOT_FOUND_CODE, TERMINAL_CODES
from jobwatch.store.config import InvalidSetting


def test_defaults_notify_failures_and_slow_jobs():
    s = NotifySettings.from_table(None)
    assert s == NotifySettings.from_table({}) == NotifySettings()
    assert s.method == "auto" and s.on == DEFAULT_ON
    assert s.codes == FAILURE_CODES and s.slow
    assert s.on_job_end is None and s.on_job_end_timeout == 10.0 and s.min_interval == 15.0
    assert s.to_table() == {}


def test_every_method_the_encoder_writes_can_be_chosen():
    assert ("auto", *METHODS) == METHOD_SETTINGS
    assert typing.get_args(typing.get_type_hints(NotifySettings)["method"]) == METHOD_SETTINGS


def test_a_full_table_from_toml_round_trips():
    text = """
    [notify]
    method = "OSC777"
    on = ["failure", "completed", "NOT_FOUND", "canceled", "failure"]
    min_interval = 0
    on_job_end = ["notify-send", "jobwatch"]
    on_job_end_timeout = 2.5
    """
    table = tomllib.loads(text)["notify"]
    s = NotifySettings.from_table(table)
    assert s.method == "osc777"
    assert s.on == ("failure", "COMPLETED", "NOT_FOUND", "CANCELED")
    assert s.codes == FAILURE_CODES | {2, NOT_FOUND_CODE}
    assert not s.slow
    assert s.on_job_end == ("notify-send", "jobwatch")
    assert s.min_interval == 0.0 and s.on_job_end_timeout == 2.5
    assert NotifySettings.from_table(s.to_table()) == s


def test_ended_means_every_outcome_and_a_string_is_one_entry():
    assert NotifySettings.from_table({"on": "ended"}).codes == TERMINAL_CODES
    assert NotifySettings.from_table({"on": []}).codes == frozenset()


def test_a_shell_command_line_is_kept_as_written():
    cmd = 'notify-send "$JOBWATCH_STATUS" "$JOBWATCH_WORKFLOW_ID"'
    assert NotifySettings.from_table({"on_job_end": cmd}).on_job_end == cmd
    assert "notify-send" not in repr(NotifySettings.from_table({"on_job_end": cmd}))


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({"methd": "auto"}, "notify.methd", "unknown setting (known: method, on,"),
        ({"method": "growl"}, "notify.method", "'growl' is not a method (known: auto, osc9"),
        ({"method": 9}, "notify.method", "an integer is not a method"),
        (
            {"on": ["FAILED", "RUNNING"]},
            "notify.on",
            "'RUNNING' is not an outcome (a job does not end in it)",
        ),
        (
            {"on": ["typo"]},
            "notify.on",
            "known: failure, ended, slow, CANCELED, CANCELLED, COMPLETED",
        ),
        ({"on": [3]}, "notify.on", "expected outcome names (strings), got an integer"),
        ({"on": {"a": 1}}, "notify.on", "expected a list of outcomes, got a table"),
        ({"min_interval": -1}, "notify.min_interval", "between 0 and 3600 seconds, got -1"),
        (
            {"min_interval": True},
            "notify.min_interval",
            "expected a number of seconds, got a boolean",
        ),
        ({"on_job_end_timeout": 0}, "notify.on_job_end_timeout", "between 0.1 and 600"),
        ({"on_job_end": ""}, "notify.on_job_end", "must not be empty"),
        ({"on_job_end": []}, "notify.on_job_end", "the program and its arguments"),
        ({"on_job_end": ["", "x"]}, "notify.on_job_end", "the program (the first element)"),
        ({"on_job_end": ["a", 1]}, "notify.on_job_end", "all strings"),
        ({"on_job_end": "a\0b"}, "notify.on_job_end", "without NUL"),
        ({"on_job_end": 5}, "notify.on_job_end", "got an integer"),
    ],
)
def test_each_bad_value_names_its_key(table, key, words):
    with pytest.raises(NotifySettingError) as caught:
        NotifySettings.from_table(table)
    assert caught.value.key == key
    assert words in caught.value.message, caught.value.message
    assert str(caught.value) == f"{key}: {caught.value.message}"


def test_not_a_table():
    with pytest.raises(
        NotifySettingError, match=r"^notify: expected a \[notify\] table, got a string"
    ):
        NotifySettings.from_table("osc9")


def test_the_loader_gets_its_own_error_class_with_its_prefix():
    with pytest.raises(InvalidSetting) as caught:
        NotifySettings.from_table({"method": "x"}, error=InvalidSetting)
    assert caught.value.key == "notify.method"
    with pytest.raises(InvalidSetting) as caught:
        NotifySettings.from_table(
            {"method": "x"}, prefix="workspaces.prod.notify", error=InvalidSetting
        )
    assert caught.value.key == "workspaces.prod.notify.method"


def test_hostile_key_names_are_shown_escaped():
    with pytest.raises(NotifySettingError) as caught:
        NotifySettings.from_table({"x\x1b]52;c;AA\x07": 1})
    assert "\x1b" not in str(caught.value) and "\\x1b" in str(caught.value)
