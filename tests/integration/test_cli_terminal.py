"""No terminal, no full screen (issue 12): the dashboard refuses to start without one, in one
line and quickly; TERM=dumb and --plain print one line per change instead; `watch -` reads its
IDs from a pipe and its keys from the terminal. Real processes: a pipe, /dev/null or a pty."""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import sys
import time

import ptyprocess

from bench import pty_probe

JOBWATCH = [sys.executable, "-m", "jobwatch"]


def test_full_screen_commands_refuse_without_a_terminal_quickly(sim, conn, tmp_path):
    env = {**os.environ, "TERM": "xterm-256color"}
    for argv in (["demo"], ["watch", *conn], ["watch", *conn, "-"]):
        started = time.monotonic()
        with open(os.devnull, "rb") as devnull:
            res = subprocess.run(
                [*JOBWATCH, *argv], stdin=devnull, capture_output=True, env=env, timeout=30
            )
        assert time.monotonic() - started < 10
        assert res.returncode == 2, res.stderr
        assert res.stdout == b""  # not 37 KB of escape codes
        lines = res.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jobwatch: the dashboard needs a terminal")
        assert "jobwatch status" in lines[0] and "jobwatch wait" in lines[0]


def read_until(proc: ptyprocess.PtyProcess, done, timeout: float) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(data):
        if select.select([proc.fd], [], [], 0.2)[0]:
            try:
                data += proc.read(65536)
            except EOFError:
                break
    return data


def test_term_dumb_prints_one_line_per_change_under_a_pty(tmp_path):
    env = {**os.environ, "TERM": "dumb"}
    proc = ptyprocess.PtyProcess.spawn(
        [*JOBWATCH, "demo", "--speed", "20"], env=env, cwd=str(tmp_path), dimensions=(24, 80)
    )
    try:
        data = read_until(proc, lambda d: d.count(b"\n") >= 6, 30)
        proc.write(b"\x03")
        data += read_until(proc, lambda d: not proc.isalive(), 15)
        proc.wait()
    finally:
        if proc.isalive():
            proc.terminate(force=True)
    assert proc.exitstatus == 130
    assert b"\x1b" not in data  # no screen drawing, no colour: plain lines
    lines = data.decode().splitlines()
    assert "one line per change" in lines[0]
    changes = [line for line in lines[1:] if line[:2].isdigit() and line[2] == ":"]
    assert len(changes) >= 5 and all(" run " in line for line in changes)


def test_watch_dash_takes_ids_from_a_pipe_and_keys_from_the_terminal(sim, conn, tmp_path):
    sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=1)
    command = " ".join(shlex.quote(arg) for arg in [*JOBWATCH, "watch", *conn, "-"])
    argv = ["sh", "-c", f"printf 'job-a\\n' | {command}"]
    env = {"SHARELY_ACCESS_TOKEN": sim.token}
    with pty_probe.PtySession(argv, cwd=str(tmp_path), env=env, size=(120, 30)) as session:
        assert session.wait_for(lambda snap: "job-a" in snap.text, 30) is not None, (
            session.screen_text()
        )
        assert "job-b" not in session.screen_text()  # only the piped ID is tracked
        session.send("q")
        assert session.wait_exit(10.0) == 0
