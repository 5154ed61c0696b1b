"""Command-line entry point: argument parsing, connection resolution, exit codes.

Textual and httpx are imported only by the commands that need them, so that
`jobwatch --version` and `jobwatch wait --help` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch import __version__
from jobwatch.errors import JobwatchError, UsageError

if TYPE_CHECKING:
    from jobwatch.config import Config, WorkspaceConfig

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 124

EXIT_CODES_HELP = """\
exit codes:
  0    every job COMPLETED
  1    at least one job ended FAILED, CANCELLED, TERMINATED or TIMED_OUT
  2    usage or configuration error
  3    the API refused or kept failing (401 after renewal, 403, 404, retries exhausted)
  4    none failed, but at least one ID was never found
  124  --timeout elapsed first
"""

CREDENTIALS_HELP = """\
credentials (never on the command line):
  a config entry's token_env / api_key_env / token_command, else
  SHARELY_ACCESS_TOKEN (a bearer token) or SHARELY_API_KEY (an sk-sharely-... key)
"""

NOTHING_CONFIGURED = """\
jobwatch: no workspace is configured yet.

  Try it without an account:   jobwatch demo
  Add a workspace:             jobwatch workspaces add prod --workspace-id UUID --organization-id UUID --token-env SHARELY_ACCESS_TOKEN --default
  Or pass one directly:        jobwatch watch --base-url URL --workspace-id UUID --organization-id UUID

