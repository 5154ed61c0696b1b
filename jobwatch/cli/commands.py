"""One function per command: resolve the workspace (jobwatch.session), run the poller or the
dashboard, return an exit code.

Every command takes typed values from `jobwatch.cli.main.dispatch`, never argparse's Namespace.
`status`, `wait`, the dashboard and `demo` all poll through `jobwatch.poller.Poller`, so "not
found", backoff and what the history records mean the same thing in each.

Textual and httpx are imported inside the commands that need them, so that
`jobwatch --version` and `jobwatch wait --help` start fast.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.cli.parser import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    NOTHING_CONFIGURED,
)
from jobwatch.errors import ApiError, UsageError
from jobwatch.statuses import COMPLETED_CODE, NOT_FOUND_CODE

if TYPE_CHECKING:
    from jobwatch.models import Job
    from jobwatch.poller import Poller
    from jobwatch.session import Flags, Session, Target
    from jobwatch.store.config import WorkspaceInput
    from jobwatch.store.history import HistoryStore

#: how `workspaces add` names each field of the entry in its errors
ADD_LABELS = {
    "name": "NAME",
    "workspace_id": "--workspace-id",
    "organization_id": "--organization-id",
    "base_url": "--base-url",
    "credential": "--token-env/--api-key-env/--token-command",
    "interval": "--interval",
    "theme": "--theme",
}


def _target(session: Session) -> Target:
    """The session's chosen workspace, resolved; "nothing configured" explains how to start."""
    from jobwatch.session import NoWorkspaceConfigured

    try:
        return session.target()
    except NoWorkspaceConfigured:
        raise UsageError(NOTHING_CONFIGURED) from None


def _close(history: HistoryStore | None) -> None:
    if history is not None:
        history.close()


# -- status ------------------------------------------------------------------------------


def undecided(poller: Poller, ids: Sequence[str]) -> list[str]:
    """The requested IDs missing from the latest answer but not yet declared NOT_FOUND."""
    misses, limit = poller.misses, poller.missing_after
    return [wid for wid in ids if 0 < misses.get(wid, 0) < limit]


async def poll_for_status(poller: Poller, ids: Sequence[str] | None) -> ApiError | None:
    """One tick; with IDs, more ticks (one interval apart) until every ID that was missing from
    an answer has appeared or is NOT_FOUND by the poller's own rule (DEFAULT_MISSING_AFTER
    answers in a row), as in `wait` and the dashboard. Returns the error that stopped polling."""
    from jobwatch.events import HistoryFailed, PollerStopped
    from jobwatch.session import warn_on_stderr

    while True:
        for event in await poller.poll_once():
            if isinstance(event, HistoryFailed):
                warn_on_stderr(f"history not saved: {event.error.describe()}")
            elif isinstance(event, PollerStopped):
                return event.error
        if not ids or not undecided(poller, ids):
            return None
        await asyncio.sleep(poller.interval)


async def cmd_status(flags: Flags, job_ids: Sequence[str], *, as_json: bool) -> int:
    from jobwatch.cli.output import dumps, jobs_table
    from jobwatch.poller import Poller
    from jobwatch.session import Session, open_history
    from jobwatch.store.config import parse_job_ids

    target = _target(Session.load(flags))
    ids = parse_job_ids(" ".join(job_ids)) if job_ids else None
    history = open_history()
    try:
        async with target.client() as client:
            poller = Poller(
                client,
                target.workspace.workspace_id,
                job_ids=ids,
                history=history,
                interval=target.interval,
                max_failures=0,  # one answer is what `status` is for: the first failure is reported
            )
            error = await poll_for_status(poller, ids)
    finally:
        _close(history)
    if error is not None:
        print(f"jobwatch: {error.describe()}", file=sys.stderr)
        return error.exit_code
    jobs = [j for j in poller.jobs.values() if j.status.code != NOT_FOUND_CODE]
    if as_json:
        print(dumps([j.to_json() for j in jobs]))
    else:
        print(jobs_table(jobs))
    for wid in ids or ():
        job = poller.jobs.get(wid)
        if job is None or job.status.code == NOT_FOUND_CODE:
            print(f"jobwatch: not found: {wid}", file=sys.stderr)
    return EXIT_OK


# -- wait --------------------------------------------------------------------------------


def wait_outcome(poller: Poller) -> tuple[int, list[Job]]:
    """The exit code for the jobs' final states and the jobs that did not complete."""
    jobs = [poller.jobs[i] for i in poller.tracked or () if i in poller.jobs]
    not_completed = [j for j in jobs if j.status.code != COMPLETED_CODE]
    if any(j.status.is_failure for j in jobs):
        return EXIT_FAILED, not_completed
    if any(j.status.code == NOT_FOUND_CODE for j in jobs):
        return EXIT_NOT_FOUND, not_completed
    return EXIT_OK, not_completed


