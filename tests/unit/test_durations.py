"""jobwatch.durations: which runs count, median and p90 per kind, time left, slower than usual."""

from __future__ import annotations

import pytest

from jobwatch.durations import (
    MIN_RUNS_FOR_USUAL,
    FinishedRun,
    Typical,
    percentile,
    slower_than_usual,
    typical_durations,
    typical_remaining,
)
from jobwatch.kinds import Kinds
from jobwatch.windows import NARROW_WINDOW_SECONDS, Window


def run(wid: str, seconds: float, *, code: int = 2, start_width=2.0, end_width=2.0):
    """A run whose middle duration is `seconds`, with windows of the given widths."""
    if start_width is None:
        start, middle = Window(None, 1000.0), 1000.0
    else:
        start, middle = Window(1000.0 - start_width, 1000.0), 1000.0 - start_width / 2
    end_at = middle + seconds + end_width / 2
    return FinishedRun(wid, start, Window(end_at - end_width, end_at), code)


def test_percentile_interpolates_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.9) == pytest.approx(7.6)
    assert percentile([5.0], 0.9) == 5.0
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_only_completed_runs_with_two_narrow_windows_count():
    assert run("a-1", 60).counts
    assert not run("a-1", 60, code=3).counts  # failed: says nothing of the usual
    assert not run("a-1", 60, start_width=NARROW_WINDOW_SECONDS + 1).counts
    assert not run("a-1", 60, end_width=NARROW_WINDOW_SECONDS + 1).counts
    assert not run("a-1", 60, start_width=None).counts  # first seen already running


def test_typical_durations_per_kind():
    runs = [run(f"taxonomy-publish-{i:08x}", s) for i, s in enumerate([60, 70, 80, 90, 300])]
    runs += [run("role-create-1", 5), run("role-create-2", 7)]
    runs += [run("role-create-3", 999, code=3), run("role-create-4", 999, end_width=60)]
    typical = typical_durations(runs, Kinds().kind)
    assert set(typical) == {"taxonomy-publish", "role-create"}
    tax = typical["taxonomy-publish"]
    assert tax.runs == 5
    assert tax.median == pytest.approx(80.0, abs=0.01)
    assert tax.p90 == pytest.approx(216.0, abs=0.01)
    assert typical["role-create"] == Typical(pytest.approx(6.0), pytest.approx(6.8), 2)


def test_time_left_is_the_median_minus_what_has_run():
    typical = Typical(median=240.0, p90=420.0, runs=23)
    assert typical_remaining(typical, 100.0) == 140.0
    assert typical_remaining(typical, 300.0) == 0.0  # due: never negative
    assert typical_remaining(None, 100.0) is None
    assert typical_remaining(Typical(0.0, 0.0, 0), 1.0) is None


def test_slower_than_usual_needs_enough_runs_and_more_than_p90():
    enough = Typical(median=240.0, p90=420.0, runs=MIN_RUNS_FOR_USUAL)
    assert slower_than_usual(enough, 421.0)
    assert not slower_than_usual(enough, 420.0)
    few = Typical(median=240.0, p90=420.0, runs=MIN_RUNS_FOR_USUAL - 1)
    assert not slower_than_usual(few, 10_000.0)
    assert not slower_than_usual(None, 10_000.0)
