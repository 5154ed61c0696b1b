"""The full-screen commands: `jobwatch` (bare), `watch` and `demo`, and their plain mode.

The dashboard needs a terminal: standard input (for keys) and standard output (for the screen)
must both be TTYs, or it refuses in one line (exit 2) and points at `status`, `wait` and
--plain; without that check `jobwatch demo </dev/null >out` wrote 37 KB of escape codes and
never ended. `--plain`, or TERM=dumb (a terminal that cannot draw a screen; also what
screen-reader users ask for), prints one line per change with its time instead, through the
same printer as `wait` (jobwatch.cli.output.EventPrinter), until Ctrl-C. `watch -` reads IDs
from a pipe, then takes its keys from the controlling terminal (/dev/tty), as `less` does.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from jobwatch.cli import job_ids as job_id_args
from jobwatch.cli.commands import close, target_of
from jobwatch.cli.output import EventPrinter, describe_error, field, print_error
from jobwatch.cli.parser import EXIT_API, EXIT_OK, EXIT_USAGE, NOTHING_CONFIGURED
from jobwatch.errors import JobwatchError, UsageError

if TYPE_CHECKING:
    from jobwatch.head_start import HeadStart
    from jobwatch.session import Flags, Session, Target
    from jobwatch.simulator.server import Simulator
    from jobwatch.store.history import HistoryStore


class NoTerminal(UsageError):
    """A full-screen command without a terminal to draw on or read keys from."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"the dashboard needs a terminal and {missing}: for scripts use `jobwatch status` "
            "or `jobwatch wait`, or add --plain for one line per change"
        )


def plain_wanted(plain: bool, environ: Mapping[str, str] | None = None) -> bool:
    """--plain, or a terminal that cannot draw a screen (TERM=dumb)."""
    env = os.environ if environ is None else environ
    return plain or env.get("TERM", "") == "dumb"


def _say_why_plain(asked: bool) -> None:
    if not asked:
        print_error("TERM=dumb: no full screen, one line per change instead")


