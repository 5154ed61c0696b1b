"""Past runs for the demo's throw-away history, so a first-time user sees typical durations at once.

`seed_demo_history` plays the ten minutes before the demo starts through the real recording path
(HistoryStore.record): a poll every SEED_POLL_INTERVAL seconds of the past jobs, by ID, that sees
each run appear, run and complete. Every window it records is therefore as narrow as a real watch
would make it, and the durations come from the simulator's own ranges per kind.

It lives here, above both the simulator (which knows the demo's kinds and how long they take) and
the store (which records), because neither of those may import the other. It polls the past jobs
by ID rather than as "all jobs", so the workspace's last all-jobs poll stays unknown: the demo's
first real poll must not claim that the jobs it finds appeared since the seeded polls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from jobwatch.models import Job, Status
from jobwatch.simulator.scenarios import _KINDS as KIND_DURATIONS  # the one home of those ranges
from jobwatch.simulator.scenarios import uuid4
from jobwatch.statuses import COMPLETED_CODE
from jobwatch.store.coverage import Answer
from jobwatch.store.history import HistoryStore

#: past runs seeded per demo kind (the durations need MIN_RUNS_FOR_USUAL for "slower than usual")
SEED_RUNS_PER_KIND = 6
#: how often the seeded past polls are (windows of this width are narrow)
SEED_POLL_INTERVAL = 5.0
#: the seeded past ends this long before `now`, so the demo's first poll follows without a gap
SEED_END_BEFORE = 2.0

_RUNNING = Status(1, "RUNNING")
_COMPLETED = Status(COMPLETED_CODE, "COMPLETED")


@dataclass(frozen=True, slots=True)
class PastRun:
    workflow_id: str
    run_id: str
    started: float
    ended: float


def plan_past_runs(
    now: float, *, seed: int = 0, per_kind: int = SEED_RUNS_PER_KIND
) -> list[PastRun]:
    """The past runs: per demo kind, `per_kind` runs of the simulator's durations for it, all
    inside the period that ends SEED_END_BEFORE seconds before `now`."""
    rng = random.Random(seed)
    longest = max(hi for _, hi in KIND_DURATIONS.values())
    end = now - SEED_END_BEFORE - SEED_POLL_INTERVAL
    begin = end - 2 * longest
    runs = []
    for kind, (lo, hi) in KIND_DURATIONS.items():
        for _ in range(per_kind):
            took = rng.uniform(lo, hi)
            started = rng.uniform(begin + SEED_POLL_INTERVAL, end - took)
            wid = f"{kind}-{rng.getrandbits(32):08x}"
            runs.append(PastRun(wid, uuid4(rng), started, started + took))
    return runs


def seed_demo_history(
    store: HistoryStore,
    workspace_id: str,
    *,
    now: float,
    seed: int = 0,
    per_kind: int = SEED_RUNS_PER_KIND,
) -> int:
    """Record the past runs as if jobwatch had watched them; returns how many runs."""
    runs = plan_past_runs(now, seed=seed, per_kind=per_kind)
    requested = [run.workflow_id for run in runs]
    first = min(run.started for run in runs) - SEED_POLL_INTERVAL
    shown: dict[str, Job] = {}
    at = first
    last = now - SEED_END_BEFORE
    while True:
        answer = []
        changed = []
        for run in runs:
            if run.started > at:
                continue
            status = _RUNNING if at < run.ended else _COMPLETED
            job = Job(run.workflow_id, status, run.run_id)
            answer.append(job)
            if shown.get(run.workflow_id) != job:
                shown[run.workflow_id] = job
                changed.append(job)
        store.record(
            workspace_id,
            changed,
            at,
            polled_at=at,
            answer=Answer(answer, requested),
            interval=SEED_POLL_INTERVAL,
        )
        if at >= last:
            return len(runs)
        at = min(at + SEED_POLL_INTERVAL, last)
