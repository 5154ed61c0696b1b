"""The detail pane of the highlighted job: full IDs, the chain of runIds, the status history and a hint.

IDs and status names come from the API: they are shown escaped (`jobwatch.sanitize`) and, past
DETAIL_ID_CELLS, cut in the middle, so a 100k-character ID costs what a short one does each time
the pane is drawn again (once a second for a running job).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from jobwatch.formatting import format_clock, format_duration, status_symbol
from jobwatch.sanitize import visible
from jobwatch.statuses import hint as status_hint
from jobwatch.tui.theming.status_style import status_styles, style_for

#: The most cells an ID takes in the pane (5 lines of a 40-cell pane); real IDs are 20-40.
DETAIL_ID_CELLS = 200


def shown_id(text: str) -> str:
    """An ID or a name from outside as the pane shows it: escaped, at most DETAIL_ID_CELLS."""
    return visible(text, DETAIL_ID_CELLS)


def status_label(status) -> str:
    """ "✗ FAILED", "? PAUSED (9)": our glyph, the API's name escaped."""
    return f"{status_symbol(status)} {shown_id(status.label)}"


def render_detail(
    row,
    *,
    transitions: Sequence,
    run_chain: Sequence[str],
    now: float,
    styles: dict,
    inline: bool = False,
    width: int = 0,
) -> Text:
    """The pane's text for one job row (a JobRow) and its history from the store.

    `inline` puts each label on the line of its value (for a wide, short pane). A transition takes
    one line ("10:20:01  ✗ FAILED  after 4s RUNNING") when it fits `width` cells (0: always);
    otherwise how long the previous state lasted goes on an indented line of its own.
    """
    status = row.status
    style = style_for(styles, status.code)
    text = Text()
    sep = "  " if inline else "\n"
    text.append(f"workflowId{sep}", style="dim")
    text.append(f"{shown_id(row.workflow_id)}\n")
    text.append(f"runId{'       ' if inline else sep}", style="dim")
    text.append(f"{shown_id(row.run_id) or 'unknown'}\n")
    text.append("status      " if inline else "status  ", style="dim")
    text.append(status_label(status), style=style)
    text.append(f"  (code {status.code})\n")
    earlier = [r for r in run_chain if r and r != row.run_id]
    if earlier:
        text.append("\nearlier runIds (continued as new)\n", style="dim")
        for run_id in earlier:
            text.append(f"{shown_id(run_id)}\n")
    text.append("\nhistory\n", style="dim")
    if not transitions:
        first_seen = row.first_seen
        text.append(f"{format_clock(first_seen, now)}  " if first_seen else "")
        text.append(f"{status_label(status)}\n", style=style)
    previous = None
    for tr in transitions:
        text.append(f"{format_clock(tr.observed_at, now)}  ")
        text.append(status_label(tr.status), style=style_for(styles, tr.status.code))
        if previous is not None:
            clock = format_clock(tr.observed_at, now)
            head = f"{clock}  {status_label(tr.status)}"
            lasted = f"after {format_duration(tr.observed_at - previous.observed_at)}"
            lasted += f" {shown_id(previous.status.label)}"
            if width and cell_len(f"{head}  {lasted}") > width:
                text.append(f"\n          {lasted}", style="dim")
            else:
                text.append(f"  {lasted}", style="dim")
        if previous is not None and tr.run_id != previous.run_id:
            text.append(f"\n          new runId {shown_id(tr.run_id)}", style="dim")
        text.append("\n")
        previous = tr
    if previous is not None and not previous.status.is_terminal:
        text.append(
            f"          {format_duration(now - previous.observed_at)} so far\n", style="dim"
        )
    text.append("\n")
    text.append(status_hint(status.code), style="italic")
    return text


class DetailPane(VerticalScroll, can_focus=True):
    """Follows the table's cursor; focus it (enter/tab) to scroll a long history."""

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; border-left: tall $panel-lighten-1; }
    DetailPane:focus { border-left: tall $accent; }
    DetailPane > #detail-body { width: 1fr; min-height: 100%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.workflow_id: str | None = None
        self.plain = ""
        self._shown: tuple | None = None
        self._text: Text | None = None

    def compose(self):
        yield Static("No job selected.", id="detail-body")

    def show(self, row, *, transitions: Sequence, run_chain: Sequence[str], now: float) -> None:
        if row is None:
            self.clear()
            return
        self.workflow_id = row.workflow_id
        self._shown = (row, transitions, run_chain, now)
        width = self.scrollable_content_region.width
        text = render_detail(
            row,
            transitions=transitions,
            run_chain=run_chain,
            now=now,
            styles=status_styles(self.app),
            inline=self.size.width >= 60,
            width=width,
        )
        if text == self._text:
            return  # the once-a-second refresh of a job whose "so far" did not change
        self._text = text
        self.plain = text.plain
        body = self.query_one("#detail-body", Static)
        body.update(text, layout=False)
        # The body is at least as tall as the pane: a text that still fits the pane (or wraps to
        # as many lines as the last one) keeps the body's size, and only the body is repainted.
        width, height = body.content_region.width, body.content_region.height
        lines = body.get_content_height(self.size, self.size, width) if width else 0
        if not width or max(lines, self.scrollable_content_region.height) != height:
            body.refresh(layout=True)

    def tick(self, now: float) -> None:
        """Advance the shown job's "so far" to `now` from what was shown (no history read)."""
        if self._shown is not None:
            row, transitions, run_chain, _ = self._shown
            self.show(row, transitions=transitions, run_chain=run_chain, now=now)

    def on_resize(self) -> None:
        if self._shown is not None:
            row, transitions, run_chain, now = self._shown
            self.show(row, transitions=transitions, run_chain=run_chain, now=now)

    def clear(self, message: str = "No job selected.") -> None:
        self.workflow_id = None
        self._shown = None
        self._text = None
        self.plain = message
        self.query_one("#detail-body", Static).update(message)