def require_terminal(stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    """Raise NoTerminal unless both standard input and standard output are terminals."""
    ins, outs = stdin or sys.stdin, stdout or sys.stdout
    missing = [
        name
        for name, stream in (("standard input", ins), ("standard output", outs))
        if stream is None or not stream.isatty()
    ]
    if missing:
        raise NoTerminal(
            " and ".join(missing) + (" are not one" if len(missing) > 1 else " is not one")
        )


def keys_from_the_terminal() -> None:
    """After IDs came through a pipe on standard input: read keys from /dev/tty instead."""
    if sys.stdin is not None and sys.stdin.isatty():
        return
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        raise NoTerminal("standard input is not one (and there is no /dev/tty)") from None
    os.dup2(tty, 0)
    os.close(tty)


async def print_changes(target: Target, history: HistoryStore | None, ids: list[str] | None) -> int:
    """The plain mode: one line per change (absolute times) until Ctrl-C or a final error."""
    from jobwatch.events import PollerStopped
    from jobwatch.poller import Poller

    ws = target.workspace
    what = f"{len(ids)} job(s)" if ids else "every job"
    print_error(
        f"watching {what} of {field(ws.name)} ({ws.workspace_id}) every {target.interval:g} s, "
        "one line per change; Ctrl-C to stop"
    )
    printer = EventPrinter(as_json=False)
    async with target.client() as client:
        poller = Poller(
            client, ws.workspace_id, job_ids=ids, history=history, interval=target.interval
        )
        async for events in poller.run():
            printer.emit(events)
            for event in events:
                if isinstance(event, PollerStopped) and event.error is not None:
                    print_error(describe_error(event.error))
                    return EXIT_API
    return EXIT_OK


def cmd_watch(flags: Flags, job_ids: Sequence[str], *, bare: bool, plain: bool) -> int:
    """The dashboard; `bare` is `jobwatch` without a command, which explains how to start when
    nothing is configured. With several workspaces and no default it opens on the picker."""
    from jobwatch.session import NoDefaultWorkspace, NoWorkspaceConfigured, Session, open_history

    session = Session.load(flags)
    if bare and not session.workspaces:
        print(f"jobwatch: {NOTHING_CONFIGURED}")
        return EXIT_USAGE
    ids = job_id_args.expand(job_ids) or None
    if plain_wanted(plain):
        _say_why_plain(plain)
        target = target_of(session)
        history = open_history()
        try:
            return asyncio.run(print_changes(target, history, ids))
        finally:
            close(history)
    try:
        name: str | None = session.choose().name
    except (NoWorkspaceConfigured, NoDefaultWorkspace):
        name = None  # the dashboard opens the picker (or says how to add a workspace)
    if job_id_args.STDIN in job_ids:
        keys_from_the_terminal()
    require_terminal()
    from jobwatch.tui import idle_gc

    idle_gc.hold_start()  # until the first rows are painted (jobwatch.tui.idle_gc)
    try:
        warnings: list[str] = []
        history = open_history(warn=warnings.append)
        try:
            with asyncio.Runner() as runner:
                head_start = runner.run(_start_while_importing(session, name, ids, history))
                from jobwatch.tui.app import run_dashboard

                return run_dashboard(
                    session,
                    workspace=name,
                    job_ids=ids,
                    history=history,
                    warnings=warnings,
                    head_start=head_start,
                    runner=runner,
                )
        finally:
            close(history)
    finally:
        idle_gc.end_start_hold()


async def _start_while_importing(
    session: Session, name: str | None, ids: list[str] | None, history: HistoryStore | None
) -> HeadStart | None:
    """Start polling the workspace the dashboard opens on (jobwatch.head_start), let the first
    request go out, then import the dashboard while its answer is being prepared and sent.

    The import runs here, holding up the loop, and not in a thread beside it: reading a 12.7 MB
    answer on the loop while a thread imported took 300-330 ms instead of ~100 (each chunk waited
    for the importing thread to let go of the GIL) and slowed the import by as much. The answer
    waits in the socket meanwhile and is read once the loop runs the dashboard.
    """
    from jobwatch.head_start import HeadStart, watched_ids

    head_start = None
    if name is not None:
        try:
            target = session.target(name)
        except JobwatchError:
            target = None  # the dashboard's worker meets it again and shows it, as ever
        if target is not None:
            tracked = watched_ids(ids, history, target.workspace.workspace_id)
            head_start = HeadStart.begin(target, tracked, history=history)
    if head_start is not None:
        await head_start.sent()
    importlib.import_module("jobwatch.tui.app")
    return head_start


def seed_demo(sim: Simulator, history: HistoryStore, target: Target, *, seed: int) -> int:
    """Give the demo's throw-away history the past runs of jobwatch.demo_history, so typical
    durations, the ETA column and "slower than usual" work from the first second; returns the
    number of runs seeded.

    The seeded jobs are finished jobs of the workspace, and the dashboard shows them as rows: a
    real workspace keeps listing its old jobs, so the simulator lists them too (the history and
    the API agree), and one poll through the real path records the demo's own jobs before the
    dashboard opens. Without that poll the dashboard would open on the seeded rows alone, with
    its cursor on the newest of them, and the first answer's 18 live jobs would arrive above it,
    out of view at 80x24; with it they are the newest rows and open at the top.
    """
    import contextlib
    import time

    from jobwatch.demo_history import plan_past_runs, seed_demo_history
    from jobwatch.poller import Poller
    from jobwatch.statuses import COMPLETED_CODE

    now = time.time()
    seeded = seed_demo_history(history, sim.workspace_id, now=now, seed=seed)
    for run in plan_past_runs(now, seed=seed):
        with contextlib.suppress(ValueError):  # the simulator's own job by that ID: keep it
            sim.add_job(run.workflow_id, COMPLETED_CODE, run.run_id)

    async def first_answer() -> None:
        async with target.client() as client:
            poller = Poller(client, sim.workspace_id, history=history, interval=target.interval)
            await poller.poll_once()  # a failure here is the dashboard's to show, as ever

    asyncio.run(first_answer())
    return seeded


def cmd_demo(*, plain: bool, seed: int, speed: float) -> int:
    """The dashboard (or --plain lines) against a simulator, in a throw-away config and history;
    the dashboard's history is seeded with past runs first (seed_demo)."""
    import tempfile

    from jobwatch.session import Flags, Session
    from jobwatch.simulator.server import Simulator
    from jobwatch.store import eventlog
    from jobwatch.store.config import Config, WorkspaceConfig
    from jobwatch.store.history import HistoryStore

    if plain_wanted(plain):
        _say_why_plain(plain)
        plain = True
    else:
        require_terminal()
    sim = Simulator("demo", seed=seed, speed=speed)
    base_url = sim.start()
    ws = WorkspaceConfig(
        name="demo",
        workspace_id=sim.workspace_id,
        organization_id=sim.organization_id,
        base_url=base_url,
        interval=1.0,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="jobwatch-demo-") as tmp:
            config = Config(path=Path(tmp) / "config.toml", workspaces={"demo": ws}, default="demo")
            session = Session(config, Flags(), environ={"SHARELY_ACCESS_TOKEN": sim.token})
            history = HistoryStore(os.path.join(tmp, "history.sqlite3"))
            eventlog.DEFAULT.pin(Path(tmp) / eventlog.LOG_FILE_NAME)
            try:
                if plain:
                    return asyncio.run(print_changes(session.target(), history, None))
                seed_demo(sim, history, session.target(), seed=seed)
                from jobwatch.tui.app import run_dashboard

                return run_dashboard(
                    session, workspace="demo", job_ids=None, history=history, demo=True
                )
            finally:
                history.close()
                eventlog.DEFAULT.close()
                eventlog.DEFAULT.pin(None)
    finally:
        sim.stop()
