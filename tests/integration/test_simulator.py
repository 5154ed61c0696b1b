"""The simulator over real loopback HTTP: auth, filtering, tokens, faults, scenarios, speed."""

from __future__ import annotations

import base64
import http.client
import re
import signal
import socket
import sys
import time

import httpx
import orjson
import pytest

from jobwatch.api.decode import parse_jobs
from jobwatch.errors import BadResponse
from jobwatch.simulator.faults import MALFORMED_KINDS, Faults
from jobwatch.simulator.hostile import EVIL, EVIL_WORKFLOW_ID
from jobwatch.simulator.names import HOSTILE_KINDS
from jobwatch.simulator.scenarios import (
    DEMO_MAX_JOBS,
    STATIC_JOBS,
    STATIC_ORGANIZATION_ID,
    STATIC_WORKSPACE_ID,
)
from jobwatch.simulator.server import Simulator, run_simulate
from tests.support.serving import serving

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class ManualClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock):
    with Simulator("static", clock=clock) as s:
        yield s


@pytest.fixture
def client():
    with httpx.Client(timeout=5.0) as c:
        yield c


def jobs_url(sim: Simulator, ws: str | None = None) -> str:
    return f"{sim.base_url}/v1/workspaces/{ws or sim.workspace_id}/background-jobs"


def auth(sim: Simulator, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or sim.token}", "organizationid": sim.organization_id}


def post_jobs(client, sim, job_ids=None, token=None) -> httpx.Response:
    body = {} if job_ids is None else {"jobIds": job_ids}
    return client.post(jobs_url(sim), json=body, headers=auth(sim, token))


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_error(response: httpx.Response, status: int, text: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "errorId"}
    assert UUID4.fullmatch(body["errorId"])
    if text is not None:
        assert text in body["error"]


# ----- the endpoints -----------------------------------------------------------------------


def test_all_jobs_are_the_static_set(sim, client):
    r = post_jobs(client, sim)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    expected = [
        {"workflowId": w, "status": {"code": c, "name": n}, "runId": run}
        for w, c, n, run in STATIC_JOBS
    ]
    assert r.json() == expected


def test_job_ids_filter_leaves_unknown_ids_out(sim, client):
    wanted = [STATIC_JOBS[2][0], "no-such-job", STATIC_JOBS[0][0], STATIC_JOBS[2][0]]
    r = post_jobs(client, sim, wanted)
    assert r.status_code == 200
    assert [j["workflowId"] for j in r.json()] == [STATIC_JOBS[2][0], STATIC_JOBS[0][0]]
    assert post_jobs(client, sim, ["nothing-here"]).json() == []
    assert post_jobs(client, sim, []).json() == []


def test_workspace_endpoint(sim, client):
    r = client.get(f"{sim.base_url}/v1/workspaces/{sim.workspace_id}", headers=auth(sim))
    assert r.status_code == 200
    assert r.json() == {
        "id": sim.workspace_id,
        "name": sim.workspace_name,
        "organizationId": sim.organization_id,
    }
    r = client.get(
        f"{sim.base_url}/v1/workspaces/{sim.workspace_id}",
        headers={"organizationid": sim.organization_id},
    )
    assert_error(r, 401)


def test_raw_api_key_is_accepted_as_bearer(sim, client):
    assert post_jobs(client, sim, token=sim.api_key).status_code == 200


