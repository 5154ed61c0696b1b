"""The dashboard's head start (jobwatch.head_start, jobwatch.poller.StartedRun): the poller's own
loop started before the dashboard, taken by the first poll worker; no network (scripted sources)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from jobwatch.api.client import FetchResult
from jobwatch.errors import ServerError, Unauthorized
from jobwatch.events import JobAppeared, PollCompleted, PollerStopped, PollFailed
from jobwatch.head_start import HeadStart, Plan, dashboard_poller, watched_ids
from jobwatch.models import Job, Status
from jobwatch.poller import Poller, StartedRun
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import HistoryStore, JobRecord
from jobwatch.tui.job_index import FIRST_SCREEN_AFTER, FIRST_SCREEN_ROWS, JobIndex
from jobwatch.tui.messages import JobsChanged, PollStatus
from jobwatch.tui.model import JobRow
from jobwatch.tui.poll_session import (
    WORKER_DESCRIPTION,
    Session,
    Sessions,
    first_screen_of,
    poll_workspace,
)

RUNNING = Status(1, "RUNNING")
DONE = Status(2, "COMPLETED")
WS = "0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f"
ORG = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
WORKSPACE = WorkspaceConfig(name="acme", workspace_id=WS, organization_id=ORG, interval=7.0)


class Source:
    """A client whose fetches answer with the next scripted item (jobs or an exception); a
    fetch waits while `gate` is closed."""

    def __init__(self, *answers: list[Job] | Exception) -> None:
        self.answers = list(answers)
        self.fetches = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.closed = False

    async def fetch_jobs(self, job_ids):
        self.fetches += 1
        await self.gate.wait()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return FetchResult(list(answer), nbytes=10)

    async def get_workspace(self) -> dict:
        return {}

    async def aclose(self) -> None:
        self.closed = True


def plan_of(session: Session) -> Plan:
    return Plan(session.workspace, session.tracked, session.interval, session.discovery_interval)


async def steps(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


class TestStartedRun:
    async def test_the_first_tick_starts_before_anyone_iterates(self) -> None:
        source = Source([Job("a", RUNNING, "r1")], [Job("a", DONE, "r1")])
        run = StartedRun(Poller(source, WS, interval=0.01, log=None))
        await until(lambda: run.first_done)
        assert source.fetches == 1
        first = await anext(run)
        assert [type(e) for e in first] == [JobAppeared, PollCompleted]
        second = await anext(run)  # the same loop goes on: the next tick's fetch
        assert source.fetches == 2
        assert [e.job.status for e in second if hasattr(e, "job")] == [DONE]
        await run.aclose()

    @pytest.mark.parametrize(
        ("error", "kind"),
        [
            (Unauthorized("no", status=401), PollerStopped),
            (ServerError("x", status=500), PollFailed),
        ],
    )
    async def test_a_failed_first_tick_is_the_pollers_own_failure(self, error, kind) -> None:
        started = StartedRun(Poller(Source(error), WS, interval=0.01, log=None))
        plain = Poller(Source(error), WS, interval=0.01, log=None).run()
        ours, theirs = await anext(started), await anext(plain)
        assert [type(e) for e in ours] == [type(e) for e in theirs] == [kind]
        assert ours[0].error is error and theirs[0].error is error
        await started.aclose()
        await plain.aclose()

    async def test_aclose_cancels_a_first_tick_under_way(self) -> None:
        source = Source([Job("a", RUNNING, "r1")])
        source.gate.clear()
        run = StartedRun(Poller(source, WS, interval=0.01, log=None))
        await steps()
        assert source.fetches == 1 and not run.first_done
        await asyncio.wait_for(run.aclose(), 1.0)
        assert run.first_done
        with pytest.raises(StopAsyncIteration):
            await anext(run)


def head_start(source: Source, plan: Plan, history=None) -> HeadStart:
    poller = dashboard_poller(source, plan, history=history, clock=time.time)
    return HeadStart(plan, source, StartedRun(poller), history=history, clock=time.time)  # type: ignore[arg-type]


class TestTake:
    async def test_only_the_same_plan_takes_it_and_only_once(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        source = Source([Job("a", RUNNING, "r1")])
        early = head_start(source, plan_of(session))
        other = Plan(WORKSPACE, ["a"], session.interval, session.discovery_interval)
        assert early.take(other, history=None, clock=time.time) is None
        assert early.take(plan_of(session), history=None, clock=lambda: 0.0) is None
        taken = early.take(plan_of(session), history=None, clock=time.time)
        assert taken is not None and taken[0] is source and taken[1] is early.run
        assert early.take(plan_of(session), history=None, clock=time.time) is None
        await early.aclose()  # taken: the worker's now, not closed here
        assert not source.closed
        await taken[1].aclose()

    def test_watched_ids_is_the_sessions_rule(self, tmp_path) -> None:
        store = HistoryStore(str(tmp_path / "h.sqlite3"))
        try:
            assert watched_ids(None, store, WS) is None
            store.set_tracked(WS, ["x", "y"])
            assert watched_ids(None, store, WS) == ["x", "y"]
            assert watched_ids(["b", "a", "b"], store, WS) == ["b", "a"]
            assert Session.open(1, WORKSPACE, None, store=store).tracked == ["x", "y"]
        finally:
            store.close()

    async def test_a_workspace_the_history_knows_has_its_first_answer_matched_in_slices(
        self, tmp_path
    ) -> None:
        """A restart shows the history's rows first: the first answer need not be parsed whole."""
        from jobwatch.api.client import SharelyClient
        from jobwatch.api.credentials import CredentialSpec
        from jobwatch.api.transport import Connection

        store = HistoryStore(str(tmp_path / "h.sqlite3"))
        plan = Plan(WORKSPACE, None, 2.0, 30.0)
        conn = Connection("https://api.test", WS, ORG)
        env = {"SHARELY_ACCESS_TOKEN": "t"}
        try:
            empty = SharelyClient(conn, CredentialSpec(), environ=env)
            dashboard_poller(empty, plan, history=store, clock=time.time)
            store.record(WS, [Job("a", RUNNING, "r1")], 100.0)
            known = SharelyClient(conn, CredentialSpec(), environ=env)
            dashboard_poller(known, plan, history=store, clock=time.time)
            bare = SharelyClient(conn, CredentialSpec(), environ=env)
            dashboard_poller(bare, plan, history=None, clock=time.time)
            assert (empty.whole_first_answer, known.whole_first_answer) == (True, False)
            assert bare.whole_first_answer
            for client in (empty, known, bare):
                await client.aclose()
        finally:
            store.close()


