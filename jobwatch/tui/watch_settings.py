"""The one place the dashboard reads the config's kind rules and [notify] settings.

`Config.kind_rules` and `Config.notify` are being added to jobwatch.store.config at the same time
as the dashboard's side; until they are there, a config without them reads as no rules and the
default NotifySettings. When they land, each function here becomes one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobwatch.kinds import KindRule, Kinds, compile_rules
from jobwatch.notify.settings import NotifySettings


def kind_rules(config: Any) -> tuple[KindRule, ...]:
    """The config's ordered kind rules, compiled (the config may hold them as (pattern, kind)
    pairs or as KindRules)."""
    rules: Sequence[Any] = getattr(config, "kind_rules", None) or ()
    if all(isinstance(rule, KindRule) for rule in rules):
        return tuple(rules)
    return compile_rules([(rule[0], rule[1]) for rule in rules])


def kinds_of(config: Any) -> Kinds:
    """A Kinds for the config's rules (each workspace opened gets its own: it memoizes)."""
    return Kinds(kind_rules(config))


def notify_settings(config: Any) -> NotifySettings:
    """The config's [notify] settings, or the defaults."""
    settings = getattr(config, "notify", None)
    return settings if isinstance(settings, NotifySettings) else NotifySettings()
