"""The one private part of Textual jobwatch uses (jobwatch/tui/textual_private.py) is still there:
an upgrade that removes or renames it fails here, not silently on a user's terminal."""

from __future__ import annotations

import inspect

from textual.app import App
from textual.driver import Driver

from jobwatch.tui.textual_private import write_to_terminal


def test_the_driver_is_where_the_helper_looks_for_it() -> None:
    app = App()
    assert hasattr(app, "_driver") and app._driver is None
    assert callable(Driver.write) and "is_headless" in dir(Driver)
    # copy_to_clipboard, Textual's own OSC writer, goes through the same attribute
    assert "self._driver" in inspect.getsource(App.copy_to_clipboard)


def test_nothing_is_written_without_a_terminal() -> None:
    app = App()
    assert write_to_terminal(app, "\x1b]2;title\x07") is False


async def test_nothing_is_written_headless() -> None:
    app = App()
    async with app.run_test():
        assert write_to_terminal(app, "\x1b]2;title\x07") is False
