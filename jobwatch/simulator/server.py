"""An embedded stand-in for the Sharely background-jobs API, served over loopback HTTP.

`Simulator` runs a stdlib ThreadingHTTPServer on 127.0.0.1 in a daemon thread and speaks the
API of docs/shared/sharely-api.md: the background-jobs endpoint, the workspace endpoint and the
API-key exchange, with the same auth checks and `{"error", "errorId"}` error bodies. Scenarios
("demo", "bulk", "static", "empty") fill it with jobs; `Faults` injects errors, rate limits,
latency, stalls, malformed bodies and dropped connections at runtime. Everything random comes
from RNGs seeded by `seed`, so a scenario is the same on every run.

`run_simulate()` is the body of `jobwatch simulate`: it serves in the foreground until Ctrl-C.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import heapq
import hmac
import http.server
import random
import re
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import orjson

from jobwatch.models import API_NAMES

MALFORMED_KINDS = (
    "truncated",
    "not_json",
    "object",
    "no_workflow_id",
    "status_not_object",
    "code_not_number",
    "duplicate",
)
SCENARIOS = ("demo", "bulk", "static", "empty")

DEMO_MAX_JOBS = 60
MAX_BODY_BYTES = 16 * 1024 * 1024
FIXED_TOKEN_EXP = 4102444800  # 2100-01-01: the printed token never expires
_FIXED_IAT = 1735689600

_JOBS_PATH = re.compile(r"/v1/workspaces/([^/]+)/background-jobs/?")
_WORKSPACE_PATH = re.compile(r"/v1/workspaces/([^/]+)/?")
_EXCHANGE_PATH = re.compile(r"/workspaces/([^/]+)/generate-access-key-token/?")

# kind -> (shortest, longest) planned duration in seconds
_KINDS: dict[str, tuple[float, float]] = {
    "taxonomy-publish": (30.0, 300.0),
    "role-assignment": (5.0, 40.0),
    "role-create": (5.0, 40.0),
    "role-delete": (5.0, 30.0),
    "cascade-delete-knowledge": (20.0, 150.0),
    "knowledge-create": (10.0, 90.0),
}
_KIND_NAMES = tuple(_KINDS)

# The 18 jobs the demo starts with: (kind, final code, plan). Plans: "done" finished before
# watching started, "live" runs and ends while watching, "chain" continues as new twice.
_DEMO_START: tuple[tuple[str, int, str], ...] = (
    ("taxonomy-publish", 2, "done"),
    ("role-create", 2, "done"),
    ("knowledge-create", 2, "done"),
    ("role-assignment", 3, "done"),
    ("cascade-delete-knowledge", 2, "done"),
    ("taxonomy-publish", 2, "live"),
    ("taxonomy-publish", 2, "chain"),
    ("role-assignment", 2, "live"),
    ("role-assignment", 2, "live"),
    ("role-create", 3, "live"),
    ("knowledge-create", 7, "live"),
    ("cascade-delete-knowledge", 5, "live"),
    ("knowledge-create", 2, "live"),
    ("role-delete", 2, "live"),
    ("cascade-delete-knowledge", 2, "live"),
    ("role-assignment", 4, "live"),
    ("taxonomy-publish", 3, "live"),
    ("role-create", 2, "live"),
)
# Outcomes of jobs that arrive while watching: (cumulative probability, code)
_ARRIVAL_OUTCOMES = ((0.80, 2), (0.92, 3), (0.95, 4), (0.97, 5), (1.0, 7))

STATIC_WORKSPACE_ID = "3f1c9a7e-5b2d-4c8e-9a41-7d2e6b0f8c13"
STATIC_ORGANIZATION_ID = "8b4e2d10-6f3a-4e71-b5c9-2a9d7e1f4c60"
STATIC_API_KEY = "sk-sharely-static0c5e8f1a2b3c4d5e6f708192a3b4c5d6"
# workflowId, code, name, runId
STATIC_JOBS: tuple[tuple[str, int, str, str], ...] = (
    ("role-create-0a1b2c3d", 1, "RUNNING", "0190f3a2-6c1d-7a4e-9b20-3d5f8e1c2a41"),
    ("taxonomy-publish-1f2e3d4c", 2, "COMPLETED", "0190f3a2-7d2e-7b5f-8c31-4e6a9f2d3b52"),
    ("knowledge-create-2b3c4d5e", 3, "FAILED", "0190f3a2-8e3f-7c60-9d42-5f7b0a3e4c63"),
    ("role-delete-3c4d5e6f", 4, "CANCELLED", "0190f3a2-9f40-7d71-ae53-608c1b4f5d74"),
    ("role-assignment-4d5e6f70", 4, "CANCELED", "0190f3a2-a051-7e82-bf64-719d2c506e85"),
    ("cascade-delete-knowledge-5e6f7081", 5, "TERMINATED", "0190f3a2-b162-7f93-8075-82ae3d617f96"),
    ("taxonomy-publish-6f708192", 6, "CONTINUED_AS_NEW", "0190f3a2-c273-70a4-9186-93bf4e7280a7"),
    ("knowledge-create-708192a3", 7, "TIMED_OUT", "0190f3a2-d384-71b5-a297-a4c05f8391b8"),
    ("role-assignment-8192a3b4", 9, "PAUSED", "0190f3a2-e495-72c6-b3a8-b5d16094a2c9"),
    ("role-create-92a3b4c5", 0, "UNSPECIFIED", "0190f3a2-f5a6-73d7-84b9-c6e271a5b3da"),
    ("knowledge-create-a3b4c5d6", 1, "RUNNING", "0190f3a3-06b7-74e8-95ca-d7f382b6c4eb"),
    ("role-assignment-b4c5d6e7", 2, "COMPLETED", "0190f3a3-17c8-75f9-a6db-e80493c7d5fc"),
)

_STATUS_CACHE: dict[tuple[int, str], dict] = {}


def _status(code: int, name: str | None = None) -> dict:
    """A shared, never-mutated status object; jobs point at these."""
    if name is None:
        name = API_NAMES.get(code, "UNKNOWN")
    key = (code, name)
    st = _STATUS_CACHE.get(key)
    if st is None:
        st = _STATUS_CACHE[key] = {"code": code, "name": name}
    return st


def _uuid4(rng: random.Random) -> str:
    n = rng.getrandbits(128)
    n = (n & ~(0xF << 76)) | (4 << 76)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Faults:
    """Faults injected into answers; change any field while the server runs."""

    error_rate: float = 0.0
    error_status: int = 503
    retry_after: str | None = None
    rate_limit_every: int = 0
    latency: float = 0.0
    malformed: str | None = None
    down: bool = False
    stall: float = 0.0

    def __setattr__(self, name: str, value: object) -> None:
        if name == "malformed" and value is not None and value not in MALFORMED_KINDS:
            raise ValueError(
                f"unknown malformed kind {value!r}; choose one of {', '.join(MALFORMED_KINDS)}"
            )
        if name == "error_rate" and not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
            raise ValueError("error_rate must be between 0 and 1")
        super().__setattr__(name, value)


class _Drop:
    """Marker answer: close the connection without a response."""


_DROP = _Drop()
_Response = tuple[int, list[tuple[str, str]], bytes]


class Simulator:
    """A loopback HTTP server that answers like the Sharely API, with scenarios and faults."""

    def __init__(
        self,
        scenario: str = "demo",
        *,
        seed: int = 0,
        jobs: int = 100,
        faults: Faults | None = None,
        clock: Callable[[], float] | None = None,
        speed: float = 1.0,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
        if jobs < 0:
            raise ValueError("jobs must be zero or more")
        self.scenario = scenario
        self.seed = seed
        self.faults = faults if faults is not None else Faults()
        self.speed = speed
        self.token_ttl: float = 86400.0
        self.allow_new_tokens = True
        # bulk only: churn `churn_fraction` of RUNNING jobs every `churn_every` simulated seconds
        self.churn_every: float = 0.0
        self.churn_fraction: float = 0.01
        self.max_logged_requests = 2000
        self.lock = threading.RLock()

        self._clock = clock
        self._t0 = clock() if clock is not None else time.monotonic()
        # the static scenario is the same whatever the seed: fixed IDs, keys and tokens
        id_seed = "static" if scenario == "static" else seed
        self._rng_ids = random.Random(f"jobwatch-simulator:ids:{id_seed}")
        self._rng_jobs = random.Random(f"jobwatch-simulator:jobs:{seed}")
        self._rng_faults = random.Random(f"jobwatch-simulator:faults:{seed}")
        self._rng_errors = random.Random(f"jobwatch-simulator:errors:{seed}")

        if scenario == "static":
            self.workspace_id = STATIC_WORKSPACE_ID
            self.organization_id = STATIC_ORGANIZATION_ID
            self.api_key = STATIC_API_KEY
            self.workspace_name = "Static Test Workspace"
        else:
            self.workspace_id = _uuid4(self._rng_ids)
            self.organization_id = _uuid4(self._rng_ids)
            self.api_key = f"sk-sharely-{self._rng_ids.getrandbits(160):040x}"
            self.workspace_name = (
                "Acme Help Center" if scenario == "demo" else f"Simulated {scenario}"
            )
        # A second workspace the server knows, to answer "workspace mismatch" like the real API.
        self.other_workspace_id = _uuid4(self._rng_ids)
        self.other_organization_id = _uuid4(self._rng_ids)
        self._secret = hashlib.sha256(f"jobwatch-simulator:secret:{id_seed}".encode()).digest()
        self._subject = f"user_{self._rng_ids.getrandbits(64):016x}"
        self._workspaces: dict[str, tuple[str, str]] = {
            self.workspace_id: (self.workspace_name, self.organization_id),
            self.other_workspace_id: ("Other Workspace", self.other_organization_id),
        }
        self.token = self._make_jwt(
            self.workspace_id, self.organization_id, _FIXED_IAT, FIXED_TOKEN_EXP
        )
        self.other_token = self._make_jwt(
            self.other_workspace_id, self.other_organization_id, _FIXED_IAT, FIXED_TOKEN_EXP
        )
        # token -> (workspace it belongs to, expiry on the simulator clock)
        self._tokens: dict[str, tuple[str, float]] = {
            self.token: (self.workspace_id, float(FIXED_TOKEN_EXP)),
            self.other_token: (self.other_workspace_id, float(FIXED_TOKEN_EXP)),
        }

        self._jobs: dict[str, dict] = {}
        self._gen: dict[str, int] = {}
        self._gen_counter = 0
        self._heap: list[tuple[float, int, str | None, int, int, str | None]] = []
        self._seq = 0
        self._version = 0
        self._all_cache: tuple[int, bytes] | None = None
        self._churns_done = 0

        self._fail_queue: deque[tuple[int, object, Mapping[str, str] | None]] = deque()
        self._jobs_requests = 0
        self.request_count = 0
        self._requests: deque[tuple[str, str, list[str] | None]] = deque()

        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.base_url: str | None = None

        build = {
            "demo": self._build_demo,
            "bulk": lambda: self._build_bulk(jobs),
            "static": self._build_static,
            "empty": lambda: None,
        }[scenario]
        build()

    # ----- time and tokens -------------------------------------------------------------------

    def _now(self) -> float:
        """Epoch-like time for token expiry (the injected clock when given)."""
        return self._clock() if self._clock is not None else time.time()

    def _sim_time(self) -> float:
        """Seconds of scenario time since the simulator was created."""
        now = self._clock() if self._clock is not None else time.monotonic()
        return (now - self._t0) * self.speed

    def _make_jwt(self, ws: str, org: str, iat: int, exp: int, jti: str | None = None) -> str:
        header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        claims: dict[str, object] = {
            "sub": self._subject,
            "ws": ws,
            "org": org,
            "iat": iat,
            "exp": exp,
        }
        if jti is not None:
            claims["jti"] = jti
        payload = _b64(orjson.dumps(claims))
        signing_input = f"{header}.{payload}".encode("ascii")
        signature = _b64(hmac.new(self._secret, signing_input, hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def issue_token(self, ttl: float | None = None) -> str:
        """A fresh access token for the workspace, as the API-key exchange would return."""
        with self.lock:
            now = self._now()
            exp = int(now + (self.token_ttl if ttl is None else ttl))
            jti = f"{self._rng_ids.getrandbits(64):016x}"
            token = self._make_jwt(self.workspace_id, self.organization_id, int(now), exp, jti)
            self._tokens[token] = (self.workspace_id, float(exp))
            return token

    def revoke_token(self, *, allow_new_tokens: bool = True) -> None:
        """Invalidate every token issued so far (the fixed `token` too).

        With allow_new_tokens (the default) the API key still works, so a client holding one can
        exchange it again; without, the key is refused too (as if it had been revoked).
        """
        with self.lock:
            self._tokens.clear()
            self.allow_new_tokens = allow_new_tokens

    # ----- scenarios -------------------------------------------------------------------------

    def _new_gen(self, wid: str) -> int:
        self._gen_counter += 1
        self._gen[wid] = self._gen_counter
        return self._gen_counter

    def _put(self, wid: str, code: int, run_id: str, name: str | None = None) -> None:
        self._jobs[wid] = {"workflowId": wid, "status": _status(code, name), "runId": run_id}
        self._new_gen(wid)

    def _schedule(
        self, at: float, wid: str | None, code: int = 0, run_id: str | None = None
    ) -> None:
        self._seq += 1
        gen = self._gen.get(wid, 0) if wid is not None else 0
        heapq.heappush(self._heap, (at, self._seq, wid, gen, code, run_id))

    def _new_workflow_id(self, kind: str) -> str:
        rng = self._rng_jobs
        while True:
            wid = f"{kind}-{rng.getrandbits(32):08x}"
            if wid not in self._jobs:
                return wid

    def _build_demo(self) -> None:
        rng = self._rng_jobs
        plan = list(_DEMO_START)
        rng.shuffle(plan)
        for kind, outcome, how in plan:
            wid = self._new_workflow_id(kind)
            run = _uuid4(rng)
            if how == "done":
                self._put(wid, outcome, run)
                continue
            self._put(wid, 1, run)
            lo, hi = _KINDS[kind]
            if how == "live":
                self._schedule(rng.uniform(lo, hi) * rng.uniform(0.3, 1.0), wid, outcome)
                continue
            t = rng.uniform(8.0, 14.0)
            for _ in range(2):
                self._schedule(t, wid, 6, run)
                run = _uuid4(rng)
                t += rng.uniform(2.5, 4.0)
                self._schedule(t, wid, 1, run)
                t += rng.uniform(20.0, 40.0)
            self._schedule(t, wid, outcome)
        self._schedule(rng.uniform(10.0, 20.0), None)

    def _demo_arrival(self, at: float) -> None:
        rng = self._rng_jobs
        kind = _KIND_NAMES[rng.randrange(len(_KIND_NAMES))]
        wid = self._new_workflow_id(kind)
        self._put(wid, 1, _uuid4(rng))
        x = rng.random()
        outcome = next(code for p, code in _ARRIVAL_OUTCOMES if x <= p)
        lo, hi = _KINDS[kind]
        self._schedule(at + rng.uniform(lo, hi), wid, outcome)
        if len(self._jobs) < DEMO_MAX_JOBS:
            self._schedule(at + rng.uniform(10.0, 20.0), None)

    def _build_bulk(self, count: int) -> None:
        rng = self._rng_jobs
        getrandbits = rng.getrandbits
        rand = rng.random
        jobs = self._jobs
        gen = self._gen
        self._gen_counter += 1
        g = self._gen_counter
        statuses = [_status(c) for c in range(8)]
        running = statuses[1]
        kinds = _KIND_NAMES
        nkinds = len(kinds)
        for _ in range(count):
            while True:
                wid = f"{kinds[getrandbits(16) % nkinds]}-{getrandbits(32):08x}"
                if wid not in jobs:
                    break
            x = rand()
            if x < 0.80:
                st = running
            elif x < 0.92:
                st = statuses[2]
            elif x < 0.96:
                st = statuses[3]
            else:
                st = statuses[4 + int((x - 0.96) * 100)]  # 4, 5, 6 or 7, 1% each
            jobs[wid] = {"workflowId": wid, "status": st, "runId": _uuid4(rng)}
            gen[wid] = g

    def _build_static(self) -> None:
        for wid, code, name, run in STATIC_JOBS:
            self._put(wid, code, run, name)

    def churn(self, fraction: float) -> int:
        """Change `fraction` of the RUNNING jobs (at least one if any): most complete, some fail,
        some continue as new under a fresh runId. Returns how many changed."""
        with self.lock:
            return self._churn(fraction)

    def _churn(self, fraction: float) -> int:
        running = [j for j in self._jobs.values() if j["status"]["code"] == 1]
        if not running or fraction <= 0:
            return 0
        rng = self._rng_jobs
        k = min(len(running), max(1, round(len(running) * fraction)))
        for job in rng.sample(running, k):
            x = rng.random()
            if x < 0.88:
                job["status"] = _status(2)
            elif x < 0.96:
                job["status"] = _status(3)
            else:
                job["runId"] = _uuid4(rng)
            self._gen_counter += 1
            self._gen[job["workflowId"]] = self._gen_counter
        self._version += 1
        return k

    def _advance(self) -> None:
        """Apply every scheduled change that is due on the scenario clock (lock held)."""
        if not self._heap and self.churn_every <= 0:
            return
        now = self._sim_time()
        changed = False
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, wid, gen, code, run_id = heapq.heappop(heap)
            if wid is None:
                if len(self._jobs) < DEMO_MAX_JOBS:
                    self._demo_arrival(at)
                    changed = True
                continue
            job = self._jobs.get(wid)
            if job is None or self._gen.get(wid) != gen:
                continue
            job["status"] = _status(code)
            if run_id is not None:
                job["runId"] = run_id
            changed = True
        if self.churn_every > 0:
            due = int(now // self.churn_every)
            for _ in range(min(due - self._churns_done, 10)):
                self._churn(self.churn_fraction)
            self._churns_done = max(self._churns_done, due)
        if changed:
            self._version += 1

    # ----- test helpers ----------------------------------------------------------------------

    def set_status(
        self, workflow_id: str, code: int, name: str | None = None, run_id: str | None = None
    ) -> None:
        """Set a job's status (and runId); cancels whatever the scenario planned for it."""
        with self.lock:
            job = self._jobs.get(workflow_id)
            if job is None:
                raise KeyError(workflow_id)
            job["status"] = _status(code, name)
            if run_id is not None:
                job["runId"] = run_id
            self._new_gen(workflow_id)
            self._version += 1

    def add_job(
        self, workflow_id: str, code: int = 1, run_id: str | None = None, name: str | None = None
    ) -> str:
        """Add a job at the end of the list; returns its runId."""
        with self.lock:
            if workflow_id in self._jobs:
                raise ValueError(f"job {workflow_id!r} already exists")
            if run_id is None:
                run_id = _uuid4(self._rng_ids)
            self._put(workflow_id, code, run_id, name)
            self._version += 1
            return run_id

    def remove_job(self, workflow_id: str) -> bool:
        with self.lock:
            if self._jobs.pop(workflow_id, None) is None:
                return False
            self._gen.pop(workflow_id, None)
            self._version += 1
            return True

    def job(self, workflow_id: str) -> dict | None:
        with self.lock:
            self._advance()
            job = self._jobs.get(workflow_id)
            return None if job is None else _copy_job(job)

    def jobs_snapshot(self) -> list[dict]:
        """Every job as the API would return it now (copies)."""
        with self.lock:
            self._advance()
            return [_copy_job(j) for j in self._jobs.values()]

    @property
    def requests(self) -> list[tuple[str, str, list[str] | None]]:
        """The last `max_logged_requests` requests: (method, path, jobIds or None)."""
        with self.lock:
            return list(self._requests)

    @property
    def jobs_request_count(self) -> int:
        return self._jobs_requests

    def fail_next(
        self,
        status: int,
        body: object = None,
        headers: Mapping[str, str] | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` background-jobs requests with `status`.

        body: None for the standard error body, bytes/str sent as is, anything else as JSON.
        """
        with self.lock:
            for _ in range(count):
                self._fail_queue.append((status, body, headers))

    # ----- server ----------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on loopback in a daemon thread; returns the base URL. Raises OSError if busy."""
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the simulator only listens on 127.0.0.1")
        if self._server is not None:
            assert self.base_url is not None
            return self.base_url
        server = _Server(("127.0.0.1", port), _Handler)
        server.sim = self
        self._stopping.clear()
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="jobwatch-simulator",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close every open connection (so the port refuses connections)."""
        server = self._server
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self.lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def port(self) -> int | None:
        return None if self._server is None else self._server.server_address[1]

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self.lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ----- request handling ------------------------------------------------------------------

    def _error(
        self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()
    ) -> _Response:
        with self.lock:
            error_id = _uuid4(self._rng_errors)
        body = orjson.dumps({"error": message, "errorId": error_id})
        return status, [("Content-Type", "application/json"), *headers], body

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Response | _Drop:
        path = urlsplit(raw_path).path
        jobs_match = _JOBS_PATH.fullmatch(path)
        job_ids = _peek_job_ids(body) if jobs_match and method == "POST" else None
        with self.lock:
            self.request_count += 1
            self._requests.append((method, path, job_ids))
            while len(self._requests) > self.max_logged_requests:
                self._requests.popleft()

        faults = self.faults
        if faults.down:
            return _DROP
        delay = max(faults.latency, 0.0) + max(faults.stall, 0.0)
        if delay > 0 and self._stopping.wait(delay):
            return _DROP

        if jobs_match:
            if method != "POST":
                return self._error(405, "Method Not Allowed", [("Allow", "POST")])
            return self._jobs_endpoint(jobs_match.group(1), headers, body)
        ws_match = _WORKSPACE_PATH.fullmatch(path)
        if ws_match:
            if method != "GET":
                return self._error(405, "Method Not Allowed", [("Allow", "GET")])
            return self._workspace_endpoint(ws_match.group(1), headers)
        ex_match = _EXCHANGE_PATH.fullmatch(path)
        if ex_match:
            if method != "POST":
                return self._error(405, "Method Not Allowed", [("Allow", "POST")])
            return self._exchange_endpoint(ex_match.group(1), headers)
        return self._error(404, "Not Found")

    def _check_access(self, ws: str, headers: Mapping[str, str]) -> _Response | None:
        auth = (headers.get("Authorization") or "").strip()
        scheme, _, credential = auth.partition(" ")
        credential = credential.strip()
        if not auth:
            return self._error(401, "missing Authorization header")
        if scheme.lower() != "bearer" or not credential:
            return self._error(401, "Authorization must be 'Bearer <token>'")
        with self.lock:
            if credential == self.api_key:
                if not self.allow_new_tokens:
                    return self._error(401, "API key revoked")
                token_ws = self.workspace_id
            else:
                entry = self._tokens.get(credential)
                if entry is None:
                    return self._error(401, "invalid token")
                token_ws, exp = entry
                if self._now() >= exp:
                    return self._error(401, "token expired")
            known = self._workspaces.get(ws)
        if known is None:
            return self._error(404, "workspace not found")
        if token_ws != ws:
            return self._error(401, "workspace mismatch")
        org = (headers.get("organizationid") or "").strip()
        if not org:
            return self._error(400, "missing organizationid header")
        if org.lower() != known[1]:
            return self._error(403, "organization does not own this workspace")
        return None

    def _workspace_endpoint(self, ws: str, headers: Mapping[str, str]) -> _Response:
        denied = self._check_access(ws, headers)
        if denied is not None:
            return denied
        name, org = self._workspaces[ws]
        body = orjson.dumps({"id": ws, "name": name, "organizationId": org})
        return 200, [("Content-Type", "application/json")], body

    def _exchange_endpoint(self, ws: str, headers: Mapping[str, str]) -> _Response:
        key = (headers.get("x-api-key") or "").strip()
        if not key:
            return self._error(401, "missing x-api-key header")
        if key != self.api_key or not self.allow_new_tokens:
            return self._error(401, "invalid API key")
        if ws not in self._workspaces:
            return self._error(404, "workspace not found")
        if ws != self.workspace_id:
            return self._error(401, "workspace mismatch")
        body = orjson.dumps({"token": self.issue_token()})
        return 200, [("Content-Type", "application/json")], body

    def _injected_failure(self) -> _Response | None:
        faults = self.faults
        with self.lock:
            self._jobs_requests += 1
            queued = self._fail_queue.popleft() if self._fail_queue else None
            limited = (
                faults.rate_limit_every > 0 and self._jobs_requests % faults.rate_limit_every == 0
            )
            erred = faults.error_rate > 0 and self._rng_faults.random() < faults.error_rate
        if queued is not None:
            status, body, extra = queued
            hdrs = [("Content-Type", "application/json")]
            if extra:
                hdrs = [h for h in hdrs if h[0].lower() not in {k.lower() for k in extra}]
                hdrs.extend(extra.items())
            if body is None:
                phrase = _phrase(status)
                return self._error(
                    status, phrase, [h for h in hdrs if h[0].lower() != "content-type"]
                )
            if isinstance(body, str):
                payload = body.encode("utf-8")
            elif isinstance(body, bytes):
                payload = body
            else:
                payload = orjson.dumps(body)
            return status, hdrs, payload
        if limited:
            return self._error(
                429, "Too Many Requests", [("Retry-After", faults.retry_after or "1")]
            )
        if erred:
            extra_headers = [("Retry-After", faults.retry_after)] if faults.retry_after else []
            return self._error(faults.error_status, _phrase(faults.error_status), extra_headers)
        return None

    def _jobs_endpoint(self, ws: str, headers: Mapping[str, str], body: bytes) -> _Response:
        failure = self._injected_failure()
        if failure is not None:
            return failure
        denied = self._check_access(ws, headers)
        if denied is not None:
            return denied
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self._error(400, "Content-Type must be application/json")
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self._error(400, "request body is not valid JSON")
        if not isinstance(request, dict):
            return self._error(400, "request body must be a JSON object")
        ids = request.get("jobIds")
        if "jobIds" in request and (
            not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)
        ):
            return self._error(400, "jobIds must be an array of strings")

        malformed = self.faults.malformed
        with self.lock:
            self._advance()
            if ws != self.workspace_id:
                selected: list[dict] = []
                payload = b"[]"
            elif ids is None:
                selected = list(self._jobs.values()) if malformed else []
                payload = self._all_jobs_body()
            else:
                jobs = self._jobs
                selected = [jobs[i] for i in dict.fromkeys(ids) if i in jobs]
                payload = orjson.dumps(selected)
            if malformed and malformed != "truncated":
                selected = [_copy_job(j) for j in selected]
        if malformed:
            return _malformed(malformed, selected, payload)
        return 200, [("Content-Type", "application/json")], payload

    def _all_jobs_body(self) -> bytes:
        cache = self._all_cache
        if cache is not None and cache[0] == self._version:
            return cache[1]
        body = orjson.dumps(list(self._jobs.values()))
        self._all_cache = (self._version, body)
        return body


def _copy_job(job: dict) -> dict:
    return {"workflowId": job["workflowId"], "status": dict(job["status"]), "runId": job["runId"]}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _peek_job_ids(body: bytes) -> list[str] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    ids = data.get("jobIds") if isinstance(data, dict) else None
    return list(ids) if isinstance(ids, list) else None


def _malformed(kind: str, jobs: list[dict], payload: bytes) -> _Response:
    json_type = [("Content-Type", "application/json")]
    if kind == "truncated":
        cut = max(0, min(len(payload) - 1, len(payload) // 2))
        return 200, json_type, payload[:cut]
    if kind == "not_json":
        html = (
            b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
        )
        return 200, [("Content-Type", "text/html; charset=utf-8")], html
    if kind == "object":
        return 200, json_type, orjson.dumps({"jobs": jobs})
    if not jobs:
        jobs = [
            {
                "workflowId": "role-create-00000000",
                "status": {"code": 1, "name": "RUNNING"},
                "runId": "",
            }
        ]
    first = jobs[0]
    if kind == "no_workflow_id":
        del first["workflowId"]
    elif kind == "status_not_object":
        first["status"] = first["status"]["name"]
    elif kind == "code_not_number":
        first["status"]["code"] = str(first["status"]["code"])
    elif kind == "duplicate":
        jobs.append(_copy_job(first))
    return 200, json_type, orjson.dumps(jobs)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sim: Simulator

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay silent: a client that hung up mid-answer is normal here."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "sharely-simulator"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.sim._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sim._track(self.connection, False)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._send(self.server.sim._error(code, message or _phrase(code)))

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        sim = self.server.sim
        try:
            try:
                body = self._read_body()
            except ValueError:
                self.close_connection = True
                self._send(sim._error(400, "unreadable request body"))
                return
            answer = sim._handle(self.command, self.path, self.headers, body)
            if isinstance(answer, _Drop):
                self._drop()
                return
            self._send(answer)
        except OSError:
            self.close_connection = True

    def _send(self, answer: _Response) -> None:
        status, headers, payload = answer
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        """Reset the connection (RST) instead of answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


def run_simulate(
    port: int,
    scenario: str,
    jobs: int,
    seed: int,
    error_rate: float = 0.0,
    latency: float = 0.0,
    rate_limit_every: int = 0,
    malformed: str | None = None,
) -> int:
    """Serve a simulator in the foreground until Ctrl-C; print how to point jobwatch at it."""
    try:
        faults = Faults(
            error_rate=error_rate,
            latency=latency,
            rate_limit_every=rate_limit_every,
            malformed=malformed,
        )
        sim = Simulator(scenario, seed=seed, jobs=jobs, faults=faults)
    except ValueError as exc:
        print(f"jobwatch simulate: {exc}", file=sys.stderr)
        return 2
    if scenario == "bulk":
        sim.churn_every = 2.0
    try:
        base_url = sim.start(port=port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"jobwatch simulate: port {port} on 127.0.0.1 is already in use; "
                "choose another with --port (0 picks a free one)",
                file=sys.stderr,
            )
        else:
            print(
                f"jobwatch simulate: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                file=sys.stderr,
            )
        return 2

    snapshot = sim.jobs_snapshot()
    example = next((j["workflowId"] for j in snapshot if j["status"]["code"] == 1), None)
    if example is None:
        example = snapshot[0]["workflowId"] if snapshot else "JOB_ID"
    conn = f"--base-url {base_url} --workspace-id {sim.workspace_id} --organization-id {sim.organization_id}"
    lines = [
        f"jobwatch simulator: scenario {scenario}, seed {seed}, {len(snapshot)} jobs, serving {base_url}",
        f"  workspace ID     {sim.workspace_id}  ({sim.workspace_name})",
        f"  organization ID  {sim.organization_id}",
        f"  access token     {sim.token}",
        f"  API key          {sim.api_key}",
        "  (simulator credentials: fake, valid only against this simulator)",
        "",
        "Try, in another terminal:",
        f"  export SHARELY_ACCESS_TOKEN={sim.token}",
        f"  jobwatch status {conn}",
        f"  jobwatch wait {conn} {example}",
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    print("jobwatch simulator stopped.", flush=True)
    return 0
