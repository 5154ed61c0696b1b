"""The workflow IDs a command was given: its arguments, with "-" read from standard input.

Standard input holds either IDs (one per line; commas and surrounding quotes are tolerated, as
in the dashboard's paste box) or the JSON that the endpoint which started the job returned:
every ``"workflowId"`` (a string) and ``"workflowIds"`` (an array of strings) anywhere in it is
taken, in order, so ``curl … | jobwatch wait -`` and ``jobwatch status --json | jobwatch wait -``
both work. JSON lines (one JSON value per line) are read the same way. Input is bounded
(`MAX_STDIN_BYTES`, `MAX_IDS`, the JSON nesting depth): past a bound is a UsageError naming it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import orjson

from jobwatch.errors import UsageError
from jobwatch.store.config import parse_job_ids

#: the most standard input read for "-" (16 MB: ~400,000 IDs of 40 characters)
MAX_STDIN_BYTES = 16 * 1024 * 1024
#: the most IDs one command takes from standard input
MAX_IDS = 1_000_000
#: how deep a JSON document is searched for workflowId keys
MAX_DEPTH = 64

STDIN = "-"


def expand(args: Sequence[str], stdin: BinaryIO | None = None) -> list[str]:
    """`args` with a "-" replaced by the IDs on standard input; duplicates dropped, order kept."""
    if STDIN not in args:
        return parse_job_ids(" ".join(args))
    if args.count(STDIN) > 1:
        raise UsageError('"-" (read IDs from standard input) may be given only once')
    at = args.index(STDIN)
    from_stdin = read_ids(stdin if stdin is not None else sys.stdin.buffer)
    ids = parse_job_ids(" ".join(args[:at])) + from_stdin + parse_job_ids(" ".join(args[at + 1 :]))
    return list(dict.fromkeys(ids))


def read_ids(stream: BinaryIO) -> list[str]:
    """The IDs in `stream` (see the module docstring); raises UsageError past a bound."""
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        limit = MAX_STDIN_BYTES
        size = f"{limit // 1048576} MB" if limit >= 1048576 else f"{limit} bytes"
        raise UsageError(f"standard input: more than {size} of IDs")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"standard input is not UTF-8 text (byte {error.start})") from None
    stripped = text.lstrip("\ufeff \t\r\n")
    ids: list[str] | None = None
    if stripped[:1] in ("{", "["):
        # "{" is JSON or an error; "[" may also be a pasted list of IDs: text if not JSON
        ids = _from_json(stripped, required=stripped[0] == "{")
    if ids is None:
        ids = parse_job_ids(text)
    if len(ids) > MAX_IDS:
        raise UsageError(f"standard input: more than {MAX_IDS} IDs")
    return ids


def _from_json(text: str, *, required: bool) -> list[str] | None:
    """The IDs in a JSON document or in JSON lines; None (not JSON) unless `required`."""
    try:
        documents = [orjson.loads(text)]
    except orjson.JSONDecodeError:
        documents = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(orjson.loads(line))
            except orjson.JSONDecodeError as error:
                if not required:
                    return None
                raise UsageError(f"standard input: line {number} is not JSON ({error})") from None
    ids = [wid for document in documents for wid in _workflow_ids(document)]
    if not ids:
        raise UsageError('standard input: JSON without a "workflowId" or "workflowIds"')
    return list(dict.fromkeys(ids))


def _workflow_ids(document: object) -> Iterator[str]:
    """Every workflowId / workflowIds value in `document`, depth-first, up to MAX_DEPTH deep."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UsageError(f"standard input: JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            found = value.get("workflowId")
            if isinstance(found, str) and found:
                yield found
            many = value.get("workflowIds")
            if isinstance(many, list):
                yield from (wid for wid in many if isinstance(wid, str) and wid)
            children = [v for k, v in value.items() if k not in ("workflowId", "workflowIds")]
        elif isinstance(value, list):
            children = value
        else:
            continue
        stack.extend((child, depth + 1) for child in reversed(children))