async def run_worker(session: Session, factory_client: Source, early: HeadStart | None):
    posted: list = []
    made: list = []

    def factory(ws):
        made.append(ws)
        return factory_client

    task = asyncio.create_task(
        poll_workspace(
            session,
            client_factory=factory,
            store=None,
            clock=time.time,
            post=posted.append,
            shown=JobIndex(),
            head_start=early,
        )
    )
    return task, posted, made


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class TestTheWorkerTakesIt:
    async def test_its_first_tick_is_the_head_starts_answer(self) -> None:
        session = Session.open(1, WORKSPACE, None, store=None)
        early_source = Source([Job("early", RUNNING, "r1")])
        early_source.gate.clear()
        early = head_start(early_source, plan_of(session))
        await steps()
        assert early_source.fetches == 1  # asked before the worker exists
        unused = Source([Job("late", RUNNING, "r2")])
        task, posted, made = await run_worker(session, unused, early)
        await steps()
        early_source.gate.set()
        await until(lambda: any(isinstance(m, JobsChanged) for m in posted))
        changed = next(m for m in posted if isinstance(m, JobsChanged))
        assert [r.workflow_id for r in changed.rows] == ["early"]
        assert made == [] and unused.fetches == 0 and early_source.fetches == 1
        assert session.poller is early.run.poller
        await stop(task)
        assert early_source.closed  # the worker's client now: closed when it ends

    async def test_another_plan_closes_it_and_polls_as_ever(self) -> None:
        session = Session.open(1, WORKSPACE, ["late"], store=None)
        early_source = Source([Job("early", RUNNING, "r1")])
        early = head_start(early_source, Plan(WORKSPACE, None, 7.0, 30.0))
        own = Source([Job("late", RUNNING, "r2")])
        task, posted, made = await run_worker(session, own, early)
        await until(lambda: any(isinstance(m, JobsChanged) for m in posted))
        changed = next(m for m in posted if isinstance(m, JobsChanged))
        assert [r.workflow_id for r in changed.rows] == ["late"] and made == [WORKSPACE]
        assert early_source.closed
        await stop(task)

    @pytest.mark.parametrize("early", [True, False])
    async def test_a_failed_first_answer_shows_as_without_it(self, early) -> None:
        """The same stop, with the same reason, whether the failing request was the head
        start's or the worker's own."""
        session = Session.open(1, WORKSPACE, None, store=None)
        error = Unauthorized("the access token was refused (HTTP 401)", status=401)
        source = Source(error)
        start = head_start(source, plan_of(session)) if early else None
        task, posted, made = await run_worker(session, source, start)
        await until(lambda: any(isinstance(m, PollStatus) for m in posted))
        status = next(m for m in posted if isinstance(m, PollStatus))
        assert status.health.state == "stopped" and status.health.error is error
        assert source.fetches == 1 and made == ([] if early else [WORKSPACE])
        await task  # a stopped poller ends the worker
        assert source.closed


