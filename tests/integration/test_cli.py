"""The CLI end to end: `status`, `wait`, `history`, `watch`, bare `jobwatch`, `workspaces` against
the simulator over loopback HTTP, in-process.

Every command that connects is run with --base-url/--workspace-id/--organization-id, with the
configured default and with `-w NAME` (the `connect` fixture). `watch` and bare `jobwatch` run the
real dashboard headless (the `dashboard` fixture). Each test checks the documented exit code,
one clear line on errors, no traceback, no secret.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from jobwatch.api.client import SharelyClient
from jobwatch.cli import dashboard as cli_dashboard
from jobwatch.cli.parser import EXIT_FAILED, EXIT_OK
from jobwatch.poller import DEFAULT_MISSING_AFTER
from jobwatch.statuses import STATUSES
from jobwatch.tui.app import JobwatchApp
from tests.support.cli import after_polls, run
from tests.support.tui import ORG, WS, table_of, wait_for


@pytest.fixture
def dashboard(monkeypatch):
    """`JobwatchApp.run` headless: the real app the CLI built, polling over loopback until it
    shows rows, stops, warns, or waits on a picker; what it saw is returned (no terminal needed)."""
    seen: dict = {}

    async def drive(app: JobwatchApp) -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.main_screen

            def settled() -> bool:
                session = screen.session
                return (
                    app.screen is not screen
                    or (session is not None and session.health.state == "stopped")
                    or len(table_of(app)) > 0
                    or any(n.title == "Warning" for n in app._notifications)
                )

            await wait_for(pilot, settled, what="rows, a stop or a dialog")
            await pilot.pause()
            session = screen.session
            seen["screen"] = type(app.screen).__name__
            seen["health"] = session.health.state if session else None
            error = session.health.error if session else None
            seen["error"] = error.describe() if error else ""
            seen["workspace"] = session.workspace.workspace_id if session else None
            seen["rows"] = [wid for wid in ("job-a", "job-b") if table_of(app).row(wid)]
            seen["notes"] = [n.message for n in app._notifications]
            early = app.head_start
            seen["head_start_taken"] = early is not None and early.taken

    def headless_run(app: JobwatchApp, *args, **kwargs) -> int:
        seen.clear()
        asyncio.run(drive(app))
        return 0

    async def headless_run_async(app: JobwatchApp, *args, **kwargs) -> int:
        """`watch` runs the app in the loop its head start polls in (jobwatch.head_start)."""
        seen.clear()
        await drive(app)
        return 0

    monkeypatch.setattr(JobwatchApp, "run", headless_run)
    monkeypatch.setattr(JobwatchApp, "run_async", headless_run_async)
    monkeypatch.setattr(cli_dashboard, "require_terminal", lambda: None)  # pytest has no tty
    return seen


def assert_no_secret(sim, *texts):
    for text in texts:
        assert sim.token not in text
        assert sim.api_key not in text


def test_status_table_json_and_unknown_ids(sim, conn, capsys):
    run_a = sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=3)
    code, out, err = run(capsys, "status", *conn, "job-a", "job-b", "nope", "--interval", "0.1")
    assert code == 4  # like wait: an ID was not found
    assert "job-a" in out and "RUNNING" in out and run_a in out and "FAILED" in out
    assert "nope" in err
    code, out, err = run(capsys, "status", *conn, "--json")
    data = json.loads(out)
    job_a = {"workflowId": "job-a", "status": {"code": 1, "name": "RUNNING"}, "runId": run_a}
    assert {**job_a, "label": None, "pinned": False, "kind": "job-a"} in data
    assert len(data) == 2


def test_wait_exit_0_when_all_complete_and_prints_changes(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=1)
    after_polls(sim, (sim.set_status, "job-a", 2), (sim.set_status, "job-b", 2))
    code, out, err = run(capsys, "wait", *conn, "job-a", "job-b", "--interval", "0.1")
    assert code == 0, err
    assert "RUNNING → ✓ COMPLETED" in out


def test_wait_exit_1_on_failure_and_names_the_ids(sim, conn, capsys):
    run_id = sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=2)
    after_polls(sim, (sim.set_status, "job-a", 7))
    code, out, err = run(capsys, "wait", *conn, "job-a", "job-b", "--interval", "0.1", "--quiet")
    assert code == 1
    assert out.strip() == f"TIMED_OUT  workflowId=job-a  runId={run_id}"


def test_wait_json_lines_follow_continued_as_new(sim, conn, capsys):
    sim.add_job("job-a", code=1, run_id="run-1")
    after_polls(
        sim,
        (sim.set_status, "job-a", 6),
        (sim.set_status, "job-a", 1, None, "run-2"),
        (sim.set_status, "job-a", 4, "CANCELED"),
    )
    code, out, _ = run(capsys, "wait", *conn, "job-a", "--interval", "0.1", "--json")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "appeared"
    assert "run_changed" in kinds
    assert lines[-1] == {
        "event": "result",
        "workflowId": "job-a",
        "status": {"code": 4, "name": "CANCELED"},
        "runId": "run-2",
    }


def test_wait_exit_4_when_an_id_is_never_found(sim, conn, capsys):
    sim.add_job("job-a", code=2)
    code, out, err = run(capsys, "wait", *conn, "job-a", "ghost", "--interval", "0.1")
    assert code == 4
    assert "ghost" in err and "not found" in err


def test_wait_exit_124_on_timeout(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    code, out, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1", "--timeout", "0.3")
    assert code == 124
    assert "job-a" in err


def test_wait_survives_429_and_503_then_completes(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    sim.fail_next(429, headers={"Retry-After": "0"})
    sim.fail_next(503)
    after_polls(sim, (sim.set_status, "job-a", 2), each=4)
    code, out, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1")
    assert code == 0
    assert "HTTP 429" in err and "HTTP 503" in err and "recovered" in err


def test_wrong_token_exit_3_one_line_no_secret(sim, conn, capsys, monkeypatch):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.other_token)
    sim.add_job("job-a")
    code, out, err = run(capsys, "wait", *conn, "job-a")
    assert code == 3
    assert "HTTP 401" in err and len(err.strip().splitlines()) == 1
    assert_no_secret(sim, out, err)
    assert sim.other_token not in err


def test_wrong_organization_and_unknown_workspace_exit_3(sim, conn, capsys):
    bad_org = list(conn)
    bad_org[5] = "00000000-0000-4000-8000-000000000000"
    code, _, err = run(capsys, "status", *bad_org)
    assert code == 3 and "HTTP 403" in err
    bad_ws = list(conn)
    bad_ws[3] = "00000000-0000-4000-8000-000000000001"
    code, _, err = run(capsys, "status", *bad_ws)
    assert code == 3 and ("HTTP 404" in err or "HTTP 401" in err)


def test_malformed_body_is_a_clear_error_then_retries_exhausted(sim, conn, capsys):
    sim.add_job("job-a")
    sim.faults.malformed = "object"
    code, _, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.1", "--max-retries", "1")
    assert code == 3
    assert "bad response" in err and "expected an array" in err
    assert "gave up after 2 failed polls" in err.splitlines()[-1]


def test_server_down_exit_3_connection_refused(sim, conn, capsys):
    sim.stop()
    code, _, err = run(capsys, "status", *conn)
    assert code == 3
    assert "connection refused" in err


def test_plain_http_to_remote_host_refused_before_connecting(conn, capsys):
    argv = list(conn)
    argv[1] = "http://jobs.example.invalid"
    code, _, err = run(capsys, "status", *argv)
    assert code == 2
    assert "--insecure" in err


def test_history_after_wait_shows_every_transition(sim, conn, capsys):
    sim.add_job("job-a", code=1, run_id="run-1")
    after_polls(sim, (sim.set_status, "job-a", 6), (sim.set_status, "job-a", 3, None, "run-2"))
    assert run(capsys, "wait", *conn, "job-a", "--interval", "0.1")[0] == 1
    code, out, _ = run(capsys, "history", *conn, "job-a", "--json")
    assert code == 0
    steps = [(t["status"]["code"], t["runId"]) for t in json.loads(out)]
    assert steps == [(1, "run-1"), (6, "run-1"), (3, "run-2")]
    code, out, _ = run(capsys, "history", *conn, "job-a")
    assert "lasted" in out and "FAILED" in out


def test_workspaces_add_list_default_remove(sim, capsys, isolated_dirs):
    ws = [
        "--workspace-id",
        sim.workspace_id,
        "--organization-id",
        sim.organization_id,
        "--base-url",
        sim.base_url,
    ]
    assert (
        run(capsys, "workspaces", "add", "prod", *ws, "--token-env", "PROD_TOKEN", "--default")[0]
        == 0
    )
    path = isolated_dirs / "config" / "config.toml"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    code, out, _ = run(capsys, "workspaces", "list")
    assert "* prod" in out and sim.workspace_id in out
    code, _, err = run(
        capsys,
        "workspaces",
        "add",
        "bad",
        "--workspace-id",
        "nope",
        "--organization-id",
        sim.organization_id,
    )
    assert code == 2 and "workspace-id" in err
    assert run(capsys, "workspaces", "remove", "prod")[0] == 0
    assert "prod" not in path.read_text()


def test_configured_workspace_with_token_env(sim, capsys, monkeypatch):
    monkeypatch.setenv("PROD_TOKEN", sim.token)
    ws = [
        "--workspace-id",
        sim.workspace_id,
        "--organization-id",
        sim.organization_id,
        "--base-url",
        sim.base_url,
    ]
    run(capsys, "workspaces", "add", "prod", *ws, "--token-env", "PROD_TOKEN", "--default")
    sim.add_job("job-a", code=2)
    code, out, _ = run(capsys, "wait", "job-a")
    assert code == 0 and "COMPLETED" in out
    code, _, err = run(capsys, "status", "--workspace", "staging")
    assert code == 2 and "staging" in err


def test_invalid_config_exit_2_names_file_and_line(capsys, isolated_dirs):
    path = isolated_dirs / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        'default = "x"\n[workspaces.x]\norganization_id = "00000000-0000-4000-8000-000000000000"\nworkspace_id = 12\n'
    )
    before = path.read_bytes()
    code, _, err = run(capsys, "status")
    assert code == 2
    assert f"{path}:4 [workspaces.x.workspace_id]" in err
    assert path.read_bytes() == before


def test_nothing_configured_explains_demo(capsys):
    code, out, err = run(capsys)
    assert code == 2
    assert "jobwatch demo" in out + err and "workspaces add" in out + err


def test_real_entry_point_fast_and_no_textual_for_wait():
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    probe = "import sys, jobwatch.cli.parser as c; c.build_parser(); import jobwatch.poller, jobwatch.api.client; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.strip() == "False"
    res = subprocess.run(
        [sys.executable, "-m", "jobwatch", "wait", "--help"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert res.returncode == 0 and "124" in res.stdout


# -- every command that connects, three ways: flags, the configured default, -w NAME ---------


def add_workspace(
    capsys, name: str, workspace_id: str, organization_id: str, base_url: str, *extra
):
    code, _, err = run(
        capsys,
        "workspaces",
        "add",
        name,
        "--workspace-id",
        workspace_id,
        "--organization-id",
        organization_id,
        "--base-url",
        base_url,
        *extra,
    )
    assert code == 0, err


@pytest.fixture(params=["flags", "default", "named"])
def connect(request, sim, capsys, monkeypatch) -> list[str]:
    """The options that reach `sim`'s workspace: --base-url/--workspace-id/--organization-id;
    nothing (the configured default, token in PROD_TOKEN); or `-w prod` while the default is the
    simulator's other workspace (which knows none of these jobs, so ignoring -w shows)."""
    if request.param == "flags":
        monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
        return [
            "--base-url",
            sim.base_url,
            "--workspace-id",
            sim.workspace_id,
            "--organization-id",
            sim.organization_id,
        ]
    monkeypatch.setenv("PROD_TOKEN", sim.token)
    ws = (sim.workspace_id, sim.organization_id, sim.base_url, "--token-env", "PROD_TOKEN")
    if request.param == "default":
        add_workspace(capsys, "prod", *ws, "--default")
        return []
    monkeypatch.setenv("OTHER_TOKEN", sim.other_token)
    add_workspace(capsys, "prod", *ws)
    add_workspace(
        capsys,
        "other",
        sim.other_workspace_id,
        sim.other_organization_id,
        sim.base_url,
        "--token-env",
        "OTHER_TOKEN",
        "--default",
    )
    return ["-w", "prod"]


