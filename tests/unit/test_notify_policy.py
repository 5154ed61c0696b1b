"""The notification policy: outcome, once per run, focus, rate limit and batching."""

from __future__ import annotations

import pytest

from jobwatch.durations import Typical
from jobwatch.models import NOT_FOUND, Status
from jobwatch.notify import policy as policy_module
from jobwatch.notify.policy import JobEnd, NotifyPolicy, SlowJob, slow_notice
from jobwatch.notify.settings import NotifySettings
from jobwatch.windows import DurationRange, Window

FAILED = Status(3, "FAILED")
TIMED_OUT = Status(7, "TIMED_OUT")
COMPLETED = Status(2, "COMPLETED")
CANCELLED = Status(4, "CANCELED")


def end(wid: str, status: Status = FAILED, run: str = "r1", **kw) -> JobEnd:
    return JobEnd(wid, run, status, workspace_name="prod", **kw)


def slow(wid: str, run: str = "r1") -> SlowJob:
    return SlowJob(wid, run, DurationRange(724, 726), Typical(240, 420, 23), "prod")


def policy(**table) -> NotifyPolicy:
    return NotifyPolicy(NotifySettings.from_table(table))


def test_one_failure_while_away():
    p = policy()
    d = p.step(now=100, focused=False, ended=[end("taxonomy-publish-9ef14040")])
    assert d.notification is not None
    assert d.notification.title == "jobwatch \u00b7 prod"
    assert d.notification.body == "\u2717 FAILED taxonomy-publish-9ef14040"
    assert d.notification.failure and d.notification.count == 1
    assert [e.workflow_id for e in d.commands] == ["taxonomy-publish-9ef14040"]


def test_a_label_names_the_job():
    d = policy().step(now=0, focused=False, ended=[end("role-1234abcd", label="nightly roles")])
    assert d.notification and d.notification.body.endswith("nightly roles (role-1234abcd)")


def test_only_the_selected_outcomes():
    p = policy()
    d = p.step(now=0, focused=False, ended=[end("a", COMPLETED), end("b", NOT_FOUND)])
    assert d.notification is None and d.commands == ()
    p = policy(on=["ended"])
    d = p.step(now=0, focused=False, ended=[end("a", COMPLETED)])
    assert d.notification and d.notification.body == "\u2713 COMPLETED a"
    assert not d.notification.failure
    p = policy(on=["CANCELED"])
    d = p.step(now=0, focused=False, ended=[end("a", FAILED), end("b", CANCELLED)])
    assert d.notification and d.notification.body == "\u2298 CANCELLED b"


def test_focused_sends_nothing_but_still_runs_the_command():
    p = policy()
    d = p.step(now=0, focused=True, ended=[end("a")])
    assert d.notification is None and [e.workflow_id for e in d.commands] == ["a"]
    # the same run seen again after the person looked away is not news
    d = p.step(now=100, focused=False, ended=[end("a")])
    assert d.notification is None and d.commands == ()


def test_unknown_focus_counts_as_away():
    d = policy().step(now=0, focused=None, ended=[end("a")])
    assert d.notification is not None


def test_each_run_notifies_once_and_a_new_run_again():
    p = policy(min_interval=0)
    assert p.step(now=0, focused=False, ended=[end("a"), end("a")]).notification.count == 1
    assert p.step(now=1, focused=False, ended=[end("a")]).notification is None
    again = p.step(now=2, focused=False, ended=[end("a", run="r2")])
    assert again.notification is not None and again.commands[0].run_id == "r2"


def test_many_endings_in_one_tick_are_one_notification():
    ended = [end("a-1", TIMED_OUT), end("b-2"), end("c-3", TIMED_OUT), end("d-4"), end("e-5")]
    d = policy().step(now=0, focused=False, ended=ended)
    assert d.notification is not None
    assert d.notification.body == (
        "5 jobs ended: 3 FAILED, 2 TIMED_OUT \u2014 b-2, d-4, e-5 and 2 more"
    )
    assert d.notification.count == 5 and len(d.commands) == 5