def _bad_requests(sim: Simulator):
    good = auth(sim)
    unknown_ws = "00000000-0000-4000-8000-000000000000"
    return {
        "no auth": (
            jobs_url(sim),
            {"organizationid": sim.organization_id},
            b"{}",
            401,
            "Authorization",
        ),
        "basic scheme": (
            jobs_url(sim),
            {**good, "Authorization": "Basic abc"},
            b"{}",
            401,
            "Bearer",
        ),
        "unknown token": (jobs_url(sim), auth(sim, "eyJ.eyJ.sig"), b"{}", 401, "invalid token"),
        "other workspace token": (
            jobs_url(sim),
            auth(sim, sim.other_token),
            b"{}",
            401,
            "workspace mismatch",
        ),
        "own token on other workspace": (
            jobs_url(sim, sim.other_workspace_id),
            good,
            b"{}",
            401,
            "workspace mismatch",
        ),
        "unknown workspace": (jobs_url(sim, unknown_ws), good, b"{}", 404, "workspace not found"),
        "no organizationid": (
            jobs_url(sim),
            {"Authorization": good["Authorization"]},
            b"{}",
            400,
            "organizationid",
        ),
        "wrong organizationid": (
            jobs_url(sim),
            {**good, "organizationid": unknown_ws},
            b"{}",
            403,
            None,
        ),
        "no content type": (jobs_url(sim), good, b"{}", 400, "Content-Type"),
        "not json": (
            jobs_url(sim),
            {**good, "Content-Type": "application/json"},
            b"{jobIds",
            400,
            "JSON",
        ),
        "array body": (
            jobs_url(sim),
            {**good, "Content-Type": "application/json"},
            b"[]",
            400,
            "object",
        ),
        "jobIds string": (
            jobs_url(sim),
            {**good, "Content-Type": "application/json"},
            b'{"jobIds": "a"}',
            400,
            "jobIds",
        ),
        "jobIds numbers": (
            jobs_url(sim),
            {**good, "Content-Type": "application/json"},
            b'{"jobIds": [1]}',
            400,
            "jobIds",
        ),
        "jobIds null": (
            jobs_url(sim),
            {**good, "Content-Type": "application/json"},
            b'{"jobIds": null}',
            400,
            "jobIds",
        ),
    }


BAD_REQUEST_CASES = list(_bad_requests(Simulator("static")))


@pytest.mark.parametrize("case", BAD_REQUEST_CASES)
def test_request_checks(sim, client, case):
    url, headers, body, status, text = _bad_requests(sim)[case]
    assert_error(client.post(url, content=body, headers=headers), status, text)


def test_workspace_endpoint_checks_org_and_workspace(sim, client):
    url = f"{sim.base_url}/v1/workspaces/{sim.workspace_id}"
    assert_error(
        client.get(url, headers={**auth(sim), "organizationid": sim.other_organization_id}), 403
    )
    assert_error(client.get(url, headers={"Authorization": f"Bearer {sim.token}"}), 400)
    other = f"{sim.base_url}/v1/workspaces/{sim.other_workspace_id}"
    assert_error(client.get(other, headers=auth(sim)), 401, "workspace mismatch")


def test_unknown_path_and_wrong_method(sim, client):
    assert_error(client.get(f"{sim.base_url}/v2/nothing", headers=auth(sim)), 404)
    r = client.get(jobs_url(sim), headers=auth(sim))
    assert_error(r, 405)
    assert r.headers["allow"] == "POST"


def test_connection_is_kept_alive(sim):
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    headers = {**auth(sim), "Content-Type": "application/json"}
    conn.request(
        "POST", f"/v1/workspaces/{sim.workspace_id}/background-jobs", body=b"{}", headers=headers
    )
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    conn.request(
        "POST", f"/v1/workspaces/{sim.workspace_id}/background-jobs", body=b"{}", headers=headers
    )
    second = conn.getresponse()
    assert second.status == 200 and len(second.read()) == int(second.headers["Content-Length"])
    assert conn.sock is sock and sock is not None
    conn.close()


# ----- tokens ------------------------------------------------------------------------------


def exchange(client, sim, key=None) -> httpx.Response:
    return client.post(
        f"{sim.base_url}/workspaces/{sim.workspace_id}/generate-access-key-token",
        json={},
        headers={"x-api-key": key or sim.api_key},
    )


def test_fixed_token_is_jwt_shaped(sim):
    claims = jwt_claims(sim.token)
    assert claims["ws"] == sim.workspace_id
    assert claims["exp"] > time.time() + 10 * 365 * 86400


def test_token_exchange_and_expiry(sim, client, clock):
    sim.token_ttl = 600
    r = exchange(client, sim)
    assert r.status_code == 200
    token = r.json()["token"]
    claims = jwt_claims(token)
    assert claims["exp"] == int(clock.now + 600)
    assert claims["ws"] == sim.workspace_id
    assert post_jobs(client, sim, token=token).status_code == 200
    clock.advance(599)
    assert post_jobs(client, sim, token=token).status_code == 200
    clock.advance(1)
    assert_error(post_jobs(client, sim, token=token), 401, "expired")
    assert exchange(client, sim).json()["token"] != token


def test_exchange_refuses_a_wrong_key(sim, client):
    assert_error(exchange(client, sim, key="sk-sharely-nope"), 401)
    r = client.post(
        f"{sim.base_url}/workspaces/{sim.workspace_id}/generate-access-key-token", json={}
    )
    assert_error(r, 401)


