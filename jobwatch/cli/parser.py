"""The command line's grammar: every command, option and help text, and the exit codes.

One function builds each command's parser (`_add_status`, `_add_wait`, ...); `build_parser` puts
them together. The global options (--config and the connection options) are accepted before or
after the command: the main parser defines them with their defaults and each command's parser
again with `argparse.SUPPRESS`, so a value given after the command wins and an absent one does not
overwrite what was given before it. The exit codes of every command live in `EXIT_CODES`, which
each command's --help shows (the README's table is checked against it by a test).

Nothing here imports httpx or Textual, so `jobwatch --help` and `jobwatch wait --help` start fast.
The parsed Namespace goes no further than `jobwatch.cli.main.dispatch`, which hands each command
typed values (`jobwatch.session.Flags` for the connection options).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from jobwatch import __version__
from jobwatch.sanitize import visible
from jobwatch.simulator.names import HOSTILE_KINDS
from jobwatch.statuses import FAILURE_CODES, IN_ORDER
from jobwatch.store.config import (
    MAX_ANSWER_MIB,
    MAX_INTERVAL,
    MAX_TOKEN_COMMAND_TIMEOUT,
    MIN_ANSWER_MIB,
    MIN_INTERVAL,
    MIN_TOKEN_COMMAND_TIMEOUT,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141

#: the name of the environment variable that shows the traceback of an internal error
DEBUG_ENV = "SHARELY_JOBWATCH_DEBUG"

#: --timeout's upper bound (30 days) and --request-timeout's bounds, in seconds
MAX_TIMEOUT = 30 * 86400.0
MIN_REQUEST_TIMEOUT = 0.1
MAX_REQUEST_TIMEOUT = 600.0
#: --missing-after's upper bound (a day of polls at the fastest interval)
MAX_MISSING_AFTER = 1_000_000
#: --heartbeat's upper bound (a day)
MAX_HEARTBEAT = 86400.0
#: the formats of --output; --json is one of them (see OUTPUT_HELP)
OUTPUT_FORMATS = ("table", "json", "jsonl")

_FAILURES = [info.name for info in IN_ORDER if info.code in FAILURE_CODES]
FAILURE_NAMES = ", ".join(_FAILURES[:-1]) + " or " + _FAILURES[-1]

ExitCodes = tuple[tuple[int, str], ...]

_USAGE = (EXIT_USAGE, "usage or configuration error")
_INTERNAL = (
    EXIT_API,
    "an internal error (a bug: one line names it; details with SHARELY_JOBWATCH_DEBUG=1)",
)
_ENDINGS = (
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (EXIT_PIPE_CLOSED, "the output was closed early (e.g. `| head`)"),
)
_API = "the API refused or kept failing (401 after renewal, 403, 404, retries exhausted), or an internal error"
_DASHBOARD: ExitCodes = (
    (EXIT_OK, "quit"),
    (EXIT_USAGE, "usage or configuration error, or no terminal (use --plain, `status` or `wait`)"),
    (EXIT_API, "with --plain, the API refused (401 after renewal, 403, 404); or an internal error"),
    *_ENDINGS,
)
_EDITS: ExitCodes = ((EXIT_OK, "done"), _USAGE, _INTERNAL, *_ENDINGS)

#: every command's exit codes, shown in its --help; the README's table is checked against these
EXIT_CODES: dict[str, ExitCodes] = {
    "status": (
        (EXIT_OK, "printed; every requested ID was found"),
        _USAGE,
        (EXIT_API, _API),
        (EXIT_NOT_FOUND, "printed, but at least one requested ID was not found"),
        *_ENDINGS,
    ),
    "wait": (
        (EXIT_OK, "every job COMPLETED (with --any: the first to end did)"),
        (EXIT_FAILED, f"at least one job ended {FAILURE_NAMES} (with --fail-fast: at once)"),
        _USAGE,
        (EXIT_API, _API),
        (EXIT_NOT_FOUND, "none failed, but at least one ID was never found"),
        (EXIT_TIMEOUT, "--timeout elapsed first"),
        *_ENDINGS,
    ),
    "history": (
        (EXIT_OK, "printed"),
        _USAGE,
        _INTERNAL,
        (EXIT_NOT_FOUND, "no history recorded for this ID in this workspace"),
        *_ENDINGS,
    ),
    "label": (
        (EXIT_OK, "done"),
        (EXIT_USAGE, "usage or configuration error, or the history cannot be written"),
        _INTERNAL,
        *_ENDINGS,
    ),
    "pin": (
        (EXIT_OK, "done"),
        (EXIT_USAGE, "usage or configuration error, or the history cannot be written"),
        _INTERNAL,
        *_ENDINGS,
    ),
    "watch": _DASHBOARD,
    "demo": _DASHBOARD,
    "simulate": ((EXIT_OK, "stopped with Ctrl-C"), _USAGE, _INTERNAL),
    "workspaces": _EDITS,
    "completion": ((EXIT_OK, "printed"), _USAGE, _INTERNAL, *_ENDINGS),
}


def exit_codes_help(command: str) -> str:
    rows = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES[command])
    return f"exit codes:\n{rows}\n"


CREDENTIALS_HELP = """\
credentials (never on the command line):
  a config entry's token_env / api_key_env / token_command, else
  SHARELY_ACCESS_TOKEN (a bearer token) or SHARELY_API_KEY (an sk-sharely-... key)
