"""The detail pane following the table's cursor: the highlighted row at once, its history from
what was read ahead (jobwatch.tui.detail_history), the rows around the cursor read in a thread.

Measured (tools in the README's Performance section; 120x40 pty, 100k jobs, growing, `down`
every 100 ms): reading the pane's history on the event loop took 1.3-2.8 ms per press, 4-20 ms
while the poller's history write ran in its thread, once 82 ms. Now a press finds the history
read ahead (READ_BEHIND / READ_AHEAD rows around the cursor, one read in a thread each time the
cursor nears the edge of what is known, and once after each tick is stored). When it does not
(a jump: `G`, PgDn, a filter) the history is read on the loop as before, unless a history write
is under way: then the pane shows the row with "reading the history…" and its history when the
read returns, a few milliseconds later.

A mixin of MainScreen (see jobwatch.tui.screens.host).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from jobwatch.give_way import give_way
from jobwatch.store.history import NO_HISTORY, JobHistory
from jobwatch.tui.model import JobRow
from jobwatch.tui.poll_session import Session
from jobwatch.tui.screens.host import MainScreenHost

__all__ = ["READ_AHEAD", "READ_BEHIND", "JobDetail"]

#: rows read ahead below the cursor and behind it, above (the table shows ~35 at 120x40)
READ_AHEAD = 40
READ_BEHIND = 20
#: read again once fewer rows than this are known on either side of the cursor
READ_MARGIN = 10


class JobDetail(MainScreenHost):
    """`_show_detail` on MainScreen and the reads ahead behind it."""

    def _show_detail(self, workflow_id: str | None) -> None:
        """Show the job's row and its history (read ahead, else now, else when read)."""
        session = self.session
        row = self.table.row(workflow_id) if workflow_id is not None else None
        if row is None or session is None:
            self.detail.clear()
            return
        history = session.history.recent.get(row.workflow_id)
        if history is None and not session.history.writing:
            history = self._read_now(session, row.workflow_id)
        self._show_row(row, history)
        self._read_around_cursor(session)

    def _show_row(self, row: JobRow, history: JobHistory | None) -> None:
        """The pane for `row` with `history` (None: not read yet)."""
        self.detail.show(
            row,
            transitions=None if history is None else history.transitions,
            run_chain=() if history is None else history.run_chain,
            now=self.clock(),
            facts=self._detail_facts(row, () if history is None else history.gaps),
        )

    def job_history(self, row: JobRow) -> JobHistory:
        """The job's history as the pane shows it (read now if it was not read ahead)."""
        session = self.session
        assert session is not None
        return session.history.recent.get(row.workflow_id) or self._read_now(
            session, row.workflow_id
        )

    @staticmethod
    def _read_now(session: Session, workflow_id: str) -> JobHistory:
        history = session.history
        found = history.histories([workflow_id])
        history.recent.put(history.recent.version, found)
        return found.get(workflow_id) or NO_HISTORY

    def _history_stored(self, session: Session) -> None:
        """A tick is in the history: read the histories around the cursor again."""
        session.history.recent.outdated()
        self._read_around_cursor(session)

    def _read_around_cursor(self, session: Session) -> None:
        """Start a read of the rows around the cursor whose histories are not fresh, if the
        pane's job or one within READ_MARGIN rows of the cursor is among them."""
        recent = session.history.recent
        table = self.table
        pos = table.cursor_row
        near = table.visible_keys(max(0, pos - READ_MARGIN), pos + READ_MARGIN + 1)
        shown = self.detail.workflow_id
        if shown is not None and shown not in near:
            near.append(shown)
        if not recent.missing(near):
            return
        if recent.reading:
            recent.again = True
            return
        wanted = table.visible_keys(max(0, pos - READ_BEHIND), pos + READ_AHEAD + 1)
        if shown is not None and shown not in wanted:
            wanted.append(shown)
        recent.reading = True
        self.run_worker(
            self._read_histories(session, recent.missing(wanted)),
            group="detail-history",
            exit_on_error=False,
        )

    async def _read_histories(self, session: Session, ids: Sequence[str]) -> None:
        history = session.history
        recent = history.recent
        version = recent.version
        try:
            # after the key that asked for it has shown: the read's Python part holds the GIL
            await give_way()
            found = await asyncio.to_thread(history.histories, ids)
        finally:
            recent.reading = False
        shown = self.detail.workflow_id
        before = recent.get(shown) if shown is not None else None
        recent.put(version, found)
        if session is not self.session:
            return
        row = self.table.row(shown) if shown is not None else None
        read = recent.get(shown) if shown is not None and shown in found else None
        if row is not None and read is not None and (read != before or self.detail.reading):
            # the pane's job has a new history (a tick stored its change) or had none yet
            self._show_row(row, read)
        # more was wanted meanwhile, or a tick was stored while this read ran (a failed read,
        # found nothing, is tried again at the next cursor move, not in a loop)
        if recent.again or (found and recent.version != version):
            recent.again = False
            self._read_around_cursor(session)
