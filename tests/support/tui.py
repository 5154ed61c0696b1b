"""Helpers for the dashboard's pilot and snapshot tests: apps wired to the static simulator or to nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from jobwatch.api.client import SharelyClient
from jobwatch.session import connection_for, credentials_for
from jobwatch.simulator.server import Simulator
from jobwatch.store.config import Config, WorkspaceConfig
from jobwatch.store.history import HistoryStore
from jobwatch.tui.app import JobwatchApp
from jobwatch.tui.screens.main import MainScreen
from jobwatch.tui.widgets.job_table import JobTable

WS = "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f"
ORG = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
INTERVAL = 0.2
SIZE = (120, 40)
RUNNING_ID = "role-create-0a1b2c3d"
FAILED_ID = "knowledge-create-2b3c4d5e"
FAILED_RUN = "0190f3a2-8e3f-7c60-9d42-5f7b0a3e4c63"


def workspace_a(sim: Simulator) -> WorkspaceConfig:
    return WorkspaceConfig(
        name="a",
        workspace_id=sim.workspace_id,
        organization_id=sim.organization_id,
        base_url=sim.base_url,
        token_env="TOKEN_A",
    )


def workspace_b(sim: Simulator) -> WorkspaceConfig:
    return WorkspaceConfig(
        name="b",
        workspace_id=sim.other_workspace_id,
        organization_id=sim.other_organization_id,
        base_url=sim.base_url,
        token_env="TOKEN_B",
    )


def make_app(
    sim: Simulator,
    history: HistoryStore,
    tmp_path,
    *,
    environ: dict[str, str] | None = None,
    workspaces: list[WorkspaceConfig] | None = None,
    workspace: str | None = "a",
    job_ids: list[str] | None = None,
    poll: bool = True,
    notify_environ: dict[str, str] | None = None,
) -> JobwatchApp:
    if environ is None:
        environ = {"TOKEN_A": sim.token, "TOKEN_B": sim.other_token}
    spaces = workspaces or [workspace_a(sim)]
    config = Config(path=tmp_path / "config.toml", workspaces={w.name: w for w in spaces})

    def client_factory(ws: WorkspaceConfig) -> SharelyClient:
        return SharelyClient(connection_for(ws), credentials_for(ws), environ=environ)

    return JobwatchApp(
        config,
        workspace=workspace,
        job_ids=job_ids,
        history=history,
        client_factory=client_factory,
        poll=poll,
        interval=INTERVAL,
        notify_environ=notify_environ,
    )


def recorded_calls(obj: object, name: str) -> list[tuple[object, ...]]:
    """The positional arguments of every call of `obj.name` from now on (each passed on to it)."""
    calls: list[tuple[object, ...]] = []
    real = getattr(obj, name)

    def recording(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    setattr(obj, name, recording)
    return calls


async def wait_for(
    pilot, predicate: Callable[[], bool], timeout: float = 6.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def screen_of(app: JobwatchApp) -> MainScreen:
    return app.main_screen


def table_of(app: JobwatchApp) -> JobTable:
    return app.main_screen.query_one(JobTable)


def idle_app(path: Path, *, demo: bool = False, theme: str | None = None) -> JobwatchApp:
    """The dashboard with one configured workspace and no polling."""
    config = Config(path, theme=theme)
    config.add_workspace(WorkspaceConfig("acme", WS, ORG, token_env="ACME_TOKEN"))
    return JobwatchApp(
        config,
        workspace=None,
        job_ids=None,
        history=None,
        client_factory=lambda ws: None,
        poll=False,
        demo=demo,
    )


def when_app(sim: Simulator, tmp_path: Path, **kwargs) -> tuple[JobwatchApp, HistoryStore]:
    """The screenshots' dashboard of the static simulator with their seeded history (past runs
    per kind, a job 5 s in, one 30 minutes in, a failure seen within 2 s, a label, a pin)."""
    from scripts.screenshots import seed_when_history, static_dashboard

    store = HistoryStore(tmp_path / "when.sqlite3")
    seed_when_history(store, sim)
    return static_dashboard(sim, store, tmp_path / "config.toml", **kwargs), store


async def loaded(pilot) -> None:
    """Wait for the first successful poll and the typical durations."""
    screen = pilot.app.main_screen
    await wait_for(
        pilot,
        lambda: screen.session is not None and screen.session.health.state == "ok",
        what="the first poll",
    )
    await wait_for(pilot, lambda: bool(screen.facts and screen.facts.typicals), what="typicals")
    await pilot.pause()
