"""The rest of a large restart's history, read and gathered a slice at a time between frames.

A restart in a large workspace paints its first screenful from the history first
(`Session.history_first_screen`); every stored job follows. Read, made into rows and put in the
table in one go, that rest held the event loop 1.0-1.3 s at 100k jobs right after the first
screenful (120x40 pty, 2 cores; the SELECT 0.2-0.34 s, the records and rows ~0.35 s, the table's
fill and sort ~0.3 s, the counts, the running jobs and the ID widths ~0.1 s), and a key pressed
then waited as long. Here each step reads SLICE_ROWS stored jobs and gathers what the screen will
need: the rows with their sort entries, the ID widths, the status counts and the running jobs;
then further steps sort the gathered entries (job_index.Refill).
After the last step the screen puts all of it in place at once (`MainScreen._history_gathered`,
9-36 ms), with no pass over every row. Measured the same way (two runs each, `down` from the
first rows on): ~515 steps, 1.9 s of them in all, done 3.1-4.7 s after the start, while the
first answer is read and matched; the slowest press of the first 8 s 212 and 369 ms, against
980 and 2177 ms read whole.
"""

from __future__ import annotations

from collections.abc import Iterator

from jobwatch.store.history import JobRecord
from jobwatch.tui.job_facts import running_ids
from jobwatch.tui.job_index import Refill
from jobwatch.tui.model import StatusCounts
from jobwatch.tui.poll_session import Session
from jobwatch.tui.widgets.job_lines import IdWidths

#: stored jobs read and gathered in one step. At a 100k restart (pty, keys pressed) the steps, the
#: sort's included, averaged 3.7 ms (1.9 s over ~515), most of the longest 15-40 ms while the first
#: answer was decoded; in slices of 2000 each took 40-60 ms and presses waited 150-310 ms
SLICE_ROWS = 500


class HistoryLoad:
    """Every stored job of `session`'s workspace, gathered for a table sorted by `sort_mode`."""

    def __init__(self, session: Session, sort_mode: str, slices: Iterator[list[JobRecord]]) -> None:
        self.session = session
        self._slices = slices
        self.fill = Refill(sort_mode)
        self.widths = IdWidths()
        self.counts = StatusCounts()
        self.running: set[str] = set()
        self._read = False
        session.initial = {}

    def step(self) -> bool:
        """Read and gather one slice, or once all are, sort a part of them (Refill.sort_step);
        False once all is done (raises JobwatchError)."""
        if not self._read:
            records = next(self._slices, None)
            if records is not None:
                rows = self.session.remember_more(records)
                self.fill.add(rows)
                self.widths.add(rows)
                self.counts.update(rows)
                self.running |= running_ids(rows)
                return True
            self._read = True
        return self.fill.sort_step()

    def finish(self) -> None:
        """Do every step left (raises JobwatchError)."""
        while self.step():
            pass

    def close(self) -> None:
        """Stop reading (the history's connection for it closes)."""
        close = getattr(self._slices, "close", None)
        if close is not None:
            close()
