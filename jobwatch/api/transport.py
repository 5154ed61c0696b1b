"""The transport rules: which URLs may carry credentials, and how HTTP failures become ApiErrors.

Plain http is allowed only to loopback, and loopback means a literal address (127.0.0.0/8, ::1)
or the exact name `localhost`: `http://evil.localhost` is refused without --insecure, before
anything is resolved. Every failure (connect, timeout, protocol, an HTTP status) becomes one
ApiError subclass with a one-line reason and never the text of a secret.

The bounds of one request (the client applies them): it ends within `Connection.timeout` seconds,
connect, headers and body together; its answer may hold at most `Connection.max_answer_bytes`
once decompressed (jobwatch.api.body); an error body is read only up to MAX_ERROR_BODY_BYTES;
a Retry-After is honoured up to MAX_RETRY_AFTER.
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import urlsplit

import httpx
import orjson

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

#: error texts from a body or an exception are cut to this many characters
MAX_ERROR_TEXT = 200
#: the default cap on one answer, counted after decompression. Measured: a simulated answer is
#: ~127 bytes per job, so this holds ~1M jobs; and a gzip bomb or an endless body stops here,
#: `jobwatch status` peaking at ~190 MB RSS (tests/integration/test_hostile.py prints it). 256 MiB
#: would put that peak past 300 MB: the buffered body alone is the cap.
MAX_ANSWER_BYTES = 128 * 1024 * 1024
#: the most read of an error body (only its error, message and errorId are used) and of the
#: small answers (the workspace object, the exchanged token)
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_SMALL_ANSWER_BYTES = 1024 * 1024
#: the longest wait a Retry-After can impose (seconds): a larger one is cut to this, and says so
MAX_RETRY_AFTER = 600.0


@dataclass(frozen=True)
class Connection:
    base_url: str
    workspace_id: str
    organization_id: str
    insecure: bool = False
    #: the most one request may take, connect, headers and body together (seconds)
    timeout: float = 10.0
    #: the largest answer accepted, in bytes after decompression; larger is a bad response
    max_answer_bytes: int = MAX_ANSWER_BYTES


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer, read within its bounds."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code <= 299


def is_loopback(host: str) -> bool:
    """Whether `host` is literally loopback: 127.0.0.0/8, ::1 (or ::ffff:127.x) or `localhost`.

    Only the exact name `localhost` counts: `x.localhost` or `localhost.` are names a resolver may
    send anywhere, and nothing is resolved to find out.
    """
    host = host.lower()
    if host == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def check_connection_security(conn: Connection) -> str | None:
    """Refuse plain http to a non-loopback host unless conn.insecure; then return a warning line.

    Also refuses a timeout or an answer limit that is not a positive finite number.
    """
    if not (math.isfinite(conn.timeout) and conn.timeout > 0):
        raise UsageError(
            f"the request timeout must be a positive number of seconds, not {conn.timeout!r}"
        )
    if isinstance(conn.max_answer_bytes, bool) or not (
        isinstance(conn.max_answer_bytes, int) and conn.max_answer_bytes > 0
    ):
        raise UsageError(
            f"the answer limit must be a positive number of bytes, not {conn.max_answer_bytes!r}"
        )
    parts = urlsplit(conn.base_url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in ("http", "https") or not host:
        raise UsageError(
            f"base URL {origin(conn.base_url)!r} must be an http:// or https:// URL with a host"
        )
    if scheme == "https" or is_loopback(host):
        return None
    if not conn.insecure:
        raise UsageError(
            f"refusing to send credentials over plain http to {host}; use https or pass --insecure"
        )
    return f"warning: sending credentials over plain http to {host} (--insecure); anyone on the network can read them"


def origin(url: str) -> str:
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


def root_os_error(exc: BaseException) -> OSError | None:
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


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now (>= 0): delta-seconds or an HTTP date; None if absent or unreadable.

    Not capped: `response_error` caps it at MAX_RETRY_AFTER and says so.
    """
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


