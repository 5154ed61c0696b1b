"""Observation windows: when something happened, as far as jobwatch can know it.

The API never says when a job changed. jobwatch knows only that a change it saw at `observed_at`
(the first poll that saw the new state) happened after `not_before` (the last successful poll that
still saw the earlier state); `not_before` is None when nothing earlier was ever seen. Periods with
no successful poll at all (jobwatch not running, the API failing) are gaps.

Here live the rules (what is narrow, what is a gap) and the words for them (`FAILED between 13:28:00
and 13:28:02`, `ran 4m10s–4m12s`). Pure functions: no I/O, the clock and time zone are arguments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from jobwatch.formatting import format_duration

#: A window at most this wide is "narrow": shown as one duration rather than a range, and
#: counted for a kind's typical duration. Two polls at the default 2 s interval are 2 s apart;
#: 10 s leaves room for a slow answer or one backoff without admitting guesses.
NARROW_WINDOW_SECONDS = 10.0
#: A pause between successful polls longer than max(GAP_INTERVALS x interval, GAP_MIN_SECONDS) is
#: recorded as a gap ("not watched in between"); see gap_threshold.
GAP_INTERVALS = 3.0
GAP_MIN_SECONDS = 10.0
#: Windows at least this wide show their ends to the minute (seconds would be false precision).
MINUTES_FROM_SECONDS = 3600.0

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EN_DASH = "\u2013"


def gap_threshold(interval: float | None) -> float:
    """The longest pause between successful polls that is not a gap, for a poll interval."""
    if interval is None or not interval > 0:
        return GAP_MIN_SECONDS
    return max(GAP_INTERVALS * interval, GAP_MIN_SECONDS)


@dataclass(frozen=True, slots=True)
class Window:
    """The interval in which a change happened: after not_before, at or before observed_at."""

    not_before: float | None
    observed_at: float

    @property
    def known(self) -> bool:
        return self.not_before is not None

    @property
    def width(self) -> float | None:
        if self.not_before is None:
            return None
        return max(0.0, self.observed_at - self.not_before)

    @property
    def narrow(self) -> bool:
        width = self.width
        return width is not None and width <= NARROW_WINDOW_SECONDS


@dataclass(frozen=True, slots=True)
class Gap:
    """A period without a successful poll of a workspace: from the last one to the next one."""

    started: float
    ended: float

    def overlaps(self, start: float, end: float) -> bool:
        return self.started < end and self.ended > start


def unwatched(window: Window, gaps: Iterable[Gap]) -> bool:
    """Whether a gap falls inside the window (then nobody was watching for part of it)."""
    if window.not_before is None:
        return False
    return any(g.overlaps(window.not_before, window.observed_at) for g in gaps)


# -- clocks --------------------------------------------------------------------------------


def _clock(epoch: float, today: datetime, tz: tzinfo | None, *, seconds: bool) -> str:
    when = datetime.fromtimestamp(epoch, tz)
    time_part = f"{when.hour:02d}:{when.minute:02d}"
    if seconds:
        time_part += f":{when.second:02d}"
    if when.date() == today.date():
        return time_part
    if when.year != today.year:
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d} {time_part}"
    return f"{_MONTHS[when.month - 1]} {when.day} {time_part}"


def _span(start: float, end: float, now: float, tz: tzinfo | None) -> tuple[str, str]:
    """Both ends as clock times; the start rounded down and the end up, so that the shown
    interval always contains the true one."""
    seconds = end - start < MINUTES_FROM_SECONDS
    unit = 1 if seconds else 60
    lo = math.floor(start / unit) * unit
    hi = math.ceil(end / unit) * unit
    today = datetime.fromtimestamp(now, tz)
    return _clock(lo, today, tz, seconds=seconds), _clock(hi, today, tz, seconds=seconds)


def iso_utc(epoch: float) -> str:
    """ISO 8601 in UTC to the second, e.g. 2024-06-01T13:28:02Z (for support tickets)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- windows in words -----------------------------------------------------------------------


def describe_window(
    what: str,
    window: Window,
    *,
    now: float,
    gaps: Iterable[Gap] = (),
    tz: tzinfo | None = None,
) -> str:
    """`FAILED between 13:28:00 and 13:28:02`; `... (not watched in between)` when a gap falls
    inside; dates on the ends that are not today (in `tz`, None: local time)."""
    if window.not_before is None:
        today = datetime.fromtimestamp(now, tz)
        at = _clock(math.ceil(window.observed_at), today, tz, seconds=True)
        return f"{what} by {at} (already so when first seen)"
    start, end = _span(window.not_before, window.observed_at, now, tz)
    text = f"{what} between {start} and {end}"
    if unwatched(window, gaps):
        text += " (not watched in between)"
    return text


def describe_window_utc(what: str, window: Window, *, gaps: Iterable[Gap] = ()) -> str:
    """The support-ticket form: both ends in UTC ISO 8601, whatever the reader's time zone."""
    end = iso_utc(math.ceil(window.observed_at))
    if window.not_before is None:
        return f"{what} by {end} (already so when first seen)"
    text = f"{what} between {iso_utc(math.floor(window.not_before))} and {end}"
    if unwatched(window, gaps):
        text += " (not watched in between)"
    return text


def describe_gap(gap: Gap, *, now: float, tz: tzinfo | None = None) -> str:
    """`not watched from 02:10 to 08:45 (6h35m)`."""
    start, end = _span(gap.started, gap.ended, now, tz)
    return f"not watched from {start} to {end} ({format_duration(gap.ended - gap.started)})"


# -- durations between two windows ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DurationRange:
    """How long something took: at least `shortest`, at most `longest` (None: unknown)."""

    shortest: float
    longest: float | None

    @property
    def narrow(self) -> bool:
        return self.longest is not None and self.longest - self.shortest <= NARROW_WINDOW_SECONDS

    @property
    def middle(self) -> float:
        return self.shortest if self.longest is None else (self.shortest + self.longest) / 2


def run_duration(started: Window, ended: Window) -> DurationRange:
    """From a start window to an end window: the shortest and longest the run can have taken."""
    end_lo = ended.observed_at if ended.not_before is None else ended.not_before
    shortest = max(0.0, end_lo - started.observed_at)
    if started.not_before is None or ended.not_before is None:
        return DurationRange(shortest, None)
    return DurationRange(shortest, max(shortest, ended.observed_at - started.not_before))


def elapsed_since(started: Window, now: float) -> DurationRange:
    """How long a run that is still going has been going."""
    shortest = max(0.0, now - started.observed_at)
    if started.not_before is None:
        return DurationRange(shortest, None)
    return DurationRange(shortest, max(shortest, now - started.not_before))


def format_duration_range(span: DurationRange) -> str:
    """`4m11s` when narrow, `4m10s–4m12s` when not, `at least 4m10s` when the start is unknown."""
    if span.longest is None:
        return f"at least {format_duration(span.shortest)}"
    if span.narrow:
        return format_duration(span.middle)
    lo, hi = format_duration(span.shortest), format_duration(span.longest)
    return lo if lo == hi else f"{lo}{_EN_DASH}{hi}"
