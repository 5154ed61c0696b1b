"""A simulator started as a command (`jobwatch simulate`, `run_simulate`), read until it says
it serves: its banner, address and token; killed on the way out whatever happened."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Serving:
    proc: subprocess.Popen
    banner: str
    base_url: str
    token: str


@contextmanager
def serving(argv: list[str]) -> Iterator[Serving]:
    """Run `argv` until its banner's "Ctrl-C" line; the process, banner, base URL and token."""
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        banner = "".join(lines)
        base_url = re.search(r"serving (http://127\.0\.0\.1:\d+)", banner)
        token = re.search(r"export SHARELY_ACCESS_TOKEN=(\S+)", banner)
        assert base_url and token, banner
        yield Serving(proc, banner, base_url.group(1), token.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
