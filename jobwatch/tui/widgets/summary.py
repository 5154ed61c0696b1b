"""The summary bar: one chip per status present ("▶ RUNNING 3 ✗ FAILED 1 …"); clicking a chip filters by it.

When the names do not fit the bar's width, the chips shrink to symbol and count ("▶3 ✗1 …"); the
symbol still tells the statuses apart without colour, and a chip's tooltip names its status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.containers import HorizontalScroll
from textual.widgets import Static

from jobwatch.formatting import status_symbol
from jobwatch.statuses import API_CODES, IN_ORDER, STATUSES
from jobwatch.tui.messages import StatusFilterRequested
from jobwatch.tui.theming.status_style import status_styles, style_for

ORDER = tuple(info.code for info in IN_ORDER)


def status_name(code: int) -> str:
    info = STATUSES.get(code)
    return info.short if info is not None else f"UNKNOWN({code})"


class StatusChip(Static):
    DEFAULT_CSS = """
    StatusChip { width: auto; height: 1; padding: 0 1 0 0; }
    StatusChip:hover { background: $boost; }
    StatusChip.-active { background: $accent-muted; text-style: bold; }
    """

    def __init__(self, code: int) -> None:
        super().__init__("", classes=f"chip-{code}" if code >= 0 else "chip-not-found")
        self.code = code
        self.tooltip = (
            f"show only {status_name(code)} (key {code})" if code in API_CODES else "filter"
        )

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(StatusFilterRequested(self.code))


class SummaryBar(HorizontalScroll):
    """Counts per status code, built from (code, count) pairs handed over by the screen."""

    DEFAULT_CSS = """
    SummaryBar { height: 1; scrollbar-size: 0 0; background: $surface; padding-left: 1; }
    SummaryBar > .summary-total { width: auto; color: $text-muted; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.counts: Counter[int] = Counter()
        self.active: frozenset[int] = frozenset()
        #: the kept text filter, named after the total ("· 15 jobs · /glacier: 3 shown"); "" for none
        self.text_filter = ""
        #: rows that pass the filters, said after a kept text filter
        self.shown: int | None = None
        self.compact = False
        #: a first screenful is shown, its rest not counted yet: the total says so, not "no jobs"
        self.counting = False

    def compose(self):
        yield Static("", classes="summary-total")

    def set_counts(
        self,
        codes: Iterable[int] | Mapping[int, int],
        active: Iterable[int] | None = None,
        shown: int | None = None,
    ) -> None:
        """The status code of every job, or already counted ({code: jobs}, e.g. a Counter).

        `shown` is how many rows pass the filters (said after a kept text filter).
        """
        self.counts = Counter(codes)
        self.counting = False
        self.active = frozenset(active or ())
        self.shown = shown
        self._render_chips()

    def on_mount(self) -> None:
        self._render_chips()
        self.watch(self.app, "theme", lambda _: self._render_chips(), init=False)

    def on_resize(self) -> None:
        self._render_chips()

    def summary_text(self) -> str:
        """The bar as plain text, as shown, e.g. "▶ RUNNING 3 ✓ COMPLETED 12 · 15 jobs"."""
        chips = " ".join(self._chip_text(code, self.compact) for code in self._codes())
        return f"{chips} {self._total_text()}" if chips else self._total_text()

    def _chip_text(self, code: int, compact: bool) -> str:
        count = self.counts.get(code, 0)
        if compact:
            known = status_symbol(code) != "?"
            return f"{status_symbol(code)}{count}" if known else f"?({code}){count}"
        return f"{status_symbol(code)} {status_name(code)} {count}"

    def _total_text(self) -> str:
        total = sum(self.counts.values())
        text = f"· {total} jobs" if total != 1 else "· 1 job"
        if not self.counts:
            text = "counting jobs…" if self.counting else "no jobs"
        if not self.text_filter:
            return text
        text += f" · /{self.text_filter}"
        return text if self.shown is None else f"{text}: {self.shown} shown"

    def show_counting(self) -> None:
        """Rows are shown before they are counted (a large first answer or history)."""
        if not self.counts:
            self.counting = True
            self._render_chips()

    def _fits(self, codes: list[int]) -> bool:
        width = self.scrollable_content_region.width
        chips = sum(cell_len(self._chip_text(code, False)) + 1 for code in codes)
        return chips + cell_len(self._total_text()) <= width

    def _codes(self) -> list[int]:
        present = [c for c in ORDER if self.counts.get(c) or c in self.active]
        extra = sorted(c for c in self.counts if c not in ORDER)
        return present + extra

    def _render_chips(self) -> None:
        if not self.is_mounted:
            return
        styles = status_styles(self.app)
        codes = self._codes()
        self.compact = not self._fits(codes)
        chips = {chip.code: chip for chip in self.query(StatusChip)}
        if list(chips) != codes:
            for chip in chips.values():
                chip.remove()
            chips = {code: StatusChip(code) for code in codes}
            self.mount_all(chips.values(), before=self.query_one(".summary-total"))
        total = self.query_one(".summary-total", Static)
        _update(total, Text(self._total_text()))
        for code in codes:
            chip = chips[code]
            label = Text()
            if self.compact:
                symbol, count = self._chip_text(code, True), str(self.counts.get(code, 0))
                label.append(symbol.removesuffix(count), style=style_for(styles, code))
                label.append(count)
            else:
                label.append(
                    f"{status_symbol(code)} {status_name(code)}", style=style_for(styles, code)
                )
                label.append(f" {self.counts.get(code, 0)}")
            _update(chip, label)
            chip.set_class(code in self.active, "-active")


def _update(widget: Static, label: Text) -> None:
    """Show `label`; lay the bar out again only if the widget's width changes (a count grew a digit).

    A chip whose text and colours did not change is not repainted at all: a poll that changes
    one count repainted every chip (at 1k jobs, growing: 235 chip paints in 40 s, 70 of them
    for the 5 chips each changed poll touched).
    """
    previous = widget.content
    if previous == label:
        return
    same_width = isinstance(previous, Text) and previous.cell_len == label.cell_len
    widget.update(label, layout=not same_width)
