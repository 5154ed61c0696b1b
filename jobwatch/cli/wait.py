"""`jobwatch wait`: poll until the jobs end, printing each change; the exit code says how.

When it ends (`WaitOptions`):
- by default, once every job is finished: 0 every job COMPLETED, 1 one failed, 4 one was never
  found (a failure outranks a missing ID);
- `--fail-fast`: at the first failure, exit 1 at once, printing every job's current state;
- `--any`: as soon as one job ends, with the code of the jobs that ended (several may end in
  one poll: then as above, over those);
- `--timeout`: 124; the API refusing or failing `--max-retries` times in a row: 3.

`--missing-after N` is the poller's rule for NOT_FOUND (absent from N answers in a row).
`--heartbeat S`: when standard output is not a terminal (CI), a line every S seconds (default
60, 0: never) saying what is still running and for how long (jobwatch.progress.heartbeat_line),
so a CI job's no-output timeout does not kill a long wait; it runs beside the polls, so it keeps
coming while the API fails and the poller backs off. How long a job has run comes from the
history (the window its run started in, also when another jobwatch saw it start), else from
when this wait first saw it.

JSONL keeps its events' shape; the new ones are `heartbeat`, `fail_fast` and `any_ended`
(jobwatch.cli.output.event_json builds the others).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from jobwatch.cli import job_ids as job_id_args
from jobwatch.cli.commands import close, notes_lookup, target_of
from jobwatch.cli.output import (
    EventPrinter,
    JobNotes,
    describe_error,
    dumps,
    field,
    iso,
    job_record,
    print_error,
    shown_status,
)
from jobwatch.cli.parser import EXIT_API, EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_TIMEOUT
from jobwatch.errors import ApiError, UsageError
from jobwatch.statuses import COMPLETED_CODE, NOT_FOUND_CODE

if TYPE_CHECKING:
    from jobwatch.durations import Typical
    from jobwatch.kinds import Kinds
    from jobwatch.models import Job
    from jobwatch.poller import Poller
    from jobwatch.session import Flags
    from jobwatch.store.history import HistoryStore
    from jobwatch.windows import Window

#: seconds between two heartbeat lines unless --heartbeat says otherwise
DEFAULT_HEARTBEAT = 60.0


@dataclass(frozen=True)
class WaitOptions:
    """How `wait` ends and what it prints besides the changes."""

    timeout: float | None = None
    max_retries: int = 10
    output: str = "table"
    quiet: bool = False
    fail_fast: bool = False
    any: bool = False
    #: polls an ID may be absent before it is NOT_FOUND (None: the poller's default)
    missing_after: int | None = None
    #: seconds between heartbeat lines; None: DEFAULT_HEARTBEAT, or none with --quiet; 0: none
    heartbeat: float | None = None

    def heartbeat_every(self, stdout: TextIO) -> float | None:
        """The heartbeat period for this output, or None: only when stdout is not a terminal."""
        every = self.heartbeat
        if every is None:
            every = 0.0 if self.quiet else DEFAULT_HEARTBEAT
        if every <= 0 or stdout.isatty():
            return None
        return every


# -- how it ended ------------------------------------------------------------------------


def outcome(jobs: Sequence[Job]) -> int:
    """The exit code for these jobs' states: 1 a failure, else 4 a NOT_FOUND, else 0."""
    if any(j.status.is_failure for j in jobs):
        return EXIT_FAILED
    if any(j.status.code == NOT_FOUND_CODE for j in jobs):
        return EXIT_NOT_FOUND
    return EXIT_OK


def waited_jobs(poller: Poller) -> list[Job]:
    """The waited-for jobs seen so far, in the order given."""
    return [poller.jobs[i] for i in poller.tracked or () if i in poller.jobs]


def wait_outcome(poller: Poller) -> tuple[int, list[Job]]:
    """The exit code for the jobs' final states and the jobs that did not complete."""
    jobs = waited_jobs(poller)
    return outcome(jobs), [j for j in jobs if j.status.code != COMPLETED_CODE]


@dataclass(frozen=True)
class EarlyEnd:
    """--fail-fast or --any ended the wait: which rule, and the jobs that made it end."""

    event: str
    jobs: tuple[Job, ...]
    at: float


