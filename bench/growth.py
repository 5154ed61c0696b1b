"""The growing-workspace scenarios of the benchmark: measured in process and from outside, in a pty.

    python -m bench.bench --scenarios growing,prepended,reordered,mixed [--duration 300]

Each scenario is the simulator's bulk workspace growing as `jobwatch simulate --grow` does
(jobwatch.simulator.scenarios.Growth: 98% of the jobs finished, every 2 s 1% of the running jobs
new and 1% of them finishing), with new jobs put at the end (growing), at the front (prepended),
with the list's order changing every tick (reordered) or one of the three at random (mixed).

For each scenario and size, three processes take turns, the simulator in a fourth of its own (so
that serialising a 12.7 MB answer never holds the GIL of a process that measures):

1. in process: the dashboard headless (`App.run_test`) in a child, as bench.bench measures it,
   with its default intervals: key latency (key sent to the screen update showing it), the longest
   stall of its event loop, CPU while watching, first paint;
2. the minimal Textual app (bench/minimal_app.py) in a pseudo-terminal (bench/pty_probe.py);
3. `jobwatch watch` in a pseudo-terminal, for `--duration` seconds from its start: first rows,
   `down` pressed every 0.1 s for `--key-seconds`, then `--watch-seconds` with no key (CPU of its
   process tree), then resident memory sampled until the end.

The simulator process logs every background-jobs answer it serves (when, how many bytes, the whole
list or which IDs) and when each growth tick's new and finished jobs were first served to the
client: bytes per minute, the poll interval achieved and the delivery lag come from that log.
bench/README.md says exactly what each figure is.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.child import run_child
from jobwatch.schedule import DEFAULT_DISCOVERY_INTERVAL

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
MINIMAL_APP = HERE / "minimal_app.py"
#: bench scenario -> the simulator's growth order
SCENARIOS = {
    "growing": "append",
    "prepended": "prepend",
    "reordered": "reorder",
    "mixed": "mixed",
}
#: the poll interval the dashboard is asked for (its default) and the growth tick
INTERVAL = 2.0
PRESS_EVERY_PTY = 0.1
PRESS_EVERY_INPROC = 0.05
#: seconds of RSS samples whose median counts at the half and at the end ("flat", rss_growth):
#: one interval of the whole-list reads
RSS_WINDOW = DEFAULT_DISCOVERY_INTERVAL
MINIMAL_ROWS = 200
TOKEN_ENV = "SHARELY_ACCESS_TOKEN"

#: per scenario and size, in this order: `{scenario}_{figure}_{size}` (see bench/README.md)
FIGURES = (
    "first_rows_s",
    "first_answer_s",
    "first_answer_served_s",
    "first_rows_fresh_s",
    "first_answer_fresh_s",
    "key_p50_ms",
    "key_p95_ms",
    "key_max_ms",
    "key_p95_ratio",
    "key_max_ratio",
    "cpu_pct",
    "mb_per_min",
    "bytes_share_pct",
    "interval_s",
    "interval_max_s",
    "new_lag_max_s",
    "change_lag_max_s",
    "rss_mb",
    "rss_growth_mb",
    "minimal_first_rows_s",
    "minimal_key_p50_ms",
    "minimal_key_p95_ms",
    "minimal_key_max_ms",
    "minimal_cpu_pct",
    "minimal_rss_mb",
    "inproc_first_paint_s",
    "inproc_key_p50_ms",
    "inproc_key_p95_ms",
    "inproc_key_max_ms",
    "inproc_stall_max_ms",
    "inproc_cpu_pct",
    "inproc_rss_mb",
)


def suffix(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def plan(scenarios: list[str], sizes: list[int]) -> list[tuple[str, int]]:
    """(scenario, size) pairs: "growing" at every size, the other scenarios at the largest."""
    pairs = []
    for name in scenarios:
        for size in sizes if name == "growing" else [max(sizes)]:
            pairs.append((name, size))
    return pairs


def expected_keys(scenarios: list[str], sizes: list[int]) -> list[str]:
    return [f"{s}_{f}_{suffix(n)}" for s, n in plan(scenarios, sizes) for f in FIGURES]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank (a value that was measured); None if there is none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# ------------------------------------------------------------------ the simulator's process


class ServedLog:
    """Every background-jobs answer a Simulator serves, and when growth reached the client.

    It wraps the simulator's request handler (bench instrumentation: the simulator itself is
    not changed). A growth tick's new jobs count as delivered at the first answer that holds
    them (the whole list, or an answer to IDs that name them); its finished jobs likewise.
    """

    def __init__(self, sim: Any) -> None:
        import orjson

        self._loads = orjson.loads
        self.sim = sim
        self.requests: list[tuple[float, float, bool, int, int]] = []
        self.new_lags: list[tuple[float, float]] = []  # (due, lag)
        self.change_lags: list[tuple[float, float]] = []
        self._pending_new: dict[str, float] = {}
        self._pending_change: dict[str, float] = {}
        self._ticks_seen = 0
        # the book's clock is time.monotonic(); perf_counter() is what everything else uses
        self._offset = time.perf_counter() - time.monotonic()
        self._lock = threading.Lock()
        real = sim._handle

        def handle(method: str, raw_path: str, headers: Any, body: bytes) -> Any:
            start = time.perf_counter()
            answer = real(method, raw_path, headers, body)
            if isinstance(answer, tuple) and raw_path.split("?")[0].endswith("/background-jobs"):
                self._served(start, time.perf_counter(), body, answer)
            return answer

        sim._handle = handle

    def _served(self, start: float, end: float, body: bytes, answer: tuple) -> None:
        status, _, payload = answer
        try:
            request = self._loads(body)
        except ValueError:
            request = None
        ids = request.get("jobIds") if isinstance(request, dict) else None
        full = ids is None
        with self._lock:
            self.requests.append((start, end, full, len(payload), 0 if full else len(ids)))
            if status != 200:
                return
            with self.sim.lock:
                log = list(self.sim.book.growth_log)
                ticks = self.sim.book.growth_ticks
            fresh = log[len(log) - (ticks - self._ticks_seen) :] if ticks > self._ticks_seen else []
            self._ticks_seen = ticks
            for due, added, finished in fresh:
                due += self._offset
                for wid in added:
                    self._pending_new[wid] = due
                for wid in finished:
                    # a job the client could not know of yet is delivered as a new one
                    if wid not in self._pending_new:
                        self._pending_change[wid] = due
            if full:
                for pending, lags in (
                    (self._pending_new, self.new_lags),
                    (self._pending_change, self.change_lags),
                ):
                    lags.extend((due, end - due) for due in pending.values())
                    pending.clear()
            else:
                for wid in ids:
                    for pending, lags in (
                        (self._pending_new, self.new_lags),
                        (self._pending_change, self.change_lags),
                    ):
                        due = pending.pop(wid, None)
                        if due is not None:
                            lags.append((due, end - due))

    def report(self) -> dict:
        with self._lock, self.sim.lock:
            return {
                "requests": list(self.requests),
                "new_lags": list(self.new_lags),
                "change_lags": list(self.change_lags),
                # still waiting: (due) of jobs not delivered yet
                "pending_new": list(self._pending_new.values()),
                "pending_change": list(self._pending_change.values()),
                "full_bytes": len(self.sim.book.all_jobs_body()),
                "jobs": len(self.sim.book.values()),
            }


def serve_main(spec: dict) -> int:
    """The simulator's process: serve, say how to connect, answer "report", stop on "quit"."""
    from jobwatch.simulator.scenarios import Growth
    from jobwatch.simulator.server import Simulator

    growth = Growth(order=spec["order"], every=spec["every"])
    sim = Simulator("bulk", jobs=spec["size"], seed=spec.get("seed", 1), growth=growth)
    log = ServedLog(sim)
    base_url = sim.start()
    hello = {
        "base_url": base_url,
        "workspace_id": sim.workspace_id,
        "organization_id": sim.organization_id,
        "token": sim.token,
    }
    print(json.dumps(hello), flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "report":
                print(json.dumps(log.report()), flush=True)
            elif command == "quit":
                break
    finally:
        sim.stop()
    return 0


class Server:
    """The simulator in its own process (`python -m bench.bench --serve SPEC`)."""

    def __init__(self, size: int, order: str) -> None:
        spec = {"size": size, "order": order, "every": INTERVAL}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench", "--serve", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process did not start")
        self.hello: dict = json.loads(line)

    def report(self) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def served_figures(report: dict, start: float, end: float) -> dict:
    """Bytes per minute, poll interval achieved and delivery lags within [start, end)."""
    requests = [r for r in report["requests"] if start <= r[0] < end]
    minutes = max(1e-9, (end - start) / 60.0)
    mb_per_min = sum(r[3] for r in requests) / 1e6 / minutes
    # "the whole list every tick": one whole answer (as large as at the end) per asked interval
    whole = report["full_bytes"] * (60.0 / INTERVAL) / 1e6
    # A tick is a burst of requests (the batches, perhaps the whole list) less than half an
    # interval apart; the interval achieved is the mean time between the starts of ticks.
    starts: list[float] = []
    last_end = float("-inf")
    for r in requests:
        if r[0] - last_end > INTERVAL / 2:
            starts.append(r[0])
        last_end = r[1]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # Lags: of the changes due in the window; one still pending at its end counts as that long
    new = [lag for due, lag in report["new_lags"] if start <= due < end]
    new += [end - due for due in report["pending_new"] if start <= due < end]
    change = [lag for due, lag in report["change_lags"] if start <= due < end]
    change += [end - due for due in report["pending_change"] if start <= due < end]
    return {
        "mb_per_min": mb_per_min,
        "bytes_share_pct": 100.0 * mb_per_min / whole if whole else 0.0,
        "interval_s": statistics.fmean(gaps) if gaps else None,
        "interval_max_s": max(gaps) if gaps else None,
        "new_lag_max_s": max(new) if new else None,
        "change_lag_max_s": max(change) if change else None,
        "x_requests": len(requests),
        "x_full_requests": sum(1 for r in requests if r[2]),
        "x_ticks": len(starts),
        "x_new": len(new),
        "x_changes": len(change),
    }


