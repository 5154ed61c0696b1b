"""The CLI end to end: `status`, `wait`, `history`, `workspaces` against the simulator over loopback HTTP.

Each test checks the documented exit code, one clear line on errors, no traceback, no secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.cli import later, run


def assert_no_secret(sim, *texts):
    for text in texts:
        assert sim.token not in text
        assert sim.api_key not in text


def test_status_table_json_and_unknown_ids(sim, conn, capsys):
    run_a = sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=3)
    code, out, err = run(capsys, "status", *conn, "job-a", "job-b", "nope")
    assert code == 0
    assert "job-a" in out and "RUNNING" in out and run_a in out and "FAILED" in out
    assert "nope" in err
    code, out, err = run(capsys, "status", *conn, "--json")
    data = json.loads(out)
    assert {"workflowId": "job-a", "status": {"code": 1, "name": "RUNNING"}, "runId": run_a} in data
    assert len(data) == 2


def test_wait_exit_0_when_all_complete_and_prints_changes(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=1)
    later(0.3, sim.set_status, "job-a", 2)
    later(0.5, sim.set_status, "job-b", 2)
    code, out, err = run(capsys, "wait", *conn, "job-a", "job-b", "--interval", "0.1")
    assert code == 0, err
    assert "RUNNING → ✓ COMPLETED" in out


def test_wait_exit_1_on_failure_and_names_the_ids(sim, conn, capsys):
    run_id = sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=2)
    later(0.3, sim.set_status, "job-a", 7)
    code, out, err = run(capsys, "wait", *conn, "job-a", "job-b", "--interval", "0.1", "--quiet")
    assert code == 1
    assert out.strip() == f"TIMED_OUT  workflowId=job-a  runId={run_id}"


def test_wait_json_lines_follow_continued_as_new(sim, conn, capsys):
    sim.add_job("job-a", code=1, run_id="run-1")
    later(0.25, sim.set_status, "job-a", 6)
    later(0.5, sim.set_status, "job-a", 1, None, "run-2")
    later(0.75, sim.set_status, "job-a", 4, "CANCELED")
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
    code, out, err = run(capsys, "wait", *conn, "job-a", "ghost", "--interval", "0.05")
    assert code == 4
    assert "ghost" in err and "not found" in err


def test_wait_exit_124_on_timeout(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    code, out, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.05", "--timeout", "0.3")
    assert code == 124
    assert "job-a" in err


def test_wait_survives_429_and_503_then_completes(sim, conn, capsys):
    sim.add_job("job-a", code=1)
    sim.fail_next(429, headers={"Retry-After": "0"})
    sim.fail_next(503)
    later(0.2, sim.set_status, "job-a", 2)
    code, out, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.05")
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
    code, _, err = run(capsys, "wait", *conn, "job-a", "--interval", "0.05", "--max-retries", "1")
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
    later(0.2, sim.set_status, "job-a", 6)
    later(0.4, sim.set_status, "job-a", 3, None, "run-2")
    assert run(capsys, "wait", *conn, "job-a", "--interval", "0.05")[0] == 1
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
