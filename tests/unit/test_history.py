"""HistoryStore: schema migrations, change detection, concurrency, durability, failures."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import jobwatch.store.history as history
from jobwatch.errors import JobwatchError
from jobwatch.models import Job, Status
from jobwatch.store.history import HistoryError, HistoryStore, JobRecord, Transition

WS = "ws-1"
RUNNING = Status(1, "RUNNING")
COMPLETED = Status(2, "COMPLETED")
CONTINUED = Status(6, "CONTINUED_AS_NEW")
CANCELED = Status(4, "CANCELED")


def job(wid: str, status: Status = RUNNING, run: str = "r1") -> Job:
    return Job(wid, status, run)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def store(db: Path):
    s = HistoryStore(db)
    yield s
    s.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def count_transitions(path: Path, workspace_id: str = WS) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT count(*) FROM transitions WHERE workspace_id = ?", (workspace_id,)
        ).fetchone()[0]
    finally:
        conn.close()


# -- schema ------------------------------------------------------------------------------


def test_new_file_gets_latest_schema_and_wal(store: HistoryStore, db: Path):
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(history.MIGRATIONS) == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"jobs", "transitions", "polls", "tracked"} <= tables
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "transitions_by_job" in indexes
    conn.close()


def test_migrates_an_existing_v0_database_keeping_its_other_tables(db: Path):
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE unrelated (x)")
    conn.execute("INSERT INTO unrelated VALUES (42)")
    conn.commit()
    conn.close()
    with HistoryStore(db) as s:
        assert s.record(WS, [job("a")], 1.0) == 1
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT x FROM unrelated").fetchall() == [(42,)]
    conn.close()


def test_later_migrations_run_in_order_on_reopen(db: Path, monkeypatch):
    with HistoryStore(db) as s:
        s.record(WS, [job("a")], 1.0)
    monkeypatch.setattr(
        history, "MIGRATIONS", [*history.MIGRATIONS, "ALTER TABLE jobs ADD COLUMN note TEXT"]
    )
    with HistoryStore(db) as s:
        assert s.job(WS, "a").status == RUNNING
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "note" in [r[1] for r in conn.execute("PRAGMA table_info(jobs)")]
    conn.close()


def test_newer_schema_is_refused_and_the_file_left_untouched(db: Path):
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(HistoryError) as info:
        HistoryStore(db)
    assert "newer jobwatch" in str(info.value) and "upgrade" in str(info.value)
    assert str(db) in str(info.value)
    assert db.read_bytes() == before
    assert isinstance(info.value, JobwatchError)


def test_a_file_that_is_not_a_database_is_a_history_error(db: Path):
    db.parent.mkdir()
    db.write_bytes(b"this is not sqlite, just some text that happens to be here\n" * 100)
    before = db.read_bytes()
    with pytest.raises(HistoryError) as info:
        HistoryStore(db)
    assert "not a usable SQLite database" in str(info.value)
    assert "delete it" in str(info.value)
    assert db.read_bytes() == before


def test_a_directory_in_place_of_the_file_is_a_history_error(db: Path):
    db.mkdir(parents=True)
    with pytest.raises(HistoryError, match="directory"):
        HistoryStore(db)


def test_a_file_in_place_of_the_data_dir_is_a_history_error(tmp_path: Path):
    (tmp_path / "data").write_text("")
    with pytest.raises(HistoryError, match="history"):
        HistoryStore(tmp_path / "data" / "history.sqlite3")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_a_history_error(db: Path):
    HistoryStore(db).close()
    db.chmod(0)
    try:
        with pytest.raises(HistoryError, match="history"):
            HistoryStore(db)
    finally:
        db.chmod(0o600)


def test_files_are_private(store: HistoryStore, db: Path):
    store.record(WS, [job("a")], 1.0)
    assert mode(db.parent) == 0o700
    assert mode(db) == 0o600
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        assert side.exists()
        assert mode(side) == 0o600


def test_open_default_uses_the_data_dir(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SHARELY_JOBWATCH_DATA_DIR", str(tmp_path / "dd"))
    with HistoryStore.open_default() as s:
        assert s.path == tmp_path / "dd" / "history.sqlite3"
    assert (tmp_path / "dd" / "history.sqlite3").exists()


# -- recording ---------------------------------------------------------------------------


def test_record_writes_only_changes_and_keeps_first_seen(store: HistoryStore):
    assert store.record(WS, [job("a"), job("b")], 10.0) == 2
    assert store.record(WS, [job("a"), job("b")], 11.0) == 0
    assert store.record(WS, [job("a", COMPLETED), job("b")], 12.0) == 1
    assert store.record(WS, [job("a", COMPLETED), job("b", run="r2")], 13.0) == 1
    assert store.job(WS, "a") == JobRecord("a", COMPLETED, "r1", 10.0, 12.0)
    assert store.job(WS, "b") == JobRecord("b", RUNNING, "r2", 10.0, 13.0)
    assert store.job(WS, "zzz") is None
    assert store.transitions(WS, "a") == [
        Transition(RUNNING, "r1", 10.0),
        Transition(COMPLETED, "r1", 12.0),
    ]
    assert [r.workflow_id for r in store.jobs(WS)] == ["a", "b"]
    assert store.last_poll(WS) == 13.0


def test_record_accepts_a_generator_and_polled_at(store: HistoryStore):
    assert store.record(WS, (job(w) for w in "abc"), 5.0, polled_at=7.5) == 3
    assert store.last_poll(WS) == 7.5
    assert store.last_poll("other") is None


def test_status_name_is_kept_as_sent_and_unknown_codes_survive(store: HistoryStore):
    store.record(WS, [job("a", CANCELED), job("b", Status(42, "SOMETHING_NEW"))], 1.0)
    assert store.job(WS, "a").status == Status(4, "CANCELED")
    assert store.job(WS, "b").status == Status(42, "SOMETHING_NEW")
    assert store.job(WS, "b").status.label == "SOMETHING_NEW (42)"


def test_run_chain_follows_continued_as_new(store: HistoryStore):
    store.record(WS, [job("a", RUNNING, "r1")], 1.0)
    store.record(WS, [job("a", CONTINUED, "r1")], 2.0)
    store.record(WS, [job("a", RUNNING, "r2")], 3.0)
    store.record(WS, [job("a", CONTINUED, "r2")], 4.0)
    store.record(WS, [job("a", COMPLETED, "r3")], 5.0)
    assert store.run_chain(WS, "a") == ["r1", "r2", "r3"]
    assert len(store.transitions(WS, "a")) == 5
    assert store.run_chain(WS, "missing") == []


def test_workspaces_are_separate(store: HistoryStore):
    store.record("w1", [job("a")], 1.0)
    assert store.record("w2", [job("a")], 2.0) == 1
    assert store.job("w2", "a").first_seen == 2.0
    assert store.jobs("w3") == []


def test_same_job_twice_in_one_observation(store: HistoryStore):
    assert store.record(WS, [job("a"), job("a"), job("a", COMPLETED)], 1.0) == 2
    assert store.job(WS, "a").status == COMPLETED


def test_history_survives_close_and_reopen(db: Path):
    with HistoryStore(db) as s:
        s.record(WS, [job("a"), job("b")], 1.0)
        s.record(WS, [job("a", COMPLETED), job("b")], 2.0)
        s.set_tracked(WS, ["b", "a"])
    with HistoryStore(db) as s:
        assert s.record(WS, [job("a", COMPLETED), job("b")], 3.0) == 0
        assert s.job(WS, "a") == JobRecord("a", COMPLETED, "r1", 1.0, 2.0)
        assert s.tracked(WS) == ["b", "a"]
        assert s.last_poll(WS) == 3.0


def test_committed_data_survives_kill_9(db: Path):
    script = (
        "import os, signal, sys\n"
        "from jobwatch.store.history import HistoryStore\n"
        "from jobwatch.models import Job, Status\n"
        "s = HistoryStore(sys.argv[1])\n"
        "s.record('ws-1', [Job(f'j{i}', Status(1, 'RUNNING'), 'r') for i in range(500)], 1.0)\n"
        "s.record('ws-1', [Job('j0', Status(3, 'FAILED'), 'r')], 2.0)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(db)], timeout=60)
    assert proc.returncode == -9
    with HistoryStore(db) as s:
        assert len(s.jobs(WS)) == 500
        assert s.job(WS, "j0").status == Status(3, "FAILED")


def test_tracked_keeps_order_and_set_replaces(store: HistoryStore):
    assert store.tracked(WS) == []
    store.set_tracked(WS, ["c", "a", "b", "a"])
    assert store.tracked(WS) == ["c", "a", "b"]
    store.set_tracked(WS, ["z"])
    assert store.tracked(WS) == ["z"]
    store.set_tracked("other", ["q"])
    assert store.tracked(WS) == ["z"]
    store.set_tracked(WS, [])
    assert store.tracked(WS) == []


def test_closed_store_raises_history_error(db: Path):
    s = HistoryStore(db)
    s.close()
    s.close()
    with pytest.raises(HistoryError, match="closed"):
        s.record(WS, [job("a")], 1.0)


# -- two writers -------------------------------------------------------------------------


def observations(steps: int = 15, jobs: int = 60) -> list[list[Job]]:
    """A deterministic sequence of snapshots in which some jobs change at every step."""
    result = []
    for step in range(steps):
        snapshot = []
        for i in range(jobs):
            code = 1 + ((step + i) // 4) % 3 if i % 3 == 0 else 1
            snapshot.append(Job(f"j{i}", Status(code, f"S{code}"), f"run{(step + i) // 7}"))
        result.append(snapshot)
    return result


def expected_transitions(tmp_path: Path, snaps: list[list[Job]]) -> tuple[int, dict]:
    with HistoryStore(tmp_path / "ref" / "h.sqlite3") as ref:
        total = sum(ref.record(WS, snap, float(n)) for n, snap in enumerate(snaps))
        per_job = {
            r.workflow_id: [(t.status, t.run_id) for t in ref.transitions(WS, r.workflow_id)]
            for r in ref.jobs(WS)
        }
    return total, per_job


def assert_same_history(db: Path, total: int, per_job: dict) -> None:
    assert count_transitions(db) == total
    with HistoryStore(db) as s:
        got = {
            r.workflow_id: [(t.status, t.run_id) for t in s.transitions(WS, r.workflow_id)]
            for r in s.jobs(WS)
        }
    assert got == per_job


def test_two_stores_in_two_threads_write_no_duplicates(tmp_path: Path, db: Path):
    snaps = observations()
    total, per_job = expected_transitions(tmp_path, snaps)
    HistoryStore(db).close()
    barrier = threading.Barrier(2)
    written = [0, 0]
    errors = []

    def writer(slot: int) -> None:
        try:
            with HistoryStore(db) as s:
                for n, snap in enumerate(snaps):
                    barrier.wait(timeout=20)
                    written[slot] += s.record(WS, snap, float(n))
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(written) == total
    assert_same_history(db, total, per_job)


def _process_writer(db: str, barrier, queue) -> None:
    try:
        written = 0
        with HistoryStore(db) as s:
            for n, snap in enumerate(observations()):
                barrier.wait(timeout=30)
                written += s.record(WS, snap, float(n))
        queue.put(("ok", written))
    except BaseException as exc:
        barrier.abort()
        queue.put(("error", repr(exc)))


def test_two_processes_write_no_duplicates_and_no_lock_errors(tmp_path: Path, db: Path):
    snaps = observations()
    total, per_job = expected_transitions(tmp_path, snaps)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(str(db), barrier, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(kind == "ok" for kind, _ in results), results
    assert sum(n for _, n in results) == total
    assert_same_history(db, total, per_job)


def test_other_writer_changes_are_seen_by_a_warm_store(db: Path):
    a = HistoryStore(db)
    b = HistoryStore(db)
    try:
        a.record(WS, [job("x"), job("y")], 1.0)
        assert b.record(WS, [job("x", COMPLETED), job("y")], 2.0) == 1
        # a's cache says x is RUNNING; it must notice b's write and not record x again.
        assert a.record(WS, [job("x", COMPLETED), job("y")], 3.0) == 0
        assert a.record(WS, [job("x", RUNNING), job("y")], 4.0) == 1
        assert b.record(WS, [job("x", RUNNING), job("y"), job("z")], 5.0) == 1
        assert a.record(WS, [job("z")], 6.0) == 0
        assert [t.status for t in a.transitions(WS, "x")] == [RUNNING, COMPLETED, RUNNING]
    finally:
        a.close()
        b.close()


def test_lock_held_too_long_is_a_history_error(db: Path, monkeypatch):
    monkeypatch.setattr(history.time, "sleep", lambda s: None)
    s = HistoryStore(db, busy_timeout=0.05)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(HistoryError, match="locked by another process"):
            s.record(WS, [job("a")], 1.0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert s.record(WS, [job("a")], 2.0) == 1
    s.close()


# -- failures while recording ------------------------------------------------------------


def test_disk_full_is_a_history_error_and_earlier_data_survives(store: HistoryStore, db: Path):
    store.record(WS, [job(f"old{i}") for i in range(50)], 1.0)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    many = [job(f"new-{i:05d}-{'x' * 40}") for i in range(5000)]
    with pytest.raises(HistoryError) as info:
        store.record(WS, many, 2.0)
    assert "disk is full" in str(info.value) and str(db) in str(info.value)
    assert not isinstance(info.value, sqlite3.Error)
    assert len(store.jobs(WS)) == 50
    assert store.last_poll(WS) == 1.0
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.record(WS, many[:10] + [job("old0", COMPLETED)], 3.0) == 11
    assert count_transitions(db) == 61


def test_sqlite_errors_never_escape_record(store: HistoryStore, monkeypatch):
    store.record(WS, [job("a")], 1.0)

    class Boom:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise sqlite3.OperationalError("disk I/O error")

            return fail

    monkeypatch.setattr(store, "_conn", Boom())
    with pytest.raises(HistoryError, match="disk I/O error"):
        store.record(WS, [job("a", COMPLETED)], 2.0)
    with pytest.raises(HistoryError):
        store.jobs(WS)


# -- speed -------------------------------------------------------------------------------


def test_record_100k_jobs_is_fast(store: HistoryStore):
    jobs = [Job(f"wf-{i:06d}-4f1c-9a7e", RUNNING, f"run-{i}") for i in range(100_000)]
    start = time.perf_counter()
    assert store.record(WS, jobs, 1.0) == 100_000
    first = time.perf_counter() - start
    changed = [
        Job(j.workflow_id, COMPLETED, j.run_id) if i % 100 == 0 else j for i, j in enumerate(jobs)
    ]
    start = time.perf_counter()
    assert store.record(WS, changed, 2.0) == 1000
    again = time.perf_counter() - start
    assert first < 5.0, first
    assert again < 1.0, again
