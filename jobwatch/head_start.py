"""The dashboard's poller, and its first poll started before the dashboard is imported and drawn.

`dashboard_poller` is the one place the dashboard's Poller is made (the poll worker of
jobwatch.tui.poll_session makes every one here), and `watched_ids` the one rule for what a
dashboard session watches. `HeadStart` is the poller of the workspace `jobwatch watch` opens on,
made and started by jobwatch.cli.dashboard before it imports Textual: at 100k jobs the first
request started ~530 ms after the process did (imports ~300 ms, the app's mount, the worker's
client), and its 12.7 MB answer took another ~120 ms to come (the API's own time) and ~150 ms to
parse and diff. Started first, the answer comes while Textual is imported (on the loop: see
jobwatch.cli.dashboard._start_while_importing) and the app mounts. It is the poller's own loop (jobwatch.poller.StartedRun), not a second path: the
dashboard's worker takes it (`take`) and iterates it as its loop, so errors, retries, rate limits
and credentials are the poller's and the client's as ever; a client that cannot be made is left
for the worker to make again, and to report as it always did.

Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jobwatch.api.client import SharelyClient
from jobwatch.errors import JobwatchError
from jobwatch.poller import JobSource, Poller, StartedRun
from jobwatch.session import Target
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import HistoryStore

__all__ = ["SEND_STEPS", "HeadStart", "Plan", "dashboard_poller", "watched_ids"]

#: Event-loop steps the first request is given to go out before the dashboard is imported (which
#: holds up the loop): to the simulator on loopback with an access token it was sent after 13
#: (connect, headers, body; 3 runs). A step costs ~20 us once the request waits for its answer; a
#: request that takes longer (a key exchange, a token_command) goes on after the import.
SEND_STEPS = 40


def watched_ids(
    job_ids: Sequence[str] | None, store: HistoryStore | None, workspace_id: str
) -> list[str] | None:
    """What a dashboard session watches: `job_ids` (from the command line), else the IDs stored
    as tracked for the workspace, else None (every job). A store that cannot say: None."""
    if job_ids:
        return list(dict.fromkeys(job_ids))
    if store is None:
        return None
    try:
        return list(store.tracked(workspace_id)) or None
    except JobwatchError:
        return None


@dataclass(frozen=True)
class Plan:
    """What the dashboard's poller of a session polls, and how."""

    workspace: WorkspaceConfig
    tracked: list[str] | None
    interval: float
    discovery_interval: float


def dashboard_poller(
    client: JobSource,
    plan: Plan,
    *,
    history: HistoryStore | None,
    clock: Callable[[], float],
) -> Poller:
    """The dashboard's poller: it hands out a tick's changes before their history write, so the
    table shows them while the write runs in its thread.

    In a workspace the history knows, the dashboard's first rows are the history's, so the first
    answer is matched in slices rather than parsed whole (SharelyClient.whole_first_answer): at a
    100k restart, in a pty, the whole parse held the GIL 100-150 ms while keys were pressed, and
    filling the cache from it later cost another 0.5-0.65 s of the event loop."""
    if history is not None and isinstance(client, SharelyClient):
        with contextlib.suppress(JobwatchError):  # a store that cannot say: as without one
            client.whole_first_answer = history.job_count(plan.workspace.workspace_id) == 0
    return Poller(
        client,
        plan.workspace.workspace_id,
        job_ids=plan.tracked,
        history=history,
        interval=plan.interval,
        clock=clock,
        emit_before_write=True,
        discovery_interval=plan.discovery_interval,
    )


class HeadStart:
    """The poller of the workspace the dashboard opens on, its first tick under way."""

    def __init__(
        self,
        plan: Plan,
        client: SharelyClient,
        run: StartedRun,
        *,
        history: HistoryStore | None,
        clock: Callable[[], float],
        warnings: Sequence[str] = (),
    ) -> None:
        self.plan = plan
        self.client = client
        self.run = run
        self.history = history
        self.clock = clock
        #: what making the client warned about (--insecure): the dashboard shows them
        self.warnings = list(warnings)
        self._taken = False

    @classmethod
    def begin(
        cls,
        target: Target,
        tracked: list[str] | None,
        *,
        history: HistoryStore | None,
        clock: Callable[[], float] = time.time,
    ) -> HeadStart | None:
        """Make the client and the poller of `target` and start its loop (in the running event
        loop); None if the client cannot be made (the dashboard's worker tries again and shows
        why, as it always did)."""
        warnings: list[str] = []
        try:
            client = target.client(warn=warnings.append)
        except JobwatchError:
            return None
        plan = Plan(target.workspace, tracked, target.interval, target.discovery_interval)
        poller = dashboard_poller(client, plan, history=history, clock=clock)
        return cls(
            plan, client, StartedRun(poller), history=history, clock=clock, warnings=warnings
        )

    async def sent(self) -> None:
        """Run the loop for the steps the first request takes to go out (SEND_STEPS), or until
        the first tick is done."""
        for _ in range(SEND_STEPS):
            if self.run.first_done:
                return
            await asyncio.sleep(0)

    @property
    def taken(self) -> bool:
        return self._taken

    def take(
        self, plan: Plan, *, history: HistoryStore | None, clock: Callable[[], float]
    ) -> tuple[SharelyClient, StartedRun] | None:
        """The client and the started loop, for the worker of a session polling just as this one
        does (its first, once); None for any other (then `aclose` this)."""
        if self._taken or plan != self.plan or history is not self.history or clock != self.clock:
            return None
        self._taken = True
        return self.client, self.run

    async def aclose(self) -> None:
        """End the loop and close the client, unless a worker took them (then they are its own)."""
        if self._taken:
            return
        self._taken = True
        try:
            await self.run.aclose()
        finally:
            await self.client.aclose()