def first_answer(report: dict, spawned: float) -> tuple[float | None, float | None]:
    """Of the first whole-list answer served after `spawned`: (when its request reached the
    simulator, when its answer was ready to send), in s from `spawned`; Nones if none came."""
    full = [r for r in report["requests"] if r[2] and r[0] >= spawned]
    if not full:
        return None, None
    start, end = full[0][0], full[0][1]
    return start - spawned, end - spawned


# ------------------------------------------------------------------ from outside: the pty


def first_rows_in_pty(argv: list[str], env: dict[str, str]) -> dict:
    """Only the first rows of `argv` on a 120x40 pty (as `measure_in_pty` takes them), then quit."""
    sys.path.insert(0, str(HERE))
    import pty_probe

    seconds, started_at, text = pty_probe.first_rows_seconds(
        argv,
        env,
        pty_probe.rows_shown(10, pty_probe.DEFAULT_LAYOUT),
        timeout=120.0,
        cwd=str(REPO_ROOT),
        quit_key="q",
    )
    if seconds is None:
        raise RuntimeError(f"{text}\n{argv}: no rows within 120 s")
    return {"first_rows_s": seconds, "started_at": started_at}


def measure_in_pty(
    argv: list[str],
    env: dict[str, str],
    *,
    key_seconds: float,
    min_presses: int,
    watch_seconds: float,
    duration: float,
    rss_every: float = 5.0,
    log: Callable[[str], None] = lambda _m: None,
) -> dict:
    """First rows, `down` latencies, CPU while watching and RSS of `argv` on a 120x40 pty."""
    sys.path.insert(0, str(HERE))
    import pty_probe

    layout = pty_probe.DEFAULT_LAYOUT
    out: dict = {}
    with pty_probe.PtySession(argv, env=env, cwd=str(REPO_ROOT)) as session:
        first = session.wait_for_snapshot(pty_probe.rows_shown(10, layout), 120.0)
        if first is None:
            raise RuntimeError(f"{session.screen_text()}\n{argv}: no rows within 120 s")
        out["first_rows_s"] = first.time - session.started_at
        if session.wait_for(pty_probe.cursor_row_in_detail(layout), 20.0) is None:
            raise RuntimeError(
                f"{session.screen_text()}\n{argv}: the detail pane never named the highlighted row"
            )
        # Presses start at once: a person presses as soon as the rows show, and a restart's first
        # seconds (the rest of the history, the first answer) are part of what a key waits for.
        expects = {"detail": pty_probe.detail_shows_next_row(layout)}
        home = pty_probe.detail_shows_first_row(layout)
        latencies: list[float] = []
        missed = 0
        started = time.perf_counter()
        next_at = started
        while time.perf_counter() - started < key_seconds or len(latencies) + missed < min_presses:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            next_at = time.perf_counter() + PRESS_EVERY_PTY
            if not pty_probe.has_next_row(session.snapshot(), layout):
                pty_probe.measure_key_latency(session, "home", home, 5.0)
                continue
            got = pty_probe.measure_key_latencies(session, "down", expects, 5.0)["detail"]
            if got is None:
                missed += 1
            else:
                latencies.append(got)
        out["presses"] = len(latencies)
        out["missed"] = missed
        out["key_p50_ms"] = percentile(latencies, 50)
        out["key_p95_ms"] = percentile(latencies, 95)
        out["key_max_ms"] = max(latencies) if latencies else None
        out["x_slowest_ms"] = [round(ms, 1) for ms in sorted(latencies)[-5:]]
        time.sleep(1.0)
        cpu0, t0 = pty_probe.tree_cpu_seconds(session.pid), time.perf_counter()
        time.sleep(watch_seconds)
        cpu1, t1 = pty_probe.tree_cpu_seconds(session.pid), time.perf_counter()
        out["cpu_pct"] = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        out["watch_window"] = (t0, t1)
        samples = [(t1 - session.started_at, pty_probe.tree_rss_mb(session.pid))]
        while (now := time.perf_counter()) - session.started_at < duration:
            time.sleep(min(rss_every, max(0.0, duration - (now - session.started_at))))
            samples.append(
                (time.perf_counter() - session.started_at, pty_probe.tree_rss_mb(session.pid))
            )
        out["rss_mb"] = samples[-1][1]
        out["rss_growth_mb"] = rss_growth(samples, duration)
        out["x_rss"] = [(round(t), round(mb, 1)) for t, mb in samples]
        out["started_at"] = session.started_at
        out["ended_at"] = time.perf_counter()
        session.send("q")
        out["exit_status"] = session.wait_exit(15.0)
        log(f"  pty: {len(latencies)} presses ({missed} missed), exit {out['exit_status']}")
    return out


