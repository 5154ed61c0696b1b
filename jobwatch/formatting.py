"""Plain-text formatting shared by the CLI and the dashboard: durations, ages, clocks, run IDs, status glyphs.

No Textual import here; every glyph is a single terminal cell (rich.cells.cell_len == 1).
"""

from __future__ import annotations

import time
from datetime import datetime, tzinfo

from jobwatch import statuses
from jobwatch.models import Status

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_duration(seconds: float) -> str:
    """Compact duration with the two most significant units: 0s, 45s, 3m12s, 1h02m, 2d03h."""
    s = int(seconds) if seconds > 0 else 0
    if s < 60:
        return f"{s}s"
    minutes, s = divmod(s, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_age(seconds: float) -> str:
    """How long ago something happened, with the coarsest unit that fits: 3s ago, 5m ago, 2h ago, 3d ago."""
    s = int(seconds) if seconds > 0 else 0
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h ago"
    return f"{s // 86400}d ago"


def format_clock(epoch: float, now: float | None = None, tz: tzinfo | None = None) -> str:
    """Wall-clock time of `epoch`: "14:03:12" on the same day as `now`, "Nov 27 14:03" otherwise.

    A different year shows the date only ("2023-11-27"). `tz` None means local time.
    """
    when = datetime.fromtimestamp(epoch, tz)
    today = datetime.fromtimestamp(time.time() if now is None else now, tz)
    if when.date() == today.date():
        return f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
    if when.year != today.year:
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
    return f"{_MONTHS[when.month - 1]} {when.day:2d} {when.hour:02d}:{when.minute:02d}"


def format_timestamp(epoch: float, now: float | None = None, tz: tzinfo | None = None) -> str:
    """A recorded moment to the second, with its date unless it is today (`history`):
    "14:03:12", "Nov 27 14:03:12", "2023-11-27 14:03:12". `tz` None means local time."""
    when = datetime.fromtimestamp(epoch, tz)
    today = datetime.fromtimestamp(time.time() if now is None else now, tz)
    clock = f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
    if when.date() == today.date():
        return clock
    if when.year != today.year:
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d} {clock}"
    return f"{_MONTHS[when.month - 1]} {when.day:2d} {clock}"


def shorten_run_id(run_id: str, width: int = 8) -> str:
    """The first `width` characters of a run ID, with "…" appended when it was longer."""
    if len(run_id) <= width:
        return run_id
    return run_id[:width] + "…"


def status_symbol(status: Status | int) -> str:
    """The single-cell glyph for a status (or a status code); "?" for an unknown code."""
    return statuses.symbol(status if isinstance(status, int) else status.code)


def status_text(status: Status) -> str:
    """Glyph and label, e.g. "✓ COMPLETED"."""
    return f"{status_symbol(status)} {status.label}"