def test_revoke_then_exchange_again(sim, client):
    issued = exchange(client, sim).json()["token"]
    sim.revoke_token()
    assert_error(post_jobs(client, sim), 401)
    assert_error(post_jobs(client, sim, token=issued), 401)
    fresh = exchange(client, sim).json()["token"]
    assert post_jobs(client, sim, token=fresh).status_code == 200
    sim.revoke_token(allow_new_tokens=False)
    assert_error(exchange(client, sim), 401)
    assert_error(post_jobs(client, sim, token=sim.api_key), 401)


# ----- faults ------------------------------------------------------------------------------


def test_error_rate_answers_with_error_status_and_retry_after(sim, client):
    sim.faults.error_rate = 1.0
    sim.faults.error_status = 502
    sim.faults.retry_after = "7"
    r = post_jobs(client, sim)
    assert_error(r, 502)
    assert r.headers["retry-after"] == "7"


def _error_pattern(seed: int) -> list[int]:
    with Simulator("static", seed=seed, faults=Faults(error_rate=0.5)) as s, httpx.Client() as c:
        return [post_jobs(c, s).status_code for _ in range(40)]


def test_error_rate_is_a_fraction_and_deterministic():
    pattern = _error_pattern(3)
    assert 8 <= pattern.count(503) <= 32
    assert set(pattern) == {200, 503}
    assert _error_pattern(3) == pattern


def test_rate_limit_every_nth_request(sim, client):
    sim.faults.rate_limit_every = 3
    statuses = []
    for _ in range(6):
        r = post_jobs(client, sim)
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["retry-after"] == "1"
            assert_error(r, 429)
    assert statuses == [200, 200, 429, 200, 200, 429]


def test_latency_delays_the_answer(sim, client):
    sim.faults.latency = 0.25
    start = time.perf_counter()
    assert post_jobs(client, sim).status_code == 200
    assert time.perf_counter() - start >= 0.25


def test_stall_triggers_a_read_timeout(sim):
    sim.faults.stall = 2.0
    with httpx.Client(timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        post_jobs(c, sim)
    sim.faults.stall = 0
    with httpx.Client(timeout=2) as c:
        assert post_jobs(c, sim).status_code == 200


def test_down_drops_connections_and_recovers(sim, client):
    assert post_jobs(client, sim).status_code == 200
    sim.faults.down = True
    with pytest.raises(httpx.TransportError):
        post_jobs(client, sim)
    sim.faults.down = False
    assert post_jobs(client, sim).status_code == 200


def test_fail_next_queue(sim, client):
    sim.fail_next(503, count=2, headers={"Retry-After": "3"})
    sim.fail_next(500, body={"error": "boom", "message": "old style", "details": None})
    first, second, third = (post_jobs(client, sim) for _ in range(3))
    assert_error(first, 503)
    assert first.headers["retry-after"] == "3"
    assert_error(second, 503)
    assert third.status_code == 500
    assert third.json() == {"error": "boom", "message": "old style", "details": None}
    assert post_jobs(client, sim).status_code == 200


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_bodies(sim, client, kind):
    good = post_jobs(client, sim).content
    sim.faults.malformed = kind
    r = post_jobs(client, sim)
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(r.content)
    if kind == "truncated":
        assert 0 < len(r.content) < len(good) and good.startswith(r.content)
    if kind == "duplicate":
        ids = [j["workflowId"] for j in r.json()]
        assert len(ids) == len(set(ids)) + 1
        return
    with pytest.raises(BadResponse):
        parse_jobs(r.content)


def test_malformed_also_breaks_filtered_and_empty_answers(client):
    with Simulator("empty", faults=Faults(malformed="code_not_number")) as s:
        with pytest.raises(BadResponse, match="status.code"):
            parse_jobs(post_jobs(client, s, ["x"]).content)
        s.faults.malformed = None
        assert post_jobs(client, s).json() == []


def test_faults_reject_unknown_kinds():
    with pytest.raises(ValueError, match="malformed"):
        Faults(malformed="garbled")
    faults = Faults()
    with pytest.raises(ValueError):
        faults.malformed = "garbled"
    with pytest.raises(ValueError, match="scenario"):
        Simulator("nope")


# ----- hostile answers -----------------------------------------------------------------------


def raw_jobs_request(sim, timeout=5.0) -> socket.socket:
    """Send a background-jobs request on a raw socket (to read exactly what comes back)."""
    body = b"{}"
    head = (
        f"POST /v1/workspaces/{sim.workspace_id}/background-jobs HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {sim.token}\r\n"
        f"organizationid: {sim.organization_id}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", sim.port), timeout=timeout)
    sock.sendall(head.encode() + body)
    return sock


