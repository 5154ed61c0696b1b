"""Render the dashboard as a terminal with 16 or 256 colours shows it, for snapshots and checks.

Why a filter: Textual decides the colour depth once, at import (`TEXTUAL_COLOR_SYSTEM`, else what
Rich detects from TERM/COLORTERM), and downgrades colours only when it writes to the terminal
(`Strip.render` with the console's colour system). A screenshot (`App.export_screenshot`, which
pytest-textual-snapshot uses) renders on a truecolor console of its own, so no environment
variable changes an SVG. `ColorDepth` is a `textual.filter.LineFilter`, added through the public
`App.get_line_filters`: it replaces every colour by the one Rich's `Color.downgrade` picks for
that depth (the same call the terminal output uses), shown with the standard xterm palette, so
the SVG is what a 16- or 256-colour terminal would show.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color, ColorSystem
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from textual.app import App
from textual.color import Color as TextualColor
from textual.filter import LineFilter

DEPTHS = {16: ColorSystem.STANDARD, 256: ColorSystem.EIGHT_BIT}


@lru_cache(maxsize=4096)
def downgraded(color: Color | None, depth: int) -> Color | None:
    """`color` as a terminal with `depth` colours shows it (None stays None)."""
    if color is None or color.is_default:
        return color
    reduced = color.downgrade(DEPTHS[depth])
    return Color.from_triplet(reduced.get_truecolor(DEFAULT_TERMINAL_THEME))


@lru_cache(maxsize=4096)
def _style(style: Style, depth: int) -> Style:
    return style + Style.from_color(
        downgraded(style.color, depth), downgraded(style.bgcolor, depth)
    )


class ColorDepth(LineFilter):
    """Every colour as a terminal with 16 or 256 colours shows it."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"depth is 16 or 256, not {depth}")
        self.depth = depth

    def apply(self, segments: list[Segment], background: TextualColor) -> list[Segment]:
        depth = self.depth
        return [
            Segment(text, _style(style, depth) if style is not None else None, control)
            for text, style, control in segments
        ]


def with_color_depth(app: App, depth: int) -> App:
    """`app`, rendering as a `depth`-colour terminal shows it (its other filters kept)."""
    own = app.get_line_filters
    extra = ColorDepth(depth)
    app.get_line_filters = lambda: [*own(), extra]  # type: ignore[method-assign]
    return app
