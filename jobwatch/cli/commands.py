"""One function per command: resolve the workspace, run the poller or the dashboard, return an exit code.

Textual and httpx are imported inside the commands that need them, so that
`jobwatch --version` and `jobwatch wait --help` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.cli.parser import (
    EXIT_API,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    NOTHING_CONFIGURED,
)
from jobwatch.errors import JobwatchError, UsageError
from jobwatch.statuses import COMPLETED_CODE, NOT_FOUND_CODE

if TYPE_CHECKING:
    from jobwatch.store.config import Config, WorkspaceConfig

# -- configuration and connection --------------------------------------------------------


def load(args: argparse.Namespace) -> Config:
    from jobwatch.store.config import load_config
    from jobwatch.store.paths import config_path

    return load_config(config_path(args.config))


def resolve_workspace(args: argparse.Namespace, config: Config) -> WorkspaceConfig:
    """The workspace from --base-url/--workspace-id/--organization-id, --workspace, or the default."""
    from jobwatch.store.config import WorkspaceConfig, validate_base_url, validate_uuid

    direct = [args.base_url, args.workspace_id, args.organization_id]
    if any(direct):
        if args.workspace:
            raise UsageError(
                "give either --workspace or --base-url/--workspace-id/--organization-id, not both"
            )
        if not (args.workspace_id and args.organization_id):
            raise UsageError(
                "--workspace-id and --organization-id go together (--base-url is optional)"
            )
        from jobwatch.api.client import DEFAULT_BASE_URL

        return WorkspaceConfig(
            name="command line",
            workspace_id=validate_uuid(args.workspace_id, "--workspace-id"),
            organization_id=validate_uuid(args.organization_id, "--organization-id"),
            base_url=validate_base_url(args.base_url or DEFAULT_BASE_URL),
        )
    name = args.workspace or config.default
    if name is None:
        if len(config.workspaces) == 1:
            return next(iter(config.workspaces.values()))
        if not config.workspaces:
            raise UsageError(NOTHING_CONFIGURED)
        names = ", ".join(sorted(config.workspaces))
        raise UsageError(
            f"several workspaces are configured ({names}) and none is the default: pass --workspace NAME"
        )
    if name not in config.workspaces:
        known = ", ".join(sorted(config.workspaces)) or "none"
        raise UsageError(f"no workspace named {name!r} in {config.path} (configured: {known})")
    return config.workspaces[name]


def _warn_on_stderr(message: str) -> None:
    print(f"jobwatch: warning: {message}", file=sys.stderr)


def make_client(ws: WorkspaceConfig, args: argparse.Namespace, environ=None, warn=_warn_on_stderr):
    """A client for `ws`; refuses plain http to a non-loopback host unless --insecure.

    `warn(text)` reports that --insecure was needed (the dashboard shows it as a notification).
    """
    from dataclasses import replace

    from jobwatch.api.client import SharelyClient
    from jobwatch.api.transport import check_connection_security

    conn = replace(ws.connection(insecure=args.insecure), timeout=args.request_timeout)
    warning = check_connection_security(conn)
    if warning:
        warn(warning)
    return SharelyClient(conn, ws.credentials(), environ=environ)


def open_history(warn: bool = True):
    """The history store, or None with a warning when it cannot be used (polling still works)."""
    from jobwatch.store.history import HistoryStore

    try:
        return HistoryStore.open_default()
    except JobwatchError as error:
        if warn:
            print(f"jobwatch: warning: history disabled: {error.describe()}", file=sys.stderr)
        return None


# -- commands ------------------------------------------------------------------------------


async def cmd_status(args: argparse.Namespace) -> int:
    from jobwatch.cli.output import dumps, jobs_table
    from jobwatch.store.config import parse_job_ids

    ws = resolve_workspace(args, load(args))
    ids = parse_job_ids(" ".join(args.job_ids)) if args.job_ids else None
    async with make_client(ws, args) as client:
        result = await client.fetch_jobs(ids)
    history = open_history()
    if history is not None:
        try:
            now = time.time()
            history.record(ws.workspace_id, result.jobs, now, polled_at=now)
        except JobwatchError as error:
            print(f"jobwatch: warning: history not saved: {error.describe()}", file=sys.stderr)
        finally:
            history.close()
    if args.json:
        print(dumps([j.to_json() for j in result.jobs]))
    else:
        print(jobs_table(result.jobs))
    if ids:
        seen = {j.workflow_id for j in result.jobs}
        for wid in ids:
            if wid not in seen:
                print(f"jobwatch: not found: {wid}", file=sys.stderr)
    return EXIT_OK


def wait_outcome(poller) -> tuple[int, list]:
    """The exit code for the jobs' final states and the jobs that did not complete."""
    jobs = [poller.jobs[i] for i in poller.tracked if i in poller.jobs]
    not_completed = [j for j in jobs if j.status.code != COMPLETED_CODE]
    if any(j.status.is_failure for j in jobs):
        return EXIT_FAILED, not_completed
    if any(j.status.code == NOT_FOUND_CODE for j in jobs):
        return EXIT_NOT_FOUND, not_completed
    return EXIT_OK, not_completed