def test_hostile_escapes_are_in_every_text_field(sim, client):
    sim.faults.hostile = "escapes"
    jobs = post_jobs(client, sim).json()
    assert len(jobs) == len(STATIC_JOBS) + 1
    assert all(j["runId"].startswith(EVIL) and j["status"]["name"].startswith(EVIL) for j in jobs)
    assert jobs[-1]["workflowId"] == EVIL_WORKFLOW_ID
    name = client.get(f"{sim.base_url}/v1/workspaces/{sim.workspace_id}", headers=auth(sim)).json()[
        "name"
    ]
    assert name == EVIL + sim.workspace_name
    error = post_jobs(client, sim, token="wrong").json()
    assert all(error[k].startswith(EVIL) for k in ("error", "message", "errorId"))
    for part in ("\x1b]52;c;", "\x1b]0;", "\x1b[2J", "\x9b", "\u202e", "\u2066", "\u200b"):
        assert part in EVIL


def test_hostile_huge_field_deep_nesting_and_huge_ints(sim, client):
    sim.faults.hostile = "huge_field"
    first = post_jobs(client, sim).json()[0]
    assert len(first["workflowId"]) == len(first["runId"]) == 100_000
    sim.faults.hostile = "deep_nesting"
    body = post_jobs(client, sim).content
    assert b"[" * 1000 + b"]" * 1000 in body and b"[" * 1001 not in body
    sim.faults.hostile = "huge_int"
    assert post_jobs(client, sim).json()[0]["status"]["code"] == 2**64 - 1
    sim.faults.hostile = "beyond_int64"
    assert b'"code":9223372036854775808' in post_jobs(client, sim).content


@pytest.mark.parametrize(
    ("kind", "size"), [("gzip_bomb_1mb", 1 << 20), ("gzip_bomb_10mb", 10 << 20)]
)
def test_hostile_gzip_bombs_are_valid_gzip_that_inflates_a_thousandfold(sim, kind, size):
    import zlib

    sim.faults.hostile = kind
    with raw_jobs_request(sim) as sock:
        answer = sock.makefile("rb")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += answer.read(1)
        assert b"Content-Encoding: gzip" in head
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        assert size * 0.99 < length <= size
        body = answer.read(length)
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    start = inflate.decompress(body[:65536])
    assert start.startswith(b"[   ") and len(start) > 1000 * 65536  # 64 KB -> 63 MiB


def test_hostile_gzip_bomb_checks_out_whole():
    import gzip

    from jobwatch.simulator.hostile import gzip_bomb

    small = gzip.decompress(gzip_bomb(64 * 1024))  # checks the CRC-32 and the size
    assert small.startswith(b"[ ") and small.endswith(b" ]") and len(small) > 60 << 20


def test_hostile_endless_body_never_ends(sim):
    sim.faults.hostile = "endless"
    with raw_jobs_request(sim) as sock:
        received = 0
        while received < 20 << 20:
            chunk = sock.recv(1 << 20)
            assert chunk, "the body ended"
            received += len(chunk)
    assert sim.port is not None


@pytest.mark.parametrize("kind", ["trickle", "slow_headers"])
def test_hostile_trickles_one_byte_per_delay(sim, kind):
    sim.faults.hostile = kind
    sim.faults.trickle_delay = 0.02
    with raw_jobs_request(sim) as sock:
        data = sock.recv(1)
        if kind == "trickle":
            while b"\r\n\r\n" not in data:
                data += sock.recv(1)
        started = time.monotonic()
        head = len(data)
        while len(data) < head + 20:
            data += sock.recv(100)
        took = time.monotonic() - started
    assert took > 0.3  # 20 bytes at 0.02 s each
    assert data.startswith(b"HTTP/1.1 200")


def test_hostile_retry_after(sim, client):
    sim.faults.hostile = "retry_after"
    r = post_jobs(client, sim)
    assert r.status_code == 429 and r.headers["retry-after"] == "999999999"