def test_the_api_does_not_import_httpxs_command_line_tool() -> None:
    """jobwatch.api keeps httpx from importing click, pygments and rich's syntax at every start."""
    code = (
        "import sys, jobwatch.api.client, httpx; "
        "print(sorted(m for m in ('click', 'pygments.lexers', 'rich.syntax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class TestTheWorkersDescription:
    def test_it_is_not_the_repr_of_what_the_history_knew(self) -> None:
        """Textual describes a worker given no description by repr(work): the session's repr,
        with every record of `initial` (100k at a restart: up to 1.2 s before the first frame)."""

        class Node:
            def post_message(self, message) -> None:
                pass

            def run_worker(self, work, **kwargs):
                # what textual.worker_manager does with the description
                self.description = kwargs.get("description") or repr(work)

        node = Node()
        sessions = Sessions(
            node, store=None, client_factory=lambda ws: Source([]), clock=time.time, interval=None
        )
        session = Session.open(1, WORKSPACE, None, store=None)
        session.initial = {
            f"job-{i}": JobRecord(f"job-{i}", RUNNING, "r1", 1.0, 2.0) for i in range(1000)
        }
        sessions.start(session, JobIndex())
        assert node.description == WORKER_DESCRIPTION
        assert "job-999" not in node.description


class TestTheFirstScreenFirst:
    """A large first answer: its first screenful of rows is posted (and shown) before the rest."""

    async def run(self, jobs: list[Job], shown: JobIndex) -> list[JobsChanged]:
        session = Session.open(1, WORKSPACE, None, store=None)
        changed: list[JobsChanged] = []

        def post(message) -> None:
            if isinstance(message, JobsChanged) and message.rows:
                changed.append(message)
                shown.upsert(message.rows)
                assert session.shown is not None
                session.shown.set()  # as the screen does once the rows are painted

        task = asyncio.create_task(
            poll_workspace(
                session,
                client_factory=lambda ws: Source(jobs),
                store=None,
                clock=time.time,
                post=post,
                shown=shown,
            )
        )
        await until(lambda: sum(len(m.rows) for m in changed) >= len(jobs))
        await stop(task)
        return changed

    async def test_the_top_rows_then_all_of_them(self) -> None:
        jobs = [Job(f"job-{i:05d}", RUNNING, "r1") for i in range(FIRST_SCREEN_AFTER)][::-1]
        shown = JobIndex()
        changed = await self.run(jobs, shown)
        early, rest = changed[0], changed[1]
        assert early.events == [] and len(early.rows) == FIRST_SCREEN_ROWS
        assert early.partial and not rest.partial  # the summary counts the whole answer only
        # the rows the whole sort shows at the top, in its order (same time: by workflowId)
        assert [r.workflow_id for r in early.rows] == [f"job-{i:05d}" for i in range(200)]
        assert len(rest.rows) == len(jobs) and len(rest.events) == len(jobs)
        assert shown.keys(0, 3) == ["job-00000", "job-00001", "job-00002"]
        assert len(shown) == len(jobs)

    def test_not_for_a_small_answer_or_a_table_that_shows_or_filters_rows(self) -> None:
        rows = [row_of_job(Job(f"job-{i}", RUNNING, "r1")) for i in range(FIRST_SCREEN_AFTER)]
        assert len(first_screen_of(rows, JobIndex())) == FIRST_SCREEN_ROWS
        assert first_screen_of(rows[1:], JobIndex()) == []
        shown = JobIndex()
        shown.upsert([row_of_job(Job("other", RUNNING, "r0"))])
        assert first_screen_of(rows, shown) == []
        for filtered in (JobIndex(), JobIndex()):
            assert first_screen_of(rows, filtered)
        filtered.set_status_filter([RUNNING.code])
        assert first_screen_of(rows, filtered) == []
        filtered.set_status_filter(None)
        filtered.set_text_filter("job-1")
        assert first_screen_of(rows, filtered) == []


def row_of_job(job: Job) -> JobRow:
    return JobRow(job.workflow_id, job.status, job.run_id, 1.0, 1.0)
