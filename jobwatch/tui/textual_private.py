"""The one place jobwatch reaches into a private part of Textual, each access in a named helper.

Textual has no public way to write a control sequence of our own to the terminal (the window
title, OSC 2): `App.copy_to_clipboard` writes its OSC 52 through the same private driver. Every
other private attribute the dashboard used was replaced by a public API (`on_click`, `on_paste`
with `prevent_default`, a repaint flag of the table's own, the notifications' CSS).

Checked against Textual 8.2.0 to 8.2.8 (`App._driver`, `Driver.write`, `Driver.is_headless`);
tests/tui/test_textual_private.py fails if an upgrade removes them.
"""

from __future__ import annotations

from textual.app import App

__all__ = ["write_to_terminal"]


def write_to_terminal(app: App, data: str) -> bool:
    """Write `data` (already safe: the caller escaped anything from outside) to the terminal.

    False when there is no terminal to write to: before the app runs, after it ended, headless.
    """
    driver = getattr(app, "_driver", None)
    if driver is None or driver.is_headless:
        return False
    driver.write(data)
    return True
