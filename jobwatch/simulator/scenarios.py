"""The simulator's jobs and how they evolve: the scenarios ("demo", "bulk", "static", "empty").

`JobBook` holds the jobs as the API would return them and applies the scenario's plan on its own
clock (`speed` times real time); it is not thread-safe: the Simulator calls it under its lock.
Everything random comes from RNGs seeded by the simulator's seed, so a scenario is the same on
every run. `Growth` makes the bulk workspace grow the way a real one does (new jobs appear, running
ones finish, the list's order shifts or changes): `jobwatch simulate --scenario bulk --grow …`.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from jobwatch.models import API_NAMES
from jobwatch.simulator.names import GROWTH_ORDERS

SCENARIOS = ("demo", "bulk", "static", "empty")
DEMO_MAX_JOBS = 60


@dataclass(frozen=True)
class Growth:
    """How a bulk workspace changes while it is watched: one growth tick every `every` seconds
    of scenario time.

    Each tick, with r the number of RUNNING jobs at that moment:
    - `new_share` x r new jobs appear (rounded, at least one), RUNNING; `reuse_share` of them
      are a finished workflowId started again under a new runId (Temporal allows it), the others
      new workflowIds;
    - `finish_share` x r RUNNING jobs (rounded, at least one) finish: 90% COMPLETED, 6% FAILED,
      2% TIMED_OUT, 2% CANCELLED.
    "1% new" is relative to the running jobs, not to the whole workspace: with equal shares the
    running set keeps its size and the workspace grows slowly, as a real one does. At the defaults,
    100,000 jobs of which 98% are finished have 2,000 running: 20 new and 20 finished jobs a tick
    (every 2 s), so the workspace holds about 103,000 jobs after five minutes. (1% of the whole
    workspace every 2 s would be 250,000 jobs after five minutes.)

    `order` says where the list puts new (and restarted) jobs:
    - "append": at the end (oldest first);
    - "prepend": at the front (newest first: every other item shifts by as many places);
    - "reorder": at the end, then the whole list is shuffled (the order changes every tick);
    - "mixed": each tick one of the three at random.
    `finished`: the share of the initial jobs already finished (terminal) when the book is built.
    """

    order: str = "append"
    every: float = 2.0
    new_share: float = 0.01
    finish_share: float = 0.01
    reuse_share: float = 0.05
    finished: float = 0.98

    def __post_init__(self) -> None:
        if self.order not in GROWTH_ORDERS:
            raise ValueError(
                f"unknown growth order {self.order!r}; choose one of {', '.join(GROWTH_ORDERS)}"
            )
        if not self.every > 0:
            raise ValueError("the growth tick must be longer than 0 seconds")
        for name in ("new_share", "finish_share", "reuse_share", "finished"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value:g}")


# Terminal outcomes of initial finished jobs and of jobs finishing: (cumulative probability, code)
_FINISHED_OUTCOMES = ((0.90, 2), (0.96, 3), (0.98, 7), (1.0, 4))

# kind -> (shortest, longest) planned duration in seconds
_KINDS: dict[str, tuple[float, float]] = {
    "taxonomy-publish": (30.0, 300.0),
    "role-assignment": (5.0, 40.0),
    "role-create": (5.0, 40.0),
    "role-delete": (5.0, 30.0),
    "cascade-delete-knowledge": (20.0, 150.0),
    "knowledge-create": (10.0, 90.0),
}
_KIND_NAMES = tuple(_KINDS)

# The 18 jobs the demo starts with: (kind, final code, plan). Plans: "done" finished before
# watching started, "live" runs and ends while watching, "chain" continues as new twice.
_DEMO_START: tuple[tuple[str, int, str], ...] = (
    ("taxonomy-publish", 2, "done"),
    ("role-create", 2, "done"),
    ("knowledge-create", 2, "done"),
    ("role-assignment", 3, "done"),
    ("cascade-delete-knowledge", 2, "done"),
    ("taxonomy-publish", 2, "live"),
    ("taxonomy-publish", 2, "chain"),
    ("role-assignment", 2, "live"),
    ("role-assignment", 2, "live"),
    ("role-create", 3, "live"),
    ("knowledge-create", 7, "live"),
    ("cascade-delete-knowledge", 5, "live"),
    ("knowledge-create", 2, "live"),
    ("role-delete", 2, "live"),
    ("cascade-delete-knowledge", 2, "live"),
    ("role-assignment", 4, "live"),
    ("taxonomy-publish", 3, "live"),
    ("role-create", 2, "live"),
)
# Outcomes of jobs that arrive while watching: (cumulative probability, code)
_ARRIVAL_OUTCOMES = ((0.80, 2), (0.92, 3), (0.95, 4), (0.97, 5), (1.0, 7))

STATIC_WORKSPACE_ID = "3f1c9a7e-5b2d-4c8e-9a41-7d2e6b0f8c13"
STATIC_ORGANIZATION_ID = "8b4e2d10-6f3a-4e71-b5c9-2a9d7e1f4c60"
STATIC_API_KEY = "sk-sharely-static0c5e8f1a2b3c4d5e6f708192a3b4c5d6"
# workflowId, code, name, runId
STATIC_JOBS: tuple[tuple[str, int, str, str], ...] = (
    ("role-create-0a1b2c3d", 1, "RUNNING", "0190f3a2-6c1d-7a4e-9b20-3d5f8e1c2a41"),
    ("taxonomy-publish-1f2e3d4c", 2, "COMPLETED", "0190f3a2-7d2e-7b5f-8c31-4e6a9f2d3b52"),
    ("knowledge-create-2b3c4d5e", 3, "FAILED", "0190f3a2-8e3f-7c60-9d42-5f7b0a3e4c63"),
    ("role-delete-3c4d5e6f", 4, "CANCELLED", "0190f3a2-9f40-7d71-ae53-608c1b4f5d74"),
    ("role-assignment-4d5e6f70", 4, "CANCELED", "0190f3a2-a051-7e82-bf64-719d2c506e85"),
    ("cascade-delete-knowledge-5e6f7081", 5, "TERMINATED", "0190f3a2-b162-7f93-8075-82ae3d617f96"),
    ("taxonomy-publish-6f708192", 6, "CONTINUED_AS_NEW", "0190f3a2-c273-70a4-9186-93bf4e7280a7"),
    ("knowledge-create-708192a3", 7, "TIMED_OUT", "0190f3a2-d384-71b5-a297-a4c05f8391b8"),
    ("role-assignment-8192a3b4", 9, "PAUSED", "0190f3a2-e495-72c6-b3a8-b5d16094a2c9"),
    ("role-create-92a3b4c5", 0, "UNSPECIFIED", "0190f3a2-f5a6-73d7-84b9-c6e271a5b3da"),
    ("knowledge-create-a3b4c5d6", 1, "RUNNING", "0190f3a3-06b7-74e8-95ca-d7f382b6c4eb"),
    ("role-assignment-b4c5d6e7", 2, "COMPLETED", "0190f3a3-17c8-75f9-a6db-e80493c7d5fc"),
)

_STATUS_CACHE: dict[tuple[int, str], dict] = {}


def status_object(code: int, name: str | None = None) -> dict:
    """A shared, never-mutated status object; jobs point at these."""
    if name is None:
        name = API_NAMES.get(code, "UNKNOWN")
    key = (code, name)
    st = _STATUS_CACHE.get(key)
    if st is None:
        st = _STATUS_CACHE[key] = {"code": code, "name": name}
    return st


def uuid4(rng: random.Random) -> str:
    n = rng.getrandbits(128)
    n = (n & ~(0xF << 76)) | (4 << 76)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def copy_job(job: dict) -> dict:
    return {"workflowId": job["workflowId"], "status": dict(job["status"]), "runId": job["runId"]}


#: a reorder cuts the list into this many blocks at random places and shuffles the blocks: every
#: item moves, at ~30 ms a tick for 100k jobs (a full shuffle took ~350 ms)
REORDER_BLOCKS = 64


def _reordered(items: list, rng: random.Random) -> list:
    """`items` in another order: cut at random places into REORDER_BLOCKS blocks, blocks shuffled."""
    if len(items) < 2:
        return items
    cuts = sorted(rng.sample(range(1, len(items)), min(REORDER_BLOCKS - 1, len(items) - 1)))
    bounds = [0, *cuts, len(items)]
    blocks = [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    first = blocks[0]
    while len(blocks) > 1 and blocks[0] is first:
        rng.shuffle(blocks)
    return [item for block in blocks for item in block]


class JobBook:
    """The jobs of the simulated workspace and the scheduled changes of its scenario."""

    def __init__(
        self,
        scenario: str,
        *,
        jobs: int,
        rng_jobs: random.Random,
        rng_ids: random.Random,
        clock: Callable[[], float] | None = None,
        speed: float = 1.0,
        growth: Growth | None = None,
    ) -> None:
        if growth is not None and scenario != "bulk":
            raise ValueError("growth applies to the bulk scenario only")
        self._rng = rng_jobs
        self._rng_ids = rng_ids
        self._clock = clock
        self._t0 = clock() if clock is not None else time.monotonic()
        self.speed = speed
        # bulk only: churn `churn_fraction` of RUNNING jobs every `churn_every` simulated seconds
        self.churn_every: float = 0.0
        self.churn_fraction: float = 0.01
        self._jobs: dict[str, dict] = {}
        self._gen: dict[str, int] = {}
        self._gen_counter = 0
        self._heap: list[tuple[float, int, str | None, int, int, str | None]] = []
        self._seq = 0
        self._version = 0
        self._all_cache: tuple[int, bytes] | None = None
        self._churns_done = 0
        #: bulk only: how the workspace grows (None: it does not)
        self.growth = growth
        self._growth_ticks_done = 0
        #: growth ticks applied so far, and the jobs they added and finished
        self.growth_ticks = 0
        self.jobs_added = 0
        self.jobs_finished = 0
        #: the last growth ticks: (when it was due on the book's clock, workflowIds that appeared
        #: or started again, workflowIds that finished); the bench times their delivery with it
        self.growth_log: deque[tuple[float, tuple[str, ...], tuple[str, ...]]] = deque(maxlen=1000)
        build = {
            "demo": self._build_demo,
            "bulk": lambda: self._build_bulk(jobs, growth.finished if growth else None),
            "static": self._build_static,
            "empty": lambda: None,
        }[scenario]
        build()

    def _sim_time(self) -> float:
        """Seconds of scenario time since the book was created."""
        now = self._clock() if self._clock is not None else time.monotonic()
        return (now - self._t0) * self.speed

    def select(self, ids: list[str]) -> list[dict]:
        """The jobs with these IDs, in request order, unknown IDs left out (as the API does)."""
        jobs = self._jobs
        return [jobs[i] for i in dict.fromkeys(ids) if i in jobs]

    def values(self) -> list[dict]:
        return list(self._jobs.values())

    def _new_gen(self, wid: str) -> int:
        self._gen_counter += 1
        self._gen[wid] = self._gen_counter
        return self._gen_counter

    def _put(self, wid: str, code: int, run_id: str, name: str | None = None) -> None:
        self._jobs[wid] = {"workflowId": wid, "status": status_object(code, name), "runId": run_id}
        self._new_gen(wid)

    def _schedule(
        self, at: float, wid: str | None, code: int = 0, run_id: str | None = None
    ) -> None:
        self._seq += 1
        gen = self._gen.get(wid, 0) if wid is not None else 0
        heapq.heappush(self._heap, (at, self._seq, wid, gen, code, run_id))

    def _new_workflow_id(self, kind: str) -> str:
        rng = self._rng
        while True:
            wid = f"{kind}-{rng.getrandbits(32):08x}"
            if wid not in self._jobs:
                return wid

    def _build_demo(self) -> None:
        rng = self._rng
        plan = list(_DEMO_START)
        rng.shuffle(plan)
        for kind, outcome, how in plan:
            wid = self._new_workflow_id(kind)
            run = uuid4(rng)
            if how == "done":
                self._put(wid, outcome, run)
                continue
            self._put(wid, 1, run)
            lo, hi = _KINDS[kind]
            if how == "live":
                self._schedule(rng.uniform(lo, hi) * rng.uniform(0.3, 1.0), wid, outcome)
                continue
            t = rng.uniform(8.0, 14.0)
            for _ in range(2):
                self._schedule(t, wid, 6, run)
                run = uuid4(rng)
                t += rng.uniform(2.5, 4.0)
                self._schedule(t, wid, 1, run)
                t += rng.uniform(20.0, 40.0)
            self._schedule(t, wid, outcome)
        self._schedule(rng.uniform(10.0, 20.0), None)

    def _demo_arrival(self, at: float) -> None:
        rng = self._rng
        kind = _KIND_NAMES[rng.randrange(len(_KIND_NAMES))]
        wid = self._new_workflow_id(kind)
        self._put(wid, 1, uuid4(rng))
        x = rng.random()
        outcome = next(code for p, code in _ARRIVAL_OUTCOMES if x <= p)
        lo, hi = _KINDS[kind]
        self._schedule(at + rng.uniform(lo, hi), wid, outcome)
        if len(self._jobs) < DEMO_MAX_JOBS:
            self._schedule(at + rng.uniform(10.0, 20.0), None)

    def _build_bulk(self, count: int, finished: float | None = None) -> None:
        """`count` jobs: 80% RUNNING (the historical bulk shape) or, with `finished`, that share
        already finished and the rest RUNNING."""
        rng = self._rng
        getrandbits = rng.getrandbits
        rand = rng.random
        jobs = self._jobs
        gen = self._gen
        self._gen_counter += 1
        g = self._gen_counter
        statuses = [status_object(c) for c in range(8)]
        running = statuses[1]
        outcomes = [(p, statuses[code]) for p, code in _FINISHED_OUTCOMES]

        def historical() -> dict:
            x = rand()
            if x < 0.80:
                return running
            if x < 0.92:
                return statuses[2]
            if x < 0.96:
                return statuses[3]
            return statuses[4 + int((x - 0.96) * 100)]  # 4, 5, 6 or 7, 1% each

        def mostly_finished() -> dict:
            if rand() >= (finished or 0.0):
                return running
            x = rand()
            return next(s for p, s in outcomes if x <= p)

        status_of = historical if finished is None else mostly_finished
        kinds = _KIND_NAMES
        nkinds = len(kinds)
        for _ in range(count):
            while True:
                wid = f"{kinds[getrandbits(16) % nkinds]}-{getrandbits(32):08x}"
                if wid not in jobs:
                    break
            jobs[wid] = {"workflowId": wid, "status": status_of(), "runId": uuid4(rng)}
            gen[wid] = g

    def _grow(self, due: float) -> None:
        """One growth tick (see Growth), due at `due` on the book's clock: new jobs appear,
        running ones finish, the order moves."""
        growth = self.growth
        assert growth is not None
        rng = self._rng
        jobs = self._jobs
        running = [j for j in jobs.values() if j["status"]["code"] == 1]
        r = len(running)
        new_count = max(1, round(r * growth.new_share)) if growth.new_share > 0 else 0
        finish_count = min(r, max(1, round(r * growth.finish_share))) if growth.finish_share else 0
        finishing = rng.sample(running, finish_count)
        for job in finishing:
            x = rng.random()
            job["status"] = status_object(next(c for p, c in _FINISHED_OUTCOMES if x <= p))
            self._new_gen(job["workflowId"])
        # New jobs: a few are finished workflowIds started again (new runId, RUNNING again).
        # each new job is a restarted one with probability reuse_share (so small books see some too)
        reused = sum(rng.random() < growth.reuse_share for _ in range(new_count))
        reused = min(reused, len(jobs) - r)
        fresh: dict[str, dict] = {}
        if reused:
            finished = [j for j in jobs.values() if j["status"]["code"] != 1]
            for job in rng.sample(finished, reused):
                wid = job["workflowId"]
                del jobs[wid]
                fresh[wid] = {"workflowId": wid, "status": status_object(1), "runId": uuid4(rng)}
        for _ in range(new_count - reused):
            kind = _KIND_NAMES[rng.randrange(len(_KIND_NAMES))]
            wid = self._new_workflow_id(kind)
            while wid in fresh:
                wid = self._new_workflow_id(kind)
            fresh[wid] = {"workflowId": wid, "status": status_object(1), "runId": uuid4(rng)}
        for wid in fresh:
            self._new_gen(wid)
        self.jobs_added += len(fresh)
        self.growth_log.append((due, tuple(fresh), tuple(job["workflowId"] for job in finishing)))
        order = growth.order
        if order == "mixed":
            order = GROWTH_ORDERS[rng.randrange(3)]
        if order == "prepend":
            fresh.update(jobs)
            self._jobs = fresh
        else:
            jobs.update(fresh)
            if order == "reorder":
                # keys only: 100k (key, value) tuples cost ~50 ms of allocation and collection
                self._jobs = {wid: jobs[wid] for wid in _reordered(list(jobs), rng)}
        self.growth_ticks += 1
        self.jobs_finished += finish_count
        self._version += 1

    def _build_static(self) -> None:
        for wid, code, name, run in STATIC_JOBS:
            self._put(wid, code, run, name)

    def churn(self, fraction: float) -> int:
        """Change `fraction` of the RUNNING jobs (at least one if any): most complete, some fail,
        some continue as new under a fresh runId. Returns how many changed."""
        running = [j for j in self._jobs.values() if j["status"]["code"] == 1]
        if not running or fraction <= 0:
            return 0
        rng = self._rng
        k = min(len(running), max(1, round(len(running) * fraction)))
        for job in rng.sample(running, k):
            x = rng.random()
            if x < 0.88:
                job["status"] = status_object(2)
            elif x < 0.96:
                job["status"] = status_object(3)
            else:
                job["runId"] = uuid4(rng)
            self._gen_counter += 1
            self._gen[job["workflowId"]] = self._gen_counter
        self._version += 1
        return k

    def advance(self) -> None:
        """Apply every scheduled change that is due on the scenario clock."""
        if not self._heap and self.churn_every <= 0 and self.growth is None:
            return
        now = self._sim_time()
        changed = False
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, wid, gen, code, run_id = heapq.heappop(heap)
            if wid is None:
                if len(self._jobs) < DEMO_MAX_JOBS:
                    self._demo_arrival(at)
                    changed = True
                continue
            job = self._jobs.get(wid)
            if job is None or self._gen.get(wid) != gen:
                continue
            job["status"] = status_object(code)
            if run_id is not None:
                job["runId"] = run_id
            changed = True
        if self.churn_every > 0:
            due = int(now // self.churn_every)
            for _ in range(min(due - self._churns_done, 10)):
                self.churn(self.churn_fraction)
            self._churns_done = max(self._churns_done, due)
        if self.growth is not None:
            due = int(now // self.growth.every)
            # at most 10 ticks at once: a clock that jumped must not stall the server
            for tick in range(self._growth_ticks_done + 1, due + 1)[-10:]:
                self._grow(self._t0 + tick * self.growth.every / self.speed)
            self._growth_ticks_done = max(self._growth_ticks_done, due)
        if changed:
            self._version += 1

    def set_status(
        self, workflow_id: str, code: int, name: str | None = None, run_id: str | None = None
    ) -> None:
        """Set a job's status (and runId); cancels whatever the scenario planned for it."""
        job = self._jobs.get(workflow_id)
        if job is None:
            raise KeyError(workflow_id)
        job["status"] = status_object(code, name)
        if run_id is not None:
            job["runId"] = run_id
        self._new_gen(workflow_id)
        self._version += 1

    def add_job(
        self, workflow_id: str, code: int = 1, run_id: str | None = None, name: str | None = None
    ) -> str:
        """Add a job at the end of the list; returns its runId."""
        if workflow_id in self._jobs:
            raise ValueError(f"job {workflow_id!r} already exists")
        if run_id is None:
            run_id = uuid4(self._rng_ids)
        self._put(workflow_id, code, run_id, name)
        self._version += 1
        return run_id

    def remove_job(self, workflow_id: str) -> bool:
        if self._jobs.pop(workflow_id, None) is None:
            return False
        self._gen.pop(workflow_id, None)
        self._version += 1
        return True

    def get(self, workflow_id: str) -> dict | None:
        self.advance()
        job = self._jobs.get(workflow_id)
        return None if job is None else copy_job(job)

    def snapshot(self) -> list[dict]:
        """Every job as the API would return it now (copies)."""
        self.advance()
        return [copy_job(j) for j in self._jobs.values()]

    def all_jobs_body(self) -> bytes:
        """The whole list as the API would send it (cached until a job changes)."""
        cache = self._all_cache
        if cache is not None and cache[0] == self._version:
            return cache[1]
        body = orjson.dumps(list(self._jobs.values()))
        self._all_cache = (self._version, body)
        return body
