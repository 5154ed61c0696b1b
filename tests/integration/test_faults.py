"""The fault matrix: every fault the API, the network, the disk or the user can produce.

Each case runs against the real simulator over loopback HTTP and checks what the issue asks
for: the process keeps running (or exits with its documented code), the message names the
fault (HTTP status, errorId, "retrying in"), the history store loses nothing, polling
recovers by itself once the fault ends, and no two polls overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import sqlite3
import time
from pathlib import Path

import pytest

from jobwatch.api.client import SharelyClient
from jobwatch.api.transport import Connection
from jobwatch.cli.output import event_line
from jobwatch.events import (
    HistoryFailed,
    PollCompleted,
    PollerStopped,
    PollFailed,
    Recovered,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.poller import Poller
from jobwatch.simulator.server import Simulator
from jobwatch.store.config import parse_job_ids
from jobwatch.store.history import HistoryError, HistoryStore
from tests.support.cli import later, run

INTERVAL = 0.05


@pytest.fixture
def history(tmp_path):
    store = HistoryStore(tmp_path / "data" / "history.sqlite3")
    yield store
    store.close()


class Timed:
    """A job source around the real client: each fetch's span and the most fetches in flight."""

    def __init__(self, client):
        self.client = client
        self.spans: list[tuple[float, float]] = []
        self.active = 0
        self.max_active = 0

    async def fetch_jobs(self, job_ids):
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        start = time.monotonic()
        try:
            return await self.client.fetch_jobs(job_ids)
        finally:
            self.active -= 1
            self.spans.append((start, time.monotonic()))


@contextlib.asynccontextmanager
async def poller_for(sim, *, timeout=2.0, environ=None, **kw):
    conn = Connection(sim.base_url, sim.workspace_id, sim.organization_id, timeout=timeout)
    client = SharelyClient(conn, environ=environ or {"SHARELY_ACCESS_TOKEN": sim.token})
    kw.setdefault("interval", INTERVAL)
    kw.setdefault("backoff_base", 0.05)
    kw.setdefault("backoff_cap", 0.2)
    poller = Poller(Timed(client), sim.workspace_id, **kw)
    try:
        yield poller
    finally:
        await client.aclose()


async def drive(poller, on_batch, timeout=8.0):
    """Run the poller, calling on_batch(batch, seen) after every tick until it returns True."""
    seen = []
    async with asyncio.timeout(timeout), contextlib.aclosing(poller.run()) as ticks:
        async for batch in ticks:
            seen.extend(batch)
            if on_batch(batch, seen):
                break
    return seen


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def steps(store, sim, wid):
    return [
        (t.status.code, t.run_id, t.observed_at) for t in store.transitions(sim.workspace_id, wid)
    ]


# -- the API and the network: fault, then recovery by itself ---------------------------------


def _stop_and_remember_port(sim):
    sim.saved_port = sim.port
    sim.stop()


def _restart_on_same_port(sim):
    assert sim.start(port=sim.saved_port) == f"http://127.0.0.1:{sim.saved_port}"


def _set(field, value):
    return lambda sim: setattr(sim.faults, field, value)


