"""The `jobwatch` entry point: parse the arguments, run the command, map errors to exit codes.

`dispatch` is the only reader of argparse's Namespace: each command gets typed values, its
connection options as one `jobwatch.session.Flags`, so a command cannot trip over an option
its parser does not define. Textual and httpx are imported only by the commands that need
them, so that `jobwatch --version` and `jobwatch wait --help` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobwatch.cli import commands
from jobwatch.cli.parser import build_parser
from jobwatch.errors import JobwatchError, UsageError

if TYPE_CHECKING:
    from jobwatch.session import Flags
    from jobwatch.store.config import CredentialKind, WorkspaceInput


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
        workspace_id=args.workspace_id,
        organization_id=args.organization_id,
        base_url=args.base_url or "",
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


def dispatch(args: argparse.Namespace) -> int:
    """Run the command: the one place that reads the Namespace; every command gets typed values."""
    from jobwatch.session import Flags

    match args.command:
        case "status":
            return asyncio.run(
                commands.cmd_status(
                    connection_flags(args, interval=args.interval),
                    args.job_ids,
                    as_json=args.json,
                )
            )
        case "wait":
            return asyncio.run(
                commands.cmd_wait(
                    connection_flags(args, interval=args.interval),
                    args.job_ids,
                    timeout=args.timeout,
                    max_retries=args.max_retries,
                    as_json=args.json,
                    quiet=args.quiet,
                )
            )
        case "history":
            return commands.cmd_history(connection_flags(args), args.job_id, as_json=args.json)
        case "watch":
            flags = connection_flags(
                args, interval=args.interval, discovery_interval=args.discovery_interval
            )
            return commands.cmd_watch(flags, args.job_ids, bare=False)
        case None:
            return commands.cmd_watch(Flags(config=args.config), [], bare=True)
        case "workspaces":
            flags = Flags(config=args.config)
            match args.ws_command:
                case "list":
                    return commands.cmd_workspaces_list(flags)
                case "add":
                    return commands.cmd_workspaces_add(
                        flags, workspace_input(args), make_default=args.default
                    )
                case "remove":
                    return commands.cmd_workspaces_remove(flags, args.name)
                case "default":
                    return commands.cmd_workspaces_default(flags, args.name)
        case "simulate":
            return commands.cmd_simulate(
                port=args.port,
                scenario=args.scenario,
                jobs=args.jobs,
                seed=args.seed,
                error_rate=args.error_rate,
                latency=args.latency,
                rate_limit_every=args.rate_limit_every,
                malformed=args.malformed,
                growth=growth_options(args),
            )
        case "demo":
            return commands.cmd_demo(no_tui=args.no_tui, seed=args.seed, speed=args.speed)
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
