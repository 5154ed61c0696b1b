"""Jobs and statuses as the API reports them.

Everything is keyed on the status *code* (Temporal's workflow execution status); the name is kept
as the API sent it so that unknown statuses can be shown as-is. What a code means (terminal,
failure, glyph, hint) lives in jobwatch.statuses; parsing an answer lives in jobwatch.api.decode.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import msgspec

from jobwatch.statuses import FAILURE_CODES, NOT_FOUND_CODE, STATUSES, TERMINAL_CODES

#: the canonical name of every code the API documents (the simulator answers with these)
API_NAMES: dict[int, str] = {code: info.name for code, info in STATUSES.items() if code > 0}

#: the status codes an answer may carry: Temporal's statuses are a non-negative enum, negative codes
#: are jobwatch's own (NOT_FOUND) and must not be forged by an answer, and SQLite stores at most
#: a signed 64-bit integer. A code outside is a bad response (jobwatch.api.decode).
MIN_CODE = 0
MAX_CODE = 2**63 - 1
#: the longest workflowId, runId or status name an answer may carry, in characters. Temporal
#: itself refuses IDs over 1000 bytes (limit.maxIDLength), so a longer field is no real job's:
#: the answer is a bad response rather than a truncated (and so different) ID.
MAX_FIELD_CHARS = 4096


# Status and Job are msgspec Structs rather than dataclasses: a 100k-job response decodes straight
# into them in C (~16 ms instead of ~250 ms for orjson plus a Python validation loop). gc=False:
# they hold only strings and ints, so the cycle collector need not track (and re-scan) them.
class Status(msgspec.Struct, frozen=True, gc=False):
    # a code out of range, or a name too long, sends the answer to the strict parser, which
    # says what is wrong
    code: Annotated[int, msgspec.Meta(ge=MIN_CODE, le=MAX_CODE)]
    name: Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)] = ""

    @property
    def is_terminal(self) -> bool:
        return self.code in TERMINAL_CODES

    @property
    def is_failure(self) -> bool:
        return self.code in FAILURE_CODES

    @property
    def label(self) -> str:
        """The name to show: the canonical name for known codes, else name and code."""
        info = STATUSES.get(self.code)
        if info is not None:
            return info.name
        return f"{self.name or 'UNKNOWN'} ({self.code})"

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name}


NOT_FOUND = Status(NOT_FOUND_CODE, "NOT_FOUND")


class Job(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    workflow_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_FIELD_CHARS)]
    status: Status
    run_id: Annotated[str, msgspec.Meta(max_length=MAX_FIELD_CHARS)] = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "workflowId": self.workflow_id,
            "status": self.status.to_json(),
            "runId": self.run_id,
        }


# ---------------------------------------------------------------- one copy of each value
# A restart at 100k jobs held each job's workflowId and runId three times: in the history's rows
# for the table, in its memory of the stored states, and in the poller's decoded answer (with a
# Status of its own per job): ~50 MB of ~220 (tracemalloc). Every job read or decoded in bulk
# goes through these, so the copies are one: strings through sys.intern (an interned string is
# freed like any other once nothing holds it), statuses through a bounded cache. Both are frozen
# values, so sharing one changes nothing else.

#: one Status object per (code, name): a workspace has a handful; a hostile answer with a new
#: name per job fills the cache and is then served by new objects, as before
shared_status = functools.lru_cache(maxsize=256)(Status)
shared_text = sys.intern


def shared_job(job: Job) -> Job:
    """`job` with its strings and status shared with every other copy of the same values."""
    status = job.status
    return Job(
        shared_text(job.workflow_id),
        shared_status(status.code, status.name),
        shared_text(job.run_id),
    )


def shared_jobs(jobs: Iterable[Job]) -> list[Job]:
    return list(map(shared_job, jobs))