Run `jobwatch --help` for every command."""


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def _connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--workspace",
        "-w",
        metavar="NAME",
        help="a configured workspace (default: the config's default)",
    )
    group.add_argument(
        "--base-url", metavar="URL", help="API base URL (with --workspace-id and --organization-id)"
    )
    group.add_argument("--workspace-id", metavar="UUID")
    group.add_argument("--organization-id", metavar="UUID")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="allow credentials over plain http to a non-loopback host",
    )
    group.add_argument(
        "--request-timeout",
        type=_positive,
        default=10.0,
        metavar="S",
        help="timeout of each request (default 10)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobwatch",
        description="Watch Sharely.ai background jobs live: a dashboard for people, `wait` for scripts.",
        epilog="With no command, opens the dashboard on the default workspace.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"jobwatch {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: env JOBWATCH_CONFIG or the platform config dir)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    conn = _connection_options()
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "status",
        parents=[conn],
        help="poll once and print the jobs",
        formatter_class=fmt,
        epilog=CREDENTIALS_HELP,
    )
    p.add_argument(
        "job_ids",
        nargs="*",
        metavar="JOB_ID",
        help="workflow IDs (default: every job of the workspace)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array of the API's jobs")

    p = sub.add_parser(
        "wait",
        parents=[conn],
        help="wait until jobs finish; the exit code says how",
        formatter_class=fmt,
        epilog=EXIT_CODES_HELP + "\n" + CREDENTIALS_HELP,
    )
    p.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    p.add_argument(
        "--interval",
        type=_positive,
        default=None,
        metavar="S",
        help="seconds between polls (default 2)",
    )
    p.add_argument(
        "--timeout",
        type=_positive,
        default=None,
        metavar="S",
        help="give up after S seconds (exit 124)",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        default=10,
        metavar="N",
        help="consecutive failed polls before exit 3 (default 10)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--quiet", "-q", action="store_true", help="print only the jobs that did not complete"
    )

    p = sub.add_parser("history", parents=[conn], help="print a job's recorded status timeline")
    p.add_argument("job_id", metavar="JOB_ID")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "watch",
        parents=[conn],
        help="open the dashboard",
        epilog=CREDENTIALS_HELP,
        formatter_class=fmt,
    )
    p.add_argument(
        "job_ids", nargs="*", metavar="JOB_ID", help="track only these (default: every job)"
    )

    p = sub.add_parser("demo", help="the dashboard against a built-in simulator: no account needed")
    p.add_argument(
        "--no-tui", action="store_true", help="print live changes instead of the dashboard"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--speed", type=_positive, default=1.0, help="simulated time per real second")

    p = sub.add_parser("simulate", help="run the Sharely API simulator on loopback")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--scenario", choices=["demo", "bulk", "static", "empty"], default="demo")
    p.add_argument("--jobs", type=int, default=100, help="number of jobs (bulk)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--error-rate", type=float, default=0.0, help="fraction of job requests answered 503"
    )
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    p.add_argument(
        "--rate-limit-every", type=int, default=0, metavar="N", help="every Nth request gets 429"
    )
    p.add_argument(
        "--malformed",
        metavar="KIND",
        help="answer every job request with a broken body of this kind (an unknown KIND lists them)",
    )

    ws = sub.add_parser("workspaces", help="list and edit configured workspaces")
    wsub = ws.add_subparsers(dest="ws_command", metavar="ACTION", required=True)
    wsub.add_parser("list", help="list workspaces")
    p = wsub.add_parser("add", help="add a workspace")
    p.add_argument("name")
    p.add_argument("--workspace-id", required=True, metavar="UUID")
    p.add_argument("--organization-id", required=True, metavar="UUID")
    p.add_argument("--base-url", metavar="URL")
    cred = p.add_mutually_exclusive_group()
    cred.add_argument("--token-env", metavar="VAR", help="env var holding a bearer token")
    cred.add_argument("--api-key-env", metavar="VAR", help="env var holding an sk-sharely- API key")
    cred.add_argument("--token-command", metavar="CMD", help="command that prints a token")
    p.add_argument("--interval", type=_positive)
    p.add_argument("--default", action="store_true", help="make it the default workspace")
    p = wsub.add_parser("remove", help="remove a workspace")
    p.add_argument("name")
    p = wsub.add_parser("default", help="set the default workspace")
    p.add_argument("name")
    return parser


# -- configuration and connection --------------------------------------------------------


def load(args: argparse.Namespace) -> Config:
    from jobwatch.config import load_config
    from jobwatch.paths import config_path

    return load_config(config_path(args.config))


def resolve_workspace(args: argparse.Namespace, config: Config) -> WorkspaceConfig:
    """The workspace from --base-url/--workspace-id/--organization-id, --workspace, or the default."""
    from jobwatch.config import WorkspaceConfig, validate_base_url, validate_uuid

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
        from jobwatch.api import DEFAULT_BASE_URL

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

    from jobwatch.api import SharelyClient, check_connection_security

    conn = replace(ws.connection(insecure=args.insecure), timeout=args.request_timeout)
    warning = check_connection_security(conn)
    if warning:
        warn(warning)
    return SharelyClient(conn, ws.credentials(), environ=environ)


def open_history(warn: bool = True):
    """The history store, or None with a warning when it cannot be used (polling still works)."""
    from jobwatch.history import HistoryStore

    try:
        return HistoryStore.open_default()
    except JobwatchError as error:
        if warn:
            print(f"jobwatch: warning: history disabled: {error.describe()}", file=sys.stderr)
        return None


# -- commands ------------------------------------------------------------------------------


async def cmd_status(args: argparse.Namespace) -> int:
    from jobwatch.config import parse_job_ids
    from jobwatch.output import dumps, jobs_table

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
    not_completed = [j for j in jobs if j.status.code != 2]
    if any(j.status.is_failure for j in jobs):
        return EXIT_FAILED, not_completed
    if any(j.status.code == -1 for j in jobs):
        return EXIT_NOT_FOUND, not_completed
    return EXIT_OK, not_completed


async def cmd_wait(args: argparse.Namespace) -> int:
    from jobwatch.config import parse_job_ids
    from jobwatch.events import PollerStopped
    from jobwatch.output import EventPrinter, dumps
    from jobwatch.poller import DEFAULT_INTERVAL, Poller

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
    from jobwatch.formatting import format_clock, format_duration, status_text
    from jobwatch.history import HistoryStore
    from jobwatch.output import dumps, iso

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
    from jobwatch.config import WorkspaceConfig, save_config, validate_base_url, validate_uuid

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
        from jobwatch.api import DEFAULT_BASE_URL

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
        from jobwatch.config import parse_job_ids

        ids = parse_job_ids(" ".join(args.job_ids))
    from jobwatch.history import HistoryStore
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

    from jobwatch import eventlog
    from jobwatch.config import Config, WorkspaceConfig
    from jobwatch.history import HistoryStore
    from jobwatch.simulator import Simulator

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
    from jobwatch.output import EventPrinter
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
    from jobwatch.simulator import run_simulate

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


def dispatch(args: argparse.Namespace) -> int:
    match args.command:
        case "status":
            return asyncio.run(cmd_status(args))
        case "wait":
            return asyncio.run(cmd_wait(args))
        case "history":
            return cmd_history(args)
        case "workspaces":
            return cmd_workspaces(args)
        case "simulate":
            return cmd_simulate(args)
        case "demo":
            return cmd_demo(args)
        case "watch" | None:
            return cmd_watch(args)
    raise UsageError(f"unknown command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return dispatch(args)
    except JobwatchError as error:
        print(f"jobwatch: {error.describe()}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`jobwatch status | head`): exit quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
