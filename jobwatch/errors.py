"""Errors as values: every failure a person can meet, with a reason they can act on.

API errors carry the HTTP status and the body's errorId/error/message when present.
`describe()` gives the one line shown to a person; it never contains a secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class JobwatchError(Exception):
    """Base of every error jobwatch reports to a person instead of a traceback."""

    exit_code = 2

    def describe(self) -> str:
        return str(self)


class UsageError(JobwatchError):
    """Bad arguments or a refused unsafe setting (exit 2)."""


@dataclass
class ConfigError(JobwatchError):
    """A config or theme file that cannot be used; names the file, line and key."""

    path: str
    message: str
    line: int | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            where += f" [{self.key}]"
        return f"{where}: {self.message}"


class ApiError(JobwatchError):
    """A request to the Sharely API that did not give usable data."""

    exit_code = 3
    kind = "api"
    #: whether the poller should keep retrying after this error
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str | None = None,
        error: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_id = error_id
        self.error = error
        self.retry_after = retry_after

    def describe(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        parts.append(self.message)
        if self.error and self.error not in self.message:
            parts.append(f"({self.error})")
        if self.error_id:
            parts.append(f"errorId {self.error_id}")
        hint = self.hint()
        if hint:
            parts.append(f"— {hint}")
        return " ".join(parts)

    def hint(self) -> str:
        return ""

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "error": self.error,
            "errorId": self.error_id,
            "retryAfter": self.retry_after,
        }


class Unauthorized(ApiError):
    kind = "unauthorized"
    retryable = False

    def hint(self) -> str:
        return "the token is invalid, expired or for another workspace; set a fresh SHARELY_ACCESS_TOKEN or use an API key"


class Forbidden(ApiError):
    kind = "forbidden"
    retryable = False

    def hint(self) -> str:
        return "this credential may not read this workspace's jobs"


class NotFound(ApiError):
    kind = "not_found"
    retryable = False

    def hint(self) -> str:
        return "check the workspace ID and organization ID"


class BadRequest(ApiError):
    kind = "bad_request"
    retryable = False


class RateLimited(ApiError):
    kind = "rate_limited"


class ServerError(ApiError):
    kind = "server"


class TransportError(ApiError):
    kind = "transport"


class BadResponse(ApiError):
    kind = "bad_response"

    def __init__(self, message: str, **kw) -> None:
        super().__init__(f"bad response: {message}", **kw)


#: an unexpected exception's text is cut to this many characters in InternalError
MAX_INTERNAL_TEXT = 200


class InternalError(ApiError):
    """An exception jobwatch did not expect while polling (a bug, or one escaping a parser).

    The poller reports it like any failed poll and retries with backoff; it never stops for it.
    """

    kind = "internal"

    @classmethod
    def from_exception(cls, exc: BaseException) -> InternalError:
        """The exception's type, text (cut short) and where it was raised (file:line)."""
        text = str(exc)
        if len(text) > MAX_INTERNAL_TEXT:
            text = text[:MAX_INTERNAL_TEXT] + "\u2026"
        detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        frame = exc.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        if frame is not None:
            where = os.path.basename(frame.tb_frame.f_code.co_filename)
            detail += f" at {where}:{frame.tb_lineno}"
        return cls(f"internal error ({detail})")

    def hint(self) -> str:
        return "a bug in jobwatch; please report this line if it keeps happening"