def test_hostile_kinds_are_checked_and_switch_off():
    with pytest.raises(ValueError, match="hostile"):
        Faults(hostile="nasty")
    assert set(HOSTILE_KINDS) >= {"escapes", "gzip_bomb_10mb", "endless", "trickle"}
    with Simulator("empty", faults=Faults(hostile="huge_int")) as s, httpx.Client() as c:
        s.add_job("a")
        assert post_jobs(c, s).json()[0]["workflowId"] == "huge-int"
        s.faults.hostile = None
        assert [j["workflowId"] for j in post_jobs(c, s).json()] == ["a"]


# ----- test helpers ------------------------------------------------------------------------


def test_helpers_change_what_is_served_and_requests_are_logged(sim, client):
    wid = STATIC_JOBS[0][0]
    sim.set_status(wid, 2, run_id="run-2")
    run = sim.add_job("role-create-new", code=1)
    assert sim.remove_job(STATIC_JOBS[1][0])
    served = {
        j["workflowId"]: j
        for j in post_jobs(client, sim, [wid, "role-create-new", STATIC_JOBS[1][0]]).json()
    }
    assert served == {
        wid: {"workflowId": wid, "status": {"code": 2, "name": "COMPLETED"}, "runId": "run-2"},
        "role-create-new": {
            "workflowId": "role-create-new",
            "status": {"code": 1, "name": "RUNNING"},
            "runId": run,
        },
    }
    assert any(j["workflowId"] == "role-create-new" for j in post_jobs(client, sim).json())
    assert sim.request_count == 2
    assert sim.requests == [
        (
            "POST",
            f"/v1/workspaces/{sim.workspace_id}/background-jobs",
            [wid, "role-create-new", STATIC_JOBS[1][0]],
        ),
        ("POST", f"/v1/workspaces/{sim.workspace_id}/background-jobs", None),
    ]
    with pytest.raises(KeyError):
        sim.set_status("missing", 2)


def test_stop_refuses_connections(clock):
    s = Simulator("static", clock=clock)
    s.start()
    port = s.port
    with httpx.Client() as c:
        assert post_jobs(c, s).status_code == 200
        s.stop()
        with pytest.raises(httpx.ConnectError):
            c.post(f"http://127.0.0.1:{port}/v1/workspaces/x/background-jobs", json={})


def test_only_loopback():
    with pytest.raises(ValueError):
        Simulator("empty").start(host="0.0.0.0")


# ----- scenarios ---------------------------------------------------------------------------


def test_static_scenario_covers_every_status_and_never_changes(sim, clock):
    before = sim.jobs_snapshot()
    codes = {j["status"]["code"] for j in before}
    names = {j["status"]["name"] for j in before}
    assert {1, 2, 3, 4, 5, 6, 7, 9} <= codes
    assert {"CANCELLED", "CANCELED", "PAUSED"} <= names
    clock.advance(10_000)
    assert sim.jobs_snapshot() == before
    again = Simulator("static", seed=42)
    assert (again.workspace_id, again.organization_id, again.token) == (
        sim.workspace_id,
        sim.organization_id,
        sim.token,
    )
    assert again.jobs_snapshot() == before


def test_demo_progresses_with_the_clock(clock, client):
    with Simulator("demo", seed=1, clock=clock) as s:
        first = {j["workflowId"]: j for j in post_jobs(client, s).json()}
        assert len(first) == 18
        assert {j["workflowId"].rsplit("-", 1)[0] for j in first.values()} >= {
            "taxonomy-publish",
            "role-assignment",
            "cascade-delete-knowledge",
            "role-create",
            "knowledge-create",
        }
        runs: dict[str, list[tuple[int, str]]] = {}
        for _ in range(130):
            for j in post_jobs(client, s).json():
                seen = runs.setdefault(j["workflowId"], [])
                state = (j["status"]["code"], j["runId"])
                if not seen or seen[-1] != state:
                    seen.append(state)
            clock.advance(1.0)
        completed = [w for w in first if first[w]["status"]["code"] == 1 and runs[w][-1][0] == 2]
        assert completed
        chains = [w for w, seen in runs.items() if any(code == 6 for code, _ in seen)]
        assert len(chains) == 1
        chain = runs[chains[0]]
        assert [code for code, _ in chain] == [1, 6, 1, 6, 1, 2]
        assert len({run for _, run in chain}) == 3
        assert chain[1][1] == chain[0][1] and chain[2][1] != chain[1][1]
        assert 18 + 6 <= len(runs) <= 18 + 13
        clock.advance(600)
        final = s.jobs_snapshot()
        assert {3, 4, 5, 7} <= {j["status"]["code"] for j in final}
        clock.advance(3600)
        assert len(s.jobs_snapshot()) == DEMO_MAX_JOBS