def rss_growth(samples: list[tuple[float, float]], duration: float) -> float:
    """The change of resident memory over the second half of a run ("flat"): the median of the
    (time, MB) samples in the last RSS_WINDOW seconds minus that of the RSS_WINDOW from the half.

    Not the last sample minus the one at the half: every read of the whole list (each 30 s) held
    its answer until the next tick's before 1ee3704, ~2 s (12.7 MB body, RSS +13-15 MB at 100k
    jobs), so 7% of samples land on such a peak, and a run whose last sample did read +14.3 MB
    "growth" (100k reordered, 2026-12-02) while its memory was flat. A window holds one such
    read at most: with a sample every 5 s, its median never is the peak's (measured: README, "A
    workspace that grows")."""
    half = duration / 2
    start = [mb for t, mb in samples if half <= t < half + RSS_WINDOW] or [samples[0][1]]
    end = [mb for t, mb in samples if t >= duration - RSS_WINDOW] or [samples[-1][1]]
    return statistics.median(end) - statistics.median(start)


# ------------------------------------------------------------------ in process: the child


async def child_main(spec: dict) -> dict:
    """The dashboard headless against the growing simulator (a `bench.bench --child` mode)."""
    from textual import events

    from bench.bench import (
        TERMINAL_SIZE,
        Probe,
        make_app,
        message_hook,
        rss_mb,
        wait_until,
    )
    from jobwatch.store.history import HistoryStore
    from jobwatch.store.paths import HISTORY_FILE_NAME

    probe = Probe()
    # the file `jobwatch watch` opens in the same data directory: its pty run is a restart
    history = HistoryStore(os.path.join(spec["data_dir"], HISTORY_FILE_NAME))
    app = make_app(spec, probe, history)  # the default intervals, as a user gets them
    stalls: list[float] = []
    out: dict = {}

    async def watch_loop() -> None:
        """How late a 5 ms sleep wakes up: the event loop's stalls."""
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append((time.perf_counter() - before - 0.005) * 1000)

    async with app.run_test(size=TERMINAL_SIZE, message_hook=message_hook(probe)):
        table = app.main_screen.table
        await wait_until(lambda: len(table) >= spec["size"], timeout=180)
        received = probe.responses[0][0]
        shown = await probe.display_after(received, lambda _n, _t, _r: len(table) >= spec["size"])
        out["inproc_first_paint_s"] = shown - received
        await wait_until(lambda: probe.polls)
        await asyncio.sleep(1.0)
        watcher = asyncio.create_task(watch_loop())
        probe.token = lambda: (table.cursor_key, type(app.focused).__name__)
        driver = app._driver
        latencies: list[float] = []
        polls = len(probe.polls)
        started = time.perf_counter()
        keys = ("down", "down", "down", "home")
        i = 0
        while time.perf_counter() - started < spec["inproc_seconds"]:
            key = keys[i % len(keys)]
            i += 1
            before = probe.token()
            pressed = time.perf_counter()
            driver.send_message(events.Key(key, None))
            when = await probe.display_after(
                pressed, lambda _n, token, _t, before=before: token != before
            )
            if key == "down":
                latencies.append((when - pressed) * 1000)
            delay = pressed + PRESS_EVERY_INPROC - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        out["inproc_key_p50_ms"] = percentile(latencies, 50)
        out["inproc_key_p95_ms"] = percentile(latencies, 95)
        out["inproc_key_max_ms"] = max(latencies) if latencies else None
        out["x_inproc_presses"] = len(latencies)
        out["x_inproc_polls"] = len(probe.polls) - polls
        probe.token = lambda: None
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(spec["inproc_idle_seconds"])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        out["inproc_cpu_pct"] = 100 * cpu / wall
        watcher.cancel()
        out["inproc_stall_max_ms"] = max(stalls) if stalls else None
        out["x_inproc_stalls_over_16ms"] = sum(1 for s in stalls if s > 16.7)
        out["inproc_rss_mb"] = rss_mb()
    history.close()
    return out


