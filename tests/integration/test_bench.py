"""The benchmark runs (a small run, so it cannot rot) and the fast paths it measures stay in place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.bench import GLOBAL_KEYS, PER_SIZE_KEYS, all_expected_keys, expected_keys
from bench.growth import FIGURES, RSS_WINDOW, plan, rss_growth, served_figures
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
        "3",
        # the growing workspace, in process and in a pty, briefly
        "--scenarios",
        "growing",
        "--duration",
        "6",
        "--key-seconds",
        "1.5",
        "--min-presses",
        "8",
        "--watch-seconds",
        "2",
        "--inproc-seconds",
        "2",
        "--inproc-idle-seconds",
        "1",
        "--minimal-presses",
        "8",
        "--minimal-watch-seconds",
        "0.5",
        "--json",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=80)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)

    assert list(figures) == all_expected_keys([1000], ["growing"])
    assert len(figures) == len(PER_SIZE_KEYS) + len(GLOBAL_KEYS) + len(FIGURES)
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

    grown = {k.removeprefix("growing_").removesuffix("_1k"): v for k, v in figures.items()
             if k.startswith("growing_")}  # fmt: skip
    assert list(grown) == list(FIGURES)
    assert 0 < grown["first_rows_s"] < 10 and 0 < grown["minimal_first_rows_s"] < 10
    assert 0 < grown["key_p50_ms"] <= grown["key_p95_ms"] <= grown["key_max_ms"] < 2000
    assert grown["key_p95_ratio"] == pytest.approx(
        grown["key_p95_ms"] / grown["minimal_key_p95_ms"], rel=0.01
    )
    assert 0 <= grown["cpu_pct"] < 100 and 0 <= grown["inproc_cpu_pct"] < 100
    assert grown["mb_per_min"] > 0 and 0 < grown["bytes_share_pct"] <= 150
    assert 1.5 < grown["interval_s"] <= grown["interval_max_s"] < 10
    assert 0 <= grown["new_lag_max_s"] < 60 and 0 <= grown["change_lag_max_s"] < 60
    assert 10 < grown["rss_mb"] < 1000 and 10 < grown["minimal_rss_mb"] < 1000
    assert 0 < grown["inproc_key_p50_ms"] <= grown["inproc_key_max_ms"] < 2000
    assert 0 <= grown["inproc_stall_max_ms"] < 2000


def test_growth_runs_at_every_size_and_the_others_at_the_largest():
    assert plan(["growing", "mixed"], [1000, 100_000]) == [
        ("growing", 1000),
        ("growing", 100_000),
        ("mixed", 100_000),
    ]
    keys = all_expected_keys([1000], ["prepended"])
    assert keys[-len(FIGURES) :] == [f"prepended_{f}_1k" for f in FIGURES]


def test_served_figures_count_ticks_bytes_and_lags():
    # (start, end, whole list?, bytes, IDs): ticks at 0, 2, 4 (the one at 2 is two batches)
    report = {
        "requests": [
            (0.0, 0.1, True, 1000, 0),
            (2.0, 2.05, False, 100, 2),
            (2.06, 2.1, False, 50, 1),
            (4.0, 4.1, False, 100, 2),
            (9.0, 9.1, True, 1000, 0),  # outside the window
        ],
        "new_lags": [(1.0, 3.0), (20.0, 1.0)],
        "change_lags": [(1.5, 0.6)],
        "pending_new": [5.0],
        "pending_change": [],
        "full_bytes": 1000,
        "jobs": 10,
    }
    got = served_figures(report, 0.0, 6.0)
    assert got["x_ticks"] == 3 and got["x_requests"] == 4
    assert got["interval_s"] == pytest.approx(2.0) and got["interval_max_s"] == pytest.approx(2.0)
    assert got["mb_per_min"] == pytest.approx(1250 / 1e6 * 10)
    # the whole list (1000 bytes) every 2 s is 30,000 bytes a minute
    assert got["bytes_share_pct"] == pytest.approx(100 * 12_500 / 30_000)
    assert got["new_lag_max_s"] == pytest.approx(3.0)  # the pending one: 6 - 5 = 1
    assert got["change_lag_max_s"] == pytest.approx(0.6)


def _rss_samples(duration: float, mb_at) -> list[tuple[float, float]]:
    """A sample every 5 s from 130 s to the end, and one at the end, as measure_in_pty takes."""
    times = [130.0 + 5 * i for i in range(int((duration - 130) // 5))] + [duration]
    return [(t, mb_at(t)) for t in times]


def _held(t: float) -> bool:
    return (t - 300.0) % (RSS_WINDOW + 0.5) < 2.0


def test_rss_growth_is_not_fooled_by_the_whole_list_read_held_at_the_last_sample():
    # flat at 166 MB, +14 MB for the 2 s a whole-list answer is held, once every ~30.5 s (the
    # discovery interval and its request); this run's last sample lands on one (the last sample
    # minus the one at the half, as the bench took it before, read +14)
    def flat(t: float) -> float:
        return 180.0 if _held(t) else 166.0

    samples = _rss_samples(300.0, flat)
    assert samples[-1][1] - next(mb for t, mb in samples if t >= 150) == 14.0
    assert rss_growth(samples, 300.0) == 0.0


def test_rss_growth_sees_memory_that_grows():
    # 1 MB every 10 s, with the same peaks: +15 MB over the second half of 300 s, window medians
    # 150-180 s and 270-300 s are 135 s apart
    def growing(t: float) -> float:
        return 166.0 + t / 10 + (14.0 if _held(t) else 0.0)

    got = rss_growth(_rss_samples(300.0, growing), 300.0)
    assert got == pytest.approx(12.0, abs=1.0)


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
    real_decode = api.decode_reusing

    async def counted(body, cache, *same):
        parsed.append(1)
        return await real_decode(body, cache, *same)

    monkeypatch.setattr(api, "decode_reusing", counted)
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
