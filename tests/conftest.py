"""Shared fixtures: every test runs with its own config file and data dir, never the user's;
`sim` is an empty simulator on loopback and `conn` the CLI options that reach it."""

from __future__ import annotations

import pytest

from jobwatch.simulator import Simulator


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("JOBWATCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("JOBWATCH_DATA_DIR", str(tmp_path / "data"))
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