"""

STDIN_HELP = """\
JOB_ID "-" reads IDs from standard input: one per line, or the JSON an originating endpoint
returned (every "workflowId" and "workflowIds" in it; JSON lines too), at most 16 MB.
"""

OUTPUT_HELP = """\
output: --output table (for people), json (one JSON document) or jsonl (one JSON object per
line); strings are exact, with control and bidi characters \\u-escaped. --json is --output json,
except for `wait`, where it is --output jsonl (its events, as they happen).
"""

# "3" is jobwatch.poller.DEFAULT_MISSING_AFTER, not imported here: the poller pulls in asyncio and
# costs `jobwatch --help` ~60 ms. tests/integration/test_cli.py pins the two together.
STATUS_HELP = """\
not found: an ID missing from the API's answer is asked for again every --interval until it
appears or has been missing from 3 answers in a row (--missing-after N); only then is it "not
found" (on stderr, exit 4), exactly as `wait` and the dashboard decide it. So an unknown ID takes
about 2 intervals.
The table cuts IDs longer than 64 characters in the middle (keeping the unique tail); --json
gives them whole.
"""

WAIT_HELP = """\
when it ends: once every job is finished; with --fail-fast at the first failure (exit 1, every
job's current state printed); with --any as soon as one job ends (its code: 0 COMPLETED, 1 a
failure, 4 not found; several ending in one poll count together); at --timeout (124).
heartbeat: when standard output is not a terminal (CI), a line every --heartbeat seconds says
what is still running and for how long, so a no-output timeout does not end the wait; with
--output jsonl it is a {"event": "heartbeat", ...} object, with json it goes to stderr.
"""

# Shown after "jobwatch: " (as an error) or alone (`workspaces list`).
NOTHING_CONFIGURED = """\
no workspace is configured yet.

  Try it without an account:   jobwatch demo
  Add a workspace:             jobwatch workspaces add prod --workspace-id UUID --organization-id UUID --token-env SHARELY_ACCESS_TOKEN --default
  Or pass one directly:        jobwatch watch --base-url URL --workspace-id UUID --organization-id UUID

