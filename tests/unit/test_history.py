"""HistoryStore: schema migrations, change detection, concurrency, durability, failures."""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import jobwatch.store.history as history
from jobwatch import durations
from jobwatch.errors import JobwatchError, UsageError
from jobwatch.kinds import Kinds
from jobwatch.models import Job, Status
from jobwatch.store import coverage, history_file, history_writes, schema
from jobwatch.store.history import (
    Annotation,
    Answer,
    HistoryError,
    HistoryStore,
    JobRecord,
    Transition,
)
from jobwatch.windows import Gap, Window

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
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(history.MIGRATIONS) == 2
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
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT x FROM unrelated").fetchall() == [(42,)]
    conn.close()


def test_later_migrations_run_in_order_on_reopen(db: Path, monkeypatch):
    with HistoryStore(db) as s:
        s.record(WS, [job("a")], 1.0)
    monkeypatch.setattr(
        schema, "MIGRATIONS", [*schema.MIGRATIONS, "ALTER TABLE jobs ADD COLUMN note TEXT"]
    )
    with HistoryStore(db) as s:
        assert s.job(WS, "a").status == RUNNING
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
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
    # first seen already running: the run's start is known only to be before 10.0
    assert store.job(WS, "a") == JobRecord("a", COMPLETED, "r1", 10.0, 12.0, start_observed_at=10.0)
    assert store.job(WS, "b") == JobRecord("b", RUNNING, "r2", 10.0, 13.0, start_observed_at=10.0)
    assert store.job(WS, "b").started == Window(None, 10.0)
    assert store.job(WS, "zzz") is None
    assert store.transitions(WS, "a") == [
        Transition(RUNNING, "r1", 10.0),
        Transition(COMPLETED, "r1", 12.0, not_before=10.0),  # last seen by a change at 10.0
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


def test_same_job_twice_in_one_observation_keeps_the_last(store: HistoryStore):
    # One state per job per poll (as the client's decoder does): no change that never happened.
    assert store.record(WS, [job("a"), job("a"), job("a", COMPLETED)], 1.0) == 1
    assert store.job(WS, "a").status == COMPLETED
    assert store.record(WS, [job("a", COMPLETED), job("a", RUNNING, "r2")], 2.0) == 1
    assert [t.status for t in store.transitions(WS, "a")] == [COMPLETED, RUNNING]


def test_history_survives_close_and_reopen(db: Path):
    with HistoryStore(db) as s:
        s.record(WS, [job("a"), job("b")], 1.0)
        s.record(WS, [job("a", COMPLETED), job("b")], 2.0)
        s.set_tracked(WS, ["b", "a"])
    with HistoryStore(db) as s:
        assert s.record(WS, [job("a", COMPLETED), job("b")], 3.0) == 0
        assert s.job(WS, "a") == JobRecord("a", COMPLETED, "r1", 1.0, 2.0, start_observed_at=1.0)
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
    monkeypatch.setattr(history_file.time, "sleep", lambda s: None)
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
    pages = store._file._conn.execute("PRAGMA page_count").fetchone()[0]
    store._file._conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    many = [job(f"new-{i:05d}-{'x' * 40}") for i in range(5000)]
    with pytest.raises(HistoryError) as info:
        store.record(WS, many, 2.0)
    assert "disk is full" in str(info.value) and str(db) in str(info.value)
    assert not isinstance(info.value, sqlite3.Error)
    assert len(store.jobs(WS)) == 50
    assert store.last_poll(WS) == 1.0
    store._file._conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.record(WS, many[:10] + [job("old0", COMPLETED)], 3.0) == 11
    assert count_transitions(db) == 61


def test_sqlite_errors_never_escape_record(store: HistoryStore, monkeypatch):
    store.record(WS, [job("a")], 1.0)

    class Boom:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise sqlite3.OperationalError("disk I/O error")

            return fail

    monkeypatch.setattr(store._file, "_conn", Boom())
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


# -- schema v2: migrating a v1 file, read-only files ---------------------------------------

# The schema jobwatch wrote before observation windows (schema v1), as it was shipped.
V1_DDL = """
CREATE TABLE jobs (
    workspace_id TEXT NOT NULL, workflow_id TEXT NOT NULL, status_code INTEGER NOT NULL,
    status_name TEXT NOT NULL, run_id TEXT NOT NULL, first_seen REAL NOT NULL,
    last_change REAL NOT NULL, PRIMARY KEY (workspace_id, workflow_id)
) WITHOUT ROWID;
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT NOT NULL, workflow_id TEXT NOT NULL,
    status_code INTEGER NOT NULL, status_name TEXT NOT NULL, run_id TEXT NOT NULL,
    observed_at REAL NOT NULL
);
CREATE INDEX transitions_by_job ON transitions (workspace_id, workflow_id, id);
CREATE TABLE polls (workspace_id TEXT PRIMARY KEY, last_success REAL NOT NULL);
CREATE TABLE tracked (
    workspace_id TEXT NOT NULL, workflow_id TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, workflow_id)
);
"""


def make_v1(db: Path) -> None:
    """A history as jobwatch wrote it with schema v1: job a ran, then completed."""
    db.parent.mkdir(exist_ok=True)
    conn = sqlite3.connect(db)
    conn.executescript(V1_DDL)
    conn.executemany(
        "INSERT INTO transitions (workspace_id, workflow_id, status_code, status_name, run_id,"
        " observed_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(WS, "a", 1, "RUNNING", "r1", 1.0), (WS, "a", 2, "COMPLETED", "r1", 2.0)],
    )
    conn.execute(
        "INSERT INTO jobs VALUES (?, 'a', 2, 'COMPLETED', 'r1', 1.0, 2.0)",
        (WS,),
    )
    conn.execute("INSERT INTO polls VALUES (?, 2.0)", (WS,))
    conn.execute("INSERT INTO tracked VALUES (?, 'a', 0)", (WS,))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_v1_database_migrates_in_place_and_old_windows_stay_unknown(db: Path):
    make_v1(db)
    with HistoryStore(db) as s:
        assert [t.not_before for t in s.transitions(WS, "a")] == [None, None]
        assert s.job(WS, "a") == JobRecord("a", COMPLETED, "r1", 1.0, 2.0)
        assert s.job(WS, "a").started is None  # never seen starting: not invented
        assert s.gaps(WS) == [] and s.finished_runs(WS) == []
        assert s.tracked(WS) == ["a"] and s.last_poll(WS) == 2.0
        # A new change after migration has a window: the last poll that saw the old state.
        assert (
            s.record(WS, [job("a", RUNNING, "r2")], 5.0, answer=Answer([job("a", RUNNING, "r2")]))
            == 1
        )
        assert s.transitions(WS, "a")[-1].window == Window(2.0, 5.0)
        s.set_label(WS, "a", "nightly")
        assert s.job(WS, "a").label == "nightly"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(history.MIGRATIONS)
    conn.close()


@pytest.fixture
def read_only_dir(db: Path):
    """db's directory made read-only (0555, the file 0444) for the test, writable again after."""
    yield db.parent
    os.chmod(db.parent, 0o755)
    for path in db.parent.iterdir():
        os.chmod(path, 0o644)


def test_a_read_only_v1_file_is_read_as_it_is_and_never_written(db: Path, read_only_dir: Path):
    make_v1(db)
    with HistoryStore(db):  # checkpoint and close cleanly, as a finished jobwatch leaves it
        pass
    make_v1_again = sqlite3.connect(db)
    make_v1_again.execute("PRAGMA user_version = 1")  # the migration above made it v2: undo
    make_v1_again.close()
    before = db.read_bytes()
    os.chmod(db, 0o444)
    os.chmod(read_only_dir, 0o555)
    # Tests run as root, whom chmod does not stop: ask for read-only explicitly (the automatic
    # choice on a read-only mount is tested below with a real read-only bind mount).
    with HistoryStore(db, read_only=True) as s:
        assert s.read_only
        assert s.job(WS, "a").status == COMPLETED
        assert [t.not_before for t in s.transitions(WS, "a")] == [None, None]
        assert s.gaps(WS) == [] and s.annotations(WS) == {}
        with pytest.raises(HistoryError, match="read-only"):
            s.record(WS, [job("a", RUNNING, "r2")], 5.0)
        with pytest.raises(HistoryError, match="read-only"):
            s.set_label(WS, "a", "x")
    assert db.read_bytes() == before
    # root may make SQLite's shared-memory index beside it, but nothing is logged to write
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_read_only_empty_file_reads_as_an_empty_history(db: Path, read_only_dir: Path):
    db.parent.mkdir()
    db.write_bytes(b"")
    with HistoryStore(db, read_only=True) as s:
        assert s.jobs(WS) == [] and s.gaps(WS) == [] and s.last_poll(WS) is None


def test_a_missing_file_cannot_be_opened_read_only(db: Path):
    with pytest.raises(HistoryError, match="does not exist"):
        HistoryStore(db, read_only=True)


_READ_ONLY_MOUNT = """
import sys
from jobwatch.store.history import HistoryStore
s = HistoryStore(sys.argv[1])
t = s.transitions("ws-1", "a")
print(s.read_only, [x.not_before for x in t], len(s.gaps("ws-1")))
"""


def test_history_on_a_read_only_mount_opens_read_only_by_itself(db: Path, tmp_path: Path):
    with HistoryStore(db) as s:
        s.record(WS, [job("a")], 1.0, answer=Answer([job("a")]), interval=2.0)
        s.record(WS, [job("a", COMPLETED)], 60.0, answer=Answer([job("a", COMPLETED)]))
    before = db.read_bytes()
    command = f"mount --bind -o ro {db.parent} {db.parent} && {sys.executable} -c '{_READ_ONLY_MOUNT}' {db}"
    try:
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    if "mount" in proc.stderr and proc.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "True [None, 1.0] 1"
    assert db.read_bytes() == before


# -- observation windows ----------------------------------------------------------------------


def poll_all(store: HistoryStore, jobs: list[Job], at: float, interval: float = 2.0) -> int:
    """One all-jobs poll that saw `jobs`, recorded the way the poller does (changes + answer)."""
    known = {r.workflow_id: (r.status, r.run_id) for r in store.jobs(WS)}
    changed = [j for j in jobs if known.get(j.workflow_id) != (j.status, j.run_id)]
    return store.record(WS, changed, at, answer=Answer(jobs), interval=interval)


def windows(store: HistoryStore, wid: str) -> list[Window]:
    return [t.window for t in store.transitions(WS, wid)]


def test_all_jobs_polls_give_each_change_its_window(store: HistoryStore):
    a, b, c = job("a-1"), job("b-2"), job("c-3")
    poll_all(store, [a, b], 10.0)  # first poll: both were already there, since when is unknown
    poll_all(store, [a, b], 12.0)
    poll_all(store, [a, b, c], 14.0)  # c appeared after the 12.0 poll, which did not list it
    poll_all(store, [job("a-1", COMPLETED), b, c], 16.0)
    assert windows(store, "a-1") == [Window(None, 10.0), Window(14.0, 16.0)]
    assert windows(store, "c-3") == [Window(12.0, 14.0)]
    assert store.job(WS, "c-3").started == Window(12.0, 14.0)
    assert store.job(WS, "a-1").started == Window(None, 10.0)


def test_a_job_missing_from_an_answer_keeps_the_last_time_it_was_seen(store: HistoryStore):
    a, b = job("a"), job("b")
    poll_all(store, [a, b], 10.0)
    poll_all(store, [a, b], 12.0)
    poll_all(store, [a], 14.0)  # b left the list
    poll_all(store, [a], 16.0)
    poll_all(store, [a, job("b", COMPLETED)], 18.0)
    assert windows(store, "b")[-1] == Window(12.0, 18.0)
    poll_all(store, [a, job("b", COMPLETED)], 20.0)
    poll_all(store, [a, job("b", RUNNING, "r2")], 22.0)  # back in the answer: seen again
    assert windows(store, "b")[-1] == Window(20.0, 22.0)


def test_a_poll_of_chosen_ids_sees_only_those(store: HistoryStore):
    x, z = job("x"), job("z")
    poll_all(store, [x, z], 1.0)
    for at in (3.0, 5.0):
        store.record(WS, [], at, answer=Answer([x], ["x"]), interval=2.0)
    poll_all(store, [job("x", COMPLETED), job("z", COMPLETED)], 7.0)
    assert windows(store, "x")[-1] == Window(5.0, 7.0)
    assert windows(store, "z")[-1] == Window(1.0, 7.0)  # the polls at 3 and 5 did not ask for z


def _stored_seen(db: Path, wid: str) -> float | None:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT seen_at FROM jobs WHERE workflow_id = ?", (wid,)).fetchone()[0]


def test_seen_facts_of_chosen_id_polls_are_written_once_a_minute_and_on_close(db: Path):
    """The dashboard polls its running jobs every 2 s: writing each one's seen_at every poll cost
    most of its history writes at 100k jobs. In between writes they are kept in memory."""
    x = job("x")
    store = HistoryStore(db)
    poll_all(store, [x], 1.0)
    store.record(WS, [], 3.0, answer=Answer([x], ["x"]), interval=2.0)  # the first: at once
    assert _stored_seen(db, "x") == 3.0
    for at in (5.0, 7.0, 62.0):
        store.record(WS, [], at, answer=Answer([x], ["x"]), interval=2.0)
    assert _stored_seen(db, "x") == 3.0  # kept, not written
    store.record(WS, [], 63.0, answer=Answer([x], ["x"]), interval=2.0)
    assert _stored_seen(db, "x") == 63.0  # 60 s after the last write
    store.record(WS, [], 65.0, answer=Answer([x], ["x"]), interval=2.0)
    store.close()
    assert _stored_seen(db, "x") == 65.0


def test_a_change_after_unwritten_seen_facts_gets_the_narrow_window(db: Path):
    x = job("x")
    with HistoryStore(db) as store, HistoryStore(db) as other:
        poll_all(store, [x], 1.0)
        for at in (3.0, 5.0, 7.0):
            store.record(WS, [], at, answer=Answer([x], ["x"]), interval=2.0)
        done = [job("x", COMPLETED)]
        store.record(WS, done, 9.0, answer=Answer(done, ["x"]), interval=2.0)
        assert windows(store, "x")[-1] == Window(7.0, 9.0)
        for at in (11.0, 13.0):
            store.record(WS, [], at, answer=Answer(done, ["x"]), interval=2.0)
        # another process (or this one after a crash) knows only what was written: the window
        # it gives the next change is wider, and still true
        again = [job("x", RUNNING, "r2")]
        other.record(WS, again, 15.0, answer=Answer(again, ["x"]), interval=2.0)
        assert windows(other, "x")[-1] == Window(9.0, 15.0)


def test_an_id_asked_for_before_it_is_listed_appears_in_a_window(store: HistoryStore):
    store.record(WS, [], 10.0, answer=Answer([], ["new-1"]), interval=2.0)
    store.record(WS, [], 12.0, answer=Answer([], ["new-1"]), interval=2.0)
    appeared = [job("new-1")]
    store.record(WS, appeared, 14.0, answer=Answer(appeared, ["new-1"]), interval=2.0)
    assert windows(store, "new-1") == [Window(12.0, 14.0)]


def test_without_an_answer_a_poll_has_seen_only_what_changed(store: HistoryStore):
    store.record(WS, [job("a")], 1.0)
    store.record(WS, [job("a")], 3.0)
    store.record(WS, [job("a", COMPLETED)], 5.0)
    assert windows(store, "a") == [Window(None, 1.0), Window(1.0, 5.0)]  # wider, still true
    store.record(WS, [job("a", COMPLETED)], 7.0, answer=Answer([job("a", COMPLETED)], ["a"]))
    store.record(WS, [job("a", RUNNING, "r2")], 9.0)
    assert windows(store, "a")[-1] == Window(7.0, 9.0)


def test_another_writer_taking_a_job_out_of_the_answer_is_seen(db: Path):
    with HistoryStore(db) as first, HistoryStore(db) as second:
        a, b = job("a"), job("b")
        first.record(WS, [a, b], 10.0, answer=Answer([a, b]))
        second.record(WS, [], 12.0, answer=Answer([a]))  # its answer left b out
        changed = [job("b", COMPLETED)]
        first.record(WS, changed, 14.0, answer=Answer([a, *changed]))
        # not 12.0: the poll at 12.0 did not see b
        assert first.transitions(WS, "b")[-1].window == Window(10.0, 14.0)


@pytest.mark.parametrize("moved_limit", [5000, 0])
def test_windows_match_a_naive_model_over_random_polls(
    store: HistoryStore, monkeypatch, moved_limit
):
    """Every shortcut (same list, count, position diff, full set) against a direct model; with
    moved_limit 0, every shuffled answer takes the full-set path instead of the position diff,
    and the stored rows of changed jobs are read by a scan instead of lookups by ID."""
    monkeypatch.setattr(coverage, "MOVED_LIMIT", moved_limit)
    if moved_limit == 0:
        monkeypatch.setattr(history_writes, "SCAN_FROM", 1)
    rng = random.Random(7)
    ids = [f"j{i:02d}" for i in range(30)]
    state = {wid: (RUNNING, "r0") for wid in ids[:20]}
    seen_at: dict[str, float] = {}  # when each job was last in an answer, in its stored state
    last_full: float | None = None
    missing_at: dict[str, float] = {}
    expected: dict[str, list[float | None]] = {}
    previous: list[Job] | None = None
    for step in range(120):
        at = 10.0 + 2 * step
        if rng.random() < 0.15 and previous is not None:
            listed = previous  # the very same answer as last time
        else:
            for wid in ids:
                x = rng.random()
                if x < 0.05:
                    state[wid] = (
                        COMPLETED if state.get(wid, (RUNNING,))[0] == RUNNING else RUNNING,
                        f"r{step}",
                    )
                elif wid not in state and x < 0.1:
                    state[wid] = (RUNNING, f"r{step}")
            present = [wid for wid in state if rng.random() > 0.1]
            if rng.random() < 0.5:
                rng.shuffle(present)
            old = {j.workflow_id: j for j in previous or ()}
            listed = []
            for wid in present:
                fresh = Job(wid, *state[wid])
                listed.append(old[wid] if old.get(wid) == fresh else fresh)
        partial = rng.random() < 0.25
        requested = rng.sample(ids, 8) if partial else None
        answer = [j for j in listed if requested is None or j.workflow_id in requested]
        known = {r.workflow_id: (r.status, r.run_id) for r in store.jobs(WS)}
        changed = [j for j in answer if known.get(j.workflow_id) != (j.status, j.run_id)]
        for j in changed:
            wid = j.workflow_id
            if wid in known:
                not_before: float | None = seen_at[wid]
            else:
                hints = [t for t in (last_full, missing_at.get(wid)) if t is not None]
                not_before = max(hints) if hints else None
            expected.setdefault(wid, []).append(not_before)
        store.record(WS, changed, at, answer=Answer(answer, requested), interval=2.0)
        for j in answer:
            seen_at[j.workflow_id] = at
        present_ids = {j.workflow_id for j in answer}
        for wid in requested or ():
            if wid not in present_ids and wid not in known:
                missing_at[wid] = at
        if requested is None:
            last_full = at
            previous = listed
    got = {wid: [t.not_before for t in store.transitions(WS, wid)] for wid in expected}
    assert got == expected
    assert sum(len(v) for v in expected.values()) > 100


# -- gaps ---------------------------------------------------------------------------------------


def test_a_pause_longer_than_the_threshold_is_a_gap(store: HistoryStore):
    a = [job("a")]
    poll_all(store, a, 100.0)
    poll_all(store, a, 110.0)  # exactly max(3 x 2 s, 10 s): not a gap
    poll_all(store, a, 120.5)
    poll_all(store, a, 122.0)
    poll_all(store, a, 3722.0)  # jobwatch was not running for an hour
    poll_all(store, a, 3737.0, interval=5.0)  # 15 s at a 5 s interval: not a gap
    assert store.gaps(WS) == [Gap(110.0, 120.5), Gap(122.0, 3722.0)]
    assert store.gaps(WS, 0.0, 115.0) == [Gap(110.0, 120.5)]
    assert store.gaps(WS, 200.0, 300.0) == [Gap(122.0, 3722.0)]
    assert store.gaps(WS, 3722.0, 4000.0) == []
    assert store.gaps("other") == []


def test_an_older_poll_recorded_late_neither_moves_time_back_nor_makes_a_gap(db: Path):
    with HistoryStore(db) as first, HistoryStore(db) as second:
        first.record(WS, [job("a")], 100.0, interval=2.0)
        first.record(WS, [], 150.0, interval=2.0)
        second.record(WS, [], 120.0, interval=2.0)  # another process, slower to write
        assert first.last_poll(WS) == 150.0
        assert first.gaps(WS) == [Gap(100.0, 150.0)]


def test_gaps_of_a_job_cover_its_lifetime(store: HistoryStore):
    a = job("a")
    poll_all(store, [], 0.0)
    poll_all(store, [a], 2.0)
    poll_all(store, [a], 500.0)  # gap while a ran
    poll_all(store, [job("a", COMPLETED)], 502.0)
    poll_all(store, [job("a", COMPLETED)], 9000.0)  # a gap after a ended
    assert store.job_gaps(WS, "a") == [Gap(2.0, 500.0)]
    b = job("b")
    poll_all(store, [job("a", COMPLETED), b], 9002.0)
    poll_all(store, [job("a", COMPLETED), b], 20000.0)
    assert store.job_gaps(WS, "b") == [Gap(9002.0, 20000.0)]  # still running: up to now
    assert store.job_gaps(WS, "nobody") == []


# -- finished runs and typical durations -------------------------------------------------------


def test_a_run_seen_starting_and_ending_is_a_finished_run(store: HistoryStore):
    old = job("old-1")  # already running at the first poll: when it started is unknown
    poll_all(store, [old], 10.0)
    poll_all(store, [old, job("tax-1")], 12.0)
    poll_all(store, [old, job("tax-1")], 60.0)
    poll_all(store, [job("old-1", COMPLETED), job("tax-1", COMPLETED)], 62.0)
    done = [job("old-1", COMPLETED), job("tax-1", COMPLETED)]
    # appeared between two polls of all jobs: its start is known
    poll_all(store, [*done, job("tax-2")], 64.0)
    poll_all(store, [*done, job("tax-2", COMPLETED)], 66.0)
    # started again under a new run: a second run of the same workflowId
    poll_all(store, [job("tax-1", RUNNING, "r2"), job("tax-2", COMPLETED)], 68.0)
    poll_all(store, [job("tax-1", COMPLETED, "r2"), job("tax-2", COMPLETED)], 98.0)
    runs = store.finished_runs(WS)
    assert [(r.workflow_id, r.started, r.ended, r.code) for r in runs] == [
        ("tax-1", Window(10.0, 12.0), Window(60.0, 62.0), 2),
        ("tax-2", Window(62.0, 64.0), Window(64.0, 66.0), 2),
        ("tax-1", Window(66.0, 68.0), Window(68.0, 98.0), 2),
    ]
    assert store.job(WS, "old-1").started == Window(None, 10.0)


def test_typical_durations_from_the_history_and_labels_as_kinds(store: HistoryStore):
    jobs = {f"role-create-{i}": job(f"role-create-{i}") for i in range(6)}
    poll_all(store, [], 0.0)
    poll_all(store, list(jobs.values()), 2.0)
    at = 2.0
    for i, wid in enumerate(jobs):
        at += 10.0 + 2 * i
        poll_all(store, [*jobs.values()], at - 2)
        jobs[wid] = job(wid, COMPLETED)
        poll_all(store, [*jobs.values()], at)
    store.set_label(WS, "role-create-5", "the big one")
    typical = store.typical_durations(WS, Kinds())
    assert set(typical) == {"role-create", "the big one"}
    assert typical["role-create"].runs == 5
    assert typical["role-create"].median == pytest.approx(36.0)  # of 10, 22, 36, 52, 70 s
    assert typical["the big one"].runs == 1


def test_the_sql_rule_and_the_pure_rule_for_counted_runs_agree(store: HistoryStore):
    rng = random.Random(3)
    jobs: dict[str, Job] = {}
    at = 0.0
    for step in range(200):
        at += rng.choice([1.0, 2.0, 9.0, 11.0, 30.0])
        wid = f"k{rng.randrange(8)}-{rng.randrange(12)}"
        current = jobs.get(wid)
        if current is None or current.status.is_terminal:
            jobs[wid] = Job(wid, RUNNING, f"r{step}")
        else:
            jobs[wid] = Job(
                wid, rng.choice([COMPLETED, COMPLETED, Status(3, "FAILED")]), current.run_id
            )
        poll_all(store, list(jobs.values()), at)
    runs = store.finished_runs(WS)
    from_objects = durations.typical_durations(runs, Kinds().kind)
    from_sql = store.typical_durations(WS, Kinds())
    assert from_sql == from_objects
    assert sum(t.runs for t in from_sql.values()) >= 10
    assert any(not r.counts for r in runs)


# -- labels and pins -------------------------------------------------------------------------


def test_labels_and_pins_are_stored_per_job_and_returned_with_it(store: HistoryStore):
    store.record(WS, [job("a"), job("b")], 1.0)
    store.set_label(
        WS, "a", "  nightly import \x1b[31m "
    )  # stored as given: escaping is for display
    store.set_pinned(WS, "b", True)
    records = {r.workflow_id: r for r in store.jobs(WS)}
    assert records["a"].label == "  nightly import \x1b[31m " and not records["a"].pinned
    assert records["b"].label is None and records["b"].pinned
    assert store.job(WS, "b").pinned
    assert store.annotations(WS) == {
        "a": Annotation("  nightly import \x1b[31m ", False),
        "b": Annotation(None, True),
    }
    store.set_pinned(WS, "a", True)
    assert store.annotations(WS)["a"] == Annotation("  nightly import \x1b[31m ", True)
    store.set_label(WS, "a", "   ")  # blank clears
    store.set_pinned(WS, "b", False)
    assert store.annotations(WS) == {"a": Annotation(None, True)}
    store.set_pinned(WS, "a", False)
    assert store.annotations(WS) == {}
    store.set_label("other", "a", "elsewhere")
    assert store.job(WS, "a").label is None


def test_a_label_is_bounded(store: HistoryStore):
    store.set_label(WS, "a", "x" * history.MAX_LABEL_CHARS)
    with pytest.raises(UsageError, match=f"at most {history.MAX_LABEL_CHARS}"):
        store.set_label(WS, "a", "x" * (history.MAX_LABEL_CHARS + 1))
    assert store.annotations(WS)["a"].label == "x" * history.MAX_LABEL_CHARS


# -- cost at 100k jobs -------------------------------------------------------------------------


def test_at_100k_jobs_a_quiet_tick_writes_one_row_and_a_busy_one_its_changes(store: HistoryStore):
    jobs = [Job(f"wf-{i:06d}-4f1c-9a7e", RUNNING, f"run-{i}") for i in range(100_000)]
    assert store.record(WS, jobs, 1.0, answer=Answer(jobs), interval=2.0) == 100_000
    conn = store._file._conn

    def rows_written(changed: list[Job], listed: list[Job], at: float) -> int:
        before = conn.total_changes
        store.record(WS, changed, at, answer=Answer(listed), interval=2.0)
        return conn.total_changes - before

    assert rows_written([], jobs, 3.0) == 1  # the same answer: only the poll time
    assert rows_written([], list(jobs), 5.0) == 1  # an equal answer in a new list
    done = [Job(j.workflow_id, COMPLETED, j.run_id) for j in jobs[:1000]]
    busy = done + jobs[1000:]
    assert rows_written(done, busy, 7.0) == 1000 + 1000 + 1  # transitions, job rows, poll
    assert rows_written([], busy[1:], 9.0) == 1 + 1  # one job left the answer, and the poll
    assert rows_written([], list(busy[1:]), 11.0) == 1
    assert rows_written([], busy, 13.0) == 1 + 1  # it came back


def test_the_memory_of_a_stored_state_is_the_job_recorded_not_a_copy(store, db):
    """Coverage.state shares the poller's Job (a (code, runId) tuple per job was 5.7 MB at 100k
    jobs); a state read back from the file has the same code and runId, one Status per code."""
    jobs = [job(f"j{i}", COMPLETED if i % 2 else RUNNING) for i in range(4)]
    store.record("ws", jobs, 100.0)
    state = store._cache["ws"].state
    assert all(state[j.workflow_id] is j for j in jobs)
    # a changed job replaces its entry; an unchanged one that is a different object is no
    # change, but its entry becomes that object (the poller holds it; the old one can go)
    done, same = job("j0", COMPLETED), job("j1", COMPLETED)
    assert store.record("ws", [done, same], 102.0) == 1
    assert state["j0"] is done and state["j1"] is same and state["j2"] is jobs[2]
    reread = HistoryStore(db)
    try:
        records = reread.jobs("ws")  # a restart: the table reads first
        reread.record("ws", [], 104.0)
        loaded = reread._cache["ws"].state
        assert {w: (j.status.code, j.run_id) for w, j in loaded.items()} == {
            w: (j.status.code, j.run_id) for w, j in state.items()
        }
        assert loaded["j0"].status is loaded["j1"].status
        # the table's records and this memory hold one copy of each ID (jobwatch.models)
        assert len(records) == len(loaded)
        for record in records:
            stored = loaded[record.workflow_id]
            assert stored.workflow_id is record.workflow_id and stored.run_id is record.run_id
        assert all(wid is job.workflow_id for wid, job in loaded.items())  # the keys too
        # a restart's first answer: the states read from the file give way to the poller's jobs
        answer = [job(f"j{i}", COMPLETED if i % 2 else RUNNING) for i in range(1, 4)]
        answer.insert(0, job("j0", COMPLETED))
        assert reread.record("ws", answer, 106.0) == 0
        assert all(loaded[j.workflow_id] is j for j in answer)
    finally:
        reread.close()


# -- what the detail pane reads (several jobs at once) -----------------------------------------


def test_job_histories_answer_as_the_one_job_reads_do(store: HistoryStore, monkeypatch):
    monkeypatch.setattr(history.reads, "IDS_PER_QUERY", 2)  # several queries of the same read
    a, b = job("a"), job("b", RUNNING, "")
    poll_all(store, [], 0.0)
    poll_all(store, [a, b], 2.0)
    poll_all(store, [a, b], 500.0)  # a gap while both ran
    poll_all(store, [job("a", CONTINUED, "r1"), b], 502.0)
    poll_all(store, [job("a", RUNNING, "r2"), b], 504.0)
    poll_all(store, [job("a", COMPLETED, "r2"), b, job("c")], 506.0)
    poll_all(store, [job("a", COMPLETED, "r2"), job("b", COMPLETED, "b1"), job("c")], 9000.0)
    poll_all(store, [job("c")], 9002.0)
    store.record("other", [job("a", CANCELED)], 1.0)
    ids = ["c", "nobody", "a", "b"]
    found = store.job_histories(WS, ids)
    assert list(found) == ids
    for wid in ids:
        assert found[wid].transitions == store.transitions(WS, wid)
        assert found[wid].run_chain == store.run_chain(WS, wid)
        assert found[wid].gaps == store.job_gaps(WS, wid)
    assert found["a"].run_chain == ["r1", "r2"] and found["a"].gaps == [Gap(2.0, 500.0)]
    assert found["c"].gaps == [Gap(506.0, 9000.0)]  # still running: up to the last poll
    assert found["nobody"] == history.NO_HISTORY
    assert store.job_histories("other", ["a"])["a"].transitions[0].status == CANCELED


def test_writing_is_true_only_while_a_write_runs(store: HistoryStore):
    started, release = threading.Event(), threading.Event()

    def slow(conn):
        started.set()
        release.wait(5)

    writer = threading.Thread(target=store._file.write, args=(slow,))
    assert not store.writing
    writer.start()
    assert started.wait(5)
    assert store.writing
    # a read meanwhile does not wait for the write (the second connection)
    assert store.job_histories(WS, ["a"]) == {"a": history.NO_HISTORY}
    release.set()
    writer.join(5)
    assert not store.writing


def test_jobs_come_in_the_order_first_seen_then_by_workflow_id(store: HistoryStore):
    store.record(WS, [Job("z", RUNNING, "r1"), Job("é", RUNNING, "r1")], 20.0)
    store.record(WS, [Job("m", RUNNING, "r1"), Job("b", RUNNING, "r1")], 10.0)
    store.record(WS, [Job("a", RUNNING, "r1")], 30.0)
    # 'é' (U+00E9) after 'z': SQLite's byte order and Python's code-point order agree
    assert [r.workflow_id for r in store.jobs(WS)] == ["b", "m", "z", "é", "a"]


def test_leading_jobs_are_the_pinned_and_the_latest_in_the_column_ties_by_workflow_id(
    store: HistoryStore,
):
    store.record(WS, [Job(f"old-{i}", RUNNING, "r1") for i in range(5)], 10.0)
    store.record(WS, [Job("é", RUNNING, "r1"), Job("z", RUNNING, "r1")], 20.0)
    store.record(WS, [Job("b", RUNNING, "r1"), Job("a", RUNNING, "r1")], 30.0)
    store.record(WS, [Job("old-3", Status(3, "FAILED"), "r1")], 40.0)  # a change: last_change 40
    store.set_pinned(WS, "old-0", True)
    store.set_pinned(WS, "a", True)  # pinned and among the latest: listed once

    def ids(column: str, limit: int) -> list[str]:
        return [r.workflow_id for r in store.leading_jobs(WS, column, limit)]

    assert ids("last_change", 3) == ["old-3", "a", "b", "old-0"]
    # first seen: a and b (30), then z before é (20: 'é' U+00E9 sorts after 'z' in both orders)
    assert ids("first_seen", 4) == ["a", "b", "z", "é", "old-0"]
    assert {r.workflow_id: r.pinned for r in store.leading_jobs(WS, "first_seen", 1)} == {
        "a": True,
        "old-0": True,
    }
    assert store.leading_jobs("another", "last_change", 3) == []
    with pytest.raises(ValueError):
        store.leading_jobs(WS, "status_code; DROP TABLE jobs", 3)


def test_records_of_one_status_share_one_status_object(store: HistoryStore):
    store.record(WS, [Job("a", RUNNING, "r1"), Job("b", RUNNING, "r2")], 10.0)
    store.record(WS, [Job("c", Status(3, "FAILED"), "r3")], 11.0)
    a, b, c = store.jobs(WS)
    assert a.status is b.status and a.status == RUNNING
    assert c.status == Status(3, "FAILED") and c.status is not a.status


def test_job_slices_read_every_job_a_slice_at_a_time_from_one_snapshot(store: HistoryStore):
    """What a restart's rest of the history is gathered from (jobwatch.tui.history_load): the
    records of `jobs` in slices of at most `size`; a write between two slices is not among them
    and does not wait for the read to end."""
    store.record(WS, [job(f"j{i:03d}") for i in range(25)], 10.0)
    store.set_label(WS, "j003", "nightly")
    before = {r.workflow_id: r for r in store.jobs(WS)}
    slices = store.job_slices(WS, 10)
    first = next(slices)
    store.record(WS, [job("late"), job("j000", COMPLETED)], 11.0)  # not waiting for the read
    rest = list(slices)
    assert [len(records) for records in [first, *rest]] == [10, 10, 5]
    got = {r.workflow_id: r for records in [first, *rest] for r in records}
    assert got == before and got["j003"].label == "nightly"
    assert {r.workflow_id for r in store.jobs(WS)} == {*before, "late"}
    assert list(store.job_slices("another", 10)) == []


def test_job_slices_of_an_empty_read_only_file_and_of_a_closed_store(db: Path, read_only_dir: Path):
    db.parent.mkdir()
    db.write_bytes(b"")
    with HistoryStore(db, read_only=True) as s:  # the in-memory stand-in: one slice
        assert list(s.job_slices(WS, 10)) == []
    with pytest.raises(HistoryError, match="closed"):
        next(s.job_slices(WS, 10))
