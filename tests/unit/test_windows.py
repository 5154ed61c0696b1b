"""jobwatch.windows: what is narrow, what is a gap, and the words for windows and durations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobwatch.windows import (
    GAP_MIN_SECONDS,
    NARROW_WINDOW_SECONDS,
    DurationRange,
    Gap,
    Window,
    describe_gap,
    describe_window,
    describe_window_utc,
    elapsed_since,
    format_duration_range,
    gap_threshold,
    iso_utc,
    run_duration,
    unwatched,
)

# A fixed zone two hours east of UTC: the words must not depend on the machine's TZ.
TZ = timezone(timedelta(hours=2))


def at(text: str) -> float:
    """An epoch from "2024-06-01 13:28:02" read in TZ."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ).timestamp()


NOW = at("2024-06-01 15:00:00")


def test_gap_threshold_is_three_intervals_but_never_under_the_minimum():
    assert gap_threshold(2.0) == GAP_MIN_SECONDS == 10.0
    assert gap_threshold(5.0) == 15.0
    assert gap_threshold(None) == GAP_MIN_SECONDS
    assert gap_threshold(0.0) == GAP_MIN_SECONDS


def test_window_width_and_narrowness():
    assert Window(10.0, 12.0).width == 2.0 and Window(10.0, 12.0).narrow
    assert Window(0.0, NARROW_WINDOW_SECONDS).narrow
    assert not Window(0.0, NARROW_WINDOW_SECONDS + 0.5).narrow
    unknown = Window(None, 12.0)
    assert unknown.width is None and not unknown.narrow and not unknown.known


def test_gaps_overlap_a_window_only_when_they_fall_inside_it():
    gaps = [Gap(100.0, 200.0)]
    assert unwatched(Window(50.0, 150.0), gaps)
    assert unwatched(Window(120.0, 130.0), gaps)
    assert not unwatched(Window(200.0, 202.0), gaps)  # starts where the gap ended
    assert not unwatched(Window(98.0, 100.0), gaps)  # ends where the gap started
    assert not unwatched(Window(None, 150.0), gaps)


def test_narrow_window_today_shows_seconds():
    window = Window(at("2024-06-01 13:28:00"), at("2024-06-01 13:28:02"))
    assert (
        describe_window("FAILED", window, now=NOW, tz=TZ) == "FAILED between 13:28:00 and 13:28:02"
    )


def test_fractions_round_outwards_so_the_true_window_stays_inside():
    window = Window(at("2024-06-01 13:28:00") + 0.7, at("2024-06-01 13:28:02") + 0.2)
    assert (
        describe_window("FAILED", window, now=NOW, tz=TZ) == "FAILED between 13:28:00 and 13:28:03"
    )


def test_wide_window_with_a_gap_says_it_was_not_watched():
    window = Window(at("2024-06-01 02:10:40"), at("2024-06-01 08:44:20"))
    gaps = [Gap(at("2024-06-01 02:10:40"), at("2024-06-01 08:44:20"))]
    assert (
        describe_window("FAILED", window, now=NOW, gaps=gaps, tz=TZ)
        == "FAILED between 02:10 and 08:45 (not watched in between)"
    )
    # the same window watched throughout (e.g. the job was not in the answer): no such words
    assert describe_window("FAILED", window, now=NOW, tz=TZ) == "FAILED between 02:10 and 08:45"


def test_dates_appear_on_ends_that_are_not_today():
    window = Window(at("2024-05-31 23:50:00"), at("2024-06-01 08:45:00"))
    assert (
        describe_window("COMPLETED", window, now=NOW, tz=TZ)
        == "COMPLETED between May 31 23:50 and 08:45"
    )
    old = Window(at("2023-12-31 23:59:58"), at("2024-01-01 00:00:01"))
    assert (
        describe_window("FAILED", old, now=NOW, tz=TZ)
        == "FAILED between 2023-12-31 23:59:58 and Jan 1 00:00:01"
    )


def test_a_state_first_seen_as_it_is_has_no_start():
    window = Window(None, at("2024-06-01 13:28:02"))
    assert (
        describe_window("FAILED", window, now=NOW, tz=TZ)
        == "FAILED by 13:28:02 (already so when first seen)"
    )
    assert (
        describe_window_utc("FAILED", window)
        == "FAILED by 2024-06-01T11:28:02Z (already so when first seen)"
    )


def test_support_form_is_utc_iso_whatever_the_zone():
    window = Window(at("2024-06-01 13:28:00"), at("2024-06-01 13:28:02"))
    assert (
        describe_window_utc("FAILED", window)
        == "FAILED between 2024-06-01T11:28:00Z and 2024-06-01T11:28:02Z"
    )
    gaps = [Gap(at("2024-06-01 13:28:00") + 0.5, at("2024-06-01 13:28:01"))]
    assert describe_window_utc("FAILED", window, gaps=gaps).endswith("(not watched in between)")
    assert iso_utc(0) == "1970-01-01T00:00:00Z"


def test_gap_in_words():
    gap = Gap(at("2024-06-01 02:10:00"), at("2024-06-01 08:45:00"))
    assert describe_gap(gap, now=NOW, tz=TZ) == "not watched from 02:10 to 08:45 (6h35m)"


def test_run_duration_is_a_range_from_two_windows():
    span = run_duration(Window(100.0, 102.0), Window(350.0, 352.0))
    assert span == DurationRange(248.0, 252.0) and span.narrow and span.middle == 250.0
    assert format_duration_range(span) == "4m10s"
    wide = run_duration(Window(100.0, 102.0), Window(350.0, 400.0))
    assert not wide.narrow
    assert format_duration_range(wide) == "4m08s\u20135m00s"


def test_run_duration_without_a_known_start_is_a_lower_bound():
    span = run_duration(Window(None, 100.0), Window(350.0, 352.0))
    assert span == DurationRange(250.0, None)
    assert format_duration_range(span) == "at least 4m10s"


def test_elapsed_since_a_start_window():
    assert elapsed_since(Window(100.0, 102.0), 352.0) == DurationRange(250.0, 252.0)
    assert elapsed_since(Window(None, 102.0), 352.0) == DurationRange(250.0, None)
    assert elapsed_since(Window(100.0, 102.0), 50.0) == DurationRange(0.0, 0.0)


@pytest.mark.parametrize("hours", [-11, -5, 0, 5.5, 13])
def test_words_follow_the_given_zone_not_the_machines(hours):
    tz = timezone(timedelta(hours=hours))
    start = datetime(2024, 6, 1, 12, 0, 0, tzinfo=tz).timestamp()
    window = Window(start, start + 2)
    text = describe_window("FAILED", window, now=start + 60, tz=tz)
    assert text == "FAILED between 12:00:00 and 12:00:02"
