"""The poller and the history together: windows and gaps from real ticks on a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobwatch.api.client import FetchResult
from jobwatch.errors import ServerError
from jobwatch.models import Job, Status
from jobwatch.poller import Poller
from jobwatch.store.history import HistoryStore
from jobwatch.windows import Gap, Window, describe_window

RUNNING = Status(1, "RUNNING")
FAILED = Status(3, "FAILED")
COMPLETED = Status(2, "COMPLETED")


class Source:
    """Answers each fetch with `self.answer` (a list of jobs, or an exception to raise)."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[list[str] | None] = []

    async def fetch_jobs(self, job_ids):
        self.calls.append(None if job_ids is None else list(job_ids))
        if isinstance(self.answer, Exception):
            raise self.answer
        jobs = self.answer
        if job_ids is not None:
            jobs = [j for j in jobs if j.workflow_id in job_ids]
        return FetchResult(jobs, nbytes=10)


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path):
    s = HistoryStore(tmp_path / "history.sqlite3")
    yield s
    s.close()


async def test_a_stop_in_polling_is_a_gap_and_the_change_after_it_a_wide_window(store):
    clock = Clock(1000.0)
    source = Source([Job("a-1", RUNNING, "r"), Job("b-2", RUNNING, "r")])
    poller = Poller(source, "ws", history=store, interval=2.0, clock=clock, log=None)
    for _ in range(3):
        await poller.poll_once()
        clock.now += 2.0
    last_watched = clock.now - 2.0  # 1004.0
    # jobwatch stops polling for an hour (closed laptop, not running): the job fails meanwhile
    clock.now += 3600.0
    source.answer = [Job("a-1", FAILED, "r"), Job("b-2", RUNNING, "r")]
    await poller.poll_once()
    assert store.gaps("ws") == [Gap(last_watched, clock.now)]
    failed = store.transitions("ws", "a-1")[-1]
    assert failed.status == FAILED
    assert failed.window == Window(last_watched, clock.now)
    assert not failed.window.narrow
    text = describe_window("FAILED", failed.window, now=clock.now, gaps=store.job_gaps("ws", "a-1"))
    assert text.endswith("(not watched in between)")
    # Watched again: the next change has a narrow window and no gap.
    clock.now += 2.0
    source.answer = [Job("a-1", FAILED, "r"), Job("b-2", COMPLETED, "r")]
    await poller.poll_once()
    done = store.transitions("ws", "b-2")[-1]
    assert done.window == Window(clock.now - 2.0, clock.now) and done.window.narrow
    assert len(store.gaps("ws")) == 1


async def test_an_api_outage_is_a_gap_too(store):
    clock = Clock(0.0)
    source = Source([Job("a", RUNNING, "r")])
    poller = Poller(source, "ws", history=store, interval=2.0, clock=clock, log=None)
    await poller.poll_once()
    source.answer = ServerError("down", status=503)
    for _ in range(10):
        clock.now += 5.0
        await poller.poll_once()
    source.answer = [Job("a", COMPLETED, "r")]
    clock.now += 5.0
    await poller.poll_once()
    assert store.gaps("ws") == [Gap(0.0, 55.0)]
    assert store.transitions("ws", "a")[-1].window == Window(0.0, 55.0)


async def test_tracked_ids_not_listed_yet_get_the_window_of_their_appearance(store):
    clock = Clock(100.0)
    source = Source([Job("a", RUNNING, "r")])
    poller = Poller(source, "ws", job_ids=["a", "later"], history=store, clock=clock, log=None)
    await poller.poll_once()
    clock.now += 2.0
    source.answer = [Job("a", RUNNING, "r"), Job("later", RUNNING, "r")]
    await poller.poll_once()
    assert source.calls == [["a", "later"], ["a", "later"]]
    assert store.job("ws", "later").started == Window(100.0, 102.0)


async def test_an_id_never_listed_is_not_found_since_it_was_first_asked_for(store):
    clock = Clock(100.0)
    source = Source([Job("a", RUNNING, "r")])
    poller = Poller(
        source, "ws", job_ids=["a", "ghost"], history=store, clock=clock, log=None, missing_after=3
    )
    for _ in range(3):
        await poller.poll_once()
        clock.now += 2.0
    ghost = store.transitions("ws", "ghost")
    assert [t.status.label for t in ghost] == ["NOT_FOUND"]
    assert ghost[0].window == Window(None, 104.0)  # missing from the first poll on: no window
    # A job that was listed and then left out vanished after it was last seen.
    source.answer = []
    for _ in range(3):
        await poller.poll_once()
        clock.now += 2.0
    gone = store.transitions("ws", "a")[-1]
    assert gone.status.label == "NOT_FOUND" and gone.window == Window(104.0, 110.0)
