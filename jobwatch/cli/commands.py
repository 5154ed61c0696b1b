"""The commands that poll or read for scripts: `status`, `wait`, `history`; and `simulate`,
`completion`. The dashboard's commands are in jobwatch.cli.dashboard, the config's in
jobwatch.cli.workspaces.

Every command takes typed values from `jobwatch.cli.main.dispatch`, never argparse's Namespace,
and returns an exit code (jobwatch.cli.parser.EXIT_CODES). `status`, `wait`, the dashboard and
`demo` all poll through `jobwatch.poller.Poller`, so "not found", backoff and what the history
records mean the same thing in each. What they print goes through jobwatch.cli.output, which
escapes every string from outside.

Textual and httpx are imported inside the commands that need them, so that
`jobwatch --version` and `jobwatch wait --help` start fast.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobwatch.cli import job_ids as job_id_args
from jobwatch.cli.output import (
    EventPrinter,
    describe_error,
    dumps,
    field,
    job_record,
    jobs_table,
    print_error,
    shown_status,
    transition_record,
    write_records,
)
from jobwatch.cli.parser import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_TIMEOUT,
    NOTHING_CONFIGURED,
)
from jobwatch.errors import ApiError, UsageError
from jobwatch.statuses import COMPLETED_CODE, NOT_FOUND_CODE

if TYPE_CHECKING:
    from jobwatch.models import Job
    from jobwatch.poller import Poller
    from jobwatch.session import Flags, Session, Target
    from jobwatch.store.history import HistoryStore


def target_of(session: Session) -> Target:
    """The session's chosen workspace, resolved; "nothing configured" explains how to start."""
    from jobwatch.session import NoWorkspaceConfigured

    try:
        return session.target()
    except NoWorkspaceConfigured:
        raise UsageError(NOTHING_CONFIGURED) from None


def close(history: HistoryStore | None) -> None:
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
                warn_on_stderr(f"history not saved: {describe_error(event.error)}")
            elif isinstance(event, PollerStopped):
                return event.error
        if not ids or not undecided(poller, ids):
            return None
        await asyncio.sleep(poller.interval)


async def cmd_status(flags: Flags, job_ids: Sequence[str], *, output: str) -> int:
    """Exit 0, or 4 when a requested ID was not found (as `wait`), 3 when a request failed."""
    from jobwatch.poller import Poller
    from jobwatch.session import Session, open_history

    target = target_of(Session.load(flags))
    ids = job_id_args.expand(job_ids) if job_ids else None
    if ids == []:
        raise UsageError("standard input held no job ID")
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
        close(history)
    if error is not None:
        print_error(describe_error(error))
        return error.exit_code
    jobs = [j for j in poller.jobs.values() if j.status.code != NOT_FOUND_CODE]
    if output == "table":
        print(jobs_table(jobs))
    else:
        write_records(map(job_record, jobs), output)
    missing = [
        wid
        for wid in ids or ()
        if wid not in poller.jobs or poller.jobs[wid].status.code == NOT_FOUND_CODE
    ]
    for wid in missing:
        print_error(f"not found: {field(wid)}")
    return EXIT_NOT_FOUND if missing else EXIT_OK


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


def final_records(poller: Poller) -> list[dict]:
    """`wait --output json`: every waited-for job as last seen (status null: never seen)."""
    records = []
    for wid in poller.tracked or ():
        job = poller.jobs.get(wid)
        records.append(
            job_record(job) if job else {"workflowId": wid, "status": None, "runId": None}
        )
    return records


async def cmd_wait(
    flags: Flags,
    job_ids: Sequence[str],
    *,
    timeout: float | None,
    max_retries: int,
    output: str,
    quiet: bool,
) -> int:
    from jobwatch.events import PollerStopped
    from jobwatch.poller import Poller
    from jobwatch.session import Session, open_history

    target = target_of(Session.load(flags))
    ids = job_id_args.expand(job_ids)
    if not ids:
        raise UsageError(
            "standard input held no job ID" if job_id_args.STDIN in job_ids else "no job ID given"
        )
    printer = EventPrinter(as_json=output == "jsonl", quiet=quiet or output == "json")
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
        close(history)
    if stopped is not None:
        gave_up = f"gave up after {poller.failures} failed polls: " if stopped.retryable else ""
        print_error(gave_up + describe_error(stopped))
        return EXIT_API
    return _wait_report(poller, output=output, timeout=timeout if timed_out else None)


def _wait_report(poller: Poller, *, output: str, timeout: float | None) -> int:
    """What `wait` prints once it ends (timed out when `timeout` is given) and its exit code."""
    if output == "json":
        print(dumps(final_records(poller)))
    if timeout is not None:
        pending = poller.pending_ids() or []
        if output == "jsonl":
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
            shown = ", ".join(field(wid) for wid in pending[:20])
            more = f" and {len(pending) - 20} more" if len(pending) > 20 else ""
            print_error(f"--timeout {timeout:g}s elapsed; still waiting for: {shown}{more}")
        return EXIT_TIMEOUT
    code, not_completed = wait_outcome(poller)
    for job in not_completed:
        if output == "jsonl":
            print(dumps({"event": "result", **job_record(job)}))
        elif output == "table":
            print(
                f"{field(job.status.label)}  workflowId={field(job.workflow_id)}  "
                f"runId={field(job.run_id) or '-'}"
            )
    return code


# -- history -----------------------------------------------------------------------------


def cmd_history(flags: Flags, job_id: str, *, output: str) -> int:
    from jobwatch.formatting import format_duration, format_timestamp
    from jobwatch.session import Session
    from jobwatch.store.history import HistoryStore

    ws = target_of(Session.load(flags)).workspace
    store = HistoryStore.open_default()  # nothing to show without it: its error is the answer
    try:
        transitions = store.transitions(ws.workspace_id, job_id)
    finally:
        store.close()
    if not transitions:
        print_error(
            f"no history for {field(job_id)} in workspace {field(ws.name)} ({ws.workspace_id})"
        )
        return EXIT_NOT_FOUND
    if output != "table":
        write_records(
            (transition_record(job_id, t.status, t.run_id, t.observed_at) for t in transitions),
            output,
        )
        return EXIT_OK
    print(field(job_id))
    for i, t in enumerate(transitions):
        lasted = ""
        if i + 1 < len(transitions):
            lasted = f"  (lasted {format_duration(transitions[i + 1].observed_at - t.observed_at)})"
        status = shown_status(t.status)
        print(f"  {format_timestamp(t.observed_at)}  {status:<20}  run {field(t.run_id)}{lasted}")
    return EXIT_OK


# -- simulate, completion ----------------------------------------------------------------


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
) -> int:
    from jobwatch.simulator.server import run_simulate

    return run_simulate(
        port=port,
        scenario=scenario,
        jobs=jobs,
        seed=seed,
        error_rate=error_rate,
        latency=latency,
        rate_limit_every=rate_limit_every,
        malformed=malformed,
    )


def cmd_completion(shell: str) -> int:
    """The TAB-completion script for `shell`: argcomplete's, which asks `jobwatch` itself."""
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["jobwatch"], shell=shell))
    return EXIT_OK
