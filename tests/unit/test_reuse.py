"""Byte-matched reuse (jobwatch.api.reuse): the same jobs as a whole parse, whatever the order,
the formatting or the strings; a caller that compares only the fresh jobs of one epoch ends where
comparing every job would; large answers yield to the event loop between slices; and the work of
an answer is proportional to what changed."""

from __future__ import annotations

import asyncio
import json
import random
import sys

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobwatch.api import reuse
from jobwatch.api.decode import parse_answer
from jobwatch.api.reuse import SLICE_BYTES, ItemCache, decode_now, decode_reusing
from jobwatch.errors import BadResponse
from jobwatch.models import Job, Status, shared_job, shared_status

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# IDs and runIds that contain separators, braces and quotes: a split inside a string must be caught
tricky = st.sampled_from(["a", "b", "c", "},{", "}, {", '"},{"workflowId":"b', "x\\", "é", ""])
names = st.sampled_from(["RUNNING", "COMPLETED", "", None])
items = st.fixed_dictionaries(
    {
        "workflowId": tricky,
        "status": st.fixed_dictionaries({"code": st.integers(0, 9), "name": names}),
    },
    optional={
        "runId": tricky,
        "extra": st.sampled_from([[{"a": 1}, {"b": 2}], {"x": "},{"}, None]),
    },
)
formats = st.sampled_from(["compact", "python", "indented"])


def dumps(value: list, how: str) -> bytes:
    if how == "compact":
        return orjson.dumps(value)
    if how == "python":
        return json.dumps(value).encode()
    return json.dumps(value, indent=2).encode()


def whole(body: bytes) -> list[Job] | None:
    try:
        return parse_answer(body, None).jobs
    except BadResponse:
        return None


@PROPERTY
@given(st.lists(items, max_size=8), formats)
def test_a_decoded_answer_is_exactly_what_a_whole_parse_gives(sent, how):
    body = dumps(sent, how)
    decoded = decode_now(body, ItemCache())
    if decoded is not None:
        assert decoded.jobs == whole(body)


# one step from an answer to the next: toggle a job between two states (so jobs change back),
# replace one, list one twice, or shuffle; then written in some format
steps = st.lists(
    st.tuples(
        st.sampled_from(["toggle", "toggle", "set", "twice", "shuffle"]),
        st.integers(0, 7),
        items,
        formats,
    ),
    min_size=1,
    max_size=8,
)


def evolve(first: list[dict], plan: list) -> list[tuple[list[dict], str]]:
    answers, current, rng = [], list(first), random.Random(0)
    for op, index, item, how in plan:
        if current:
            i = index % len(current)
            if op == "toggle":
                code = current[i]["status"]["code"]
                current[i] = {**current[i], "status": {"code": 3 - code if code in (1, 2) else 1}}
            elif op == "set":
                current[i] = item
            elif op == "twice":
                current.append(current[i])
            else:
                rng.shuffle(current)
        answers.append((list(current), how))
    return answers


@PROPERTY
@given(st.lists(items, min_size=1, max_size=6), steps)
def test_comparing_only_fresh_jobs_ends_where_comparing_every_job_would(first, plan):
    answers = [(first, "compact"), *evolve(first, plan)]
    cache = ItemCache()
    state: dict[str, Job] = {}
    absorbed: int | None = None
    for sent, how in answers:
        body = dumps(sent, how)
        expected = whole(body)
        decoded = decode_now(body, cache)
        if decoded is None:
            if expected is None:
                continue  # a bad response: nothing changes
            cache.forget()  # as the client does when it parses an answer whole
            jobs, fresh = expected, None
        else:
            assert decoded.jobs == expected
            if decoded.fresh is None:
                cache.forget()
            else:
                cache.commit(decoded.entries)
            jobs, fresh = decoded.jobs, decoded.fresh
        compare = fresh if fresh is not None and cache.epoch == absorbed else jobs
        for job in compare:
            state[job.workflow_id] = job
        absorbed = cache.epoch
        assert all(state[j.workflow_id] == j for j in jobs)


