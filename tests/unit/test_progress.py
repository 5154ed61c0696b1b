"""Words for typical durations, time left, "slower than usual" and the heartbeat line."""

from __future__ import annotations

import pytest

from jobwatch.durations import MIN_RUNS_FOR_USUAL, Typical
from jobwatch.progress import (
    estimate,
    eta_cell,
    eta_phrase,
    heartbeat_line,
    rough_duration,
    typical_phrase,
)
from jobwatch.windows import Window

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0s"),
        (0, "0s"),
        (44.6, "45s"),
        (59.4, "59s"),
        (59.6, "1m"),
        (243, "4m"),
        (270, "5m"),
        (3569, "59m"),
        (3571, "1h00m"),
        (3900, "1h05m"),
        (2 * 86400 + 3 * 3600, "2d03h"),
    ],
)
def test_rough_duration(seconds, text):
    assert rough_duration(seconds) == text


def test_typical_phrase():
    assert typical_phrase(None) == ""
    assert typical_phrase(Typical(0, 0, 0)) == ""
    assert typical_phrase(Typical(243, 243, 1)) == "took 4m (1 run)"
    assert typical_phrase(Typical(243, 400, 3)) == "took 4m (median of 3 runs)"
    assert typical_phrase(Typical(243, 421, 23)) == "usually 4m (p90 7m, 23 runs)"
    assert typical_phrase(Typical(30, 40, MIN_RUNS_FOR_USUAL)).startswith("usually 30s")


USUAL = Typical(240, 420, 23)


def started(seconds_ago: float, width: float | None = 2.0) -> Window:
    observed = NOW - seconds_ago
    return Window(None if width is None else observed - width, observed)


def test_eta_ahead_due_and_slow():
    ahead = estimate(started(60), USUAL, NOW)
    assert ahead.remaining == 180 and not ahead.slow
    assert eta_cell(ahead) == "~3m"
    assert eta_phrase(ahead) == "about 3m left (usually 4m)"

    due = estimate(started(300), USUAL, NOW)
    assert due.remaining == 0 and not due.slow
    assert eta_cell(due) == "due"
    assert eta_phrase(due) == "due: running 5m01s, usually 4m"

    late = estimate(started(724), USUAL, NOW)
    assert late.slow
    assert eta_cell(late) == "slow"
    assert eta_phrase(late) == "slower than usual: running 12m05s, usually 4m (p90 7m)"


def test_no_runs_no_estimate():
    none = estimate(started(60), None, NOW)
    assert none.remaining is None and eta_cell(none) == "" and eta_phrase(none) == ""


def test_too_few_runs_are_never_slow():
    few = estimate(started(10_000), Typical(240, 420, MIN_RUNS_FOR_USUAL - 1), NOW)
    assert not few.slow and eta_cell(few) == "due"


def test_only_the_time_it_surely_ran_counts():
    # first seen at NOW-400, but it may have started up to an hour before: not "slow" by guess
    wide = estimate(started(400, width=3600), USUAL, NOW)
    assert not wide.slow and eta_cell(wide) == "due"
    assert "running 6m40s\u20131h06m" in eta_phrase(wide)


def test_heartbeat_line():
    running = [
        ("role-create-42", started(30)),
        ("taxonomy-publish-9ef14040", started(724)),
        ("cascade-delete-knowledge-5c1fb80b", started(200)),
    ]
    assert heartbeat_line(running, NOW) == (
        "still running: 3 jobs, longest taxonomy-publish-9ef14040 for 12m05s"
    )
    assert heartbeat_line(running[:1], NOW) == "still running: 1 job, role-create-42 for 31s"
    assert heartbeat_line([], NOW) == "still running: nothing"
    assert heartbeat_line([], NOW, not_listed=2) == "still running: 2 not listed yet"


def test_heartbeat_of_a_job_first_seen_running():
    line = heartbeat_line([("a", started(90, width=None))], NOW, not_listed=1)
    assert line == "still running: 1 job, a for at least 1m30s; 1 not listed yet"


def test_heartbeat_marks_the_longest_when_slow():
    line = heartbeat_line([("taxonomy-publish-1", started(724))], NOW, typical_of=lambda wid: USUAL)
    assert line.endswith("for 12m05s (slower than usual)")
    line = heartbeat_line([("taxonomy-publish-1", started(100))], NOW, typical_of=lambda wid: USUAL)
    assert "slower" not in line


def test_heartbeat_shows_hostile_ids_inert_and_bounded():
    line = heartbeat_line([("x\x1b]0;pwned\x07" + "a" * 500, started(5))], NOW)
    assert "\x1b" not in line and "\x07" not in line and "\\x1b]0;pwned" in line
    assert len(line) < 120
