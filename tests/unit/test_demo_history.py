"""The demo's seeded past: typical durations for every demo kind from the first second."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobwatch.demo_history import (
    KIND_DURATIONS,
    SEED_END_BEFORE,
    SEED_RUNS_PER_KIND,
    plan_past_runs,
    seed_demo_history,
)
from jobwatch.durations import MIN_RUNS_FOR_USUAL
from jobwatch.kinds import Kinds
from jobwatch.models import Job, Status
from jobwatch.store.history import Answer, HistoryStore
from jobwatch.windows import GAP_MIN_SECONDS

NOW = 1_717_250_000.0
WS = "demo-ws"


@pytest.fixture
def store(tmp_path: Path):
    s = HistoryStore(tmp_path / "history.sqlite3")
    yield s
    s.close()


def test_every_demo_kind_has_typical_durations_at_once(store: HistoryStore):
    assert seed_demo_history(store, WS, now=NOW) == SEED_RUNS_PER_KIND * len(KIND_DURATIONS)
    typical = store.typical_durations(WS, Kinds())
    assert set(typical) == set(KIND_DURATIONS)
    assert SEED_RUNS_PER_KIND >= MIN_RUNS_FOR_USUAL
    for kind, (shortest, longest) in KIND_DURATIONS.items():
        stats = typical[kind]
        assert stats.runs == SEED_RUNS_PER_KIND
        # within the simulator's range, give or take the width of the seeded windows
        assert shortest - 5 <= stats.median <= stats.p90 <= longest + 5


def test_the_seeded_past_is_watched_throughout_and_ends_just_before_now(store: HistoryStore):
    seed_demo_history(store, WS, now=NOW)
    assert store.gaps(WS) == []
    assert store.last_poll(WS) == NOW - SEED_END_BEFORE
    runs = store.finished_runs(WS)
    assert runs and all(r.counts for r in runs)
    assert max(r.ended.observed_at for r in runs) < NOW
    # The seeded polls asked for the past jobs by ID, not for all jobs: the demo's own jobs,
    # found by its first poll, were not seen appearing, so their start stays unknown.
    demo = [Job("taxonomy-publish-00c0ffee", Status(1, "RUNNING"), "r")]
    store.record(WS, demo, NOW + 1, answer=Answer(demo), interval=1.0)
    assert store.job(WS, "taxonomy-publish-00c0ffee").started.not_before is None
    assert store.gaps(WS, NOW - GAP_MIN_SECONDS) == []


def test_the_plan_is_the_same_for_the_same_seed():
    assert plan_past_runs(NOW, seed=1) == plan_past_runs(NOW, seed=1)
    assert plan_past_runs(NOW, seed=1) != plan_past_runs(NOW, seed=2)
    ids = [r.workflow_id for r in plan_past_runs(NOW)]
    assert len(set(ids)) == len(ids)