async def cmd_wait(args: argparse.Namespace) -> int:
    from jobwatch.cli.output import EventPrinter, dumps
    from jobwatch.events import PollerStopped
    from jobwatch.poller import DEFAULT_INTERVAL, Poller
    from jobwatch.store.config import parse_job_ids

    config = load(args)
    ws = resolve_workspace(args, config)
    ids = parse_job_ids(" ".join(args.job_ids))
    if not ids:
        raise UsageError("no job ID given")
    interval = args.interval or ws.interval or DEFAULT_INTERVAL
    printer = EventPrinter(as_json=args.json, quiet=args.quiet)
    history = open_history()
    stopped = None
    timed_out = False
    async with make_client(ws, args) as client:
        poller = Poller(
            client,
            ws.workspace_id,
            job_ids=ids,
            history=history,
            interval=interval,
            max_failures=args.max_retries,
        )
        try:
            async with asyncio.timeout(args.timeout):
                async for events in poller.run(until_done=True):
                    printer.emit(events)
                    for event in events:
                        if isinstance(event, PollerStopped):
                            stopped = event.error
        except TimeoutError:
            timed_out = True
        finally:
            if history is not None:
                history.close()
    if stopped is not None:
        gave_up = f"gave up after {poller.failures} failed polls: " if stopped.retryable else ""
        print(f"jobwatch: {gave_up}{stopped.describe()}", file=sys.stderr)
        return EXIT_API
    if timed_out:
        pending = poller.pending_ids() or []
        if args.json:
            for wid in pending:
                job = poller.jobs.get(wid)
                print(
                    dumps(
                        {
                            "event": "timeout",
                            "workflowId": wid,
                            "status": job.status.to_json() if job else None,
                            "runId": job.run_id if job else None,
                        }
                    )
                )
        else:
            print(
                f"jobwatch: --timeout {args.timeout:g}s elapsed; still waiting for: {', '.join(pending)}",
                file=sys.stderr,
            )
        return EXIT_TIMEOUT
    code, not_completed = wait_outcome(poller)
    for job in not_completed:
        if args.json:
            print(dumps({"event": "result", **job.to_json()}))
        else:
            print(f"{job.status.label}  workflowId={job.workflow_id}  runId={job.run_id or '-'}")
    return code


