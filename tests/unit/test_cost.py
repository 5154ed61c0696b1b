"""A poll costs what changed, not what exists: operation counts (not times) at 1k, 10k and 100k jobs.

The client and the poller against a workspace served through httpx's MockTransport (no network):
98% of its jobs finished, the rest running. Counted: items decoded anew (jobwatch.api.reuse),
jobs the poller compared, rows the screen gets, and the job index's work to keep its order.
"""

from __future__ import annotations

import random

import httpx
import orjson
import pytest

from jobwatch.api import reuse
from jobwatch.api.client import SharelyClient
from jobwatch.api.transport import Connection
from jobwatch.events import PollCompleted
from jobwatch.models import Job, Status
from jobwatch.poller import Poller
from jobwatch.tui import job_index
from jobwatch.tui.job_index import JobIndex
from jobwatch.tui.model import JobRow

SIZES = [1000, 10_000, 100_000]


class Workspace:
    """A workspace as the API serves it: the whole list, or the jobs asked for."""

    def __init__(self, size: int) -> None:
        rng = random.Random(size)
        self.jobs: dict[str, dict] = {}
        for i in range(size):
            code = 1 if i % 50 == 0 else 2  # 2% running
            wid = f"role-create-{i:08x}"
            self.jobs[wid] = {
                "workflowId": wid,
                "status": {"code": code, "name": "RUNNING" if code == 1 else "COMPLETED"},
                "runId": f"{rng.getrandbits(128):032x}",
            }

    def running(self) -> list[str]:
        return [w for w, j in self.jobs.items() if j["status"]["code"] == 1]

    def handler(self, request: httpx.Request) -> httpx.Response:
        ids = orjson.loads(request.content).get("jobIds")
        if ids is None:
            body = orjson.dumps(list(self.jobs.values()))
        else:
            body = orjson.dumps([self.jobs[i] for i in ids if i in self.jobs])
        return httpx.Response(200, content=body)


class Counts:
    def __init__(self, monkeypatch) -> None:
        self.decoded = 0
        self.compared: list[int] = []
        real_decode = reuse._decode_job
        real_diff = Poller._diff

        def decode(data: bytes) -> Job:
            self.decoded += 1
            return real_decode(data)

        def diff(poller, jobs, requested, now, events, compare=None):
            self.compared.append(len(jobs if compare is None else compare))
            return real_diff(poller, jobs, requested, now, events, compare)

        monkeypatch.setattr(reuse, "_decode_job", decode)
        monkeypatch.setattr(Poller, "_diff", diff)

    def take(self) -> tuple[int, int]:
        out = (self.decoded, sum(self.compared))
        self.decoded, self.compared = 0, []
        return out


def client_for(ws: Workspace) -> SharelyClient:
    return SharelyClient(
        Connection("https://api.test", "ws", "org"),
        environ={"SHARELY_ACCESS_TOKEN": "tok"},
        transport=httpx.MockTransport(ws.handler),
    )


@pytest.mark.parametrize("size", SIZES)
async def test_a_tick_costs_what_changed_whatever_the_size(monkeypatch, size):
    ws = Workspace(size)
    counts = Counts(monkeypatch)
    clock = [1000.0]
    async with client_for(ws) as client:
        poller = Poller(client, "ws", log=None, clock=lambda: clock[0], discovery_interval=30.0)
        await poller.poll_once()  # the whole list, the first time: everything is new
        assert len(poller.jobs) == size
        # (a first answer past 1 MB is parsed whole, for the first rows: the next fetch first
        # decodes its items once more, to remember each by its bytes)
        poller.refresh_now()
        await poller.poll_once()
        counts.take()

        # nothing changed: the running jobs' answers hold known bytes (the first tick by ID) or
        # the same bytes (the next): nothing is decoded or compared
        for _ in range(2):
            clock[0] += 2
            events = await poller.poll_once()
        assert poller.partial and counts.take() == (0, 0)
        assert [type(e) for e in events] == [PollCompleted]

        # k running jobs finish: k items decoded, k jobs compared, k changes
        k = 5
        for wid in ws.running()[:k]:
            ws.jobs[wid]["status"] = {"code": 3, "name": "FAILED"}
        clock[0] += 2
        events = await poller.poll_once()
        assert counts.take() == (k, k) and events[-1].changed == k

        # the next read of the whole list, with k new jobs at its front (every item shifts)
        fresh = {
            f"new-{i}": {"workflowId": f"new-{i}", "status": {"code": 1, "name": "RUNNING"}}
            for i in range(k)
        }
        ws.jobs = {**fresh, **ws.jobs}
        clock[0] += 30
        events = await poller.poll_once()
        assert not poller.partial  # the whole list
        assert counts.take() == (k, k) and events[-1].changed == k
        # and with nothing changed since, the whole list again costs no decode, no comparison
        poller.refresh_now()
        await poller.poll_once()
        assert counts.take() == (0, 0)


@pytest.mark.parametrize("size", SIZES)
def test_k_changed_rows_are_merged_into_the_order_with_o_k_searches(monkeypatch, size):
    searches = [0]
    real = job_index.bisect_left

    def counted(*args, **kwargs):
        searches[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(job_index, "bisect_left", counted)
    index = JobIndex()
    done = Status(2, "COMPLETED")
    index.upsert(JobRow(f"j{i:06d}", done, "r", 1.0, float(i)) for i in range(size))
    assert len(index.order) == size and index.last_rebuild.full
    k = 20
    searches[0] = 0
    index.upsert(JobRow(f"j{i:06d}", Status(3, "FAILED"), "r", 1.0, 1e9 + i) for i in range(k))
    index.upsert(JobRow(f"new-{i}", Status(1, "RUNNING"), "r", 2e9, 2e9) for i in range(k))
    assert len(index.order) == size + k
    rebuild = index.last_rebuild
    # no sort of every row: k old entries out, 2k new ones in, each found by one binary search
    assert not rebuild.full and rebuild.moved == 3 * k
    assert searches[0] <= 3 * k
    assert index.keys(0, 3) == ["new-0", "new-1", "new-10"]  # same time: by workflowId