# ------------------------------------------------------------------ one scenario


def run_scenario(name: str, size: int, options: dict, log: Callable[[str], None]) -> dict:
    """Every figure of one scenario at one size (FIGURES, plus x_ details)."""
    order = SCENARIOS[name]
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="jobwatch-bench-growth-") as tmp:
        from jobwatch.store.paths import CONFIG_ENV, DATA_DIR_ENV

        env = dict(os.environ)
        env[DATA_DIR_ENV] = tmp
        env[CONFIG_ENV] = os.path.join(tmp, "config.toml")

        log(f"bench: {name}, {size} jobs: in process, {options['inproc_seconds']:g} s of keys …")
        with Server(size, order) as server:
            hello = server.hello
            env[TOKEN_ENV] = hello["token"]
            spec = {
                "mode": "growth",
                "size": size,
                "base_url": hello["base_url"],
                "workspace_id": hello["workspace_id"],
                "organization_id": hello["organization_id"],
                "data_dir": tmp,
                "config_path": env[CONFIG_ENV],
                "inproc_seconds": options["inproc_seconds"],
                "inproc_idle_seconds": options["inproc_idle_seconds"],
            }
            child_env = {**env, "JOBWATCH_BENCH_TOKEN": hello["token"]}
            out.update(run_child(spec, child_env, "the in-process growth child"))

        # A first start with an empty history: the pty run below starts where the in-process run
        # left its history (`size` jobs known), as a restart does.
        log(f"bench: {name}, {size} jobs: jobwatch watch's first rows, empty history …")
        with tempfile.TemporaryDirectory(prefix="jobwatch-bench-fresh-") as fresh_dir:
            fresh_env = {**env, DATA_DIR_ENV: fresh_dir}
            fresh_env[CONFIG_ENV] = os.path.join(fresh_dir, "config.toml")
            with Server(size, order) as server:
                fresh_env[TOKEN_ENV] = server.hello["token"]
                fresh = first_rows_in_pty(watch_argv(server.hello), fresh_env)
                _, answered = first_answer(server.report(), fresh["started_at"])
        out["first_rows_fresh_s"] = fresh["first_rows_s"]
        out["first_answer_fresh_s"] = answered

        log(f"bench: {name}, {size} jobs: the minimal app in a pty …")
        minimal = measure_in_pty(
            [sys.executable, str(MINIMAL_APP), "--rows", str(MINIMAL_ROWS)],
            env,
            key_seconds=0.0,
            min_presses=options["minimal_presses"],
            watch_seconds=options["minimal_watch_seconds"],
            duration=0.0,
        )
        for key in ("first_rows_s", "key_p50_ms", "key_p95_ms", "key_max_ms", "cpu_pct", "rss_mb"):
            out[f"minimal_{key}"] = minimal[key]

        log(f"bench: {name}, {size} jobs: jobwatch watch in a pty for {options['duration']:g} s …")
        with Server(size, order) as server:
            hello = server.hello
            env[TOKEN_ENV] = hello["token"]
            pty = measure_in_pty(
                watch_argv(hello),
                env,
                key_seconds=options["key_seconds"],
                min_presses=options["min_presses"],
                watch_seconds=options["watch_seconds"],
                duration=options["duration"],
                log=log,
            )
            report = server.report()
        # served figures: from the first rows (the start-up load is not "watching") to the end
        served = served_figures(report, pty["started_at"] + pty["first_rows_s"], pty["ended_at"])
        watch = served_figures(report, *pty["watch_window"])
        for key in ("first_rows_s", "key_p50_ms", "key_p95_ms", "key_max_ms", "cpu_pct"):
            out[key] = pty[key]
        reached, answered = first_answer(report, pty["started_at"])
        out["first_answer_s"] = answered
        out["first_answer_served_s"] = (
            None if reached is None or answered is None else answered - reached
        )
        out["rss_mb"] = pty["rss_mb"]
        out["rss_growth_mb"] = pty["rss_growth_mb"]
        out["key_p95_ratio"] = _ratio(pty["key_p95_ms"], minimal["key_p95_ms"])
        out["key_max_ratio"] = _ratio(pty["key_max_ms"], minimal["key_max_ms"])
        for key in ("mb_per_min", "bytes_share_pct", "interval_s", "interval_max_s"):
            out[key] = served[key]
        out["new_lag_max_s"] = served["new_lag_max_s"]
        out["change_lag_max_s"] = served["change_lag_max_s"]
        out["x_served"] = {k: v for k, v in served.items() if k.startswith("x_")}
        out["x_watch_mb_per_min"] = watch["mb_per_min"]
        # the lags while watching without keys, after the start-up's ticks (change_lag_max_s
        # counts from the first rows, so it holds the start-up's slow first ticks too)
        out["x_watch_change_lag_max_s"] = watch["change_lag_max_s"]
        out["x_watch_new_lag_max_s"] = watch["new_lag_max_s"]
        out["x_pty"] = {
            k: pty[k] for k in ("presses", "missed", "x_slowest_ms", "x_rss", "exit_status")
        }
        out["x_jobs_at_end"] = report["jobs"]
    return out


