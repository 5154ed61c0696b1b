"""The idle collector: full garbage collections wait for a pause in the input, within bounds."""

from __future__ import annotations

import gc

from jobwatch.tui import idle_gc
from jobwatch.tui.app import JobwatchApp
from jobwatch.tui.idle_gc import (
    FORCE_AFTER,
    YOUNG_THRESHOLD,
    IdleCollector,
    end_start_hold,
    hold_start,
)
from tests.support.tui import (
    idle_app,
    make_app,
    table_of,
    wait_for,
)


class FakeGc:
    """The parts of the gc module the collector uses, with counts a test sets."""

    def __init__(self) -> None:
        self.threshold = (700, 10, 10)
        self.count = [0, 0, 0]
        self.enabled = True
        self.calls: list[str] = []

    def get_threshold(self):
        return self.threshold

    def set_threshold(self, *values):
        self.threshold = values

    def get_count(self):
        return tuple(self.count)

    def isenabled(self):
        return self.enabled

    def collect(self):
        self.calls.append("collect")
        self.count[2] = 0
        return 0

    def freeze(self):
        self.calls.append("freeze")

    def unfreeze(self):
        self.calls.append("unfreeze")

    def disable(self):
        self.calls.append("disable")
        self.enabled = False

    def enable(self):
        self.calls.append("enable")
        self.enabled = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def collector(**kwargs) -> tuple[IdleCollector, FakeGc, Clock]:
    fake, clock = FakeGc(), Clock()
    idle = IdleCollector(gc_module=fake, clock=clock, **kwargs)
    idle.start()
    return idle, fake, clock


def test_start_turns_automatic_full_collections_off_and_stop_restores_them() -> None:
    idle, fake, _ = collector()
    assert fake.threshold[:2] == (YOUNG_THRESHOLD, 10) and fake.threshold[2] > 10**6
    idle.stop()
    assert fake.threshold == (700, 10, 10)
    assert fake.calls == ["unfreeze"]  # nothing stays frozen after the dashboard
    assert not idle.active


def test_collects_only_when_cpython_would_have_and_input_paused() -> None:
    idle, fake, clock = collector(quiet=1.0)
    fake.count[2] = 9  # fewer generation-1 collections than CPython's threshold
    clock.now += 5
    assert not idle.tick()
    fake.count[2] = 10
    idle.input_seen()
    clock.now += 0.5
    assert not idle.tick()  # keys were pressed half a second ago
    clock.now += 0.6
    assert idle.tick()
    assert fake.calls == ["collect", "freeze"]  # survivors frozen: the next one walks less


def test_a_full_collection_is_forced_when_input_never_pauses() -> None:
    idle, fake, clock = collector(quiet=1.0, force_after=50)
    fake.count[2] = 49
    idle.input_seen()
    assert not idle.tick()
    fake.count[2] = 50
    assert idle.tick()


def test_frozen_objects_are_reclaimed_at_a_quiet_moment() -> None:
    idle, fake, clock = collector(quiet=1.0, reclaim_every=60.0)
    clock.now += 61
    idle.input_seen()
    assert not idle.tick()  # due, but someone is typing
    clock.now += 2
    assert idle.tick()
    assert fake.calls == ["unfreeze", "collect", "freeze"]
    clock.now += 2
    fake.count[2] = 0
    assert not idle.tick()  # the next reclaim waits another minute


def test_frozen_objects_are_reclaimed_even_if_input_never_pauses_for_five_periods() -> None:
    idle, fake, clock = collector(quiet=1.0, reclaim_every=60.0)
    for _ in range(9):
        clock.now += 30
        idle.input_seen()
        assert not idle.tick()
    clock.now += 30  # 300 s without a quiet second
    idle.input_seen()
    assert idle.tick()
    assert fake.calls == ["unfreeze", "collect", "freeze"]


def test_nothing_happens_while_gc_is_disabled_or_after_stop() -> None:
    idle, fake, clock = collector()
    fake.count[2] = 500
    fake.enabled = False  # e.g. Textual pauses the GC during a smooth scroll
    clock.now += 100
    assert not idle.tick()
    fake.enabled = True
    idle.stop()
    assert not idle.tick()
    assert fake.calls == ["unfreeze"]


async def test_the_dashboard_takes_full_collections_over_and_gives_them_back(tmp_path) -> None:
    before = gc.get_threshold()
    app: JobwatchApp = idle_app(tmp_path / "config.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.idle_gc.active
        assert gc.get_threshold()[2] > 10**6
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        app.idle_gc._last_input = 0.0
        await pilot.press("down")
        assert app.idle_gc._last_input > 0.0  # a key press counts as input
    assert gc.get_threshold() == before
    assert not app.idle_gc.active


def test_a_larger_young_threshold_is_kept() -> None:
    fake = FakeGc()
    fake.threshold = (50_000, 10, 10)
    idle = IdleCollector(gc_module=fake)
    idle.start()
    assert fake.threshold[0] == 50_000


def test_by_default_minutes_of_unbroken_input_pass_without_a_forced_collection() -> None:
    # ~0.1 generation-1 collections a second at 100k jobs with keys held (jobwatch.tui.idle_gc)
    idle, fake, clock = collector(quiet=1.0)
    for second in range(240):
        clock.now += 1
        fake.count[2] = second // 10
        idle.input_seen()
        assert not idle.tick(), f"forced after {second} s of input"
    fake.count[2] = FORCE_AFTER
    assert idle.tick()


def test_the_start_up_hold_stops_collections_and_ends_with_a_freeze() -> None:
    fake = FakeGc()
    hold_start(fake)
    assert fake.calls == ["disable"] and not fake.enabled
    assert end_start_hold(fake)
    # what is alive is frozen before collections resume: the first young one does not walk it
    assert fake.calls == ["disable", "freeze", "enable"] and fake.enabled
    assert not end_start_hold(fake)  # once
    assert fake.calls == ["disable", "freeze", "enable"]


def test_the_start_up_hold_leaves_a_collector_that_was_off_alone() -> None:
    fake = FakeGc()
    fake.enabled = False
    hold_start(fake)
    assert not end_start_hold(fake)
    assert fake.calls == [] and not fake.enabled


async def test_the_dashboard_ends_the_start_up_hold_once_its_first_rows_are_painted(
    sim, history, tmp_path
) -> None:
    app = make_app(sim, history, tmp_path)
    hold_start()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            table = table_of(app)
            # the hold lasts while there is nothing to show
            assert not gc.isenabled() and idle_gc._start_hold
            await wait_for(pilot, lambda: len(table) > 0, what="the first rows")
            # at the next paint, not at the START_HOLD_LIMIT timer
            await wait_for(pilot, lambda: gc.isenabled(), timeout=2.0, what="collections resumed")
            assert not idle_gc._start_hold and table.on_first_rows is None
    finally:
        end_start_hold()
        gc.enable()