def bulk(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [
        {"workflowId": f"role-create-{i:08x}", "status": {"code": 2, "name": "COMPLETED"},
         "runId": f"{rng.getrandbits(128):032x}"}
        for i in range(n)
    ]  # fmt: skip


def test_a_large_answer_yields_to_the_event_loop_between_slices():
    body = orjson.dumps(bulk(20_000))
    assert len(body) > 4 * SLICE_BYTES
    ticks = 0

    async def main():
        nonlocal ticks
        done = asyncio.Event()

        async def count():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        counter = asyncio.create_task(count())
        decoded = await decode_reusing(body, ItemCache())
        done.set()
        await counter
        return decoded

    decoded = asyncio.run(main())
    assert decoded is not None and len(decoded.jobs) == 20_000
    assert ticks >= len(body) // SLICE_BYTES  # the loop ran between the slices


class Counting:
    """Counts the items decoded anew (the cost that must follow the changes, not the size)."""

    def __init__(self, monkeypatch) -> None:
        self.calls = 0
        real = reuse._decode_job

        def counted(data: bytes) -> Job:
            self.calls += 1
            return real(data)

        monkeypatch.setattr(reuse, "_decode_job", counted)


@pytest.mark.parametrize("size", [1000, 10_000, 100_000])
def test_a_changed_answer_decodes_only_its_new_and_changed_items_at_any_size(monkeypatch, size):
    jobs = bulk(size)
    cache = ItemCache()
    first = decode_now(orjson.dumps(jobs), cache)
    assert first is not None
    cache.commit(first.entries)
    counting = Counting(monkeypatch)
    # newest first: 20 new jobs shift every item; 20 others finish; the rest is reordered
    new = [{**j, "workflowId": f"new-{i}"} for i, j in enumerate(jobs[:20])]
    changed = [{**j, "status": {"code": 3, "name": "FAILED"}} for j in jobs[100:120]]
    rest = jobs[:100] + jobs[120:]
    random.Random(2).shuffle(rest)
    second = decode_now(orjson.dumps(new + changed + rest), cache)
    assert second is not None and len(second.jobs) == size + 20
    assert counting.calls == 40 and len(second.fresh) == 40
    counting.calls = 0
    assert decode_now(orjson.dumps(new + changed + rest), cache).fresh == second.fresh
    assert counting.calls == 40  # not committed yet: still new to the cache
    cache.commit(second.entries)
    counting.calls = 0
    third = decode_now(orjson.dumps(rest + changed + new), cache)
    assert counting.calls == 0 and third.fresh == []


def test_the_cache_keeps_the_jobs_of_the_first_answer_not_a_second_copy():
    """The first large answer is parsed whole; the cache filled from its bytes afterwards holds
    those very jobs (a copy of each was 29 MB at 100k jobs), so a later answer hands them out."""
    import httpx

    from jobwatch.api.client import SharelyClient
    from jobwatch.api.decode import PARSE_IN_THREAD_BYTES
    from jobwatch.api.transport import Connection

    jobs = bulk(10_000)
    bodies = [orjson.dumps(jobs), orjson.dumps(jobs), orjson.dumps(jobs[::-1])]
    assert len(bodies[0]) > PARSE_IN_THREAD_BYTES  # the cold path: parsed whole

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bodies.pop(0))

    async def main() -> list[list[Job]]:
        async with SharelyClient(
            Connection("https://api.test", "ws", "org"),
            environ={"SHARELY_ACCESS_TOKEN": "tok"},
            transport=httpx.MockTransport(handler),
        ) as client:
            return [(await client.fetch_jobs(None)).jobs for _ in range(3)]

    first, _, reordered = asyncio.run(main())
    handed_out = {id(job) for job in first}
    assert len(reordered) == len(first)
    assert all(id(job) in handed_out for job in reordered)
    # the whole parse shares its values too (jobwatch.models.shared_job)
    assert len({id(job.status) for job in first}) == 1
    assert all(sys.intern(job.workflow_id) is job.workflow_id for job in first)


def _copy(text: str) -> str:
    """An equal string that is another object (as a database row or a decoder makes)."""
    return "".join(list(text))


def test_decoded_jobs_share_their_strings_and_status_with_every_other_copy():
    """A job read before (the history's rows at a restart) and the same job decoded from an
    answer are one set of strings and one Status, whichever path decoded it: a slice of new
    items at once, or an item on its own next to known ones."""
    sent = bulk(3000)
    held = [
        shared_job(Job(_copy(i["workflowId"]), Status(2, _copy("COMPLETED")), _copy(i["runId"])))
        for i in sent
    ]
    cache = ItemCache()
    first = decode_now(orjson.dumps(sent), cache)
    assert first is not None and first.fresh == first.jobs  # decoded at once, slice by slice
    cache.commit(first.entries)
    changed = dict(sent[7], status={"code": 1, "name": "RUNNING"})
    second = decode_now(orjson.dumps([changed, *sent[:7], *sent[8:]]), cache)
    assert second is not None and len(second.fresh) == 1  # decoded on its own
    for job, copy in zip(first.jobs + second.fresh, held + [held[7]], strict=True):
        assert job.workflow_id is copy.workflow_id and job.run_id is copy.run_id
    assert all(job.status is held[0].status for job in first.jobs)
    assert second.fresh[0].status is shared_status(1, "RUNNING")


