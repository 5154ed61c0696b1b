"""The detail pane of the highlighted job: full IDs, the chain of runIds, its kind and how long
its kind usually takes, when each change happened, and a hint.

When: the API has no timestamps, so each change of the history is shown with its observation
window (jobwatch.windows: `✗ FAILED between 13:28:00 and 13:28:02`, `(not watched in between)`
when a gap of the workspace falls inside), and durations between two changes as ranges when a
window is wide (`after 4m10s–4m12s RUNNING`). Kinds and typical durations come from
jobwatch.tui.job_facts, their words from jobwatch.progress.

IDs, status names and labels come from outside: they are shown escaped (`jobwatch.sanitize`) and,
past DETAIL_ID_CELLS, cut in the middle, so a 100k-character ID costs what a short one does each
time the pane is drawn again (once a second for a running job).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from jobwatch.durations import Typical
from jobwatch.formatting import format_clock, status_symbol
from jobwatch.progress import estimate, eta_phrase, typical_phrase
from jobwatch.sanitize import visible
from jobwatch.statuses import hint as status_hint
from jobwatch.tui.job_facts import is_running, run_window
from jobwatch.tui.theming.status_style import status_styles, style_for
from jobwatch.windows import (
    Gap,
    Window,
    describe_window,
    elapsed_since,
    format_duration_range,
    run_duration,
)

#: The most cells an ID takes in the pane (5 lines of a 40-cell pane); real IDs are 20-40.
DETAIL_ID_CELLS = 200
#: the history section of a job whose history is being read (in a thread, for a few ms)
READING = "reading the history…"


def shown_id(text: str) -> str:
    """An ID or a name from outside as the pane shows it: escaped, at most DETAIL_ID_CELLS."""
    return visible(text, DETAIL_ID_CELLS)


def status_label(status) -> str:
    """ "✗ FAILED", "? PAUSED (9)": our glyph, the API's name escaped."""
    return f"{status_symbol(status)} {shown_id(status.label)}"


@dataclass(frozen=True)
class DetailFacts:
    """What the pane shows beside the job's own fields and history."""

    #: the job's kind (jobwatch.kinds); "" when unknown
    kind: str = ""
    #: its kind's typical duration; None: no counted run of the kind yet
    typical: Typical | None = None
    #: the workspace's periods without a successful poll during the job's lifetime
    gaps: Sequence[Gap] = ()


def _field(text: Text, name: str, inline: bool) -> None:
    text.append(name.ljust(12 if inline else 8), style="dim")


def _about(
    text: Text,
    row,
    transitions: Sequence,
    now: float,
    facts: DetailFacts,
    inline: bool,
    styles: dict,
) -> None:
    """The label, pin, kind, typical duration, ETA and how long the run took."""
    indent = " " * (12 if inline else 8)
    if row.label:
        _field(text, "label", inline)
        text.append(f"{shown_id(row.label)}\n", style="bold")
    if row.pinned:
        _field(text, "pinned", inline)
        text.append("yes: stays at the top (space unpins)\n")
    if facts.kind:
        _field(text, "kind", inline)
        text.append(shown_id(facts.kind))
        usual = typical_phrase(facts.typical) or "no runs of this kind yet"
        # beside the kind in a wide pane, under it in a narrow one
        text.append(f" · {usual}\n" if inline else f"\n{indent}{usual}\n", style="dim")
    started = run_window(row)
    if is_running(row):
        est = estimate(started, facts.typical, now)
        phrase = eta_phrase(est)
        if phrase:
            _field(text, "eta", inline)
            # "slower than usual" in the colour of a warning (the timed-out one's)
            slow = styles["status-timed-out"] + Style(bold=True)
            text.append(f"{phrase}\n", style=slow if est.slow else "")
    if not row.status.is_terminal:
        return
    last = transitions[-1] if transitions else None
    if row.started is not None and last is not None and last.status.code == row.status.code:
        _field(text, "ran", inline)
        text.append(f"{format_duration_range(run_duration(started, last.window))}\n")


