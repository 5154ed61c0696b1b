"""The discovery interval from the config and the command line to the dashboard's header, and the
dashboard against a growing workspace: polls by ID between reads of the whole list, r reads it."""

from __future__ import annotations

import re

import pytest

from jobwatch.api.client import SharelyClient
from jobwatch.cli.parser import build_parser
from jobwatch.errors import ConfigError, UsageError
from jobwatch.schedule import DEFAULT_DISCOVERY_INTERVAL
from jobwatch.session import Flags, Session, connection_for, credentials_for
from jobwatch.simulator.scenarios import Growth
from jobwatch.simulator.server import Simulator
from jobwatch.store.config import Config, WorkspaceConfig, load_config
from jobwatch.tui.app import JobwatchApp
from jobwatch.tui.model import Health
from jobwatch.tui.widgets.header import health_text
from tests.support.tui import SIZE, table_of, wait_for

WS = "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f"
ORG = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
BASE = f'[workspaces.prod]\nworkspace_id = "{WS}"\norganization_id = "{ORG}"\n'


def test_the_config_takes_a_discovery_interval_checked_like_the_interval(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(BASE + "discovery_interval = 45\n")
    assert load_config(path).workspaces["prod"].discovery_interval == 45.0
    path.write_text(BASE + "discovery_interval = 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "workspaces.prod.discovery_interval" and "between" in str(info.value)


def test_the_flag_wins_over_the_workspace_which_wins_over_the_default(tmp_path):
    config = Config(tmp_path / "c.toml")
    config.add_workspace(WorkspaceConfig("prod", WS, ORG, discovery_interval=45.0))
    assert Session(config).target().discovery_interval == 45.0
    assert Session(config, Flags(discovery_interval=9.0)).target().discovery_interval == 9.0
    config.workspaces["prod"].discovery_interval = None
    assert Session(config).target().discovery_interval == DEFAULT_DISCOVERY_INTERVAL
    with pytest.raises(UsageError, match="--discovery-interval"):
        Flags(discovery_interval=0.0)


def test_watch_has_the_flag_and_its_help_names_the_default():
    args = build_parser().parse_args(["watch", "--discovery-interval", "12"])
    assert args.discovery_interval == 12.0
    watch = build_parser()._subparsers._group_actions[0].choices["watch"]  # type: ignore[union-attr]
    text = " ".join(watch.format_help().split())
    assert f"else {DEFAULT_DISCOVERY_INTERVAL:g})" in text


def test_the_header_says_when_the_whole_list_was_last_read():
    now = 1000.0
    assert health_text(Health("ok", last_success=999.0), now) == ("updated 1s ago", "ok")
    text, _ = health_text(Health("ok", last_success=999.0, last_full=988.0), now)
    assert text == "updated 1s ago · list read 12s ago"


def growing_app(sim: Simulator, tmp_path, history, discovery: float) -> JobwatchApp:
    ws = WorkspaceConfig(
        "grow", sim.workspace_id, sim.organization_id, sim.base_url, token_env="TOKEN"
    )
    config = Config(tmp_path / "config.toml", workspaces={"grow": ws})
    environ = {"TOKEN": sim.token}

    def client_factory(workspace: WorkspaceConfig) -> SharelyClient:
        return SharelyClient(connection_for(workspace), credentials_for(workspace), environ=environ)

    session = Session(config, Flags(interval=0.2, discovery_interval=discovery))
    return JobwatchApp(
        config,
        workspace="grow",
        job_ids=None,
        history=history,
        client_factory=client_factory,
        session=session,
    )


async def test_the_dashboard_polls_running_jobs_and_r_reads_the_whole_list(tmp_path, history):
    # 2,000 jobs, 98% finished, growing every 0.2 s; the whole list only every 600 s (or on r)
    growth = Growth("prepend", every=0.2)
    with Simulator("bulk", jobs=2000, seed=5, growth=growth) as sim:
        app = growing_app(sim, tmp_path, history, discovery=600.0)
        async with app.run_test(size=SIZE) as pilot:
            table = table_of(app)
            header = app.main_screen.header
            await wait_for(pilot, lambda: len(table) >= 2000, what="the first answer")
            await wait_for(pilot, lambda: "list read" in header.text, what="a poll by ID")
            asked = [ids for _, path, ids in sim.requests if path.endswith("background-jobs")]
            assert asked[0] is None and all(ids is not None for ids in asked[1:])
            assert 0 < len(asked[-1]) < 100  # the running jobs only, not 2,000
            assert re.fullmatch(r"updated \d+s ago · list read \d+s ago", header.text)
            known = len(table)
            await wait_for(pilot, lambda: sim.book.growth_ticks > 3, what="growth")
            assert len(table) == known  # new jobs wait for the next read of the whole list
            await pilot.press("r")
            await wait_for(pilot, lambda: len(table) > known, what="new jobs after r")


async def test_many_never_seen_jobs_are_looked_up_in_a_thread_one_by_one():
    import threading
    from types import SimpleNamespace

    from jobwatch.events import JobAppeared
    from jobwatch.models import Job, Status
    from jobwatch.tui.job_index import JobIndex
    from jobwatch.tui.model import LOOKUP_IN_THREAD, JobRow, WorkspaceHistory
    from jobwatch.tui.poll_session import _rows_of

    threads: list[str] = []

    class Store:
        def job(self, workspace_id, workflow_id):
            threads.append(threading.current_thread().name)
            return None

        def jobs(self, workspace_id):  # the whole workspace: never read per tick
            raise AssertionError("read every stored job")

        def job_count(self, workspace_id):  # a few new jobs of a large workspace
            return 100_000

    shown = JobIndex()
    shown.upsert([JobRow("old", Status(2, "COMPLETED"), "r", 1.0, 1.0)])
    session = SimpleNamespace(initial={}, history=WorkspaceHistory(Store(), WS))
    main = threading.current_thread().name
    for count in (LOOKUP_IN_THREAD, LOOKUP_IN_THREAD + 1):
        threads.clear()
        events = [
            JobAppeared(Job(f"new-{i}", Status(1, "RUNNING"), "r"), 5.0) for i in range(count)
        ]
        rows = await _rows_of(events, SimpleNamespace(jobs={}), session, shown)
        assert len(rows) == count == len(threads)
        assert set(threads) == ({main} if count == LOOKUP_IN_THREAD else {threads[0]} - {main})