async def cmd_wait(
    flags: Flags,
    job_ids: Sequence[str],
    *,
    timeout: float | None,
    max_retries: int,
    as_json: bool,
    quiet: bool,
) -> int:
    from jobwatch.cli.output import EventPrinter, dumps
    from jobwatch.events import PollerStopped
    from jobwatch.poller import Poller
    from jobwatch.session import Session, open_history
    from jobwatch.store.config import parse_job_ids

    target = _target(Session.load(flags))
    ids = parse_job_ids(" ".join(job_ids))
    if not ids:
        raise UsageError("no job ID given")
    printer = EventPrinter(as_json=as_json, quiet=quiet)
    history = open_history()
    stopped: ApiError | None = None
    timed_out = False
    try:
        async with target.client() as client:
            poller = Poller(
                client,
                target.workspace.workspace_id,
                job_ids=ids,
                history=history,
                interval=target.interval,
                max_failures=max_retries,
            )
            try:
                async with asyncio.timeout(timeout):
                    async for events in poller.run(until_done=True):
                        printer.emit(events)
                        for event in events:
                            if isinstance(event, PollerStopped):
                                stopped = event.error
            except TimeoutError:
                timed_out = True
    finally:
        _close(history)
    if stopped is not None:
        gave_up = f"gave up after {poller.failures} failed polls: " if stopped.retryable else ""
        print(f"jobwatch: {gave_up}{stopped.describe()}", file=sys.stderr)
        return EXIT_API
    if timed_out:
        pending = poller.pending_ids() or []
        if as_json:
            for wid in pending:
                job = poller.jobs.get(wid)
                print(
                    dumps(
                        {
                            "event": "timeout",
                            "workflowId": wid,
                            "status": job.status.to_json() if job else None,
                            "runId": job.run_id if job else None,
                        }
                    )
                )
        else:
            print(
                f"jobwatch: --timeout {timeout:g}s elapsed; still waiting for: {', '.join(pending)}",
                file=sys.stderr,
            )
        return EXIT_TIMEOUT
    code, not_completed = wait_outcome(poller)
    for job in not_completed:
        if as_json:
            print(dumps({"event": "result", **job.to_json()}))
        else:
            print(f"{job.status.label}  workflowId={job.workflow_id}  runId={job.run_id or '-'}")
    return code


# -- history -----------------------------------------------------------------------------