def test_status_reaches_the_workspace(sim, connect, capsys):
    run_a = sim.add_job("job-a", code=1)
    code, out, err = run(capsys, "status", *connect)
    assert code == 0, err
    assert "job-a" in out and run_a in out and "RUNNING" in out


def test_wait_reaches_the_workspace(sim, connect, capsys):
    sim.add_job("job-a", code=1)
    after_polls(sim, (sim.set_status, "job-a", 2))
    code, out, err = run(capsys, "wait", *connect, "job-a", "--interval", "0.1")
    assert code == 0, err
    assert "RUNNING → ✓ COMPLETED" in out


def test_history_reads_what_status_recorded(sim, connect, capsys):
    run_a = sim.add_job("job-a", code=3)
    assert run(capsys, "status", *connect, "job-a")[0] == 0
    code, out, err = run(capsys, "history", *connect, "job-a", "--json")
    assert code == 0, err
    assert [(t["status"]["name"], t["runId"]) for t in json.loads(out)] == [("FAILED", run_a)]


def test_watch_reaches_the_workspace(sim, connect, capsys, dashboard):
    sim.add_job("job-a", code=1)
    code, _, err = run(capsys, "watch", *connect)
    assert code == 0, err
    assert dashboard["health"] != "stopped", dashboard["error"]
    assert dashboard["workspace"] == sim.workspace_id
    assert dashboard["rows"] == ["job-a"]
    # its first poll was started before the dashboard was imported, and the worker took it
    assert dashboard["head_start_taken"]