def _history(
    text: Text, row, transitions: Sequence | None, now: float, styles: dict, width: int, gaps
):
    """One entry per change: what it became and the window it happened in, how long the state
    before lasted, and "so far" for a job still going. None: not read yet."""
    if transitions is None:
        text.append(f"{READING}\n", style="dim")
        return
    if not transitions:
        first_seen = row.first_seen
        text.append(f"{format_clock(first_seen, now)}  " if first_seen else "")
        text.append(f"{status_label(row.status)}\n", style=style_for(styles, row.status.code))
    previous = None
    for tr in transitions:
        label = status_label(tr.status)
        not_before = tr.not_before
        if not_before is None and previous is not None:
            # not recorded (a history older than windows): it changed after the earlier sighting
            not_before = previous.observed_at
        window = Window(not_before, tr.observed_at)
        said = describe_window(label, window, now=now, gaps=gaps)
        text.append(label, style=style_for(styles, tr.status.code))
        text.append(said[len(label) :])
        took = run_duration(previous.window, window) if previous is not None else None
        if took is not None and (took.longest is not None or took.shortest > 0):
            assert previous is not None
            lasted = f"after {format_duration_range(took)} {shown_id(previous.status.label)}"
            if width and cell_len(f"{said}  {lasted}") > width:
                text.append(f"\n          {lasted}", style="dim")
            else:
                text.append(f"  {lasted}", style="dim")
        if previous is not None and tr.run_id != previous.run_id:
            text.append(f"\n          new runId {shown_id(tr.run_id)}", style="dim")
        text.append("\n")
        previous = tr
    if previous is not None and not previous.status.is_terminal:
        so_far = format_duration_range(elapsed_since(previous.window, now))
        text.append(f"          {so_far} so far\n", style="dim")


def render_detail(
    row,
    *,
    transitions: Sequence | None,
    run_chain: Sequence[str],
    now: float,
    styles: dict,
    inline: bool = False,
    width: int = 0,
    facts: DetailFacts | None = None,
) -> Text:
    """The pane's text for one job row (a JobRow) and its history from the store (None: not
    read yet, jobwatch.tui.screens.job_detail).

    `inline` puts each label on the line of its value (for a wide, short pane). A change takes
    one line ("✗ FAILED between 10:20:00 and 10:20:01  after 4s RUNNING") when it fits `width`
    cells (0: always); otherwise how long the previous state lasted goes on a line of its own.
    """
    facts = facts or DetailFacts()
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
    _about(text, row, transitions or (), now, facts, inline, styles)
    earlier = [r for r in run_chain if r and r != row.run_id]
    if earlier:
        text.append("\nearlier runIds (continued as new)\n", style="dim")
        for run_id in earlier:
            text.append(f"{shown_id(run_id)}\n")
    text.append("\nhistory\n", style="dim")
    _history(text, row, transitions, now, styles, width, facts.gaps)
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

    @property
    def reading(self) -> bool:
        """The job's history is not shown yet (it is being read)."""
        return self._shown is not None and self._shown[1] is None

    @property
    def transitions(self) -> Sequence | None:
        """The history shown for `workflow_id` (None: none shown, or being read)."""
        return None if self._shown is None else self._shown[1]

    def show(
        self,
        row,
        *,
        transitions: Sequence | None,
        run_chain: Sequence[str],
        now: float,
        facts: DetailFacts | None = None,
    ) -> None:
        if row is None:
            self.clear()
            return
        self.workflow_id = row.workflow_id
        self._shown = (row, transitions, run_chain, now, facts)
        width = self.scrollable_content_region.width
        text = render_detail(
            row,
            transitions=transitions,
            run_chain=run_chain,
            now=now,
            styles=status_styles(self.app),
            inline=self.size.width >= 60,
            width=width,
            facts=facts,
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
            row, transitions, run_chain, _, facts = self._shown
            self.show(row, transitions=transitions, run_chain=run_chain, now=now, facts=facts)

    def on_resize(self) -> None:
        if self._shown is not None:
            row, transitions, run_chain, now, facts = self._shown
            self.show(row, transitions=transitions, run_chain=run_chain, now=now, facts=facts)

    def clear(self, message: str = "No job selected.") -> None:
        self.workflow_id = None
        self._shown = None
        self._text = None
        self.plain = message
        self.query_one("#detail-body", Static).update(message)