Run `jobwatch --help` for every command."""

#: the connection options' destinations and defaults (the commands that connect take them)
CONNECTION_DEFAULTS: dict[str, Any] = {
    "workspace": None,
    "base_url": None,
    "workspace_id": None,
    "organization_id": None,
    "insecure": False,
    "request_timeout": 10.0,
    "max_answer_mib": None,
    "token_command_timeout": None,
}


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit 2), never usage plus a line."""

    def error(self, message: str) -> NoReturn:
        prog = visible(self.prog)  # "jobwatch" or "jobwatch status": the one prefix
        print(f"{prog}: {visible(message)} (see `{prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


# -- argument types: finite numbers within bounds, named in the error ---------------------


def seconds(
    low: float, high: float, *, low_open: bool = False, unit: str = "seconds"
) -> Callable[[str], float]:
    """An argparse type: a finite number of `unit` in [low, high] ((low, high] if low_open)."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number of {unit}") from None
        too_low = number <= low if low_open else number < low
        if not math.isfinite(number) or too_low or number > high:
            bound = "greater than" if low_open else "at least"
            most = f"{high:.0f}" if high >= 1e5 else f"{high:g}"
            raise argparse.ArgumentTypeError(
                f"{value!r}: must be a finite number of {unit}, {bound} {low:g} and at most {most}"
            )
        return number

    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number}: must be between {low} and {high}")
        return number

    return parse


def fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{value!r}: must be between 0 and 1")
    return number


def _positive_speed(value: str) -> float:
    return seconds(0.01, 1000.0)(value)


# -- shared option groups -----------------------------------------------------------------


def _workspace_names(**_: object) -> list[str]:
    """Completion of a workspace name: the configured ones (argcomplete calls this on TAB)."""
    from jobwatch.errors import JobwatchError
    from jobwatch.store.config import load_config
    from jobwatch.store.paths import config_path

    try:
        return sorted(load_config(config_path(None)).workspaces)
    except JobwatchError:
        return []


def _config_option(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help="config file (default: $SHARELY_JOBWATCH_CONFIG or the platform's config dir); "
        "must exist, except for `workspaces add`",
    )


def _connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options that choose and reach a workspace; before or after the command."""

    def default(name: str) -> Any:
        return argparse.SUPPRESS if suppress else CONNECTION_DEFAULTS[name]

    group = parser.add_argument_group("connection (before or after the command)")
    workspace = group.add_argument(
        "--workspace",
        "-w",
        metavar="NAME",
        default=default("workspace"),
        help="a configured workspace (default: the config's default, else the only one)",
    )
    workspace.completer = _workspace_names  # type: ignore[attr-defined]
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=default("base_url"),
        help="API base URL, with --workspace-id and --organization-id instead of -w "
        "(default https://api.sharely.ai)",
    )
    group.add_argument(
        "--workspace-id",
        metavar="UUID",
        default=default("workspace_id"),
        help="the workspace's ID (from the Sharely dashboard's settings), instead of -w",
    )
    group.add_argument(
        "--organization-id",
        metavar="UUID",
        default=default("organization_id"),
        help="the workspace's organization ID, with --workspace-id",
    )
    group.add_argument(
        "--insecure",
        action="store_true",
        default=default("insecure"),
        help="allow credentials over plain http to a non-loopback host",
    )
    group.add_argument(
        "--request-timeout",
        type=seconds(MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT),
        default=default("request_timeout"),
        metavar="S",
        help=f"seconds each request may take ({MIN_REQUEST_TIMEOUT:g}-{MAX_REQUEST_TIMEOUT:g}, "
        f"default {CONNECTION_DEFAULTS['request_timeout']:g})",
    )
    # 128 and 10 are jobwatch.api.transport.MAX_ANSWER_BYTES (in MiB) and
    # jobwatch.api.credentials.TOKEN_COMMAND_TIMEOUT, not imported here (httpx would cost
    # `--help` ~60 ms); tests/unit/test_session.py pins them together.
    group.add_argument(
        "--max-answer-mib",
        type=seconds(MIN_ANSWER_MIB, MAX_ANSWER_MIB, unit="MiB"),
        default=default("max_answer_mib"),
        metavar="N",
        help=f"the largest answer accepted, in MiB once decompressed ({MIN_ANSWER_MIB}-"
        f"{MAX_ANSWER_MIB}; default: the workspace's max_answer_mib, else 128)",
    )
    group.add_argument(
        "--token-command-timeout",
        type=seconds(MIN_TOKEN_COMMAND_TIMEOUT, MAX_TOKEN_COMMAND_TIMEOUT),
        default=default("token_command_timeout"),
        metavar="S",
        help=f"seconds a token_command may run before it is killed ("
        f"{MIN_TOKEN_COMMAND_TIMEOUT:g}-{MAX_TOKEN_COMMAND_TIMEOUT:g}; default: the "
        "workspace's token_command_timeout, else 10)",
    )


def _interval_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--interval",
        type=seconds(MIN_INTERVAL, MAX_INTERVAL),
        default=None,
        metavar="S",
        help=f"seconds between {what}, {MIN_INTERVAL:g}-{MAX_INTERVAL:g} "
        "(default: the workspace's interval, else 2)",
    )


def _missing_after_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--missing-after",
        type=integer(1, MAX_MISSING_AFTER),
        default=None,
        metavar="N",
        help="answers in a row an ID may be absent from before it is NOT_FOUND (default 3; "
        "more tolerates a job the API does not list yet)",
    )


def _output_options(parser: argparse.ArgumentParser, *, json_means: str, what: str) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--output",
        "-o",
        choices=OUTPUT_FORMATS,
        default="table",
        help=f"{what} (default table; see 'output' below)",
    )
    group.add_argument(
        "--json",
        action="store_const",
        dest="output",
        const=json_means,
        help=f"the same as --output {json_means}",
    )