def test_large_freed_answers_go_back_to_the_system_on_glibc(monkeypatch):
    """fix_mmap_threshold sets glibc's mmap threshold once (and does nothing elsewhere)."""
    import os
    import sys

    from jobwatch.api import body

    monkeypatch.setattr(body, "_mmap_threshold_fixed", False)
    monkeypatch.setattr(os, "confstr", lambda name: None)
    assert body.fix_mmap_threshold() is False  # not glibc: nothing done
    monkeypatch.undo()
    monkeypatch.setattr(body, "_mmap_threshold_fixed", False)
    glibc = sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    assert body.fix_mmap_threshold() is glibc
    assert body.fix_mmap_threshold() is glibc


async def test_fill_commits_in_slices_and_lets_the_event_loop_run_between(monkeypatch):
    monkeypatch.setattr(reuse, "COMMIT_SLICE", 3)
    jobs = bulk(10)
    body = orjson.dumps(jobs)
    first = decode_now(body, ItemCache())
    assert first is not None
    whole_cache, sliced = ItemCache(), ItemCache()
    whole_cache.commit(first.entries)
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = turns
    await sliced.commit_in_slices(first.entries)
    other.cancel()
    assert turns - before >= 3  # 10 entries in 4 slices: 3 yields between them
    assert len(sliced) == len(whole_cache) == 10
    again = decode_now(body, sliced)
    assert again is not None and again.fresh == []  # every item found, as after one commit


def test_a_large_answer_waits_between_slices_while_a_key_is_pending(monkeypatch):
    """jobwatch.give_way: no slice after the first runs until the pending key has shown."""
    from jobwatch import give_way

    monkeypatch.setattr(give_way, "MAX_WAIT", 30.0)
    body = orjson.dumps(bulk(20_000))
    slices: list[int] = []
    real = reuse._segments

    def segments(*args):
        for pieces in real(*args):
            slices.append(len(pieces))
            yield pieces

    monkeypatch.setattr(reuse, "_segments", segments)

    async def main():
        give_way.key_pressed()
        try:
            task = asyncio.ensure_future(decode_reusing(body, ItemCache()))
            await asyncio.sleep(0.05)
            held = len(slices)
            give_way.key_shown()
            decoded = await asyncio.wait_for(task, 10.0)
        finally:
            give_way.key_shown()
        return held, decoded

    held, decoded = asyncio.run(main())
    assert held == 1  # the first slice, then nothing while the key was pending
    assert decoded is not None and len(decoded.jobs) == 20_000 and len(slices) > 4


def test_a_slice_decoded_at_once_keeps_each_piece_with_its_own_job():
    """A separator inside a string and a boundary written otherwise give as many pieces as jobs:
    decoding such a slice whole would pair pieces with the wrong jobs, so it is not taken."""
    body = (
        b'[{"workflowId":"x},{y","status":{"code":1}}, {"workflowId":"z","status":{"code":1}},'
        b'{"workflowId":"w","status":{"code":2}}]'
    )
    decoded = decode_now(body, ItemCache())
    assert decoded is None or decoded.jobs == whole(body)
    for piece, job in decoded.entries if decoded is not None else []:
        assert reuse._decode_job(b"{" + piece + b"}") == job
    plain = orjson.dumps(bulk(3000))  # more than a slice, every item new
    cache = ItemCache()
    decoded = decode_now(plain, cache)
    assert decoded is not None and decoded.jobs == whole(plain)
    for piece, job in decoded.entries:
        assert reuse._decode_job(b"{" + piece + b"}") == job


@PROPERTY
@given(st.lists(items, min_size=1, max_size=8), st.lists(formats, min_size=1, max_size=8))
def test_every_cached_piece_is_its_jobs_bytes_whatever_the_separators(sent, hows):
    """Each boundary written in its own format: whatever is cached pairs bytes with their job."""
    parts = [dumps([item], hows[i % len(hows)])[1:-1].strip() for i, item in enumerate(sent)]
    body = (
        b"[" + b", ".join(parts[:1] + [b"\n" * (i % 2) + p for i, p in enumerate(parts[1:])]) + b"]"
    )
    decoded = decode_now(body, ItemCache())
    if decoded is not None:
        assert decoded.jobs == whole(body)
        for piece, job in decoded.entries:
            assert reuse._decode_job(b"{" + piece + b"}") == job
