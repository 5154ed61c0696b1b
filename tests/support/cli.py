"""Helpers for tests that drive the CLI in-process."""

from __future__ import annotations

import threading

from jobwatch.cli.main import main


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