def _plain_option(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    parser.add_argument(
        "--plain",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="no full screen: one line per change, with its time (also when TERM=dumb)",
    )


def _command(
    sub: argparse._SubParsersAction, name: str, *, help: str, epilog: str = "", **kw: Any
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=kw.pop("description", help[:1].upper() + help[1:] + "."),
        epilog=(epilog + "\n" if epilog else "") + exit_codes_help(kw.pop("codes", name)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
        **kw,
    )
    return parser


def _connecting(sub: argparse._SubParsersAction, name: str, **kw: Any) -> argparse.ArgumentParser:
    """A command that polls a workspace: --config and the connection options after it too."""
    parser = _command(sub, name, **kw)
    _config_option(parser, suppress=True)
    _connection_options(parser, suppress=True)
    return parser


def _job_ids(parser: argparse.ArgumentParser, *, nargs: str, help: str) -> None:
    parser.add_argument("job_ids", nargs=nargs, metavar="JOB_ID", help=help + '; "-" reads stdin')


# -- the commands -------------------------------------------------------------------------


def _add_status(sub: argparse._SubParsersAction) -> None:
    p = _connecting(
        sub,
        "status",
        help="poll once and print the jobs",
        description="Poll once (through the same poller as `wait` and the dashboard) and print "
        "the jobs; the history records what was seen.",
        epilog=STATUS_HELP + "\n" + STDIN_HELP + "\n" + OUTPUT_HELP + "\n" + CREDENTIALS_HELP,
    )
    _job_ids(p, nargs="*", help="workflow IDs (default: every job of the workspace)")
    _output_options(
        p, json_means="json", what="a table, the API's JSON array (json) or a job per line (jsonl)"
    )
    _interval_option(p, "the polls that re-check a missing ID")
    _missing_after_option(p)


def _add_wait(sub: argparse._SubParsersAction) -> None:
    p = _connecting(
        sub,
        "wait",
        help="wait until jobs finish; the exit code says how",
        description="Poll until every job is finished, printing each change; for every job "
        "that did not complete, its workflowId and runId (what support asks for).",
        epilog=WAIT_HELP + "\n" + STDIN_HELP + "\n" + OUTPUT_HELP + "\n" + CREDENTIALS_HELP,
    )
    _job_ids(p, nargs="+", help="workflow IDs to wait for")
    _interval_option(p, "polls")
    p.add_argument(
        "--timeout",
        type=seconds(0.0, MAX_TIMEOUT, low_open=True),
        default=None,
        metavar="S",
        help=f"give up after S seconds (exit 124; at most {MAX_TIMEOUT:.0f}, 30 days)",
    )
    p.add_argument(
        "--max-retries",
        type=integer(0, 1_000_000),
        default=10,
        metavar="N",
        help="consecutive failed polls before exit 3 (default 10)",
    )
    _output_options(
        p,
        json_means="jsonl",
        what="a line per change (table), one JSON object per event (jsonl) or the final "
        "jobs as one JSON array (json)",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="print only the jobs that did not complete"
    )
    p.add_argument(
        "--fail-fast",
        action="store_true",
        help="exit 1 at the first failure, printing every job's current state",
    )
    p.add_argument(
        "--any",
        action="store_true",
        help="exit as soon as one job ends, with the code that job alone would give",
    )
    _missing_after_option(p)
    p.add_argument(
        "--heartbeat",
        type=seconds(0.0, MAX_HEARTBEAT),
        default=None,
        metavar="S",
        help="when standard output is not a terminal, a line every S seconds saying what is "
        "still running and for how long (default 60, none with --quiet; 0: never)",
    )


def _add_history(sub: argparse._SubParsersAction) -> None:
    p = _connecting(
        sub,
        "history",
        help="print a job's recorded status timeline",
        description="Print the status timeline the history recorded for a job: every status "
        "and runId jobwatch saw, when it saw it, and how long each lasted.",
        epilog=OUTPUT_HELP,
    )
    p.add_argument("job_id", metavar="JOB_ID", help="the workflow ID")
    _output_options(p, json_means="json", what="a timeline, a JSON array or a step per line")


def _add_label(sub: argparse._SubParsersAction) -> None:
    p = _connecting(
        sub,
        "label",
        help="give a job a name (kept in the history; the dashboard's l)",
        description="Give a job a label: shown in the dashboard and `history`, matched by the "
        "dashboard's /, and the job's kind for typical durations. The job need not have been "
        "seen yet: a script can label the job it has just started.",
    )
    p.add_argument("job_id", metavar="JOB_ID", help="the workflow ID")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("text", nargs="?", metavar="TEXT", help="the label (at most 200 characters)")
    what.add_argument("--clear", action="store_true", help="remove the job's label")


def _add_pin(sub: argparse._SubParsersAction) -> None:
    p = _connecting(
        sub,
        "pin",
        help="keep a job at the top of the dashboard (its space key)",
        description="Pin a job: the dashboard keeps pinned jobs at the top through sorts and "
        "filters. Kept in the history, per workspace.",
    )
    p.add_argument("job_id", metavar="JOB_ID", help="the workflow ID")
    p.add_argument("--unpin", action="store_true", help="unpin it instead")


def _add_watch(sub: argparse._SubParsersAction) -> None:
    p = _connecting(
        sub,
        "watch",
        help="open the dashboard",
        description="Open the dashboard on a workspace. It needs a terminal (standard input "
        "and output); with --plain or TERM=dumb it prints one line per change instead.",
        epilog=STDIN_HELP + "\n" + CREDENTIALS_HELP,
    )
    _job_ids(p, nargs="*", help="track only these (default: every job)")
    _interval_option(p, "polls")
    # 30 is jobwatch.schedule.DEFAULT_DISCOVERY_INTERVAL (not imported: see STATUS_HELP's note);
    # tests/unit/test_session.py pins the two together.
    p.add_argument(
        "--discovery-interval",
        type=seconds(MIN_INTERVAL, MAX_INTERVAL),
        default=None,
        metavar="S",
        help="watching every job of a large workspace, each poll asks only for the jobs still "
        "running and the whole list is read every S seconds, and at once on r (default: the "
        "workspace's discovery_interval, else 30)",
    )
    _plain_option(p, suppress=True)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "demo",
        help="the dashboard against a built-in simulator: no account needed",
        description="The dashboard against a simulator on 127.0.0.1, in a throwaway config "
        "and history. It needs a terminal; with --plain or TERM=dumb it prints one line per change.",
    )
    _plain_option(p, suppress=True)
    p.add_argument(
        "--no-tui",
        action="store_true",
        dest="plain",
        default=argparse.SUPPRESS,
        help="the same as --plain (older name)",
    )
    p.add_argument(
        "--seed", type=integer(0, 2**32 - 1), default=7, help="the simulated jobs' seed (default 7)"
    )
    p.add_argument(
        "--speed",
        type=_positive_speed,
        default=1.0,
        help="simulated seconds per real second, 0.01-1000 (default 1)",
    )


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "simulate",
        help="run the Sharely API simulator on loopback",
        description="Run the Sharely API simulator on 127.0.0.1 until Ctrl-C; it prints the "
        "IDs and the (fake) credentials to point jobwatch at it.",
    )
    p.add_argument(
        "--port", type=integer(0, 65535), default=8765, help="TCP port; 0 picks a free one"
    )
    p.add_argument(
        "--scenario",
        choices=["demo", "bulk", "static", "empty"],
        default="demo",
        help="which jobs it plays (default demo)",
    )
    p.add_argument(
        "--jobs", type=integer(0, 2_000_000), default=100, help="number of jobs (bulk scenario)"
    )
    p.add_argument("--seed", type=integer(0, 2**32 - 1), default=0, help="random seed")
    p.add_argument(
        "--error-rate",
        type=fraction,
        default=0.0,
        help="fraction of job requests answered 503 (0-1)",
    )
    p.add_argument(
        "--latency",
        type=seconds(0.0, 60.0),
        default=0.0,
        metavar="S",
        help="seconds added to every answer (0-60)",
    )
    p.add_argument(
        "--rate-limit-every",
        type=integer(0, 1_000_000),
        default=0,
        metavar="N",
        help="every Nth request gets 429 (0: never)",
    )
    p.add_argument(
        "--malformed",
        metavar="KIND",
        help="answer every job request with a broken body of this kind (an unknown KIND lists them)",
    )
    p.add_argument(
        "--hostile",
        metavar="KIND",
        help="answer with what is built to take over a client (never against a real API): "
        + ", ".join(HOSTILE_KINDS),
    )
    grow = p.add_argument_group(
        "growth (bulk only)",
        "Let the workspace grow while it is watched: every --grow-every seconds, --new-share of the "
        "running jobs appear as new jobs and --finish-share of them finish.",
    )
    grow.add_argument(
        "--grow",
        metavar="ORDER",
        help="where new jobs go in the list: append, prepend (newest first), reorder (the order "
        "changes every tick) or mixed",
    )
    grow.add_argument(
        "--grow-every", type=seconds(0.01, 3600.0), metavar="S", help="seconds per tick (2)"
    )
    grow.add_argument(
        "--new-share", type=fraction, metavar="F", help="new jobs per tick, share of running (0.01)"
    )
    grow.add_argument(
        "--finish-share", type=fraction, metavar="F", help="running jobs finishing per tick (0.01)"
    )
    grow.add_argument(
        "--finished", type=fraction, metavar="F", help="share of the jobs finished at start (0.98)"
    )


