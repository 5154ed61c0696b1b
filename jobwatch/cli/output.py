"""How the CLI prints: aligned lines for people, JSON and JSON lines for scripts, errors on stderr.

Every string that came from outside (the API's IDs, status names and error bodies, values from
the config) goes through `jobwatch.sanitize` here: `visible` for a field of a line, with
`middle_ellipsis` where a column is capped; `json_dumps` for every JSON output, so a control or
bidi character is a ``\\u`` escape while the value reads back exactly.

The JSON records of each command are built in one place each (`job_record`, `transition_record`,
`workspace_record`, `event_json`), so a field added to one reaches json and jsonl alike.
No secrets reach this module: it only sees jobs, statuses, entries and error descriptions.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from jobwatch.errors import ApiError, JobwatchError
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
from jobwatch.models import Job, Status
from jobwatch.sanitize import cell_width, json_dumps, visible, visible_lines
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history_reads import Transition
from jobwatch.windows import Gap, unwatched

#: the widest the status table's ID columns get, in cells; a longer value is cut in the middle
#: (its unique tail kept). 10k jobs and one 100k-character ID printed 1 GB when every row was
#: padded to the longest ID.
MAX_ID_COLUMN = 64
#: the widest a status name gets in the table
MAX_STATUS_COLUMN = 40
#: the widest any one field of a human line gets (event lines, history, errors)
MAX_FIELD = 200


def iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def dumps(obj: object) -> str:
    """Compact JSON with every unsafe character \\u-escaped (jobwatch.sanitize.json_dumps)."""
    return json_dumps(obj)


def field(text: str, limit: int = MAX_FIELD) -> str:
    """One field of a human line: escaped, and cut in the middle past `limit` cells."""
    return visible(text, limit)


def shown_status(status: Status) -> str:
    """A status as a line shows it (glyph and label); the label may be the API's own name."""
    return field(status_text(status), MAX_STATUS_COLUMN)


# -- errors and warnings ------------------------------------------------------------------


def describe_error(error: JobwatchError) -> str:
    """An error's text, escaped: an API error is one line (its body came from outside); our own
    messages may keep their line breaks (the "nothing configured" help)."""
    if isinstance(error, ApiError):
        return visible(error.describe(), 2000)
    return visible_lines(error.describe(), 2000)


def print_error(message: str, err: TextIO | None = None) -> None:
    """One `jobwatch: …` message on stderr; `message` is already escaped."""
    print(f"jobwatch: {message}", file=err or sys.stderr, flush=True)


# -- records: the one place each command's JSON is built ----------------------------------


@dataclass(frozen=True, slots=True)
class JobNotes:
    """What jobwatch knows of a job beyond the API's fields: its kind (jobwatch.kinds: the label,
    else the first matching [kinds] rule, else the workflowId without its ID suffix), and the
    label and pin a person gave it (kept in the history)."""

    kind: str
    label: str | None = None
    pinned: bool = False

    def fields(self) -> dict[str, Any]:
        return {"label": self.label, "pinned": self.pinned, "kind": self.kind}


def job_record(job: Job, notes: JobNotes | None = None) -> dict[str, Any]:
    """A job as the API returns it: workflowId, status {code, name}, runId; with `notes`, also
    label, pinned and kind (`status`, `wait --output json`). Events carry the API's fields only."""
    record = job.to_json()
    if notes is not None:
        record.update(notes.fields())
    return record


def gap_record(gap: Gap) -> dict[str, str]:
    """A period without a successful poll: {"from", "to"}, ISO 8601 UTC."""
    return {"from": iso(gap.started), "to": iso(gap.ended)}


def transition_record(
    workflow_id: str, step: Transition, notes: JobNotes, gaps: Sequence[Gap]
) -> dict[str, Any]:
    """One recorded step of `history`: what was seen, when (`observedAt`, the first poll that
    saw it) and since when it can have been so (`notBefore`, the last poll that still saw the
    earlier state; null: unknown), whether a gap falls in between (`unwatched`); and the job's
    label, pin, kind and `gaps` (every period without a successful poll in its lifetime)."""
    return {
        "workflowId": workflow_id,
        "status": step.status.to_json(),
        "runId": step.run_id,
        "observedAt": iso(step.observed_at),
        "notBefore": None if step.not_before is None else iso(step.not_before),
        "unwatched": unwatched(step.window, gaps),
        **notes.fields(),
        "gaps": [gap_record(gap) for gap in gaps],
    }