def watch_argv(hello: dict) -> list[str]:
    """`jobwatch watch` on the simulator that said `hello`."""
    argv = [sys.executable, "-m", "jobwatch", "watch", "--base-url", hello["base_url"]]
    argv += ["--workspace-id", hello["workspace_id"]]
    return argv + ["--organization-id", hello["organization_id"]]


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def compile_jobwatch() -> None:
    """Compile jobwatch's modules, as an installed wheel has them, before a process starts.

    An editable install run with PYTHONDONTWRITEBYTECODE (set on the development machine) has no
    .pyc, so every `jobwatch watch` compiled its ~80 modules again: ~120 ms of its first rows
    that no installed copy pays, and that the minimal app (Textual's .pyc are in site-packages)
    did not pay either. Python still reads .pyc files under that variable.
    """
    import compileall

    compileall.compile_dir(str(REPO_ROOT / "jobwatch"), quiet=1)


def run_growth(
    scenarios: list[str], sizes: list[int], options: dict, log: Callable[[str], None]
) -> tuple[dict, dict]:
    """Every (scenario, size) of the plan: (figures by key, extra details by key)."""
    compile_jobwatch()
    figures: dict = {}
    extra: dict = {}
    for name, size in plan(scenarios, sizes):
        started = time.perf_counter()
        result = run_scenario(name, size, options, log)
        for key in FIGURES:
            figures[f"{name}_{key}_{suffix(size)}"] = result.get(key)
        extra[f"{name}_{suffix(size)}"] = {k: v for k, v in result.items() if k.startswith("x_")}
        log(f"bench: {name}, {size} jobs done in {time.perf_counter() - started:.0f} s")
    return figures, extra


