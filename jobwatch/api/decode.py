"""Parsing the background-jobs answer: the strict parser, and the reuse of an unchanged answer's jobs.

Every body is untrusted: a malformed one raises BadResponse naming what was wrong, and nothing
else escapes `parse_jobs` or `parse_answer`, whatever the bytes. The bounds an answer must keep:

* nesting: at most MAX_JSON_DEPTH levels, anywhere (unknown fields too). msgspec, the fast path,
  stops at Python's recursion limit (1000 frames in jobwatch, so ~990 levels) with RecursionError;
  that is taken as "not the usual shape" and the strict parser, orjson, decides: it refuses past
  1024 levels, always. (Where the recursion limit is raised, as hypothesis does, msgspec may read a
  deeper answer itself; harmless, it keeps only the known fields.)
* status.code: an integer from MIN_CODE to MAX_CODE (jobwatch.models says why); outside, the
  answer is a bad response, so SQLite never sees a value it cannot store and no answer can forge
  jobwatch's own negative codes. orjson reads integers past 2**64 - 1 as floats: "not an integer".
* workflowId, runId, status name: at most MAX_FIELD_CHARS characters; longer is a bad response.
  (Showing long fields with an ellipsis is the outputs' job: jobwatch.sanitize.middle_ellipsis.)
* size: the client stops reading past its answer limit (jobwatch.api.body), before parsing.

Messages quote at most QUOTE_CHARS characters of a field, through repr (controls escaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, ne

import msgspec
import orjson

from jobwatch.errors import BadResponse
from jobwatch.models import MAX_CODE, MAX_FIELD_CHARS, MIN_CODE, Job, Status

#: the deepest JSON nesting an answer may have: orjson's own fixed limit, which the strict parser
#: applies to every answer msgspec does not take
MAX_JSON_DEPTH = 1024
#: a field quoted in a message is cut to this many characters
QUOTE_CHARS = 60
#: what msgspec raises for a body it does not take: not the usual shape, nesting past Python's
#: recursion limit, or (msgspec 0.19) invalid UTF-8; the strict parser then says what is wrong
_FAST_PATH_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)


def _describe(value: object) -> str:
    return type(value).__name__ if value is not None else "null"


def _quote(text: str) -> str:
    """`text` for a message: repr (so controls show escaped), cut to QUOTE_CHARS with an ellipsis."""
    if len(text) > QUOTE_CHARS:
        return repr(text[:QUOTE_CHARS]) + "\u2026"
    return repr(text)


def _check_length(what: str, value: str, where: str) -> None:
    if len(value) > MAX_FIELD_CHARS:
        raise BadResponse(
            f"{where}: {what} is {len(value)} characters long, more than the {MAX_FIELD_CHARS} "
            "jobwatch accepts"
        )


_decode_jobs = msgspec.json.Decoder(list[Job]).decode


def parse_jobs(body: bytes) -> list[Job]:
    """Parse a background-jobs response body; raise BadResponse naming what was wrong.

    Entries come back as sent, duplicates included; the client keeps the last one per workflowId.
    """
    try:
        return _decode_jobs(body)
    except _FAST_PATH_ERRORS:
        # Not the usual shape (or a null name / runId, which are allowed, or nesting past
        # Python's recursion limit): the strict parser below accepts it or says what is wrong.
        pass
    return _parse_jobs_strictly(body)


def load_json(body: bytes, what: str = "response") -> object:
    """orjson.loads, or BadResponse naming what is wrong (nesting past MAX_JSON_DEPTH included)."""
    try:
        return orjson.loads(body)
    except (
        ValueError
    ) as exc:  # JSONDecodeError; orjson 3.10 raises UnicodeDecodeError for bad UTF-8
        reason = str(exc.args[0]) if isinstance(exc, orjson.JSONDecodeError) else str(exc)
        if "depth" in reason and "exceeded" in reason:  # orjson 3.10: "recursion depth exceeded"
            raise BadResponse(
                f"{what} is JSON nested more than {MAX_JSON_DEPTH} levels deep"
            ) from None
        snippet = bytes(body[:60]).decode("utf-8", "replace")
        raise BadResponse(
            f"{what} is not valid JSON ({reason}); it starts with {snippet!r}"
        ) from None


def _parse_jobs_strictly(body: bytes) -> list[Job]:
    data = load_json(body)
    if not isinstance(data, list):
        raise BadResponse(f"response is a JSON {_describe(data)}, expected an array of jobs")
    jobs: list[Job] = []
    append = jobs.append
    statuses: dict[tuple[int, str], Status] = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise BadResponse(f"job #{i} is a {_describe(item)}, expected an object")
        wid = item.get("workflowId")
        if not isinstance(wid, str) or not wid:
            raise BadResponse(f"job #{i} has no workflowId string (got {_describe(wid)})")
        _check_length("workflowId", wid, f"job #{i}")
        where = f"job {_quote(wid)}"
        st = item.get("status")
        if not isinstance(st, dict):
            raise BadResponse(f"{where}: status is a {_describe(st)}, expected an object")
        code = st.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            raise BadResponse(f"{where}: status.code is a {_describe(code)}, expected an integer")
        if not MIN_CODE <= code <= MAX_CODE:
            raise BadResponse(
                f"{where}: status.code {code} is outside the range jobwatch accepts "
                f"({MIN_CODE} to 2**63 - 1)"
            )
        name = st.get("name", "")
        if name is None:
            name = ""
        if not isinstance(name, str):
            raise BadResponse(f"{where}: status.name is a {_describe(name)}, expected a string")
        _check_length("status.name", name, where)
        run_id = item.get("runId", "")
        if run_id is None:
            run_id = ""
        if not isinstance(run_id, str):
            raise BadResponse(f"{where}: runId is a {_describe(run_id)}, expected a string")
        _check_length("runId", run_id, where)
        key = (code, name)
        status = statuses.get(key)
        if status is None:
            status = statuses[key] = Status(code, name)
        append(Job(wid, status, run_id))
    return jobs


#: answers larger than this are parsed in a thread (100k jobs are ~12 MB, ~30 ms to parse)
PARSE_IN_THREAD_BYTES = 1_000_000
_workflow_id = attrgetter("workflow_id")
# Splitting the array into its items' bytes is ~11 ms at 100k jobs, decoding them all ~26 ms.
_split_items = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_job = msgspec.json.Decoder(Job).decode


@dataclass(eq=False)
class Answer:
    """One answer body and what it parsed to."""

    content: bytes
    #: the body's array items (None when the body is not an array)
    items: list[msgspec.Raw] | None
    #: one job per item, duplicates included
    parsed: list[Job]
    #: `parsed` with one entry per workflowId (the last one); `parsed` itself when no duplicates
    jobs: list[Job]
    #: the jobs decoded anew, when all others were reused from the previous answer's `jobs`
    fresh: list[Job] | None = None


def parse_answer(content: bytes, last: Answer | None) -> Answer:
    """Parse an answer body, reusing the previous answer's Job for every item whose bytes are
    the same at the same position (identical bytes parse to an identical job).

    Raises BadResponse (from parse_jobs) naming what is wrong with a malformed body.
    """
    try:
        items = _split_items(content)
    except _FAST_PATH_ERRORS:
        items = None  # parse_jobs below accepts it or says what is wrong
    parsed: list[Job] | None = None
    fresh: list[Job] | None = None
    differing: list[int] = []
    if (
        items is not None
        and last is not None
        and last.items is not None
        and len(items) == len(last.items)
    ):
        differing = list(compress(range(len(items)), map(ne, items, last.items)))
        # past half, one decode of the whole body is cheaper than one per item
        if len(differing) * 2 <= len(items):
            parsed = list(last.parsed)
            fresh = []
            try:
                for i in differing:
                    parsed[i] = job = _decode_job(items[i])
                    fresh.append(job)
            except _FAST_PATH_ERRORS:
                parsed = fresh = None
    if parsed is None:
        parsed = parse_jobs(content)
    # A workflowId listed twice keeps its last entry: the poller must see one state per
    # job, or it reports (and records) changes that never happened.
    if (
        fresh is not None
        and last is not None
        and last.jobs is last.parsed
        and all(parsed[i].workflow_id == last.parsed[i].workflow_id for i in differing)
    ):
        # the previous answer had no duplicates and no item changed its workflowId
        return Answer(content, items, parsed, parsed, fresh)
    # A set of the IDs, built in C, finds them in ~6 ms at 100k jobs (a dict of the
    # jobs took 9-17 ms); the dict is built only when there are duplicates.
    if len(set(map(_workflow_id, parsed))) == len(parsed):
        jobs = parsed
    else:
        jobs = list({job.workflow_id: job for job in parsed}.values())
    # reused jobs are in the previous `jobs` only if that had no duplicates
    reusable = last is not None and last.jobs is last.parsed and jobs is parsed
    return Answer(content, items, parsed, jobs, fresh if reusable else None)
