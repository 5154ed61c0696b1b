"""The commands that poll or read for scripts: `status`, `history`; and `simulate`,
`completion`. `wait` is in jobwatch.cli.wait, the dashboard's commands in
jobwatch.cli.dashboard, the config's in jobwatch.cli.workspaces.

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
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from jobwatch.cli import job_ids as job_id_args
from jobwatch.cli.output import (
    JobNotes,
    describe_error,
    field,
    job_record,
    jobs_table,
    print_error,
    transition_record,
    write_records,
)
from jobwatch.cli.parser import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    NOTHING_CONFIGURED,
)
from jobwatch.errors import ApiError, UsageError
from jobwatch.statuses import NOT_FOUND_CODE

if TYPE_CHECKING:
    from jobwatch.kinds import Kinds
    from jobwatch.poller import Poller
    from jobwatch.session import Flags, Session, Target
    from jobwatch.store.history import Annotation, HistoryStore


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


def notes_lookup(
    history: HistoryStore | None, workspace_id: str, kinds: Kinds
) -> Callable[[str], JobNotes]:
    """workflowId -> its kind, label and pin (the labels and pins read once from the history;
    none when there is no history, or it cannot be read: then a warning)."""
    from jobwatch.errors import JobwatchError
    from jobwatch.session import warn_on_stderr

    annotations: dict[str, Annotation] = {}
    if history is not None:
        try:
            annotations = history.annotations(workspace_id)
        except JobwatchError as error:
            warn_on_stderr(f"labels and pins not read: {error.describe()}")

    def notes(workflow_id: str) -> JobNotes:
        note = annotations.get(workflow_id)
        label = note.label if note is not None else None
        pinned = note.pinned if note is not None else False
        return JobNotes(kinds.kind(workflow_id, label), label, pinned)

    return notes


# -- status ------------------------------------------------------------------------------


def undecided(poller: Poller, ids: Sequence[str]) -> list[str]:
    """The requested IDs missing from the latest answer but not yet declared NOT_FOUND."""
    misses, limit = poller.misses, poller.missing_after
    return [wid for wid in ids if 0 < misses.get(wid, 0) < limit]


async def poll_for_status(poller: Poller, ids: Sequence[str] | None) -> ApiError | None:
    """One tick; with IDs, more ticks (one interval apart) until every ID that was missing from
    an answer has appeared or is NOT_FOUND by the poller's own rule (`missing_after` answers in a
    row, --missing-after), as in `wait` and the dashboard. Returns the error that stopped polling."""
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


async def cmd_status(
    flags: Flags, job_ids: Sequence[str], *, output: str, missing_after: int | None = None
) -> int:
    """Exit 0, or 4 when a requested ID was not found (as `wait`), 3 when a request failed."""
    from jobwatch.kinds import Kinds
    from jobwatch.poller import DEFAULT_MISSING_AFTER, Poller
    from jobwatch.session import Session, open_history

    session = Session.load(flags)
    target = target_of(session)
    ids = job_id_args.expand(job_ids) if job_ids else None
    if ids == []:
        raise UsageError("standard input held no job ID")
    history = open_history()
    try:
        async with target.client() as client:
            # The poller records each answer whole (Answer(jobs, requested)): an unchanged job
            # counts as seen, so the window of its next change starts here.
            poller = Poller(
                client,
                target.workspace.workspace_id,
                job_ids=ids,
                history=history,
                interval=target.interval,
                missing_after=missing_after or DEFAULT_MISSING_AFTER,
                max_failures=0,  # one answer is what `status` is for: the first failure is reported
            )
            error = await poll_for_status(poller, ids)
        notes = None
        if error is None and output != "table":
            notes = notes_lookup(
                history, target.workspace.workspace_id, Kinds(session.config.kind_rules)
            )
    finally:
        close(history)
    if error is not None:
        print_error(describe_error(error))
        return error.exit_code
    jobs = [j for j in poller.jobs.values() if j.status.code != NOT_FOUND_CODE]
    if notes is None:
        print(jobs_table(jobs))
    else:
        write_records((job_record(j, notes(j.workflow_id)) for j in jobs), output)
    missing = [
        wid
        for wid in ids or ()
        if wid not in poller.jobs or poller.jobs[wid].status.code == NOT_FOUND_CODE
    ]
    for wid in missing:
        print_error(f"not found: {field(wid)}")
    return EXIT_NOT_FOUND if missing else EXIT_OK


# -- history -----------------------------------------------------------------------------


def cmd_history(flags: Flags, job_id: str, *, output: str) -> int:
    """The job's steps with their windows and the gaps of its lifetime; its kind, label, pin and
    (for people) its kind's typical duration."""
    from jobwatch.cli.timeline import timeline_lines
    from jobwatch.kinds import Kinds
    from jobwatch.session import Session
    from jobwatch.store.history import HistoryStore

    session = Session.load(flags)
    ws = target_of(session).workspace
    kinds = Kinds(session.config.kind_rules)
    store = HistoryStore.open_default()  # nothing to show without it: its error is the answer
    try:
        transitions = store.transitions(ws.workspace_id, job_id)
        if transitions:
            record = store.job(ws.workspace_id, job_id)
            gaps = store.job_gaps(ws.workspace_id, job_id)
            label = record.label if record else None
            notes = JobNotes(kinds.kind(job_id, label), label, bool(record and record.pinned))
            typical = store.typical_durations(ws.workspace_id, kinds) if output == "table" else {}
    finally:
        store.close()
    if not transitions:
        print_error(
            f"no history for {field(job_id)} in workspace {field(ws.name)} ({ws.workspace_id})"
        )
        return EXIT_NOT_FOUND
    if output != "table":
        write_records((transition_record(job_id, t, notes, gaps) for t in transitions), output)
        return EXIT_OK
    lines = timeline_lines(
        job_id, transitions, notes=notes, gaps=gaps, typical=typical.get(notes.kind)
    )
    print("\n".join(lines))
    return EXIT_OK


# -- label, pin ---------------------------------------------------------------------------


def cmd_label(flags: Flags, job_id: str, text: str | None) -> int:
    """Set (or with None clear) a job's label in the history, for this workspace."""
    from jobwatch.session import Session
    from jobwatch.store.history import HistoryStore

    ws = target_of(Session.load(flags)).workspace
    if not job_id.strip():
        raise UsageError("JOB_ID is empty")
    store = HistoryStore.open_default()
    try:
        store.set_label(ws.workspace_id, job_id, text)
    finally:
        store.close()
    if text is None or not text.strip():
        print(f"{field(job_id)}: label cleared")
    else:
        print(f"{field(job_id)}: labelled {field(text)}")
    return EXIT_OK


def cmd_pin(flags: Flags, job_id: str, *, pinned: bool) -> int:
    """Pin (or unpin) a job in the history, for this workspace."""
    from jobwatch.session import Session
    from jobwatch.store.history import HistoryStore

    ws = target_of(Session.load(flags)).workspace
    if not job_id.strip():
        raise UsageError("JOB_ID is empty")
    store = HistoryStore.open_default()
    try:
        store.set_pinned(ws.workspace_id, job_id, pinned)
    finally:
        store.close()
    print(f"{field(job_id)}: {'pinned' if pinned else 'unpinned'}")
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
    growth: dict[str, object] | None = None,
    hostile: str | None = None,
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
            raise UsageError(f"simulate: {exc}") from None
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
        hostile=hostile,
    )


def cmd_completion(shell: str) -> int:
    """The TAB-completion script for `shell`: argcomplete's, which asks `jobwatch` itself."""
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["jobwatch"], shell=shell))
    return EXIT_OK
