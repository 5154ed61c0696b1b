"""Typical durations per job kind, from the runs the history saw start and end.

Only runs that completed and whose start and end windows are both narrow count (a run first seen
already running, or one that ended while nobody watched, says little about how long it took).
From those, per kind: the median, the 90th percentile and how many runs; for a running job, the
typical time left and whether it is slower than usual (longer than its kind's p90, once the kind
has at least MIN_RUNS_FOR_USUAL runs). Pure functions: the history hands in the runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jobwatch.statuses import COMPLETED_CODE
from jobwatch.windows import Window, run_duration

#: runs a kind needs before a job of it can be "slower than usual" (fewer is no "usual")
MIN_RUNS_FOR_USUAL = 5
#: the outcome of the runs that count: a failure often comes early and says nothing of the usual
COUNTED_CODE = COMPLETED_CODE


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """One run of a job from the window it started in to the window it ended in."""

    workflow_id: str
    started: Window
    ended: Window
    #: the status code it ended with
    code: int

    @property
    def counts(self) -> bool:
        """Whether it counts for its kind's typical duration. The history's query
        (history_reads.counted_durations) applies the same rule in SQL, from the same constants."""
        return self.code == COUNTED_CODE and self.started.narrow and self.ended.narrow

    @property
    def seconds(self) -> float:
        return run_duration(self.started, self.ended).middle


@dataclass(frozen=True, slots=True)
class Typical:
    """How long the counted runs of one kind took."""

    median: float
    p90: float
    runs: int


def percentile(ordered: list[float], q: float) -> float:
    """The q-th quantile (0..1) of sorted values, linearly interpolated (numpy's default)."""
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def typical_durations(
    runs: Iterable[FinishedRun], kind_of: Callable[[str], str]
) -> dict[str, Typical]:
    """Per kind (kind_of(workflowId)), the median, p90 and count of the runs that count."""
    return typical_from_samples(((r.workflow_id, r.seconds) for r in runs if r.counts), kind_of)


def typical_from_samples(
    samples: Iterable[tuple[str, float]], kind_of: Callable[[str], str]
) -> dict[str, Typical]:
    """Per kind, from (workflowId, seconds) of runs that count."""
    by_kind: defaultdict[str, list[float]] = defaultdict(list)
    for wid, seconds in samples:
        by_kind[kind_of(wid)].append(seconds)
    out: dict[str, Typical] = {}
    for kind, values in by_kind.items():
        values.sort()
        out[kind] = Typical(percentile(values, 0.5), percentile(values, 0.9), len(values))
    return out


def typical_remaining(typical: Typical | None, elapsed: float) -> float | None:
    """Seconds a job that has run `elapsed` typically still needs (0: it is due); None: no runs.

    `elapsed` is the shortest the job can have been running (jobwatch.windows.elapsed_since).
    """
    if typical is None or typical.runs == 0:
        return None
    return max(0.0, typical.median - elapsed)


def slower_than_usual(typical: Typical | None, elapsed: float) -> bool:
    """Whether a job that has surely run `elapsed` seconds is past its kind's p90."""
    return typical is not None and typical.runs >= MIN_RUNS_FOR_USUAL and elapsed > typical.p90
