"""The key bar: one line at the bottom naming the keys that work now, drawn by one widget.

Textual's Footer mounts a widget per key and rebuilds them all whenever the focus moves (`/` and
`esc` do that): at 100k jobs that rebuild, its layout and the garbage it leaves behind cost a
noticeable part of a key press. This bar keeps the same look but only repaints its one line, and
only when what it shows changed. A click on a key presses it; hovering lights the key up and shows
its tooltip.

When the keys do not fit the width, the ones a person needs to find everything else (`?` help and
`q` quit, `ALWAYS_SHOWN`) stay and the others give way from the right; the palette's `^p` goes
before those two do.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

SEPARATOR = "▏"
DIM = Style(dim=True)
#: the actions whose keys stay on the bar however narrow it is (help lists every other key)
ALWAYS_SHOWN = frozenset({"app.help", "app.quit", "help", "quit"})


@dataclass(frozen=True)
class KeyItem:
    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str
    #: stays on the bar when others give way (ALWAYS_SHOWN)
    kept: bool = False

    @property
    def cells(self) -> int:
        """Cells the key takes on the bar: "? Help"."""
        return cell_len(self.display) + 1 + cell_len(self.description)


def fitting(items: tuple[KeyItem, ...], room: int) -> list[KeyItem]:
    """The keys shown in `room` cells, in their order: kept ones first claim their room, then
    the others from the left while they fit (one space between two keys)."""
    kept = [item for item in items if item.kept]
    used = sum(item.cells + 1 for item in kept)
    shown = set(kept)
    for item in items:
        if item.kept:
            continue
        if used + item.cells + 1 > room + 1:
            break
        used += item.cells + 1
        shown.add(item)
    return [item for item in items if item in shown]


class KeyBar(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--separator", "keybar--hover"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .keybar--separator { color: $foreground 20%; }
        & > .keybar--hover { background: $block-hover-background; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: tuple[KeyItem, ...] = ()
        self.palette: KeyItem | None = None
        #: (first cell, end cell, item) of each key drawn in the last render
        self._spans: list[tuple[int, int, KeyItem]] = []
        self.hovered: KeyItem | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        items: list[KeyItem] = []
        palette: KeyItem | None = None
        seen_actions: set[str] = set()
        app = self.app
        for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items():
            item = KeyItem(
                key,
                app.get_key_display(binding),
                binding.description,
                enabled,
                tooltip or binding.tooltip or binding.description,
                kept=binding.action in ALWAYS_SHOWN,
            )
            if key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = item
            elif binding.show and binding.action not in seen_actions:
                seen_actions.add(binding.action)
                items.append(item)
        if tuple(items) != self.items or palette != self.palette:
            self.items = tuple(items)
            self.palette = palette
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        key_style = self.get_component_rich_style("keybar--key")
        description_style = self.get_component_rich_style("keybar--description")
        separator_style = self.get_component_rich_style("keybar--separator")
        hover = self.get_component_rich_style("keybar--hover", partial=True)
        right = Text()
        kept_cells = sum(item.cells + 1 for item in self.items if item.kept)
        palette = self.palette
        if palette is not None and kept_cells + palette.cells + 3 > width:
            palette = None  # "?" and "q" first
        if palette is not None:
            lit = hover if palette == self.hovered else Style()
            right.append(SEPARATOR, separator_style)
            right.append(palette.display, key_style + lit)
            right.append(f" {palette.description}", description_style + lit)
            right.append(" ")
        room = width - right.cell_len if right.cell_len < width else width
        text = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, KeyItem]] = []
        for item in fitting(self.items, room):
            cells = item.cells
            start = text.cell_len
            if start + cells > room:
                break
            extra = (Style() if item.enabled else DIM) + (
                hover if item == self.hovered else Style()
            )
            text.append(item.display, key_style + extra)
            text.append(f" {item.description}", description_style + extra)
            spans.append((start, start + cells, item))
            if text.cell_len < room:
                text.append(" ")
        if palette is not None and right.cell_len < width:
            text.append(" " * (width - text.cell_len - right.cell_len))
            spans.append((text.cell_len + 1, width, palette))
            text.append_text(right)
        self._spans = spans
        return text

    def item_at(self, x: int) -> KeyItem | None:
        for start, end, item in self._spans:
            if start <= x < end:
                return item
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self.item_at(event.x)
        self.tooltip = item.tooltip if item is not None else None
        self._hover(item)

    def on_leave(self, event: events.Leave) -> None:
        self._hover(None)

    def _hover(self, item: KeyItem | None) -> None:
        if item != self.hovered:
            self.hovered = item
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        item = self.item_at(event.x)
        if item is None:
            return
        event.stop()
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()
