"""Full garbage collections at quiet moments, not in the middle of a key press.

With 100k jobs loaded, one full (generation 2) collection stops the dashboard for 15-100 ms, and
CPython starts one whenever enough objects survived younger collections: while keys are pressed
and polls land, that was several times a second. The collector turns automatic full collections
off while the dashboard runs and does the same collections itself once no key or mouse input came
for `quiet` seconds. Young generations are collected by CPython as usual. If input never pauses,
a full collection still runs once `force_after` young collections piled up, so memory stays bounded.

Young collections start after YOUNG_THRESHOLD net allocations instead of CPython's 700: the
dashboard allocates and frees some 10^4 containers a second even when nothing changes (every
repaint's strips and segments), so at 700 CPython ran ~12 young collections a second in a 1k
workspace with no key pressed. Measured in a pty (jobwatch watch, bench/growth.py's simulator,
70 s of `down` then 60 s without keys, gc.callbacks): 1k jobs, 1,656 -> 39 generation-0
collections and 0.39 -> 0.10 s of collecting in 135 s, CPU watching 1.88 -> 1.70 %; 100k jobs
growing, two alternating runs each, CPU watching 4.87 / 3.57 -> 3.90 / 2.93 %, key max 177 / 144
-> 156 / 119 ms. Most of those containers die before the larger threshold is reached, so a young
collection walks more objects but far fewer run (the longest seen 9 ms at 100k).

`force_after` is FORCE_AFTER: at 100k jobs, growing, with a key every 50 ms and CPython's young
threshold, generation-1 collections came about 5 times a second, and a forced full collection
(25k objects unfrozen) took 60-71 ms, each stalling the event loop 80-100 ms and landing on a key
press. With YOUNG_THRESHOLD they come about 0.1 times a second (7 in a 75 s pty run of keys and
watching): 30 puts the first forced one after about five minutes of unbroken input; what survives
meanwhile is collected at the first pause of `quiet` seconds.

After each full collection the survivors are frozen (gc.freeze), so the next one only walks what
was allocated since. Frozen objects that later become cyclic garbage would never be freed: at a
quiet moment at most every `reclaim_every` seconds, everything is unfrozen and collected once
(and, should input never pause that long, after five such periods regardless).

The start-up hold (`hold_start` / `end_start_hold`): from `jobwatch watch`'s start until its
first rows are painted, no collection runs at all. At 100k jobs the start allocates some 10^6
objects (imports, the first answer's events, rows and sort entries): the young collections and
one full collection during the imports took 63-68 ms of the 1.4 s to the first rows (timed with
gc.callbacks, 2 runs). At its end everything alive is frozen first (as after a full collection),
so the first young collection after it does not walk those objects; the dashboard ends the hold
after START_HOLD_LIMIT seconds in any case (e.g. it opened on the workspace picker).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

#: CPython's own trigger: a full collection after this many generation-1 collections
DEFAULT_THRESHOLD2 = 10
#: young (generation-1) collections after which a full one runs even while input continues
FORCE_AFTER = 30
#: net allocations of containers that start a young (generation-0) collection; CPython's is 700
YOUNG_THRESHOLD = 7000
#: effectively "never" for CPython's automatic full collection
_OFF = 1 << 30
#: the longest the start-up hold lasts, in seconds of the dashboard running
START_HOLD_LIMIT = 5.0

_start_hold = False


def hold_start(gc_module=gc) -> None:
    """No garbage collection until `end_start_hold` (if the collector is on now)."""
    global _start_hold
    if gc_module.isenabled():
        _start_hold = True
        gc_module.disable()


def end_start_hold(gc_module=gc) -> bool:
    """End the start-up hold, if one is on: freeze what is alive, collect again; True if it was."""
    global _start_hold
    if not _start_hold:
        return False
    _start_hold = False
    gc_module.freeze()
    gc_module.enable()
    return True


class IdleCollector:
    def __init__(
        self,
        *,
        quiet: float = 1.0,
        force_after: int = FORCE_AFTER,
        reclaim_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        gc_module=gc,
    ) -> None:
        self.quiet = quiet
        self.force_after = force_after
        self.clock = clock
        self._gc = gc_module
        self._saved: tuple[int, ...] | None = None
        self._threshold2 = DEFAULT_THRESHOLD2
        self.reclaim_every = reclaim_every
        self._last_input = clock()
        self._last_reclaim = clock()

    @property
    def active(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        """Take full collections over from CPython, young ones less often (until `stop`)."""
        if self._saved is not None:
            return
        self._saved = self._gc.get_threshold()
        gen0, gen1, gen2 = self._saved
        self._threshold2 = gen2 or DEFAULT_THRESHOLD2
        self._gc.set_threshold(max(gen0, YOUNG_THRESHOLD), gen1, _OFF)

    def stop(self) -> None:
        """Give full collections back to CPython with its previous thresholds (and what was frozen)."""
        if self._saved is None:
            return
        self._gc.unfreeze()
        self._gc.set_threshold(*self._saved)
        self._saved = None

    def input_seen(self) -> None:
        self._last_input = self.clock()

    def tick(self) -> bool:
        """Run a full collection (or the reclaim) if one is due; called every fraction of a second.

        Due: CPython would have started one by now (its generation-2 threshold of young
        collections) and input paused, or `force_after` young collections piled up.
        """
        if self._saved is None or not self._gc.isenabled():
            return False
        now = self.clock()
        quiet = now - self._last_input >= self.quiet
        since = now - self._last_reclaim
        if since >= self.reclaim_every and (quiet or since >= 5 * self.reclaim_every):
            self._last_reclaim = now
            self._gc.unfreeze()
        else:
            pending = self._gc.get_count()[2]  # generation-1 collections since the last full one
            if pending < self._threshold2 or (pending < self.force_after and not quiet):
                return False
        self._gc.collect()
        self._gc.freeze()
        return True
