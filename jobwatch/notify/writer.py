"""A notification to the terminal's bytes, through whatever writes to the terminal.

The dashboard passes its Textual driver's `write` (Textual's writer thread then keeps the sequence
whole between frames; writing to the tty beside it could cut a frame in two); a plain program
passes `fd_writer(fd)`. Nothing here knows Textual.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

from jobwatch.notify.detect import Route
from jobwatch.notify.policy import Notification


def fd_writer(fd: int) -> Callable[[str], None]:
    """A write function for a file descriptor (a tty, a pty's slave): all of the UTF-8 bytes."""

    def write(text: str) -> None:
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]

    return write


class TerminalNotifier:
    """Sends notifications along a route; each one gets its own OSC 99 id."""

    def __init__(self, route: Route, write: Callable[[str], object]) -> None:
        self.route = route
        self._write = write
        self._ids = itertools.count(1)
        #: an id prefix no other program in the same kitty window uses
        self._prefix = f"jobwatch-{os.getpid()}"

    def send(self, notification: Notification) -> str:
        """Write the notification; returns what was written ("" when the route is off)."""
        text = self.route.encode(
            notification.title, notification.body, f"{self._prefix}-{next(self._ids)}"
        )
        if text:
            self._write(text)
        return text
