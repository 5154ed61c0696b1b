"""Shared fixtures: every test runs with its own config file and data dir, never the user's;
`sim` is an empty simulator on loopback and `conn` the CLI options that reach it; `static_sim` is
the deterministic `static` scenario (the dashboard's tests and snapshots use it as their `sim`) and
`history` a history store in tmp_path. `short_tmp` is a short directory for Unix sockets.

The suite runs on two xdist workers (pyproject.toml's addopts); `pytest_collection_modifyitems`
below puts the tests that drive a real terminal, kill processes or hold a time budget in one
group, so they never run beside each other."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from jobwatch.simulator.server import Simulator
from jobwatch.store.history import HistoryStore

#: Whole modules that drive a real terminal (pty, tmux, screen), kill -9 processes or time a
#: first frame: each one spawns a dashboard or a CLI that needs CPU at once.
TIMED_MODULES = frozenset(
    {
        "tests/integration/test_bench.py",
        "tests/integration/test_cli_terminal.py",
        "tests/integration/test_dashboard_notify_pty.py",
        "tests/integration/test_dashboard_terminal.py",
        "tests/integration/test_durability.py",
        "tests/integration/test_e2e_tmux.py",
        "tests/integration/test_notify_pty.py",
        "tests/integration/test_pty_probe.py",
    }
)
#: Single tests that assert a time budget (or heavy ones: 100k rows) in modules of quick tests.
TIMED_TESTS = frozenset(
    {
        "tests/integration/test_faults.py::test_huge_response_100k_jobs_status_json",
        "tests/integration/test_faults.py::test_a_held_lock_costs_one_busy_timeout_not_several",
        "tests/integration/test_hostile.py::test_slow_answers_end_at_the_request_deadline",
        "tests/integration/test_notify_command.py::test_timeout_kills_the_whole_group",
        "tests/integration/test_notify_command.py::test_concurrency_is_limited_and_the_loop_keeps_running",
        "tests/integration/test_simulator.py::test_bulk_100k_builds_and_serves_fast",
        "tests/tui/test_job_table.py::test_performance_100k_rows",
        "tests/unit/test_config.py::test_parse_job_ids_10mb_paste_is_fast",
        "tests/unit/test_history.py::test_record_100k_jobs_is_fast",
        "tests/unit/test_job_index.py::test_an_upsert_of_1_percent_into_100k_rows_merges_instead_of_sorting",
    }
)


#: Modules whose module-scoped fixture is costly (the packaging tests build the wheel and the
#: sdist, ~3 s): on one worker, so it is made once, not once per worker.
ONE_WORKER_MODULES = frozenset({"tests/integration/test_packaging.py"})


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the timed tests in one xdist group: under `--dist loadgroup` one worker runs them one
    after another (the group is the largest unit, so it starts first) while the other worker
    runs the quick tests; two of them side by side on two cores is where a budget or a
    first-frame deadline would be missed. Without xdist the marks do nothing."""
    for item in items:
        module = item.path.relative_to(config.rootpath).as_posix()
        name = getattr(item, "originalname", item.name)
        if module in TIMED_MODULES or f"{module}::{name}" in TIMED_TESTS:
            item.add_marker(pytest.mark.xdist_group("timed"))
        elif module in ONE_WORKER_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture
def short_tmp():
    """A fresh directory with a short path, for Unix sockets (tmux, screen): a socket's path
    has room for 107 bytes, and tmp_path under an xdist worker is already near 80."""
    path = Path(tempfile.mkdtemp(prefix="jw-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point every place jobwatch could read or write at tmp_path.

    The SHARELY_JOBWATCH_* variables name the config and data dir; the XDG variables catch the
    platformdirs defaults too (a test that unsets the variables, the one-time move from the old
    names), so nothing reaches the user's real ~/.config or ~/.local/share. The old JOBWATCH_*
    names are removed: a developer who has them set must not change what a test sees.
    """
    monkeypatch.setenv("SHARELY_JOBWATCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("SHARELY_JOBWATCH_DATA_DIR", str(tmp_path / "data"))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "xdg" / name.lower()))
    monkeypatch.delenv("JOBWATCH_CONFIG", raising=False)
    monkeypatch.delenv("JOBWATCH_DATA_DIR", raising=False)
    monkeypatch.delenv("SHARELY_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("SHARELY_API_KEY", raising=False)
    return tmp_path


@pytest.fixture
def sim():
    s = Simulator("empty", seed=1)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def conn(sim, monkeypatch):
    """CLI connection options for `sim`, with its token in SHARELY_ACCESS_TOKEN."""
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
    return [
        "--base-url",
        sim.base_url,
        "--workspace-id",
        sim.workspace_id,
        "--organization-id",
        sim.organization_id,
    ]


@pytest.fixture
def static_sim():
    """The deterministic `static` scenario (fixed IDs, statuses and keys) on loopback."""
    simulator = Simulator("static")
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def history(tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    yield store
    store.close()
