"""Themes as TOML files: the shipped ones and the user's own, turned into Textual `Theme`s.

A theme file has Textual's colour keys at the top level (name, dark, primary, secondary, accent,
foreground, background, surface, panel, warning, error, success, boost, luminosity_spread,
text_alpha) and a [variables] table: the status colours ($status-running, ...), their extra text
attributes ("status-running-style" = "bold", ...) and any Textual design variable.

A file that cannot be used is reported as one warning line naming the file and the reason and is
skipped; loading themes never fails.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

import jobwatch
from jobwatch.errors import ConfigError
from jobwatch.tui.theming.status_style import STATUS_VARIABLES

SHIPPED_THEMES = ("jobwatch-dark", "jobwatch-light", "jobwatch-high-contrast")
STATUS_COLOR_VARIABLES: tuple[str, ...] = tuple(dict.fromkeys(STATUS_VARIABLES.values()))
STATUS_STYLE_VARIABLES: tuple[str, ...] = tuple(f"{name}-style" for name in STATUS_COLOR_VARIABLES)

COLOR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "warning",
    "error",
    "success",
)
FRACTION_KEYS = ("luminosity_spread", "text_alpha")
KNOWN_KEYS = frozenset({"name", "dark", "variables", *COLOR_KEYS, *FRACTION_KEYS})
MAX_THEME_BYTES = 256 * 1024
#: A theme's name is shown in the command palette (which parses it as markup), in notifications
#: and in the config: letters, digits, "-", "_" and "." only, like every shipped Textual theme.
THEME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ThemeFileError(ConfigError):
    """A theme file that cannot be used."""


def shipped_theme_dirs() -> list[Path]:
    """Where the shipped themes live: inside the installed package, then the source checkout's themes/."""
    dirs: list[Path] = []
    try:
        packaged = resources.files("jobwatch") / "themes"
        if packaged.is_dir():
            dirs.append(Path(str(packaged)))
    except (ModuleNotFoundError, OSError, TypeError):
        pass
    checkout = Path(jobwatch.__file__).resolve().parent.parent / "themes"
    if checkout.is_dir() and all(checkout.resolve() != d.resolve() for d in dirs):
        dirs.append(checkout)
    return dirs


def _color(value: Any, path: str, key: str) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(path, f"expected a colour string, got {type(value).__name__}", key=key)
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(path, f"{value!r} is not a colour", key=key) from None
    return value


def _text_style(value: Any, path: str, key: str) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(
            path, f"expected a text style string, got {type(value).__name__}", key=key
        )
    words = value.split()
    bad = [word for word in words if word not in VALID_STYLE_FLAGS]
    if not words or bad:
        allowed = ", ".join(sorted(VALID_STYLE_FLAGS))
        raise ThemeFileError(path, f"{value!r} is not a text style (use: {allowed})", key=key)
    return " ".join(words)


def theme_from_data(data: dict[str, Any], path: str) -> tuple[Theme, list[str]]:
    """Build a Theme from a parsed TOML table; raise ThemeFileError, return warnings for ignored keys."""
    warnings: list[str] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(path, 'missing theme name (name = "my-theme")', key="name")
    name = name.strip()
    if not THEME_NAME.fullmatch(name):
        raise ThemeFileError(
            path,
            "a theme name is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            key="name",
        )
    if "primary" not in data:
        raise ThemeFileError(path, "missing primary colour", key="primary")
    kwargs: dict[str, Any] = {"name": name}
    for key in COLOR_KEYS:
        if key in data:
            kwargs[key] = _color(data[key], path, key)
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(path, "expected true or false", key="dark")
    kwargs["dark"] = dark
    for key in FRACTION_KEYS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ThemeFileError(path, "expected a number from 0 to 1", key=key)
            kwargs[key] = float(value)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(path, "expected a table ([variables])", key="variables")
    checked: dict[str, str] = {}
    for key, value in variables.items():
        where = f"variables.{key}"
        if key.endswith("-style"):
            checked[key] = _text_style(value, path, where)
        else:
            checked[key] = _color(value, path, where)
    kwargs["variables"] = checked
    for key in sorted(set(data) - KNOWN_KEYS):
        warnings.append(ThemeFileError(path, "unknown key ignored", key=key).describe())
    return Theme(**kwargs), warnings


def load_theme_file(path: Path) -> tuple[Theme, list[str]]:
    """Read and check one theme file; raise ThemeFileError naming the file and the reason."""
    shown = str(path)
    try:
        if path.stat().st_size > MAX_THEME_BYTES:
            raise ThemeFileError(shown, f"larger than {MAX_THEME_BYTES // 1024} KiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ThemeFileError(shown, f"cannot read it ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ThemeFileError(shown, "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(shown, f"not valid TOML ({exc})") from None
    return theme_from_data(data, shown)


def _theme_files(directory: Path) -> list[Path]:
    try:
        return sorted(
            p for p in directory.iterdir() if p.suffix == ".toml" and not p.name.startswith(".")
        )
    except OSError:
        return []


def _readable_themes(
    directory: Path, warnings: list[str]
) -> Iterator[tuple[Path, Theme, list[str]]]:
    """(file, theme, its notes) of each theme file in `directory` that loads; a warning per other."""
    for path in _theme_files(directory):
        try:
            theme, notes = load_theme_file(path)
        except ThemeFileError as exc:
            warnings.append(f"{exc.describe()} (theme skipped)")
            continue
        yield path, theme, notes


def load_themes(extra_dir: Path | None = None) -> tuple[list[Theme], list[str]]:
    """The shipped themes, then the user's themes from `extra_dir`, and one warning per unusable file.

    A user theme with the name of a shipped theme replaces it; two user files with the same name keep
    the first (by file name) and report the second.
    """
    themes: dict[str, Theme] = {}
    warnings: list[str] = []
    for directory in shipped_theme_dirs():
        for _path, theme, notes in _readable_themes(directory, warnings):
            warnings.extend(notes)
            themes.setdefault(theme.name, theme)
    if extra_dir is not None and extra_dir.is_dir():
        seen: set[str] = set()
        for path, theme, notes in _readable_themes(extra_dir, warnings):
            if theme.name in seen:
                warnings.append(
                    ThemeFileError(
                        str(path), f"another theme file is already named {theme.name!r}", key="name"
                    ).describe()
                    + " (theme skipped)"
                )
                continue
            seen.add(theme.name)
            warnings.extend(notes)
            themes[theme.name] = theme
    return list(themes.values()), warnings


def status_text_styles(variables: dict[str, str]) -> dict[str, str]:
    """The "status-<name>-style" text attributes of a theme's variables, "" where it sets none."""
    styles: dict[str, str] = {}
    for name in STATUS_COLOR_VARIABLES:
        words = variables.get(f"{name}-style", "").split()
        styles[name] = " ".join(word for word in words if word != "none")
    return styles
