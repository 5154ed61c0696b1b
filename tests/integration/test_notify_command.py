"""The on_job_end command, run for real: its environment, its time bound, what it leaves behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from jobwatch.models import Status
from jobwatch.notify import command as command_module
from jobwatch.notify.command import SAFE_VARIABLES, JobEndCommand, job_environment, run_command
from jobwatch.notify.policy import JobEnd
from jobwatch.sanitize import visible
from jobwatch.windows import Window

SECRETS = {
    "SHARELY_API_KEY": "sk-sharely-secret-key",
    "SHARELY_ACCESS_TOKEN": "eyJhbGciOiJIUzI1NiJ9.e30.secret",
    "PROD_TOKEN": "a-token-named-by-token_env",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "SSH_AUTH_SOCK": "/tmp/agent.sock",
}
BASE = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": "/home/someone",
    "LANG": "C.UTF-8",
    "DISPLAY": ":0",
    **SECRETS,
}

END = JobEnd(
    "taxonomy-publish-9ef14040",
    "0190f3a2-run",
    Status(3, "FAILED"),
    workspace_id="ws-uuid",
    workspace_name="prod",
    organization_id="org-uuid",
    kind="taxonomy-publish",
    label="nightly",
    ended=Window(1_700_000_100.0, 1_700_000_102.0),
    started=Window(1_700_000_000.0, 1_700_000_001.0),
)


def gone(pid: int) -> bool:
    """No such process, or only its zombie (killed, waiting for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_environment_is_built_from_nothing():
    env = job_environment(END, BASE)
    assert {k for k in env if not k.startswith("JOBWATCH_")} <= set(SAFE_VARIABLES)
    assert not set(SECRETS) & set(env)
    assert env["HOME"] == "/home/someone" and env["DISPLAY"] == ":0"
    assert {k: v for k, v in env.items() if k.startswith("JOBWATCH_")} == {
        "JOBWATCH_WORKFLOW_ID": "taxonomy-publish-9ef14040",
        "JOBWATCH_RUN_ID": "0190f3a2-run",
        "JOBWATCH_STATUS": "FAILED",
        "JOBWATCH_STATUS_CODE": "3",
        "JOBWATCH_FAILED": "1",
        "JOBWATCH_WORKSPACE_ID": "ws-uuid",
        "JOBWATCH_WORKSPACE_NAME": "prod",
        "JOBWATCH_ORGANIZATION_ID": "org-uuid",
        "JOBWATCH_KIND": "taxonomy-publish",
        "JOBWATCH_LABEL": "nightly",
        "JOBWATCH_NOT_BEFORE": "2023-11-14T22:15:00Z",
        "JOBWATCH_OBSERVED_AT": "2023-11-14T22:15:02Z",
        "JOBWATCH_RAN": "1m40s",
        "JOBWATCH_SUMMARY": "FAILED taxonomy-publish-9ef14040 (runId 0190f3a2-run)",
    }


def test_unknown_windows_are_empty_and_path_has_a_default():
    env = job_environment(JobEnd("a", "", Status(-1, "NOT_FOUND")), {})
    assert env["PATH"] == os.defpath
    assert env["JOBWATCH_NOT_BEFORE"] == env["JOBWATCH_OBSERVED_AT"] == env["JOBWATCH_RAN"] == ""
    assert env["JOBWATCH_SUMMARY"] == "NOT_FOUND a"


async def test_the_child_sees_no_credential_of_the_real_environment(monkeypatch, tmp_path):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "env.json"
    script = "import json,os,sys; open(sys.argv[1],'w').write(json.dumps(dict(os.environ)))"
    runner = JobEndCommand([sys.executable, "-c", script, str(out)], timeout=10)
    runner.submit([END])
    await runner.drain()
    assert [r.outcome for r in runner.results] == ["ok"]
    seen = json.loads(out.read_text())
    assert not set(SECRETS) & set(seen)
    assert not any(value in out.read_text() for value in SECRETS.values())
    assert seen["PATH"] == os.environ["PATH"]


async def test_child_environment_read_back_whole(tmp_path):
    out = tmp_path / "env.json"
    script = "import json,os,sys; open(sys.argv[1],'w').write(json.dumps(dict(os.environ)))"
    result = await run_command(
        [sys.executable, "-c", script, str(out)], END, timeout=10, inherited=BASE
    )
    assert result.outcome == "ok", result.describe()
    seen = json.loads(out.read_text())
    assert not set(SECRETS) & set(seen)
    assert not any(v in json.dumps(seen) for v in SECRETS.values())
    allowed = set(SAFE_VARIABLES) | {"LC_CTYPE"}  # Python may coerce a C locale (PEP 538)
    assert {k for k in seen if not k.startswith("JOBWATCH_")} <= allowed
    assert seen["JOBWATCH_WORKFLOW_ID"] == "taxonomy-publish-9ef14040"


async def test_shell_form_expands_variables_and_a_hostile_id_injects_nothing(tmp_path):
    wid = "x'; touch pwned1; echo '$(touch pwned2)`touch pwned3`\x1b]52;c;AA\x07"
    out = tmp_path / "out"
    cmd = f"cd {tmp_path} && printf '%s' \"$JOBWATCH_WORKFLOW_ID\" > out"
    result = await run_command(
        cmd, JobEnd(wid, "r", Status(3, "FAILED")), timeout=10, inherited=BASE
    )
    assert result.outcome == "ok", result.describe()
    assert out.read_text() == visible(wid)
    assert "\x1b" not in out.read_text()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("pwned")]


