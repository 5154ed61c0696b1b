"""The raw bytes a terminal receives after a focus-out: on a pseudo-terminal, and through tmux.

tests/support/notify_probe.py plays the dashboard without Textual (focus reports in, the policy,
TerminalNotifier out). On a plain pty the test reads exactly what the program wrote. Inside a
real tmux (its client attached to the test's pty) the test reads what tmux writes to its own
terminal: the OSC 9 / 777 unwrapped from the passthrough when `allow-passthrough` is on, only
the bell when it is off. Focus reports go in the way a terminal sends them (ESC [ O to tmux's
client, which passes them to the pane with `focus-events on`).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import ptyprocess
import pytest

from jobwatch.notify.detect import probe_tmux

PROBE = Path(__file__).resolve().parents[1] / "support" / "notify_probe.py"
DEADLINE = 15.0
ENV = {"TERM": "xterm-256color", "PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
# not in CI's image: checked on the dev container with screen 4.09.00 (apt-get install screen)
needs_screen = pytest.mark.skipif(shutil.which("screen") is None, reason="screen is not installed")

OSC9_JOB = "\x1b]9;jobwatch \u00b7 prod: \u2717 FAILED job-{n}\x07".encode()
OSC777_JOB = "\x1b]777;notify;jobwatch \u00b7 prod;\u2717 FAILED job-{n}\x07".encode()


class Terminal:
    """A program on a pty whose output is kept whole, read until a condition holds."""

    def __init__(
        self, argv: list[str], env: dict[str, str], answers: dict[bytes, bytes] | None = None
    ) -> None:
        self.proc = ptyprocess.PtyProcess.spawn(argv, env=env, dimensions=(24, 80))
        self.out = b""
        #: queries the terminal answers once, as a real one would (e.g. XTVERSION)
        self.answers = dict(answers or {})

    def read_until(self, condition: Callable[[bytes], bool], what: str) -> bytes:
        deadline = time.monotonic() + DEADLINE
        while not condition(self.out):
            left = deadline - time.monotonic()
            assert left > 0, f"no {what} in {self.out[-2000:]!r}"
            ready, _, _ = select.select([self.proc.fd], [], [], left)
            if ready:
                try:
                    self.out += os.read(self.proc.fd, 65536)
                except OSError:  # the program ended (EIO on Linux)
                    assert condition(self.out), f"ended without {what}: {self.out[-2000:]!r}"
                for query in [q for q in self.answers if q in self.out]:
                    self.send(self.answers.pop(query))
        return self.out

    def send(self, data: bytes) -> None:
        self.proc.write(data)

    def tick(self, n: int) -> bytes:
        """One tick; everything the terminal got until the program said it was done."""
        start = len(self.out)
        self.send(b"t")
        marker = f"TICK{n}:".encode()
        self.read_until(lambda out: marker in out[start:], marker.decode())
        return self.out[start:]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send(b"q")
        self.proc.terminate(force=True)


@contextlib.contextmanager
def plain(method: str, *extra: str) -> Iterator[Terminal]:
    term = Terminal([sys.executable, str(PROBE), method, *extra], ENV)
    try:
        term.read_until(lambda out: b"READY" in out, "READY")
        yield term
    finally:
        term.close()


def test_osc9_on_a_pty_after_focus_out():
    with plain("osc9") as term:
        assert b"\x1b[?1004h" in term.out  # it asked for focus reports
        term.send(b"\x1b[I")  # focus in: nothing
        assert term.tick(1) == b"TICK1:0\r\n"
        term.send(b"\x1b[O")  # focus out
        got = term.tick(2)
        expected = OSC9_JOB.replace(b"{n}", b"2")
        assert got == expected + b"TICK2:" + str(len(expected)).encode() + b"\r\n"


def test_osc777_and_osc99_on_a_pty():
    with plain("osc777") as term:
        term.send(b"\x1b[O")
        assert term.tick(1).startswith(OSC777_JOB.replace(b"{n}", b"1") + b"TICK1:")
    with plain("osc99") as term:
        term.send(b"\x1b[O")
        got = term.tick(1)
        title = b"am9id2F0Y2ggwrcgcHJvZA=="  # base64 of "jobwatch · prod"
        body = b"4pyXIEZBSUxFRCBqb2ItMQ=="  # "✗ FAILED job-1"
        ident = f"jobwatch-{term.proc.pid}-1".encode()
        assert got.startswith(
            b"\x1b]99;i=" + ident + b":d=0:p=title:o=unfocused:e=1;" + title + b"\x1b\\"
            b"\x1b]99;i=" + ident + b":d=1:p=body:o=unfocused:e=1;" + body + b"\x1b\\TICK1:"
        )


def test_unknown_focus_notifies_and_bell_is_one_byte():
    with plain("bell") as term:
        assert term.tick(1) == b"\x07TICK1:1\r\n"


def test_a_hostile_workflow_id_reaches_the_pty_inert():
    with plain("osc9", "\x1b]52;c;cHduZWQ=\x07\x9b2J") as term:
        got = term.tick(1)
        assert got.startswith(
            b"\x1b]9;jobwatch \xc2\xb7 prod: \xe2\x9c\x97 FAILED job-1\\x1b]52;c;cHduZWQ=\\x07\\x9b2J\x07"
        )
        assert got.count(b"\x1b") == 1 and got.count(b"\x07") == 1  # only the frame's own


# -- through a real tmux ---------------------------------------------------------------------


@contextlib.contextmanager
def tmux_terminal(
    short_tmp: Path, conf: str, pane: list[str], answers: dict[bytes, bytes] | None = None
) -> Iterator[Terminal]:
    """`pane` running in a new tmux server whose client is attached to the test's pty."""
    socket = f"jobwatch-notify-{uuid.uuid4().hex[:8]}"
    conf_file = short_tmp / f"{socket}.conf"
    conf_file.write_text(conf + "\nset -g status off\n")
    env = {**ENV, "HOME": str(short_tmp), "TMUX_TMPDIR": str(short_tmp)}
    argv = ["tmux", "-L", socket, "-f", str(conf_file), "new-session", "-x", "80", "-y", "24"]
    term = Terminal([*argv, "--", *pane], env, answers)
    try:
        yield term
    finally:
        term.close()
        subprocess.run(
            ["tmux", "-L", socket, "kill-server"],
            env=env,
            capture_output=True,
            timeout=10,
            check=False,
        )


