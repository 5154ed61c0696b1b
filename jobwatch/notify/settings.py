"""The config's [notify] table: how notifications reach the person, and for what.

    [notify]
    method = "auto"              # auto | osc9 | osc777 | osc99 | bell | off
    on = ["failure", "slow"]     # what notifies: "failure", "ended" (every outcome), "slow"
                                 # ("slower than usual"), or status names: "COMPLETED", "NOT_FOUND"
    min_interval = 15            # seconds between two notifications; the rest fold into the next
    on_job_end = 'notify-send "$JOBWATCH_STATUS" "$JOBWATCH_WORKFLOW_ID"'
                                 # a string runs with /bin/sh -c, an array as the program and its
                                 # arguments; for the endings `on` selects (not "slow")
    on_job_end_timeout = 10      # seconds, then its whole process group is killed

`NotifySettings.from_table` validates the table and raises the config's own error for the first
bad key, named in full (`notify.method`), so the loader can point at its line. It lives below
jobwatch.store, so the loader passes its error class in (`error=InvalidSetting`); alone it raises
NotifySettingError, which has the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from jobwatch.errors import UsageError
from jobwatch.sanitize import visible
from jobwatch.statuses import FAILURE_CODES, STATUSES, TERMINAL_CODES

MethodSetting = Literal["auto", "osc9", "osc777", "osc99", "bell", "off"]
METHOD_SETTINGS: tuple[MethodSetting, ...] = get_args(MethodSetting)

#: outcome groups `on` may name, besides the status names
GROUPS: dict[str, frozenset[int]] = {"failure": FAILURE_CODES, "ended": TERMINAL_CODES}
#: the entry of `on` that selects "slower than usual" notices
SLOW = "slow"
#: names the API also uses for a status (code 4 is spelled both ways)
ALIASES = {"CANCELED": 4}
DEFAULT_ON: tuple[str, ...] = ("failure", SLOW)
DEFAULT_MIN_INTERVAL = 15.0
MAX_MIN_INTERVAL = 3600.0
DEFAULT_COMMAND_TIMEOUT = 10.0
MIN_COMMAND_TIMEOUT = 0.1
MAX_COMMAND_TIMEOUT = 600.0
MAX_COMMAND_CHARS = 4096
MAX_COMMAND_ARGS = 100
KEYS = ("method", "on", "min_interval", "on_job_end", "on_job_end_timeout")

#: builds the error for a bad setting from (full key, message): the config's InvalidSetting
ErrorFactory = Callable[[str, str], Exception]


class NotifySettingError(UsageError):
    """A [notify] value that cannot be used; `key` names it (the shape of the config's InvalidSetting)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _outcome_names() -> dict[str, int]:
    names = {info.name: code for code, info in STATUSES.items() if code in TERMINAL_CODES}
    return names | ALIASES


@dataclass(frozen=True, slots=True)
class NotifySettings:
    method: MethodSetting = "auto"
    #: the entries of `on`, normalized (groups lowercase, status names uppercase), in order
    on: tuple[str, ...] = DEFAULT_ON
    min_interval: float = DEFAULT_MIN_INTERVAL
    #: a shell command line, or a program and its arguments; None: no command
    on_job_end: str | tuple[str, ...] | None = field(default=None, repr=False)
    on_job_end_timeout: float = DEFAULT_COMMAND_TIMEOUT

    @property
    def codes(self) -> frozenset[int]:
        """The status codes whose endings notify (and run on_job_end)."""
        names = _outcome_names()
        out: set[int] = set()
        for entry in self.on:
            out |= GROUPS.get(entry, frozenset({names[entry]} if entry in names else ()))
        return frozenset(out)

    @property
    def slow(self) -> bool:
        """Whether "slower than usual" notices notify."""
        return SLOW in self.on

    @classmethod
    def from_table(
        cls, table: Any, *, prefix: str = "notify", error: ErrorFactory = NotifySettingError
    ) -> NotifySettings:
        """Validate a [notify] table (None or {} gives the defaults); raises error(key, message)."""
        if table is None:
            return cls()
        if not isinstance(table, Mapping):
            raise error(prefix, f"expected a [{prefix}] table, got {_type_name(table)}")
        for key in table:
            if key not in KEYS:
                raise error(
                    f"{prefix}.{visible(str(key), 60)}",
                    f"unknown setting (known: {', '.join(KEYS)})",
                )
        return cls(
            method=_method(table.get("method", "auto"), f"{prefix}.method", error),
            on=_on(table.get("on", list(DEFAULT_ON)), f"{prefix}.on", error),
            min_interval=_seconds(
                table.get("min_interval", DEFAULT_MIN_INTERVAL),
                f"{prefix}.min_interval",
                0.0,
                MAX_MIN_INTERVAL,
                error,
            ),
            on_job_end=_command(table.get("on_job_end"), f"{prefix}.on_job_end", error),
            on_job_end_timeout=_seconds(
                table.get("on_job_end_timeout", DEFAULT_COMMAND_TIMEOUT),
                f"{prefix}.on_job_end_timeout",
                MIN_COMMAND_TIMEOUT,
                MAX_COMMAND_TIMEOUT,
                error,
            ),
        )

    def to_table(self) -> dict[str, Any]:
        """The settings that differ from the defaults, as the config file writes them."""
        out: dict[str, Any] = {}
        if self.method != "auto":
            out["method"] = self.method
        if self.on != DEFAULT_ON:
            out["on"] = list(self.on)
        if self.min_interval != DEFAULT_MIN_INTERVAL:
            out["min_interval"] = self.min_interval
        if self.on_job_end is not None:
            out["on_job_end"] = (
                self.on_job_end if isinstance(self.on_job_end, str) else list(self.on_job_end)
            )
        if self.on_job_end_timeout != DEFAULT_COMMAND_TIMEOUT:
            out["on_job_end_timeout"] = self.on_job_end_timeout
        return out


def _method(value: Any, key: str, error: ErrorFactory) -> MethodSetting:
    if isinstance(value, str):
        for known in METHOD_SETTINGS:
            if value.strip().lower() == known:
                return known
    shown = repr(visible(value, 40)) if isinstance(value, str) else _type_name(value)
    raise error(key, f"{shown} is not a method (known: {', '.join(METHOD_SETTINGS)})")


def _on(value: Any, key: str, error: ErrorFactory) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise error(key, f"expected a list of outcomes, got {_type_name(value)}")
    names = _outcome_names()
    out: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise error(key, f"expected outcome names (strings), got {_type_name(item)}")
        word = item.strip()
        if word.lower() in GROUPS or word.lower() == SLOW:
            entry = word.lower()
        elif word.upper() in names:
            entry = word.upper()
        else:
            known = ", ".join([*GROUPS, SLOW, *sorted(names)])
            hint = ""
            if word.upper() in {info.name for info in STATUSES.values()}:
                hint = " (a job does not end in it)"
            raise error(key, f"{visible(word, 40)!r} is not an outcome{hint} (known: {known})")
        if entry not in out:
            out.append(entry)
    return tuple(out)


def _seconds(value: Any, key: str, low: float, high: float, error: ErrorFactory) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(key, f"expected a number of seconds, got {_type_name(value)}")
    if not low <= value <= high:
        raise error(key, f"must be between {low:g} and {high:g} seconds, got {value:g}")
    return float(value)


def _command(value: Any, key: str, error: ErrorFactory) -> str | tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            raise error(key, "must not be empty (leave it out for no command)")
        if len(value) > MAX_COMMAND_CHARS or "\0" in value:
            raise error(key, f"must be at most {MAX_COMMAND_CHARS} characters, without NUL")
        return value
    if isinstance(value, list):
        if not value or not all(isinstance(a, str) for a in value):
            raise error(key, "an array must hold the program and its arguments, all strings")
        if not value[0].strip():
            raise error(key, "the program (the first element) must not be empty")
        if len(value) > MAX_COMMAND_ARGS or any(
            len(a) > MAX_COMMAND_CHARS or "\0" in a for a in value
        ):
            raise error(key, f"at most {MAX_COMMAND_ARGS} arguments, without NUL")
        return tuple(value)
    raise error(
        key, f"expected a command line (string) or an array of strings, got {_type_name(value)}"
    )


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "a date/time" if value is not None else "nothing"