def seconds_text(value: float) -> str:
    return f"{value:g} s" if value < 1e6 else f"{value:.0f} s"


def retry_after_text(asked: float | None) -> tuple[float | None, str]:
    """(the wait to honour, the message's "; retry after ..." part) for a parsed Retry-After."""
    if asked is None:
        return None, ""
    if asked > MAX_RETRY_AFTER:
        return MAX_RETRY_AFTER, (
            f"; retry after {seconds_text(MAX_RETRY_AFTER)} (the server asked for "
            f"{seconds_text(asked)}; jobwatch waits at most {seconds_text(MAX_RETRY_AFTER)})"
        )
    return asked, f"; retry after {seconds_text(asked)}"


def transport_error(
    exc: httpx.HTTPError, where: str, timeout_s: float, scrub: Callable[[str], str]
) -> ApiError:
    """The one-line ApiError for an httpx failure reaching `where` (an origin, never a full URL)."""
    timeout = seconds_text(timeout_s)
    text = scrub(str(exc))[:MAX_ERROR_TEXT]
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
        cause = root_os_error(exc)
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
        return TransportError(f"could not build a valid request to {where} (local protocol error)")
    if isinstance(exc, httpx.DecodingError):
        return BadResponse(f"could not decode the response body from {where}")
    if isinstance(exc, httpx.TransportError):
        return TransportError(f"request to {where} failed ({type(exc).__name__})")
    return ApiError(f"request to {where} failed ({type(exc).__name__})")


def response_error(
    response: Reply,
    doing: str,
    *,
    source: str,
    scrub: Callable[[str], str],
    now: float,
) -> ApiError:
    """The ApiError for a non-2xx answer: HTTP status, the body's errorId and text, Retry-After.

    `source` says where the credential came from ("access token from $X"), for a 401.
    """
    status = response.status_code
    error_id = error = None
    try:
        body = orjson.loads(response.content)
    except ValueError:  # JSONDecodeError; orjson 3.10 raises UnicodeDecodeError for bad UTF-8
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("errorId"), str | int) and not isinstance(body.get("errorId"), bool):
            error_id = scrub(str(body["errorId"]))[:MAX_ERROR_TEXT]
        texts = [
            body[k]
            for k in ("error", "message")
            if isinstance(body.get(k), str) and body[k].strip()
        ]
        if len(texts) == 2 and texts[1] in texts[0]:
            texts.pop()
        if texts:
            error = scrub(": ".join(t.strip() for t in texts))[:MAX_ERROR_TEXT]
    retry_after, wait = retry_after_text(
        parse_retry_after(response.headers.get("retry-after"), now)
    )
    if status == 401:
        return Unauthorized(
            f"{doing}: the API refused the {source}", status=status, error_id=error_id, error=error
        )
    if status == 403:
        return Forbidden(f"{doing}: forbidden", status=status, error_id=error_id, error=error)
    if status == 404:
        return NotFound(
            f"{doing}: workspace not found", status=status, error_id=error_id, error=error
        )
    if status == 400:
        return BadRequest(
            f"{doing}: the API rejected the request", status=status, error_id=error_id, error=error
        )
    if status == 429:
        return RateLimited(
            f"{doing}: rate limited{wait}",
            retry_after=retry_after,
            status=status,
            error_id=error_id,
            error=error,
        )
    if 500 <= status <= 599:
        return ServerError(
            f"{doing}: server error{wait}",
            retry_after=retry_after,
            status=status,
            error_id=error_id,
            error=error,
        )
    if 300 <= status <= 399:
        location = response.headers.get("location")
        where = f" to {scrub(origin(location))}" if location else ""
        return ApiError(
            f"{doing}: unexpected redirect{where}; check the base URL",
            status=status,
            error_id=error_id,
            error=error,
        )
    return ApiError(
        f"{doing}: unexpected HTTP status", status=status, error_id=error_id, error=error
    )
