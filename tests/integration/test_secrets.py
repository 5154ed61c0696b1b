"""Secrets stay secret: everything jobwatch prints or writes is scanned for the token and the API key.

Covers stdout/stderr of every command and error path, `--json`, `demo --no-tui`, the config file,
the history database, the event log and a dashboard screenshot; the modes of the files and
directories jobwatch creates; and the refusal to send credentials over plain http to a host
that is not loopback (refused before any connection is attempted).
"""

from __future__ import annotations

import html
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobwatch.api.client import SharelyClient
from jobwatch.api.transport import Connection, check_connection_security
from jobwatch.cli.main import main
from jobwatch.errors import ServerError, UsageError
from jobwatch.events import PollFailed
from jobwatch.session import connection_for, credentials_for
from jobwatch.simulator.server import Simulator
from jobwatch.store.eventlog import EventLog

TEST_NET = "http://192.0.2.1"  # TEST-NET-1: never actually connected to


@pytest.fixture
def sim():
    s = Simulator("empty", seed=21)
    s.start()
    yield s
    s.stop()


def secrets_of(sim: Simulator) -> list[str]:
    return [sim.token, sim.other_token, sim.api_key]


def conn_args(sim: Simulator, base_url: str | None = None) -> list[str]:
    return [
        "--base-url",
        base_url or sim.base_url,
        "--workspace-id",
        sim.workspace_id,
        "--organization-id",
        sim.organization_id,
    ]


def fragments(secret: str) -> list[str]:
    """The secret and the parts of it that would give it away if a message cut it short."""
    parts = [secret, secret[-16:]]
    if secret.count(".") == 2:
        parts.append(secret.rsplit(".", 1)[1][:16])  # a JWT's signature (the rest is public)
    else:
        parts.append(secret[:27])  # sk-sharely- and the first 16 characters of the key
    return parts


def assert_clean(secrets: list[str], blob: str | bytes, where: str) -> None:
    for secret in secrets:
        for part in fragments(secret):
            needle = part.encode() if isinstance(blob, bytes) else part
            assert needle not in blob, f"a secret (or part of one) leaked into {where}"


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_every_command_and_error_path_prints_and_writes_no_secret(
    sim, capsys, monkeypatch, isolated_dirs
):
    secrets = secrets_of(sim)
    sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=3)
    outputs: list[tuple[str, str]] = []

    def run(label, *argv, token=None, key=None, expect=None):
        monkeypatch.delenv("SHARELY_ACCESS_TOKEN", raising=False)
        monkeypatch.delenv("SHARELY_API_KEY", raising=False)
        if token:
            monkeypatch.setenv("SHARELY_ACCESS_TOKEN", token)
        if key:
            monkeypatch.setenv("SHARELY_API_KEY", key)
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, label
        if expect is not None:
            assert code == expect, f"{label}: exit {code}: {err}"
        outputs.append((label, out + err))

    c = conn_args(sim)
    w = ["--interval", "0.1", "--max-retries", "1"]
    run("workspaces add", "workspaces", "add", "prod", *c[2:], "--base-url", sim.base_url,
        "--api-key-env", "SHARELY_API_KEY", "--default", expect=0)  # fmt: skip
    run("workspaces list", "workspaces", "list", expect=0)
    run("status by key", "status", key=sim.api_key, expect=0)
    run("status --json by token", "status", *c, "--json", token=sim.token, expect=0)
    run("wait", "wait", *c, "job-b", token=sim.token, expect=1)
    run("wait --json", "wait", *c, "job-b", "--json", key=sim.api_key, expect=1)
    run("history", "history", *c, "job-b", expect=0)
    run("history --json", "history", *c, "job-b", "--json", expect=0)
    run("401 wrong token", "wait", *c, "job-a", token=sim.other_token, expect=3)
    run("401 bad key", "status", *c, key="sk-sharely-" + "0" * 40, expect=3)
    bad_org = [*c[:5], "00000000-0000-4000-8000-000000000000"]
    run("403", "status", *bad_org, "--json", token=sim.token, expect=3)
    bad_ws = [*c[:3], "00000000-0000-4000-8000-000000000001", *c[4:]]
    run("404", "wait", *bad_ws, "job-a", "--json", key=sim.api_key, expect=3)
    sim.fail_next(429, headers={"Retry-After": "0"}, count=2)
    run("429", "wait", *c, "job-a", *w, token=sim.token, expect=3)
    sim.fail_next(503, count=2)
    run("503 --json", "wait", *c, "job-a", *w, "--json", key=sim.api_key, expect=3)
    # an API that echoes the credential back in its error or its broken body
    sim.fail_next(503, body={"error": f"bad bearer {sim.token}", "errorId": "e-1"}, count=2)
    run("503 echoing the token", "wait", *c, "job-a", *w, token=sim.token, expect=3)
    sim.fail_next(200, body=f"<html>{sim.token}</html>")
    run("malformed echoing the token", "status", *c, token=sim.token, expect=3)
    sim.fail_next(200, body=f"<html><body>no jobs for key {sim.api_key}</body></html>")
    run("malformed echoing the key", "status", *c, key=sim.api_key, expect=3)
    sim.faults.malformed = "truncated"
    run("malformed", "wait", *c, "job-a", *w, "--json", token=sim.token, expect=3)
    sim.faults.malformed = None
    run("bad config", "--config", str(isolated_dirs / "nope.toml"), "status", "-w", "x", expect=2)
    bad = isolated_dirs / "bad.toml"
    bad.write_text(f'token = "{sim.token}"\n')
    run("secret in config", "--config", str(bad), "status", token=sim.token, expect=2)
    sim.stop()
    run("server down", "wait", *c, "job-a", *w, key=sim.api_key, expect=3)
    run("plain http", "status", *conn_args(sim, TEST_NET), token=sim.token, expect=2)

    assert len(outputs) == 22
    for label, text in outputs:
        assert_clean(secrets, text, f"the output of {label!r}")
    written = files_under(isolated_dirs / "config", isolated_dirs / "data")
    names = {p.name for p in written}
    assert {"config.toml", "history.sqlite3", "jobwatch.log"} <= names
    for path in written:
        assert_clean(secrets, path.read_bytes(), str(path))
    log = (isolated_dirs / "data" / "jobwatch.log").read_text()
    assert "errorId=e-1" in log and "workflowId=job-b" in log


