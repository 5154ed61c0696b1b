"""What the history costs at 100k jobs: writes per tick, windows bookkeeping, typical durations.

    python -m bench.history [--jobs 100000] [--repeat 5]

Each figure is the best of --repeat runs (the machine is shared; the best is the cost of the
work, the rest is waiting for a core), in milliseconds, with the rows SQLite wrote. The history
goes to a temporary directory. Ticks are recorded the way the poller records them: the changed
jobs plus the poll's answer (`Answer`), at a 2 s interval.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jobwatch.kinds import Kinds
from jobwatch.models import Job, Status
from jobwatch.store.history import Answer, HistoryStore

RUNNING = Status(1, "RUNNING")
COMPLETED = Status(2, "COMPLETED")
WS = "bench-ws"


def best(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.jobs, args.repeat
    rows: list[tuple[str, float, int | None]] = []
    with tempfile.TemporaryDirectory(prefix="jobwatch-bench-history-") as tmp:
        jobs = [Job(f"taxonomy-publish-{i:08x}", RUNNING, f"run-{i}") for i in range(n)]
        firsts = []
        for attempt in range(repeat):
            store = HistoryStore(Path(tmp) / f"first-{attempt}.sqlite3")
            started = time.perf_counter()
            store.record(WS, jobs, 1.0, answer=Answer(jobs), interval=2.0)
            firsts.append((time.perf_counter() - started) * 1000)
            store.close()
        rows.append((f"first write of {n} jobs", min(firsts), n * 2 + 1))
        store = HistoryStore(Path(tmp) / "history.sqlite3")
        store.record(WS, jobs, 1.0, answer=Answer(jobs), interval=2.0)
        conn = store._file._conn
        assert conn is not None
        clock = [1.0]

        def tick(changed: list[Job], listed: list[Job], requested=None) -> int:
            clock[0] += 2.0
            before = conn.total_changes
            store.record(WS, changed, clock[0], answer=Answer(listed, requested), interval=2.0)
            return conn.total_changes - before

        def measure(name: str, make: Callable[[], tuple[list[Job], list[Job], object]]) -> None:
            written = []
            times = []
            for _ in range(repeat):
                changed, listed, requested = make()
                started = time.perf_counter()
                written.append(tick(changed, listed, requested))
                times.append((time.perf_counter() - started) * 1000)
            rows.append((name, min(times), max(written)))

        measure("quiet tick, same answer list", lambda: ([], jobs, None))
        measure("quiet tick, equal answer in a new list", lambda: ([], list(jobs), None))
        state = {"jobs": jobs, "flip": False}

        def one_percent() -> tuple[list[Job], list[Job], None]:
            current = state["jobs"]
            status = RUNNING if state["flip"] else COMPLETED
            state["flip"] = not state["flip"]
            step = max(1, len(current) // (n // 100 or 1))
            changed = [Job(j.workflow_id, status, j.run_id) for j in current[::step][: n // 100]]
            by_id = {j.workflow_id: j for j in changed}
            listed = [by_id.get(j.workflow_id, j) for j in current]
            state["jobs"] = listed
            return changed, listed, None

        measure("1% of jobs change", one_percent)
        short = state["jobs"][1:]
        measure("quiet tick, one job outside the answer", lambda: ([], list(short), None))
        chosen = short[:1000]
        ids = [j.workflow_id for j in chosen]
        measure("poll of 1000 chosen IDs, quiet", lambda: ([], chosen, ids))
        started = [Job(f"role-create-{i:08x}", RUNNING, "r") for i in range(n)]
        everyone = short + started
        tick([], short, None)
        tick(started, everyone, None)
        done = [Job(j.workflow_id, COMPLETED, "r") for j in started]
        tick(done, short + done, None)
        kinds = Kinds()
        rows.append(
            (
                f"typical durations, {n} finished runs",
                best(repeat, lambda: store.typical_durations(WS, kinds)),
                None,
            )
        )
        rows.append((f"jobs() of {2 * n - 1} jobs", best(repeat, lambda: store.jobs(WS)), None))
        store.close()
    width = max(len(name) for name, _, _ in rows)
    print(f"{'figure':{width}}  {'best ms':>9}  rows written")
    for name, ms, written in rows:
        print(f"{name:{width}}  {ms:9.2f}  {'' if written is None else written}")


if __name__ == "__main__":
    main()