def test_demo_speed_multiplies_time(clock):
    slow = Simulator("demo", seed=1, clock=clock)
    fast = Simulator("demo", seed=1, clock=clock, speed=10.0)
    clock.advance(60)
    assert len(fast.jobs_snapshot()) > len(slow.jobs_snapshot())


def test_demo_is_deterministic_for_a_seed():
    a_clock, b_clock = ManualClock(), ManualClock()
    a = Simulator("demo", seed=5, clock=a_clock)
    b = Simulator("demo", seed=5, clock=b_clock)
    assert (a.workspace_id, a.organization_id, a.api_key, a.token) == (
        b.workspace_id,
        b.organization_id,
        b.api_key,
        b.token,
    )
    for _ in range(200):
        a_clock.advance(1.0)
        a.jobs_snapshot()
    b_clock.advance(200.0)
    assert a.jobs_snapshot() == b.jobs_snapshot()
    c = Simulator("demo", seed=6, clock=ManualClock())
    assert c.workspace_id != a.workspace_id
    assert {j["workflowId"] for j in c.jobs_snapshot()}.isdisjoint(
        {j["workflowId"] for j in Simulator("demo", seed=5).jobs_snapshot()}
    )


def test_bulk_100k_builds_and_serves_fast(client):
    start = time.perf_counter()
    with Simulator("bulk", jobs=100_000, seed=2) as s:
        r = post_jobs(client, s)
        elapsed = time.perf_counter() - start
        assert r.status_code == 200
        jobs = parse_jobs(r.content)
        assert elapsed < 3.0
        assert len(jobs) == len({j.workflow_id for j in jobs}) == 100_000
        running = sum(j.status.code == 1 for j in jobs)
        assert 0.7 * 100_000 < running < 0.9 * 100_000
        assert {j.status.code for j in jobs} == {1, 2, 3, 4, 5, 6, 7}

        changed = s.churn(0.01)
        assert changed == round(running * 0.01)
        after = {j.workflow_id: j for j in parse_jobs(post_jobs(client, s).content)}
        differ = sum(1 for j in jobs if after[j.workflow_id] != j)
        assert differ == changed


def test_bulk_is_deterministic_and_sized():
    a, b = Simulator("bulk", jobs=500, seed=9), Simulator("bulk", jobs=500, seed=9)
    assert a.jobs_snapshot() == b.jobs_snapshot()
    assert len(a.jobs_snapshot()) == 500
    assert Simulator("bulk", jobs=500, seed=10).jobs_snapshot() != a.jobs_snapshot()


def test_empty_scenario(client):
    with Simulator("empty") as s:
        r = post_jobs(client, s)
        assert r.status_code == 200 and r.content == b"[]"


# ----- run_simulate ------------------------------------------------------------------------


def test_run_simulate_reports_a_busy_port(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert run_simulate(busy.getsockname()[1], "static", 10, 0) == 2
    err = capsys.readouterr().err
    assert "already in use" in err and len(err.strip().splitlines()) == 1


def test_run_simulate_refuses_an_unknown_hostile_kind(capsys):
    assert run_simulate(0, "static", 10, 0, hostile="nasty") == 2
    err = capsys.readouterr().err
    assert "unknown hostile kind 'nasty'" in err and "gzip_bomb_10mb" in err


def test_run_simulate_serves_until_ctrl_c():
    code = "from jobwatch.simulator.server import run_simulate; raise SystemExit(run_simulate(0, 'static', 10, 0))"
    with serving([sys.executable, "-c", code]) as served:
        assert f"--workspace-id {STATIC_WORKSPACE_ID}" in served.banner
        assert "jobwatch wait --base-url " + served.base_url in served.banner
        r = httpx.post(
            f"{served.base_url}/v1/workspaces/{STATIC_WORKSPACE_ID}/background-jobs",
            json={"jobIds": [STATIC_JOBS[0][0]]},
            headers={
                "Authorization": f"Bearer {served.token}",
                "organizationid": STATIC_ORGANIZATION_ID,
            },
        )
        assert r.status_code == 200 and len(r.json()) == 1
        served.proc.send_signal(signal.SIGINT)
        _, err = served.proc.communicate(timeout=10)
        assert served.proc.returncode == 0
        assert "Traceback" not in err and err == ""
