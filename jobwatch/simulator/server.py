"""An embedded stand-in for the Sharely background-jobs API, served over loopback HTTP.

`Simulator` runs a stdlib ThreadingHTTPServer on 127.0.0.1 in a daemon thread and speaks the
API of shared/sharely-api.md: the background-jobs endpoint, the workspace endpoint and the
API-key exchange, with the same auth checks and `{"error", "errorId"}` error bodies. Its jobs and
their evolution live in `scenarios.JobBook`; `faults.Faults` injects errors, rate limits,
latency, stalls, malformed bodies and dropped connections at runtime, and `hostile` answers built
to take over the client (escapes, gzip bombs, endless bodies...); `jwt.JwtSigner` signs its
tokens. Everything random comes from RNGs seeded by `seed`, so a scenario is the same on every run.

`run_simulate()` is the body of `jobwatch simulate`: it serves in the foreground until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
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
from urllib.parse import urlsplit

import orjson

from jobwatch.simulator import hostile
from jobwatch.simulator.faults import Faults, malformed_answer, phrase, queued_failure
from jobwatch.simulator.jwt import JwtSigner
from jobwatch.simulator.scenarios import (
    SCENARIOS,
    STATIC_API_KEY,
    STATIC_ORGANIZATION_ID,
    STATIC_WORKSPACE_ID,
    Growth,
    JobBook,
    copy_job,
    uuid4,
)

MAX_BODY_BYTES = 16 * 1024 * 1024
FIXED_TOKEN_EXP = 4102444800  # 2100-01-01: the printed token never expires
_FIXED_IAT = 1735689600

_JOBS_PATH = re.compile(r"/v1/workspaces/([^/]+)/background-jobs/?")
_WORKSPACE_PATH = re.compile(r"/v1/workspaces/([^/]+)/?")
_EXCHANGE_PATH = re.compile(r"/workspaces/([^/]+)/generate-access-key-token/?")


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
        growth: Growth | None = None,
    ) -> None:
        """`growth` (bulk only) makes the workspace grow while it is watched (scenarios.Growth)."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
        if jobs < 0:
            raise ValueError("jobs must be zero or more")
        self.scenario = scenario
        self.seed = seed
        self.faults = faults if faults is not None else Faults()
        self.token_ttl: float = 86400.0
        self.allow_new_tokens = True
        self.max_logged_requests = 2000
        self.lock = threading.RLock()

        self._clock = clock
        # the static scenario is the same whatever the seed: fixed IDs, keys and tokens
        id_seed = "static" if scenario == "static" else seed
        self._rng_ids = random.Random(f"jobwatch-simulator:ids:{id_seed}")
        self._rng_jobs = random.Random(f"jobwatch-simulator:jobs:{seed}")
        self._rng_faults = random.Random(f"jobwatch-simulator:faults:{seed}")
        self._rng_errors = random.Random(f"jobwatch-simulator:errors:{seed}")

        self._make_identities(scenario, id_seed)

        self._fail_queue: deque[tuple[int, object, Mapping[str, str] | None]] = deque()
        self._jobs_requests = 0
        self.request_count = 0
        self._requests: deque[tuple[str, str, list[str] | None]] = deque()

        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.base_url: str | None = None

        #: the jobs and the scenario's plan for them (used under `lock`)
        self.book = JobBook(
            scenario,
            jobs=jobs,
            rng_jobs=self._rng_jobs,
            rng_ids=self._rng_ids,
            clock=clock,
            speed=speed,
            growth=growth,
        )

    def _make_identities(self, scenario: str, id_seed: object) -> None:
        """The workspace, organization, API key and tokens (and those of a second workspace, to
        answer "workspace mismatch" like the real API), from `id_seed`."""
        if scenario == "static":
            self.workspace_id = STATIC_WORKSPACE_ID
            self.organization_id = STATIC_ORGANIZATION_ID
            self.api_key = STATIC_API_KEY
            self.workspace_name = "Static Test Workspace"
        else:
            self.workspace_id = uuid4(self._rng_ids)
            self.organization_id = uuid4(self._rng_ids)
            self.api_key = f"sk-sharely-{self._rng_ids.getrandbits(160):040x}"
            self.workspace_name = (
                "Acme Help Center" if scenario == "demo" else f"Simulated {scenario}"
            )
        # A second workspace the server knows, to answer "workspace mismatch" like the real API.
        self.other_workspace_id = uuid4(self._rng_ids)
        self.other_organization_id = uuid4(self._rng_ids)
        self._jwt = JwtSigner(
            hashlib.sha256(f"jobwatch-simulator:secret:{id_seed}".encode()).digest(),
            subject=f"user_{self._rng_ids.getrandbits(64):016x}",
        )
        self._workspaces: dict[str, tuple[str, str]] = {
            self.workspace_id: (self.workspace_name, self.organization_id),
            self.other_workspace_id: ("Other Workspace", self.other_organization_id),
        }
        self.token = self._jwt.sign(
            self.workspace_id, self.organization_id, _FIXED_IAT, FIXED_TOKEN_EXP
        )
        self.other_token = self._jwt.sign(
            self.other_workspace_id, self.other_organization_id, _FIXED_IAT, FIXED_TOKEN_EXP
        )
        # token -> (workspace it belongs to, expiry on the simulator clock)
        self._tokens: dict[str, tuple[str, float]] = {
            self.token: (self.workspace_id, float(FIXED_TOKEN_EXP)),
            self.other_token: (self.other_workspace_id, float(FIXED_TOKEN_EXP)),
        }

    # ----- time and tokens -------------------------------------------------------------------

    def _now(self) -> float:
        """Epoch-like time for token expiry (the injected clock when given)."""
        return self._clock() if self._clock is not None else time.time()

    def issue_token(self, ttl: float | None = None) -> str:
        """A fresh access token for the workspace, as the API-key exchange would return."""
        with self.lock:
            now = self._now()
            exp = int(now + (self.token_ttl if ttl is None else ttl))
            jti = f"{self._rng_ids.getrandbits(64):016x}"
            token = self._jwt.sign(self.workspace_id, self.organization_id, int(now), exp, jti)
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

    # ----- test helpers ----------------------------------------------------------------------

    def set_status(
        self, workflow_id: str, code: int, name: str | None = None, run_id: str | None = None
    ) -> None:
        """Set a job's status (and runId); cancels whatever the scenario planned for it."""
        with self.lock:
            self.book.set_status(workflow_id, code, name, run_id)

    def add_job(
        self, workflow_id: str, code: int = 1, run_id: str | None = None, name: str | None = None
    ) -> str:
        """Add a job at the end of the list; returns its runId."""
        with self.lock:
            return self.book.add_job(workflow_id, code, run_id, name)

    def remove_job(self, workflow_id: str) -> bool:
        with self.lock:
            return self.book.remove_job(workflow_id)

    def job(self, workflow_id: str) -> dict | None:
        with self.lock:
            return self.book.get(workflow_id)

    def jobs_snapshot(self) -> list[dict]:
        """Every job as the API would return it now (copies)."""
        with self.lock:
            return self.book.snapshot()

    def churn(self, fraction: float) -> int:
        """Change `fraction` of the RUNNING jobs (at least one if any): most complete, some fail,
        some continue as new under a fresh runId. Returns how many changed."""
        with self.lock:
            return self.book.churn(fraction)

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
            error_id = uuid4(self._rng_errors)
        if self.faults.hostile == "escapes":
            body = hostile.error_body(message, error_id)
        else:
            body = orjson.dumps({"error": message, "errorId": error_id})
        return status, [("Content-Type", "application/json"), *headers], body

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Response | _Drop | hostile.Streamed:
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

    def _workspace_endpoint(
        self, ws: str, headers: Mapping[str, str]
    ) -> _Response | hostile.Streamed:
        denied = self._check_access(ws, headers)
        if denied is not None:
            return denied
        name, org = self._workspaces[ws]
        workspace = {"id": ws, "name": name, "organizationId": org}
        kind = self.faults.hostile
        if kind is not None:
            content = hostile.workspace_content(kind, workspace, self.faults)
            return hostile.deliver(kind, 200, content, self.faults)
        return 200, [("Content-Type", "application/json")], orjson.dumps(workspace)

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
            return queued_failure(*queued, error=self._error)
        if limited:
            return self._error(
                429, "Too Many Requests", [("Retry-After", faults.retry_after or "1")]
            )
        if erred:
            extra_headers = [("Retry-After", faults.retry_after)] if faults.retry_after else []
            return self._error(faults.error_status, phrase(faults.error_status), extra_headers)
        return None

    def _jobs_endpoint(
        self, ws: str, headers: Mapping[str, str], body: bytes
    ) -> _Response | hostile.Streamed:
        failure = self._injected_failure()
        if failure is not None:
            return failure
        denied = self._check_access(ws, headers)
        if denied is not None:
            return denied
        ids = _requested_ids(headers, body)
        if isinstance(ids, str):
            return self._error(400, ids)
        malformed = self.faults.malformed
        kind = self.faults.hostile
        if kind == "retry_after":
            return hostile.rate_limited(self._error(429, "Too Many Requests")[2])
        with self.lock:
            book = self.book
            book.advance()
            if ws != self.workspace_id:
                selected: list[dict] = []
                payload = b"[]"
            elif ids is None:
                selected = book.values() if malformed or kind else []
                payload = book.all_jobs_body()
            else:
                selected = book.select(ids)
                payload = orjson.dumps(selected)
            if malformed and malformed != "truncated":
                selected = [copy_job(j) for j in selected]
        if malformed:
            return malformed_answer(malformed, selected, payload)
        if kind is not None:
            content = hostile.jobs_content(kind, selected, payload, self.faults)
            return hostile.deliver(kind, 200, content, self.faults)
        return 200, [("Content-Type", "application/json")], payload


