"""The command line behaves like a well-made tool (issue 12): "-" reads IDs from standard input,
global options go before or after the command, an explicit --config must exist, one --output
convention, help and exit codes for everything, shell completion, one-line errors with one
prefix, warnings at `workspaces add` time, bounded --interval/--timeout, exit 3 for a bug."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from jobwatch.cli import commands
from jobwatch.cli import job_ids as job_id_args
from jobwatch.cli.main import main
from jobwatch.cli.parser import DEBUG_ENV, EXIT_CODES, build_parser
from jobwatch.errors import UsageError
from jobwatch.models import Job, Status
from jobwatch.store.history import HistoryStore
from tests.support.cli import after_polls, run
from tests.support.tui import ORG, WS

README = Path(__file__).resolve().parents[2] / "README.md"


def stdin_of(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# -- "-": IDs from standard input -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"job-a\njob-b\n",
        b'{"workflowId": "job-a", "message": "started"}\n{"workflowId": "job-b"}\n',
        b'{"data": {"workflowIds": ["job-a", "job-b"]}, "ok": true}',
        b'[{"workflowId": "job-a", "status": {"code": 1}}, {"workflowId": "job-b"}]',
    ],
    ids=["lines", "json-lines", "nested-json", "status-json"],
)
def test_wait_dash_reads_ids_from_stdin(sim, conn, capsys, monkeypatch, data):
    sim.add_job("job-a", code=1)
    sim.add_job("job-b", code=2)
    after_polls(sim, (sim.set_status, "job-a", 2))
    stdin_of(monkeypatch, data)
    code, out, err = run(capsys, "wait", *conn, "-", "--interval", "0.1", "--output", "json")
    assert code == 0, err
    assert [job["workflowId"] for job in json.loads(out)] == ["job-a", "job-b"]


def test_status_json_piped_into_wait(sim, conn, capsys, monkeypatch):
    sim.add_job("job-a", code=2)
    code, out, _ = run(capsys, "status", *conn, "--json")
    stdin_of(monkeypatch, out.encode())
    code, out, _ = run(capsys, "wait", *conn, "-", "--quiet")
    assert code == 0 and out == ""


def test_stdin_bounds_and_bad_input_are_one_line_errors(monkeypatch):
    monkeypatch.setattr(job_id_args, "MAX_STDIN_BYTES", 100)
    with pytest.raises(UsageError, match="more than 100 bytes"):
        job_id_args.read_ids(io.BytesIO(b"x\n" * 51))
    monkeypatch.undo()
    with pytest.raises(UsageError, match="nested deeper"):
        job_id_args.read_ids(io.BytesIO(b"[" * 70 + b"]" * 70))
    with pytest.raises(UsageError, match="not UTF-8"):
        job_id_args.read_ids(io.BytesIO(b"\xff\xfe"))
    with pytest.raises(UsageError, match='without a "workflowId"'):
        job_id_args.read_ids(io.BytesIO(b'{"id": "x"}'))
    with pytest.raises(UsageError, match="line 2 is not JSON"):
        job_id_args.read_ids(io.BytesIO(b'{"workflowId": "a"}\n{"workflowId": \n'))
    assert job_id_args.read_ids(io.BytesIO(b"['job-a', 'job-b']")) == ["job-a", "job-b"]
    assert job_id_args.expand(["a", "-", "b"], io.BytesIO(b"c\na\n")) == ["a", "c", "b"]
    with pytest.raises(UsageError, match="only once"):
        job_id_args.expand(["-", "-"], io.BytesIO(b""))


# -- global options before or after the command; --config must exist -------------------------


def test_global_options_before_or_after_the_command(sim, conn, capsys, isolated_dirs):
    config = isolated_dirs / "elsewhere.toml"
    sim.add_job("job-a", code=2)
    code, _, err = run(capsys, "workspaces", "add", "prod", "--workspace-id", sim.workspace_id,
                       "--organization-id", sim.organization_id, "--base-url", sim.base_url,
                       "--config", str(config))  # fmt: skip
    assert code == 0, err
    for argv in (
        ["status", "--config", str(config), "-w", "prod"],
        ["--config", str(config), "status", "-w", "prod"],
        ["--config", str(config), "-w", "prod", "status"],
        ["-w", "prod", "status", "--config", str(config)],
        [*conn, "status"],
        ["status", *conn],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 0 and "job-a" in out, (argv, err)
    code, _, err = run(capsys, "-w", "prod", "workspaces", "list")
    assert code == 2 and "only status, wait, history, label, pin and watch" in err


def test_an_explicit_config_that_does_not_exist_is_an_error_except_for_add(capsys, tmp_path):
    missing = str(tmp_path / "nope.toml")
    for argv in (["status"], ["wait", "job-a"], ["history", "job-a"], ["watch"],
                 ["workspaces", "list"], ["workspaces", "default", "x"], []):  # fmt: skip
        code, _, err = (
            run(capsys, *argv, "--config", missing) if argv else run(capsys, "--config", missing)
        )
        assert code == 2 and "no such file" in err and missing in err, argv
    code, _, err = run(capsys, "workspaces", "add", "p", "--workspace-id", WS,
                       "--organization-id", ORG, "--config", missing)  # fmt: skip
    assert code == 0 and Path(missing).exists()


# -- one output convention -------------------------------------------------------------------


def test_output_formats_of_status_history_and_workspaces_list(sim, conn, capsys):
    run_a = sim.add_job("job-a", code=3)
    record = {"workflowId": "job-a", "status": {"code": 3, "name": "FAILED"}, "runId": run_a,
              "label": None, "pinned": False, "kind": "job-a"}  # fmt: skip
    for flag in (["--json"], ["--output", "json"], ["-o", "json"]):
        assert json.loads(run(capsys, "status", *conn, *flag)[1]) == [record]
    out = run(capsys, "status", *conn, "--output", "jsonl")[1]
    assert [json.loads(line) for line in out.splitlines()] == [record]
    assert "WORKFLOW ID" in run(capsys, "status", *conn, "--output", "table")[1]
    history = json.loads(run(capsys, "history", *conn, "job-a", "--json")[1])
    assert [step["runId"] for step in history] == [run_a]
    out = run(capsys, "history", *conn, "job-a", "-o", "jsonl")[1]
    assert [json.loads(line)["observedAt"] for line in out.splitlines()] == [
        history[0]["observedAt"]
    ]
    run(capsys, "workspaces", "add", "p", "--workspace-id", WS, "--organization-id", ORG,
        "--token-env", "P_TOKEN", "--default")  # fmt: skip
    listed = json.loads(run(capsys, "workspaces", "list", "--json")[1])
    assert listed == [
        {"name": "p", "default": True, "workspaceId": WS, "organizationId": ORG,
         "baseUrl": "https://api.sharely.ai", "interval": None, "theme": None,
         "tokenEnv": "P_TOKEN", "apiKeyEnv": None, "tokenCommand": False,
         "credentials": "token from $P_TOKEN", "maxAnswerMib": None,
         "tokenCommandTimeout": None}
    ]  # fmt: skip
    with pytest.raises(SystemExit):
        main(["status", *conn, "--output", "jsonl", "--json"])
    assert "not allowed with" in capsys.readouterr().err


def test_wait_json_is_jsonl_events_and_output_json_is_the_final_array(sim, conn, capsys):
    run_a = sim.add_job("job-a", code=2)
    code, out, _ = run(capsys, "wait", *conn, "job-a", "ghost", "--json", "--interval", "0.1")
    assert code == 4
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "appeared" and events[-1]["event"] == "result"
    code, out, _ = run(capsys, "wait", *conn, "job-a", "ghost", "-o", "json", "--interval", "0.1")
    assert code == 4
    notes = {"label": None, "pinned": False}
    assert json.loads(out) == [
        {"workflowId": "job-a", "status": {"code": 2, "name": "COMPLETED"}, "runId": run_a,
         **notes, "kind": "job-a"},
        {"workflowId": "ghost", "status": {"code": -1, "name": "NOT_FOUND"}, "runId": "",
         **notes, "kind": "ghost"},
    ]  # fmt: skip


# -- help, exit codes, completion -------------------------------------------------------------


def all_parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from all_parsers(sub)


def test_every_option_and_argument_has_help_text():
    missing = [
        f"{parser.prog} {action.dest}"
        for parser in all_parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not (action.help and action.help.strip())
    ]
    assert missing == []


def test_every_commands_help_and_the_readme_list_its_exit_codes():
    readme = README.read_text()
    rows = {
        m.group(1): m.group(2).replace("\\|", "|")
        for m in re.finditer(r"^\| `(\w[\w ]*)` \| (.*) \|$", readme, re.M)
    }
    for parser in all_parsers(build_parser()):
        words = parser.prog.split()
        if len(words) < 2:
            continue
        command = words[1]
        text = parser.format_help()
        for code, meaning in EXIT_CODES[command]:
            assert re.search(rf"^  {code} +{re.escape(meaning)}$", text, re.M), (command, code)
            if code not in (2, 130, 141) and meaning != EXIT_CODES["history"][2][1]:
                assert f"{code} {meaning}" in rows[command], (command, code)
    shared = rows["every command"]
    for code, meaning in [
        EXIT_CODES["status"][1],
        EXIT_CODES["history"][2],
        *EXIT_CODES["status"][-2:],
    ]:
        assert f"{code} {meaning}" in shared


def test_completion_scripts_and_completing_commands_options_and_workspace_names(
    capsys, isolated_dirs
):
    for shell, marker in (
        ("bash", "complete"),
        ("zsh", "#compdef jobwatch"),
        ("fish", "complete --command jobwatch"),
    ):
        code, out, _ = run(capsys, "completion", shell)
        assert code == 0 and marker in out, shell
    run(capsys, "workspaces", "add", "prod-eu", "--workspace-id", WS, "--organization-id", ORG)

    def complete(line: str) -> list[str]:
        env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
               "_ARGCOMPLETE_IFS": "\n"}  # fmt: skip
        res = subprocess.run(
            f"{sys.executable} -m jobwatch 8>&1 9>/dev/null 1>/dev/null 2>/dev/null",
            shell=True, env=env, capture_output=True, timeout=30,
        )  # fmt: skip
        return res.stdout.decode().split()

    assert "status" in complete("jobwatch sta")
    assert "--interval" in complete("jobwatch wait --int")
    assert complete("jobwatch status -w pro") == ["prod-eu"]


# -- errors: one line, one prefix, no traceback -------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--port", "99999"],
        ["simulate", "--error-rate", "nan"],
        ["status", "--interval", "0.0001"],
        ["status", "--interval", "nan"],
        ["watch", "--interval", "inf"],
        ["wait", "job-a", "--timeout", "nan"],
        ["wait", "job-a", "--timeout", "0"],
        ["wait", "job-a", "--max-retries", "-1"],
        ["status", "--request-timeout", "nan"],
        ["demo", "--speed", "0"],
        [
            "workspaces",
            "add",
            "p",
            "--workspace-id",
            WS,
            "--organization-id",
            ORG,
            "--interval",
            "nan",
        ],
        ["bogus"],
        ["status", "--nope"],
        ["status", "--output", "xml"],
        ["workspaces"],
        ["completion", "tcsh"],
    ],
)
def test_a_bad_argument_is_one_line_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.match(r"jobwatch( \w+)*: ", err) and "jobwatch: jobwatch" not in err
    if "--interval" in argv or "--timeout" in argv:
        assert ("--interval" in err) or ("--timeout" in err)


def test_interval_and_timeout_bounds_name_the_option(capsys):
    for argv, option in ((["status", "--interval", "0.0001"], "--interval"),
                         (["wait", "x", "--timeout", "nan"], "--timeout")):  # fmt: skip
        with pytest.raises(SystemExit):
            main(argv)
        err = capsys.readouterr().err
        assert f"argument {option}" in err and "finite" in err


def test_every_error_and_warning_has_one_prefix(sim, capsys, monkeypatch):
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    code, _, err = run(
        capsys, "workspaces", "add", "", "--workspace-id", WS, "--organization-id", ORG
    )
    assert code == 2 and err == "jobwatch: NAME: a name is required\n"
    code, _, err = run(capsys, "status")
    assert code == 2 and err.startswith("jobwatch: no workspace is configured yet.")
    code, out, err = run(capsys, "workspaces", "add", "p", "--workspace-id", WS,
                         "--organization-id", ORG, "--base-url", "http://jobs.example.com",
                         "--token-env", "NOPE_TOKEN")  # fmt: skip
    assert code == 0
    warnings = err.splitlines()
    assert len(warnings) == 2 and all(w.startswith("jobwatch: warning: ") for w in warnings)
    assert "plain http" in warnings[0] and "--insecure" in warnings[0]
    assert "$NOPE_TOKEN is not set" in warnings[1]
    for line in (out + err).splitlines():
        assert not re.search(r"jobwatch: jobwatch|warning: warning", line), line


def test_workspaces_add_is_quiet_when_the_entry_will_work(capsys, monkeypatch, sim):
    monkeypatch.setenv("GOOD_TOKEN", "x")
    code, _, err = run(capsys, "workspaces", "add", "p", "--workspace-id", WS, "--organization-id",
                       ORG, "--base-url", sim.base_url, "--token-env", "GOOD_TOKEN")  # fmt: skip
    assert code == 0 and err == ""
    code, _, err = run(capsys, "workspaces", "add", "q", "--workspace-id", WS, "--organization-id",
                       ORG, "--token-command", "no-such-program-xyz --print")  # fmt: skip
    assert code == 0 and "'no-such-program-xyz' is not on PATH" in err


def test_an_unexpected_exception_is_exit_3_in_one_line(sim, conn, capsys, monkeypatch):
    async def broken(*args, **kwargs):
        raise KeyError("\x1b]0;boom\x07")

    monkeypatch.setattr(commands, "cmd_status", broken)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    code, out, err = run(capsys, "status", *conn)
    assert code == 3 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("jobwatch: internal error: KeyError")
    assert "\x1b" not in err and DEBUG_ENV in err
    monkeypatch.setenv(DEBUG_ENV, "1")
    assert main(["status", *conn]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "broken" in err and "\x1b" not in err


# -- history shows dates when not today ----------------------------------------------------------


def test_history_shows_the_date_of_a_day_that_is_not_today(sim, conn, capsys):
    yesterday = datetime.now() - timedelta(days=1)
    with HistoryStore.open_default() as store:
        store.record(
            sim.workspace_id, [Job("job-old", Status(1, "RUNNING"), "r1")], yesterday.timestamp()
        )
        store.record(sim.workspace_id, [Job("job-old", Status(2, "COMPLETED"), "r1")], time.time())
    code, out, _ = run(capsys, "history", *conn, "job-old")
    assert code == 0
    first, gap, second = out.splitlines()[2:5]
    day = (
        yesterday.strftime("%b ") + f"{yesterday.day} "
        if yesterday.year == datetime.now().year
        else yesterday.strftime("%Y-%m-%d ")
    )
    assert re.match(
        rf"\s+▶ RUNNING by {day}\d\d:\d\d:\d\d \(already so when first seen\)", first
    ), first
    assert re.match(rf"\s+· not watched from {day}\d\d:\d\d to \d\d:\d\d \(1d00h\)", gap), gap
    # a window of a day: to the minute, its start dated, its end today's clock; nobody watched
    assert re.match(
        rf"\s+✓ COMPLETED between {day}\d\d:\d\d and \d\d:\d\d \(not watched in between\)",
        second,
    ), second