@contextlib.contextmanager
def in_tmux(
    short_tmp: Path,
    method: str,
    conf: str,
    *extra: str,
    answers: dict[bytes, bytes] | None = None,
) -> Iterator[Terminal]:
    pane = [sys.executable, str(PROBE), method, *extra]
    with tmux_terminal(short_tmp, conf, pane, answers) as term:
        term.read_until(lambda out: b"READY" in out, "READY")
        yield term


PASSTHROUGH = "set -g allow-passthrough on\nset -s focus-events on"


@needs_tmux
def test_tmux_passthrough_on_reaches_the_outer_terminal(short_tmp):
    with in_tmux(short_tmp, "osc9", PASSTHROUGH) as term:
        assert b"READY osc9 tmux 1" in term.out  # asked tmux: on, so the bell rings too
        term.send(b"\x1b[I")
        first = term.tick(1)
        assert b"\x1b]9;" not in first  # focused: nothing
        term.send(b"\x1b[O")  # the outer terminal loses the focus; tmux tells the pane
        got = term.tick(2)
        assert OSC9_JOB.replace(b"{n}", b"2") in got  # unwrapped by tmux, byte for byte
        assert b"\x1bPtmux;" not in got


@needs_tmux
def test_tmux_passthrough_osc777(short_tmp):
    with in_tmux(short_tmp, "osc777", PASSTHROUGH) as term:
        term.send(b"\x1b[O")
        assert OSC777_JOB.replace(b"{n}", b"1") in term.tick(1)


@needs_tmux
def test_auto_inside_tmux_finds_kitty_from_its_xtversion_answer(short_tmp):
    """tmux asks its terminal who it is (XTVERSION, CSI > q); the probe reads the answer back
    (#{client_termtype}) and picks kitty's OSC 99, although TERM inside says tmux."""
    kitty = {b"\x1b[>q": b"\x1bP>|kitty(0.35.2)\x1b\\"}
    with in_tmux(short_tmp, "auto", PASSTHROUGH, answers=kitty) as term:
        assert b"READY osc99 tmux 1" in term.out
        term.send(b"\x1b[O")
        got = term.tick(1)
        ident = f"jobwatch-{_pane_pid(got)}-1".encode()
        assert (
            b"\x1b]99;i=" + ident + b":d=0:p=title:o=unfocused:e=1;am9id2F0Y2ggwrcgcHJvZA==\x1b\\"
            in got
        )
        assert (
            b"\x1b]99;i=" + ident + b":d=1:p=body:o=unfocused:e=1;4pyXIEZBSUxFRCBqb2ItMQ==\x1b\\"
            in got
        )