def _add_workspaces(sub: argparse._SubParsersAction) -> None:
    ws = _command(
        sub,
        "workspaces",
        help="list and edit configured workspaces",
        description="List and edit the config's workspaces. Edits change only the entry they "
        "are about: comments, order and number formats of the file are kept.",
    )
    wsub = ws.add_subparsers(dest="ws_command", metavar="ACTION", required=True)
    p = _command(wsub, "list", help="list workspaces", codes="workspaces", epilog=OUTPUT_HELP)
    _config_option(p, suppress=True)
    _output_options(p, json_means="json", what="a line per workspace, a JSON array or jsonl")
    p = _command(
        wsub,
        "add",
        help="add a workspace",
        codes="workspaces",
        description="Add a workspace to the config (created if it does not exist). Nothing is "
        "written if any option is wrong; every wrong one is named.",
        epilog=CREDENTIALS_HELP,
    )
    _config_option(p, suppress=True)
    _add_workspace_options(p)
    for action, text in (
        ("remove", "remove a workspace"),
        ("default", "set the default workspace"),
    ):
        p = _command(wsub, action, help=text, codes="workspaces")
        _config_option(p, suppress=True)
        name = p.add_argument("name", help="the workspace's name")
        name.completer = _workspace_names  # type: ignore[attr-defined]


