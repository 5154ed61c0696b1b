"""The `jobwatch` entry point: parse the arguments, run the command, map errors to exit codes.

Textual and httpx are imported only by the commands that need them, so that
`jobwatch --version` and `jobwatch wait --help` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from jobwatch.cli import commands
from jobwatch.cli.parser import build_parser
from jobwatch.errors import JobwatchError, UsageError


def dispatch(args: argparse.Namespace) -> int:
    match args.command:
        case "status":
            return asyncio.run(commands.cmd_status(args))
        case "wait":
            return asyncio.run(commands.cmd_wait(args))
        case "history":
            return commands.cmd_history(args)
        case "workspaces":
            return commands.cmd_workspaces(args)
        case "simulate":
            return commands.cmd_simulate(args)
        case "demo":
            return commands.cmd_demo(args)
        case "watch" | None:
            return commands.cmd_watch(args)
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