def _pane_pid(got: bytes) -> str:
    start = got.index(b"\x1b]99;i=jobwatch-") + len(b"\x1b]99;i=jobwatch-")
    return got[start : got.index(b"-", start)].decode()


@needs_tmux
def test_tmux_passthrough_off_rings_the_bell_instead(short_tmp):
    with in_tmux(short_tmp, "osc9", "set -s focus-events on") as term:
        assert b"READY bell none 0" in term.out
        term.send(b"\x1b[O")
        got = term.tick(1)
        assert b"\x1b]9;" not in got and b"\x07" in got  # tmux rang its own terminal's bell


@needs_tmux
def test_tmux_drops_an_unwrapped_osc9(short_tmp):
    """Why the wrapper: the same sequence written bare never leaves tmux, passthrough on or not."""
    script = "import sys, time; sys.stdout.write('\\x1b]9;bare\\x07BARE-DONE'); sys.stdout.flush(); time.sleep(30)"
    with tmux_terminal(short_tmp, PASSTHROUGH, [sys.executable, "-c", script]) as term:
        term.read_until(lambda out: b"BARE-DONE" in out, "BARE-DONE")
        assert b"\x1b]9;bare" not in term.out


@needs_tmux
def test_a_hostile_id_through_tmux_stays_inert(short_tmp):
    with in_tmux(short_tmp, "osc777", PASSTHROUGH, "\x1b\\\x1b]52;c;cHduZWQ=\x07") as term:
        term.send(b"\x1b[O")
        got = term.tick(1)
        assert b"\x1b]52" not in got
        assert b"\\x1b\\\\x1b]52,c,cHduZWQ=\\x07\x07" in got  # shown, and ";" cannot split 777


@needs_tmux
async def test_probe_tmux_reads_a_real_server(short_tmp):
    socket = f"jobwatch-notify-{uuid.uuid4().hex[:8]}"
    env = {**ENV, "HOME": str(short_tmp), "TMUX_TMPDIR": str(short_tmp)}

    def tmux(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", socket, "-f", "/dev/null", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip()

    tmux("new-session", "-d", "-x", "80", "-y", "24", "sleep 60")
    try:
        path, pane, pid = tmux("display-message", "-p", "#{socket_path}\t#{pane_id}\t#{pid}").split(
            "\t"
        )
        inside = {**env, "TMUX": f"{path},{pid},0", "TMUX_PANE": pane}
        info = await probe_tmux(inside)
        assert info is not None and info.passthrough == "off" and info.focus_events is False
        assert info.version == tmux("display-message", "-p", "#{version}")
        tmux("set", "-g", "allow-passthrough", "on")
        tmux("set", "-s", "focus-events", "on")
        info = await probe_tmux(inside)
        assert info is not None and info.passthrough == "on" and info.focus_events is True
        assert (
            await probe_tmux({**inside, "TMUX": str(short_tmp / "no-such-socket") + ",1,0"}) is None
        )
        assert await probe_tmux(env) is None  # not inside tmux
    finally:
        tmux("kill-server")


@needs_screen
@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("osc9", b"\x1b]9;jobwatch - prod: * FAILED job-1\x07"),
        ("osc777", b"\x1b]777;notify;jobwatch - prod;* FAILED job-1\x07"),
    ],
)
def test_gnu_screen_passes_the_pieces_on(short_tmp, method, expected):
    screens = short_tmp / "screens"
    screens.mkdir(mode=0o700)
    env = {**ENV, "HOME": str(short_tmp), "SCREENDIR": str(screens)}
    name = f"jobwatch-notify-{uuid.uuid4().hex[:8]}"
    term = Terminal(
        ["screen", "-c", "/dev/null", "-S", name, sys.executable, str(PROBE), method], env
    )
    try:
        term.read_until(lambda out: b"READY" in out, "READY")
        assert b"READY " + method.encode() + b" screen 0" in term.out
        got = term.tick(1)
        assert expected in got  # whole and terminated: the text after it stays text
    finally:
        term.close()
        subprocess.run(
            ["screen", "-S", name, "-X", "quit"],
            env=env,
            capture_output=True,
            timeout=10,
            check=False,
        )
