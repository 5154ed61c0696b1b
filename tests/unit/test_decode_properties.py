"""Properties of the answer parser and the client's read path, over arbitrary input (hypothesis).

Whatever the bytes (arbitrary, arbitrary JSON with huge integers, deep nesting and any Unicode,
or job-shaped JSON with hostile fields), `parse_jobs` and `parse_answer` return jobs or raise
BadResponse, nothing else; a job they return carries exactly the values sent; a job they refuse
breaks a documented bound, and the message says which. The client's fetch over a MockTransport,
with any Content-Encoding, raises only BadResponse for a 200 and only ApiErrors otherwise.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jobwatch.api.client import SharelyClient
from jobwatch.api.decode import MAX_JSON_DEPTH, parse_answer, parse_jobs
from jobwatch.api.transport import Connection
from jobwatch.errors import ApiError, BadResponse
from jobwatch.models import MAX_CODE, MAX_FIELD_CHARS, MIN_CODE

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any Unicode, lone surrogates included (json.dumps writes them as \ud800 escapes), and the
# characters a terminal interprets.
texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from("a\x1b\x9b\u202e\u200b\x00\n\ud800\udfff"), max_size=12),
    st.builds(
        lambda n, c: c * n, st.integers(MAX_FIELD_CHARS - 2, MAX_FIELD_CHARS + 2), st.just("x")
    ),
)
integers = st.one_of(
    st.integers(-3, 10),
    st.integers(),  # unbounded: past 2**64 too
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]),
)
json_values = st.recursive(
    st.none() | st.booleans() | integers | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)


def nested(body: bytes, depth: int) -> bytes:
    """`body` (JSON text) inside `depth` arrays, written as text: json.dumps would recurse."""
    return b"[" * depth + body + b"]" * depth


def dumps(value: object) -> bytes:
    # json (not orjson): it writes any int, any nesting and lone surrogates as escapes
    return json.dumps(value, ensure_ascii=True).encode()


def parse_both(body: bytes):
    """parse_jobs and parse_answer(body, None): jobs, or the BadResponse (nothing else)."""
    results = []
    for parse in (parse_jobs, lambda b: parse_answer(b, None).parsed):
        try:
            results.append(parse(body))
        except BadResponse as exc:
            assert exc.message.startswith("bad response: ") and len(exc.message) > 20
            assert len(exc.message) < 400
            results.append(exc)
    return results


@PROPERTY
@given(st.binary(max_size=300))
@example(b"[" * 5000)
@example(b'[{"workflowId": "a", "status": {"code": 1e400}}]')
@example(b'[{"workflowId": "\\ud800", "status": {"code": 1}}]')
@example(b'[{"workflowId": "a\xff", "status": {"code": 1}}]')
def test_arbitrary_bytes_parse_or_are_bad_responses(body):
    parse_both(body)


@PROPERTY
@given(json_values, st.integers(0, 1500))
def test_arbitrary_json_parses_or_is_a_bad_response(value, depth):
    parse_both(nested(dumps(value), depth))


job_items = st.fixed_dictionaries(
    {
        "workflowId": texts,
        "status": st.fixed_dictionaries({"code": integers}, optional={"name": texts | st.none()}),
    },
    optional={"runId": texts | st.none(), "unknown": json_values},
)


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


def overflows(value: object) -> bool:
    """Whether an integer in it is too large even for a float (orjson then refuses the text)."""
    if isinstance(value, list):
        return any(map(overflows, value))
    if isinstance(value, dict):
        return any(map(overflows, value.values()))
    return isinstance(value, int) and abs(value) > 2**1000


def has_lone_surrogate(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def usable(value: object, empty_ok: bool = True) -> bool:
    return isinstance(value, str) and len(value) <= MAX_FIELD_CHARS and (empty_ok or bool(value))


def in_bounds(item: dict) -> bool:
    """Whether a job item (as the stdlib reads it back) keeps every documented field bound."""
    status = item["status"]
    return (
        usable(item["workflowId"], empty_ok=False)
        and MIN_CODE <= status["code"] <= MAX_CODE
        and (status.get("name") is None or usable(status["name"]))
        and (item.get("runId") is None or usable(item["runId"]))
    )


#: where the deep part of a job goes, in the text (no generated string equals it)
DEEP = "\x00deep\x00"


@PROPERTY
@given(st.lists(job_items, max_size=4), st.integers(0, 1100))
@example([{"workflowId": "a", "status": {"code": 1}, "unknown": None}], MAX_JSON_DEPTH - 3)
@example([{"workflowId": "a", "status": {"code": 1}, "unknown": None}], MAX_JSON_DEPTH - 2)
@example([{"workflowId": "a", "status": {"code": 2**63}}], 0)
@example([{"workflowId": "a" * (MAX_FIELD_CHARS + 1), "status": {"code": 1}}], 0)
def test_every_field_round_trips_or_is_refused_with_a_reason(items, depth):
    for item in items:
        if "unknown" in item:
            item["deep"] = DEEP
    sent = json.loads(dumps(items))  # the oracle: what the JSON says (surrogate pairs joined)
    body = dumps(items).replace(dumps(DEEP), nested(b"[]", depth))
    deepest = max(
        [depth_of(sent)] + [3 + depth for item in items if "deep" in item],  # array, job, depth
    )
    must_refuse = has_lone_surrogate(sent) or not all(map(in_bounds, sent))
    # Past MAX_JSON_DEPTH orjson refuses; msgspec's fast path reads as deep as Python's recursion
    # limit lets it (1000 frames in jobwatch, more under hypothesis), keeping the known fields.
    may_refuse = deepest > MAX_JSON_DEPTH or overflows(sent)
    for result in parse_both(body):
        if isinstance(result, BadResponse):
            assert must_refuse or may_refuse, result.message
            continue
        assert not must_refuse, "accepted an answer that breaks a bound"
        assert len(result) == len(sent)
        for item, parsed in zip(sent, result, strict=True):
            assert parsed.workflow_id == item["workflowId"]
            assert parsed.status.code == item["status"]["code"]
            assert parsed.status.name == (item["status"].get("name") or "")
            assert parsed.run_id == (item.get("runId") or "")


def parsed_or_refused(body: bytes, last=None):
    try:
        answer = parse_answer(body, last)
    except BadResponse:
        return None, "refused"
    return answer, (answer.parsed, answer.jobs)


@PROPERTY
@given(
    st.lists(job_items, min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 5), job_items), max_size=3),
)
def test_reusing_the_previous_answer_parses_like_a_fresh_parse(first, changes):
    previous, _ = parsed_or_refused(dumps(first))
    second = list(first)
    for index, item in changes:
        second[index % len(second)] = item
    body = dumps(second)
    assert parsed_or_refused(body, previous)[1] == parsed_or_refused(body)[1]


# -- the client's read path -----------------------------------------------------------------

ENCODINGS = {
    "none": (None, lambda b: b),
    "gzip": ("gzip", gzip.compress),
    "deflate": ("deflate", zlib.compress),
    "raw deflate": ("deflate", lambda b: zlib.compress(b, wbits=-15)),
    "lying gzip": ("gzip", lambda b: b),
    "truncated gzip": ("gzip", lambda b: gzip.compress(b)[: max(1, len(b) // 2)]),
    "br": ("br", lambda b: b),
}


class Pieces(httpx.AsyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    async def __aiter__(self):
        for i in range(0, len(self.body), self.size):
            yield self.body[i : i + self.size]


async def fetch(status: int, body: bytes, encoding: str | None, piece: int, limit: int):
    def handler(request):
        headers = {"Content-Encoding": encoding} if encoding else {}
        return httpx.Response(status, stream=Pieces(body, piece), headers=headers)

    client = SharelyClient(
        Connection("https://api.test", "ws", "org", max_answer_bytes=limit),
        environ={"SHARELY_ACCESS_TOKEN": "tok"},
        transport=httpx.MockTransport(handler),
    )
    async with client:
        return await client.fetch_jobs(None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([200, 200, 200, 201, 400, 401, 404, 429, 500, 503]),
    st.one_of(st.binary(max_size=200), json_values.map(dumps), st.lists(job_items).map(dumps)),
    st.sampled_from(sorted(ENCODINGS)),
    st.integers(1, 64),
    st.sampled_from([10, 100, 10_000, 1 << 20]),
)
def test_the_client_raises_only_api_errors_whatever_comes_back(status, body, how, piece, limit):
    encoding, encode = ENCODINGS[how]
    try:
        result = asyncio.run(fetch(status, encode(body), encoding, piece, limit))
    except BadResponse:
        return
    except ApiError:
        assert status >= 300
        return
    assert 200 <= status <= 299
    assert result.nbytes <= limit
    assert result.jobs == parse_answer(body, None).jobs