def early_end(poller: Poller, options: WaitOptions, at: float) -> EarlyEnd | None:
    """Whether --fail-fast (a job failed) or --any (a job ended) ends the wait after this poll."""
    jobs = waited_jobs(poller)
    if options.fail_fast:
        failed = tuple(j for j in jobs if j.status.is_failure)
        if failed:
            return EarlyEnd("fail_fast", failed, at)
    if options.any:
        ended = tuple(j for j in jobs if j.status.is_terminal)
        if ended:
            return EarlyEnd("any_ended", ended, at)
    return None


# -- the heartbeat -----------------------------------------------------------------------


class Heartbeat:
    """Every `every` seconds, what is still running and for how long (see the module's doc)."""

    def __init__(
        self,
        poller: Poller,
        history: HistoryStore | None,
        kinds: Kinds,
        *,
        every: float,
        as_json: bool,
        out: TextIO,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.poller = poller
        self.history = history
        self.kinds = kinds
        self.every = every
        self.as_json = as_json
        self.out = out
        self.clock = clock
        #: when this wait first saw each job (the start window when the history has none)
        self.first_seen: dict[str, float] = {}
        self._typical: dict[str, Typical] | None = None

    def saw(self, jobs: Sequence[Job], at: float) -> None:
        for job in jobs:
            self.first_seen.setdefault(job.workflow_id, at)

    def _read_history(self, running: list[str]) -> dict[str, Window]:
        """Blocking: the windows the running jobs' runs started in, and the typical durations
        (read once); nothing when the history is missing or cannot be read."""
        from jobwatch.errors import JobwatchError

        starts: dict[str, Window] = {}
        history = self.history
        if history is None:
            return starts
        ws = self.poller.workspace_id
        with contextlib.suppress(JobwatchError):
            if self._typical is None:
                self._typical = history.typical_durations(ws, self.kinds)
            for wid in running:
                record = history.job(ws, wid)
                started = record.started if record is not None else None
                if started is not None:
                    starts[wid] = started
        return starts

    async def line(self) -> tuple[str, dict[str, Any]]:
        """The heartbeat's words and its JSON event."""
        from jobwatch.progress import heartbeat_line
        from jobwatch.windows import Window, elapsed_since

        poller = self.poller
        pending = poller.pending_ids() or []
        running = [wid for wid in pending if wid in poller.jobs]
        not_listed = len(pending) - len(running)
        starts = await asyncio.to_thread(self._read_history, running)
        now = self.clock()
        spans = [
            (wid, starts.get(wid) or Window(None, self.first_seen.get(wid, now))) for wid in running
        ]
        typical = self._typical or {}
        text = heartbeat_line(
            spans,
            now,
            not_listed=not_listed,
            typical_of=lambda wid: typical.get(self.kinds.kind(wid)),
        )
        failures = poller.failures
        if failures:  # the states above are the last ones seen
            text += (
                f"; the last {failures} poll(s) failed"
                if failures > 1
                else "; the last poll failed"
            )
        longest = None
        if spans:
            wid, started = max(spans, key=lambda s: elapsed_since(s[1], now).shortest)
            span = elapsed_since(started, now)
            longest = {
                "workflowId": wid,
                "atLeastSeconds": round(span.shortest, 3),
                "atMostSeconds": None if span.longest is None else round(span.longest, 3),
            }
        event = {
            "event": "heartbeat",
            "at": iso(now),
            "running": len(running),
            "notListed": not_listed,
            "longest": longest,
            "failedPolls": failures,
            "message": text,
        }
        return text, event

    async def run(self) -> None:
        """Print a line every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.every)
            text, event = await self.line()
            print(dumps(event) if self.as_json else text, file=self.out, flush=True)


# -- the command -------------------------------------------------------------------------


async def cmd_wait(flags: Flags, job_ids: Sequence[str], options: WaitOptions) -> int:
    from jobwatch.events import JobAppeared, PollCompleted, PollerStopped
    from jobwatch.kinds import Kinds
    from jobwatch.poller import DEFAULT_MISSING_AFTER, Poller
    from jobwatch.session import Session, open_history

    session = Session.load(flags)
    target = target_of(session)
    ids = job_id_args.expand(job_ids)
    if not ids:
        raise UsageError(
            "standard input held no job ID" if job_id_args.STDIN in job_ids else "no job ID given"
        )
    output = options.output
    printer = EventPrinter(as_json=output == "jsonl", quiet=options.quiet or output == "json")
    kinds = Kinds(session.config.kind_rules)
    history = open_history()
    stopped: ApiError | None = None
    ended: EarlyEnd | None = None
    timed_out = False
    notes: Callable[[str], JobNotes] | None = None
    try:
        async with target.client() as client:
            poller = Poller(
                client,
                target.workspace.workspace_id,
                job_ids=ids,
                history=history,
                interval=target.interval,
                missing_after=options.missing_after or DEFAULT_MISSING_AFTER,
                max_failures=options.max_retries,
            )
            every = options.heartbeat_every(sys.stdout)
            beat = None
            if every is not None:
                out = sys.stderr if output == "json" else sys.stdout
                beat = Heartbeat(
                    poller, history, kinds, every=every, as_json=output == "jsonl", out=out
                )
            beating = asyncio.create_task(beat.run()) if beat is not None else None
            try:
                async with asyncio.timeout(options.timeout):
                    async with contextlib.aclosing(poller.run(until_done=True)) as ticks:
                        async for events in ticks:
                            printer.emit(events)
                            for event in events:
                                if isinstance(event, PollerStopped):
                                    stopped = event.error
                                elif isinstance(event, JobAppeared) and beat is not None:
                                    beat.saw([event.job], event.at)
                                elif isinstance(event, PollCompleted) and stopped is None:
                                    ended = early_end(poller, options, event.at)
                            if ended is not None:
                                break
            except TimeoutError:
                timed_out = True
            finally:
                if beating is not None:
                    beating.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await beating
        if output == "json":
            notes = notes_lookup(history, target.workspace.workspace_id, kinds)
    finally:
        close(history)
    if stopped is not None:
        gave_up = f"gave up after {poller.failures} failed polls: " if stopped.retryable else ""
        print_error(gave_up + describe_error(stopped))
        return EXIT_API
    return wait_report(
        poller,
        output=output,
        timeout=options.timeout if timed_out else None,
        ended=ended,
        notes=notes,
    )


def final_records(poller: Poller, notes: Callable[[str], JobNotes] | None = None) -> list[dict]:
    """`wait --output json`: every waited-for job as last seen (status null: never seen), with
    its label, pin and kind as `status --json` gives them."""
    records = []
    for wid in poller.tracked or ():
        job = poller.jobs.get(wid)
        if job is None:
            record: dict[str, Any] = {"workflowId": wid, "status": None, "runId": None}
            if notes is not None:
                record.update(notes(wid).fields())
        else:
            record = job_record(job, notes(wid) if notes is not None else None)
        records.append(record)
    return records


def _state_line(wid: str, job: Job | None) -> str:
    """`FAILED  workflowId=…  runId=…`: what support asks for."""
    status = field(job.status.label) if job is not None else "(not seen yet)"
    run_id = field(job.run_id) if job is not None and job.run_id else "-"
    return f"{status}  workflowId={field(wid)}  runId={run_id}"


def wait_report(
    poller: Poller,
    *,
    output: str,
    timeout: float | None,
    ended: EarlyEnd | None = None,
    notes: Callable[[str], JobNotes] | None = None,
) -> int:
    """What `wait` prints once it ends (timed out when `timeout` is given, early when `ended`)
    and its exit code."""
    if output == "json":
        print(dumps(final_records(poller, notes)))
    if timeout is not None:
        return _timed_out(poller, output=output, timeout=timeout)
    if ended is not None:
        code = outcome(ended.jobs)
        if output == "jsonl":
            for job in ended.jobs:
                print(dumps({"event": ended.event, "at": iso(ended.at), **job_record(job)}))
        elif output == "table":
            rule = "--fail-fast" if ended.event == "fail_fast" else "--any"
            which = ", ".join(
                f"{field(j.workflow_id)} {shown_status(j.status)}" for j in ended.jobs
            )
            print_error(f"{rule}: {which}; every job as it is now:")
            for wid in poller.tracked or ():
                print(_state_line(wid, poller.jobs.get(wid)))
            return code
        not_completed = [j for j in waited_jobs(poller) if j.status.code != COMPLETED_CODE]
    else:
        code, not_completed = wait_outcome(poller)
    for job in not_completed:
        if output == "jsonl":
            print(dumps({"event": "result", **job_record(job)}))
        elif output == "table":
            print(_state_line(job.workflow_id, job))
    return code


def _timed_out(poller: Poller, *, output: str, timeout: float) -> int:
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