def _add_workspace_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a name for it: letters, digits, '_', '.' and '-'")
    p.add_argument(
        "--workspace-id",
        dest="entry_workspace_id",
        required=True,
        metavar="UUID",
        help="the workspace's ID (the Sharely dashboard's settings show it)",
    )
    p.add_argument(
        "--organization-id",
        dest="entry_organization_id",
        required=True,
        metavar="UUID",
        help="the workspace's organization ID",
    )
    p.add_argument(
        "--base-url",
        dest="entry_base_url",
        metavar="URL",
        help="API base URL (default https://api.sharely.ai)",
    )
    cred = p.add_mutually_exclusive_group()
    cred.add_argument("--token-env", metavar="VAR", help="env var holding a bearer token")
    cred.add_argument("--api-key-env", metavar="VAR", help="env var holding an sk-sharely- API key")
    cred.add_argument(
        "--token-command",
        metavar="CMD",
        help="command that prints a token (it must not contain the secret itself)",
    )
    p.add_argument(
        "--interval",
        type=seconds(MIN_INTERVAL, MAX_INTERVAL),
        metavar="S",
        help=f"seconds between polls for this workspace, {MIN_INTERVAL:g}-{MAX_INTERVAL:g}",
    )
    p.add_argument(
        "--theme", metavar="NAME", help="the dashboard's theme while this workspace is open"
    )
    p.add_argument("--default", action="store_true", help="make it the default workspace")


def _add_completion(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "completion",
        help="print a shell completion script",
        description="Print the TAB-completion script for a shell (commands, options, workspace "
        "names).",
        epilog="install:\n"
        '  bash: eval "$(jobwatch completion bash)"        (in ~/.bashrc)\n'
        '  zsh:  eval "$(jobwatch completion zsh)"         (in ~/.zshrc)\n'
        "  fish: jobwatch completion fish > ~/.config/fish/completions/jobwatch.fish\n",
    )
    p.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="jobwatch",
        description="Watch Sharely.ai background jobs live: a dashboard for people, `wait` for scripts.",
        epilog="With no command, opens the dashboard on the default workspace (as `watch`). "
        "Every command's exit codes are in its --help; without a command:\n\n"
        + exit_codes_help("watch"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"jobwatch {__version__}")
    _config_option(parser, suppress=False)
    _connection_options(parser, suppress=False)
    _plain_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in (
        _add_status,
        _add_wait,
        _add_history,
        _add_label,
        _add_pin,
        _add_watch,
        _add_demo,
        _add_simulate,
        _add_workspaces,
        _add_completion,
    ):
        add(sub)
    return parser