# ------------------------------------------------------------------ the table


def verdicts(figures: dict, scenarios: list[str], sizes: list[int]) -> dict[str, str]:
    """For each target of the issue, "ok" or "MISSED" with the figure (keys of `figures`)."""
    out: dict[str, str] = {}
    cpu_limit = {1000: 2.0, 10_000: 3.0, 100_000: 5.0}
    for name, size in plan(scenarios, sizes):
        n = suffix(size)

        def check(key: str, ok: bool | None, text: str, name: str = name, n: str = n) -> None:
            if ok is not None:
                out[f"{name}_{key}_{n}"] = ("ok" if ok else "MISSED") + f" ({text})"

        def get(key: str, name: str = name, n: str = n) -> float | None:
            return figures.get(f"{name}_{key}_{n}")

        ratio = get("key_p95_ratio")
        check("key_p95_ratio", None if ratio is None else ratio <= 1.25, "target <= 1.25")
        top = get("key_max_ms")
        check("key_max_ms", None if top is None else top <= 100, "target <= 100")
        cpu = get("cpu_pct")
        if size in cpu_limit and cpu is not None:
            check("cpu_pct", cpu <= cpu_limit[size], f"target <= {cpu_limit[size]:g}")
        share = get("bytes_share_pct")
        check("bytes_share_pct", None if share is None else share <= 10, "target <= 10")
        interval = get("interval_s")
        if interval is not None:
            check("interval_s", abs(interval - INTERVAL) <= 0.1 * INTERVAL, "target 2 +- 10%")
        rss = get("rss_mb")
        if size >= 100_000 and rss is not None:
            check("rss_mb", rss <= 200, "target <= 200")
        first = get("first_rows_s")
        fresh = get("first_rows_fresh_s")
        if size >= 100_000 and fresh is not None:
            check("first_rows_fresh_s", fresh <= 1.0, "target <= 1")
        if size >= 100_000 and first is not None:
            check("first_rows_s", first <= 1.0, "target <= 1")
    return out


