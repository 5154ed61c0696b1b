"""The dashboard's desktop notifications, byte for byte, on a real pseudo-terminal and through tmux.

`python -m jobwatch watch` runs on a pty against a Simulator in this process (real HTTP on
loopback). The test reports the terminal's focus the way a terminal does (ESC [ I in, ESC [ O
out: Textual asked for them with CSI ? 1004 h), fails a job in the simulator and reads every
byte the dashboard wrote. The route is detected from the environment, as on a person's machine
(TERM_PROGRAM=iTerm.app: OSC 9; TERM_PROGRAM=WezTerm: OSC 777). Through tmux (its client on the
test's pty, `allow-passthrough on`, `focus-events on`), the test reads what tmux writes to its own
terminal: the OSC unwrapped from the passthrough. tests/integration/test_notify_pty.py does the
same for jobwatch.notify alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from jobwatch.simulator.server import Simulator
from tests.support.cli import sim_flags
from tests.support.rawpty import RawTerminal, jobwatch_argv

pytest.importorskip("ptyprocess")
pytest.importorskip("pyte")
pytestmark = pytest.mark.timeout(60)
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

FOCUS_IN, FOCUS_OUT = "\x1b[I", "\x1b[O"
NAME = "Static Test Workspace"
FIRST, SECOND = "role-create-0a1b2c3d", "knowledge-create-a3b4c5d6"
OSC9 = "\x1b]9;jobwatch \u00b7 " + NAME + ": \u2717 FAILED {wid}\x07"
OSC777 = "\x1b]777;notify;jobwatch \u00b7 " + NAME + ";\u2717 FAILED {wid}\x07"


def environment(sim: Simulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SHARELY_ACCESS_TOKEN": sim.token,
        "SHARELY_JOBWATCH_CONFIG": str(tmp_path / "config" / "config.toml"),
        "SHARELY_JOBWATCH_DATA_DIR": str(tmp_path / "data"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        **extra,
    }


def watch_argv(sim: Simulator) -> list[str]:
    return jobwatch_argv("watch", *sim_flags(sim), "--interval", "0.25")


def focused_then_away(term: RawTerminal, sim: Simulator, expected: str) -> str:
    """Focus in, a failure: nothing. Focus out, a failure: the notification. Returns what the
    dashboard wrote after the focus-out."""
    term.wait_for_screen(lambda s: NAME in s and FIRST in s, "the dashboard")
    term.send(FOCUS_IN)
    mark = term.mark()
    sim.set_status(FIRST, 3)
    # drawn (the screen, not the title: tmux keeps a pane's title to itself)
    term.wait_for_screen(
        lambda s: any(FIRST in ln and "✗ FAILED" in ln for ln in s.splitlines()), "it"
    )
    assert expected.format(wid=FIRST) not in term.since(mark)
    term.send(FOCUS_OUT)
    away = term.mark()
    sim.set_status(SECOND, 3)
    term.wait_for(lambda t: expected.format(wid=SECOND) in t.since(away), "the notification")
    return term.since(away)


@pytest.mark.parametrize(
    ("terminal", "expected"),
    [({"TERM_PROGRAM": "iTerm.app"}, OSC9), ({"TERM_PROGRAM": "WezTerm"}, OSC777)],
    ids=["osc9", "osc777"],
)
def test_a_failure_after_focus_out_reaches_the_terminal(tmp_path, terminal, expected) -> None:
    with Simulator("static") as sim:
        env = environment(sim, tmp_path, **terminal)
        with RawTerminal(watch_argv(sim), env=env, size=(120, 40)) as term:
            focused_then_away(term, sim, expected)
            term.send("q")
            assert term.wait_exit() == 0
        # one notification in the whole session; the failure bell rang for each failure (the
        # route is not the bell, so it did not stand in for it)
        raw = term.text()
        assert raw.count(expected.format(wid=SECOND)) == 1
        assert expected.format(wid=FIRST) not in raw
        assert raw.replace(expected.format(wid=SECOND), "").count("\x07") >= 2


@needs_tmux
@pytest.mark.parametrize(
    ("terminal", "expected"),
    [({"LC_TERMINAL": "iTerm2"}, OSC9), ({"WEZTERM_PANE": "0"}, OSC777)],
    ids=["osc9", "osc777"],
)
def test_through_tmux_passthrough(tmp_path, short_tmp, terminal, expected) -> None:
    socket = f"jobwatch-dash-{uuid.uuid4().hex[:8]}"
    conf = tmp_path / "tmux.conf"
    conf.write_text(
        "set -g allow-passthrough on\nset -s focus-events on\nset -g status off\n"
        "set -g bell-action none\n"
    )
    with Simulator("static") as sim:
        # what iTerm2 (LC_TERMINAL, which ssh passes on) and WezTerm set, inherited by the pane;
        # inside tmux, TERM_PROGRAM and TERM are tmux's own
        env = environment(sim, tmp_path, TMUX_TMPDIR=str(short_tmp), **terminal)
        argv = ["tmux", "-L", socket, "-f", str(conf), "new-session", "-x", "120", "-y", "40"]
        try:
            with RawTerminal([*argv, "--", *watch_argv(sim)], env=env, size=(120, 40)) as term:
                written = focused_then_away(term, sim, expected)
                # tmux unwrapped it: the pane wrote ESC P tmux; ... ESC \\, tmux wrote the OSC
                assert "\x1bPtmux;" not in written
                term.send("q")
                assert term.wait_exit() == 0
        finally:
            subprocess.run(
                ["tmux", "-L", socket, "kill-server"],
                env=env,
                capture_output=True,
                timeout=10,
                check=False,
            )
