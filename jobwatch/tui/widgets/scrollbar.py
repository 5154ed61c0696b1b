"""A vertical scroll bar that is repainted only when its thumb moves a step you can see.

Textual's ScrollView hands every change of its scroll offset to its scroll bar's `position`,
a repainting reactive. The job table scrolls by a few rows whenever a poll moves rows above its
cursor (the cursor's job stays on its screen line), but on a bar of 37 cells over 100,000 rows
the thumb moves one eighth of a cell only every ~350 rows: nearly every such repaint drew the
same bar again. It was the largest widget the compositor drew while watching: 34 repaints in
40 s at 100k jobs, growing, 3.8 ms each (Textual's Rich renderable, line by line), 0.56 % of a
core of the 4.6 % the dashboard took (120x40 pty, per widget CPU time with `time.thread_time`).

`move_quietly` gives the bar its new position either way; it repaints only when the bar Textual
would draw (`ScrollBarRender.render_bar`, the same function its render uses) differs from the one
on screen. What is on screen is always the bar at its current position: a change of its size or
of the scrolled length repaints it as before (those are Textual's own repaints).
"""

from __future__ import annotations

from math import ceil

from textual.scrollbar import ScrollBar

__all__ = ["bar_cells", "move_quietly"]


def bar_cells(bar: ScrollBar, position: float) -> list[tuple[str, object]]:
    """The cells (glyph and Rich style) of `bar` at `position`, as Textual's render draws them."""
    window_size = bar.window_size if bar.window_size < bar.window_virtual_size else 0
    size = bar.size.height if bar.vertical else bar.size.width
    segments = bar.renderer.render_bar(
        size=size,
        virtual_size=ceil(bar.window_virtual_size),
        window_size=ceil(window_size),
        position=position,
        thickness=bar.thickness,
        vertical=bar.vertical,
    )
    return [(segment.text, segment.style) for segment in segments.segments]


def move_quietly(bar: ScrollBar, position: float) -> bool:
    """Set the bar's position; repaint it only if it looks different there. True if repainted."""
    position = bar.validate_position(position)
    if position == bar.position:
        return False
    if bar_cells(bar, position) == bar_cells(bar, bar.position):
        bar.set_reactive(ScrollBar.position, position)
        return False
    bar.position = position
    return True
