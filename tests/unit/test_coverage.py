"""The history's per-workspace memory (jobwatch.store.coverage): which known jobs joined or left
an all-jobs answer, whatever its order, walked in chunks that let the GIL go between."""

from __future__ import annotations

import pytest

from jobwatch.models import Job, Status
from jobwatch.store import coverage
from jobwatch.store.coverage import Coverage, ids_of, membership

DONE = Status(2, "COMPLETED")


def jobs(*ids: str) -> list[Job]:
    return [Job(wid, DONE, "r") for wid in ids]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 10])
def test_ids_of_is_every_workflow_id_at_any_length_around_the_chunk(monkeypatch, count):
    monkeypatch.setattr(coverage, "GIL_CHUNK", 3)
    answer = jobs(*(f"j{i}" for i in range(count)))
    assert ids_of(answer) == {job.workflow_id for job in answer}


def test_a_reordered_answer_finds_who_came_back_and_who_left(monkeypatch):
    """Every position differs (another order), so the IDs are compared as sets, in chunks."""
    monkeypatch.setattr(coverage, "GIL_CHUNK", 2)
    monkeypatch.setattr(coverage, "MOVED_LIMIT", 0)  # too many moved: not position by position
    known = jobs(*"abcdefgxy")
    memory = Coverage({job.workflow_id: job for job in known}, outside={"x", "y"})
    previous = known[:7]  # a..g; x and y were outside it, y still is
    memory.last_answer = previous
    answer = [known[7], *previous[::-1]]  # x is back, in another order ...
    answer.remove(known[2])  # ... and c left
    riding_before = len(memory.state) - len(memory.outside)
    assert membership(memory, answer, 0, riding_before) == (["x"], ["c"])
