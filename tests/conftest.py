"""Shared fixtures: every test runs with its own config file and data dir, never the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("JOBWATCH_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("JOBWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SHARELY_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("SHARELY_API_KEY", raising=False)
    return tmp_path
