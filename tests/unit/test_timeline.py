"""`jobwatch history`'s lines (jobwatch.cli.timeline) for fixed windows, clock and time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from jobwatch.cli.output import JobNotes
from jobwatch.cli.timeline import timeline_lines
from jobwatch.durations import Typical
from jobwatch.models import Status
from jobwatch.store.history_reads import Transition
from jobwatch.windows import Gap

RUNNING, COMPLETED, FAILED = Status(1, "RUNNING"), Status(2, "COMPLETED"), Status(3, "FAILED")
CONTINUED = Status(6, "CONTINUED_AS_NEW")


def at(hh: int, mm: int, ss: float = 0, day: int = 1) -> float:
    return datetime(2024, 6, day, hh, mm, 0, tzinfo=UTC).timestamp() + ss


NOW = at(18, 0)


def lines(steps, **kw):
    kw.setdefault("notes", JobNotes("taxonomy-publish"))
    return timeline_lines("taxonomy-publish-9ef14040", steps, now=NOW, tz=UTC, **kw)


def test_narrow_windows_and_a_run_that_ended_in_them():
    steps = [
        Transition(RUNNING, "r1", at(13, 24, 2), at(13, 24, 0)),
        Transition(COMPLETED, "r1", at(13, 28, 13), at(13, 28, 11)),
    ]
    typical = Typical(median=240.0, p90=420.0, runs=23)
    assert lines(steps, typical=typical) == [
        "taxonomy-publish-9ef14040",
        "  kind taxonomy-publish · usually 4m (p90 7m, 23 runs)",
        "  ▶ RUNNING between 13:24:00 and 13:24:02    run r1",
        "  ✓ COMPLETED between 13:28:11 and 13:28:13  run r1  ran 4m11s",  # 4m09s-4m13s: narrow
    ]


def test_a_night_without_polls_is_a_wide_window_and_a_gap():
    gap = Gap(at(2, 10), at(8, 45))
    steps = [
        Transition(RUNNING, "r1", at(2, 5, 2), at(2, 5, 0)),
        Transition(FAILED, "r1", at(8, 45), at(2, 10)),
    ]
    out = lines(steps, gaps=[gap])
    assert out[2:] == [
        "  ▶ RUNNING between 02:05:00 and 02:05:02                    run r1",
        "  · not watched from 02:10 to 08:45 (6h35m)",
        "  ✗ FAILED between 02:10 and 08:45 (not watched in between)  run r1  ran 4m58s–6h40m",
    ]


def test_a_wide_end_window_is_a_duration_range():
    steps = [
        Transition(RUNNING, "r1", at(13, 24, 1), at(13, 24, 0)),
        Transition(COMPLETED, "r1", at(13, 28, 13), at(13, 28, 11) - 30),
    ]
    assert lines(steps)[-1].endswith("ran 3m40s–4m13s")


def test_dates_when_not_today_and_unknown_starts():
    steps = [
        Transition(RUNNING, "r1", at(23, 59, 30) - 86400, None),  # May 31
        Transition(CONTINUED, "r2", at(0, 5, day=1), at(0, 4, 58, day=1)),
        Transition(COMPLETED, "r2", at(0, 9, day=1), at(0, 8, 59, day=1)),
    ]
    out = lines(steps)
    assert out[2].startswith("  ▶ RUNNING by May 31 23:59:30 (already so when first seen)")
    assert "lasted at least 5m28s" in out[2]
    assert out[3].startswith("  ↻ CONTINUED_AS_NEW between 00:04:58 and 00:05:00")
    assert out[3].endswith("run r2  lasted 4m00s")  # 3m59s-4m02s: narrow, one value
    assert out[4].endswith("ran at least 9m29s")  # from a start nobody saw


def test_label_and_pin_in_the_header_escaped():
    steps = [Transition(FAILED, "r\x1b]0;x\x07", at(9, 0), None)]
    notes = JobNotes("nightly \u202epublish", "nightly \u202epublish", True)
    out = lines(steps, notes=notes)
    assert out[1] == "  label nightly \\u202epublish (its kind) · pinned"
    assert "\x1b" not in "".join(out) and "run r\\x1b]0;x\\x07" in out[2]
