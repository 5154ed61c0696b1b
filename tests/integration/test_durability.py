"""Durability of the history store under the real CLI: kill -9 at random moments, two writers at once.

The simulator runs in the test process and keeps changing jobs; `python -m jobwatch wait --json`
runs as a subprocess. Every change it printed had been recorded before it was printed (the poller
records a tick, then yields its events), so after any kill each printed change must be in the
database, the database must pass PRAGMA integrity_check, and no transition may appear twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobwatch.simulator.server import Simulator

JOBS = [f"job-{i:02d}" for i in range(12)]


@pytest.fixture
def sim():
    s = Simulator("empty", seed=11)
    for wid in JOBS:
        s.add_job(wid, code=1, run_id=f"{wid}-run-0")
    s.start()
    yield s
    s.stop()


class Churn:
    """Keeps moving the jobs through RUNNING -> CONTINUED_AS_NEW -> RUNNING under new runIds."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.stop = threading.Event()
        self.runs = dict.fromkeys(JOBS, 0)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        rng = random.Random(1)
        while not self.stop.wait(0.004):
            wid = rng.choice(JOBS)
            if self.sim.job(wid)["status"]["code"] == 1:
                self.sim.set_status(wid, 6)
            else:
                self.runs[wid] += 1
                self.sim.set_status(wid, 1, run_id=f"{wid}-run-{self.runs[wid]}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def start_wait(sim: Simulator, data_dir: Path, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SHARELY_JOBWATCH_DATA_DIR": str(data_dir),
        "SHARELY_JOBWATCH_CONFIG": str(data_dir.parent / "config.toml"),
        "SHARELY_ACCESS_TOKEN": sim.token,
    }
    argv = [sys.executable, "-m", "jobwatch", "wait", "--json", "--interval", "0.1"]
    argv += ["--base-url", sim.base_url, "--workspace-id", sim.workspace_id]
    argv += ["--organization-id", sim.organization_id, *extra, *JOBS]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """The rest of its stdout and stderr, then its exit. Not communicate(): after a readline()
    it reads the pipes' file descriptors directly, losing what readline() had buffered."""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout)
    return out, err


def printed_states(stdout: str) -> set[tuple[str, int, str]]:
    """(workflowId, code, runId) of every change printed in full lines (a cut last line is skipped)."""
    states = set()
    for line in stdout.split("\n")[:-1]:
        event = json.loads(line)
        if event["event"] in ("appeared", "status_changed", "run_changed"):
            states.add((event["workflowId"], event["status"]["code"], event["runId"]))
    return states


def read_db(path: Path, workspace_id: str) -> tuple[str, list[tuple[str, int, str]]]:
    conn = sqlite3.connect(path)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = conn.execute(
            "SELECT workflow_id, status_code, run_id FROM transitions WHERE workspace_id = ?"
            " ORDER BY id",
            (workspace_id,),
        ).fetchall()
    finally:
        conn.close()
    return check, rows


def assert_no_duplicates(rows):
    last: dict[str, tuple[int, str]] = {}
    for wid, code, run_id in rows:
        assert last.get(wid) != (code, run_id), f"duplicated transition {wid} {code} {run_id}"
        last[wid] = (code, run_id)


def test_kill_9_twenty_times_loses_nothing_and_keeps_the_database_sound(sim, tmp_path):
    data = tmp_path / "data"
    db = data / "history.sqlite3"
    rng = random.Random(20)
    before: list[tuple[str, int, str]] = []
    printed_total = 0
    with Churn(sim):
        for _ in range(20):
            asked = sim.jobs_request_count
            proc = start_wait(sim, data)
            # once it polls, let it run for a random while: before, during or between writes
            # (waiting for its first request keeps a slow start on a loaded machine from eating
            # the run; reading its first line instead would lose what the pipe buffered)
            deadline = time.monotonic() + 20
            while sim.jobs_request_count == asked and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.45))
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == -signal.SIGKILL, err
            assert "Traceback" not in err
            printed = printed_states(out)
            printed_total += len(printed)
            check, rows = read_db(db, sim.workspace_id)
            assert check == "ok"
            assert rows[: len(before)] == before, "a transition recorded earlier disappeared"
            missing = printed - set(rows)
            assert not missing, f"printed (so recorded) but not in the database: {missing}"
            assert_no_duplicates(rows)
            before = rows
    assert printed_total > 100, "the runs should have polled many changes"
    assert len(before) > 100


def test_two_processes_on_the_same_data_dir_neither_lose_nor_duplicate(sim, tmp_path):
    data = tmp_path / "data"
    with Churn(sim) as churn:
        first = start_wait(sim, data)
        second = start_wait(sim, data)
        # both polling (a first line each) before the 1.5 s of churn: a slow start eats no run
        heads = [proc.stdout.readline() if proc.stdout else "" for proc in (first, second)]
        time.sleep(1.5)
    for wid in JOBS:
        sim.set_status(wid, 2)
    results = [
        (head + out, err)
        for head, (out, err) in zip(
            heads, (finish(proc, timeout=20) for proc in (first, second)), strict=True
        )
    ]
    for proc, (_, err) in zip((first, second), results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "history" not in err and "Traceback" not in err
    check, rows = read_db(data / "history.sqlite3", sim.workspace_id)
    assert check == "ok"
    assert_no_duplicates(rows)
    printed = printed_states(results[0][0]) | printed_states(results[1][0])
    assert not printed - set(rows), "a change one process printed is missing from the database"
    assert len(printed) > 30
    assert sorted(wid for wid, code, _ in rows if code == 2) == JOBS  # each completion once
    assert sum(churn.runs.values()) > 10
