"""Hostile answers over real loopback HTTP: the client's bounds, deadlines and the poller's loop.

Each case switches the simulator to one of its `hostile` kinds and checks what comes out of
the client: a BadResponse or TransportError naming the bound, within the request's deadline,
never another exception; or, for text the client keeps (escapes), the exact value, which the
outputs escape (jobwatch.sanitize). The memory cases run `jobwatch status` in a child process
and read its peak RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobwatch.api.client import SharelyClient
from jobwatch.api.credentials import CredentialSpec, TokenCommandError
from jobwatch.api.decode import MAX_JSON_DEPTH
from jobwatch.api.transport import MAX_RETRY_AFTER, Connection
from jobwatch.errors import BadResponse, RateLimited, ServerError, TransportError, UsageError
from jobwatch.events import PollCompleted, PollFailed
from jobwatch.models import MAX_FIELD_CHARS
from jobwatch.poller import Poller
from jobwatch.simulator.hostile import EVIL, EVIL_WORKFLOW_ID, U64_MAX
from jobwatch.simulator.server import Simulator
from jobwatch.store.history import HistoryStore
from jobwatch.store.paths import CONFIG_ENV, DATA_DIR_ENV
from tests.support.cli import sim_flags

#: the answer limit for in-process cases (the default, 128 MiB, is for the RSS cases)
SMALL_LIMIT = 4 * 1024 * 1024


@pytest.fixture
def sim():
    s = Simulator("empty", seed=3)
    s.add_job("job-a", 1, "run-1")
    s.add_job("job-b", 2, "run-2")
    s.start()
    yield s
    s.stop()


def client_for(sim, *, timeout=5.0, limit=SMALL_LIMIT, creds=None, environ=None):
    conn = Connection(
        sim.base_url, sim.workspace_id, sim.organization_id, timeout=timeout, max_answer_bytes=limit
    )
    if environ is None:
        environ = {} if creds is not None else {"SHARELY_ACCESS_TOKEN": sim.token}
    return SharelyClient(conn, creds or CredentialSpec(), environ=environ)


async def fetch_error(sim, kind, job_ids=None, **kw):
    sim.faults.hostile = kind
    async with client_for(sim, **kw) as client:
        started = time.monotonic()
        with pytest.raises((BadResponse, TransportError)) as info:
            await client.fetch_jobs(job_ids)
    return info.value, time.monotonic() - started


# -- what the answer says ------------------------------------------------------------------


async def test_escapes_reach_the_caller_exactly_and_the_history_keeps_them(sim, history):
    sim.faults.hostile = "escapes"
    async with client_for(sim) as client:
        result = await client.fetch_jobs(None)
        poller = Poller(client, sim.workspace_id, history=history, log=None)
        events = await poller.poll_once()
    jobs = {j.workflow_id: j for j in result.jobs}
    assert jobs["job-a"].run_id == EVIL + "run-1"
    assert jobs["job-a"].status.name == EVIL + "RUNNING"
    evil = jobs[EVIL_WORKFLOW_ID]
    assert (evil.status.name, evil.run_id) == (EVIL, EVIL)
    assert isinstance(events[-1], PollCompleted)
    stored = history.transitions(sim.workspace_id, EVIL_WORKFLOW_ID)
    assert [(t.status.name, t.run_id) for t in stored] == [(EVIL, EVIL)]


def test_a_tracked_wait_ignores_the_job_the_answer_holds_unasked(sim, tmp_path):
    """Asked for job-a and job-b, the answer adds a failed stranger: `wait` neither prints nor
    stores it, nor exits 1 for its failure."""
    sim.faults.hostile = "escapes"
    sim.set_status("job-a", 2)
    env = dict(
        os.environ,
        SHARELY_ACCESS_TOKEN=sim.token,
        **{CONFIG_ENV: str(tmp_path / "none.toml"), DATA_DIR_ENV: str(tmp_path / "d")},
    )
    done = subprocess.run(
        [sys.executable, "-m", "jobwatch", "wait", "--output", "jsonl", "job-a", "job-b"]
        + [*sim_flags(sim), "--timeout", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "evil-" not in done.stdout and "evil-" not in done.stderr
    assert {json.loads(line)["workflowId"] for line in done.stdout.splitlines()} <= {
        "job-a",
        "job-b",
    }
    store = HistoryStore(tmp_path / "d" / "history.sqlite3")
    try:
        assert store.transitions(sim.workspace_id, EVIL_WORKFLOW_ID) == []
        assert store.transitions(sim.workspace_id, "job-a") != []
    finally:
        store.close()


async def test_escapes_in_error_bodies_are_kept_bounded(sim):
    sim.faults.hostile = "escapes"
    sim.fail_next(503)
    async with client_for(sim) as client:
        with pytest.raises(ServerError) as info:
            await client.fetch_jobs(None)
    error = info.value
    assert error.error is not None and error.error.startswith(EVIL)
    assert error.error_id is not None and error.error_id.startswith(EVIL)
    assert len(error.error) <= 200 and len(error.error_id) <= 200


async def test_escapes_in_the_workspace_name(sim):
    sim.faults.hostile = "escapes"
    async with client_for(sim) as client:
        workspace = await client.get_workspace()
    assert workspace["name"] == EVIL + sim.workspace_name


async def test_a_huge_field_is_a_bad_response(sim):
    error, _ = await fetch_error(sim, "huge_field")
    assert "workflowId is 100000 characters long" in error.message
    assert f"more than the {MAX_FIELD_CHARS}" in error.message
    assert len(error.describe()) < 300


async def test_a_field_at_the_bound_is_accepted(sim):
    sim.add_job("x" * MAX_FIELD_CHARS, 1, "r" * MAX_FIELD_CHARS, name="n" * MAX_FIELD_CHARS)
    async with client_for(sim) as client:
        jobs = (await client.fetch_jobs(None)).jobs
    assert {len(j.workflow_id) for j in jobs} >= {MAX_FIELD_CHARS}


async def test_a_huge_workspace_name_is_a_bad_response(sim):
    sim.faults.hostile = "huge_field"
    async with client_for(sim) as client:
        with pytest.raises(BadResponse, match="'name' is 100000 characters long"):
            await client.get_workspace()


async def test_nesting_1000_deep_in_an_unknown_field_is_accepted(sim):
    sim.faults.hostile = "deep_nesting"
    async with client_for(sim) as client:
        jobs = (await client.fetch_jobs(None)).jobs
        workspace = await client.get_workspace()
    assert "deep-nesting" in {j.workflow_id for j in jobs}
    assert "settings" not in workspace and workspace["name"] == sim.workspace_name


async def test_nesting_past_the_bound_is_a_bad_response(sim):
    sim.faults.nesting_depth = MAX_JSON_DEPTH + 1
    error, _ = await fetch_error(sim, "deep_nesting")
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in error.message
    with pytest.raises(BadResponse, match="nested more than"):
        async with client_for(sim) as client:
            await client.get_workspace()


@pytest.mark.parametrize("kind", ["huge_int", "beyond_int64"])
async def test_codes_out_of_range_are_bad_responses_and_polling_goes_on(sim, history, kind):
    sim.faults.hostile = kind
    async with client_for(sim) as client:
        poller = Poller(client, sim.workspace_id, history=history, log=None)
        failed = await poller.poll_once()
        sim.faults.hostile = None
        recovered = await poller.poll_once()
    assert isinstance(failed[-1], PollFailed) and isinstance(failed[-1].error, BadResponse)
    assert not poller.stopped
    assert isinstance(recovered[-1], PollCompleted)
    assert {j.workflow_id for j in history.jobs(sim.workspace_id)} == {"job-a", "job-b"}


async def test_the_u64_code_is_named(sim):
    error, _ = await fetch_error(sim, "huge_int")
    assert f"status.code {U64_MAX} is outside the range" in error.message


async def test_a_negative_code_cannot_forge_not_found(sim):
    sim.fail_next(200, [{"workflowId": "job-a", "status": {"code": -1, "name": "NOT_FOUND"}}])
    async with client_for(sim) as client:
        with pytest.raises(BadResponse, match="status.code -1 is outside the range"):
            await client.fetch_jobs(["job-a"])


# -- how it arrives --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gzip_bomb_1mb", "gzip_bomb_10mb", "endless"])
async def test_bombs_and_endless_bodies_stop_at_the_answer_limit(sim, kind):
    error, took = await fetch_error(sim, kind)
    assert isinstance(error, BadResponse)
    assert "larger than 4 MiB once decompressed" in error.message
    assert took < 3.0


async def test_a_gzip_bomb_as_the_workspace_is_refused(sim):
    sim.faults.hostile = "gzip_bomb_1mb"
    async with client_for(sim, limit=2**40) as client:
        with pytest.raises(BadResponse, match="larger than 1 MiB"):
            await client.get_workspace()


async def test_a_real_gzip_answer_is_decoded(sim):
    # the simulator compresses nothing by itself: a gzip body queued by hand
    import gzip

    import orjson

    body = gzip.compress(orjson.dumps(sim.jobs_snapshot()))
    sim.fail_next(200, body, headers={"Content-Encoding": "gzip"})
    async with client_for(sim) as client:
        result = await client.fetch_jobs(None)
    assert {j.workflow_id for j in result.jobs} == {"job-a", "job-b"}


@pytest.mark.parametrize("kind", ["trickle", "slow_headers"])
async def test_slow_answers_end_at_the_request_deadline(sim, kind):
    sim.faults.trickle_delay = 0.05  # 20 bytes/s: httpx's per-read timeout never trips
    error, took = await fetch_error(sim, kind, timeout=1.0)
    assert isinstance(error, TransportError)
    assert "within 1 s" in error.message
    assert 0.9 < took < 2.0


async def test_an_endless_body_ends_at_the_deadline_when_slower_than_the_limit(sim):
    sim.faults.trickle_delay = 0.01
    error, took = await fetch_error(sim, "trickle", timeout=0.5, limit=2**40)
    assert "did not finish within 0.5 s" in error.message
    assert took < 1.5


async def test_an_absurd_retry_after_is_capped(sim):
    sim.faults.hostile = "retry_after"
    async with client_for(sim) as client:
        with pytest.raises(RateLimited) as info:
            await client.fetch_jobs(None)
        poller = Poller(client, sim.workspace_id, log=None, backoff_cap=0.1)
        [failed] = await poller.poll_once()
    assert info.value.retry_after == MAX_RETRY_AFTER
    assert "retry after 600 s (the server asked for 999999999 s" in info.value.describe()
    assert isinstance(failed, PollFailed) and failed.retry_in == MAX_RETRY_AFTER


# -- loopback --------------------------------------------------------------------------------


def test_a_name_under_localhost_is_refused_without_resolving_it(monkeypatch):
    import socket

    def no_dns(*args, **kw):
        raise AssertionError("resolved a name")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    for url in ("http://evil.localhost:8080", "http://localhost.", "http://127.0.0.1.nip.io"):
        with pytest.raises(UsageError, match="refusing to send credentials over plain http"):
            SharelyClient(Connection(url, "ws", "org"), environ={"SHARELY_ACCESS_TOKEN": "t"})


def test_the_cli_refuses_evil_localhost_with_no_network(tmp_path):
    env = dict(
        os.environ,
        SHARELY_ACCESS_TOKEN="tok",
        **{CONFIG_ENV: str(tmp_path / "c.toml"), DATA_DIR_ENV: str(tmp_path / "data")},
    )
    ws = "11111111-2222-4333-8444-555555555555"
    done = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "jobwatch", "status", "--base-url"]
        + ["http://evil.localhost:9", "--workspace-id", ws, "--organization-id", ws],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to send credentials over plain http to evil.localhost" in done.stderr


# -- token_command ---------------------------------------------------------------------------


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


async def wait_until(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def hanging_command(tmp_path) -> tuple[str, Path]:
    """A token_command that starts a child and a grandchild that never end; writes its pgid."""
    pidfile = tmp_path / "pgid"
    script = f"echo $$ > {pidfile}; sleep 1000 & sh -c 'sleep 1000' & wait"
    return shlex.join(["sh", "-c", script]), pidfile


async def started_group(pidfile: Path) -> int:
    await wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    pgid = int(pidfile.read_text())
    await wait_until(lambda: len(group_members(pgid)) >= 3)
    return pgid


async def test_a_hanging_token_command_is_killed_with_its_group(sim, tmp_path):
    command, pidfile = hanging_command(tmp_path)
    creds = CredentialSpec(token_command=command, token_command_timeout=0.5)
    async with client_for(sim, creds=creds) as client:
        started = time.monotonic()
        with pytest.raises(TokenCommandError, match="did not finish within 0.5 s") as info:
            await client.fetch_jobs(None)
        took = time.monotonic() - started
    pgid = int(pidfile.read_text())
    await wait_until(lambda: not group_members(pgid))
    assert took < 2.0
    assert "it was stopped with every process it started" in info.value.describe()


async def test_cancelling_a_request_kills_the_token_command(sim, tmp_path):
    command, pidfile = hanging_command(tmp_path)
    async with client_for(sim, creds=CredentialSpec(token_command=command)) as client:
        task = asyncio.create_task(client.fetch_jobs(None))
        pgid = await started_group(pidfile)
        started = time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0
    await wait_until(lambda: not group_members(pgid))


async def test_closing_the_client_kills_the_token_command(sim, tmp_path):
    command, pidfile = hanging_command(tmp_path)
    client = client_for(sim, creds=CredentialSpec(token_command=command))
    task = asyncio.create_task(client.fetch_jobs(None))
    pgid = await started_group(pidfile)
    await client.aclose()
    await wait_until(lambda: not group_members(pgid))
    with pytest.raises(TokenCommandError):
        await asyncio.wait_for(task, 2.0)


def test_wait_timeout_is_not_held_up_by_a_hanging_token_command(sim, tmp_path):
    """`wait --timeout 1` with a token_command that never ends: back in ~1 s (it was 30 s)."""
    command, pidfile = hanging_command(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(
        f'default = "sim"\n[workspaces.sim]\nbase_url = "{sim.base_url}"\n'
        f'workspace_id = "{sim.workspace_id}"\norganization_id = "{sim.organization_id}"\n'
        f"token_command = {json.dumps(command)}\n"
    )
    env = dict(os.environ, **{CONFIG_ENV: str(config), DATA_DIR_ENV: str(tmp_path / "d")})
    env.pop("SHARELY_ACCESS_TOKEN", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "jobwatch", "wait", "--timeout", "1", "job-a"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 124, done.stderr
    assert took < 5.0, took
    pgid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not group_members(pgid)


# -- memory ----------------------------------------------------------------------------------


#: runs the command given as arguments and prints its exit code and peak RSS (kB). A child of
#: pytest itself would not do: Linux keeps the high-water mark of the image a process replaces
#: by exec, and a child forked from pytest starts as a copy of it (~300 MB late in the suite).
RSS_PROBE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def status_rss(sim, kind: str, tmp_path) -> tuple[int, str, float, float]:
    """Run `jobwatch status` against the simulator under `kind`: exit code, stderr, seconds, peak
    RSS in MB (its own rusage, taken by a small probe process)."""
    sim.faults.hostile = kind
    env = dict(
        os.environ,
        SHARELY_ACCESS_TOKEN=sim.token,
        **{CONFIG_ENV: str(tmp_path / "c.toml"), DATA_DIR_ENV: str(tmp_path / "data")},
    )
    argv = [sys.executable, "-c", RSS_PROBE, sys.executable, "-m", "jobwatch", "status"]
    argv += ["--base-url", sim.base_url, "--workspace-id", sim.workspace_id]
    argv += ["--organization-id", sim.organization_id]
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=50)
    took = time.monotonic() - started
    code, rss_kb = map(int, done.stdout.split())
    return code, done.stderr, took, rss_kb / 1024


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["gzip_bomb_10mb", "endless"])
def test_status_stays_under_300_mb_and_reports_a_bad_response(sim, kind, tmp_path):
    code, err, took, rss = status_rss(sim, kind, tmp_path)
    print(f"\n{kind}: jobwatch status exit {code} in {took:.1f} s, peak RSS {rss:.0f} MB")
    assert code == 3, err
    assert "bad response: the answer is larger than 128 MiB once decompressed" in err
    assert rss < 300
