"""The private parts of Textual jobwatch uses (jobwatch/tui/textual_private.py) are still there
and still do what the helpers expect: an upgrade that removes or changes them fails here, not
silently on a user's terminal."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable

from rich.segment import Segment
from textual.app import App
from textual.driver import Driver
from textual.scroll_view import ScrollView
from textual.strip import Strip

from jobwatch import give_way
from jobwatch.tui.textual_private import break_strip_self_cycles, busy, write_to_terminal
from tests.support.tui import make_app, table_of, wait_for


def test_the_driver_is_where_the_helper_looks_for_it() -> None:
    app = App()
    assert hasattr(app, "_driver") and app._driver is None
    assert callable(Driver.write) and "is_headless" in dir(Driver)
    # copy_to_clipboard, Textual's own OSC writer, goes through the same attribute
    assert "self._driver" in inspect.getsource(App.copy_to_clipboard)


def test_a_scroll_view_still_takes_its_sizes_where_the_quiet_one_steps_in() -> None:
    """QuietlySizedScrollView overrides ScrollView._size_updated (its behaviour: test_job_table)."""
    parameters = list(inspect.signature(ScrollView._size_updated).parameters)
    assert parameters == ["self", "size", "virtual_size", "container_size", "layout"]
    assert "_scroll_update" in inspect.getsource(ScrollView._size_updated)


def test_nothing_is_written_without_a_terminal() -> None:
    app = App()
    assert write_to_terminal(app, "\x1b]2;title\x07") is False


async def test_nothing_is_written_headless() -> None:
    app = App()
    async with app.run_test():
        assert write_to_terminal(app, "\x1b]2;title\x07") is False


# -- strips that keep themselves (break_strip_self_cycles) -------------------------------------


def _cyclic_strips(make: Callable[[], None]) -> int:
    """How many Strips `make` leaves for the cyclic collector (not freed by reference counts)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        make()
        gc.collect()
        return sum(1 for o in gc.garbage if isinstance(o, Strip))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_a_strip_that_divides_or_crops_to_itself_does_not_keep_itself() -> None:
    def make() -> None:
        strip = Strip([Segment("abc"), Segment("def")], 6)
        assert strip.divide([6]) == [strip]
        assert strip.crop_extend(0, 6, None) is strip

    break_strip_self_cycles()
    break_strip_self_cycles()  # twice: still one wrapper
    assert _cyclic_strips(make) == 0


def test_strips_divide_and_crop_as_before() -> None:
    break_strip_self_cycles()
    strip = Strip([Segment("abc"), Segment("def")], 6)
    left, right = strip.divide([2, 6])
    assert (left.text, right.text) == ("ab", "cdef")
    assert strip.divide([2, 6]) == [left, right]  # still cached when it is not the strip itself
    assert strip.crop_extend(1, 8, None).text == "bcdef  "
    assert strip.divide([6])[0] is strip and strip.crop_extend(0, 6, None) is strip


async def test_key_presses_in_the_dashboard_leave_no_cyclic_strips(sim, history, tmp_path) -> None:
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) >= 3, what="rows")

        async def presses() -> None:
            for key in ("down", "down", "up", "down", "up", "up"):
                await pilot.press(key)
                await pilot.pause()

        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            await presses()
            gc.collect()
            left = [o for o in gc.garbage if isinstance(o, Strip)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        assert left == []


# -- a key has shown once nothing it set off is left (busy, and jobwatch.give_way) ------------


async def test_busy_while_a_repaint_is_due_and_not_once_it_is_done(sim, history, tmp_path) -> None:
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) >= 3, what="rows")
        await wait_for(pilot, lambda: not busy(app), what="a settled screen")
        table.refresh()
        assert busy(app)
        await wait_for(pilot, lambda: not busy(app), what="the repaint")


async def test_a_key_counts_as_shown_once_its_job_is_in_the_detail_pane(
    sim, history, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(give_way, "MAX_WAIT", 30.0)  # shown by the app, never by the bound
    seen: list[tuple[str | None, str | None, bool]] = []
    real = give_way.key_shown

    def key_shown() -> None:
        screen = app.main_screen
        seen.append((screen.detail.workflow_id, table_of(app).cursor_key, busy(app)))
        real()

    monkeypatch.setattr(give_way, "key_shown", key_shown)
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) >= 3, what="rows")
        first = table.cursor_key
        await pilot.press("down")
        assert give_way.key_pending() or seen
        await wait_for(pilot, lambda: not give_way.key_pending(), what="the key shown")
        detail_job, cursor_job, was_busy = seen[-1]
        assert cursor_job != first and detail_job == cursor_job and not was_busy


# -- a key counts as pending from the driver's input thread on (noticing_keys) -----------------


async def test_a_key_the_driver_sends_from_its_thread_is_pending_before_the_loop_sees_it(
    sim, history, tmp_path
) -> None:
    """Driver.send_message, in the input thread, creates App._post_message's coroutine there: the
    dashboard counts a key as pending then (before the loop runs anything), other messages not."""
    import threading

    from textual import events

    assert "_post_message(message)" in inspect.getsource(Driver.send_message)
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) >= 3, what="rows")
        first = table.cursor_key
        driver = app._driver
        assert driver is not None

        def send_from_a_thread(message: events.Event) -> None:
            give_way.key_shown()
            sender = threading.Thread(target=driver.send_message, args=(message,))
            sender.start()
            sender.join()

        send_from_a_thread(events.Resize.from_dimensions((120, 40), None))
        assert not give_way.key_pending()
        send_from_a_thread(events.Key("down", None))
        assert give_way.key_pending()  # no await since: the loop has not run the coroutine
        await wait_for(pilot, lambda: table.cursor_key != first, what="the key handled")
