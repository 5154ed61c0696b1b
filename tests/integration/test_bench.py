"""The benchmark runs (a small run, so it cannot rot) and the fast paths it measures stay in place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.bench import GLOBAL_KEYS, PER_SIZE_KEYS, expected_keys
from jobwatch.api import client as api
from jobwatch.api.client import SharelyClient
from jobwatch.events import PollCompleted
from jobwatch.poller import Poller
from jobwatch.session import connection_for, credentials_for
from jobwatch.simulator.server import Simulator
from jobwatch.store.config import WorkspaceConfig


@pytest.mark.timeout(90)
def test_small_bench_run_prints_exactly_the_documented_keys_with_sane_values():
    argv = [
        sys.executable,
        "-m",
        "bench.bench",
        "--sizes",
        "1000",
        "--polls",
        "3",
        "--presses",
        "6",
        "--naive-reps",
        "2",
        "--idle-seconds",
        "4.5",
        "--json",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)

    assert list(figures) == expected_keys([1000])
    assert len(figures) == len(PER_SIZE_KEYS) + len(GLOBAL_KEYS)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in figures.values())
    assert 0 < figures["first_paint_s_1k"] < 5
    assert 0 < figures["poll_cycle_ms_1k"] < 1000
    assert 0 < figures["poll_cycle_all_ms_1k"] < 5000
    # clearing and re-adding a DataTable is slower than updating the virtual table in place
    assert figures["naive_cycle_ms_1k"] > figures["poll_cycle_ms_1k"]
    assert 0 < figures["key_latency_ms_1k"] < 1000
    assert 10 < figures["rss_mb_1k"] < 1000
    assert 100_000 < figures["bytes_per_poll_1k"] < 200_000  # ~127 bytes per job
    assert 0 <= figures["idle_cpu_pct"] < 100
    assert figures["requests_per_poll"] == 1


def test_expected_keys_follow_the_sizes():
    keys = expected_keys([1000, 10_000, 100_000])
    assert len(keys) == 3 * len(PER_SIZE_KEYS) + 2
    assert "first_paint_s_100k" in keys and "naive_cycle_ms_10k" in keys
    assert keys[-2:] == ["idle_cpu_pct", "requests_per_poll"]


async def test_a_poll_where_nothing_changed_parses_and_records_nothing(monkeypatch):
    sim = Simulator("bulk", jobs=2000, seed=3)
    sim.start()
    ws = WorkspaceConfig(
        name="b",
        workspace_id=sim.workspace_id,
        organization_id=sim.organization_id,
        base_url=sim.base_url,
        token_env="TOKEN",
    )
    parsed = []
    real_parse = api.parse_answer
    monkeypatch.setattr(
        api, "parse_answer", lambda body, last: parsed.append(1) or real_parse(body, last)
    )
    try:
        client = SharelyClient(
            connection_for(ws), credentials_for(ws), environ={"TOKEN": sim.token}
        )
        async with client:
            poller = Poller(client, sim.workspace_id, log=None)
            first = await poller.poll_once()
            second = await poller.poll_once()
            assert len(parsed) == 1
            assert [e for e in second if not isinstance(e, PollCompleted)] == []
            assert second[-1].changed == 0 and first[-1].changed == 2000

            wid = next(iter(poller.jobs))
            sim.set_status(wid, 3)
            third = await poller.poll_once()
            assert len(parsed) == 2 and third[-1].changed == 1
    finally:
        sim.stop()