def test_bare_jobwatch_opens_the_default_workspace(sim, capsys, monkeypatch, dashboard):
    """The issue's path: `workspaces add … --default`, then `jobwatch` with no arguments."""
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", sim.token)
    add_workspace(
        capsys,
        "prod",
        sim.workspace_id,
        sim.organization_id,
        sim.base_url,
        "--token-env",
        "SHARELY_ACCESS_TOKEN",
        "--default",
    )
    sim.add_job("job-a", code=1)
    code, _, err = run(capsys)
    assert code == 0, err
    assert dashboard["health"] != "stopped", dashboard["error"]
    assert dashboard["rows"] == ["job-a"]
    assert any(path.endswith("/background-jobs") for _, path, _ in sim.requests)


def test_watch_insecure_warning_is_a_notification(capsys, monkeypatch, dashboard):
    """--insecure reaches the dashboard's client (a flag the bare path used to drop)."""
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", "not-a-real-token")

    async def never(*args, **kwargs):
        await asyncio.Event().wait()  # nothing leaves this machine: the test is about the client

    monkeypatch.setattr(SharelyClient, "fetch_jobs", never)
    monkeypatch.setattr(SharelyClient, "get_workspace", never)
    flags = ["--workspace-id", WS, "--organization-id", ORG, "--request-timeout", "0.5"]
    code, _, err = run(capsys, "watch", "--base-url", "http://192.0.2.1:9", *flags, "--insecure")
    assert code == 0 and "plain http" not in err
    assert any("plain http to 192.0.2.1" in text for text in dashboard["notes"])
    code, _, err = run(capsys, "watch", "--base-url", "http://192.0.2.1:9", *flags)
    assert code == 0
    assert "--insecure" in dashboard["error"]


