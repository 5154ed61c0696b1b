"""Background work on the dashboard's event loop gives way to a key until the key has shown.

The dashboard reads keys, paints and polls on one event loop. Work that would hold the loop for
longer than a frame is already cut into slices (jobwatch.api.reuse: matching a 12.7 MB answer,
filling the item cache), but a slice boundary is only `asyncio.sleep(0)`: the loop runs what is
ready and comes straight back, so a key that arrives meanwhile needs a dozen loop steps (the
driver's thread, the app's queue, the focused widget's, the binding, the repaint timer, the
compositor) and waits one slice at each of them. Measured on a 120x40 pty at 100k jobs: the three
slowest presses of a minute (103-153 ms; the median 36) were all behind such slices, at the
first tick's cache fill (~100 ms of slices ~2 s after the first rows) and at each 30 s read of
the whole list (split, match, decode).

So between two slices `give_way()` waits, while a key is pending, until the dashboard says that
key has shown (`key_shown`, called after the repaint that follows its handling) or MAX_WAIT
passed, whichever is first. With no key pending it is `asyncio.sleep(0)`. The state is the
process's: one dashboard runs in a process; `jobwatch wait` and `status` never press a key, so
for them it is always `sleep(0)`.

A key is also held up by the dashboard's threads (the first answer's parse and diff, the history's
writes), which hold the GIL for CPython's switch interval whenever the loop's thread wants it back:
at each of a key's loop steps. `loop_favoured` shortens that interval for as long as a dashboard
runs (SWITCH_INTERVAL).

Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator

__all__ = [
    "MAX_WAIT",
    "SWITCH_INTERVAL",
    "give_way",
    "key_pending",
    "key_pressed",
    "key_shown",
    "loop_favoured",
]

#: the longest one `give_way` waits (s): a key held down (auto-repeat) must not stop the poll
MAX_WAIT = 0.1
#: how often a waiting `give_way` looks again (s)
RECHECK = 0.002

#: The GIL switch interval while a dashboard runs (s; CPython's default is 0.005). Measured on a
#: 120x40 pty at a 100k restart, `down` from the first rows on for 20 s, 0.005 against 0.001 in
#: turn (2026-12-03): the slowest press 215 / 216 / 178 / 196 / 218 ms against 176 / 157 / 142 /
#: 110 / 224, the median of the first 8 s 58-71 against 46-47 ms; a running job's change at most
#: 3.6 / 4.1 s against 3.5 / 3.8 s and CPU while watching 2.7 / 3.1 % against 2.8 / 3.0 % (2 runs
#: each): the threads' work is not slowed by more than the runs differ.
SWITCH_INTERVAL = 0.001

#: time.monotonic() of the oldest key not shown yet, or None
_pending: float | None = None


def key_pressed() -> None:
    """A key arrived; background work waits for it (see `key_shown`)."""
    global _pending
    if _pending is None:
        _pending = time.monotonic()


def key_shown() -> None:
    """The keys pressed so far have been handled and painted."""
    global _pending
    _pending = None


def key_pending() -> bool:
    """A key is waiting to be shown (for at most MAX_WAIT: one never shown stops counting)."""
    global _pending
    if _pending is not None and time.monotonic() - _pending > MAX_WAIT:
        _pending = None
    return _pending is not None


async def give_way() -> None:
    """Yield to the event loop; while a key is pending, until it has shown (or MAX_WAIT)."""
    await asyncio.sleep(0)
    if not key_pending():
        return
    deadline = time.monotonic() + MAX_WAIT
    while key_pending() and time.monotonic() < deadline:
        await asyncio.sleep(RECHECK)


@contextlib.contextmanager
def loop_favoured() -> Iterator[None]:
    """While in it, a thread holding the GIL lets the event loop's thread have it back after
    SWITCH_INTERVAL; the interval before is restored on the way out."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
