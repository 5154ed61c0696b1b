"""Unit tests of the API client against httpx.MockTransport (no network, except one refused loopback connect)."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import logging
import random
import shlex
import socket
import sys

import httpx
import pytest

from jobwatch.api.client import FetchResult, SharelyClient
from jobwatch.api.credentials import (
    ApiKeyRejected,
    CredentialsError,
    CredentialSpec,
    TokenCommandError,
    jwt_expiry,
)
from jobwatch.api.decode import parse_answer, parse_jobs
from jobwatch.api.transport import Connection, check_connection_security, parse_retry_after
from jobwatch.errors import (
    ApiError,
    BadRequest,
    BadResponse,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    UsageError,
)
from jobwatch.models import Job, Status

WS = "11111111-2222-3333-4444-555555555555"
ORG = "99999999-8888-7777-6666-555555555555"
BASE = "https://api.test"
TOKEN = "tok-SECRET-abc123"
API_KEY = "sk-sharely-SECRETKEY123"
NOW = 1_700_000_000.0
JOBS_PATH = f"/v1/workspaces/{WS}/background-jobs"
EXCHANGE_PATH = f"/workspaces/{WS}/generate-access-key-token"


def jwt(exp: float | None, tag: str = "x") -> str:
    def seg(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": tag} if exp is None else {"sub": tag, "exp": exp}
    return f"{seg({'alg': 'HS256'})}.{seg(claims)}.sig-{tag}"


def job(wid: str, code: int = 1, name: str = "RUNNING", run: str = "run-1") -> dict:
    return {"workflowId": wid, "status": {"code": code, "name": name}, "runId": run}


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Server:
    """Records requests; answers exchanges with fresh JWTs and jobs requests via `jobs`."""

    def __init__(self, jobs=None, *, ttl: float = 3600.0, clock: Clock | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.jobs = jobs or self.echo_jobs
        self.ttl = ttl
        self.clock = clock or Clock()
        self.issued: list[str] = []

    @staticmethod
    def echo_jobs(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json=[job(i) for i in body.get("jobIds", ["all-1", "all-2"])])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == EXCHANGE_PATH:
            token = jwt(self.clock() + self.ttl, tag=str(len(self.issued)))
            self.issued.append(token)
            return httpx.Response(200, json={"token": token})
        return self.jobs(request)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def make_client(
    server,
    creds: CredentialSpec = CredentialSpec(),  # noqa: B008
    environ: dict | None = None,
    clock=None,
    base: str = BASE,
    insecure: bool = False,
) -> SharelyClient:
    return SharelyClient(
        Connection(base, WS, ORG, insecure=insecure),
        creds,
        environ={"SHARELY_ACCESS_TOKEN": TOKEN} if environ is None else environ,
        transport=httpx.MockTransport(server),
        clock=clock or Clock(),
    )


def respond(status: int, body=None, headers=None, content: bytes | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def assert_no_secret(*objects: object, secrets=(TOKEN, API_KEY)) -> None:
    for obj in objects:
        texts = [str(obj), repr(obj)]
        if isinstance(obj, ApiError):
            texts += [obj.describe(), json.dumps(obj.to_json())]
        for text in texts:
            for secret in secrets:
                assert secret not in text, f"secret leaked in {text!r}"


# -- request shape -----------------------------------------------------------------------


async def test_fetch_sends_headers_and_job_ids():
    server = Server()
    async with make_client(server) as client:
        result = await client.fetch_jobs(["wf-a", "wf-b"])
    (req,) = server.requests
    assert req.method == "POST"
    assert str(req.url) == f"{BASE}{JOBS_PATH}"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["organizationid"] == ORG
    assert req.headers["content-type"] == "application/json"
    assert "x-api-key" not in req.headers
    assert json.loads(req.content) == {"jobIds": ["wf-a", "wf-b"]}
    assert [j.workflow_id for j in result.jobs] == ["wf-a", "wf-b"]
    assert result.jobs[0].status.code == 1 and result.jobs[0].run_id == "run-1"
    assert result.nbytes == len(json.dumps([job("wf-a"), job("wf-b")]).replace(" ", ""))


async def test_fetch_all_sends_empty_object():
    server = Server()
    async with make_client(server) as client:
        result = await client.fetch_jobs(None)
    (req,) = server.requests
    assert json.loads(req.content) == {}
    assert [j.workflow_id for j in result.jobs] == ["all-1", "all-2"]


async def test_fetch_nbytes_is_body_length():
    body = b'[{"workflowId": "w", "status": {"code": 2, "name": "COMPLETED"}, "runId": "r"}]   '
    async with make_client(respond(200, content=body)) as client:
        result = await client.fetch_jobs(["w"])
    assert result.nbytes == len(body)
    assert result.jobs[0].status.is_terminal


async def test_empty_id_list_makes_no_request():
    server = Server()
    async with make_client(server) as client:
        result = await client.fetch_jobs([])
    assert result == FetchResult([], 0)
    assert server.requests == []


async def test_batches_past_batch_size_are_merged():
    assert SharelyClient.BATCH_SIZE == 1000
    ids = [f"wf-{i}" for i in range(2500)]
    server = Server()
    async with make_client(server) as client:
        result = await client.fetch_jobs(ids)
    sizes = [len(json.loads(r.content)["jobIds"]) for r in server.requests]
    assert sizes == [1000, 1000, 500]
    assert [j.workflow_id for j in result.jobs] == ids
    assert result.nbytes == sum(
        len(json.dumps([job(i) for i in ids[s : s + 1000]]).replace(" ", ""))
        for s in (0, 1000, 2000)
    )


async def test_batch_failure_fails_the_whole_fetch():
    calls = []

    def jobs(request):
        calls.append(request)
        return Server.echo_jobs(request) if len(calls) == 1 else httpx.Response(503)

    async with make_client(Server(jobs)) as client:
        with pytest.raises(ServerError):
            await client.fetch_jobs([f"wf-{i}" for i in range(1001)])
    assert len(calls) == 2


async def test_get_workspace():
    def handler(request):
        assert request.method == "GET"
        assert request.url.path == f"/v1/workspaces/{WS}"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["organizationid"] == ORG
        return httpx.Response(200, json={"id": WS, "name": "Acme", "organizationId": ORG})

    async with make_client(handler) as client:
        assert (await client.get_workspace())["name"] == "Acme"


async def test_get_workspace_not_an_object():
    async with make_client(respond(200, [1, 2])) as client:
        with pytest.raises(BadResponse):
            await client.get_workspace()


async def test_trailing_slash_in_base_url():
    server = Server()
    async with make_client(server, base=BASE + "/") as client:
        await client.fetch_jobs(["a"])
    assert server.requests[0].url.path == JOBS_PATH


# -- error mapping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (418, ApiError),
        (301, ApiError),
    ],
)
async def test_status_mapping_with_error_id(status, cls):
    body = {"error": "something broke", "errorId": "e-123"}
    async with make_client(respond(status, body)) as client:
        with pytest.raises(ApiError) as info:
            await client.fetch_jobs(["a"])
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.error_id == "e-123"
    assert err.error == "something broke"
    assert "e-123" in err.describe() and f"HTTP {status}" in err.describe()


async def test_old_style_error_body_keeps_error_and_message():
    body = {"error": "Bad Request", "message": "jobIds must be an array", "details": {"x": 1}}
    async with make_client(respond(400, body)) as client:
        with pytest.raises(BadRequest) as info:
            await client.fetch_jobs(["a"])
    assert info.value.error == "Bad Request: jobIds must be an array"
    assert info.value.error_id is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"<html>502 Bad Gateway</html>",
        b"[1, 2]",
        b"null",
        b"\xff\xfe",
        b'{"errorId": true, "error": {"a": 1}}',
    ],
)
async def test_weird_error_bodies_do_not_break_mapping(content):
    async with make_client(respond(502, content=content)) as client:
        with pytest.raises(ServerError) as info:
            await client.fetch_jobs(["a"])
    assert info.value.error is None and info.value.error_id is None
    assert info.value.describe().startswith("HTTP 502")


async def test_retry_after_seconds_on_429():
    async with make_client(
        respond(429, {"error": "slow down"}, headers={"Retry-After": "7"})
    ) as client:
        with pytest.raises(RateLimited) as info:
            await client.fetch_jobs(["a"])
    assert info.value.retry_after == 7.0
    assert info.value.retryable


async def test_retry_after_http_date_on_503():
    date = email.utils.formatdate(NOW + 42, usegmt=True)
    async with make_client(
        respond(503, None, headers={"Retry-After": date}), clock=Clock(NOW)
    ) as client:
        with pytest.raises(ServerError) as info:
            await client.fetch_jobs(["a"])
    assert info.value.retry_after == pytest.approx(42.0)


async def test_503_without_retry_after():
    async with make_client(respond(503, None)) as client:
        with pytest.raises(ServerError) as info:
            await client.fetch_jobs(["a"])
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("inf", None),
        (email.utils.formatdate(NOW - 100, usegmt=True), 0.0),
        (email.utils.formatdate(NOW + 5, usegmt=True), 5.0),
    ],
)
def test_parse_retry_after(value, expected):
    got = parse_retry_after(value, NOW)
    assert got == (pytest.approx(expected) if expected is not None else None)


# -- transport errors ---------------------------------------------------------------------


def raising(exc: Exception):
    def handler(request):
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "cannot connect to https://api.test (connection refused)",
        ),
        (
            httpx.ConnectTimeout("timed out"),
            "cannot connect to https://api.test within 10 s (connect timeout)",
        ),
        (
            httpx.ReadTimeout("timed out"),
            "no answer from https://api.test within 10 s (read timeout)",
        ),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "protocol error",
        ),
        (httpx.ReadError("reset"), "broke while reading"),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "TLS certificate verification failed",
        ),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host name not found"),
        (
            RuntimeError("Cannot send a request, as the client has been closed."),
            "failed (RuntimeError)",
        ),
    ],
)
async def test_transport_errors(exc, expected):
    async with make_client(raising(exc)) as client:
        with pytest.raises(TransportError) as info:
            await client.fetch_jobs(["a"])
    assert expected in info.value.describe()
    assert info.value.retryable
    assert info.value.__context__ is None and info.value.__cause__ is None


async def test_local_protocol_error_text_is_never_shown():
    exc = httpx.LocalProtocolError(f"Illegal header value b'Bearer {TOKEN}'")
    async with make_client(raising(exc)) as client:
        with pytest.raises(TransportError) as info:
            await client.fetch_jobs(["a"])
    assert "local protocol error" in info.value.describe()
    assert_no_secret(info.value)


async def test_real_connection_refused_on_loopback():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SharelyClient(
        Connection(f"http://127.0.0.1:{port}", WS, ORG, timeout=2),
        environ={"SHARELY_ACCESS_TOKEN": TOKEN},
    )
    async with client:
        with pytest.raises(TransportError) as info:
            await client.fetch_jobs(["a"])
    assert info.value.message == f"cannot connect to http://127.0.0.1:{port} (connection refused)"


# -- malformed bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'[{"workflowId": "a", "status": {"code": 1',
        b"not json",
        b'{"jobs": []}',
        b'[{"status": {"code": 1, "name": "RUNNING"}, "runId": "r"}]',
        b'[{"workflowId": "a", "status": "RUNNING", "runId": "r"}]',
        b'[{"workflowId": "a", "status": {"code": "1", "name": "RUNNING"}, "runId": "r"}]',
        b"",
    ],
)
async def test_malformed_bodies_raise_bad_response(content):
    async with make_client(respond(200, content=content)) as client:
        with pytest.raises(BadResponse):
            await client.fetch_jobs(["a"])


async def test_bad_response_does_not_echo_the_token():
    content = f'{{"echo": "{TOKEN}"}}'.encode()
    async with make_client(respond(200, content=content)) as client:
        with pytest.raises(BadResponse) as info:
            await client.fetch_jobs(None)
    assert_no_secret(info.value)


# -- API key exchange and renewal ---------------------------------------------------------


async def test_api_key_is_exchanged_and_cached():
    server = Server()
    async with make_client(server, environ={"SHARELY_API_KEY": API_KEY}) as client:
        await client.fetch_jobs(["a"])
        await client.fetch_jobs(["b"])
    assert server.paths() == [EXCHANGE_PATH, JOBS_PATH, JOBS_PATH]
    exchange = server.requests[0]
    assert exchange.method == "POST"
    assert str(exchange.url) == f"{BASE}{EXCHANGE_PATH}"
    assert exchange.headers["x-api-key"] == API_KEY
    assert exchange.headers["content-type"] == "application/json"
    assert "authorization" not in exchange.headers
    assert json.loads(exchange.content) == {}
    for req in server.requests[1:]:
        assert req.headers["authorization"] == f"Bearer {server.issued[0]}"
        assert "x-api-key" not in req.headers


async def test_token_renewed_before_expiry():
    clock = Clock()
    server = Server(ttl=3600, clock=clock)
    async with make_client(server, environ={"SHARELY_API_KEY": API_KEY}, clock=clock) as client:
        await client.fetch_jobs(["a"])
        clock.t += 3600 - 120  # two minutes left: keep it
        await client.fetch_jobs(["a"])
        assert server.paths().count(EXCHANGE_PATH) == 1
        clock.t += 90  # 30 s left: renew first
        await client.fetch_jobs(["a"])
    assert server.paths() == [EXCHANGE_PATH, JOBS_PATH, JOBS_PATH, EXCHANGE_PATH, JOBS_PATH]
    assert server.requests[-1].headers["authorization"] == f"Bearer {server.issued[1]}"


async def test_short_lived_token_is_not_renewed_on_every_request():
    clock = Clock()
    server = Server(ttl=30, clock=clock)
    async with make_client(server, environ={"SHARELY_API_KEY": API_KEY}, clock=clock) as client:
        await client.fetch_jobs(["a"])
        await client.fetch_jobs(["a"])
        clock.t += 20  # past half its life
        await client.fetch_jobs(["a"])
    assert server.paths().count(EXCHANGE_PATH) == 2


async def test_token_without_expiry_is_kept_until_401():
    clock = Clock()
    calls = []

    def handler(request):
        calls.append(request.url.path)
        if request.url.path == EXCHANGE_PATH:
            return httpx.Response(200, json={"token": "opaque-token"})
        return httpx.Response(200, json=[])

    async with make_client(handler, environ={"SHARELY_API_KEY": API_KEY}, clock=clock) as client:
        await client.fetch_jobs(["a"])
        clock.t += 10 * 86400
        await client.fetch_jobs(["a"])
    assert calls == [EXCHANGE_PATH, JOBS_PATH, JOBS_PATH]


async def test_renews_once_on_401_then_succeeds():
    server = Server()
    first = []

    def jobs(request):
        if not first:
            first.append(request)
            return httpx.Response(401, json={"error": "token expired"})
        return Server.echo_jobs(request)

    server.jobs = jobs
    async with make_client(server, environ={"SHARELY_API_KEY": API_KEY}) as client:
        result = await client.fetch_jobs(["a"])
    assert [j.workflow_id for j in result.jobs] == ["a"]
    assert server.paths() == [EXCHANGE_PATH, JOBS_PATH, EXCHANGE_PATH, JOBS_PATH]
    assert server.requests[1].headers["authorization"] == f"Bearer {server.issued[0]}"
    assert server.requests[3].headers["authorization"] == f"Bearer {server.issued[1]}"


async def test_second_401_is_unauthorized():
    server = Server(respond(401, {"error": "workspace mismatch", "errorId": "e-9"}))
    async with make_client(server, environ={"SHARELY_API_KEY": API_KEY}) as client:
        with pytest.raises(Unauthorized) as info:
            await client.get_workspace()
    assert server.paths() == [
        EXCHANGE_PATH,
        f"/v1/workspaces/{WS}",
        EXCHANGE_PATH,
        f"/v1/workspaces/{WS}",
    ]
    assert info.value.error == "workspace mismatch" and info.value.error_id == "e-9"
    assert not info.value.retryable
    assert_no_secret(info.value, secrets=(API_KEY, *server.issued))


async def test_bare_token_401_is_unauthorized_without_exchange():
    server = Server(respond(401, {"error": "invalid token"}))
    env = {"SHARELY_ACCESS_TOKEN": TOKEN, "SHARELY_API_KEY": API_KEY}
    async with make_client(server, environ=env) as client:
        with pytest.raises(Unauthorized) as info:
            await client.fetch_jobs(["a"])
    assert server.paths() == [JOBS_PATH]
    assert "$SHARELY_ACCESS_TOKEN" in info.value.describe()
    assert_no_secret(info.value)


async def test_rejected_api_key():
    def handler(request):
        return httpx.Response(401, json={"error": "invalid api key", "errorId": "k-1"})

    async with make_client(handler, environ={"SHARELY_API_KEY": API_KEY}) as client:
        with pytest.raises(ApiKeyRejected) as info:
            await client.fetch_jobs(["a"])
    assert isinstance(info.value, Unauthorized)
    assert info.value.error_id == "k-1" and "$SHARELY_API_KEY" in info.value.describe()
    assert_no_secret(info.value)


@pytest.mark.parametrize("body", [{"tok": "x"}, {"token": 5}, [], {"token": "has space"}])
async def test_bad_exchange_answer_is_bad_response(body):
    async with make_client(respond(200, body), environ={"SHARELY_API_KEY": API_KEY}) as client:
        with pytest.raises(BadResponse):
            await client.fetch_jobs(["a"])


async def test_concurrent_requests_share_one_exchange():
    server = Server()
    async with make_client(server, environ={"SHARELY_API_KEY": API_KEY}) as client:
        await asyncio.gather(*(client.fetch_jobs([str(i)]) for i in range(5)))
    assert server.paths().count(EXCHANGE_PATH) == 1


# -- token_command ------------------------------------------------------------------------


def py_command(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


async def test_token_command_output_is_the_bearer():
    server = Server()
    creds = CredentialSpec(token_command=py_command(f"print('  {TOKEN}  ')"))
    async with make_client(server, creds, environ={}) as client:
        await client.fetch_jobs(["a"])
        await client.fetch_jobs(["a"])
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {TOKEN}"] * 2


async def test_token_command_rerun_once_on_401(tmp_path):
    counter = tmp_path / "n"
    code = f"import pathlib; p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); print(f'cmd-token-{{n}}')"
    seen = []

    def jobs(request):
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer cmd-token-0":
            return httpx.Response(401)
        return httpx.Response(200, json=[])

    async with make_client(
        Server(jobs), CredentialSpec(token_command=py_command(code)), environ={}
    ) as client:
        await client.fetch_jobs(["a"])
    assert seen == ["Bearer cmd-token-0", "Bearer cmd-token-1"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (f"import sys; print({TOKEN!r}); sys.exit(3)", "exited with status 3"),
        ("pass", "printed nothing"),
        (f"print({TOKEN!r}); print('second line')", "not a single token"),
    ],
)
async def test_token_command_failures(code, expected):
    server = Server()
    async with make_client(
        server, CredentialSpec(token_command=py_command(code)), environ={}
    ) as client:
        with pytest.raises(TokenCommandError) as info:
            await client.fetch_jobs(["a"])
    assert expected in info.value.describe()
    assert not info.value.retryable
    assert server.requests == []
    assert_no_secret(info.value)


async def test_token_command_program_missing():
    creds = CredentialSpec(token_command="/nonexistent/jobwatch-token-helper --flag")
    async with make_client(Server(), creds, environ={}) as client:
        with pytest.raises(TokenCommandError, match="'jobwatch-token-helper' was not found"):
            await client.fetch_jobs(["a"])


# -- credential resolution ----------------------------------------------------------------


ALL_ENV = {
    "MY_TOKEN": "tok-from-my-env",
    "MY_KEY": API_KEY,
    "SHARELY_ACCESS_TOKEN": TOKEN,
    "SHARELY_API_KEY": "sk-sharely-default",
}


async def first_request(creds: CredentialSpec, environ: dict) -> httpx.Request:
    server = Server()
    async with make_client(server, creds, environ=environ) as client:
        await client.fetch_jobs(["a"])
    return server.requests[0]


async def test_resolution_token_command_first():
    creds = CredentialSpec(
        token_command=py_command("print('cmd-tok')"), token_env="MY_TOKEN", api_key_env="MY_KEY"
    )
    req = await first_request(creds, ALL_ENV)
    assert req.headers["authorization"] == "Bearer cmd-tok"


async def test_resolution_token_env_before_api_key_env():
    req = await first_request(CredentialSpec(token_env="MY_TOKEN", api_key_env="MY_KEY"), ALL_ENV)
    assert req.headers["authorization"] == "Bearer tok-from-my-env"


async def test_resolution_api_key_env_when_token_env_unset():
    env = {k: v for k, v in ALL_ENV.items() if k != "MY_TOKEN"}
    req = await first_request(CredentialSpec(token_env="MY_TOKEN", api_key_env="MY_KEY"), env)
    assert req.url.path == EXCHANGE_PATH and req.headers["x-api-key"] == API_KEY


async def test_resolution_default_access_token_before_api_key():
    req = await first_request(CredentialSpec(), ALL_ENV)
    assert req.headers["authorization"] == f"Bearer {TOKEN}"


async def test_resolution_default_api_key():
    req = await first_request(
        CredentialSpec(), {"SHARELY_API_KEY": API_KEY, "SHARELY_ACCESS_TOKEN": "  "}
    )
    assert req.url.path == EXCHANGE_PATH and req.headers["x-api-key"] == API_KEY


def test_configured_spec_does_not_fall_back_to_defaults():
    with pytest.raises(CredentialsError) as info:
        make_client(
            Server(), CredentialSpec(token_env="MY_TOKEN"), environ={"SHARELY_ACCESS_TOKEN": TOKEN}
        )
    assert "$MY_TOKEN (token_env) is not set" in info.value.describe()


def test_unparsable_token_command_is_a_credentials_error():
    with pytest.raises(CredentialsError, match="unbalanced quotes"):
        make_client(Server(), CredentialSpec(token_command="op read 'oops"), environ={})


def test_missing_credentials_message():
    with pytest.raises(CredentialsError) as info:
        make_client(Server(), environ={})
    msg = info.value.describe()
    for name in (
        "SHARELY_ACCESS_TOKEN",
        "SHARELY_API_KEY",
        "token_env",
        "api_key_env",
        "token_command",
    ):
        assert name in msg
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_unusable_token_value_is_refused_without_showing_it():
    with pytest.raises(CredentialsError) as info:
        make_client(Server(), environ={"SHARELY_ACCESS_TOKEN": f"{TOKEN}\nX-Evil: 1"})
    assert "$SHARELY_ACCESS_TOKEN" in str(info.value)
    assert_no_secret(info.value)


def test_environ_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("SHARELY_ACCESS_TOKEN", TOKEN)
    client = SharelyClient(Connection(BASE, WS, ORG), transport=httpx.MockTransport(Server()))
    assert client.credential_source == "access token from $SHARELY_ACCESS_TOKEN"


# -- connection security ------------------------------------------------------------------


def test_plain_http_to_remote_host_is_refused():
    with pytest.raises(
        UsageError,
        match="refusing to send credentials over plain http to api.example.com; use https or pass --insecure",
    ):
        check_connection_security(Connection("http://api.example.com", WS, ORG))
    with pytest.raises(UsageError, match="refusing"):
        make_client(Server(), base="http://api.example.com")


def test_insecure_allows_plain_http_with_a_warning():
    warning = check_connection_security(Connection("http://10.0.0.5:8080", WS, ORG, insecure=True))
    assert warning is not None and "10.0.0.5" in warning and "--insecure" in warning
    make_client(Server(), base="http://10.0.0.5:8080", insecure=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.sharely.ai",
        "http://127.0.0.1:8000",
        "http://127.9.9.9",
        "http://localhost:1",
        "http://[::1]:80",
        "http://[::ffff:127.0.0.1]:8",
    ],
)
def test_no_warning_for_https_or_loopback(url):
    assert check_connection_security(Connection(url, WS, ORG)) is None


@pytest.mark.parametrize("url", ["ftp://api.sharely.ai", "api.sharely.ai", "https://"])
def test_bad_scheme_or_host_is_refused(url):
    with pytest.raises(UsageError):
        check_connection_security(Connection(url, WS, ORG))


# -- secrets ------------------------------------------------------------------------------


async def test_secrets_never_leak(caplog):
    caplog.set_level(logging.DEBUG)
    echo = f"bad token {TOKEN} / key {API_KEY}"
    handlers = [
        respond(401, {"error": echo, "errorId": "e"}),
        respond(500, {"error": echo, "message": echo}),
        respond(302, None, headers={"Location": f"https://u:{TOKEN}@elsewhere.test/x"}),
        respond(200, content=echo.encode()),
        raising(httpx.ConnectError(echo)),
        raising(httpx.RemoteProtocolError(echo)),
    ]
    count = 0
    for env in ({"SHARELY_ACCESS_TOKEN": TOKEN}, {"SHARELY_API_KEY": API_KEY}):
        for handler in handlers:

            def routed(request, handler=handler):
                if request.url.path == EXCHANGE_PATH:
                    return httpx.Response(200, json={"token": TOKEN})
                return handler(request)

            client = make_client(routed, environ=env)
            assert_no_secret(client)
            async with client:
                with pytest.raises(ApiError) as info:
                    await client.fetch_jobs(["a"])
            # a client can only scrub the secrets it holds
            assert_no_secret(info.value, secrets=(TOKEN, *env.values()))
            count += 1
    assert count == 12
    assert_no_secret(caplog.text)


def test_reprs_hide_secrets():
    spec = CredentialSpec(token_command=f"echo {TOKEN}", token_env="MY_TOKEN")
    assert TOKEN not in repr(spec) and "MY_TOKEN" in repr(spec)
    client = make_client(Server(), environ={"SHARELY_API_KEY": API_KEY})
    assert_no_secret(client, client.__dict__)
    assert "workspace_id" in repr(client) and "$SHARELY_API_KEY" in repr(client)


def test_jwt_expiry_parsing():
    assert jwt_expiry(jwt(NOW + 5)) == NOW + 5
    assert jwt_expiry(jwt(None)) is None
    assert jwt_expiry("opaque") is None
    assert jwt_expiry("a.!!!.c") is None
    assert jwt_expiry("a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c") is None


# -- reuse of the previous answer's jobs, item by item ------------------------------------


def serve_bodies(state: dict):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(state["jobs"]).encode())

    return handler


async def test_identical_items_are_reused_and_changed_ones_decoded():
    state = {"jobs": [job(f"wf-{i}") for i in range(6)]}
    async with make_client(serve_bodies(state)) as client:
        first = await client.fetch_jobs(None)
        assert first.fresh == first.jobs  # nothing to reuse yet: every job decoded
        state["jobs"][2] = job("wf-2", 3, "FAILED")
        second = await client.fetch_jobs(None)
    assert [j.status.code for j in second.jobs] == [1, 1, 3, 1, 1, 1]
    assert [j is f for j, f in zip(second.jobs, first.jobs, strict=True)] == [
        True, True, False, True, True, True,
    ]  # fmt: skip
    assert second.fresh == [Job("wf-2", Status(3, "FAILED"), "run-1")]
    assert second.epoch == first.epoch is not None
    assert not second.unchanged


async def test_a_shifted_or_reordered_list_still_reuses_every_unchanged_job():
    state = {"jobs": [job(f"wf-{i}") for i in range(6)]}
    async with make_client(serve_bodies(state)) as client:
        first = await client.fetch_jobs(None)
        by_id = {j.workflow_id: j for j in first.jobs}
        state["jobs"].insert(0, job("wf-new", 2, "COMPLETED"))  # newest first: every item moves
        shifted = await client.fetch_jobs(None)
        assert [j.workflow_id for j in shifted.jobs] == ["wf-new", *(f"wf-{i}" for i in range(6))]
        assert shifted.fresh == [shifted.jobs[0]]
        assert all(j is by_id[j.workflow_id] for j in shifted.jobs[1:])
        state["jobs"].reverse()
        state["jobs"][0] = job("wf-5", 3, "FAILED")
        reordered = await client.fetch_jobs(None)
    assert [j.workflow_id for j in reordered.jobs] == [
        *(f"wf-{i}" for i in range(5, -1, -1)),
        "wf-new",
    ]
    assert [j.status.code for j in reordered.fresh] == [3]
    assert reordered.epoch == first.epoch


async def test_a_large_whole_list_read_between_batches_lets_go_of_its_bytes(monkeypatch):
    """A discovery read (the whole list, between ticks of batches) keeps only its jobs; the whole
    list asked tick after tick keeps its bytes, so an unchanged answer is still found at once."""
    from jobwatch.api import client as client_module

    monkeypatch.setattr(client_module, "KEEP_ANSWER_BYTES", 10)
    state = {"jobs": [job(f"wf-{i}") for i in range(6)]}
    async with make_client(serve_bodies(state)) as client:
        await client.fetch_jobs(["wf-1"])
        first = await client.fetch_jobs(None)
        assert [kept.content for kept in client._answers.values()] == [None]
        await client.fetch_jobs(["wf-1"])
        again = await client.fetch_jobs(None)  # matched item by item: the same jobs
        assert not again.unchanged and again.fresh == []
        assert all(a is b for a, b in zip(again.jobs, first.jobs, strict=True))
        assert [kept.content for kept in client._answers.values()] == [None]
        twice = await client.fetch_jobs(None)  # asked again at once: kept now
        assert [kept.content for kept in client._answers.values()] != [None]
        thrice = await client.fetch_jobs(None)
    assert not twice.unchanged and thrice.unchanged
    assert all(a is b for a, b in zip(thrice.jobs, first.jobs, strict=True))


async def test_a_job_that_changes_back_is_decoded_again_not_taken_from_the_cache():
    # the cache keeps only each job's latest version: the old bytes must not mean "unchanged"
    state = {"jobs": [job("wf-0"), job("wf-1")]}
    async with make_client(serve_bodies(state)) as client:
        await client.fetch_jobs(None)
        state["jobs"][1] = job("wf-1", 9, "PAUSED")
        await client.fetch_jobs(None)
        state["jobs"][1] = job("wf-1")
        back = await client.fetch_jobs(None)
    assert back.fresh == [Job("wf-1", Status(1, "RUNNING"), "run-1")]


async def test_batches_share_the_cache_with_the_whole_list():
    def handler(request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content).get("jobIds")
        jobs = [job(f"wf-{i}") for i in range(4)]
        return httpx.Response(
            200, json=[j for j in jobs if wanted is None or j["workflowId"] in wanted]
        )

    async with make_client(handler) as client:
        whole = await client.fetch_jobs(None)
        some = await client.fetch_jobs(["wf-1", "wf-3"])
        again = await client.fetch_jobs(None)
    assert (
        some.fresh == []
        and [j is whole.jobs[i] for i, j in zip((1, 3), some.jobs, strict=True)] == [True] * 2
    )
    assert again.fresh == [] and all(a is b for a, b in zip(again.jobs, whole.jobs, strict=True))


async def test_a_tick_of_ids_after_a_large_first_answer_goes_out_before_the_cache_is_filled(
    monkeypatch,
):
    """A first answer parsed whole fills the cache at the next whole-list read, not before a tick
    of IDs; a job that tick changed keeps its newer version, so its old bytes are news again."""
    from jobwatch.api import client as client_module

    monkeypatch.setattr(client_module, "PARSE_IN_THREAD_BYTES", 10)
    state = {"jobs": [job(f"wf-{i}") for i in range(4)]}

    def handler(request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content).get("jobIds")
        return httpx.Response(
            200, json=[j for j in state["jobs"] if wanted is None or j["workflowId"] in wanted]
        )

    async with make_client(handler) as client:
        whole = await client.fetch_jobs(None)  # cold: parsed whole, to fill from
        state["jobs"][1] = job("wf-1", 2, "COMPLETED")
        some = await client.fetch_jobs(["wf-1", "wf-2"])
        assert len(client._items) == 2  # only the tick's own items: the fill waits
        assert some.fresh == some.jobs and some.jobs[0].status.code == 2
        again = await client.fetch_jobs(None)
        reused = [a is b for a, b in zip(again.jobs, whole.jobs, strict=True)]
        assert again.fresh == [] and reused == [True, False, False, True]
        assert again.jobs[1] is some.jobs[0] and again.jobs[2] is some.jobs[1]
        state["jobs"][1] = job("wf-1")  # back to the first answer's bytes
        back = await client.fetch_jobs(None)
    assert back.fresh == [Job("wf-1", Status(1, "RUNNING"), "run-1")]


@pytest.mark.parametrize("whole", [True, False])
async def test_a_large_first_answer_is_parsed_whole_unless_the_caller_has_rows_already(
    monkeypatch, whole
):
    """Parsed whole, the cache is filled from it at the next whole-list read; matched in slices
    (a dashboard's restart), the cache holds its jobs at once, committed in slices too."""
    from jobwatch.api import client as client_module
    from jobwatch.api import reuse

    monkeypatch.setattr(client_module, "PARSE_IN_THREAD_BYTES", 10)
    monkeypatch.setattr(reuse, "COMMIT_SLICE", 2)
    commits: list[int] = []
    commit = reuse.ItemCache.commit
    monkeypatch.setattr(
        reuse.ItemCache, "commit", lambda self, e: (commits.append(len(e)), commit(self, e))[1]
    )
    state = {"jobs": [job(f"wf-{i}") for i in range(5)]}
    async with make_client(serve_bodies(state)) as client:
        client.whole_first_answer = whole
        first = await client.fetch_jobs(None)
        assert (client._to_fill is not None, len(client._items)) == (
            (True, 0) if whole else (False, 5)
        )
        assert commits == ([] if whole else [2, 2, 1])
        again = await client.fetch_jobs(None)
    assert again.fresh == [] and all(a is b for a, b in zip(again.jobs, first.jobs, strict=True))
    assert first.fresh == (None if whole else first.jobs)


async def test_a_malformed_changed_item_is_still_a_bad_response():
    state = {"jobs": [job(f"wf-{i}") for i in range(4)]}
    async with make_client(serve_bodies(state)) as client:
        await client.fetch_jobs(None)
        state["jobs"][1] = {"workflowId": "wf-1", "status": {"code": "one"}}
        with pytest.raises(BadResponse, match=r"job 'wf-1': status.code is a str"):
            await client.fetch_jobs(None)
        state["jobs"][1] = {"workflowId": "wf-1", "status": {"code": 2, "name": None}}
        lenient = await client.fetch_jobs(None)  # null name: allowed, via the strict parser
    assert lenient.jobs[1] == Job("wf-1", Status(2, ""), "")


async def test_a_changed_item_that_duplicates_another_keeps_the_last_entry():
    state = {"jobs": [job(f"wf-{i}") for i in range(4)]}
    async with make_client(serve_bodies(state)) as client:
        await client.fetch_jobs(None)
        state["jobs"][3] = job("wf-0", 3, "FAILED")
        dup = await client.fetch_jobs(None)
        assert [j.workflow_id for j in dup.jobs] == ["wf-0", "wf-1", "wf-2"]
        assert dup.jobs[0].status.code == 3
        assert dup.fresh is None  # the caller must compare every job
        epoch = dup.epoch
        state["jobs"][3] = job("wf-3")
        state["jobs"][1] = job("wf-1", 2, "COMPLETED")
        fixed = await client.fetch_jobs(None)
    assert [(j.workflow_id, j.status.code) for j in fixed.jobs] == [
        ("wf-0", 1), ("wf-1", 2), ("wf-2", 1), ("wf-3", 1),
    ]  # fmt: skip
    # the cache forgot at the duplicate (a new epoch): every job is decoded, and compared, again
    assert fixed.fresh == fixed.jobs and fixed.epoch == epoch


async def test_reused_parse_matches_a_full_parse():
    rng = random.Random(7)
    jobs = [job(f"wf-{i}", rng.randrange(8), "X", f"r{i}") for i in range(300)]
    state = {"jobs": jobs}
    async with make_client(serve_bodies(state)) as client:
        for _ in range(20):
            for i in rng.sample(range(300), rng.choice([1, 5, 50, 200])):
                jobs[i] = job(f"wf-{rng.randrange(300)}", rng.randrange(8), "Y", f"r{rng.random()}")
            result = await client.fetch_jobs(None)
            expected = list(
                {j.workflow_id: j for j in parse_jobs(json.dumps(jobs).encode())}.values()
            )
            assert result.jobs == expected


# -- bounds: answer size, encodings, fields, nesting, codes ---------------------------------


class Chunks(httpx.AsyncByteStream):
    """A body that arrives as these raw chunks (a real transport streams; MockTransport's
    `content=` answers come read in advance)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.sent = 0

    async def __aiter__(self):
        for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk


def streamed(body, headers=None, status=200):
    stream = body if isinstance(body, Chunks) else Chunks(body)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, stream=stream, headers=headers)

    return handler


def limited_client(server, limit: int, **kw) -> SharelyClient:
    return SharelyClient(
        Connection(BASE, WS, ORG, max_answer_bytes=limit, **kw),
        environ={"SHARELY_ACCESS_TOKEN": TOKEN},
        transport=httpx.MockTransport(server),
    )


JOBS = json.dumps([job("a"), job("b", 2, "COMPLETED")]).encode()


def gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)  # the same bytes (and test ids) in every xdist worker


def deflate_bytes(data: bytes, raw: bool) -> bytes:
    import zlib

    packer = zlib.compressobj(6, zlib.DEFLATED, -15 if raw else 15)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip_bytes(JOBS)),
        ("x-gzip", gzip_bytes(JOBS)),
        ("GZIP", gzip_bytes(JOBS[:10]) + gzip_bytes(JOBS[10:])),  # two gzip members
        ("deflate", deflate_bytes(JOBS, raw=False)),
        ("deflate", deflate_bytes(JOBS, raw=True)),
        ("identity", JOBS),
    ],
)
async def test_encoded_answers_are_decoded(encoding, body):
    pieces = Chunks(*(body[i : i + 7] for i in range(0, len(body), 7)))
    server = Server(streamed(pieces, {"Content-Encoding": encoding}))
    async with make_client(server) as client:
        result = await client.fetch_jobs(None)
    assert [j.workflow_id for j in result.jobs] == ["a", "b"]
    assert result.nbytes == len(JOBS)
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Content-Encoding": "br"}, b"xx", "unsupported Content-Encoding 'br'"),
        ({"Content-Encoding": "gzip, gzip"}, gzip_bytes(gzip_bytes(JOBS)), "encoded 2 times"),
        ({"Content-Encoding": "gzip"}, b"not gzip at all", "gzip body is corrupt"),
        ({"Content-Encoding": "gzip"}, gzip_bytes(JOBS)[:-12], "ends before its compressed data"),
        ({"Content-Encoding": "deflate"}, deflate_bytes(JOBS, False) + b"junk", "data follows"),
    ],
)
async def test_undecodable_answers_are_bad_responses(headers, body, expected):
    async with make_client(Server(streamed(body, headers))) as client:
        with pytest.raises(BadResponse, match=expected):
            await client.fetch_jobs(None)


async def test_the_limit_counts_decompressed_bytes_and_stops_reading():
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 15)
    bomb = [packer.compress(b"[") + packer.flush(zlib.Z_FULL_FLUSH)]
    bomb += [packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)] * 64
    stream = Chunks(*bomb)  # 64 MiB of JSON in ~66 KB
    server = Server(streamed(stream, {"Content-Encoding": "deflate"}))
    async with limited_client(server, 4 << 20) as client:
        with pytest.raises(BadResponse) as info:
            await client.fetch_jobs(None)
    assert "larger than 4 MiB once decompressed" in info.value.message
    assert stream.sent < sum(map(len, bomb)) / 4  # stopped reading soon after the limit


@pytest.mark.parametrize("size", [1000, 1001])
async def test_the_limit_is_exact(size):
    body = b"[" + b" " * (size - 2) + b"]"
    async with limited_client(Server(streamed(body)), 1000) as client:
        if size <= 1000:
            assert (await client.fetch_jobs(None)).jobs == []
        else:
            with pytest.raises(BadResponse, match="larger than 1000 bytes"):
                await client.fetch_jobs(None)


async def test_the_limit_also_applies_to_answers_read_in_advance():
    async with limited_client(Server(respond(200, content=b"[" + b" " * 2000 + b"]")), 1000) as c:
        with pytest.raises(BadResponse, match="larger than 1000 bytes"):
            await c.fetch_jobs(None)


async def test_an_error_body_is_read_only_up_to_its_bound():
    stream = Chunks(b'{"error": "overloaded", "errorId": "e-1"}', *([b" " * 65536] * 100))
    async with make_client(Server(streamed(stream, status=503))) as client:
        with pytest.raises(ServerError) as info:
            await client.fetch_jobs(None)
    assert info.value.error_id == "e-1"
    assert stream.sent < 1 << 20


async def test_an_undecodable_error_body_still_gives_the_status():
    headers = {"Content-Encoding": "gzip"}
    async with make_client(Server(streamed(b"garbage", headers, status=502))) as client:
        with pytest.raises(ServerError) as info:
            await client.fetch_jobs(None)
    assert info.value.status == 502


@pytest.mark.parametrize(
    ("timeout", "limit"), [(float("nan"), 10), (0.0, 10), (-1.0, 10), (5.0, 0), (5.0, True)]
)
def test_a_timeout_or_limit_that_is_not_positive_is_refused(timeout, limit):
    with pytest.raises(UsageError):
        limited_client(Server(), limit, timeout=timeout)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("workflowId", "w" * 4097, "workflowId is 4097 characters long"),
        ("runId", "r" * 5000, "runId is 5000 characters long"),
        ("name", "n" * 4097, "status.name is 4097 characters long"),
    ],
)
def test_over_long_fields_are_bad_responses(field, value, expected):
    item = job("a")
    if field == "name":
        item["status"]["name"] = value
    else:
        item[field] = value
    with pytest.raises(BadResponse, match=expected) as info:
        parse_jobs(json.dumps([item]).encode())
    assert len(info.value.message) < 200  # the field is quoted cut short, if at all


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("18446744073709551615", "status.code 18446744073709551615 is outside the range"),
        ("9223372036854775808", "status.code 9223372036854775808 is outside the range"),
        ("-1", "status.code -1 is outside the range"),
        ("-9223372036854775809", "status.code is a float, expected an integer"),
        ("18446744073709551616", "status.code is a float, expected an integer"),
        ("1" + "0" * 400, "not valid JSON"),
        ("1.0", "status.code is a float, expected an integer"),
    ],
)
def test_codes_outside_the_documented_range_are_bad_responses(code, expected):
    body = b'[{"workflowId": "a", "status": {"code": %s}}]' % code.encode()
    with pytest.raises(BadResponse, match=expected):
        parse_jobs(body)
    with pytest.raises(BadResponse, match=expected):
        parse_answer(body, None)


def test_the_largest_code_is_accepted():
    [parsed] = parse_jobs(b'[{"workflowId": "a", "status": {"code": 9223372036854775807}}]')
    assert parsed.status.code == 2**63 - 1


# the answer's array and the job's object are two levels of the 1024
@pytest.mark.parametrize("depth", [900, 1000, 1022])
def test_nesting_up_to_the_bound_is_accepted(depth):
    body = b'[{"workflowId": "a", "status": {"code": 1}, "x": %s}]' % (b"[" * depth + b"]" * depth)
    assert [j.workflow_id for j in parse_jobs(body)] == ["a"]
    assert [j.workflow_id for j in parse_answer(body, None).jobs] == ["a"]


@pytest.mark.parametrize("depth", [1023, 100_000])
def test_nesting_past_the_bound_is_a_bad_response(depth):
    body = b'[{"workflowId": "a", "status": {"code": 1}, "x": %s}]' % (b"[" * depth + b"]" * depth)
    for parse in (parse_jobs, lambda b: parse_answer(b, None)):
        with pytest.raises(BadResponse, match="nested more than 1024 levels deep"):
            parse(body)


async def test_a_deeply_nested_changed_item_is_still_parsed_right():
    """The reuse path decodes changed items one by one with msgspec: deep nesting there too."""
    first = json.dumps([job("a"), job("b")]).encode()
    deep = b"[" * 1000 + b"]" * 1000
    second = first.replace(b'"runId": "run-1"}]', b'"runId": "run-2", "x": %s}]' % deep)
    answers = [first, second]
    async with make_client(Server(lambda r: httpx.Response(200, content=answers.pop(0)))) as c:
        await c.fetch_jobs(None)
        result = await c.fetch_jobs(None)
    assert [(j.workflow_id, j.run_id) for j in result.jobs] == [("a", "run-1"), ("b", "run-2")]


@pytest.mark.parametrize("parser", ["parse_answer", "decode_reusing"])
async def test_an_unexpected_parser_exception_is_a_bad_response(monkeypatch, parser):
    import jobwatch.api.client as client_module

    def broken(*args):
        raise ZeroDivisionError(f"boom {TOKEN}")

    async def broken_async(*args):
        broken()

    monkeypatch.setattr(client_module, parser, broken if parser == "parse_answer" else broken_async)
    # a null name is for the whole-answer parser (parse_answer); the rest goes by decode_reusing
    name = None if parser == "parse_answer" else "RUNNING"
    body = [{"workflowId": "a", "status": {"code": 1, "name": name}}]
    async with make_client(Server(respond(200, body))) as client:
        with pytest.raises(BadResponse, match=r"could not be parsed \(ZeroDivisionError\)") as info:
            await client.fetch_jobs(None)
    assert_no_secret(info.value)


async def test_the_workspace_keeps_its_scalars_only():
    body = {"id": WS, "name": "Acme", "count": 3, "deep": [[[]]], "meta": {"a": 1}, "x": None}
    async with make_client(Server(respond(200, body))) as client:
        workspace = await client.get_workspace()
    assert workspace == {"id": WS, "name": "Acme", "count": 3, "x": None}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "n" * 5000}, "'name' is 5000 characters long"),
        ({"name": 5}, "name is a int, expected a string"),
        (b'{"name": "a", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}", "nested more than 1024"),
        (b"[" * 100, "not valid JSON"),
    ],
)
async def test_unusable_workspace_answers_are_bad_responses(body, expected):
    handler = respond(200, content=body) if isinstance(body, bytes) else respond(200, body)
    async with make_client(Server(handler)) as client:
        with pytest.raises(BadResponse, match=expected):
            await client.get_workspace()


async def test_a_deeply_nested_token_answer_is_a_bad_response():
    def exchange(request):
        return httpx.Response(200, content=b'{"token": ' + b"[" * 5000 + b"]" * 5000 + b"}")

    client = SharelyClient(
        Connection(BASE, WS, ORG),
        environ={"SHARELY_API_KEY": API_KEY},
        transport=httpx.MockTransport(exchange),
    )
    async with client:
        with pytest.raises(BadResponse, match="did not return a"):
            await client.fetch_jobs(None)


# -- bounds: Retry-After, deadline, loopback ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wait", "text"),
    [
        ("999999999", 600.0, "retry after 600 s (the server asked for 999999999 s;"),
        ("601", 600.0, "retry after 600 s (the server asked for 601 s;"),
        ("600", 600.0, "retry after 600 s"),
        (email.utils.formatdate(NOW + 86400, usegmt=True), 600.0, "asked for 86400 s"),
    ],
)
async def test_retry_after_is_capped_and_says_so(value, wait, text):
    handler = respond(429, {"error": "slow down"}, headers={"Retry-After": value})
    async with make_client(Server(handler)) as client:
        with pytest.raises(RateLimited) as info:
            await client.fetch_jobs(["a"])
    assert info.value.retry_after == pytest.approx(wait)
    assert text in info.value.describe()


async def test_the_deadline_covers_a_body_that_trickles():
    class Trickle(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b"["
            while True:
                await asyncio.sleep(0.01)
                yield b" "

    server = Server(lambda request: httpx.Response(200, stream=Trickle()))
    client = SharelyClient(
        Connection(BASE, WS, ORG, timeout=0.3),
        environ={"SHARELY_ACCESS_TOKEN": TOKEN},
        transport=httpx.MockTransport(server),
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with client:
        with pytest.raises(TransportError, match=r"did not finish within 0.3 s") as info:
            await client.fetch_jobs(None)
    assert loop.time() - started < 1.0
    assert info.value.retryable and info.value.__context__ is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("evil.localhost", False),
        ("localhost.", False),
        ("localhost.evil.com", False),
        ("127.0.0.1.nip.io", False),
        ("127.1", False),
        ("0x7f000001", False),
        ("2130706433", False),
        ("128.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
    ],
)
def test_only_literal_loopback_is_loopback(host, loopback):
    from jobwatch.api.transport import is_loopback

    assert is_loopback(host) is loopback


def test_a_name_under_localhost_needs_insecure():
    with pytest.raises(UsageError, match="evil.localhost"):
        check_connection_security(Connection("http://evil.localhost", WS, ORG))
    warning = check_connection_security(Connection("http://evil.localhost", WS, ORG, insecure=True))
    assert warning is not None and "evil.localhost" in warning


@pytest.mark.parametrize("status", [200, 503])
async def test_invalid_utf8_is_a_bad_response_or_keeps_the_status(status):
    """orjson 3.10 and msgspec 0.19 (the lowest pins) raise UnicodeDecodeError for it."""
    body = (
        b'{"error": "\xff\xfe", "errorId": "e\xff"}'
        if status != 200
        else b'[{"workflowId": "\xff"}]'
    )
    async with make_client(Server(respond(status, content=body))) as client:
        with pytest.raises(BadResponse if status == 200 else ServerError) as info:
            await client.fetch_jobs(None)
    assert info.value.status == (None if status == 200 else 503)
    if status == 200:
        with pytest.raises(BadResponse, match="not valid JSON"):
            parse_jobs(body)
