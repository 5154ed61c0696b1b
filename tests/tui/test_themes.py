"""Theme files: the shipped ones load completely, broken user files are reported and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color

from jobwatch.store.config import DEFAULT_THEME
from jobwatch.tui.theming.status_style import STATUS_VARIABLES
from jobwatch.tui.theming.themes import (
    SHIPPED_THEMES,
    load_theme_file,
    load_themes,
    shipped_theme_dirs,
    status_text_styles,
)

REPO_THEMES = Path(__file__).resolve().parents[2] / "themes"
GOOD = """
name = "mine"
dark = false
primary = "#112233"
background = "white"
[variables]
"status-failed" = "#ff0000"
"status-failed-style" = "bold reverse"
"""


def _by_name(themes):
    return {t.name: t for t in themes}


def test_shipped_themes_load_without_warnings() -> None:
    themes, warnings = load_themes(None)
    assert warnings == []
    names = [t.name for t in themes]
    assert set(SHIPPED_THEMES) <= set(names)
    assert DEFAULT_THEME in names
    assert REPO_THEMES.resolve() in [d.resolve() for d in shipped_theme_dirs()]
    assert {p.stem for p in REPO_THEMES.glob("*.toml")} == set(SHIPPED_THEMES)


@pytest.mark.parametrize("name", SHIPPED_THEMES)
def test_shipped_theme_defines_every_status_colour_and_style(name: str) -> None:
    theme = _by_name(load_themes(None)[0])[name]
    for variable in set(STATUS_VARIABLES.values()):
        Color.parse(theme.variables[variable])
        assert f"{variable}-style" in theme.variables


def test_high_contrast_failures_differ_by_more_than_hue() -> None:
    theme = _by_name(load_themes(None)[0])["jobwatch-high-contrast"]
    styles = status_text_styles(theme.variables)
    for failure in ("status-failed", "status-terminated", "status-timed-out"):
        assert "reverse" in styles[failure].split()
    assert styles["status-completed"] == ""
    assert len({styles["status-running"], styles["status-completed"], styles["status-failed"]}) == 3
    assert theme.background == "#000000"


def test_light_theme_is_light_and_dark_themes_are_dark() -> None:
    themes = _by_name(load_themes(None)[0])
    assert themes["jobwatch-light"].dark is False
    assert themes["jobwatch-dark"].dark is True
    assert themes["jobwatch-high-contrast"].dark is True


def test_user_theme_loads_and_can_replace_a_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(GOOD)
    (tmp_path / "override.toml").write_text('name = "jobwatch-light"\nprimary = "#000000"\n')
    themes, warnings = load_themes(tmp_path)
    assert warnings == []
    by_name = _by_name(themes)
    assert by_name["mine"].primary == "#112233"
    assert by_name["mine"].dark is False
    assert by_name["mine"].variables["status-failed-style"] == "bold reverse"
    assert by_name["jobwatch-light"].primary == "#000000"


BROKEN = {
    "bad_toml.toml": ('name = "x"\nprimary = \n', "not valid TOML"),
    "no_name.toml": ('primary = "#123456"\n', "missing theme name"),
    "no_primary.toml": ('name = "np"\n', "missing primary"),
    "bad_colour.toml": ('name = "bc"\nprimary = "#12345g"\n', "'#12345g' is not a colour"),
    "bad_variable.toml": (
        'name = "bv"\nprimary = "red"\n[variables]\n"status-running" = "blurple"\n',
        "variables.status-running",
    ),
    "bad_style.toml": (
        'name = "bs"\nprimary = "red"\n[variables]\n"status-failed-style" = "loud"\n',
        "not a text style",
    ),
    "bad_dark.toml": ('name = "bd"\nprimary = "red"\ndark = "yes"\n', "[dark]"),
    "bad_number.toml": ('name = "bn"\nprimary = "red"\ntext_alpha = 3\n', "[text_alpha]"),
    "not_utf8.toml": (b'name = "\xff"\n', "not UTF-8"),
}


@pytest.mark.parametrize("filename", sorted(BROKEN))
def test_broken_user_theme_is_reported_and_skipped(tmp_path: Path, filename: str) -> None:
    content, reason = BROKEN[filename]
    path = tmp_path / filename
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    (tmp_path / "good.toml").write_text(GOOD)
    themes, warnings = load_themes(tmp_path)
    assert len(warnings) == 1, warnings
    assert filename in warnings[0]
    assert reason in warnings[0]
    assert "skipped" in warnings[0]
    names = {t.name for t in themes}
    assert "mine" in names
    assert set(SHIPPED_THEMES) <= names
    assert len(names) == len(SHIPPED_THEMES) + 1


def test_duplicate_user_theme_name_keeps_the_first_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('name = "dup"\nprimary = "#111111"\n')
    (tmp_path / "b.toml").write_text('name = "dup"\nprimary = "#222222"\n')
    themes, warnings = load_themes(tmp_path)
    assert _by_name(themes)["dup"].primary == "#111111"
    assert len(warnings) == 1 and "b.toml" in warnings[0]


def test_unknown_key_is_a_warning_but_the_theme_loads(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text('name = "typo"\nprimary = "red"\nprimay = "blue"\n')
    theme, notes = load_theme_file(path)
    assert theme.name == "typo"
    assert notes and "primay" in notes[0]


def test_missing_or_unreadable_user_dir_is_not_an_error(tmp_path: Path) -> None:
    themes, warnings = load_themes(tmp_path / "does-not-exist")
    assert warnings == []
    assert {t.name for t in themes} == set(SHIPPED_THEMES)
    (tmp_path / "notes.txt").write_text("not a theme")
    assert load_themes(tmp_path)[1] == []


async def test_shipped_themes_apply_to_an_app() -> None:
    from textual.app import App
    from textual.widgets import Static

    themes, _ = load_themes(None)

    class Host(App):
        CSS = "Static { color: $status-failed; text-style: $status-failed-style; }"

        def __init__(self) -> None:
            super().__init__()
            for theme in themes:
                self.register_theme(theme)
            self.theme = "jobwatch-high-contrast"

        def compose(self):
            yield Static("x")

    app = Host()
    async with app.run_test() as pilot:
        static = app.query_one(Static)
        assert static.styles.text_style.reverse
        for name in SHIPPED_THEMES:
            app.theme = name
            await pilot.pause()
            assert (
                app.get_css_variables()["status-running"]
                == _by_name(themes)[name].variables["status-running"]
            )
