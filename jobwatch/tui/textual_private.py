"""The one place jobwatch reaches into a private part of Textual, each access in a named helper.

Textual has no public way to write a control sequence of our own to the terminal (the window
title, OSC 2): `App.copy_to_clipboard` writes its OSC 52 through the same private driver. Every
other private attribute the dashboard used was replaced by a public API (`on_click`, `on_paste`
with `prevent_default`, a repaint flag of the table's own, the notifications' CSS).

`break_strip_self_cycles`: a Strip caches what `divide` and `crop_extend` return, and when that
is the strip itself (one cut at its end; a crop that changes nothing) the strip holds itself in
its own cache. Each such strip, with its seven FIFOCaches, is then freed only by the cyclic
garbage collector. The compositor divides every line it paints this way: at 100k jobs, a key
press left ~810 cyclic objects (65 strips), the young collections during held keys came every
0.3 s (2-13 ms each) and moved ~300 objects a press to the oldest generation, and the first full
collection after 70 s of keys took 478 ms (10k jobs, gc.callbacks). With the helper the strip
does not keep itself: 100 presses left 423 cyclic objects instead of 81,003 (gc.DEBUG_SAVEALL).

`QuietlySizedScrollView`: a ScrollView that a layout leaving its sizes as they were does not
touch (see the class).

Checked against Textual 8.2.0 to 8.2.8 (`App._driver`, `Driver.write`, `Driver.is_headless`,
`Strip.divide`, `Strip.crop_extend`, `Strip._divide_cache`, `Strip._crop_extend_cache`,
`ScrollView._size_updated`);
tests/tui/test_textual_private.py fails if an upgrade removes or changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from rich.style import Style
from textual import events
from textual.app import App
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

__all__ = [
    "QuietlySizedScrollView",
    "break_strip_self_cycles",
    "busy",
    "noticing_keys",
    "write_to_terminal",
]

#: MessagePump._post_message's signature
PostMessage = Callable[[App, Message], Coroutine[Any, Any, bool]]

_divide = Strip.divide
_crop_extend = Strip.crop_extend


def _divide_keeping_no_self(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    strips = _divide(self, cuts)
    if len(strips) == 1 and strips[0] is self:
        self._divide_cache.clear()  # it held [self]; the next call makes [self] again at once
    return strips


def _crop_extend_keeping_no_self(self: Strip, start: int, end: int, style: Style | None) -> Strip:
    strip = _crop_extend(self, start, end, style)
    if strip is self:
        self._crop_extend_cache.clear()
    return strip


def break_strip_self_cycles() -> None:
    """From now on, no Strip keeps itself in its own caches (idempotent; see the module doc)."""
    Strip.divide = _divide_keeping_no_self  # type: ignore[method-assign]
    Strip.crop_extend = _crop_extend_keeping_no_self  # type: ignore[method-assign]


def write_to_terminal(app: App, data: str) -> bool:
    """Write `data` (already safe: the caller escaped anything from outside) to the terminal.

    False when there is no terminal to write to: before the app runs, after it ended, headless.
    """
    driver = getattr(app, "_driver", None)
    if driver is None or driver.is_headless:
        return False
    driver.write(data)
    return True


def noticing_keys(post: PostMessage, noticed: Callable[[], object]) -> PostMessage:
    """`App._post_message` (`post`) calling `noticed` first for a key, in the caller's thread.

    A key read from the terminal is posted by the driver's input thread, which creates the
    `_post_message` coroutine there (`Driver.send_message`) and has the event loop run it; the key
    then waits for the app's queue, the app's handler and the focused widget's, each behind
    whatever else is ready on the loop. Told in the input thread, background work that gives way
    (jobwatch.give_way) stops at its next slice instead of once the key reached the app's handler.
    At a 100k restart (120x40 pty, `down` from the first rows on, the history and the first answer
    being gathered in slices): the median press of the first 15 s 129 ms without, 71 and 79 ms
    with (one run, two runs).
    """

    def _post_message(self: App, message: Message) -> Coroutine[Any, Any, bool]:
        if isinstance(message, events.Key):
            noticed()
        return post(self, message)

    return _post_message


def busy(app: App) -> bool:
    """A message is queued for the screen or one of its shown widgets, or a repaint is due.

    Reads Textual's private queues and flags (MessagePump._message_queue; a widget's
    _repaint_required, _layout_required and _scroll_required, which it turns into a message to
    its screen once its queue is empty; the screen's _dirty_widgets): jobwatch.give_way uses it
    to tell when a key's effects (its binding, the messages those posted, their repaint) are all
    on screen. Hidden widgets (display: none, and what they hold) never paint, so they are not
    asked. The dashboard has 11 widgets under its screen: 11-17 us a call (headless, 2000 calls).
    """
    screen = app.screen
    if screen._dirty_widgets:
        return True
    nodes: list[Widget] = [screen]
    while nodes:
        node = nodes.pop()
        if (
            not node._message_queue.empty()
            or node._repaint_required
            or node._layout_required
            or node._scroll_required
        ):
            return True
        nodes.extend(child for child in node._nodes if child.display)
    return False


class QuietlySizedScrollView(ScrollView):
    """A ScrollView that ignores a layout which changed none of its sizes.

    ScrollView._size_updated compares the virtual size the compositor passes (the content
    region) with the view's own (for the job table, one line a row): they never match, so every
    layout of the screen (a toast shown or gone, a count that grew a digit) updated the scroll
    bar and repainted it, all 37 lines of it at 120x40. Textual repaints every line between the
    highest and the lowest dirty region, so with the header's line that was the whole screen:
    a layout took 12 ms at 1k jobs (29 in 55 s of watching), and its scroll-bar repaint 2.5 ms
    (Compositor and StylesCache timed in the process, 2026-12-03). Here the sizes that matter
    are the view's size, its container's and its own virtual size: a layout that changed none of
    them is not passed on (no update, no repaint, no Resize event, which it would not have sent).
    """

    _sizes_laid_out: tuple[Size, Size, Size] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        sizes = (size, container_size, self.virtual_size)
        if sizes == self._sizes_laid_out:
            return False
        self._sizes_laid_out = sizes
        return super()._size_updated(size, virtual_size, container_size, layout)
