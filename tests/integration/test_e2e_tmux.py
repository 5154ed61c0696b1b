"""End to end in a real terminal (tmux), the way a new user meets jobwatch.

Each test runs the installed command (`python -m jobwatch`) against a Simulator in this process
(real HTTP on loopback), with its own config and data dir: `jobwatch workspaces add … --default`
then bare `jobwatch` (the README's dashboard command), `jobwatch watch -w NAME`, a second
workspace chosen in the picker, and `watch --base-url …` without a config. Each one waits for
the rows, makes a live change in the simulator and waits for it on screen, copies a runId with
`c` (read back from tmux's buffer: `set-clipboard on` makes tmux keep OSC 52 copies), and quits
with `q`, checking the exit status.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobwatch.simulator.scenarios import STATIC_JOBS
from jobwatch.simulator.server import Simulator
from tests.support.cli import sim_flags

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

RUNNING_ID = "role-create-0a1b2c3d"
STATIC_RUN_IDS = {run for *_, run in STATIC_JOBS}
DEADLINE = 20.0


def tmux(socket: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10, check=False
    )
    return result.stdout


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_screen(socket: str, predicate, what: str, timeout: float = DEADLINE) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(socket, "capture-pane", "-p", "-t", "jw")
        if predicate(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")


@dataclass
class Terminal:
    """One tmux server running one command; `exit_file` receives `EXIT=<status>` when it ends."""

    socket: str
    exit_file: Path

    def screen_until(self, predicate, what: str) -> str:
        return wait_for_screen(self.socket, predicate, what)

    def press(self, *keys: str) -> None:
        tmux(self.socket, "send-keys", "-t", "jw", *keys)

    def copied(self) -> str:
        """What the dashboard copied (OSC 52), once tmux holds it."""
        wait_until(lambda: bool(tmux(self.socket, "show-buffer")), "a copied runId")
        return tmux(self.socket, "show-buffer")

    def exit_status(self) -> str:
        wait_until(self.exit_file.exists, "jobwatch to exit")
        wait_until(lambda: self.exit_file.read_text().endswith("\n"), "the exit status")
        return self.exit_file.read_text().strip()


class User:
    """A new user's shell: own config and data dir, credentials in named env vars."""

    def __init__(self, tmp_path: Path, **credentials: str) -> None:
        self.tmp_path = tmp_path
        self.env = {
            "SHARELY_JOBWATCH_CONFIG": str(tmp_path / "config" / "config.toml"),
            "SHARELY_JOBWATCH_DATA_DIR": str(tmp_path / "data"),
            "TERM": "xterm-256color",
            "PATH": "/usr/bin:/bin",
            **credentials,
        }

    def jobwatch(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `jobwatch ARGS` to its end, as typed at the prompt."""
        return subprocess.run(
            [sys.executable, "-m", "jobwatch", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def add_workspace(self, name: str, sim: Simulator, token_env: str, *extra: str) -> None:
        done = self.jobwatch(
            "workspaces",
            "add",
            name,
            "--workspace-id",
            sim.workspace_id,
            "--organization-id",
            sim.organization_id,
            "--base-url",
            str(sim.base_url),
            "--token-env",
            token_env,
            *extra,
        )
        assert done.returncode == 0 and not done.stderr, done.stderr

    @contextlib.contextmanager
    def terminal(self, *args: str, size: tuple[int, int] = (120, 40)) -> Iterator[Terminal]:
        """`jobwatch ARGS; echo EXIT=$? > file` in `tmux new-session -d -x W -y H`."""
        socket = f"jobwatch-test-{uuid.uuid4().hex[:8]}"
        exit_file = self.tmp_path / f"exit-{socket}"
        command = " ".join([sys.executable, "-m", "jobwatch", *args])
        env_args = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        tmux(
            socket,
            "new-session",
            "-d",
            "-s",
            "jw",
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            *env_args,
            f"{command}; echo EXIT=$? > {exit_file}",
        )
        tmux(socket, "set", "-s", "set-clipboard", "on")
        try:
            yield Terminal(socket, exit_file)
        finally:
            tmux(socket, "kill-server")


def copy_and_quit(term: Terminal, run_ids: set[str]) -> None:
    """`c` copies the highlighted job's runId (also shown in full in a notification); `q` exits 0."""
    term.press("c")
    copied = term.copied()
    assert copied in run_ids
    term.screen_until(lambda s: "Copied runId" in s and copied in s, "the copy notification")
    term.press("q")
    assert term.exit_status() == "EXIT=0"


def failed_twice(screen: str) -> bool:
    # Nine statuses do not fit 120 columns with names: the summary may show "✗2".
    return "FAILED 2" in screen or " ✗2 " in screen


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator("static") as simulator:
        yield simulator


def test_bare_jobwatch_after_workspaces_add(sim: Simulator, tmp_path: Path):
    """The README's path: add a workspace as the default, then plain `jobwatch`."""
    user = User(tmp_path, SHARELY_ACCESS_TOKEN=sim.token)
    user.add_workspace("prod", sim, "SHARELY_ACCESS_TOKEN", "--default")
    with user.terminal() as term:
        screen = term.screen_until(
            lambda s: (RUNNING_ID in s and "Static Test Workspace" in s) or "stopped" in s,
            "the jobs and the workspace name",
        )
        assert "stopped" not in screen and "internal error" not in screen
        sim.set_status(RUNNING_ID, 3)
        term.screen_until(failed_twice, "the status change in the summary")
        copy_and_quit(term, STATIC_RUN_IDS)


def test_watch_with_a_named_workspace(sim: Simulator, tmp_path: Path):
    """`watch -w prod` while another workspace (the simulator's second one) is the default."""
    user = User(tmp_path, PROD_TOKEN=sim.token, OTHER_TOKEN=sim.other_token)
    # the workspace's interval is what the dashboard polls at (and keeps this test short)
    user.add_workspace("prod", sim, "PROD_TOKEN", "--interval", "0.25")
    other = user.jobwatch(
        "workspaces",
        "add",
        "other",
        "--workspace-id",
        sim.other_workspace_id,
        "--organization-id",
        sim.other_organization_id,
        "--base-url",
        str(sim.base_url),
        "--token-env",
        "OTHER_TOKEN",
        "--default",
    )
    assert other.returncode == 0, other.stderr
    with user.terminal("watch", "-w", "prod", size=(80, 24)) as term:
        term.screen_until(
            lambda s: RUNNING_ID in s and "Static Test Workspace" in s, "prod's jobs and name"
        )
        sim.set_status(RUNNING_ID, 3)
        term.screen_until(failed_twice, "the status change in the summary")
        copy_and_quit(term, STATIC_RUN_IDS)


def test_second_workspace_chosen_in_the_picker(sim: Simulator, tmp_path: Path):
    """`w`, pick the second workspace, enter: its rows replace the first one's, with its token."""
    with Simulator("empty", seed=2) as second:
        second_run = second.add_job("second-workspace-job", code=1)
        user = User(tmp_path, PROD_TOKEN=sim.token, SECOND_TOKEN=second.token)
        user.add_workspace("prod", sim, "PROD_TOKEN", "--default")
        user.add_workspace("second", second, "SECOND_TOKEN", "--interval", "0.25")
        with user.terminal() as term:
            term.screen_until(lambda s: RUNNING_ID in s, "prod's jobs")
            term.press("w")
            term.screen_until(lambda s: "Workspaces" in s and "second" in s, "the picker")
            term.press("Down")  # prod is highlighted (current); second is listed after it
            term.press("Enter")
            term.screen_until(
                lambda s: "second-workspace-job" in s and RUNNING_ID not in s,
                "the second workspace's rows",
            )
            term.screen_until(lambda s: "Simulated empty" in s, "the second workspace's name")
            second.set_status("second-workspace-job", 3)
            term.screen_until(
                lambda s: "FAILED 1" in s or " ✗1 " in s, "the second workspace's change"
            )
            copy_and_quit(term, {second_run})


def test_watch_with_flags_and_no_config(sim: Simulator, tmp_path: Path):
    """`watch --base-url … --workspace-id … --organization-id … --interval S`: no config needed."""
    user = User(tmp_path, SHARELY_ACCESS_TOKEN=sim.token)
    with user.terminal("watch", *sim_flags(sim), "--interval", "0.25") as term:
        term.screen_until(
            lambda s: RUNNING_ID in s and "Static Test Workspace" in s,
            "the jobs and the workspace name",
        )
        sim.set_status(RUNNING_ID, 3)
        term.screen_until(failed_twice, "the status change in the summary")
        copy_and_quit(term, STATIC_RUN_IDS)
    assert not (tmp_path / "config" / "config.toml").exists()
