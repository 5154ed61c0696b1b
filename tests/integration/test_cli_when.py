"""Issue 13 from the command line, over loopback: `history` says when (windows, gaps, ranges),
`status` records whole answers and tells label/pin/kind, and `wait` covers every outcome
(--fail-fast, --any, --missing-after, --heartbeat) with its exit code and timing.

The gap test changes the simulated job while nothing polls, as a person closing the laptop
would; the gap and width thresholds are lowered (monkeypatched module constants, read at call
time) so that the pause takes a second or two instead of minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from jobwatch import windows
from jobwatch.store.history import HistoryStore
from tests.support.cli import after_polls, run
from tests.support.rawpty import RawTerminal, jobwatch_argv


def epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


# -- history: windows and gaps ----------------------------------------------------------------


def test_a_pause_in_polling_is_a_gap_and_a_wide_window(sim, conn, capsys, monkeypatch):
    monkeypatch.setattr(windows, "GAP_MIN_SECONDS", 0.5)
    monkeypatch.setattr(windows, "NARROW_WINDOW_SECONDS", 1.0)
    fast = ["--interval", "0.1"]
    assert run(capsys, "status", *conn, *fast)[0] == 0  # t0: the workspace, still empty
    sim.add_job("job-a", code=1)
    t_before = time.time()
    assert run(capsys, "status", *conn, *fast)[0] == 0  # t1: job-a appears, RUNNING
    t1_after = time.time()
    assert run(capsys, "status", *conn, *fast)[0] == 0  # t2: unchanged, and seen
    t2_after = time.time()
    time.sleep(1.5)  # nobody polls (the scenario itself: time passes unwatched), 3x the gap
    sim.set_status("job-a", 3)
    t3_before = time.time()
    code, _, _ = run(capsys, "wait", *conn, "job-a", *fast)  # t3: FAILED
    assert code == 1

    code, out, _ = run(capsys, "history", *conn, "job-a", "--json")
    assert code == 0
    appeared, failed = json.loads(out)
    # appeared after the empty poll t0 and by t1: both ends known, narrow
    assert appeared["notBefore"] is not None and not appeared["unwatched"]
    assert epoch(appeared["notBefore"]) < t_before <= epoch(appeared["observedAt"])
    # FAILED after t2 (the second status counts as having seen it RUNNING), by t3
    assert (
        t1_after < epoch(failed["notBefore"]) <= t2_after < t3_before <= epoch(failed["observedAt"])
    )
    assert failed["unwatched"] is True
    [gap] = failed["gaps"]
    assert epoch(gap["from"]) == pytest.approx(epoch(failed["notBefore"]), abs=0.002)
    assert epoch(gap["to"]) - epoch(gap["from"]) >= 1.5
    assert appeared["gaps"] == failed["gaps"]  # the job's, on every step
    assert {k: failed[k] for k in ("label", "pinned", "kind")} == {
        "label": None,
        "pinned": False,
        "kind": "job-a",
    }
    with HistoryStore.open_default() as store:
        [stored] = store.job_gaps(sim.workspace_id, "job-a")
    assert (stored.started, stored.ended) == pytest.approx((epoch(gap["from"]), epoch(gap["to"])))

    code, out, _ = run(capsys, "history", *conn, "job-a")
    lines = out.splitlines()
    assert lines[:2] == ["job-a", "  kind job-a"]
    clock = r"\d\d:\d\d:\d\d"
    assert re.match(rf"  ▶ RUNNING between {clock} and {clock}\s+run \S+$", lines[2]), lines[2]
    assert re.match(rf"  · not watched from {clock} to {clock} \(\d+s\)$", lines[3]), lines[3]
    wide = rf"  ✗ FAILED between {clock} and {clock} \(not watched in between\)\s+run \S+"
    assert re.match(wide + r"  ran \d+s–\d+s$", lines[4]), lines[4]  # a range: the end is wide


def test_history_json_has_no_window_it_does_not_know(sim, conn, capsys):
    sim.add_job("job-a", code=2)
    run(capsys, "status", *conn, "job-a")  # first seen already COMPLETED: no earlier state
    [step] = json.loads(run(capsys, "history", *conn, "job-a", "-o", "json")[1])
    assert step["notBefore"] is None and step["gaps"] == [] and step["unwatched"] is False
    out = run(capsys, "history", *conn, "job-a")[1]
    assert "✓ COMPLETED by " in out and "(already so when first seen)" in out


def test_labels_and_kinds_reach_status_and_history_json(sim, conn, capsys, tmp_path):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text('[kinds]\nrules = [{ match = "^tax-", kind = "taxonomy-publish" }]\n')
    sim.add_job("tax-42", code=1)
    sim.add_job("job-b", code=1)
    run(capsys, "status", *conn)
    with HistoryStore.open_default() as store:
        store.set_label(sim.workspace_id, "job-b", "nightly \x1b[2J publish")
        store.set_pinned(sim.workspace_id, "job-b", True)
    jobs = {j["workflowId"]: j for j in json.loads(run(capsys, "status", *conn, "--json")[1])}
    assert (jobs["tax-42"]["kind"], jobs["tax-42"]["label"]) == ("taxonomy-publish", None)
    assert jobs["job-b"]["label"] == jobs["job-b"]["kind"] == "nightly \x1b[2J publish"
    assert jobs["job-b"]["pinned"] is True
    [step] = json.loads(run(capsys, "history", *conn, "job-b", "--json")[1])
    assert (step["label"], step["pinned"]) == ("nightly \x1b[2J publish", True)
    code, out, _ = run(capsys, "history", *conn, "job-b")
    assert "label nightly \\x1b[2J publish (its kind) · pinned" in out
    assert "\x1b" not in out


# -- wait: every outcome --------------------------------------------------------------------


def test_any_returns_when_the_first_job_ends_while_others_run(sim, conn, capsys):
    for wid in ("job-a", "job-b"):
        sim.add_job(wid, code=1)
    after_polls(sim, (sim.set_status, "job-a", 2))
    started = time.monotonic()
    code, out, err = run(capsys, "wait", *conn, "job-a", "job-b", "--any", "--interval", "0.1",
                         "--timeout", "20")  # fmt: skip
    assert code == 0, err
    assert time.monotonic() - started < 10  # job-b never ends: only --any returns
    assert "--any: job-a ✓ COMPLETED; every job as it is now:" in err
    assert "COMPLETED  workflowId=job-a" in out and "RUNNING  workflowId=job-b" in out
    assert sim.job("job-b")["status"]["code"] == 1


def test_any_takes_the_code_of_the_job_that_ended(sim, conn, capsys):
    for wid in ("job-a", "job-b"):
        sim.add_job(wid, code=1)
    after_polls(sim, (sim.set_status, "job-b", 3))
    code, out, _ = run(capsys, "wait", *conn, "job-a", "job-b", "--any", "-o", "jsonl",
                       "--interval", "0.1", "--timeout", "20")  # fmt: skip
    assert code == 1
    events = [json.loads(line) for line in out.splitlines()]
    [ended] = [e for e in events if e["event"] == "any_ended"]
    assert (ended["workflowId"], ended["status"]["name"]) == ("job-b", "FAILED")
    results = {e["workflowId"]: e["status"]["name"] for e in events if e["event"] == "result"}
    assert results == {"job-a": "RUNNING", "job-b": "FAILED"}
    # an ID that is never found ends too: exit 4
    code, _, _ = run(capsys, "wait", *conn, "job-a", "ghost", "--any", "--interval", "0.1",
                     "--timeout", "20")  # fmt: skip
    assert code == 4


def test_fail_fast_returns_at_the_first_failure_with_every_state(sim, conn, capsys):
    for wid in ("job-a", "job-b", "job-c"):
        sim.add_job(wid, code=1)
    after_polls(sim, (sim.set_status, "job-a", 2), (sim.set_status, "job-b", 5))
    started = time.monotonic()
    code, out, err = run(capsys, "wait", *conn, "job-a", "job-b", "job-c", "--fail-fast",
                         "--interval", "0.1", "--timeout", "20")  # fmt: skip
    assert code == 1, err
    assert time.monotonic() - started < 10  # job-c still runs
    assert "--fail-fast: job-b ■ TERMINATED; every job as it is now:" in err
    states = [line for line in out.splitlines() if "workflowId=" in line]
    assert states == [
        f"COMPLETED  workflowId=job-a  runId={sim.job('job-a')['runId']}",
        f"TERMINATED  workflowId=job-b  runId={sim.job('job-b')['runId']}",
        f"RUNNING  workflowId=job-c  runId={sim.job('job-c')['runId']}",
    ]


def test_without_fail_fast_a_failure_waits_for_the_rest(sim, conn, capsys):
    for wid in ("job-a", "job-b"):
        sim.add_job(wid, code=1)
    after_polls(sim, (sim.set_status, "job-a", 3))
    code, out, _ = run(capsys, "wait", *conn, "job-a", "job-b", "--interval", "0.1",
                       "--timeout", "1.5", "-o", "jsonl")  # fmt: skip
    assert code == 124  # job-b kept it waiting
    assert not any(json.loads(line)["event"] == "fail_fast" for line in out.splitlines())


def test_missing_after_tolerates_an_id_not_listed_yet(sim, conn, capsys):
    def listed_after(answers: int) -> None:
        after_polls(sim, (sim.add_job, "late", 2), each=sim.jobs_request_count + answers)

    listed_after(5)
    code, _, err = run(capsys, "wait", *conn, "late", "--interval", "0.1")  # the default, 3
    assert code == 4 and "not found" in err
    assert sim.job("late") is None  # it gave up before the job was listed
    listed_after(5)
    code, _, err = run(capsys, "wait", *conn, "late", "--missing-after", "20", "--interval", "0.1")
    assert code == 0, err
    with pytest.raises(SystemExit) as exited:
        run(capsys, "wait", *conn, "late", "--missing-after", "0")
    assert exited.value.code == 2 and "--missing-after" in capsys.readouterr().err


def wait_argv(sim, *extra: str) -> list[str]:
    return jobwatch_argv("wait", "--base-url", sim.base_url, "--workspace-id", sim.workspace_id,
                         "--organization-id", sim.organization_id, "--interval", "0.1",
                         *extra)  # fmt: skip


def child_env(sim) -> dict[str, str]:
    return {**os.environ, "SHARELY_ACCESS_TOKEN": sim.token, "PYTHONUNBUFFERED": "1"}


def test_heartbeat_lines_on_a_pipe(sim):
    sim.add_job("job-slow-1", code=1)
    started = time.monotonic()
    done = subprocess.run(
        wait_argv(
            sim,
            "job-slow-1",
            "never-listed",
            "--heartbeat",
            "0.2",
            "--timeout",
            "2",
            "--missing-after",
            "1000",
        ),  # fmt: skip
        env=child_env(sim),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 124, done.stderr
    beats = [line for line in done.stdout.splitlines() if line.startswith("still running:")]
    # ~2 s of wait at one line per 0.2 s (the process's start-up is not counted): at least 5
    assert len(beats) >= 5, done.stdout
    assert time.monotonic() - started < 20
    assert re.fullmatch(
        r"still running: 1 job, job-slow-1 for (at least )?\d+s; 1 not listed yet", beats[-1]
    ), beats[-1]


def test_heartbeat_events_in_jsonl(sim):
    sim.add_job("job-slow-1", code=1)
    done = subprocess.run(
        wait_argv(sim, "job-slow-1", "--heartbeat", "0.2", "--timeout", "1.5", "-o", "jsonl"),
        env=child_env(sim),
        capture_output=True,
        text=True,
        timeout=30,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    beats = [e for e in events if e["event"] == "heartbeat"]
    assert len(beats) >= 3, done.stdout
    last = beats[-1]
    assert (last["running"], last["notListed"]) == (1, 0)
    assert last["longest"]["workflowId"] == "job-slow-1"
    assert last["longest"]["atLeastSeconds"] > 0.5 and last["longest"]["atMostSeconds"] is None
    assert last["message"].startswith("still running: 1 job, job-slow-1 for ")
    assert [e["event"] for e in events][-1] == "timeout"  # the other events keep their shape


def test_no_heartbeat_on_a_terminal(sim):
    sim.add_job("job-slow-1", code=1)
    argv = wait_argv(sim, "job-slow-1", "--heartbeat", "0.2", "--timeout", "2")
    with RawTerminal(argv, env=child_env(sim)) as term:
        assert term.wait_exit(timeout=30) == 124
        text = term.text()
    assert "job-slow-1" in text  # the wait ran and printed its lines
    assert "still running" not in text


# -- issue 10's leftovers: simulate --hostile, the answer limit, the token_command timeout ----


def test_simulate_hostile_serves_what_it_names(tmp_path):
    argv = jobwatch_argv("simulate", "--port", "0", "--scenario", "static", "--hostile", "escapes")
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = [server.stdout.readline() for _ in range(5)]
        url = re.search(r"serving (http://127\.0\.0\.1:\d+)", banner[0]).group(1)
        ws = re.search(r"workspace ID\s+(\S+)", banner[1]).group(1)
        org = re.search(r"organization ID\s+(\S+)", banner[2]).group(1)
        token = re.search(r"access token\s+(\S+)", banner[3]).group(1)
        done = subprocess.run(
            jobwatch_argv(
                "status",
                "--base-url",
                url,
                "--workspace-id",
                ws,
                "--organization-id",
                org,
                "--json",
            ),  # fmt: skip
            env={**os.environ, "SHARELY_ACCESS_TOKEN": token},
            capture_output=True,
            timeout=30,
        )
    finally:
        server.send_signal(2)  # Ctrl-C
        server.communicate(timeout=20)
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in done.stdout  # escaped as \u001b, the value kept
    assert any(j["workflowId"].startswith("evil-\x1b]52;") for j in json.loads(done.stdout))


def test_simulate_hostile_lists_its_kinds(capsys):
    from jobwatch.simulator.names import HOSTILE_KINDS as SIMULATED

    # the parser names them from jobwatch.simulator.names without loading the simulator
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, jobwatch.cli.parser; print(sorted(m for m in "
         "sys.modules if m.startswith('jobwatch.simulator')))"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert loaded.strip() == "['jobwatch.simulator', 'jobwatch.simulator.names']"
    help_text = " ".join(subprocess.run(jobwatch_argv("simulate", "--help"), capture_output=True,
                                        text=True).stdout.split())  # fmt: skip
    assert ", ".join(SIMULATED) in help_text
    code, _, err = run(capsys, "simulate", "--port", "0", "--hostile", "nasty")
    assert code == 2 and "unknown hostile kind 'nasty'; choose one of escapes" in err


def test_the_answer_limit_flag_then_the_workspace_key(sim, conn, capsys, tmp_path):
    for n in range(9000):  # ~1.1 MB of answer
        sim.add_job(f"bulk-job-{n:05d}", code=2)
    code, _, err = run(capsys, "status", *conn, "--max-answer-mib", "1")
    assert code == 3 and "larger than 1 MiB once decompressed" in err, err
    assert run(capsys, "status", *conn)[0] == 0  # the default: 128 MiB
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        f'[workspaces.big]\nworkspace_id = "{sim.workspace_id}"\n'
        f'organization_id = "{sim.organization_id}"\nbase_url = "{sim.base_url}"\n'
        "max_answer_mib = 1\n"
    )
    code, _, err = run(capsys, "status", "-w", "big")
    assert code == 3 and "larger than 1 MiB" in err
    assert run(capsys, "status", "-w", "big", "--max-answer-mib", "2")[0] == 0  # the flag first


def test_the_token_command_timeout_flag_then_the_workspace_key(sim, capsys, tmp_path):
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        f'[workspaces.slow]\nworkspace_id = "{sim.workspace_id}"\n'
        f'organization_id = "{sim.organization_id}"\nbase_url = "{sim.base_url}"\n'
        'token_command = "sleep 30"\ntoken_command_timeout = 0.3\n'
    )
    started = time.monotonic()
    code, _, err = run(capsys, "status", "-w", "slow")
    assert code == 3 and "did not finish within 0.3 s" in err, err
    code, _, err = run(capsys, "status", "-w", "slow", "--token-command-timeout", "0.6")
    assert code == 3 and "did not finish within 0.6 s" in err, err
    assert time.monotonic() - started < 10  # not the default 10 s, twice


# -- the demo's seeded past -------------------------------------------------------------------


def test_the_demo_opens_with_typical_durations_and_its_own_jobs_newest(monkeypatch):
    from jobwatch.cli import dashboard
    from jobwatch.demo_history import KIND_DURATIONS, SEED_RUNS_PER_KIND
    from jobwatch.kinds import Kinds
    from jobwatch.tui import app

    seen: dict = {}

    def opened(session, *, workspace, job_ids, history, demo, **_):
        ws = session.target(workspace).workspace.workspace_id
        seen["typical"] = history.typical_durations(ws, Kinds())
        seen["records"] = history.jobs(ws)
        return 0

    monkeypatch.setattr(app, "run_dashboard", opened)
    monkeypatch.setattr(dashboard, "require_terminal", lambda: None)
    assert dashboard.cmd_demo(plain=False, seed=7, speed=1.0) == 0
    typical = seen["typical"]
    assert set(typical) == set(KIND_DURATIONS)
    assert all(t.runs == SEED_RUNS_PER_KIND for t in typical.values())
    records = sorted(seen["records"], key=lambda r: r.last_change, reverse=True)
    assert len(records) == 18 + SEED_RUNS_PER_KIND * len(KIND_DURATIONS)
    newest = records[:18]  # the first answer was recorded: the live demo's jobs open on top
    assert {r.first_seen for r in newest} == {newest[0].first_seen}
    assert any(r.status.code == 1 for r in newest)
    assert all(r.status.code == 2 for r in records[18:])  # the seeded past: finished runs


# -- labels and pins from the command line --------------------------------------------------------


def test_label_and_pin_from_the_command_line(sim, conn, capsys):
    # a script labels the job it has just started, before any jobwatch saw it
    code, out, _ = run(capsys, "label", *conn, "tax-42", "nightly publish")
    assert code == 0 and out == "tax-42: labelled nightly publish\n"
    assert run(capsys, "pin", *conn, "tax-42")[0] == 0
    sim.add_job("tax-42", code=1)
    [job] = json.loads(run(capsys, "status", *conn, "tax-42", "--json")[1])
    assert (job["label"], job["pinned"], job["kind"]) == (
        "nightly publish",
        True,
        "nightly publish",
    )
    assert run(capsys, "label", *conn, "tax-42", "--clear")[0] == 0
    assert run(capsys, "pin", *conn, "tax-42", "--unpin")[0] == 0
    [job] = json.loads(run(capsys, "status", *conn, "tax-42", "--json")[1])
    assert (job["label"], job["pinned"], job["kind"]) == (None, False, "tax")
    code, _, err = run(capsys, "label", *conn, "tax-42", "x" * 201)
    assert code == 2 and "at most 200 characters" in err
    with pytest.raises(SystemExit) as exited:
        run(capsys, "label", *conn, "tax-42")
    assert exited.value.code == 2 and "TEXT --clear is required" in capsys.readouterr().err


def test_labels_are_per_workspace(sim, conn, capsys):
    assert run(capsys, "label", *conn, "job-a", "mine")[0] == 0
    other = [*conn]
    other[other.index("--workspace-id") + 1] = "123e4567-e89b-42d3-a456-426614174009"
    with HistoryStore.open_default() as store:
        assert store.annotations(sim.workspace_id)["job-a"].label == "mine"
        assert "job-a" not in store.annotations("123e4567-e89b-42d3-a456-426614174009")
    assert run(capsys, "pin", *other, "job-a")[0] == 0
    with HistoryStore.open_default() as store:
        assert not store.annotations(sim.workspace_id)["job-a"].pinned


def test_heartbeat_goes_on_while_the_api_fails(sim, capsys):
    sim.add_job("job-slow-1", code=1)
    after_polls(sim, (setattr, sim.faults, "error_rate", 1.0), each=1)  # every poll after the first
    done = subprocess.run(
        wait_argv(sim, "job-slow-1", "--heartbeat", "0.3", "--timeout", "2.5", "-o", "jsonl"),
        env=child_env(sim),
        capture_output=True,
        text=True,
        timeout=30,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    beats = [e for e in events if e["event"] == "heartbeat"]
    assert any(e["event"] == "poll_failed" for e in events), done.stdout
    failing = [b for b in beats if b["failedPolls"]]
    assert failing and failing[-1]["message"].endswith("failed"), beats
    assert failing[-1]["running"] == 1  # the last state seen
