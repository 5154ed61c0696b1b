"""`python -m scripts.screenshots [--out screenshots/]`: the README's SVG screenshots.

Renders the dashboard headless on the deterministic "static" simulator scenario, with an hour of
seeded history, a frozen clock and times in UTC, so the same code gives the same pictures.
`seed_when_history` adds what "when" needs to show (when.svg and the snapshot tests of issue 13):
past runs of every kind with narrow windows (typical durations), a job that started 5 s ago (an
ETA), one running for 30 minutes (slower than usual), a failure seen within 2 s, a label and a pin.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

from jobwatch.api.client import SharelyClient
from jobwatch.api.decode import parse_jobs
from jobwatch.demo_history import seed_demo_history
from jobwatch.models import Job, Status
from jobwatch.session import connection_for, credentials_for
from jobwatch.simulator.server import Simulator
from jobwatch.store.config import Config, WorkspaceConfig
from jobwatch.store.coverage import Answer
from jobwatch.store.history import HistoryStore
from jobwatch.store.paths import CONFIG_ENV, DATA_DIR_ENV
from jobwatch.tui.app import JobwatchApp

FROZEN = 1764325800.0  # 2025-11-28 10:30:00 UTC
CHAIN_ID = "taxonomy-publish-6f708192"
CHAIN_RUNS = ("0190f3a1-4a51-7c2e-8d10-1b3d5e7f9a11", "0190f3a1-9b62-7d3f-9e21-2c4e6f8a0b22")
FAILED_ID = "knowledge-create-2b3c4d5e"
#: the static jobs "when" shows running: one slower than usual, one with an ETA
SLOW_ID = "role-create-0a1b2c3d"
ETA_ID = "knowledge-create-a3b4c5d6"
LABEL = "ACME import #4821"
# The picker shows base URLs: listen on a fixed port when it is free so the picture is stable.
PREFERRED_PORT = 47614
OTHER_WORKSPACE = (
    "acme-prod",
    "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f",
    "5f4e3d2c-1b0a-4987-8654-3210fedcba98",
)


def frozen_clock() -> float:
    return FROZEN


def seed_history(
    store: HistoryStore, sim: Simulator, now: float = FROZEN, *, recent: tuple[str, ...] = ()
) -> None:
    """An hour of observed history ending in the simulator's current state; the jobs in `recent`
    first seen 5 s before `now` instead of half an hour."""
    current = {j.workflow_id: j for j in parse_jobs(orjson.dumps(sim.jobs_snapshot()))}
    running = Status(1, "RUNNING")
    chain, failed = current[CHAIN_ID], current[FAILED_ID]
    ws = sim.workspace_id
    store.record(
        ws,
        [Job(CHAIN_ID, running, CHAIN_RUNS[0]), Job(FAILED_ID, running, failed.run_id)],
        now - 3600,
    )
    store.record(ws, [Job(CHAIN_ID, running, CHAIN_RUNS[1])], now - 2400)
    # a poll of the failed job alone saw it still running 2 s before it was seen failed
    still = Job(FAILED_ID, running, failed.run_id)
    store.record(ws, [], now - 1502, answer=Answer([still], [FAILED_ID]))
    store.record(ws, [failed], now - 1500)
    store.record(ws, [Job(CHAIN_ID, running, chain.run_id)], now - 1200)
    store.record(ws, [chain], now - 300)
    skip = (CHAIN_ID, FAILED_ID, *recent)
    store.record(ws, [j for wid, j in current.items() if wid not in skip], now - 1800)
    later = [current[wid] for wid in recent]
    if later:
        store.record(ws, later, now - 5, answer=Answer(later, list(recent)))


def seed_when_history(store: HistoryStore, sim: Simulator, now: float = FROZEN) -> None:
    """seed_history, after five past runs of each kind watched closely (jobwatch.demo_history),
    with ETA_ID started 5 s ago, FAILED_ID labelled LABEL and CHAIN_ID pinned."""
    seed_demo_history(store, sim.workspace_id, now=now - 3700, per_kind=5)
    seed_history(store, sim, now, recent=(ETA_ID,))
    store.set_label(sim.workspace_id, FAILED_ID, LABEL)
    store.set_pinned(sim.workspace_id, CHAIN_ID, True)


def static_dashboard(
    sim: Simulator,
    store: HistoryStore,
    config_path: Path,
    *,
    theme: str | None = None,
    other_workspace: bool = True,
    notify_environ: dict[str, str] | None = None,
) -> JobwatchApp:
    """The dashboard watching the simulator's workspace, plus (optionally) one more configured
    workspace; `notify_environ`: the environment its notification route is detected from."""
    config = Config(config_path, theme=theme)
    config.add_workspace(
        WorkspaceConfig(
            "static",
            sim.workspace_id,
            sim.organization_id,
            base_url=sim.base_url,
            token_env="TOKEN",
        )
    )
    if other_workspace:
        name, workspace_id, organization_id = OTHER_WORKSPACE
        config.add_workspace(
            WorkspaceConfig(name, workspace_id, organization_id, token_env="ACME_TOKEN")
        )
    environ = {"TOKEN": sim.token}

    def client_factory(ws: WorkspaceConfig) -> SharelyClient:
        return SharelyClient(
            connection_for(ws), credentials_for(ws), environ=environ, clock=frozen_clock
        )

    return JobwatchApp(
        config,
        workspace="static",
        job_ids=None,
        history=store,
        client_factory=client_factory,
        clock=frozen_clock,
        interval=30.0,
        notify_environ=notify_environ,
    )


async def _until(predicate: Callable[[], bool], pilot, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def _loaded(pilot) -> None:
    screen = pilot.app.main_screen
    await _until(
        lambda: screen.session is not None and screen.session.health.state == "ok",
        pilot,
        "the first poll",
    )
    await _until(lambda: screen.session.name != "static", pilot, "the workspace name")
    pilot.app.clear_notifications()
    await pilot.pause()


async def _show_chain(pilot) -> None:
    await _loaded(pilot)
    screen = pilot.app.main_screen
    screen.table.move_cursor(CHAIN_ID)
    await _until(lambda: screen.detail.workflow_id == CHAIN_ID, pilot, "the detail pane")
    await pilot.pause()


async def _open_picker(pilot) -> None:
    from textual.widgets import Input

    await _loaded(pilot)
    await pilot.press("w")
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def _show_when(pilot) -> None:
    await _loaded(pilot)
    screen = pilot.app.main_screen
    await _until(lambda: bool(screen.facts and screen.facts.typicals), pilot, "typical durations")
    screen.table.move_cursor(FAILED_ID)
    await _until(lambda: screen.detail.workflow_id == FAILED_ID, pilot, "the detail pane")
    await pilot.pause()


Seeder = Callable[[HistoryStore, Simulator], None]
SHOTS: tuple[tuple[str, tuple[int, int], Callable[[object], Awaitable[None]], Seeder], ...] = (
    ("main.svg", (120, 30), _loaded, seed_history),
    ("detail.svg", (120, 36), _show_chain, seed_history),
    ("workspace-picker.svg", (100, 30), _open_picker, seed_history),
    ("when.svg", (120, 30), _show_when, seed_when_history),
)


async def render(out: Path) -> list[Path]:
    """Write every screenshot into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    sim = Simulator("static")
    try:
        sim.start(port=PREFERRED_PORT)
    except OSError:
        sim.start()
    try:
        with tempfile.TemporaryDirectory(prefix="jobwatch-shots-") as tmp:
            for filename, size, prepare, seed in SHOTS:
                store = HistoryStore(Path(tmp) / f"{filename}.sqlite3")
                try:
                    seed(store, sim)
                    app = static_dashboard(sim, store, Path(tmp) / "config.toml")
                    async with app.run_test(size=size) as pilot:
                        await prepare(pilot)
                        svg = app.export_screenshot(title="jobwatch")
                finally:
                    store.close()
                target = out / filename
                target.write_text(svg, encoding="utf-8")
                written.append(target)
    finally:
        sim.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.screenshots",
        description="Render the README's dashboard screenshots (SVG) from the static simulator scenario.",
    )
    parser.add_argument(
        "--out", default="screenshots", help="directory for the SVG files (default: screenshots/)"
    )
    args = parser.parse_args(argv)
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        with tempfile.TemporaryDirectory(prefix="jobwatch-shots-home-") as home:
            # the poller's event log (and any default path) lands here, not in the user's folders
            os.environ[DATA_DIR_ENV] = str(Path(home) / "data")
            os.environ[CONFIG_ENV] = str(Path(home) / "config.toml")
            written = asyncio.run(render(Path(args.out)))
    except (TimeoutError, OSError) as exc:
        print(f"jobwatch screenshots: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