async def test_timeout_kills_the_whole_group(tmp_path):
    pids = tmp_path / "pids"
    cmd = f"sleep 30 & echo $! > {pids}; echo $$ >> {pids}; sleep 30"
    started = time.monotonic()
    result = await run_command(cmd, END, timeout=0.5, inherited=BASE)
    took = time.monotonic() - started
    # -9 (SIGKILL); once in ~20 runs asyncio's child watcher reported 255 ("unknown child"),
    # which is only the number: the group is gone either way (checked below)
    assert result.outcome == "timeout" and result.returncode in (-9, 255)
    assert took < 3, took
    assert re.fullmatch(r"on_job_end did not finish in 0\.\ds and was stopped", result.describe())
    children = [int(p) for p in pids.read_text().split()]
    assert len(children) == 2
    await until(lambda: all(gone(pid) for pid in children))


async def test_what_it_leaves_behind_is_killed_and_not_waited_for(tmp_path):
    pids = tmp_path / "pids"
    cmd = f"sleep 30 & echo $! > {pids}; echo started"
    started = time.monotonic()
    result = await run_command(cmd, END, timeout=10, inherited=BASE)
    assert result.outcome == "ok"
    assert time.monotonic() - started < 3  # not held by the background sleep's copy of stdout
    (pid,) = [int(p) for p in pids.read_text().split()]
    await until(lambda: gone(pid))


