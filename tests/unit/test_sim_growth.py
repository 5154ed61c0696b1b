"""The bulk scenario's growth (jobwatch.simulator.scenarios.Growth), on a manual clock."""

from __future__ import annotations

import random

import pytest

from jobwatch.simulator.scenarios import GROWTH_ORDERS, Growth, JobBook


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def book(order: str, jobs: int = 5000, seed: int = 1, **options) -> tuple[JobBook, Clock]:
    clock = Clock()
    growth = Growth(order=order, **options)
    made = JobBook(
        "bulk",
        jobs=jobs,
        rng_jobs=random.Random(f"jobs:{seed}"),
        rng_ids=random.Random(f"ids:{seed}"),
        clock=clock,
        growth=growth,
    )
    return made, clock


def ticks(b: JobBook, clock: Clock, count: int) -> list[list[dict]]:
    """The list after each of `count` growth ticks."""
    lists = []
    for _ in range(count):
        clock.now += b.growth.every
        lists.append(b.snapshot())
    return lists


def running(jobs: list[dict]) -> list[dict]:
    return [j for j in jobs if j["status"]["code"] == 1]


def test_a_growing_book_starts_mostly_finished():
    b, _ = book("append", jobs=20_000)
    jobs = b.snapshot()
    assert len(jobs) == 20_000
    share = len(running(jobs)) / len(jobs)
    assert 0.015 < share < 0.025  # 98% finished
    assert {j["status"]["code"] for j in jobs} == {1, 2, 3, 4, 7}


def test_each_tick_adds_and_finishes_one_percent_of_the_running_jobs():
    b, clock = book("append", jobs=20_000, reuse_share=0.0)
    before = b.snapshot()
    r = len(running(before))
    after = ticks(b, clock, 1)[0]
    new = {j["workflowId"] for j in after} - {j["workflowId"] for j in before}
    assert len(new) == round(r * 0.01) and len(after) == len(before) + len(new)
    was_running = {j["workflowId"] for j in running(before)}
    finished = [j for j in after if j["workflowId"] in was_running and j["status"]["code"] != 1]
    assert len(finished) == round(r * 0.01)
    assert len(running(after)) == r  # as many new as finished
    assert (b.growth_ticks, b.jobs_added, b.jobs_finished) == (1, len(new), len(finished))


def test_a_tick_happens_every_growth_interval_and_not_between():
    b, clock = book("append", jobs=2000, every=5.0)
    size = len(b.snapshot())
    clock.now = 4.9
    assert len(b.snapshot()) == size and b.growth_ticks == 0
    clock.now = 10.0
    b.snapshot()
    assert b.growth_ticks == 2


def test_append_puts_new_jobs_at_the_end():
    b, clock = book("append", reuse_share=0.0)
    before = [j["workflowId"] for j in b.snapshot()]
    after = [j["workflowId"] for j in ticks(b, clock, 3)[-1]]
    assert after[: len(before)] == before and len(after) > len(before)


def test_prepend_puts_new_jobs_first_so_every_item_shifts():
    b, clock = book("prepend", reuse_share=0.0)
    before = [j["workflowId"] for j in b.snapshot()]
    after = [j["workflowId"] for j in ticks(b, clock, 1)[0]]
    added = len(after) - len(before)
    assert added > 0 and after[added:] == before
    assert all(after[i] != before[i] for i in range(len(before)))


def test_reorder_changes_the_order_of_every_tick():
    b, clock = book("reorder", reuse_share=0.0)
    before = [j["workflowId"] for j in b.snapshot()]
    one, two = ([j["workflowId"] for j in jobs] for jobs in ticks(b, clock, 2))
    assert set(before) < set(one) < set(two)
    assert one[: len(before)] != before and two[: len(one)] != one
    moved = sum(a != c for a, c in zip(before, one, strict=False))
    assert moved > 0.9 * len(before)


def test_mixed_uses_every_order_and_is_the_same_for_the_same_seed():
    b, clock = book("mixed", seed=3, reuse_share=0.0)
    earlier = [j["workflowId"] for j in b.snapshot()]
    lists = ticks(b, clock, 12)
    c, clock_c = book("mixed", seed=3, reuse_share=0.0)
    assert ticks(c, clock_c, 12) == lists
    kinds = set()
    for jobs in lists:
        now = [j["workflowId"] for j in jobs]
        if now[: len(earlier)] == earlier:
            kinds.add("append")
        elif now[len(now) - len(earlier) :] == earlier:
            kinds.add("prepend")
        else:
            kinds.add("reorder")
        earlier = now
    assert kinds == {"append", "prepend", "reorder"}


def test_a_finished_workflow_id_can_start_again_under_a_new_run_id():
    b, clock = book("append", reuse_share=1.0)
    before = {j["workflowId"]: j for j in b.snapshot()}
    after = {j["workflowId"]: j for j in ticks(b, clock, 1)[0]}
    restarted = [w for w, j in after.items() if w in before and before[w]["status"]["code"] != 1
                 and j["status"]["code"] == 1]  # fmt: skip
    assert restarted and len(after) == len(before)
    for wid in restarted:
        assert after[wid]["runId"] != before[wid]["runId"]
    # appended: a restarted job moves to the end, like a new one
    assert set(list(after)[-len(restarted) :]) == set(restarted)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"order": "sideways"}, "unknown growth order"),
        ({"every": 0.0}, "longer than 0"),
        ({"new_share": 1.5}, "new_share must be between 0 and 1"),
        ({"finished": -0.1}, "finished must be between 0 and 1"),
    ],
)
def test_growth_options_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        Growth(**options)


def test_growth_is_for_the_bulk_scenario_only():
    with pytest.raises(ValueError, match="bulk"):
        JobBook(
            "demo",
            jobs=10,
            rng_jobs=random.Random(1),
            rng_ids=random.Random(2),
            growth=Growth(),
        )


def test_every_order_is_listed():
    assert GROWTH_ORDERS == ("append", "prepend", "reorder", "mixed")