HTTP_WORDS = ["errorId"]
# name: (start the fault, end it (None: it ends by itself), words the message must contain)
FAULTS = {
    "429 Retry-After seconds": (
        lambda s: s.fail_next(429, headers={"Retry-After": "0.3"}, count=2),
        None,
        ["HTTP 429", "rate limited", "retry after 0.3 s", *HTTP_WORDS],
    ),
    "503 Retry-After seconds": (
        lambda s: s.fail_next(503, headers={"Retry-After": "0.3"}, count=2),
        None,
        ["HTTP 503", "server error", *HTTP_WORDS],
    ),
    "503": (lambda s: s.fail_next(503, count=2), None, ["HTTP 503", *HTTP_WORDS]),
    "500": (lambda s: s.fail_next(500, count=2), None, ["HTTP 500", *HTTP_WORDS]),
    "502": (lambda s: s.fail_next(502, count=2), None, ["HTTP 502", *HTTP_WORDS]),
    "504": (lambda s: s.fail_next(504, count=2), None, ["HTTP 504", *HTTP_WORDS]),
    "connection refused, back on the same port": (
        _stop_and_remember_port,
        _restart_on_same_port,
        ["connection refused"],
    ),
    "connection reset": (_set("down", True), _set("down", False), ["127.0.0.1"]),
    "read timeout": (_set("stall", 1.0), _set("stall", 0.0), ["read timeout", "0.3 s"]),
    "truncated body": (
        _set("malformed", "truncated"),
        _set("malformed", None),
        ["bad response", "not valid JSON"],
    ),
    "non-JSON body": (
        _set("malformed", "not_json"),
        _set("malformed", None),
        ["bad response", "not valid JSON", "<html>"],
    ),
    "object instead of array": (
        _set("malformed", "object"),
        _set("malformed", None),
        ["bad response", "JSON dict, expected an array"],
    ),
    "job without workflowId": (
        _set("malformed", "no_workflow_id"),
        _set("malformed", None),
        ["bad response", "no workflowId"],
    ),
    "status not an object": (
        _set("malformed", "status_not_object"),
        _set("malformed", None),
        ["bad response", "status is a str, expected an object"],
    ),
    "code not a number": (
        _set("malformed", "code_not_number"),
        _set("malformed", None),
        ["bad response", "status.code is a str, expected an integer"],
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_is_named_nothing_is_lost_and_polling_recovers_by_itself(sim, history, name):
    start_fault, end_fault, words = FAULTS[name]
    sim.add_job("job-a", code=1, run_id="run-a")
    sim.add_job("job-b", code=1, run_id="run-b")
    state = {"before": None, "failed": 0}

    def on_batch(batch, seen):
        if of(batch, PollCompleted) and not of(seen, StatusChanged):
            sim.set_status("job-a", 2)
        elif of(batch, StatusChanged) and state["before"] is None:
            # job-a completed and is recorded: now the fault starts
            state["before"] = steps(history, sim, "job-a")
            start_fault(sim)
        for failed in of(batch, PollFailed):
            state["failed"] += 1
            # the last good data stays, and it is visibly older than the failure
            assert poller.jobs["job-a"].status.code == 2
            assert poller.last_success < failed.at
            if state["failed"] == 1:
                sim.set_status("job-b", 3)  # changes during the fault must not be lost
            if state["failed"] == 2 and end_fault is not None:
                end_fault(sim)
        assert not of(batch, PollerStopped), "a transient fault must never stop polling"
        return bool(of(seen, Recovered)) and poller.jobs["job-b"].status.code == 3

    async with poller_for(sim, job_ids=["job-a", "job-b"], history=history, timeout=0.3) as poller:
        seen = await drive(poller, on_batch)
        source = poller.client

    failures = of(seen, PollFailed)
    assert len(failures) >= 2
    for failed in failures:
        message = failed.error.describe()
        for word in words:
            assert word in message, f"{word!r} not in {message!r}"
        line, to_stderr = event_line(failed)
        assert to_stderr and "retrying in" in line
        if failed.error.retry_after is not None:
            assert failed.retry_in >= failed.error.retry_after
    assert of(seen, Recovered)[0].failures == len(failures)
    # nothing recorded before the fault was lost or rewritten; the change during it was recorded
    assert steps(history, sim, "job-a") == state["before"]
    assert [s[:2] for s in steps(history, sim, "job-b")] == [(1, "run-b"), (3, "run-b")]
    # one poll at a time, and Retry-After honoured between the failed poll and the next one
    assert source.max_active == 1
    spans = source.spans
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end
    if "Retry-After" in name:
        # one fetch per tick: the tick ends line up with the spans
        ends = [e for e in seen if isinstance(e, PollCompleted | PollFailed)]
        first = next(i for i, e in enumerate(ends) if isinstance(e, PollFailed))
        assert spans[first + 1][0] - spans[first][1] >= 0.3 - 0.01


async def test_retry_after_as_http_date_and_seconds_sets_the_next_poll(sim):
    sim.add_job("job-a")
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    sim.fail_next(429, headers={"Retry-After": when})
    sim.fail_next(429, headers={"Retry-After": "7"})
    sim.fail_next(503, headers={"Retry-After": "5"})
    async with poller_for(sim, job_ids=["job-a"], backoff_base=0.01) as poller:
        dated = (await poller.poll_once())[0]
        seconds = (await poller.poll_once())[0]
        unavailable = (await poller.poll_once())[0]
    assert isinstance(dated, PollFailed) and dated.error.status == 429
    assert dated.retry_in >= 2.9  # the date has one-second resolution
    assert seconds.retry_in >= 7 and unavailable.retry_in >= 5
    assert unavailable.retry_at >= unavailable.at + 5
    assert "retrying in" in event_line(unavailable)[0]


async def test_responses_slower_than_the_interval_never_overlap(sim):
    sim.add_job("job-a")
    sim.faults.latency = 0.12
    async with poller_for(sim, job_ids=["job-a"], interval=0.02) as poller:
        await drive(poller, lambda batch, seen: len(of(seen, PollCompleted)) >= 5)
        source = poller.client
    assert source.max_active == 1
    for (_, end), (start, _) in zip(source.spans, source.spans[1:], strict=False):
        assert start >= end
    # the simulator saw exactly one request per tick
    assert sim.jobs_request_count == len(source.spans)


async def test_same_workflow_id_twice_keeps_the_last_entry(sim, history):
    sim.add_job("job-a", code=1, run_id="run-1")
    async with poller_for(sim, job_ids=["job-a"], history=history) as poller:
        await poller.poll_once()
        twice = [
            {"workflowId": "job-a", "status": {"code": 3, "name": "FAILED"}, "runId": "run-0"},
            {"workflowId": "job-a", "status": {"code": 1, "name": "RUNNING"}, "runId": "run-1"},
        ]
        sim.fail_next(200, body=twice)
        events = await poller.poll_once()
    assert not of(events, PollFailed)
    assert poller.jobs["job-a"].status.code == 1
    assert not of(events, StatusChanged | RunIdChanged)  # the last entry is what it was
    assert [s[:2] for s in steps(history, sim, "job-a")] == [(1, "run-1")]


def test_unknown_status_is_kept_with_its_code_and_is_not_terminal(sim, conn, capsys):
    sim.add_job("job-x", code=9, name="PAUSED")
    code, out, _ = run(capsys, "status", *conn, "--json")
    assert json.loads(out) == [
        {
            "workflowId": "job-x",
            "status": {"code": 9, "name": "PAUSED"},
            "runId": json.loads(out)[0]["runId"],
            "label": None,
            "pinned": False,
            "kind": "job-x",
        }
    ]
    code, out, err = run(capsys, "wait", *conn, "job-x", "--interval", "0.1", "--timeout", "0.4")
    assert code == 124  # still waiting: an unknown status is not the end
    assert "PAUSED (9)" in out and "job-x" in err


def test_huge_response_100k_jobs_status_json(capsys, monkeypatch):
    with Simulator("bulk", jobs=100_000, seed=5) as big:
        monkeypatch.setenv("SHARELY_ACCESS_TOKEN", big.token)
        started = time.perf_counter()
        code, out, _ = run(
            capsys,
            "status",
            "--base-url",
            big.base_url,
            "--workspace-id",
            big.workspace_id,
            "--organization-id",
            big.organization_id,
            "--json",
        )
        elapsed = time.perf_counter() - started
    assert code == 0
    jobs = json.loads(out)
    assert len(jobs) == 100_000 and set(jobs[0]) >= {"workflowId", "status", "runId"}
    assert elapsed < 8, f"status --json of 100k jobs took {elapsed:.1f} s"


# -- credentials mid-session -----------------------------------------------------------------


def test_401_mid_wait_with_an_api_key_renews_and_goes_on(sim, conn, capsys, monkeypatch):
    monkeypatch.delenv("SHARELY_ACCESS_TOKEN")
    monkeypatch.setenv("SHARELY_API_KEY", sim.api_key)
    sim.add_job("job-a")
    later(0.3, sim.revoke_token)
    later(0.6, sim.set_status, "job-a", 2)
    code, out, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1")
    assert code == 0, err
    assert "poll failed" not in err and "401" not in err
    exchanges = [r for r in sim.requests if r[1].endswith("generate-access-key-token")]
    assert len(exchanges) == 2  # the first token, and its renewal after the 401


def test_expired_bare_token_mid_wait_says_so_and_exits_3(sim, conn, capsys, monkeypatch):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.issue_token(ttl=1))
    sim.add_job("job-a")
    code, _, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1", "--timeout", "5")
    assert code == 3
    assert "HTTP 401" in err and "token expired" in err and "errorId" in err
    assert "SHARELY_ACCESS_TOKEN" in err  # says what to fix


@pytest.mark.parametrize(
    ("position", "value", "words"),
    [
        (5, "00000000-0000-4000-8000-000000000000", ["HTTP 403", "forbidden", "errorId"]),
        (3, "00000000-0000-4000-8000-000000000001", ["HTTP 404", "workspace not found", "errorId"]),
    ],
    ids=["403 wrong organization", "404 unknown workspace"],
)
def test_403_and_404_stop_wait_with_exit_3(sim, conn, capsys, position, value, words):
    sim.add_job("job-a")
    argv = list(conn)
    argv[position] = value
    code, _, err = run(capsys, "wait", *argv, "job-a", "--interval", "0.1")
    assert code == 3
    assert len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err


# -- the event log records what support asks for -----------------------------------------------


def test_event_log_has_failed_jobs_poll_errors_and_recovery(sim, conn, capsys, isolated_dirs):
    run_id = sim.add_job("job-a", code=1)
    sim.fail_next(503, headers={"Retry-After": "0"})
    later(0.3, sim.set_status, "job-a", 3)
    code, _, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1")
    assert code == 1
    text = (isolated_dirs / "data" / "jobwatch.log").read_text()
    error_id = err.split("errorId ")[1].split()[0]
    assert f"status=503 errorId={error_id}" in text
    assert "recovered after 1 failed poll" in text
    assert f"workflowId=job-a runId={run_id}" in text and "FAILED" in text


# -- bad local state -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[workspaces.prod\nworkspace_id = "x"\n', [":1", "invalid TOML"]),
        (
            '[workspaces.prod]\nworkspace_id = "3f1c9a7e-5b2d-4c8e-9a41-7d2e6b0f8c13"\n'
            'organization_id = "8b4e2d10-6f3a-4e71-b5c9-2a9d7e1f4c60"\ninterval = "fast"\n',
            [":4", "[workspaces.prod.interval]", "expected a number"],
        ),
        ('colour = "blue"\n', [":1", "[colour]", "unknown setting"]),
    ],
    ids=["invalid TOML", "wrong type", "unknown key"],
)
def test_bad_config_exits_2_names_file_line_key_and_leaves_it_untouched(
    capsys, isolated_dirs, text, words
):
    path = isolated_dirs / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text(text)
    before = path.stat()
    for argv in (["status"], ["wait", "job-a"], ["workspaces", "list"]):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert str(path) in err
        for word in words:
            assert word in err
    assert path.read_text() == text and path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize("broken", ["not a database", "a directory"])
