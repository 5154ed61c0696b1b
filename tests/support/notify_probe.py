"""A tiny Textual-free program for the notification tests, run on a pseudo-terminal (or in tmux).

    python tests/support/notify_probe.py METHOD [WORKFLOW_ID_SUFFIX]

It does what the dashboard will do, without Textual: asks the terminal for focus reports
(CSI ? 1004 h), asks tmux what it passes (detect.probe_tmux), chooses the route, then reads its
input raw. `ESC [ I` / `ESC [ O` (focus in / out, as a terminal or tmux reports them) set the
focus; each `t` is a poll tick in which job-N FAILED (N counts the ticks), handed to the policy,
whose notification goes to the terminal through TerminalNotifier; `q` quits. After each tick it
prints `TICKn:<bytes written>` so a test can wait for it; at start `READY method wrap bell_too`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tty

from jobwatch.models import Status
from jobwatch.notify.detect import choose_route, probe_tmux
from jobwatch.notify.policy import JobEnd, NotifyPolicy
from jobwatch.notify.settings import NotifySettings
from jobwatch.notify.writer import TerminalNotifier, fd_writer

FOCUS_IN = b"\x1b[I"
FOCUS_OUT = b"\x1b[O"


def main() -> None:
    method = NotifySettings.from_table({"method": sys.argv[1]}).method
    suffix = sys.argv[2] if len(sys.argv) > 2 else ""
    stdin = sys.stdin.fileno()
    tty.setraw(stdin)
    write = fd_writer(sys.stdout.fileno())
    tmux = asyncio.run(probe_tmux()) if os.environ.get("TMUX") else None
    route = choose_route(method, os.environ, tmux)
    notifier = TerminalNotifier(route, write)
    policy = NotifyPolicy(NotifySettings(min_interval=0))
    write("\x1b[?1004h")
    write(f"READY {route.method} {route.wrap} {int(route.bell_too)}\r\n")
    focused: bool | None = None
    ticks = 0
    pending = b""
    while True:
        data = os.read(stdin, 1024)
        if not data:
            return
        pending += data
        while pending:
            if pending.startswith(FOCUS_IN):
                focused, pending = True, pending[3:]
            elif pending.startswith(FOCUS_OUT):
                focused, pending = False, pending[3:]
            elif pending.startswith(b"\x1b") and len(pending) < 3:
                break  # the rest of a focus report is on its way
            elif pending.startswith(b"t"):
                ticks += 1
                pending = pending[1:]
                ended = JobEnd(
                    f"job-{ticks}{suffix}", "r", Status(3, "FAILED"), workspace_name="prod"
                )
                decision = policy.step(now=ticks, focused=focused, ended=[ended])
                sent = notifier.send(decision.notification) if decision.notification else ""
                write(f"TICK{ticks}:{len(sent.encode())}\r\n")
            elif pending.startswith(b"q"):
                return
            else:
                pending = pending[1:]


if __name__ == "__main__":
    main()
