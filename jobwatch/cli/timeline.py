"""`jobwatch history` for people: a job's recorded steps, each with the window it happened in.

    taxonomy-publish-9ef14040
      kind taxonomy-publish · usually 4m (p90 7m, 23 runs)
      ▶ RUNNING between 13:23:58 and 13:24:00                     run 0190a1b2…  lasted 4m10s
      · not watched from 13:25:00 to 13:40:00 (15m00s)
      ✗ FAILED between 13:28:00 and 13:42:02 (not watched in between)  run 0190a1b2…  ran 4m–18m

The words come from jobwatch.windows (windows, gaps, duration ranges) and jobwatch.progress
(typical durations); which runs count and what a run is are the history's rules. A run starts at
the first step after a finished one (or at the first step), as the history records runs. Every
string from outside goes through jobwatch.cli.output.field. Pure: the clock is an argument.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import tzinfo

from jobwatch.cli.output import JobNotes, field, shown_status
from jobwatch.durations import Typical
from jobwatch.progress import typical_phrase
from jobwatch.sanitize import cell_width
from jobwatch.store.history_reads import Transition
from jobwatch.windows import (
    DurationRange,
    Gap,
    Window,
    describe_gap,
    describe_window,
    format_duration_range,
    run_duration,
)

#: the widest the window column is padded to (a longer one pushes its line's run ID out)
MAX_WINDOW_COLUMN = 72


def header(workflow_id: str, notes: JobNotes, typical: Typical | None) -> list[str]:
    """The job's name, then what jobwatch knows of it: kind or label, typical duration, pin."""
    facts = []
    if notes.label:
        facts.append(f"label {field(notes.label)} (its kind)")
    else:
        facts.append(f"kind {field(notes.kind)}")
    usual = typical_phrase(typical)
    if usual:
        facts.append(usual)
    if notes.pinned:
        facts.append("pinned")
    return [field(workflow_id), "  " + " · ".join(facts)]


def _says_something(span: DurationRange) -> bool:
    """`at least 0s` says nothing: a range with no upper end needs a lower one."""
    return span.longest is not None or span.shortest >= 1


def _durations(steps: Sequence[Transition]) -> list[str]:
    """Per step: how long its state lasted (until the next step), and for a step that ends a
    run, how long the run took from its start. A state that lasted exactly its whole run says
    it once, on the line that ends the run."""
    out = []
    run_start: Window | None = None
    for i, step in enumerate(steps):
        over = step.status.is_terminal
        if run_start is None and not over:
            run_start = step.window
        parts = []
        if i + 1 < len(steps):
            after = steps[i + 1]
            lasted = run_duration(step.window, after.window)
            whole_run = after.status.is_terminal and run_start == step.window
            if not whole_run and _says_something(lasted):
                parts.append(f"lasted {format_duration_range(lasted)}")
        if over:
            if run_start is not None:
                ran = run_duration(run_start, step.window)
                if _says_something(ran):
                    parts.append(f"ran {format_duration_range(ran)}")
            run_start = None
        out.append("  ".join(parts))
    return out


def timeline_lines(
    workflow_id: str,
    steps: Sequence[Transition],
    *,
    notes: JobNotes,
    gaps: Sequence[Gap] = (),
    typical: Typical | None = None,
    now: float | None = None,
    tz: tzinfo | None = None,
) -> list[str]:
    """Every line `history` prints for a job: its header, then its steps oldest first with the
    gaps of its lifetime between them (each where it began)."""
    at = time.time() if now is None else now
    windows = [
        describe_window(shown_status(s.status), s.window, now=at, gaps=gaps, tz=tz) for s in steps
    ]
    width = min(MAX_WINDOW_COLUMN, max(cell_width(w) for w in windows))
    rows: list[tuple[float, str]] = []
    for step, window, lasted in zip(steps, windows, _durations(steps), strict=True):
        pad = " " * max(0, width - cell_width(window))
        line = f"  {window}{pad}  run {field(step.run_id) or '-'}"
        rows.append((step.observed_at, f"{line}  {lasted}".rstrip()))
    for gap in gaps:
        rows.append((gap.started, f"  · {describe_gap(gap, now=at, tz=tz)}"))
    rows.sort(key=lambda row: row[0])  # stable: a step and a gap at one moment keep this order
    return header(workflow_id, notes, typical) + [text for _, text in rows]
