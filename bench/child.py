"""The benchmark's measuring child: `python -m bench.bench --child SPEC` in a process of its own,
so that one measurement's memory and CPU do not include another's."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_child(
    spec: dict, env: dict[str, str], what: str, handle: Callable[[str, str], None] | None = None
) -> dict:
    """Run the child with `spec` and return the JSON of its `result` line.

    Every other line is a request `COMMAND REST`, passed to `handle` and answered `ok` once it
    returns. `what` names the child in the error raised when it gives no result (with the tail
    of its stderr).
    """
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.bench", "--child", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        assert child.stdin is not None and child.stdout is not None
        result = None
        try:
            for line in child.stdout:
                command, _, rest = line.strip().partition(" ")
                if command == "result":
                    result = json.loads(rest)
                    break
                if handle is not None:
                    handle(command, rest)
                child.stdin.write("ok\n")
                child.stdin.flush()
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if result is None:
            errors.seek(0)
            raise RuntimeError(f"{what} failed:\n{errors.read()[-3000:]}")
    return result
