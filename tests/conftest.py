"""Shared fixtures: every test runs with its own config file and data dir, never the user's;
`sim` is an empty simulator on loopback and `conn` the CLI options that reach it; `static_sim` is
the deterministic `static` scenario (the dashboard's tests and snapshots use it as their `sim`) and
`history` a history store in tmp_path."""

from __future__ import annotations

import pytest

from jobwatch.simulator.server import Simulator
from jobwatch.store.history import HistoryStore


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
