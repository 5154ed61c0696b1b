"""The command line's grammar: every command, option and help text, and the exit codes.

Nothing here imports httpx or Textual, so `jobwatch --help` and `jobwatch wait --help` start fast.
The parsed Namespace goes no further than `jobwatch.cli.main.dispatch`, which hands each command
typed values (`jobwatch.session.Flags` for the connection options).
"""

from __future__ import annotations

import argparse

from jobwatch import __version__
from jobwatch.statuses import FAILURE_CODES, IN_ORDER

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 124

_FAILURES = [info.name for info in IN_ORDER if info.code in FAILURE_CODES]
FAILURE_NAMES = ", ".join(_FAILURES[:-1]) + " or " + _FAILURES[-1]

EXIT_CODES_HELP = f"""\
exit codes:
  0    every job COMPLETED
  1    at least one job ended {FAILURE_NAMES}
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

# "3" is jobwatch.poller.DEFAULT_MISSING_AFTER, not imported here: the poller pulls in asyncio and
# costs `jobwatch --help` ~60 ms. tests/integration/test_cli.py pins the two together.
STATUS_HELP = """\
not found: an ID missing from the API's answer is asked for again every --interval until it
appears or has been missing from 3 answers in a row; only then is it "not found" (on stderr),
exactly as `wait` and the dashboard decide it. So an unknown ID takes about 2 intervals.
"""

# Shown after "jobwatch: " (as an error) or alone (`workspaces list`).
NOTHING_CONFIGURED = """\
no workspace is configured yet.

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


def _interval_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--interval",
        type=_positive,
        default=None,
        metavar="S",
        help=f"seconds between {what} (default: the workspace's interval, else 2)",
    )


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
        help="config file (default: env SHARELY_JOBWATCH_CONFIG or the platform config dir)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    conn = _connection_options()
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "status",
        parents=[conn],
        help="poll once and print the jobs",
        description="Poll once (through the same poller as `wait` and the dashboard) and print "
        "the jobs; the history records what was seen.",
        formatter_class=fmt,
        epilog=STATUS_HELP + "\n" + CREDENTIALS_HELP,
    )
    p.add_argument(
        "job_ids",
        nargs="*",
        metavar="JOB_ID",
        help="workflow IDs (default: every job of the workspace)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array of the API's jobs")
    _interval_option(p, "the polls that re-check a missing ID")

    p = sub.add_parser(
        "wait",
        parents=[conn],
        help="wait until jobs finish; the exit code says how",
        formatter_class=fmt,
        epilog=EXIT_CODES_HELP + "\n" + CREDENTIALS_HELP,
    )
    p.add_argument("job_ids", nargs="+", metavar="JOB_ID")
    _interval_option(p, "polls")
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
    _interval_option(p, "polls")
    # 30 is jobwatch.schedule.DEFAULT_DISCOVERY_INTERVAL (not imported: see STATUS_HELP's note);
    # tests/unit/test_session.py pins the two together.
    p.add_argument(
        "--discovery-interval",
        type=_positive,
        default=None,
        metavar="S",
        help="watching every job of a large workspace, each poll asks only for the jobs still "
        "running and the whole list is read every S seconds, and at once on r (default: the "
        "workspace's discovery_interval, else 30)",
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
    grow = p.add_argument_group(
        "growth (bulk only)",
        "Let the workspace grow while it is watched: every --grow-every seconds, --new-share of the "
        "running jobs appear as new jobs and --finish-share of them finish.",
    )
    # The orders are jobwatch.simulator.scenarios.GROWTH_ORDERS (not imported here, to keep
    # `jobwatch --help` fast); tests/integration/test_simulator.py pins the two together.
    grow.add_argument(
        "--grow",
        metavar="ORDER",
        help="where new jobs go in the list: append, prepend (newest first), reorder (the order "
        "changes every tick) or mixed",
    )
    grow.add_argument("--grow-every", type=_positive, metavar="S", help="seconds per tick (2)")
    grow.add_argument(
        "--new-share", type=float, metavar="F", help="new jobs per tick, share of running (0.01)"
    )
    grow.add_argument(
        "--finish-share", type=float, metavar="F", help="running jobs finishing per tick (0.01)"
    )
    grow.add_argument(
        "--finished", type=float, metavar="F", help="share of the jobs finished at start (0.98)"
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
    p.add_argument("--interval", type=_positive, metavar="S", help="seconds between polls")
    p.add_argument(
        "--theme", metavar="NAME", help="the dashboard's theme while this workspace is open"
    )
    p.add_argument("--default", action="store_true", help="make it the default workspace")
    p = wsub.add_parser("remove", help="remove a workspace")
    p.add_argument("name")
    p = wsub.add_parser("default", help="set the default workspace")
    p.add_argument("name")
    return parser