def table(figures: dict, scenarios: list[str], sizes: list[int]) -> str:
    pairs = plan(scenarios, sizes)
    heads = [f"{name} {suffix(size)}" for name, size in pairs]
    notes = verdicts(figures, scenarios, sizes)
    width = max(14, *(len(h) + 2 for h in heads))
    lines = [f"{'figure':<22}" + "".join(f"{h:>{width}}" for h in heads)]
    for key in FIGURES:
        row = f"{key:<22}"
        marks = []
        for name, size in pairs:
            full = f"{name}_{key}_{suffix(size)}"
            value = figures.get(full)
            row += f"{_fmt(value):>{width}}"
            if full in notes:
                marks.append(f"{name} {suffix(size)}: {notes[full]}")
        lines.append(row + ("   " + "; ".join(marks) if marks else ""))
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def notes(options: dict, extra: dict) -> str:
    """What the growth table's run was: windows, presses, requests, jobs at the end."""
    lines = [
        f"pty runs of {options['duration']:g} s each: `down` every {PRESS_EVERY_PTY:g} s for "
        f"{options['key_seconds']:g} s, then {options['watch_seconds']:g} s without keys; the "
        f"minimal app ({MINIMAL_ROWS} rows): {options['minimal_presses']} presses; in process: "
        f"keys every {PRESS_EVERY_INPROC:g} s for {options['inproc_seconds']:g} s, then "
        f"{options['inproc_idle_seconds']:g} s without."
    ]
    for name, details in extra.items():
        pty = details.get("x_pty", {})
        served = details.get("x_served", {})
        lines.append(
            f"{name}: {pty.get('presses')} presses ({pty.get('missed')} missed), slowest "
            f"{pty.get('x_slowest_ms')} ms; {served.get('x_ticks')} ticks, "
            f"{served.get('x_requests')} requests ({served.get('x_full_requests')} of the whole "
            f"list); {details.get('x_jobs_at_end')} jobs at the end; RSS {pty.get('x_rss')}"
        )
    return "\n".join(lines)
