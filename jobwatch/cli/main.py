"""The `jobwatch` entry point: parse the arguments, run the command, map errors to exit codes.

`dispatch` is the only reader of argparse's Namespace: each command gets typed values, its
connection options as one `jobwatch.session.Flags`, so a command cannot trip over an option
its parser does not define. Textual and httpx are imported only by the commands that need
them, so that `jobwatch --version` and `jobwatch wait --help` start fast.

What reaches the terminal when a command does not end well: a JobwatchError is one
`jobwatch: …` line (escaped, see jobwatch.sanitize) and its exit code; Ctrl-C is 130, a closed
output 141; anything else is a bug, reported as one line naming the exception and exit 3 (never
1, which says a job FAILED), with the traceback only when SHARELY_JOBWATCH_DEBUG=1.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jobwatch.cli.parser import (
    CONNECTION_DEFAULTS,
    DEBUG_ENV,
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    build_parser,
)
from jobwatch.errors import JobwatchError, UsageError
from jobwatch.sanitize import middle_ellipsis, visible, visible_lines

if TYPE_CHECKING:
    from jobwatch.session import Flags
    from jobwatch.store.config import CredentialKind, WorkspaceInput

#: the commands that take the connection options (before or after the command)
CONNECTING = frozenset({"status", "wait", "history", "label", "pin", "watch", None})
#: the commands that read the config: an explicit --config must exist (add may create it)
READS_CONFIG = frozenset({"status", "wait", "history", "label", "pin", "watch", "workspaces", None})


def connection_flags(
    args: argparse.Namespace,
    *,
    interval: float | None = None,
    discovery_interval: float | None = None,
) -> Flags:
    """The connection options of a command that has them (status, wait, history, watch)."""
    from jobwatch.session import Flags

    return Flags(
        config=args.config,
        workspace=args.workspace,
        base_url=args.base_url,
        workspace_id=args.workspace_id,
        organization_id=args.organization_id,
        insecure=args.insecure,
        request_timeout=args.request_timeout,
        interval=interval,
        discovery_interval=discovery_interval,
        max_answer_mib=args.max_answer_mib,
        token_command_timeout=args.token_command_timeout,
    )


def workspace_input(args: argparse.Namespace) -> WorkspaceInput:
    """`workspaces add`'s options as the entry a person typed."""
    from jobwatch.store.config import WorkspaceInput

    kind: CredentialKind = "token_env"
    credential = ""
    if args.api_key_env is not None:
        kind, credential = "api_key_env", args.api_key_env
    elif args.token_command is not None:
        kind, credential = "token_command", args.token_command
    elif args.token_env is not None:
        credential = args.token_env
    return WorkspaceInput(
        name=args.name,
        workspace_id=args.entry_workspace_id,
        organization_id=args.entry_organization_id,
        base_url=args.entry_base_url or "",
        credential_kind=kind,
        credential=credential,
        interval=args.interval,
        theme=args.theme,
    )


def growth_options(args: argparse.Namespace) -> dict[str, object] | None:
    """`simulate`'s growth options as given (None: the workspace does not grow)."""
    given = {
        "every": args.grow_every,
        "new_share": args.new_share,
        "finish_share": args.finish_share,
        "finished": args.finished,
    }
    if args.grow is None:
        return None if all(v is None for v in given.values()) else {}
    return {"order": args.grow, **{k: v for k, v in given.items() if v is not None}}


def check_global_options(args: argparse.Namespace) -> None:
    """Refuse a global option given to a command it means nothing to, and an explicit --config
    that does not exist for a command that only reads it."""
    command = args.command
    if command not in CONNECTING:
        given = [
            "--" + name.replace("_", "-")
            for name, default in CONNECTION_DEFAULTS.items()
            if getattr(args, name, default) != default
        ]
        if given:
            raise UsageError(
                f"{', '.join(given)}: only status, wait, history, label, pin and watch connect to a "
                f"workspace, not `{command}`"
            )
    if args.plain and command not in ("watch", "demo", None):
        raise UsageError(f"--plain is for the dashboard (watch, demo), not `{command}`")
    if args.config is not None:
        if command not in READS_CONFIG:
            raise UsageError(f"--config: `{command}` reads no config file")
        adding = command == "workspaces" and args.ws_command == "add"
        if not adding and not Path(args.config).exists():
            raise UsageError(
                f"--config {args.config}: no such file (`jobwatch workspaces add` creates it)"
            )


def _workspaces(args: argparse.Namespace) -> int:
    from jobwatch.cli import workspaces
    from jobwatch.session import Flags

    flags = Flags(config=args.config)
    match args.ws_command:
        case "list":
            return workspaces.cmd_workspaces_list(flags, output=args.output)
        case "add":
            return workspaces.cmd_workspaces_add(
                flags, workspace_input(args), make_default=args.default
            )
        case "remove":
            return workspaces.cmd_workspaces_remove(flags, args.name)
        case _:
            return workspaces.cmd_workspaces_default(flags, args.name)