async def test_cancelling_kills_the_group(tmp_path):
    pids = tmp_path / "pids"
    cmd = f"sleep 30 & echo $! > {pids}; echo $$ >> {pids}; sleep 30"
    task = asyncio.ensure_future(run_command(cmd, END, timeout=60, inherited=BASE))
    await until(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    children = [int(p) for p in pids.read_text().split()]
    await until(lambda: all(gone(pid) for pid in children))


async def test_a_cancel_while_the_output_pipe_connects_is_a_cancel(monkeypatch):
    # Under load the cancel can land while asyncio connects the output pipe, which closes the
    # pipe on its way out; closing its descriptor again raised EBADF instead of the cancel.
    loop = asyncio.get_running_loop()

    async def cancelled_while_connecting(protocol_factory, pipe):
        pipe.close()
        raise asyncio.CancelledError

    monkeypatch.setattr(loop, "connect_read_pipe", cancelled_while_connecting)
    with pytest.raises(asyncio.CancelledError):
        await run_command("sleep 30", END, timeout=60, inherited=BASE)


async def test_not_found_and_exit_status_and_bounded_output():
    missing = await run_command(["/nonexistent/notify-prog"], END, timeout=5, inherited=BASE)
    assert missing.outcome == "not_found"
    assert missing.describe() == "on_job_end: the program was not found"
    shell_missing = await run_command("no-such-prog-xyz", END, timeout=5, inherited=BASE)
    assert shell_missing.outcome == "exit" and shell_missing.returncode == 127
    # the shell writes this line in pieces: all of it is kept, not the first read
    assert shell_missing.describe().endswith("no-such-prog-xyz: not found")
    boom = await run_command(
        "printf 'bo'; sleep 0.1; echo 'om\x1b[2J'; echo second; exit 3",
        END,
        timeout=5,
        inherited=BASE,
    )
    assert boom.describe() == "on_job_end exited with status 3: boom\\x1b[2J"
    flood = await run_command(
        [sys.executable, "-c", "import sys; sys.stdout.write('x' * 20_000_000)"],
        END,
        timeout=20,
        inherited=BASE,
    )
    assert flood.outcome == "ok" and flood.output == ""


async def test_each_kind_of_failure_is_reported_once():
    problems: list[str] = []
    runner = JobEndCommand("exit 4", timeout=5, environ=BASE, on_problem=problems.append)
    runner.submit([JobEnd(f"j{n}", "r", Status(3, "FAILED")) for n in range(4)])
    await runner.drain()
    assert len(runner.results) == 4 and all(r.outcome == "exit" for r in runner.results)
    assert problems == ["on_job_end exited with status 4"]


async def test_concurrency_is_limited_and_the_loop_keeps_running(tmp_path):
    script = 'date +%s.%N > "$1/$JOBWATCH_WORKFLOW_ID.start"; sleep 0.3; date +%s.%N > "$1/$JOBWATCH_WORKFLOW_ID.end"'
    runner = JobEndCommand(["/bin/sh", "-c", script, "sh", str(tmp_path)], timeout=10, environ=BASE)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.ensure_future(ticker())
    started = time.monotonic()
    runner.submit([JobEnd(f"job{n}", "r", Status(3, "FAILED")) for n in range(6)])
    assert runner.busy == 6  # submit returned at once
    await runner.drain()
    took = time.monotonic() - started
    tick_task.cancel()
    assert all(r.outcome == "ok" for r in runner.results)
    spans = [
        (
            float((tmp_path / f"job{n}.start").read_text()),
            float((tmp_path / f"job{n}.end").read_text()),
        )
        for n in range(6)
    ]
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert most == 2, spans
    assert took >= 0.9  # three rounds of two
    assert ticks >= took / 0.01 / 4  # the event loop was free the whole time


async def test_too_many_waiting_are_skipped_and_said_once(monkeypatch):
    monkeypatch.setattr(command_module, "MAX_WAITING", 2)
    problems: list[str] = []
    runner = JobEndCommand("true", timeout=5, environ=BASE, on_problem=problems.append)
    runner.submit([JobEnd(f"j{n}", "r", Status(3, "FAILED")) for n in range(5)])
    await runner.drain()
    outcomes = sorted(r.outcome for r in runner.results)
    assert outcomes == ["ok", "ok", "skipped", "skipped", "skipped"]
    assert problems == ["on_job_end skipped: more than 2 jobs waiting for it"]


async def test_aclose_stops_everything(tmp_path):
    pids = tmp_path / "pids"
    runner = JobEndCommand(f"echo $$ >> {pids}; sleep 30", timeout=60, environ=BASE)
    runner.submit([JobEnd(f"j{n}", "r", Status(3, "FAILED")) for n in range(3)])
    await until(lambda: pids.exists() and len(pids.read_text().split()) == 2)
    started = time.monotonic()
    await runner.aclose()
    assert time.monotonic() - started < 3 and runner.busy == 0
    await until(lambda: all(gone(int(p)) for p in pids.read_text().split()))
    assert len(pids.read_text().split()) == 2  # the third never started
