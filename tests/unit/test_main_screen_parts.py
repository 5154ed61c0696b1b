"""MainScreen is split into mixins (jobwatch.tui.screens.prompts, .job_actions, .job_alerts);
Textual only dispatches an `@on` handler that its message-pump metaclass collected, and it finds
actions and bindings along the MRO. These fail when a part is added in a way Textual ignores."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from jobwatch.tui.screens.main import MainScreen


def test_every_on_handler_of_the_screen_and_its_parts_is_dispatched() -> None:
    handlers = 0
    for cls in MainScreen.__mro__:
        if cls.__module__.startswith("textual"):
            continue
        collected = {
            method
            for found in cls.__dict__.get("_decorated_handlers", {}).values()
            for method, _ in found
        }
        for name, value in vars(cls).items():
            if callable(value) and hasattr(value, "_textual_on"):
                handlers += 1
                assert value in collected, f"{cls.__name__}.{name}: @on in a class Textual ignores"
    assert handlers >= 13  # the screen's six and the prompts' seven, at least


def test_the_parts_are_screens_and_every_bound_action_is_found() -> None:
    parts = [cls for cls in MainScreen.__mro__[1:] if cls.__module__.startswith("jobwatch.")]
    assert parts and all(issubclass(cls, Screen) for cls in parts)
    for cls in parts:
        assert "BINDINGS" not in vars(cls), f"{cls.__name__}: the key map is MainScreen's alone"
    for binding in MainScreen.BINDINGS:
        assert isinstance(binding, Binding)
        if binding.action.startswith("app."):
            continue
        name = binding.action.partition("(")[0]
        assert callable(getattr(MainScreen, f"action_{name}", None)), binding.action
