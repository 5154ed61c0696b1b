"""End to end: `jobwatch watch` in a real terminal (tmux) against the simulator, a live change, a clean quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from jobwatch.simulator.server import Simulator

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

RUNNING_ID = "role-create-0a1b2c3d"
DEADLINE = 20.0


def tmux(socket: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10, check=False
    )
    return result.stdout


def wait_for_screen(socket: str, predicate, what: str, timeout: float = DEADLINE) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(socket, "capture-pane", "-p", "-t", "jw")
        if predicate(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")


def test_watch_in_tmux_shows_a_live_change_and_quits_cleanly(tmp_path: Path):
    socket = f"jobwatch-test-{uuid.uuid4().hex[:8]}"
    exit_file = tmp_path / "exit-code"
    with Simulator("static") as sim:
        base_url = sim.base_url
        command = (
            f"{sys.executable} -m jobwatch watch --base-url {base_url} "
            f"--workspace-id {sim.workspace_id} --organization-id {sim.organization_id}; "
            f"echo $? > {exit_file}"
        )
        env = {
            "SHARELY_ACCESS_TOKEN": sim.token,
            "SHARELY_JOBWATCH_CONFIG": str(tmp_path / "config.toml"),
            "SHARELY_JOBWATCH_DATA_DIR": str(tmp_path / "data"),
            "TERM": "xterm-256color",
        }
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        tmux(socket, "new-session", "-d", "-s", "jw", "-x", "120", "-y", "40", *env_args, command)
        try:
            wait_for_screen(
                socket,
                lambda s: RUNNING_ID in s and "Static Test Workspace" in s,
                "the jobs and the workspace name",
            )
            sim.set_status(RUNNING_ID, 3)
            # Nine statuses do not fit 120 columns with names: the summary shows "✗2".
            wait_for_screen(
                socket,
                lambda s: "FAILED 2" in s or " ✗2 " in s,
                "the status change in the summary",
            )
            tmux(socket, "send-keys", "-t", "jw", "q")
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline and not exit_file.exists():
                time.sleep(0.1)
            assert exit_file.exists(), "jobwatch did not exit after q"
            assert exit_file.read_text().strip() == "0"
        finally:
            tmux(socket, "kill-server")