def cmd_history(flags: Flags, job_id: str, *, as_json: bool) -> int:
    from jobwatch.cli.output import dumps, iso
    from jobwatch.formatting import format_clock, format_duration, status_text
    from jobwatch.session import Session
    from jobwatch.store.history import HistoryStore

    ws = _target(Session.load(flags)).workspace
    store = HistoryStore.open_default()  # nothing to show without it: its error is the answer
    try:
        transitions = store.transitions(ws.workspace_id, job_id)
    finally:
        store.close()
    if not transitions:
        print(
            f"jobwatch: no history for {job_id} in workspace {ws.name} ({ws.workspace_id})",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    if as_json:
        print(
            dumps(
                [
                    {
                        "workflowId": job_id,
                        "status": t.status.to_json(),
                        "runId": t.run_id,
                        "observedAt": iso(t.observed_at),
                    }
                    for t in transitions
                ]
            )
        )
        return EXIT_OK
    print(job_id)
    for i, t in enumerate(transitions):
        lasted = ""
        if i + 1 < len(transitions):
            lasted = f"  (lasted {format_duration(transitions[i + 1].observed_at - t.observed_at)})"
        print(
            f"  {format_clock(t.observed_at, None)}  {status_text(t.status):<20}  run {t.run_id}{lasted}"
        )
    return EXIT_OK


# -- workspaces --------------------------------------------------------------------------


def cmd_workspaces_list(flags: Flags) -> int:
    from jobwatch.session import Session, credential_source

    config = Session.load(flags).config
    if not config.workspaces:
        print(f"jobwatch: {NOTHING_CONFIGURED}")
        return EXIT_OK
    for name, ws in sorted(config.workspaces.items()):
        mark = "*" if name == config.default else " "
        extras = "".join(
            f"  {key} {value}"
            for key, value in (
                ("interval", ws.interval),
                ("discovery_interval", ws.discovery_interval),
                ("theme", ws.theme),
            )
            if value is not None
        )
        print(
            f"{mark} {name}  workspace {ws.workspace_id}  org {ws.organization_id}  {ws.base_url}"
            f"{extras}  ({credential_source(ws)})"
        )
    return EXIT_OK


def cmd_workspaces_add(flags: Flags, entry: WorkspaceInput, *, make_default: bool) -> int:
    from jobwatch.session import Session
    from jobwatch.store.config import WorkspaceInputError, save_config, workspace_from_input

    config = Session.load(flags).config
    try:
        ws = workspace_from_input(entry, taken=config.workspaces)
    except WorkspaceInputError as error:
        raise error.labelled(ADD_LABELS) from None
    config.add_workspace(ws, make_default=make_default)
    save_config(config)
    print(f"added workspace {ws.name} to {config.path}")
    return EXIT_OK


def cmd_workspaces_remove(flags: Flags, name: str) -> int:
    from jobwatch.session import Session
    from jobwatch.store.config import save_config

    config = Session.load(flags).config
    config.remove_workspace(name)
    save_config(config)
    print(f"removed workspace {name}")
    return EXIT_OK


def cmd_workspaces_default(flags: Flags, name: str) -> int:
    from jobwatch.session import Session
    from jobwatch.store.config import save_config

    config = Session.load(flags).config
    config.set_default(name)
    save_config(config)
    print(f"default workspace: {name}")
    return EXIT_OK


# -- the dashboard -----------------------------------------------------------------------


def cmd_watch(flags: Flags, job_ids: Sequence[str], *, bare: bool) -> int:
    """The dashboard; `bare` is `jobwatch` without a command, which explains how to start when
    nothing is configured. With several workspaces and no default it opens on the picker."""
    from jobwatch.session import NoDefaultWorkspace, NoWorkspaceConfigured, Session, open_history
    from jobwatch.store.config import parse_job_ids

    session = Session.load(flags)
    if bare and not session.workspaces:
        print(f"jobwatch: {NOTHING_CONFIGURED}")
        return EXIT_USAGE
    try:
        name: str | None = session.choose().name
    except (NoWorkspaceConfigured, NoDefaultWorkspace):
        name = None  # the dashboard opens the picker (or says how to add a workspace)
    ids = parse_job_ids(" ".join(job_ids)) or None
    from jobwatch.tui.app import run_dashboard

    warnings: list[str] = []
    history = open_history(warn=warnings.append)
    try:
        return run_dashboard(
            session, workspace=name, job_ids=ids, history=history, warnings=warnings
        )
    finally:
        _close(history)


def cmd_demo(*, no_tui: bool, seed: int, speed: float) -> int:
    import tempfile

    from jobwatch.session import Flags, Session
    from jobwatch.simulator.server import Simulator
    from jobwatch.store import eventlog
    from jobwatch.store.config import Config, WorkspaceConfig
    from jobwatch.store.history import HistoryStore

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
                if no_tui:
                    return asyncio.run(_demo_print(session.target(), history))
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


async def _demo_print(target: Target, history: HistoryStore) -> int:
    from jobwatch.cli.output import EventPrinter
    from jobwatch.poller import Poller

    ws = target.workspace
    print(
        f"jobwatch demo: simulator at {ws.base_url}, workspace {ws.workspace_id}; Ctrl-C to stop",
        file=sys.stderr,
    )
    printer = EventPrinter(as_json=False)
    async with target.client() as client:
        async for events in Poller(
            client, ws.workspace_id, history=history, interval=target.interval
        ).run():
            printer.emit(events)
    return EXIT_OK


def cmd_simulate(
    *,
    port: int,
    scenario: str,
    jobs: int,
    seed: int,
    error_rate: float,
    latency: float,
    rate_limit_every: int,
    malformed: str | None,
    growth: dict[str, object] | None = None,
) -> int:
    """`jobwatch simulate`; `growth`: the growth options given (an empty dict: some were given
    without --grow), None for none."""
    from jobwatch.simulator.scenarios import Growth
    from jobwatch.simulator.server import run_simulate

    grows: Growth | None = None
    if growth is not None:
        try:
            if not growth:
                raise ValueError("the growth options need --grow ORDER")
            if scenario != "bulk":
                raise ValueError("--grow applies to --scenario bulk only")
            grows = Growth(**growth)  # type: ignore[arg-type]
        except ValueError as exc:
            print(f"jobwatch simulate: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return run_simulate(
        port=port,
        scenario=scenario,
        jobs=jobs,
        seed=seed,
        error_rate=error_rate,
        latency=latency,
        rate_limit_every=rate_limit_every,
        malformed=malformed,
        growth=grows,
    )