def _requested_ids(headers: Mapping[str, str], body: bytes) -> list[str] | None | str:
    """A background-jobs request's jobIds (None: all jobs), or why the request is a 400."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return "Content-Type must be application/json"
    try:
        request = orjson.loads(body)
    except ValueError:  # JSONDecodeError, or UnicodeDecodeError (orjson 3.10)
        return "request body is not valid JSON"
    if not isinstance(request, dict):
        return "request body must be a JSON object"
    ids = request.get("jobIds")
    if "jobIds" in request and (
        not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)
    ):
        return "jobIds must be an array of strings"
    return ids


def _peek_job_ids(body: bytes) -> list[str] | None:
    try:
        data = orjson.loads(body)
    except ValueError:  # JSONDecodeError, or UnicodeDecodeError (orjson 3.10)
        return None
    ids = data.get("jobIds") if isinstance(data, dict) else None
    return list(ids) if isinstance(ids, list) else None


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
            self._send(self.server.sim._error(code, message or phrase(code)))

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
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
            answer = sim._handle(self.command, self.path, dict(self.headers.items()), body)
            if isinstance(answer, _Drop):
                self._drop()
                return
            if isinstance(answer, hostile.Streamed):
                self.close_connection = True
                answer.send(self.wfile, sim._stopping)
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


def _growth_line(growth: Growth) -> str:
    return (
        f"  growing          every {growth.every:g} s: {growth.new_share:.1%} of the running jobs "
        f"new, {growth.finish_share:.1%} of them finish; new jobs {growth.order} "
        f"({growth.finished:.0%} finished at start)"
    )


def run_simulate(
    port: int,
    scenario: str,
    jobs: int,
    seed: int,
    error_rate: float = 0.0,
    latency: float = 0.0,
    rate_limit_every: int = 0,
    malformed: str | None = None,
    hostile: str | None = None,
    growth: Growth | None = None,
) -> int:
    """Serve a simulator in the foreground until Ctrl-C; print how to point jobwatch at it."""
    try:
        faults = Faults(
            error_rate=error_rate,
            latency=latency,
            rate_limit_every=rate_limit_every,
            malformed=malformed,
            hostile=hostile,
        )
        sim = Simulator(scenario, seed=seed, jobs=jobs, faults=faults, growth=growth)
    except ValueError as exc:
        print(f"jobwatch simulate: {exc}", file=sys.stderr)
        return 2
    if scenario == "bulk" and growth is None:
        sim.book.churn_every = 2.0
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
        *([_growth_line(growth)] if growth is not None else []),
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