def test_unusable_history_database_wait_still_works_with_a_warning(
    sim, conn, capsys, isolated_dirs, broken
):
    db = isolated_dirs / "data" / "history.sqlite3"
    db.parent.mkdir()
    if broken == "a directory":
        db.mkdir()
    else:
        db.write_bytes(b"this is not SQLite" * 100)
    sim.add_job("job-a", code=1)
    later(0.2, sim.set_status, "job-a", 2)
    code, _, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1")
    assert code == 0
    assert "warning: history disabled" in err and str(db) in err
    if broken != "a directory":
        assert db.read_bytes() == b"this is not SQLite" * 100


def test_locked_history_database_wait_still_works_and_records_everything(
    sim, conn, capsys, isolated_dirs
):
    sim.add_job("job-a", code=1)
    db = isolated_dirs / "data" / "history.sqlite3"
    HistoryStore(db).close()
    locker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")  # another process writing for a long second
    later(1.0, locker.execute, "COMMIT")
    later(0.2, sim.set_status, "job-a", 2)
    code, _, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1")
    locker.close()
    assert code == 0, err
    with HistoryStore(db) as store:
        assert [s[0] for s in steps(store, sim, "job-a")] == [1, 2]


def test_a_held_lock_costs_one_busy_timeout_not_several(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3", busy_timeout=0.3)
    locker = sqlite3.connect(tmp_path / "h.sqlite3", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(HistoryError, match="locked by another process for more than 0.3 s"):
            store.record("ws", [], 1.0)
        assert time.monotonic() - started < 0.55
    finally:
        locker.close()
        store.close()


async def test_lock_held_too_long_warns_keeps_polling_and_records_later(sim, tmp_path):
    sim.add_job("job-a", code=1)
    store = HistoryStore(tmp_path / "h.sqlite3", busy_timeout=0.1)
    locker = sqlite3.connect(tmp_path / "h.sqlite3", isolation_level=None)
    state = {}

    def on_batch(batch, seen):
        if len(of(seen, PollCompleted)) == 1 and "locked" not in state:
            locker.execute("BEGIN IMMEDIATE")
            state["locked"] = True
            sim.set_status("job-a", 3)
        if of(batch, HistoryFailed) and "unlocked" not in state:
            assert "locked" in of(batch, HistoryFailed)[0].error.describe()
            locker.execute("COMMIT")
            state["unlocked"] = True
        return "unlocked" in state and len(of(seen, PollCompleted)) >= 4

    try:
        async with poller_for(sim, job_ids=["job-a"], history=store) as poller:
            await drive(poller, on_batch)
        assert [s[0] for s in steps(store, sim, "job-a")] == [1, 3]
    finally:
        locker.close()
        store.close()


def test_full_disk_on_write_warns_and_keeps_polling(sim, conn, capsys, monkeypatch):
    sim.add_job("job-a", code=1)

    def full(*args, **kwargs):
        raise HistoryError(
            "history: the disk is full; free some space (this observation was not saved)"
        )

    monkeypatch.setattr(HistoryStore, "record", full)
    later(0.3, sim.set_status, "job-a", 2)
    code, out, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1")
    assert code == 0
    assert "warning: history not saved" in err and "disk is full" in err
    assert "COMPLETED" in out


async def test_full_disk_then_space_freed_loses_no_transition(sim, tmp_path, monkeypatch):
    sim.add_job("job-a", code=1, run_id="run-1")
    store = HistoryStore(tmp_path / "h.sqlite3")
    real = HistoryStore.record
    full = {"on": False}

    def record(self, *args, **kwargs):
        if full["on"]:
            raise HistoryError("history: the disk is full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HistoryStore, "record", record)

    def on_batch(batch, seen):
        if len(of(seen, PollCompleted)) == 1 and not full["on"] and "done" not in full:
            full["on"] = True
            sim.set_status("job-a", 6)
        elif of(batch, HistoryFailed) and full["on"]:
            full["on"] = False
            full["done"] = True
            sim.set_status("job-a", 2, run_id="run-2")
        return "done" in full and poller.jobs["job-a"].status.code == 2

    try:
        async with poller_for(sim, job_ids=["job-a"], history=store) as poller:
            await drive(poller, on_batch)
        assert [s[:2] for s in steps(store, sim, "job-a")] == [
            (1, "run-1"),
            (6, "run-1"),
            (2, "run-2"),
        ]
    finally:
        store.close()


def test_broken_theme_file_is_reported_and_skipped(tmp_path):
    themes = pytest.importorskip("jobwatch.tui.theming.themes")
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = \n')
    (tmp_path / "wrong.toml").write_text('name = "wrong"\nprimary = "not-a-colour"\n')
    loaded, warnings = themes.load_themes(tmp_path)
    names = {t.name for t in loaded}
    assert "jobwatch-dark" in names and not names & {"broken", "wrong"}
    assert len(warnings) == 2
    assert any("broken.toml" in w and "skipped" in w for w in warnings)
    assert any("wrong.toml" in w and "primary" in w for w in warnings)


# -- bad user input ------------------------------------------------------------------------------


def test_pasted_ids_whitespace_commas_quotes_duplicates_empty_lines():
    text = " \"job-a\", 'job-b'\n\n\tjob-a ,job-c,,\n`job-d`  \r\n[job-e]\n"
    assert parse_job_ids(text) == ["job-a", "job-b", "job-c", "job-d", "job-e"]
    assert parse_job_ids("  \n ,, \n") == []


def test_a_10mb_paste_is_parsed_quickly():
    line = ", ".join(f'"job-{i:07d}"' for i in range(1000)) + "\n"
    text = line * (10_000_000 // len(line) + 1)
    started = time.perf_counter()
    ids = parse_job_ids(text)
    assert time.perf_counter() - started < 3
    assert len(ids) == 1000 and ids[0] == "job-0000000"


def test_pasted_ids_on_the_command_line(sim, conn, capsys):
    sim.add_job("job-a", code=2)
    sim.add_job("job-b", code=2)
    code, out, err = run(capsys, "wait", *conn, '"job-a",', "job-b, job-a", "\n", "--json")
    assert code == 0, err
    assert sorted(json.loads(line)["workflowId"] for line in out.splitlines()) == ["job-a", "job-b"]
    assert [r[2] for r in sim.requests] == [["job-a", "job-b"]]


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--workspace-id", "my-workspace", ["--workspace-id", "is not a UUID"]),
        ("--organization-id", "1234", ["--organization-id", "is not a UUID"]),
        ("--base-url", "api.sharely.ai", ["must start with https://"]),
        ("--base-url", "https://api.sharely.ai/v1", ["must not have a path"]),
    ],
)
def test_bad_ids_and_base_urls_exit_2_with_a_clear_message(sim, conn, capsys, option, value, words):
    argv = list(conn)
    argv[argv.index(option) + 1] = value
    code, _, err = run(capsys, "status", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    for word in words:
        assert word in err
    assert sim.request_count == 0


def test_fault_table_in_readme_names_every_fault():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## What happens when", 1)[1].split("\n## ", 1)[0]
    for fault in ("429", "503", "connection refused", "timeout", "malformed", "401", "403", "404"):
        assert fault in section
