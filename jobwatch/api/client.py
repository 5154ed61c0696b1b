"""The Sharely API client: credentials, the background-jobs request, and error mapping.

One `SharelyClient` per workspace holds one keep-alive `httpx.AsyncClient`. It turns
every failure into an `ApiError` subclass with a one-line reason, and keeps the token
and API key out of every message, repr and log line (they are held in `_Secret`
wrappers so that even a traceback showing local variables does not reveal them).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import ipaddress
import logging
import math
import os
import shlex
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import quote, urlsplit

import httpx
import orjson

from jobwatch import __version__
from jobwatch.api.decode import PARSE_IN_THREAD_BYTES, Answer, parse_answer, parse_jobs
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
from jobwatch.models import Job

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.sharely.ai"
ACCESS_TOKEN_ENV = "SHARELY_ACCESS_TOKEN"
API_KEY_ENV = "SHARELY_API_KEY"
#: an exchanged token is renewed when it has less than this many seconds left
RENEW_MARGIN = 60.0
#: the longest a token_command may run
TOKEN_COMMAND_TIMEOUT = 30.0
_MAX_ERROR_TEXT = 200


class CredentialsError(UsageError):
    """No usable credentials: says which environment variables or config keys to set."""


class TokenCommandError(ApiError):
    """The configured token_command failed or printed something that is not a token."""

    kind = "credentials"
    retryable = False

    def hint(self) -> str:
        return "run the workspace's token_command by hand to see what is wrong"


class ApiKeyRejected(Unauthorized):
    """The API refused to exchange the API key for an access token."""

    def hint(self) -> str:
        return "the API key is invalid, revoked or for another workspace; create a new one in the Sharely dashboard"


@dataclass(frozen=True)
class Connection:
    base_url: str
    workspace_id: str
    organization_id: str
    insecure: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class CredentialSpec:
    """Where to find credentials; names only, never the secrets themselves."""

    token_command: str | None = None
    token_env: str | None = None
    api_key_env: str | None = None

    def __repr__(self) -> str:
        command = "<set>" if self.token_command else None
        return (
            f"CredentialSpec(token_command={command!r}, token_env={self.token_env!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    @property
    def is_empty(self) -> bool:
        return not (self.token_command or self.token_env or self.api_key_env)


@dataclass
class FetchResult:
    jobs: list[Job]
    nbytes: int
    #: every answer had the same bytes as this client's previous answer to the same request
    #: (then `jobs` is that answer's list, not parsed again)
    unchanged: bool = False
    #: when not None: every job of `jobs` not in `fresh` is equal to a job (same workflowId) of
    #: `previous`, this client's previous result for the same request
    fresh: list[Job] | None = None
    previous: list[Job] | None = None


class _Secret:
    """A secret string whose repr and str never show it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def check_connection_security(conn: Connection) -> str | None:
    """Refuse plain http to a non-loopback host unless conn.insecure; then return a warning line."""
    parts = urlsplit(conn.base_url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise UsageError(
            f"base URL {_origin(conn.base_url)!r} must be an http:// or https:// URL with a host"
        )
    if scheme == "https" or _is_loopback(host):
        return None
    if not conn.insecure:
        raise UsageError(
            f"refusing to send credentials over plain http to {host}; use https or pass --insecure"
        )
    return f"warning: sending credentials over plain http to {host} (--insecure); anyone on the network can read them"


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, without any user:password part."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, or None when the token is not a JWT or carries no expiry."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    payload = pieces[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        return None
    return float(exp)


def _root_os_error(exc: BaseException) -> OSError | None:
    """The deepest OSError behind an httpx exception (anyio hides it under a generic message)."""
    found = None
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, OSError):
            found = current
        current = current.__cause__ or current.__context__
        seen += 1
    return found


def _header_safe(value: str) -> bool:
    return bool(value) and all("\x21" <= ch <= "\x7e" for ch in value)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now (>= 0): delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds(value: float) -> str:
    return f"{value:g} s"


class SharelyClient:
    """Talks to one workspace of the Sharely API; raises only ApiError subclasses once built.

    Construction raises CredentialsError when no credentials can be found and UsageError
    for plain http to a non-loopback host without `insecure`.
    """

    #: jobIds per request; larger sets are split into several requests merged into one result
    BATCH_SIZE = 1000

    def __init__(
        self,
        conn: Connection,
        creds: CredentialSpec = CredentialSpec(),  # noqa: B008 - frozen, so sharing is safe
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_connection_security(conn)
        self.conn = conn
        self._clock = clock
        self._base = conn.base_url.rstrip("/")
        self._origin = _origin(conn.base_url)
        ws = quote(conn.workspace_id, safe="")
        self._jobs_url = f"{self._base}/v1/workspaces/{ws}/background-jobs"
        self._workspace_url = f"{self._base}/v1/workspaces/{ws}"
        self._exchange_url = f"{self._base}/workspaces/{ws}/generate-access-key-token"
        self._secrets: list[_Secret] = []
        self._token: _Secret | None = None
        self._token_expires: float | None = None
        self._renew_margin = RENEW_MARGIN
        self._api_key: _Secret | None = None
        self._command: str | None = None
        self._source = self._resolve(creds, os.environ if environ is None else environ)
        self._lock = asyncio.Lock()
        # request body -> the last fetch's answer to it, to skip or reuse its parsing
        self._answers: dict[bytes, Answer] = {}
        host = urlsplit(conn.base_url).hostname or ""
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(conn.timeout),
            verify=True,
            follow_redirects=False,
            # a proxy from the environment must never see loopback traffic (the simulator)
            trust_env=not _is_loopback(host),
            headers={"User-Agent": f"jobwatch/{__version__}"},
        )

    def __repr__(self) -> str:
        return (
            f"SharelyClient(base_url={self._origin!r}, workspace_id={self.conn.workspace_id!r}, "
            f"organization_id={self.conn.organization_id!r}, credentials={self._source!r})"
        )

    @property
    def credential_source(self) -> str:
        """Where the credentials come from, for messages (e.g. "access token from $SHARELY_ACCESS_TOKEN")."""
        return self._source

    # -- credentials -------------------------------------------------------------------

    def _remember(self, value: str) -> _Secret:
        secret = _Secret(value)
        if all(s.value != value for s in self._secrets):
            self._secrets.append(secret)
        return secret

    def _resolve(self, creds: CredentialSpec, environ: Mapping[str, str]) -> str:
        if creds.token_command:
            self._command = creds.token_command
            try:
                program = (shlex.split(creds.token_command) or ["?"])[0]
            except ValueError:
                raise CredentialsError(
                    "token_command is not a valid command line (unbalanced quotes)"
                ) from None
            return f"token from token_command {os.path.basename(program)!r}"
        if creds.is_empty:
            candidates = [(ACCESS_TOKEN_ENV, False), (API_KEY_ENV, True)]
        else:
            candidates = [(creds.token_env, False), (creds.api_key_env, True)]
        for name, is_key in candidates:
            if not name:
                continue
            value = (environ.get(name) or "").strip()
            if not value:
                continue
            if not _header_safe(value):
                raise CredentialsError(
                    f"${name} is not usable as a credential: it contains spaces, newlines or non-ASCII characters"
                )
            if is_key:
                self._api_key = self._remember(value)
                return f"API key from ${name}"
            self._token = self._remember(value)
            self._token_expires = _jwt_expiry(value)
            return f"access token from ${name}"
        if creds.is_empty:
            raise CredentialsError(
                f"no credentials: set {ACCESS_TOKEN_ENV} (an access token) or {API_KEY_ENV} "
                "(an sk-sharely- API key) in the environment, or set token_env, api_key_env or "
                "token_command for this workspace in the config"
            )
        tried = [
            f"${n} ({k})"
            for n, k in ((creds.token_env, "token_env"), (creds.api_key_env, "api_key_env"))
            if n
        ]
        raise CredentialsError(
            f"no credentials: {' and '.join(tried)} {'is' if len(tried) == 1 else 'are'} not set or empty; "
            "set it in the environment or change this workspace's credentials in the config"
        )

    @property
    def _renewable(self) -> bool:
        return self._api_key is not None or self._command is not None

    async def _current_token(self) -> _Secret:
        async with self._lock:
            token = self._token
            if (
                token is not None
                and self._api_key is not None
                and self._token_expires is not None
                and self._token_expires - self._clock() < self._renew_margin
            ):
                token = None
            if token is None:
                token = await self._obtain()
            return token

    async def _renew(self, stale: _Secret) -> _Secret:
        async with self._lock:
            if self._token is not None and self._token is not stale:
                return self._token  # another request renewed it meanwhile
            return await self._obtain()

    async def _obtain(self) -> _Secret:
        if self._command is not None:
            value = await asyncio.to_thread(self._run_command, self._command)
        elif self._api_key is not None:
            value = await self._exchange(self._api_key)
        else:
            assert self._token is not None
            return self._token
        self._token = self._remember(value)
        expires = _jwt_expiry(value)
        self._token_expires = expires
        if expires is not None:
            lifetime = expires - self._clock()
            if lifetime <= 0:
                # already "expired" by our clock (skew): rely on 401s rather than renew on every request
                self._token_expires = None
            else:
                self._renew_margin = min(RENEW_MARGIN, lifetime / 2)
        return self._token

    def _run_command(self, command: str) -> str:
        try:
            argv = shlex.split(command)
        except ValueError:
            raise TokenCommandError(
                "token_command is not a valid command line (unbalanced quotes)"
            ) from None
        if not argv:
            raise TokenCommandError("token_command is empty")
        program = os.path.basename(argv[0])
        error: TokenCommandError | None = None
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TOKEN_COMMAND_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            error = TokenCommandError(f"token_command program {program!r} was not found")
        except PermissionError:
            error = TokenCommandError(f"token_command program {program!r} is not executable")
        except subprocess.TimeoutExpired:
            error = TokenCommandError(
                f"token_command {program!r} did not finish within {_seconds(TOKEN_COMMAND_TIMEOUT)}"
            )
        except OSError as exc:
            error = TokenCommandError(
                f"token_command {program!r} could not be run ({exc.strerror or type(exc).__name__})"
            )
        if error is not None:
            raise error
        if done.returncode != 0:
            raise TokenCommandError(
                f"token_command {program!r} exited with status {done.returncode}"
            )
        value = done.stdout.decode("utf-8", "replace").strip()
        if not value:
            raise TokenCommandError(f"token_command {program!r} printed nothing")
        if not _header_safe(value):
            raise TokenCommandError(
                f"token_command {program!r} printed something that is not a single token "
                "(spaces, several lines or non-ASCII characters)"
            )
        return value

    async def _exchange(self, api_key: _Secret) -> str:
        response = await self._send(
            "POST",
            self._exchange_url,
            {"x-api-key": api_key.value, "Content-Type": "application/json"},
            b"{}",
        )
        if response.status_code == 401 or (response.status_code == 403):
            err = self._error(response, "exchanging the API key")
            raise ApiKeyRejected(
                f"the {self._source} was refused while exchanging it for an access token",
                status=err.status,
                error_id=err.error_id,
                error=err.error,
            )
        if not response.is_success:
            raise self._error(response, "exchanging the API key")
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not _header_safe(token):
            raise BadResponse(
                'the API key exchange did not return a {"token": ...} object with a usable token'
            )
        log.debug("exchanged the API key for an access token")
        return token

    # -- requests ----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret.value, "***")
        return text

    async def _send(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None
    ) -> httpx.Response:
        error: ApiError | None = None
        try:
            response = await self._http.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as exc:
            error = self._transport_error(exc)
        except Exception as exc:  # anything else from the transport must still be an ApiError
            error = TransportError(f"request to {self._origin} failed ({type(exc).__name__})")
        # raised outside the except block so no httpx exception (which holds the request
        # and its headers) stays attached as __context__
        if error is not None:
            raise error
        log.debug(
            "%s %s -> %s (%d bytes)", method, url, response.status_code, len(response.content)
        )
        return response

    def _transport_error(self, exc: httpx.HTTPError) -> ApiError:
        where = self._origin
        timeout = _seconds(self.conn.timeout)
        text = self._scrub(str(exc))[:_MAX_ERROR_TEXT]
        low = text.lower()
        if isinstance(exc, httpx.ConnectTimeout):
            return TransportError(f"cannot connect to {where} within {timeout} (connect timeout)")
        if isinstance(exc, httpx.ReadTimeout):
            return TransportError(f"no answer from {where} within {timeout} (read timeout)")
        if isinstance(exc, httpx.WriteTimeout):
            return TransportError(
                f"could not send the request to {where} within {timeout} (write timeout)"
            )
        if isinstance(exc, httpx.PoolTimeout):
            return TransportError(f"no free connection to {where} within {timeout} (pool timeout)")
        if isinstance(exc, httpx.TimeoutException):
            return TransportError(f"{where} timed out after {timeout}")
        if isinstance(exc, httpx.ConnectError):
            cause = _root_os_error(exc)
            if isinstance(cause, ConnectionRefusedError):
                reason = "connection refused"
            elif isinstance(cause, socket.gaierror):
                reason = "host name not found"
            elif "refused" in low:
                reason = "connection refused"
            elif "certificate" in low:
                reason = "TLS certificate verification failed"
            elif "ssl" in low or "tls" in low:
                reason = "TLS handshake failed"
            elif any(
                s in low for s in ("name or service", "nodename", "getaddrinfo", "name resolution")
            ):
                reason = "host name not found"
            elif "unreachable" in low:
                reason = "network unreachable"
            else:
                reason = text or "connect error"
            return TransportError(f"cannot connect to {where} ({reason})")
        if isinstance(exc, httpx.RemoteProtocolError):
            return TransportError(
                f"{where} closed the connection or sent an invalid HTTP response (protocol error: {text or 'no detail'})"
            )
        if isinstance(exc, httpx.ReadError):
            return TransportError(
                f"the connection to {where} broke while reading the answer (read error)"
            )
        if isinstance(exc, httpx.WriteError):
            return TransportError(
                f"the connection to {where} broke while sending the request (write error)"
            )
        if isinstance(exc, httpx.ProxyError):
            return TransportError(f"the proxy refused the connection to {where} (proxy error)")
        if isinstance(exc, httpx.LocalProtocolError):
            # its text can quote a header value, so it is never shown
            return TransportError(
                f"could not build a valid request to {where} (local protocol error)"
            )
        if isinstance(exc, httpx.DecodingError):
            return BadResponse(f"could not decode the response body from {where}")
        if isinstance(exc, httpx.TransportError):
            return TransportError(f"request to {where} failed ({type(exc).__name__})")
        return ApiError(f"request to {where} failed ({type(exc).__name__})")

    def _error(self, response: httpx.Response, doing: str) -> ApiError:
        status = response.status_code
        error_id = error = None
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("errorId"), str | int) and not isinstance(
                body.get("errorId"), bool
            ):
                error_id = self._scrub(str(body["errorId"]))[:_MAX_ERROR_TEXT]
            texts = [
                body[k]
                for k in ("error", "message")
                if isinstance(body.get(k), str) and body[k].strip()
            ]
            if len(texts) == 2 and texts[1] in texts[0]:
                texts.pop()
            if texts:
                error = self._scrub(": ".join(t.strip() for t in texts))[:_MAX_ERROR_TEXT]
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
        kw = {"status": status, "error_id": error_id, "error": error}
        if status == 401:
            return Unauthorized(f"{doing}: the API refused the {self._source}", **kw)
        if status == 403:
            return Forbidden(f"{doing}: forbidden", **kw)
        if status == 404:
            return NotFound(f"{doing}: workspace not found", **kw)
        if status == 400:
            return BadRequest(f"{doing}: the API rejected the request", **kw)
        if status == 429:
            wait = f"; retry after {_seconds(retry_after)}" if retry_after is not None else ""
            return RateLimited(f"{doing}: rate limited{wait}", retry_after=retry_after, **kw)
        if 500 <= status <= 599:
            wait = f"; retry after {_seconds(retry_after)}" if retry_after is not None else ""
            return ServerError(f"{doing}: server error{wait}", retry_after=retry_after, **kw)
        if 300 <= status <= 399:
            location = response.headers.get("location")
            where = f" to {self._scrub(_origin(location))}" if location else ""
            return ApiError(f"{doing}: unexpected redirect{where}; check the base URL", **kw)
        return ApiError(f"{doing}: unexpected HTTP status", **kw)

    async def _authed(
        self, method: str, url: str, content: bytes | None, doing: str
    ) -> httpx.Response:
        """Send with the bearer token; on a 401 renew a renewable credential once and retry once."""
        token = await self._current_token()
        for attempt in (1, 2):
            headers = {
                "Authorization": "Bearer " + token.value,
                "organizationid": self.conn.organization_id,
            }
            if content is not None:
                headers["Content-Type"] = "application/json"
            response = await self._send(method, url, headers, content)
            if response.is_success:
                return response
            if response.status_code == 401 and attempt == 1 and self._renewable:
                log.debug("401 from %s; renewing the %s once", url, self._source)
                token = await self._renew(token)
                continue
            raise self._error(response, doing)
        raise AssertionError("unreachable")

    # -- public API ---------------------------------------------------------------------

    async def fetch_jobs(self, job_ids: Sequence[str] | None) -> FetchResult:
        """The workspace's jobs (job_ids None) or the listed ones, in batches of BATCH_SIZE.

        IDs the API does not know are simply absent from the result.
        """
        if job_ids is None:
            bodies = [b"{}"]
        else:
            if isinstance(job_ids, str):
                job_ids = [job_ids]
            ids = list(job_ids)
            bodies = [
                orjson.dumps({"jobIds": ids[start : start + self.BATCH_SIZE]})
                for start in range(0, len(ids), self.BATCH_SIZE)
            ]
        previous = self._answers
        answers: dict[bytes, Answer] = {}
        nbytes = 0
        unchanged = bool(bodies)
        for body in bodies:
            response = await self._authed("POST", self._jobs_url, body, "fetching jobs")
            content = response.content
            nbytes += len(content)
            last = previous.get(body)
            if last is not None and last.content == content:
                answers[body] = Answer(content, last.items, last.parsed, last.jobs, [])
            else:
                if len(content) > PARSE_IN_THREAD_BYTES:
                    # msgspec holds the GIL, but the event loop gets the time around it
                    answer = await asyncio.to_thread(self._parse, response, last)
                else:
                    answer = self._parse(response, last)
                answers[body] = answer
                unchanged = False
        # Only the answers to this tick's requests are kept (a 100k-job answer is ~12 MB).
        self._answers = answers
        if len(answers) == 1:
            answer = next(iter(answers.values()))
            last = previous.get(next(iter(answers)))
            if answer.fresh is None or last is None:
                return FetchResult(answer.jobs, nbytes, unchanged)
            return FetchResult(answer.jobs, nbytes, unchanged, answer.fresh, last.jobs)
        jobs: list[Job] = []
        for answer in answers.values():
            jobs.extend(answer.jobs)
        return FetchResult(jobs, nbytes, unchanged)

    def _parse(self, response: httpx.Response, last: Answer | None) -> Answer:
        error: BadResponse | None = None
        try:
            return parse_answer(response.content, last)
        except BadResponse as exc:
            error = exc
        # The message quotes the start of the body, which must not echo a secret back, not even
        # cut short: scrub the body and describe that instead.
        body = response.content
        for secret in self._secrets:
            body = body.replace(secret.value.encode(), b"***")
        if body != response.content:
            try:
                parse_jobs(body)
            except BadResponse as exc:
                error = exc
        scrubbed = self._scrub(error.message)
        if scrubbed != error.message:
            error = BadResponse(scrubbed.removeprefix("bad response: "))
        raise error

    async def get_workspace(self) -> dict:
        """The workspace object ({"id", "name", "organizationId", ...}); also checks the credentials."""
        response = await self._authed("GET", self._workspace_url, None, "reading the workspace")
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise BadResponse(
                "the workspace endpoint did not return a JSON object", status=response.status_code
            )
        return data

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SharelyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
