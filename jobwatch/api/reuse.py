"""Reusing unchanged jobs by their bytes, wherever they are in an answer, in bounded slices.

A workspace's answer is mostly the same jobs as the last one, but not at the same places: new jobs
may come first (every item shifts), and the order is undocumented and may change. So the items of
an answer are matched with the items this client decoded before *by their bytes*: identical bytes
decode to an identical job, which is reused (the same object); only the other items are decoded.

How an answer is split without parsing it: an array of objects is `[{` piece0 `},{` piece1 ...
`}]`, where the separator is `},{` in compact JSON (the simulator, JavaScript, most servers) or
that with whitespace (`}, {` from Python's json.dumps): the first `}`, `,`, `{` with only
whitespace between them is taken as this answer's separator. A separator can also occur inside a
string or a nested value, but then a piece is not a valid object on its own: `{` + piece + `}` of
every piece being a valid job (decoded now, or identical to bytes decoded before) proves the split
was exact and the whole answer valid. Any piece that does not decode as a job (an error, or a
shape only the strict parser takes, such as a null name) and any answer not in that form makes
`decode_reusing` return None: the caller parses the answer whole (jobwatch.api.decode), which
accepts it or says what is wrong.

Why slices: at 100k jobs (12.7 MB) the work is ~20 ms of C calls; done at once it would hold the
event loop (and the GIL) for more than a frame, and a key pressed meanwhile would wait. Answers
larger than SLICE_BYTES are split and matched SLICE_BYTES at a time, and `decode_reusing` yields
to the event loop between slices (~0.4 ms each), so the dashboard keeps drawing and reading keys.
Measured at 100k jobs on the development machine: split ~5 ms, lookups ~8 ms, the rest ~5 ms in
all, spread over 50 slices; decoding all items anew would be ~100 ms, one msgspec call ~30 ms.

`ItemCache` holds, for each workflowId, the bytes and the job of the latest version this client
handed out: an earlier version's bytes are dropped when a job changes, so a reused job is always
the latest version of its workflowId this client returned. Its `epoch` changes whenever it forgets
(an answer parsed whole, an answer with a workflowId twice): a caller that absorbed every result
of one epoch needs to compare only the `fresh` jobs of the next result of that epoch.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import msgspec

from jobwatch.give_way import give_way
from jobwatch.models import Job, shared_job, shared_jobs

#: answers are split and matched this many bytes at a time (~2,000 jobs, ~0.4 ms a slice)
SLICE_BYTES = 256 * 1024
#: entries `ItemCache.commit_in_slices` commits between two yields to the event loop
#: (~2-3.5 ms a slice)
COMMIT_SLICE = 5000
_WHITESPACE = b" \t\r\n"
_SPACES = tuple(bytes([c]) for c in _WHITESPACE)
_SEPARATOR = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")
#: what _bounds returns for `[]`
EMPTY = (-1, -1)
_decode_job = msgspec.json.Decoder(Job).decode
_decode_jobs = msgspec.json.Decoder(list[Job]).decode
_workflow_id = attrgetter("workflow_id")
_epochs = itertools.count(1)
#: what a piece that is not a valid job raises (see jobwatch.api.decode: the strict parser decides)
_NOT_A_JOB = (msgspec.DecodeError, RecursionError, UnicodeDecodeError)


class ItemCache:
    """The latest version of each job this client handed out, by the bytes of its item."""

    def __init__(self) -> None:
        self._jobs: dict[bytes, Job] = {}
        self._bytes: dict[str, bytes] = {}
        self.epoch = next(_epochs)

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, piece: bytes) -> Job | None:
        return self._jobs.get(piece)

    def commit(self, entries: list[tuple[bytes, Job]]) -> None:
        """Take these newly decoded items as the latest versions of their workflowIds."""
        jobs, of = self._jobs, self._bytes
        for piece, job in entries:
            wid = job.workflow_id
            old = of.get(wid)
            if old is not None and old != piece:
                jobs.pop(old, None)
            jobs[piece] = job
            of[wid] = piece

    async def commit_in_slices(
        self, entries: list[tuple[bytes, Job]], *, older: bool = False
    ) -> None:
        """`commit`, COMMIT_SLICE entries at a time, yielding to the event loop between.
        `older`: the entries are of an earlier answer (the first one, parsed whole): a workflowId
        committed since keeps its newer version.

        The first answer's 100k entries took 44-71 ms at once (measured alone), and on the
        dashboard's event loop 50-110 ms at ~2 s after the first rows, while the history's first
        write held the GIL: the slowest key press of the 120x40 pty bench at 100k jobs (a key
        waited 92-134 ms before it was handled; traced in 4 runs of 70 s)."""
        of = self._bytes
        for start in range(0, len(entries), COMMIT_SLICE):
            if start:
                await give_way()
            part = entries[start : start + COMMIT_SLICE]
            if older:
                part = [(piece, job) for piece, job in part if job.workflow_id not in of]
            self.commit(part)

    def forget(self) -> None:
        """Drop everything (a new epoch): nothing handed out before counts as the latest."""
        self._jobs = {}
        self._bytes = {}
        self.epoch = next(_epochs)


@dataclass(eq=False)
class Decoded:
    """An answer matched against an ItemCache."""

    #: one job per workflowId, in the answer's order (a workflowId listed twice keeps its last)
    jobs: list[Job]
    #: the jobs decoded anew; every other job is a cache entry (None: the answer listed a
    #: workflowId twice, so the caller must compare every job)
    fresh: list[Job] | None
    #: the (piece, job) of the items decoded anew, for ItemCache.commit once the fetch succeeded
    entries: list[tuple[bytes, Job]] = field(default_factory=list)


def _skip(content: bytes, i: int, step: int, stop: int) -> int:
    """The first index from `i` (moving by `step`, not reaching `stop`) that is not whitespace."""
    while i != stop and content[i] in _WHITESPACE:
        i += step
    return i


def _bounds(content: bytes) -> tuple[int, int] | None:
    """The span between the outer `[{` and `}]` of an array of objects (whitespace allowed
    around and between them); EMPTY for an empty array; None for anything else."""
    n = len(content)
    first = _skip(content, 0, 1, n)
    last = _skip(content, n - 1, -1, -1)
    if first >= n or content[first] != 0x5B or content[last] != 0x5D:  # [ ]
        return None
    opened = _skip(content, first + 1, 1, n)
    if opened == last:
        return EMPTY
    closed = _skip(content, last - 1, -1, -1)
    if opened >= closed or content[opened] != 0x7B or content[closed] != 0x7D:  # { }
        return None
    return opened + 1, closed


def _segments(content: bytes, start: int, end: int) -> Iterator[tuple[bytes, list[bytes]]]:
    """SLICE_BYTES of the answer at a time: the slice, and its pieces between separators."""
    match = _SEPARATOR.search(content, start, end)
    if match is None:
        piece = content[start:end]
        yield piece, [piece]  # one item
        return
    separator = match.group()
    find = content.find
    while start < end:
        cut = find(separator, start + SLICE_BYTES, end) if end - start > SLICE_BYTES else -1
        stop = end if cut < 0 else cut
        raw = content[start:stop]
        yield raw, raw.split(separator)
        start = stop + len(separator) if cut >= 0 else end


def _decode_slice(raw: bytes, pieces: list[bytes]) -> list[Job] | None:
    """The jobs of a slice none of whose items is known, in one msgspec call (~15x faster than a
    call per item: a restart's cache fill of 100k jobs held the event loop ~0.3-0.5 s in slices),
    or None unless they are provably what decoding each piece alone gives.

    Proof: every place in the slice where the separator's pattern matches is the separator itself
    (as many matches as the split found), so every boundary between two items is a cut; and the
    slice holds as many jobs as pieces, so no cut lies inside an item. Then piece i is exactly the
    bytes of job i. A slice cut inside an item, or any invalid item, does not decode: None, and
    the pieces are decoded one by one as before."""
    # without whitespace the pattern can only match the compact separator (`},{`) itself
    if any(space in raw for space in _SPACES) and len(_SEPARATOR.findall(raw)) != len(pieces) - 1:
        return None
    try:
        jobs = _decode_jobs(b"[{" + raw + b"}]")
    except _NOT_A_JOB:
        return None
    return jobs if len(jobs) == len(pieces) else None


def _steps(
    content: bytes,
    cache: ItemCache,
    out: list[Decoded | None],
    same: Sequence[Job] | None = None,
) -> Iterator[None]:
    """Match and decode `content` one slice per step; the result (or None) goes into `out`.

    `same`: the jobs handed out for these very bytes, in the answer's order (see decode_reusing)."""
    bounds = _bounds(content)
    if bounds is None or bounds == EMPTY:
        out.append(None if bounds is None else Decoded([], []))
        return
    parsed: list[Job] = []
    fresh: list[Job] = []
    entries: list[tuple[bytes, Job]] = []
    seen: set[str] = set()
    get = cache.get
    known = len(same) if same is not None else 0
    for raw, pieces in _segments(content, *bounds):
        found: list[Job | None] = list(map(get, pieces)) if cache else [None] * len(pieces)
        base = len(parsed)
        at_once = _decode_slice(raw, pieces) if found.count(None) == len(found) else None
        if at_once is not None:
            # every item new: whole lists, not the loop below (~1 us an item: 0.1 s at 100k)
            kept = same[base : base + len(at_once)] if base < known else ()  # type: ignore[index]
            reused = [k if k == j else shared_job(j) for k, j in zip(kept, at_once, strict=False)]
            at_once = reused + shared_jobs(at_once[len(reused) :])
            fresh.extend(at_once)
            entries.extend(zip(pieces, at_once, strict=True))
            found = at_once  # type: ignore[assignment]
        elif None in found:
            for i, job in enumerate(found):
                if job is None:
                    piece = pieces[i]
                    try:
                        job = shared_job(_decode_job(b"{" + piece + b"}"))
                    except _NOT_A_JOB:
                        out.append(None)  # not a job on its own: the strict parser decides
                        return
                    if base + i < known:
                        kept = same[base + i]  # type: ignore[index]
                        if kept == job:
                            job = kept
                    found[i] = job
                    fresh.append(job)
                    entries.append((piece, job))
        jobs = found  # every entry is a Job now
        seen.update(map(_workflow_id, jobs))
        parsed.extend(jobs)  # type: ignore[arg-type]
        yield
    if len(seen) == len(parsed):
        out.append(Decoded(parsed, fresh, entries))
        return
    # A workflowId listed twice keeps its last entry: the poller must see one state per job.
    unique = list({job.workflow_id: job for job in parsed}.values())
    out.append(Decoded(unique, None, entries))


def decode_now(
    content: bytes, cache: ItemCache, same: Sequence[Job] | None = None
) -> Decoded | None:
    """`content` matched against `cache` at once; None if the strict parser must decide."""
    out: list[Decoded | None] = []
    for _ in _steps(content, cache, out, same):
        pass
    return out[0]


async def decode_reusing(
    content: bytes, cache: ItemCache, same: Sequence[Job] | None = None
) -> Decoded | None:
    """`content` matched against `cache`, yielding to the event loop between slices when it is
    larger than SLICE_BYTES; None if the strict parser must decide (see the module's doc).

    The cache itself is not changed: commit `entries` once the whole fetch succeeded.

    `same`: the jobs this client already handed out for these very bytes (the whole parse of
    the first answer), in the answer's order: an item decoded anew that equals the job at its
    position *is* that job from then on, so the cache holds no second copy of what the caller
    keeps. Measured at 100k jobs: the copy was 29 MB (5 objects a job) of the dashboard's ~220.
    """
    if len(content) <= SLICE_BYTES:
        return decode_now(content, cache, same)
    out: list[Decoded | None] = []
    for _ in _steps(content, cache, out, same):
        await give_way()
    return out[0]
