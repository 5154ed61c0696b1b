"""The performance benchmark: the dashboard, headless, against the simulator over loopback HTTP.

    python -m bench.bench [--sizes 1000,10000,100000] [--json]

The parent process serves a simulator per workspace size on 127.0.0.1 and starts one child process
per size (so memory figures do not pollute each other). The child runs the real dashboard with
`App.run_test()` and asks the parent, over its stdin/stdout pipe, to change jobs between polls.
Every time is taken with `time.perf_counter()`; "screen updated" is the moment the dashboard hands
a compositor update to its driver (turned into terminal output as a real terminal would get it).
bench/README.md says what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import child as measuring_child
from bench import growth

PER_SIZE_KEYS = (
    "first_paint_s",
    "poll_cycle_ms",
    "poll_cycle_all_ms",
    "naive_cycle_ms",
    "key_latency_ms",
    "rss_mb",
    "bytes_per_poll",
)
GLOBAL_KEYS = ("idle_cpu_pct", "requests_per_poll")
TARGETS = {
    "first_paint_s_100k": ("<=", 1.0),
    "first_paint_s_10k": ("<=", 0.3),
    "poll_cycle_ms_100k": ("<=", 150.0),
    "key_latency_ms_100k": ("<=", 50.0),
    "idle_cpu_pct": ("<=", 2.0),
    "rss_mb_100k": ("<=", 300.0),
    "requests_per_poll": ("==", 1.0),
}
DEFAULT_SIZES = (1000, 10_000, 100_000)
#: `python -m bench.bench` runs from here, wherever the parent was started
REPO_ROOT = Path(__file__).resolve().parent.parent
IDLE_JOBS = 1000
TOKEN_ENV = "JOBWATCH_BENCH_TOKEN"
TERMINAL_SIZE = (120, 40)
#: key latency is measured while the dashboard polls at its default interval (2 s) ...
KEY_INTERVAL = 2.0
#: ... for at least this many polls, with a key pressed every PRESS_EVERY seconds
KEY_POLLS = 3
PRESS_EVERY = 0.05
#: and, for the table only, once more while it polls eight times as often (1% changing each time)
BUSY_INTERVAL = 0.25
KEYS = ("down", "end", "slash")
RESET_AFTER = {"end": "home", "slash": "escape"}


def suffix(size: int) -> str:
    """1000 -> "1k", 100000 -> "100k"; other sizes as digits."""
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def expected_keys(sizes: list[int]) -> list[str]:
    return [f"{key}_{suffix(n)}" for n in sizes for key in PER_SIZE_KEYS] + list(GLOBAL_KEYS)


def naive_reps(size: int) -> int:
    """Clearing and re-adding a DataTable costs ~12 s per cycle at 100k rows: fewer repetitions."""
    return 10 if size <= 1000 else 3 if size <= 10_000 else 2


def all_changed_polls(size: int, polls: int) -> int:
    return polls if size <= 10_000 else min(polls, 5)


# ----------------------------------------------------------------------------- child side


def rss_mb() -> float:
    """Current resident set size of this process in MB (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


class Control:
    """The child's line protocol with the parent: send a command, wait for "ok"."""

    def __init__(self) -> None:
        # Textual redirects sys.stdout while an app runs: talk over duplicated descriptors.
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        self._in = os.fdopen(os.dup(0), "r")

    async def ask(self, command: str) -> str:
        self._out.write(command + "\n")
        reply = await asyncio.to_thread(self._in.readline)
        return reply.strip()

    def result(self, data: dict) -> None:
        self._out.write("result " + json.dumps(data) + "\n")


@dataclass
class Probe:
    """What the instrumented app saw: responses, JobsChanged messages and screen updates."""

    responses: list[tuple[float, int]] = field(default_factory=list)  # (time, body bytes)
    # (time, jobs changed, HTTP responses so far)
    polls: list[tuple[float, int, int]] = field(default_factory=list)
    # (time, polls, token, (rows, upserts) of the job table) of each screen update
    displays: list[tuple[float, int, object, tuple[int, int]]] = field(default_factory=list)
    token: Callable[[], object] = lambda: None
    table: Callable[[], tuple[int, int]] = lambda: (0, 0)
    marker: int = 0

    async def display_after(
        self,
        t0: float,
        predicate: Callable[[int, object, tuple[int, int]], bool],
        timeout: float = 60.0,
    ) -> float:
        """Time of the first screen update after t0 for which predicate(polls, token, table) holds."""
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            displays = self.displays
            while index < len(displays):
                when, polls, token, table = displays[index]
                index += 1
                if when >= t0 and predicate(polls, token, table):
                    return when
            if time.monotonic() > deadline:
                raise TimeoutError("the screen was not updated in time")
            await asyncio.sleep(0.002)


def timing_transport(probe: Probe):
    import httpx

    class TimingTransport(httpx.AsyncHTTPTransport):
        """Reads each background-jobs body completely and notes when it arrived."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            if request.url.path.endswith("/background-jobs"):
                body = await response.aread()
                probe.responses.append((time.perf_counter(), len(body)))
            return response

    return TimingTransport()


def instrument(app_class, probe: Probe):
    """A subclass of `app_class` that timestamps every screen update it would send to a terminal."""

    css = getattr(app_class, "CSS_PATH", None)
    if isinstance(css, str):
        css = str(Path(inspect.getfile(app_class)).parent / css)

    class Instrumented(app_class):
        CSS_PATH = css

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is None or self._batch_count:
                return
            render = getattr(renderable, "render_segments", None)
            if render is not None:
                render(self.console)  # the work a real terminal's update costs
            probe.displays.append(
                (time.perf_counter(), len(probe.polls), probe.token(), probe.table())
            )

    return Instrumented


def message_hook(probe: Probe):
    from jobwatch.events import PollCompleted
    from jobwatch.tui.messages import JobsChanged

    last: list = [None]

    def hook(message) -> None:
        # A message bubbles from the screen to the app: count it once.
        if isinstance(message, JobsChanged) and message is not last[0]:
            last[0] = message
            for event in message.events:
                if isinstance(event, PollCompleted):
                    probe.polls.append((time.perf_counter(), event.changed, len(probe.responses)))

    return hook


def bench_workspace(spec: dict):
    """The simulator's workspace as the config entry every measurement connects through."""
    from jobwatch.store.config import WorkspaceConfig

    return WorkspaceConfig(
        name="bench",
        workspace_id=spec["workspace_id"],
        organization_id=spec["organization_id"],
        base_url=spec["base_url"],
        token_env=TOKEN_ENV,
    )


def make_app(spec: dict, probe: Probe, history, *, job_ids=None, interval=None):
    from jobwatch.api.client import SharelyClient
    from jobwatch.session import connection_for, credentials_for
    from jobwatch.store.config import Config
    from jobwatch.tui.app import JobwatchApp

    ws = bench_workspace(spec)
    config = Config(
        path=Path(spec["config_path"]), workspaces={"bench": ws}, default="bench", bell=False
    )
    environ = {TOKEN_ENV: os.environ[TOKEN_ENV]}

    def client_factory(workspace):
        return SharelyClient(
            connection_for(workspace),
            credentials_for(workspace),
            environ=environ,
            transport=timing_transport(probe),
        )

    app_class = instrument(JobwatchApp, probe)
    return app_class(
        config,
        workspace="bench",
        job_ids=job_ids,
        history=history,
        client_factory=client_factory,
        interval=interval,
    )


async def wait_until(predicate: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the dashboard did not get there in time")
        await asyncio.sleep(0.005)


trace: list = []


async def quiesce(probe: Probe, quiet: float = 0.6) -> None:
    """Wait until no poll has completed for `quiet` seconds."""
    while True:
        count = len(probe.polls)
        await asyncio.sleep(quiet)
        if len(probe.polls) == count:
            return


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def measure_cycles(control: Control, probe: Probe, poller, command: str, polls: int):
    """Median ms from a poll's response to the screen showing it, each after `command` changes jobs."""
    times = []
    polls_before = len(probe.polls)
    for _ in range(polls):
        await control.ask(command)
        seen = len(probe.polls)
        responses = len(probe.responses)
        upserts = probe.table()[1]
        poller.refresh_now()

        # The first poll that fetched after the change: a poll already in flight (its answer
        # received before the change) may complete first.
        def fetched_after(seen: int = seen, responses: int = responses) -> int | None:
            return next(
                (i for i in range(seen, len(probe.polls)) if probe.polls[i][2] > responses), None
            )

        await wait_until(lambda: fetched_after() is not None)
        index = fetched_after()
        assert index is not None
        stored, changed, _ = probe.polls[index]
        if changed == 0:
            raise RuntimeError(f"a poll after {command!r} saw no change")
        received = probe.responses[responses][0]
        # The cycle ends when the screen shows the changed rows *and* the history write is done
        # (the dashboard shows the rows first and gets PollCompleted once they are stored).
        shown = await probe.display_after(
            received, lambda _n, _t, table, upserts=upserts: table[1] > upserts
        )
        times.append((max(shown, stored) - received) * 1000)
    trace.append(
        (command, [round(t, 1) for t in times], [p[1] for p in probe.polls[polls_before:]])
    )
    return statistics.median(times)


async def measure_keys(
    control: Control,
    probe: Probe,
    app,
    *,
    interval: float,
    presses: int,
    min_polls: int,
) -> tuple[float, dict]:
    """p95 ms from a key press to the screen showing its effect, while the dashboard polls.

    The dashboard polls every `interval` seconds while the parent changes 1% of the jobs per
    interval; a key is pressed every PRESS_EVERY seconds (once the previous one showed) until at
    least `presses` were measured and `min_polls` polls completed, so some presses land in a poll.
    """
    from textual import events

    table = app.main_screen.table
    probe.token = lambda: (table.cursor_key, type(app.focused).__name__)
    poller = app.main_screen.session.poller
    responses, polls = len(probe.responses), len(probe.polls)
    # 1% of the jobs per poll interval, changed in four steps so that every poll sees changes
    await control.ask(f"auto {interval / 4:g} 0.0025")
    poller.set_interval(interval)
    presses_at: list[tuple[float, float]] = []  # (pressed, shown) of the measured presses
    detail: dict[str, list[float]] = {}
    driver = app._driver
    next_at = time.perf_counter()

    async def press(key: str) -> tuple[float, float]:
        nonlocal next_at
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        before = probe.token()
        started = time.perf_counter()
        next_at = started + PRESS_EVERY
        driver.send_message(events.Key(key, "/" if key == "slash" else None))
        shown = await probe.display_after(started, lambda _n, token, _t: token != before)
        return started, shown

    try:
        i = 0
        while len(presses_at) < presses or len(probe.polls) - polls < min_polls:
            key = KEYS[i % len(KEYS)]
            i += 1
            presses_at.append(await press(key))
            started, shown = presses_at[-1]
            detail.setdefault(key, []).append(round((shown - started) * 1000, 1))
            if key in RESET_AFTER:
                await press(RESET_AFTER[key])
    finally:
        await control.ask("auto off")
        poller.set_interval(3600)
        probe.token = lambda: None
        await quiesce(probe)
    # A press "during a poll" started between a poll's answer arriving and its PollCompleted.
    cycles = list(
        zip(
            [t for t, _ in probe.responses[responses:]],
            [t for t, _, _ in probe.polls[polls:]],
            strict=False,
        )
    )
    latencies = [(shown - started) * 1000 for started, shown in presses_at]
    during = [
        (shown - started) * 1000
        for started, shown in presses_at
        if any(a <= started <= b for a, b in cycles)
    ]
    detail["presses"] = len(latencies)
    detail["polls"] = len(cycles)
    detail["during_poll"] = len(during)
    detail["during_poll_p95"] = round(percentile(during, 95), 1) if during else None
    return percentile(latencies, 95), detail


async def measure_naive(control: Control, spec: dict, history, reps: int) -> float:
    """The baseline: the same poll, shown by clearing and re-adding every row of a DataTable."""
    from textual.app import App
    from textual.widgets import DataTable

    from jobwatch.api.client import SharelyClient
    from jobwatch.formatting import format_clock, shorten_run_id, status_text
    from jobwatch.poller import Poller
    from jobwatch.session import connection_for, credentials_for

    probe = Probe()
    probe.token = lambda: probe.marker

    class Naive(App):
        def compose(self):
            yield DataTable(id="jobs")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("workflowId", "status", "runId", "first seen", "last change")
            table.focus()

    ws = bench_workspace(spec)
    client = SharelyClient(
        connection_for(ws),
        credentials_for(ws),
        environ={TOKEN_ENV: os.environ[TOKEN_ENV]},
        transport=timing_transport(probe),
    )
    poller = Poller(client, ws.workspace_id, history=history, interval=3600)
    seen: dict[str, tuple[float, float]] = {}

    def rows(now: float) -> list[tuple]:
        out = []
        for wid, job in poller.jobs.items():
            first, last = seen.get(wid, (now, now))
            out.append(
                (
                    wid,
                    status_text(job.status),
                    shorten_run_id(job.run_id),
                    format_clock(first, now),
                    format_clock(last, now),
                )
            )
        return out

    async def cycle(table) -> float:
        events = await poller.poll_once()
        received = probe.responses[-1][0]
        now = time.time()
        for event in events:
            job = getattr(event, "job", None)
            if job is not None:
                first = seen.get(job.workflow_id, (now, now))[0]
                seen[job.workflow_id] = (first, now)
        table.clear()
        table.add_rows(rows(now))
        probe.marker += 1
        marker = probe.marker
        shown = await probe.display_after(received, lambda _n, token, _t: token == marker)
        return (shown - received) * 1000

    times = []
    app = instrument(Naive, probe)()
    try:
        async with app.run_test(size=TERMINAL_SIZE):
            table = app.query_one(DataTable)
            await cycle(table)  # the first fill, not counted
            for _ in range(reps):
                await control.ask("churn 0.01")
                times.append(await cycle(table))
    finally:
        await client.aclose()
    return statistics.median(times)


async def run_child(spec: dict) -> dict:
    from jobwatch.store.history import HistoryStore

    control = Control()
    probe = Probe()
    size = spec["size"]
    history = HistoryStore(os.path.join(spec["data_dir"], f"history-{size}.sqlite3"))
    out: dict = {}
    if spec["mode"] == "idle":
        app = make_app(spec, probe, history, job_ids=spec["job_ids"])
        async with app.run_test(size=TERMINAL_SIZE, message_hook=message_hook(probe)):
            table = app.main_screen.table
            await wait_until(lambda: len(table) == size and probe.polls)
            await asyncio.sleep(1.0)
            first = len(probe.polls) - 1
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.sleep(spec["idle_seconds"])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            last = len(probe.polls) - 1
            out["idle_cpu_pct"] = 100 * cpu / wall
            requests = probe.polls[last][2] - probe.polls[first][2]
            out["requests_per_poll"] = requests / max(1, last - first)
            out["idle_polls"] = last - first
        history.close()
        return out

    app = make_app(spec, probe, history, interval=3600.0)

    def table_state() -> tuple[int, int]:
        try:
            table = app.main_screen.table
        except Exception:  # not mounted yet
            return (0, 0)
        return (len(table), table._generation)

    probe.table = table_state
    async with app.run_test(size=TERMINAL_SIZE, message_hook=message_hook(probe)):
        table = app.main_screen.table
        await wait_until(lambda: len(table) == size)
        received = probe.responses[0][0]
        shown = await probe.display_after(received, lambda _n, _t, rows: rows[0] == size)
        out["first_paint_s"] = shown - received
        out["rss_mb"] = rss_mb()
        await wait_until(lambda: probe.polls)  # the first tick's history write is done
        poller = app.main_screen.session.poller
        await asyncio.sleep(0.2)
        out["poll_cycle_ms"] = await measure_cycles(
            control, probe, poller, "churn 0.01", spec["polls"]
        )
        out["bytes_per_poll"] = probe.responses[-1][1]
        out["key_latency_ms"], out["x_keys"] = await measure_keys(
            control,
            probe,
            app,
            interval=KEY_INTERVAL,
            presses=spec["presses"],
            min_polls=KEY_POLLS,
        )
        out["key_latency_busy_ms"], out["x_keys_busy"] = await measure_keys(
            control, probe, app, interval=BUSY_INTERVAL, presses=spec["presses"], min_polls=1
        )
        await asyncio.sleep(0.3)
        out["poll_cycle_all_ms"] = await measure_cycles(
            control, probe, poller, "all", all_changed_polls(size, spec["polls"])
        )
        out["rss_mb_end"] = rss_mb()
    out["naive_cycle_ms"] = await measure_naive(control, spec, history, spec["naive_reps"])
    out["x_cycles"] = trace
    history.close()
    return out


def child_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    if spec["mode"] == "growth":
        result = asyncio.run(growth.child_main(spec))
    else:
        result = asyncio.run(run_child(spec))
    Control().result(result)
    return 0


# ----------------------------------------------------------------------------- parent side


class Changer:
    """Changes the simulator's jobs between polls: a random share of them, or all of them."""

    def __init__(self, sim) -> None:
        import random

        self.sim = sim
        self.codes = {job["workflowId"]: job["status"]["code"] for job in sim.jobs_snapshot()}
        self.ids = list(self.codes)
        self.rng = random.Random(7)

    def change(self, fraction: float) -> None:
        """Give that share of the jobs the next status (cycling 1..7)."""
        count = max(1, round(len(self.ids) * fraction))
        chosen = self.ids if count >= len(self.ids) else self.rng.sample(self.ids, count)
        for wid in chosen:
            code = self.codes[wid] % 7 + 1
            self.codes[wid] = code
            self.sim.set_status(wid, code)


class Churner:
    """Changes `fraction` of the jobs every `every` seconds until stopped."""

    def __init__(self, changer: Changer, every: float, fraction: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(changer, every, fraction), daemon=True
        )
        self._thread.start()

    def _run(self, changer: Changer, every: float, fraction: float) -> None:
        while not self._stop.wait(every):
            changer.change(fraction)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_size(spec: dict, sim, log: Callable[[str], None]) -> dict:
    """Run one child with `sim` serving; answer its requests; return its result."""
    from jobwatch.store.paths import CONFIG_ENV, DATA_DIR_ENV

    env = dict(os.environ)
    env[TOKEN_ENV] = sim.token
    env[DATA_DIR_ENV] = spec["data_dir"]
    env[CONFIG_ENV] = spec["config_path"]
    changer = Changer(sim)
    churner: Churner | None = None

    def handle(command: str, rest: str) -> None:
        nonlocal churner
        if command == "churn":
            changer.change(float(rest))
        elif command == "all":
            changer.change(1.0)
        elif command == "auto":
            if churner is not None:
                churner.stop()
                churner = None
            if rest != "off":
                every, fraction = rest.split()
                churner = Churner(changer, float(every), float(fraction))

    try:
        return measuring_child.run_child(
            spec, env, f"the benchmark child for {spec['size']} jobs", handle
        )
    finally:
        if churner is not None:
            churner.stop()


def startup_seconds() -> float:
    """The slower of `jobwatch --version` and `jobwatch wait --help` (best of 3 each)."""
    worst = 0.0
    for argv in (["--version"], ["wait", "--help"]):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "jobwatch", *argv],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            best = min(best, time.perf_counter() - started)
        worst = max(worst, best)
    return worst


def connection_spec(sim, base_url: str, tmp: str) -> dict:
    """What a measuring subprocess needs to reach the simulator and keep its files in `tmp`."""
    return {
        "base_url": base_url,
        "workspace_id": sim.workspace_id,
        "organization_id": sim.organization_id,
        "data_dir": tmp,
        "config_path": os.path.join(tmp, "config.toml"),
    }


def run_bench(
    sizes: list[int],
    *,
    polls: int,
    presses: int,
    idle_seconds: float,
    naive: int | None,
    log: Callable[[str], None],
    verbose: bool = False,
) -> tuple[dict, dict]:
    from jobwatch.simulator.server import Simulator

    figures: dict = {}
    extra: dict = {}
    with tempfile.TemporaryDirectory(prefix="jobwatch-bench-") as tmp:
        for size in sizes:
            log(f"bench: {size} jobs …")
            started = time.perf_counter()
            sim = Simulator("bulk", jobs=size, seed=1)
            base_url = sim.start()
            try:
                spec = {
                    "mode": "size",
                    "size": size,
                    "polls": polls,
                    "presses": presses,
                    "naive_reps": naive or naive_reps(size),
                    **connection_spec(sim, base_url, tmp),
                }
                result = run_size(spec, sim, log)
            finally:
                sim.stop()
            for key in PER_SIZE_KEYS:
                figures[f"{key}_{suffix(size)}"] = result[key]
            extra[f"rss_mb_end_{suffix(size)}"] = result["rss_mb_end"]
            extra[f"key_latency_busy_ms_{suffix(size)}"] = result["key_latency_busy_ms"]
            extra[f"x_keys_{suffix(size)}"] = result["x_keys"]
            if verbose:
                log(
                    f"bench: details: {json.dumps({k: v for k, v in result.items() if k.startswith('x_') or k == 'rss_mb_end'})}"
                )
            log(f"bench: {size} jobs done in {time.perf_counter() - started:.1f} s")

        log(f"bench: idle, {IDLE_JOBS} RUNNING jobs tracked, {idle_seconds:g} s …")
        sim = Simulator("empty", seed=1)
        ids = [f"idle-job-{i:05d}" for i in range(IDLE_JOBS)]
        for wid in ids:
            sim.add_job(wid, 1)
        base_url = sim.start()
        try:
            spec = {
                "mode": "idle",
                "size": IDLE_JOBS,
                "job_ids": ids,
                "idle_seconds": idle_seconds,
                **connection_spec(sim, base_url, tmp),
            }
            result = run_size(spec, sim, log)
        finally:
            sim.stop()
        figures["idle_cpu_pct"] = result["idle_cpu_pct"]
        figures["requests_per_poll"] = result["requests_per_poll"]
        extra["idle_polls"] = result["idle_polls"]
    return figures, extra


def rounded(key: str, value: float) -> float | int:
    if key.startswith("bytes_per_poll"):
        return int(value)
    if key.startswith("first_paint_s"):
        return round(value, 3)
    return round(value, 2)


def verdict(key: str, value: float) -> str:
    rule = TARGETS.get(key)
    if key.startswith("naive_cycle_ms_"):
        fast = f"poll_cycle_ms_{key.removeprefix('naive_cycle_ms_')}"
        return f"{value / max(_FIGURES.get(fast, 1e-9), 1e-9):.0f}x the virtual table"
    if rule is None:
        return ""
    op, limit = rule
    ok = value <= limit if op == "<=" else abs(value - limit) < 1e-9
    return f"{'ok' if ok else 'MISSED'} (target {op} {limit:g})"


_FIGURES: dict = {}


def table(figures: dict, sizes: list[int], startup: float | None, extra: dict | None = None) -> str:
    _FIGURES.clear()
    _FIGURES.update(figures)
    names = [suffix(n) for n in sizes]
    lines = [f"{'figure':<20}" + "".join(f"{n:>12}" for n in names)]
    for key in PER_SIZE_KEYS:
        row = f"{key:<20}"
        for n in names:
            row += f"{rounded(key, figures[f'{key}_{n}']):>12}"
        notes = [verdict(f"{key}_{n}", figures[f"{key}_{n}"]) for n in names]
        notes = [f"{n}: {v}" for n, v in zip(names, notes, strict=True) if v]
        lines.append(row + ("   " + "; ".join(notes) if notes else ""))
        if key == "key_latency_ms" and extra and f"key_latency_busy_ms_{names[0]}" in extra:
            during = [extra[f"x_keys_{n}"] for n in names]
            lines[-1] += "   presses during a poll: " + ", ".join(
                f"{d['during_poll']}/{d['presses']}" for d in during
            )
            busy = "".join(f"{rounded(key, extra[f'key_latency_busy_ms_{n}']):>12}" for n in names)
            lines.append(f"{'  polls every 0.25 s':<20}{busy}   (not in --json; harsher than 2 s)")
    for key in GLOBAL_KEYS:
        lines.append(f"{key:<20}{rounded(key, figures[key]):>12}   {verdict(key, figures[key])}")
    if startup is not None:
        ok = "ok" if startup < 0.25 else "MISSED"
        lines.append(f"{'startup_s':<20}{startup:>12.3f}   {ok} (target < 0.25)")
    return "\n".join(lines)


GROWTH_SCENARIOS = tuple(growth.SCENARIOS)


def parse_scenarios(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["none"]:
        return []
    unknown = [n for n in names if n not in GROWTH_SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"scenarios are {', '.join(GROWTH_SCENARIOS)} or none (got {text!r})"
        )
    return names


def growth_rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def all_expected_keys(sizes: list[int], scenarios: list[str]) -> list[str]:
    """Every key of --json: the in-process figures, then the growing scenarios'."""
    return expected_keys(sizes) + growth.expected_keys(scenarios, sizes)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers, e.g. 1000,10000") from None
    if not sizes or any(n < 10 for n in sizes):
        raise argparse.ArgumentTypeError("give at least one size of 10 jobs or more")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench",
        description="Measure the dashboard headless against the simulator over loopback HTTP.",
    )
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--polls", type=int, default=12, help="1%%-change polls per size")
    parser.add_argument("--presses", type=int, default=60, help="key presses per size")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--naive-reps", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every measurement")
    grow = parser.add_argument_group(
        "growing workspaces", "bench/growth.py: in process and in a pty, next to a minimal app"
    )
    grow.add_argument(
        "--scenarios",
        type=parse_scenarios,
        default=list(GROWTH_SCENARIOS),
        help="growing,prepended,reordered,mixed (default: all) or none; growing runs at every "
        "size, the others at the largest",
    )
    grow.add_argument("--duration", type=float, default=300.0, help="s of each pty run (300)")
    grow.add_argument("--key-seconds", type=float, default=70.0, help="s of key presses (70)")
    grow.add_argument("--min-presses", type=int, default=100)
    grow.add_argument("--watch-seconds", type=float, default=60.0, help="s without keys (60)")
    grow.add_argument("--inproc-seconds", type=float, default=40.0)
    grow.add_argument("--inproc-idle-seconds", type=float, default=20.0)
    grow.add_argument("--minimal-presses", type=int, default=150)
    grow.add_argument("--minimal-watch-seconds", type=float, default=10.0)
    grow.add_argument(
        "--only-scenarios",
        action="store_true",
        help="measure only the growing scenarios (not the per-size figures above them)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.serve:
        return growth.serve_main(json.loads(args.serve))

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    figures: dict = {}
    extra: dict = {}
    if not args.only_scenarios:
        figures, extra = run_bench(
            args.sizes,
            polls=args.polls,
            presses=args.presses,
            idle_seconds=args.idle_seconds,
            naive=args.naive_reps,
            log=log,
            verbose=args.verbose,
        )
        figures = {key: figures[key] for key in expected_keys(args.sizes)}
    options = {
        "duration": args.duration,
        "key_seconds": args.key_seconds,
        "min_presses": args.min_presses,
        "watch_seconds": args.watch_seconds,
        "inproc_seconds": args.inproc_seconds,
        "inproc_idle_seconds": args.inproc_idle_seconds,
        "minimal_presses": args.minimal_presses,
        "minimal_watch_seconds": args.minimal_watch_seconds,
    }
    grown, grown_extra = growth.run_growth(args.scenarios, args.sizes, options, log)
    if args.verbose:
        log(f"bench: growth details: {json.dumps(grown_extra)}")
    if args.json:
        out = {key: rounded(key, value) for key, value in figures.items()}
        out.update({key: growth_rounded(value) for key, value in grown.items()})
        print(json.dumps(out))
        return 0
    if args.scenarios:
        print(growth.table(grown, args.scenarios, args.sizes) + "\n")
        print(growth.notes(options, grown_extra) + "\n")
    if args.only_scenarios:
        return 0
    startup = startup_seconds()
    print(table(figures, args.sizes, startup, extra))
    print(
        f"\n{args.polls} polls per size with 1% of jobs changed; "
        f"every-job-changed polls: {', '.join(str(all_changed_polls(n, args.polls)) for n in args.sizes)}; "
        f"naive repetitions: {', '.join(str(args.naive_reps or naive_reps(n)) for n in args.sizes)}; "
        f"key presses every {PRESS_EVERY * 1000:g} ms, at least {args.presses} measured and "
        f"{KEY_POLLS} polls at the {KEY_INTERVAL:g} s interval; idle window {args.idle_seconds:g} s "
        f"({extra['idle_polls']} polls). Whole run {time.perf_counter() - started:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
