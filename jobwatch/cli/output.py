"""How the CLI prints jobs and events: aligned lines for people, one JSON object per line for scripts.

No secrets reach this module: it only sees jobs, statuses and error descriptions.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

import orjson

from jobwatch.events import (
    Event,
    HistoryFailed,
    JobAppeared,
    JobMissing,
    JobNotFound,
    PollerStopped,
    PollFailed,
    Recovered,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.formatting import format_clock, format_duration, status_text
from jobwatch.models import Job


def iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def dumps(obj: object) -> str:
    return orjson.dumps(obj).decode()


def jobs_table(jobs: list[Job]) -> str:
    """A plain aligned table of workflowId, status and full runId."""
    rows = [("WORKFLOW ID", "STATUS", "RUN ID")]
    rows += [(j.workflow_id, status_text(j.status), j.run_id) for j in jobs]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows)


def event_json(event: Event) -> dict | None:
    """The JSON object for one event, or None for events scripts need not see."""
    match event:
        case JobAppeared(job, at):
            return {"event": "appeared", "at": iso(at), **job.to_json()}
        case StatusChanged(job, previous, at):
            return {
                "event": "status_changed",
                "at": iso(at),
                **job.to_json(),
                "previous": previous.to_json(),
            }
        case RunIdChanged(job, previous_run_id, at):
            return {
                "event": "run_changed",
                "at": iso(at),
                **job.to_json(),
                "previousRunId": previous_run_id,
            }
        case JobMissing(wid, misses, at):
            return {"event": "missing", "at": iso(at), "workflowId": wid, "misses": misses}
        case JobNotFound(wid, at):
            return {"event": "not_found", "at": iso(at), "workflowId": wid}
        case PollFailed(error, attempt, retry_in, _retry_at, at):
            return {
                "event": "poll_failed",
                "at": iso(at),
                "attempt": attempt,
                "retryIn": round(retry_in, 3),
                "error": error.to_json(),
            }
        case Recovered(failures, at):
            return {"event": "recovered", "at": iso(at), "failures": failures}
        case HistoryFailed(error, at):
            return {"event": "history_failed", "at": iso(at), "message": error.describe()}
        case PollerStopped(error, at) if error is not None:
            return {"event": "stopped", "at": iso(at), "error": error.to_json()}
    return None


def event_line(event: Event) -> tuple[str, bool] | None:
    """The human line for one event and whether it belongs on stderr; None to print nothing."""
    match event:
        case JobAppeared(job, at):
            return (
                f"{format_clock(at)}  {job.workflow_id}  {status_text(job.status)}  run {job.run_id}",
                False,
            )
        case StatusChanged(job, previous, at):
            return (
                f"{format_clock(at)}  {job.workflow_id}  {status_text(previous)} → {status_text(job.status)}  run {job.run_id}",
                False,
            )
        case RunIdChanged(job, previous_run_id, at):
            return (
                f"{format_clock(at)}  {job.workflow_id}  continued as new: run {previous_run_id} → {job.run_id}",
                False,
            )
        case JobMissing(wid, misses, at) if misses == 1:
            return f"{format_clock(at)}  {wid}  not in the API's answer (yet)", True
        case JobNotFound(wid, at):
            return f"{format_clock(at)}  {wid}  not found: the API does not know this ID", True
        case PollFailed(error, attempt, retry_in, _retry_at, at):
            return (
                f"{format_clock(at)}  poll failed (attempt {attempt}): {error.describe()} — retrying in {format_duration(retry_in)}",
                True,
            )
        case Recovered(failures, at):
            return f"{format_clock(at)}  recovered after {failures} failed poll(s)", True
        case HistoryFailed(error, at):
            return f"{format_clock(at)}  warning: history not saved: {error.describe()}", True
    return None


class EventPrinter:
    def __init__(
        self,
        *,
        as_json: bool,
        quiet: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ):
        self.as_json = as_json
        self.quiet = quiet
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def emit(self, events: list[Event]) -> None:
        if self.quiet:
            return
        for event in events:
            if self.as_json:
                obj = event_json(event)
                if obj is not None:
                    print(dumps(obj), file=self.out, flush=True)
            else:
                line = event_line(event)
                if line is not None:
                    print(line[0], file=self.err if line[1] else self.out, flush=True)
