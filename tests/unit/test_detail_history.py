"""RecentHistories: the detail pane's histories read ahead, by workflowId and version."""

from __future__ import annotations

from jobwatch.models import Status
from jobwatch.store.history import JobHistory, Transition
from jobwatch.tui.detail_history import RecentHistories


def history_of(*codes: int) -> JobHistory:
    return JobHistory(
        [Transition(Status(c, f"S{c}"), "r", float(i)) for i, c in enumerate(codes)], ["r"], []
    )


def test_a_read_is_kept_per_job_and_fresh_until_a_tick_is_stored():
    recent = RecentHistories()
    recent.put(recent.version, {"a": history_of(1), "b": history_of(1, 3)})
    assert recent.get("a") == history_of(1) and recent.get("b") == history_of(1, 3)
    assert recent.get("c") is None and recent.missing(["a", "c", "b"]) == ["c"]
    recent.outdated()
    # one tick old: still shown (what the pane showed between a tick's rows and its write),
    # but read again
    assert recent.get("b") == history_of(1, 3) and recent.missing(["a", "b"]) == ["a", "b"]
    recent.outdated()
    assert recent.get("a") is None and recent.get("b") is None


def test_a_read_that_comes_back_late_never_replaces_a_newer_one():
    recent = RecentHistories()
    old = recent.version
    recent.outdated()  # a tick was stored while the first read ran
    recent.put(recent.version, {"a": history_of(1, 2)})  # a second read, begun after it
    recent.put(old, {"a": history_of(1), "b": history_of(1)})  # the first comes back last
    assert recent.get("a") == history_of(1, 2) and recent.fresh("a")
    assert recent.get("b") == history_of(1) and not recent.fresh("b")


def test_only_the_most_recently_used_are_kept():
    recent = RecentHistories(limit=3)
    recent.put(0, {wid: history_of(1) for wid in "abc"})
    assert recent.get("a") is not None  # used: "b" is now the oldest
    recent.put(0, {"d": history_of(2)})
    assert len(recent) == 3 and recent.get("b") is None
    assert all(recent.get(wid) is not None for wid in "acd")