def _status(args: argparse.Namespace) -> int:
    import asyncio

    from jobwatch.cli import commands

    flags = connection_flags(args, interval=args.interval)
    return asyncio.run(
        commands.cmd_status(
            flags, args.job_ids, output=args.output, missing_after=args.missing_after
        )
    )


def _wait(args: argparse.Namespace) -> int:
    import asyncio

    from jobwatch.cli import wait

    options = wait.WaitOptions(
        timeout=args.timeout,
        max_retries=args.max_retries,
        output=args.output,
        quiet=args.quiet,
        fail_fast=args.fail_fast,
        any=args.any,
        missing_after=args.missing_after,
        heartbeat=args.heartbeat,
    )
    return asyncio.run(
        wait.cmd_wait(connection_flags(args, interval=args.interval), args.job_ids, options)
    )


def _simulate(args: argparse.Namespace) -> int:
    from jobwatch.cli import commands

    return commands.cmd_simulate(
        port=args.port,
        scenario=args.scenario,
        jobs=args.jobs,
        seed=args.seed,
        error_rate=args.error_rate,
        latency=args.latency,
        rate_limit_every=args.rate_limit_every,
        malformed=args.malformed,
        hostile=args.hostile,
        growth=growth_options(args),
    )


def _history(args: argparse.Namespace) -> int:
    from jobwatch.cli import commands

    return commands.cmd_history(connection_flags(args), args.job_id, output=args.output)


def _label(args: argparse.Namespace) -> int:
    from jobwatch.cli import commands

    text = None if args.clear else args.text
    return commands.cmd_label(connection_flags(args), args.job_id, text)


def _pin(args: argparse.Namespace) -> int:
    from jobwatch.cli import commands

    return commands.cmd_pin(connection_flags(args), args.job_id, pinned=not args.unpin)


def _watch(args: argparse.Namespace) -> int:
    from jobwatch.cli import dashboard

    bare = args.command is None
    interval = None if bare else args.interval
    discovery_interval = None if bare else args.discovery_interval
    ids = [] if bare else args.job_ids
    flags = connection_flags(args, interval=interval, discovery_interval=discovery_interval)
    return dashboard.cmd_watch(flags, ids, bare=bare, plain=args.plain)


def _demo(args: argparse.Namespace) -> int:
    from jobwatch.cli import dashboard

    return dashboard.cmd_demo(plain=args.plain, seed=args.seed, speed=args.speed)


def _completion(args: argparse.Namespace) -> int:
    from jobwatch.cli import commands

    return commands.cmd_completion(args.shell)


# Each command's module is imported by its handler: `--help`, `--version` and a shell's TAB
# need neither asyncio nor httpx (~40 ms of the 130 ms it took to import every command).
_COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    "status": _status,
    "wait": _wait,
    "history": _history,
    "label": _label,
    "pin": _pin,
    "watch": _watch,
    None: _watch,
    "workspaces": _workspaces,
    "simulate": _simulate,
    "demo": _demo,
    "completion": _completion,
}


def dispatch(args: argparse.Namespace) -> int:
    """Run the command: the one place that reads the Namespace; every command gets typed values."""
    check_global_options(args)
    run = _COMMANDS.get(args.command)
    if run is None:
        raise UsageError(f"unknown command {args.command}")
    return run(args)


def internal_error(error: BaseException) -> int:
    """A bug: one line naming the exception (the traceback with SHARELY_JOBWATCH_DEBUG=1), exit 3."""
    from jobwatch.cli.output import print_error

    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        text = "".join(traceback.format_exception(error))
        print(visible_lines(text.rstrip("\n")), file=sys.stderr)
    detail = middle_ellipsis(visible(str(error)), 200)
    print_error(
        f"internal error: {type(error).__name__}"
        + (f": {detail}" if detail else "")
        + f" (a bug; {DEBUG_ENV}=1 shows where)"
    )
    return EXIT_API


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer a shell's TAB (the scripts of `jobwatch completion SHELL` set _ARGCOMPLETE)."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)  # exits after answering


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    _complete(parser)
    args = parser.parse_args(argv)
    try:
        return dispatch(args)
    except JobwatchError as error:
        from jobwatch.cli.output import describe_error, print_error

        print_error(describe_error(error))
        return error.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`jobwatch status | head`): exit quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except Exception as error:  # the last resort: a bug must not print a traceback or exit 1
        return internal_error(error)


if __name__ == "__main__":
    raise SystemExit(main())