def workspace_record(ws: WorkspaceConfig, *, default: bool, credentials: str) -> dict:
    """One configured workspace for `workspaces list`: where its credential comes from, by
    name only (a token_command may embed a secret, so it is not shown)."""
    return {
        "name": ws.name,
        "default": default,
        "workspaceId": ws.workspace_id,
        "organizationId": ws.organization_id,
        "baseUrl": ws.base_url,
        "interval": ws.interval,
        "theme": ws.theme,
        "tokenEnv": ws.token_env,
        "apiKeyEnv": ws.api_key_env,
        "tokenCommand": ws.token_command is not None,
        "credentials": credentials,
        "maxAnswerMib": ws.max_answer_mib,
        "tokenCommandTimeout": ws.token_command_timeout,
    }


def write_records(records: Iterable[object], output: str, out: TextIO | None = None) -> None:
    """`json`: one JSON array; `jsonl`: one JSON value per line."""
    stream = out or sys.stdout
    if output == "jsonl":
        for record in records:
            print(dumps(record), file=stream)
    else:
        print(dumps(list(records)), file=stream)


def jobs_table(jobs: list[Job]) -> str:
    """An aligned table of workflowId, status and runId; each column capped (see MAX_ID_COLUMN)."""
    rows = [("WORKFLOW ID", "STATUS", "RUN ID")]
    rows += [
        (
            field(j.workflow_id, MAX_ID_COLUMN),
            shown_status(j.status),
            field(j.run_id, MAX_ID_COLUMN),
        )
        for j in jobs
    ]
    w0 = max(cell_width(r[0]) for r in rows)
    w1 = max(cell_width(r[1]) for r in rows)
    return "\n".join(
        f"{a}{' ' * (w0 - cell_width(a))}  {b}{' ' * (w1 - cell_width(b))}  {c}".rstrip()
        for a, b, c in rows
    )


# -- events -------------------------------------------------------------------------------


def event_json(event: Event) -> dict | None:
    """The JSON object for one event, or None for events scripts need not see."""
    match event:
        case JobAppeared(job, at):
            return {"event": "appeared", "at": iso(at), **job_record(job)}
        case StatusChanged(job, previous, at):
            return {
                "event": "status_changed",
                "at": iso(at),
                **job_record(job),
                "previous": previous.to_json(),
            }
        case RunIdChanged(job, previous_run_id, at):
            return {
                "event": "run_changed",
                "at": iso(at),
                **job_record(job),
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
    """The human line for one event and whether it belongs on stderr; None to print nothing.

    Every field from outside is escaped (`field`); the clock is absolute (`format_clock`)."""
    match event:
        case JobAppeared(job, at):
            return (
                f"{format_clock(at)}  {field(job.workflow_id)}  {shown_status(job.status)}  "
                f"run {field(job.run_id)}",
                False,
            )
        case StatusChanged(job, previous, at):
            return (
                f"{format_clock(at)}  {field(job.workflow_id)}  {shown_status(previous)} → "
                f"{shown_status(job.status)}  run {field(job.run_id)}",
                False,
            )
        case RunIdChanged(job, previous_run_id, at):
            return (
                f"{format_clock(at)}  {field(job.workflow_id)}  continued as new: run "
                f"{field(previous_run_id)} → {field(job.run_id)}",
                False,
            )
        case JobMissing(wid, misses, at) if misses == 1:
            return f"{format_clock(at)}  {field(wid)}  not in the API's answer (yet)", True
        case JobNotFound(wid, at):
            return (
                f"{format_clock(at)}  {field(wid)}  not found: the API does not know this ID",
                True,
            )
        case PollFailed(error, attempt, retry_in, _retry_at, at):
            return (
                f"{format_clock(at)}  poll failed (attempt {attempt}): {describe_error(error)} "
                f"— retrying in {format_duration(retry_in)}",
                True,
            )
        case Recovered(failures, at):
            return f"{format_clock(at)}  recovered after {failures} failed poll(s)", True
        case HistoryFailed(error, at):
            return (
                f"{format_clock(at)}  warning: history not saved: {describe_error(error)}",
                True,
            )
    return None


class EventPrinter:
    """Prints a poll's events: a human line each (stdout, problems on stderr) or JSON lines.

    `wait`, `demo --plain`, `watch --plain` and the dashboard's TERM=dumb mode all print
    through it."""

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