def test_rate_limit_folds_the_rest_into_the_next():
    p = policy(min_interval=15)
    assert p.step(now=0, focused=False, ended=[end("a")]).notification is not None
    assert p.step(now=5, focused=False, ended=[end("b")]).notification is None
    assert p.next_due() == 15
    assert p.step(now=10, focused=False, ended=[end("c", TIMED_OUT)]).notification is None
    assert p.step(now=14.9, focused=False).notification is None
    folded = p.step(now=15, focused=False).notification
    assert folded is not None
    assert folded.body == "2 jobs ended: 1 FAILED, 1 TIMED_OUT \u2014 b, c"
    assert p.next_due() is None
    assert p.step(now=16, focused=False, ended=[end("d")]).notification is None
    assert p.next_due() == 30


def test_what_waits_is_dropped_when_the_person_comes_back():
    p = policy(min_interval=15)
    p.step(now=0, focused=False, ended=[end("a")])
    p.step(now=5, focused=False, ended=[end("b")])
    assert p.step(now=6, focused=True).notification is None
    assert p.next_due() is None
    assert p.step(now=30, focused=False).notification is None


def test_a_flood_is_one_bounded_notification():
    ended = [end(f"job-{n:05d}", TIMED_OUT if n % 3 else FAILED) for n in range(10_000)]
    d = policy().step(now=0, focused=False, ended=ended)
    assert d.notification is not None
    assert d.notification.body.startswith("10000 jobs ended: 3334 FAILED, 6666 TIMED_OUT \u2014 ")
    assert d.notification.body.endswith("and 9997 more")
    assert len(d.commands) == 10_000


def test_slower_than_usual_once_per_run():
    p = policy(min_interval=0)
    d = p.step(now=0, focused=False, slow=[slow("taxonomy-publish-9ef14040")])
    assert d.notification is not None and d.commands == ()
    assert d.notification.body == (
        "slower than usual: taxonomy-publish-9ef14040 running 12m05s (usually 4m, p90 7m)"
    )
    assert (
        p.step(now=1, focused=False, slow=[slow("taxonomy-publish-9ef14040")]).notification is None
    )
    assert p.step(now=2, focused=False, slow=[slow("taxonomy-publish-9ef14040", "r2")]).notification


def test_slow_notices_can_be_turned_off():
    d = policy(on=["failure"]).step(now=0, focused=False, slow=[slow("a")])
    assert d.notification is None


def test_endings_and_slow_notices_together():
    d = policy().step(now=0, focused=False, ended=[end("a"), end("b", TIMED_OUT)], slow=[slow("c")])
    assert d.notification is not None
    assert d.notification.body == (
        "2 jobs ended: 1 FAILED, 1 TIMED_OUT; 1 slower than usual \u2014 a, b, c"
    )


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(policy_module, "MEMORY", 3)
    p = policy(min_interval=0)
    for n in range(5):
        p.step(now=n, focused=False, ended=[end(f"j{n}")])
    assert len(p._seen) == 3
    # the oldest run was forgotten: seen again, it notifies again (the price of a bound)
    assert p.step(now=10, focused=False, ended=[end("j0")]).notification is not None
    assert p.step(now=11, focused=False, ended=[end("j4")]).notification is None


@pytest.mark.parametrize("workspaces", [("prod", "staging"), ("",)])
def test_title_names_the_workspace_only_when_there_is_one(workspaces):
    ended = [JobEnd(f"j{n}", "r", FAILED, workspace_name=w) for n, w in enumerate(workspaces)]
    d = policy().step(now=0, focused=False, ended=ended)
    assert d.notification and d.notification.title == "jobwatch"


def test_slow_notice_from_a_running_row():
    usual = Typical(240, 420, 23)
    now = 10_000.0
    assert slow_notice("a", "r", Window(now - 402, now - 400), usual, now) is None
    notice = slow_notice("a", "r", Window(now - 423, now - 421), usual, now, workspace_name="prod")
    assert notice == SlowJob("a", "r", DurationRange(421, 423), usual, "prod")
    assert slow_notice("a", "r", Window(now - 5000, now - 4000), None, now) is None
    # first seen already running: only the time it surely ran counts
    assert slow_notice("a", "r", Window(None, now - 300), usual, now) is None
