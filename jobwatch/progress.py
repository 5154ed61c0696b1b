"""How far along running jobs are, in words: typical durations, time left, "slower than usual",
and the `wait --heartbeat` line.

    typical_phrase   "usually 4m (p90 7m, 23 runs)"; "took 4m (median of 3 runs)"
    estimate         for a running job: how long it has surely run, the typical time left, slow?
    eta_cell         the ETA column: "~3m", "due", "slow", "" (no runs of its kind yet)
    eta_phrase       the detail pane: "about 3m left (usually 4m)", "slower than usual: ..."
    heartbeat_line   "still running: 3 jobs, longest taxonomy-publish-9ef14040 for 12m04s"

The numbers come from jobwatch.durations (which runs count, the median and p90, when a job is
slower than usual) and jobwatch.windows (how long a run can have taken); here are only words.
Typical durations are rounded (`rough_duration`): a median of 4m03s is "4m", since runs of a
kind vary by more than that. Pure functions; every workflowId goes through sanitize.visible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jobwatch.durations import MIN_RUNS_FOR_USUAL, Typical, slower_than_usual, typical_remaining
from jobwatch.sanitize import visible
from jobwatch.windows import DurationRange, Window, elapsed_since, format_duration_range

#: cells of a workflowId in the heartbeat line (a CI log line stays readable)
HEARTBEAT_ID_CELLS = 60


def rough_duration(seconds: float) -> str:
    """A typical duration, rounded: 45s, 4m, 12m, 1h05m, 2d03h (minutes under an hour)."""
    s = int(seconds + 0.5) if seconds > 0 else 0  # half up (round() goes to even: 4.5 -> 4)
    if s < 60:
        return f"{s}s"
    minutes = int(s / 60 + 0.5)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def typical_phrase(typical: Typical | None) -> str:
    """How long a kind's counted runs take; "" with none.

    With fewer than MIN_RUNS_FOR_USUAL runs there is no "usual" yet (and no "slower than
    usual"): the phrase says what they took instead.
    """
    if typical is None or typical.runs == 0:
        return ""
    median = rough_duration(typical.median)
    if typical.runs < MIN_RUNS_FOR_USUAL:
        if typical.runs == 1:
            return f"took {median} (1 run)"
        return f"took {median} (median of {typical.runs} runs)"
    return f"usually {median} (p90 {rough_duration(typical.p90)}, {_runs(typical.runs)})"


@dataclass(frozen=True, slots=True)
class Estimate:
    """A running job against its kind's typical duration."""

    elapsed: DurationRange
    typical: Typical | None
    #: typical seconds left (0: due); None: no runs of its kind
    remaining: float | None
    slow: bool


def estimate(started: Window, typical: Typical | None, now: float) -> Estimate:
    """Where a job that started in `started` stands at `now`; only the time it has surely run
    (the shortest) counts, so a wide start window never makes a job "slow" by guess."""
    elapsed = elapsed_since(started, now)
    return Estimate(
        elapsed,
        typical,
        typical_remaining(typical, elapsed.shortest),
        slower_than_usual(typical, elapsed.shortest),
    )


def eta_cell(est: Estimate) -> str:
    """The ETA column: "~3m" left, "due" (past the median), "slow" (past the p90), or ""."""
    if est.slow:
        return "slow"
    if est.remaining is None:
        return ""
    if est.remaining <= 0:
        return "due"
    return f"~{rough_duration(est.remaining)}"


def eta_phrase(est: Estimate) -> str:
    """The detail pane's line about time left; "" with no runs of its kind."""
    if est.typical is None or est.remaining is None:
        return ""
    usual = rough_duration(est.typical.median)
    if est.slow:
        return (
            f"slower than usual: running {format_duration_range(est.elapsed)}, "
            f"usually {usual} (p90 {rough_duration(est.typical.p90)})"
        )
    if est.remaining <= 0:
        return f"due: running {format_duration_range(est.elapsed)}, usually {usual}"
    return f"about {rough_duration(est.remaining)} left (usually {usual})"


def heartbeat_line(
    running: Sequence[tuple[str, Window]],
    now: float,
    *,
    not_listed: int = 0,
    typical_of: Callable[[str], Typical | None] | None = None,
) -> str:
    """`wait --heartbeat`: what is still running and the longest of it, e.g.
    "still running: 3 jobs, longest taxonomy-publish-9ef14040 for 12m04s".

    `running` holds (workflowId, the window its run started in); the longest is the one that has
    surely run longest. `not_listed` counts IDs the API has not listed yet; `typical_of` (a
    workflowId's kind's typical duration) adds "(slower than usual)" to the longest.
    """
    parts = []
    if running:
        spans = [(elapsed_since(started, now), wid) for wid, started in running]
        longest, wid = max(spans, key=lambda item: item[0].shortest)
        count = f"{len(running)} job" if len(running) == 1 else f"{len(running)} jobs"
        which = "" if len(running) == 1 else "longest "
        text = f"{count}, {which}{visible(wid, HEARTBEAT_ID_CELLS)} for "
        text += format_duration_range(longest)
        if typical_of is not None and slower_than_usual(typical_of(wid), longest.shortest):
            text += " (slower than usual)"
        parts.append(text)
    if not_listed:
        parts.append(f"{not_listed} not listed yet")
    return "still running: " + ("; ".join(parts) if parts else "nothing")
