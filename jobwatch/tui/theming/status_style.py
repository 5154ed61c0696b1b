"""Status colours for the dashboard, taken from theme variables ($status-running, ...) with built-in defaults.

A theme may define any of the STATUS_VARIABLES names in its `variables`; the ones it lacks fall back to
DEFAULT_STATUS_COLORS (or LIGHT_STATUS_COLORS for a light theme). A "<name>-style" variable
(e.g. "status-failed-style" = "bold") adds Rich text attributes; "none" or unknown words add nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.color import Color, ColorParseError

from jobwatch.statuses import STATUSES, UNKNOWN

if TYPE_CHECKING:
    from textual.app import App

#: the theme variable of each status code (jobwatch.statuses has the names)
STATUS_VARIABLES: dict[int, str] = {
    UNKNOWN.code: UNKNOWN.color_variable,
    **{code: info.color_variable for code, info in STATUSES.items()},
}
UNKNOWN_VARIABLE = UNKNOWN.color_variable

DEFAULT_STATUS_COLORS: dict[str, str] = {
    "status-running": "#4ea1ff",
    "status-completed": "#4ec27a",
    "status-failed": "#ff5f5f",
    "status-cancelled": "#d7a35f",
    "status-terminated": "#d75fd7",
    "status-continued": "#5fd7d7",
    "status-timed-out": "#ff8f3f",
    "status-unknown": "#a0a0a0",
    "status-not-found": "#808080",
}

LIGHT_STATUS_COLORS: dict[str, str] = {
    "status-running": "#0a5fc2",
    "status-completed": "#1e7d3c",
    "status-failed": "#c41a1a",
    "status-cancelled": "#8a5a10",
    "status-terminated": "#8e2a8e",
    "status-continued": "#0d7a7a",
    "status-timed-out": "#b35000",
    "status-unknown": "#606060",
    "status-not-found": "#707070",
}

_cache: dict[tuple, dict[int | str, Style]] = {}


def _theme_variables(app: App) -> dict[str, str]:
    variables = getattr(app, "theme_variables", None)
    if not variables:
        variables = app.get_css_variables()
    return variables


_ATTRIBUTES = frozenset({"bold", "dim", "italic", "underline", "reverse", "strike", "blink"})


def _text_style(words: str | None) -> Style:
    if not words:
        return Style()
    return Style.parse(" ".join(word for word in words.lower().split() if word in _ATTRIBUTES))


def status_styles(app: App) -> dict[int | str, Style]:
    """Rich styles keyed by status code and by variable name, for the app's current theme.

    Unknown codes are not in the dict: look them up with `.get(code, styles["status-unknown"])`
    or use `style_for`.
    """
    variables = _theme_variables(app)
    theme = app.current_theme
    dark = theme.dark if theme is not None else True
    key = (
        app.theme,
        dark,
        tuple(variables.get(name) for name in DEFAULT_STATUS_COLORS),
        tuple(variables.get(f"{name}-style") for name in DEFAULT_STATUS_COLORS),
    )
    styles = _cache.get(key)
    if styles is not None:
        return styles
    defaults = DEFAULT_STATUS_COLORS if dark else LIGHT_STATUS_COLORS
    by_name: dict[str, Style] = {}
    for name, fallback in defaults.items():
        value = variables.get(name) or fallback
        try:
            color = Color.parse(value)
        except ColorParseError:
            color = Color.parse(fallback)
        by_name[name] = Style(color=color.rich_color) + _text_style(variables.get(f"{name}-style"))
    styles = {code: by_name[name] for code, name in STATUS_VARIABLES.items()}
    styles.update(by_name)
    if len(_cache) > 32:
        _cache.clear()
    _cache[key] = styles
    return styles


def style_for(styles: dict[int | str, Style], code: int) -> Style:
    """The style of a status code, falling back to the unknown-status style."""
    style = styles.get(code)
    return style if style is not None else styles[UNKNOWN_VARIABLE]