def test_files_are_0600_and_directories_0700(sim, capsys, monkeypatch, isolated_dirs):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
    sim.add_job("job-a", code=3)
    c = conn_args(sim)
    assert main(["workspaces", "add", "prod", *c[2:], "--token-env", "SHARELY_ACCESS_TOKEN"]) == 0
    assert main(["wait", *c, "job-a"]) == 1
    capsys.readouterr()
    config_dir, data_dir = isolated_dirs / "config", isolated_dirs / "data"
    for directory in (config_dir, data_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    written = files_under(config_dir, data_dir)
    assert {p.name for p in written} >= {"config.toml", "history.sqlite3", "jobwatch.log"}
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_event_log_rotates_privately_and_scrubs_anything_secret_shaped(tmp_path):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"
    key = "sk-sharely-" + "ab12" * 10
    log = EventLog(tmp_path / "logs" / "jobwatch.log", max_bytes=2_000, backup_count=2)
    error = ServerError(f"server said Bearer {jwt} and x-api-key {key}", status=503, error_id="e9")
    for attempt in range(40):
        log.record("ws-1", [PollFailed(error, attempt, 1.0, 0.0, 0.0)])
    log.close()
    files = sorted((tmp_path / "logs").iterdir())
    assert [p.name for p in files] == ["jobwatch.log", "jobwatch.log.1", "jobwatch.log.2"]
    assert stat.S_IMODE((tmp_path / "logs").stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert "status=503 errorId=e9" in text
        assert_clean([jwt, key], text, path.name)


def test_an_unwritable_event_log_warns_once_and_polling_goes_on(
    sim, capsys, monkeypatch, isolated_dirs
):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
    (isolated_dirs / "data" / "jobwatch.log").mkdir(parents=True)  # cannot be opened as a file
    sim.add_job("job-a", code=1)
    sim.fail_next(503, headers={"Retry-After": "0"}, count=2)
    code = main(["wait", *conn_args(sim), "job-a", "--interval", "0.1", "--timeout", "0.5"])
    _, err = capsys.readouterr()
    assert code == 124  # kept polling until its own timeout
    assert err.count("event log") == 1 and "polling goes on" in err


def test_demo_no_tui_prints_and_writes_no_secret(tmp_path):
    demo = Simulator("demo", seed=7)  # the demo's simulator: same seed, same credentials
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "SHARELY_JOBWATCH_DATA_DIR": str(tmp_path / "data"),
        "SHARELY_JOBWATCH_CONFIG": str(tmp_path / "config.toml"),
    }
    env.pop("SHARELY_ACCESS_TOKEN", None)
    env.pop("SHARELY_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobwatch", "demo", "--no-tui", "--speed", "20"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(3)
        written = {p: p.read_bytes() for p in files_under(tmp)}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert b"Traceback" not in err
    assert out.count(b"\n") > 10, "the demo should have printed live changes"
    assert any(p.name == "history.sqlite3" for p in written)
    for blob, where in [
        (out, "stdout"),
        (err, "stderr"),
        *((b, str(p)) for p, b in written.items()),
    ]:
        assert_clean([demo.token, demo.api_key], blob, where)
    assert not (tmp_path / "data" / "jobwatch.log").exists(), "the demo logs next to its history"


async def test_dashboard_screenshots_show_no_secret(sim, tmp_path):
    app_module = pytest.importorskip("jobwatch.tui.app")
    from jobwatch.store.config import Config, WorkspaceConfig
    from jobwatch.store.history import HistoryStore

    sim.add_job("job-a", code=3)
    good = WorkspaceConfig(
        "a", sim.workspace_id, sim.organization_id, sim.base_url, api_key_env="K"
    )
    bad = WorkspaceConfig("b", sim.workspace_id, sim.organization_id, sim.base_url, token_env="T")
    environ = {"K": sim.api_key, "T": sim.other_token}
    shots = []
    history = HistoryStore(tmp_path / "history.sqlite3")
    try:
        for ws in (good, bad):
            app = app_module.JobwatchApp(
                Config(path=tmp_path / "config.toml", workspaces={ws.name: ws}),
                workspace=ws.name,
                job_ids=None,
                history=history,
                client_factory=lambda w: SharelyClient(
                    connection_for(w), credentials_for(w), environ=environ
                ),
                interval=0.1,
            )
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause(1.0)
                shots.append(app.export_screenshot())
    finally:
        history.close()
    texts = [html.unescape(shot).replace("\xa0", " ") for shot in shots]
    assert "job-a" in texts[0]
    assert "token expired" in texts[1]
    for shot in shots:
        assert_clean(secrets_of(sim), shot, "a dashboard screenshot")


# -- plain http to a host that is not loopback -----------------------------------------------


@pytest.fixture
def no_remote_connections(monkeypatch):
    """Fail the test if anything tries to connect to an address that is not loopback."""
    attempts = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(host)
            raise AssertionError(f"attempted a connection to {host}")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


@pytest.mark.parametrize("command", [["status"], ["wait", "job-a"], ["status", "--json"]])
def test_plain_http_to_a_remote_host_is_refused_before_any_connection(
    sim, capsys, monkeypatch, no_remote_connections, command
):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
    code = main([*command, *conn_args(sim, TEST_NET)])
    _, err = capsys.readouterr()
    assert code == 2
    assert (
        "refusing to send credentials over plain http to 192.0.2.1" in err and "--insecure" in err
    )
    assert no_remote_connections == []
    assert_clean(secrets_of(sim), err, "stderr")


def test_plain_http_in_a_config_workspace_is_refused_too(
    sim, capsys, monkeypatch, no_remote_connections
):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
    assert (
        main(["workspaces", "add", "lab", *conn_args(sim, TEST_NET)[2:], "--base-url", TEST_NET])
        == 0
    )
    code = main(["status"])
    _, err = capsys.readouterr()
    assert code == 2 and "--insecure" in err
    assert no_remote_connections == []


def test_the_client_refuses_plain_http_to_a_remote_host_at_construction():
    conn = Connection(TEST_NET, "w", "o")
    with pytest.raises(UsageError, match="--insecure"):
        SharelyClient(conn, environ={"SHARELY_ACCESS_TOKEN": "t"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"])
def test_plain_http_to_loopback_needs_no_flag(url):
    assert check_connection_security(Connection(url, "w", "o")) is None


def test_insecure_only_warns_and_names_the_host():
    warning = check_connection_security(Connection(TEST_NET, "w", "o", insecure=True))
    assert warning is not None and "192.0.2.1" in warning and "--insecure" in warning
    assert check_connection_security(Connection("https://192.0.2.1", "w", "o")) is None
