"""jobwatch.give_way: background work waits while a key is pending, never longer than MAX_WAIT."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from jobwatch import give_way


@pytest.fixture(autouse=True)
def _no_key_left() -> Iterator[None]:
    give_way.key_shown()
    yield
    give_way.key_shown()


async def _steps_until_done(task: asyncio.Task[None], limit: int = 1000) -> int:
    """Event-loop steps until `task` is done (at most `limit`)."""
    for step in range(limit):
        if task.done():
            return step
        await asyncio.sleep(0)
    return limit


async def test_with_no_key_pending_it_is_one_loop_step() -> None:
    task = asyncio.ensure_future(give_way.give_way())
    assert await _steps_until_done(task) <= 2


async def test_it_waits_while_a_key_is_pending_and_goes_on_once_it_has_shown(monkeypatch) -> None:
    monkeypatch.setattr(give_way, "MAX_WAIT", 30.0)
    give_way.key_pressed()
    task = asyncio.ensure_future(give_way.give_way())
    await asyncio.sleep(0.05)  # many rechecks
    assert not task.done()
    give_way.key_shown()
    await asyncio.wait_for(task, 5.0)
    assert not give_way.key_pending()


async def test_a_key_never_shown_stops_counting_after_max_wait(monkeypatch) -> None:
    monkeypatch.setattr(give_way, "MAX_WAIT", 0.05)
    give_way.key_pressed()
    assert give_way.key_pending()
    await asyncio.wait_for(give_way.give_way(), 5.0)  # no key_shown: the bound ends it
    assert not give_way.key_pending()


async def test_one_wait_is_bounded_even_while_keys_keep_coming(monkeypatch) -> None:
    monkeypatch.setattr(give_way, "MAX_WAIT", 0.05)

    async def keys() -> None:
        while True:  # a key held down: a new one pending as soon as the last showed
            give_way.key_shown()
            give_way.key_pressed()
            await asyncio.sleep(0.005)

    presser = asyncio.ensure_future(keys())
    try:
        for _ in range(3):
            await asyncio.wait_for(give_way.give_way(), 5.0)
    finally:
        presser.cancel()


def test_the_oldest_pending_key_counts() -> None:
    give_way.key_pressed()
    first = give_way._pending
    give_way.key_pressed()
    assert give_way._pending == first
    give_way.key_shown()
    assert give_way._pending is None and not give_way.key_pending()