def cmd_history(args: argparse.Namespace) -> int:
    from jobwatch.cli.output import dumps, iso
    from jobwatch.formatting import format_clock, format_duration, status_text
    from jobwatch.store.history import HistoryStore

    ws = resolve_workspace(args, load(args))
    store = HistoryStore.open_default()
    try:
        transitions = store.transitions(ws.workspace_id, args.job_id)
    finally:
        store.close()
    if not transitions:
        print(
            f"jobwatch: no history for {args.job_id} in workspace {ws.name} ({ws.workspace_id})",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    if args.json:
        print(
            dumps(
                [
                    {
                        "workflowId": args.job_id,
                        "status": t.status.to_json(),
                        "runId": t.run_id,
                        "observedAt": iso(t.observed_at),
                    }
                    for t in transitions
                ]
            )
        )
        return EXIT_OK
    print(args.job_id)
    for i, t in enumerate(transitions):
        lasted = ""
        if i + 1 < len(transitions):
            lasted = f"  (lasted {format_duration(transitions[i + 1].observed_at - t.observed_at)})"
        print(
            f"  {format_clock(t.observed_at, None)}  {status_text(t.status):<20}  run {t.run_id}{lasted}"
        )
    return EXIT_OK


def cmd_workspaces(args: argparse.Namespace) -> int:
    from jobwatch.store.config import WorkspaceConfig, save_config, validate_base_url, validate_uuid

    config = load(args)
    action = args.ws_command
    if action == "list":
        if not config.workspaces:
            print(NOTHING_CONFIGURED)
            return EXIT_OK
        for name, ws in sorted(config.workspaces.items()):
            mark = "*" if name == config.default else " "
            source = (
                f"token_env={ws.token_env}"
                if ws.token_env
                else f"api_key_env={ws.api_key_env}"
                if ws.api_key_env
                else "token_command"
                if ws.token_command
                else "env SHARELY_ACCESS_TOKEN / SHARELY_API_KEY"
            )
            print(
                f"{mark} {name}  workspace {ws.workspace_id}  org {ws.organization_id}  {ws.base_url}  ({source})"
            )
        return EXIT_OK
    if action == "add":
        from jobwatch.api.client import DEFAULT_BASE_URL

        ws = WorkspaceConfig(
            name=args.name,
            workspace_id=validate_uuid(args.workspace_id, "--workspace-id"),
            organization_id=validate_uuid(args.organization_id, "--organization-id"),
            base_url=validate_base_url(args.base_url or DEFAULT_BASE_URL),
            token_env=args.token_env,
            api_key_env=args.api_key_env,
            token_command=args.token_command,
            interval=args.interval,
        )
        config.add_workspace(ws, make_default=args.default)
        save_config(config)
        print(f"added workspace {args.name} to {config.path}")
        return EXIT_OK
    if action == "remove":
        config.remove_workspace(args.name)
        save_config(config)
        print(f"removed workspace {args.name}")
        return EXIT_OK
    config.set_default(args.name)
    save_config(config)
    print(f"default workspace: {args.name}")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    config = load(args)
    if args.command is None and not config.workspaces:
        print(NOTHING_CONFIGURED)
        return EXIT_USAGE
    ws = None
    if args.command is not None and (args.base_url or args.workspace_id or args.organization_id):
        ws = resolve_workspace(args, config)
        config.workspaces[ws.name] = ws
    name = ws.name if ws else getattr(args, "workspace", None) or config.default
    if name is not None and name not in config.workspaces:
        resolve_workspace(args, config)  # raises the explanatory error
    ids = None
    if getattr(args, "job_ids", None):
        from jobwatch.store.config import parse_job_ids

        ids = parse_job_ids(" ".join(args.job_ids))
    from jobwatch.store.history import HistoryStore
    from jobwatch.tui.app import run_dashboard

    history = HistoryStore.open_default()
    try:
        return run_dashboard(
            config,
            workspace=name,
            job_ids=ids,
            history=history,
            client_factory=lambda w, warn: make_client(w, args, warn=warn),
        )
    finally:
        history.close()


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from jobwatch.simulator.server import Simulator
    from jobwatch.store import eventlog
    from jobwatch.store.config import Config, WorkspaceConfig
    from jobwatch.store.history import HistoryStore

    sim = Simulator("demo", seed=args.seed, speed=args.speed)
    base_url = sim.start()
    environ = {"SHARELY_ACCESS_TOKEN": sim.token}
    ws = WorkspaceConfig(
        name="demo",
        workspace_id=sim.workspace_id,
        organization_id=sim.organization_id,
        base_url=base_url,
        interval=1.0,
    )
    args.insecure = False
    args.request_timeout = 10.0
    try:
        with tempfile.TemporaryDirectory(prefix="jobwatch-demo-") as tmp:
            history = HistoryStore(os.path.join(tmp, "history.sqlite3"))
            eventlog.DEFAULT.pin(Path(tmp) / eventlog.LOG_FILE_NAME)
            try:
                if args.no_tui:
                    return asyncio.run(_demo_print(ws, args, environ, history))
                from jobwatch.tui.app import run_dashboard

                config = Config(
                    path=Path(tmp) / "config.toml", workspaces={"demo": ws}, default="demo"
                )
                return run_dashboard(
                    config,
                    workspace="demo",
                    job_ids=None,
                    history=history,
                    client_factory=lambda w, warn: make_client(w, args, environ, warn=warn),
                    demo=True,
                )
            finally:
                history.close()
                eventlog.DEFAULT.close()
                eventlog.DEFAULT.pin(None)
    finally:
        sim.stop()


async def _demo_print(ws, args, environ, history) -> int:
    from jobwatch.cli.output import EventPrinter
    from jobwatch.poller import Poller

    print(
        f"jobwatch demo: simulator at {ws.base_url}, workspace {ws.workspace_id}; Ctrl-C to stop",
        file=sys.stderr,
    )
    printer = EventPrinter(as_json=False)
    async with make_client(ws, args, environ) as client:
        async for events in Poller(
            client, ws.workspace_id, history=history, interval=ws.interval
        ).run():
            printer.emit(events)
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from jobwatch.simulator.server import run_simulate

    return run_simulate(
        port=args.port,
        scenario=args.scenario,
        jobs=args.jobs,
        seed=args.seed,
        error_rate=args.error_rate,
        latency=args.latency,
        rate_limit_every=args.rate_limit_every,
        malformed=args.malformed,
    )
