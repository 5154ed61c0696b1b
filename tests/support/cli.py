"""Helpers for tests that drive the CLI in-process."""

from __future__ import annotations

import threading
import time

from jobwatch.cli.main import main


def sim_flags(sim) -> list[str]:
    """The connection options that name the simulator's workspace on a command line."""
    return [
        "--base-url",
        str(sim.base_url),
        "--workspace-id",
        sim.workspace_id,
        "--organization-id",
        sim.organization_id,
    ]


def run(capsys, *argv):
    """Run `jobwatch ARGV`; return (exit code, stdout, stderr), and fail on any traceback."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def later(seconds, fn, *args):
    """Call fn(*args) from another thread after `seconds` (e.g. change a simulated job)."""
    timer = threading.Timer(seconds, fn, args)
    timer.daemon = True
    timer.start()
    return timer


def after_polls(sim, *steps, each=2, timeout=30.0):
    """Run each step `(fn, *args)` in order from another thread, once the simulator has answered
    `each` more background-jobs requests than when the previous step ran (the first step: `each`
    requests in all). With each=2 the poll that saw the previous state has finished (the poller
    never overlaps polls), so every state is seen by a whole poll, however slow the machine."""

    def play() -> None:
        seen = 0
        deadline = time.monotonic() + timeout
        for fn, *args in steps:
            while sim.jobs_request_count < seen + each:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.002)
            seen = sim.jobs_request_count
            fn(*args)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    return thread
