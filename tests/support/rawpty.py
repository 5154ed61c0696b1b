"""The dashboard on a real pseudo-terminal, every byte it writes kept: what a terminal would act on.

`RawTerminal` spawns a command on a pty (ptyprocess), keeps the raw output (`raw`) and feeds it to
a VT emulator (pyte) for the screen's text, from a reader thread. Tests read the raw bytes for
what no screen capture shows: OSC 52 (clipboard), OSC 0/2 (title), C1 and bidi characters, the
sequences that restore the terminal on exit. Waiting is on a condition the reader notifies.

`hostile(tag)` is text from a hostile API: escape sequences, C1 controls, bidi and zero-width
characters around a tag that tells the fields apart.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import ptyprocess
import pyte

# ESC ] 52 ; c ; <base64> BEL sets the clipboard; ESC ] 0/2 ; <text> BEL the window title.
OSC52_SET = "\x1b]52;c;aGFja2Vk\x07"  # "hacked"
OSC_TITLE = "\x1b]0;pwned\x07"
CSI_CLEAR = "\x1b[2J"
C1_CSI = "\x9b31m"  # a one-byte CSI: "red" on terminals that take 8-bit controls
C1_OSC = "\x9d2;c1title\x9c"
BIDI = "\u202e"  # right-to-left override
ZERO_WIDTH = "\u200b"
#: the raw pieces no output of the dashboard may contain
RAW_MARKERS = ("\x1b]52;c;aGFja2Vk", "\x1b]0;pwned", "\x9b31m", "\x9d2;c1title", "c1title\x9c")

_OSC = re.compile(r"\x1b\](\d+);(.*?)(?:\x07|\x1b\\)", re.DOTALL)
_C1 = re.compile("[\x80-\x9f]")
_BIDI_ZW = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u2060-\u2064\ufeff]")


def hostile(tag: str) -> str:
    """`tag` wrapped in everything a terminal would act on or a reader be fooled by."""
    return (
        f"{tag}-{OSC52_SET}{OSC_TITLE}{CSI_CLEAR}{C1_CSI}{C1_OSC}{BIDI}rev{ZERO_WIDTH}end\x07\x00"
    )


class RawTerminal:
    """A command on a pty of `size` (columns, lines); `raw` holds every byte it wrote."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        size: tuple[int, int] = (120, 40),
    ) -> None:
        self.columns, self.lines = size
        self.raw = bytearray()
        self.screen = pyte.Screen(self.columns, self.lines)
        self.stream = pyte.ByteStream(self.screen)
        self._cond = threading.Condition()
        self._eof = False
        self.exit_status: int | None = None
        full_env = {"TERM": "xterm-256color", "COLORTERM": "truecolor", **env}
        self._proc = ptyprocess.PtyProcess.spawn(
            list(argv), env=full_env, dimensions=(self.lines, self.columns)
        )
        self.pid = self._proc.pid
        self._reader = threading.Thread(target=self._read, name="raw-pty", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                try:
                    data = os.read(self._proc.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                with self._cond:
                    self.raw.extend(data)
                    self.stream.feed(data)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    # -- reading --------------------------------------------------------------------------

    def text(self) -> str:
        """Everything written so far, decoded (bytes that are not UTF-8 kept as surrogates)."""
        with self._cond:
            return bytes(self.raw).decode("utf-8", "surrogateescape")

    def screen_text(self) -> str:
        with self._cond:
            return "\n".join(self.screen.display)

    def wait_for(self, predicate: Callable[[RawTerminal], bool], what: str, timeout=20.0) -> None:
        """Wait until `predicate(self)` holds (checked after every chunk the program writes)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate(self):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._eof:
                    break
                self._cond.wait(min(remaining, 0.5))
        if predicate(self):
            return
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{self.screen_text()}")

    def wait_for_screen(self, predicate: Callable[[str], bool], what: str, timeout=20.0) -> str:
        self.wait_for(lambda t: predicate("\n".join(t.screen.display)), what, timeout)
        return self.screen_text()

    def mark(self) -> int:
        """The number of bytes written so far (to read only what comes after)."""
        with self._cond:
            return len(self.raw)

    def since(self, mark: int) -> str:
        with self._cond:
            return bytes(self.raw[mark:]).decode("utf-8", "surrogateescape")

    # -- writing and signals --------------------------------------------------------------

    def send(self, keys: str) -> None:
        os.write(self._proc.fd, keys.encode())

    def kill(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def hang_up(self) -> None:
        """Close the terminal, as closing its tab or window does: the kernel sends SIGHUP to
        the program, and its writes fail from then on."""
        with contextlib.suppress(OSError):
            self._proc.fileobj.close()

    def wait_exit(self, timeout: float = 20.0) -> int | None:
        """The exit code once the program ended (negative: killed by that signal), else None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = os.waitstatus_to_exitcode(status)
                self._proc.terminated = True
                return self.exit_status
            time.sleep(0.05)
        return None

    def close(self) -> None:
        if self.exit_status is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.wait_exit(5.0)
        self._reader.join(timeout=5.0)
        with contextlib.suppress(OSError):
            self._proc.close(force=True)

    def __enter__(self) -> RawTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def jobwatch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "jobwatch", *args]


# -- what a terminal would act on ---------------------------------------------------------


def osc_sequences(text: str) -> list[tuple[str, str]]:
    """(number, payload) of every OSC sequence in `text`."""
    return [(m.group(1), m.group(2)) for m in _OSC.finditer(text)]


def clipboard_writes(text: str) -> list[str]:
    """What each OSC 52 in `text` put on the clipboard, decoded."""
    found = []
    for number, payload in osc_sequences(text):
        if number == "52":
            data = payload.split(";", 1)[1]
            found.append(base64.b64decode(data).decode("utf-8", "surrogateescape"))
    return found


def titles(text: str) -> list[str]:
    """The window titles (OSC 0, 1 and 2) set in `text`."""
    return [payload for number, payload in osc_sequences(text) if number in ("0", "1", "2")]


def dangerous_characters(text: str) -> list[str]:
    """C1 controls, bidi and zero-width characters in `text` (Textual itself writes none)."""
    return _C1.findall(text) + _BIDI_ZW.findall(text)