def test_several_workspaces_without_default_open_the_picker(sim, capsys, dashboard):
    ws = (sim.workspace_id, sim.organization_id, sim.base_url)
    add_workspace(capsys, "a", *ws)
    add_workspace(capsys, "b", *ws)
    assert run(capsys, "watch")[0] == 0
    assert dashboard["screen"] == "WorkspacePicker"
    code, _, err = run(capsys, "status")
    assert code == 2 and "several workspaces" in err and "a, b" in err


def test_unknown_workspace_and_conflicting_options_exit_2(sim, conn, capsys):
    add_workspace(capsys, "prod", sim.workspace_id, sim.organization_id, sim.base_url)
    for command in ("status", "wait", "history", "watch"):
        ids = ["job-a"] if command in ("wait", "history") else []
        code, _, err = run(capsys, command, "-w", "staging", *ids)
        assert code == 2 and "no workspace named 'staging'" in err and "prod" in err, command
        code, _, err = run(capsys, command, *conn, "-w", "prod", *ids)
        assert code == 2 and "not both" in err, command


def test_nothing_configured_explains_how_to_start_for_every_command(capsys):
    for argv in (["status"], ["wait", "job-a"], ["history", "job-a"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and "jobwatch demo" in err and "workspaces add" in err, argv
        assert err.startswith("jobwatch: no workspace") and "jobwatch: jobwatch" not in err


# -- status polls through the Poller: "not found" means what it means in wait -----------------


def test_status_asks_once_when_every_id_is_there(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    before = sim.jobs_request_count
    code, out, err = run(capsys, "status", *conn, "job-a", "--interval", "0.1")
    assert code == 0 and "job-a" in out and err == ""
    assert sim.jobs_request_count - before == 1


def test_status_not_found_after_the_pollers_count_of_absences(sim, conn, capsys):
    sim.add_job("job-a", code=2)
    code, out, err = run(capsys, "status", *conn, "job-a", "ghost", "--interval", "0.1")
    assert code == 4
    assert err.splitlines() == ["jobwatch: not found: ghost"]
    asked = [ids for _, _, ids in sim.requests if ids and "ghost" in ids]
    assert len(asked) == DEFAULT_MISSING_AFTER
    code, out, _ = run(capsys, "status", *conn, "job-a", "ghost", "--interval", "0.1", "--json")
    assert [job["workflowId"] for job in json.loads(out)] == ["job-a"]


def test_status_finds_a_job_that_appears_while_it_asks_again(sim, conn, capsys):
    after_polls(sim, (sim.add_job, "late", 1), each=1)
    code, out, err = run(capsys, "status", *conn, "late", "--interval", "0.2")
    assert code == 0
    assert "late" in out and "not found" not in err


def test_status_reports_the_first_failed_poll(sim, conn, capsys):
    sim.fail_next(503)
    code, out, err = run(capsys, "status", *conn)
    assert code == 3 and out == ""
    assert "HTTP 503" in err and len(err.strip().splitlines()) == 1


def test_status_help_says_when_an_id_is_not_found():
    res = subprocess.run(
        [sys.executable, "-m", "jobwatch", "status", "--help"], capture_output=True, text=True
    )
    text = " ".join(res.stdout.split())
    assert f"missing from {DEFAULT_MISSING_AFTER} answers in a row" in text
    assert "--interval" in text


# -- CANCELLED is a failure for wait's exit code, as jobwatch.statuses says ------------------------


@pytest.mark.parametrize("spelling", ["CANCELLED", "CANCELED"])
def test_wait_exit_code_for_a_cancelled_job(sim, conn, capsys, spelling):
    sim.add_job("job-a", code=1)
    after_polls(sim, (sim.set_status, "job-a", 4, spelling))
    code, out, _ = run(capsys, "wait", *conn, "job-a", "--interval", "0.1", "--quiet")
    assert code == (EXIT_FAILED if STATUSES[4].failure else EXIT_OK)
    assert out.startswith(f"{STATUSES[4].name}  workflowId=job-a")


def test_wait_help_lists_every_failure_status():
    res = subprocess.run(
        [sys.executable, "-m", "jobwatch", "wait", "--help"], capture_output=True, text=True
    )
    line = next(row for row in res.stdout.splitlines() if row.strip().startswith("1 "))
    for info in STATUSES.values():
        assert (info.name in line) == info.failure, info.name


# -- workspaces add: one builder for what a person typed -------------------------------------------


def test_workspaces_add_reports_every_bad_option_by_its_name(capsys, isolated_dirs):
    code, _, err = run(
        capsys,
        "workspaces",
        "add",
        "a b",
        "--workspace-id",
        "nope",
        "--organization-id",
        ORG,
        "--base-url",
        "ftp://x",
        "--token-env",
        "NOT-A-VAR",
    )
    assert code == 2
    for label in ("NAME:", "--workspace-id:", "--base-url:", "--token-env/"):
        assert label in err
    assert not (isolated_dirs / "config" / "config.toml").exists()


def test_workspaces_add_refuses_a_pasted_secret_without_echoing_it(capsys, isolated_dirs):
    secret = "sk-sharely-0123456789abcdef0123"
    code, out, err = run(
        capsys, "workspaces", "add", "p", "--workspace-id", WS, "--organization-id", ORG,
        "--token-command", f"echo {secret}",
    )  # fmt: skip
    assert code == 2 and "looks like a secret" in err
    assert secret not in out + err
    assert not (isolated_dirs / "config" / "config.toml").exists()


def test_workspaces_add_keeps_interval_and_theme_and_list_says_where_credentials_come_from(
    sim, capsys, monkeypatch
):
    ws = (sim.workspace_id, sim.organization_id, sim.base_url)
    add_workspace(capsys, "prod", *ws, "--api-key-env", "PROD_KEY", "--interval", "0.1")
    add_workspace(capsys, "dev", *ws, "--theme", "jobwatch-light", "--default")
    code, out, _ = run(capsys, "workspaces", "list")
    lines = {line[2:].split()[0]: line for line in out.splitlines()}
    assert lines["prod"].endswith("interval 0.1  (API key from $PROD_KEY)")
    assert "theme jobwatch-light" in lines["dev"]
    assert lines["dev"].startswith("* dev")
    assert lines["dev"].endswith("($SHARELY_ACCESS_TOKEN or $SHARELY_API_KEY)")
    # the workspace's interval is what wait polls at
    monkeypatch.setenv("PROD_KEY", sim.api_key)
    sim.add_job("job-a", code=1)
    after_polls(sim, (sim.set_status, "job-a", 2), each=4)
    started = time.monotonic()
    code, _, err = run(capsys, "wait", "-w", "prod", "job-a")
    assert code == 0, err
    # four polls and the one that saw COMPLETED: far less than one default 2 s interval
    assert time.monotonic() - started < 2.0
