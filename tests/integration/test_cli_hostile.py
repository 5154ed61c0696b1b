"""Nothing from outside reaches the terminal raw (issue 10), through every CLI output.

The simulator's jobs carry ESC/OSC/CSI, C1, bidi and zero-width characters in their workflowId,
runId and status name, and its error bodies too. `status`, `wait`, `history`, `watch --plain`,
`workspaces list` and the error lines are read as raw bytes (subprocesses, so nothing but the
real stdout/stderr is seen) and the event log file as bytes: no control or bidi character may
be in them but the line breaks. `--json` and `--output jsonl` read back give the exact values.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from jobwatch.kinds import default_kind
from jobwatch.models import MAX_FIELD_CHARS
from jobwatch.sanitize import is_unsafe_char
from tests.support.cli import after_polls, run

HOSTILE_ID = (
    "job-\x1b]52;c;ZXZpbA==\x07-\x1b[2J-\x9b31m-\u202eevil\u202c-\u200b-\x1b]0;title\x07-end"
)
HOSTILE_RUN = "run-\x1b[31m\u2066x\u2069\x85\x00"
HOSTILE_NAME = "BAD\x1b]0;pwn\x07\u202e\x9d"
HOSTILE_BODY = {"error": "\x1b]52;c;aGk=\x07 boom\u202e\r\nforged line", "errorId": "\x1b[2J\u2067"}


def assert_inert(data: bytes, what: str) -> None:
    """No character a terminal interprets (or a reader is fooled by), except line breaks."""
    text = data.decode("utf-8")
    bad = sorted({f"U+{ord(c):04X}" for c in text if c != "\n" and is_unsafe_char(c)})
    assert not bad, f"{what} let through {bad}: {text[:300]!r}"


@pytest.fixture
def hostile(sim, conn):
    sim.add_job(HOSTILE_ID, code=99, run_id=HOSTILE_RUN, name=HOSTILE_NAME)
    sim.add_job("job-plain", code=1, run_id="run-plain")
    return conn


def jobwatch(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "jobwatch", *argv],
        capture_output=True,
        env=env,
        input=stdin,
        timeout=60,
    )


def test_status_wait_history_print_no_control_character(sim, hostile, isolated_dirs):
    for argv in (
        ["status", *hostile],
        ["status", *hostile, HOSTILE_ID, "ghost\x1b[2J", "--interval", "0.1"],
        ["wait", *hostile, "job-plain", HOSTILE_ID, "--timeout", "2", "--interval", "0.1"],
        ["history", *hostile, HOSTILE_ID],
    ):
        if argv[0] == "wait":
            after_polls(
                sim,
                (sim.set_status, "job-plain", 99, HOSTILE_NAME, HOSTILE_RUN),
                (sim.set_status, HOSTILE_ID, 3, HOSTILE_NAME, HOSTILE_RUN + "-2"),
            )
        res = jobwatch(*argv)
        assert res.returncode in (0, 1, 4, 124), res.stderr
        assert_inert(res.stdout, f"{argv[0]} stdout")
        assert_inert(res.stderr, f"{argv[0]} stderr")
    status = jobwatch("status", *hostile).stdout.decode()
    assert "\\x1b]52;c;ZXZpbA==\\x07" in status and "\\u202e" in status  # shown, not hidden
    log = (isolated_dirs / "data" / "jobwatch.log").read_bytes()
    assert b"job FAILED" in log and b"-end" in log  # the failed hostile job was logged, escaped
    assert_inert(log, "jobwatch.log")


def test_error_bodies_are_escaped_on_stderr_and_in_the_log(sim, hostile, isolated_dirs):
    sim.fail_next(503, body=HOSTILE_BODY, count=3)
    for output in ("table", "json"):
        res = jobwatch("status", *hostile, "--output", output)
        assert res.returncode == 3
        assert res.stdout == b""
        assert_inert(res.stderr, f"status --output {output} stderr")
        assert len(res.stderr.splitlines()) == 1  # the body's CR LF forged no second line
    sim.fail_next(503, body=HOSTILE_BODY, count=2)
    res = jobwatch("wait", *hostile, "job-plain", "--json", "--max-retries", "1")
    assert res.returncode == 3
    assert_inert(res.stdout, "wait --json stdout")
    assert_inert(res.stderr, "wait --json stderr")
    log = isolated_dirs / "data" / "jobwatch.log"
    assert b"poll failed" in log.read_bytes()
    assert_inert(log.read_bytes(), "jobwatch.log")


def test_json_output_reads_back_the_exact_values(sim, hostile, capsys):
    code, out, _ = run(capsys, "status", *hostile, "--json")
    assert code == 0
    assert_inert(out.encode(), "status --json")
    jobs = {job["workflowId"]: job for job in json.loads(out)}
    assert jobs[HOSTILE_ID] == {
        "workflowId": HOSTILE_ID,
        "status": {"code": 99, "name": HOSTILE_NAME},
        "runId": HOSTILE_RUN,
        "label": None,
        "pinned": False,
        "kind": default_kind(HOSTILE_ID),  # from the ID: as hostile, and as exact
    }
    code, out, _ = run(capsys, "status", *hostile, "--output", "jsonl", HOSTILE_ID)
    assert [json.loads(line)["runId"] for line in out.splitlines()] == [HOSTILE_RUN]
    code, out, _ = run(capsys, "history", *hostile, HOSTILE_ID, "--output", "jsonl")
    assert code == 0 and json.loads(out.splitlines()[0])["status"]["name"] == HOSTILE_NAME
    after_polls(sim, (sim.set_status, "job-plain", 2))
    code, out, _ = run(capsys, "wait", *hostile, "job-plain", HOSTILE_ID, "--json", "--timeout", "1",
                       "--interval", "0.1")  # fmt: skip
    assert_inert(out.encode(), "wait --json")
    appeared = [json.loads(line) for line in out.splitlines()]
    assert {e["workflowId"] for e in appeared if e["event"] == "appeared"} == {
        "job-plain",
        HOSTILE_ID,
    }


def test_watch_plain_and_workspaces_list_escape_too(sim, hostile, capsys, isolated_dirs):
    config = isolated_dirs / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "[workspaces.w]\n"
        f'workspace_id = "{sim.workspace_id}"\norganization_id = "{sim.organization_id}"\n'
        'theme = "dark\\u001b]0;title\\u0007\\u202e"\n'
    )
    code, out, err = run(capsys, "workspaces", "list")
    assert code == 0 and "dark\\x1b]0;title\\x07\\u202e" in out
    assert_inert((out + err).encode(), "workspaces list")
    code, out, _ = run(capsys, "workspaces", "list", "--json")
    assert json.loads(out)[0]["theme"] == "dark\x1b]0;title\x07\u202e"
    plain = subprocess.Popen(
        [sys.executable, "-m", "jobwatch", "watch", *hostile, "--plain", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        lines = [plain.stdout.readline() for _ in range(2)]  # the two jobs, as they appear
    finally:
        plain.send_signal(signal.SIGINT)
        rest, err = plain.communicate(timeout=30)
    assert plain.returncode == 130
    assert any(b"job-plain" in line for line in lines)
    assert_inert(b"".join(lines) + rest, "watch --plain stdout")
    assert_inert(err, "watch --plain stderr")


def test_the_status_table_caps_its_columns(sim, conn, capsys):
    # as long as the client accepts (jobwatch.models.MAX_FIELD_CHARS); longer is a bad response
    long_id = "x" * (MAX_FIELD_CHARS - 9) + "-tail1234"
    sim.add_job(long_id, code=1, run_id="r" * MAX_FIELD_CHARS)
    sim.add_job("job-a", code=2, run_id="run-a")
    code, out, _ = run(capsys, "status", *conn)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) < 200
    assert any(line.startswith("job-a ") for line in lines)
    assert any("…tail1234" in line for line in lines)  # the unique tail is kept
