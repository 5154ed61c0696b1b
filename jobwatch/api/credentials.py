"""Where a workspace's token comes from, and keeping it: environment, token_command, API-key exchange.

`Credentials` holds the token (and the API key) in `Secret` wrappers, so that no repr, message,
log line or traceback of local variables shows them; `scrub()` removes every secret it has seen
from a text before it is shown. The API-key exchange itself is an HTTP call: the client passes it in.

A token_command runs as an asyncio subprocess in its own session (so its own process group),
with no stdin and its stderr discarded. The whole group is killed (SIGKILL) when the command
overruns its timeout (CredentialSpec.token_command_timeout, default TOKEN_COMMAND_TIMEOUT), when
the request that waits for it is cancelled (`wait --timeout`, quitting the dashboard) and when
the client is closed. At most MAX_TOKEN_OUTPUT bytes of what it prints are read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import math
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import orjson

from jobwatch.errors import ApiError, Unauthorized, UsageError

ACCESS_TOKEN_ENV = "SHARELY_ACCESS_TOKEN"
API_KEY_ENV = "SHARELY_API_KEY"
#: an exchanged token is renewed when it has less than this many seconds left
RENEW_MARGIN = 60.0
#: the longest a token_command may run (seconds); then it is killed with its process group
TOKEN_COMMAND_TIMEOUT = 10.0
#: the most of a token_command's output that is read (a token is a few KiB at most)
MAX_TOKEN_OUTPUT = 64 * 1024


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
class CredentialSpec:
    """Where to find credentials; names only, never the secrets themselves."""

    token_command: str | None = None
    token_env: str | None = None
    api_key_env: str | None = None
    #: seconds the token_command may run before it is killed
    token_command_timeout: float = TOKEN_COMMAND_TIMEOUT

    def __repr__(self) -> str:
        command = "<set>" if self.token_command else None
        return (
            f"CredentialSpec(token_command={command!r}, token_env={self.token_env!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    @property
    def is_empty(self) -> bool:
        return not (self.token_command or self.token_env or self.api_key_env)


class Secret:
    """A secret string whose repr and str never show it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def jwt_expiry(token: str) -> float | None:
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


def header_safe(value: str) -> bool:
    return bool(value) and all("\x21" <= ch <= "\x7e" for ch in value)


class Credentials:
    """The credential of one workspace: resolved from a CredentialSpec, renewed when renewable."""

    def __init__(
        self,
        creds: CredentialSpec,
        environ: Mapping[str, str] | None = None,
        *,
        exchange: Callable[[Secret], Awaitable[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._exchange = exchange
        self._secrets: list[Secret] = []
        self._token: Secret | None = None
        self._token_expires: float | None = None
        self._renew_margin = RENEW_MARGIN
        self._api_key: Secret | None = None
        self._command: str | None = None
        self._command_timeout = creds.token_command_timeout
        #: the token_command processes running now (each the leader of its own group)
        self._running: set[asyncio.subprocess.Process] = set()
        self._closed = False
        self._lock = asyncio.Lock()
        #: where the credential comes from, for messages ("access token from $SHARELY_ACCESS_TOKEN")
        self.source = self._resolve(creds, os.environ if environ is None else environ)

    def __repr__(self) -> str:
        return f"Credentials({self.source!r})"

    def _remember(self, value: str) -> Secret:
        secret = Secret(value)
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
        candidates: list[tuple[str | None, bool]]
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
            if not header_safe(value):
                raise CredentialsError(
                    f"${name} is not usable as a credential: it contains spaces, newlines or non-ASCII characters"
                )
            if is_key:
                self._api_key = self._remember(value)
                return f"API key from ${name}"
            self._token = self._remember(value)
            self._token_expires = jwt_expiry(value)
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
    def renewable(self) -> bool:
        """Whether a 401 is worth one more try with a fresh token (API key or token_command)."""
        return self._api_key is not None or self._command is not None

    async def current(self) -> Secret:
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

    async def renew(self, stale: Secret) -> Secret:
        async with self._lock:
            if self._token is not None and self._token is not stale:
                return self._token  # another request renewed it meanwhile
            return await self._obtain()

    async def _obtain(self) -> Secret:
        if self._command is not None:
            value = await self._run_command(self._command)
        elif self._api_key is not None:
            assert self._exchange is not None, "an API key needs the client's exchange call"
            value = await self._exchange(self._api_key)
        else:
            assert self._token is not None
            return self._token
        self._token = self._remember(value)
        expires = jwt_expiry(value)
        self._token_expires = expires
        if expires is not None:
            lifetime = expires - self._clock()
            if lifetime <= 0:
                # already "expired" by our clock (skew): rely on 401s rather than renew on every request
                self._token_expires = None
            else:
                self._renew_margin = min(RENEW_MARGIN, lifetime / 2)
        return self._token

    async def _run_command(self, command: str) -> str:
        """Run the token_command (killed with its group past the timeout, when cancelled or
        when the client closes); its output, checked to be one token."""
        try:
            argv = shlex.split(command)
        except ValueError:
            raise TokenCommandError(
                "token_command is not a valid command line (unbalanced quotes)"
            ) from None
        if not argv:
            raise TokenCommandError("token_command is empty")
        program = os.path.basename(argv[0])
        proc = await self._spawn(argv, program)
        error: TokenCommandError | None = None
        finished = False
        try:
            async with asyncio.timeout(self._command_timeout):
                output = await _read_at_most(proc, MAX_TOKEN_OUTPUT)
                returncode = await proc.wait()
            finished = True
        except TimeoutError:
            error = TokenCommandError(
                f"token_command {program!r} did not finish within "
                f"{self._command_timeout:g} s; it was stopped with every process it started"
            )
        finally:
            self._running.discard(proc)
            if not finished:  # overrun, cancelled or failed: nothing of it may live on
                _kill_group(proc)
        if error is not None:
            await proc.wait()  # killed: at once
            raise error
        return _token_from(program, returncode, output)

    async def _spawn(self, argv: list[str], program: str) -> asyncio.subprocess.Process:
        """Start the command in a session (and so a process group) of its own."""
        if self._closed:
            raise TokenCommandError(f"token_command {program!r} not run: the client is closed")
        spawning = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        error: TokenCommandError | None = None
        try:
            # shielded: cancelled half-way, asyncio would kill the command but not its group
            proc = await asyncio.shield(spawning)
        except asyncio.CancelledError:
            spawning.add_done_callback(_kill_spawned)
            raise
        except FileNotFoundError:
            error = TokenCommandError(f"token_command program {program!r} was not found")
        except PermissionError:
            error = TokenCommandError(f"token_command program {program!r} is not executable")
        except OSError as exc:
            error = TokenCommandError(
                f"token_command {program!r} could not be run ({exc.strerror or type(exc).__name__})"
            )
        if error is not None:
            raise error
        if self._closed:  # closed while it started
            _kill_group(proc)
            await proc.wait()
            raise TokenCommandError(f"token_command {program!r} stopped: the client is closed")
        self._running.add(proc)
        return proc

    def close(self) -> None:
        """Kill every token_command still running, with its process group; run no more."""
        self._closed = True
        for proc in list(self._running):
            _kill_group(proc)
        self._running.clear()

    def scrub(self, text: str) -> str:
        """`text` with every secret seen so far replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret.value, "***")
        return text

    def scrub_bytes(self, body: bytes) -> bytes:
        """`body` with every secret seen so far replaced by ***."""
        for secret in self._secrets:
            body = body.replace(secret.value.encode(), b"***")
        return body


async def _read_at_most(proc: asyncio.subprocess.Process, limit: int) -> bytes:
    """What the process prints, up to limit + 1 bytes (one more says it printed too much)."""
    assert proc.stdout is not None
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = await proc.stdout.read(limit + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _token_from(program: str, returncode: int, output: bytes) -> str:
    """The token a token_command printed, or TokenCommandError saying why it is not one."""
    if returncode != 0:
        raise TokenCommandError(f"token_command {program!r} exited with status {returncode}")
    if len(output) > MAX_TOKEN_OUTPUT:
        raise TokenCommandError(
            f"token_command {program!r} printed more than {MAX_TOKEN_OUTPUT // 1024} KiB, "
            "which is not a token"
        )
    value = output.decode("utf-8", "replace").strip()
    if not value:
        raise TokenCommandError(f"token_command {program!r} printed nothing")
    if not header_safe(value):
        raise TokenCommandError(
            f"token_command {program!r} printed something that is not a single token "
            "(spaces, several lines or non-ASCII characters)"
        )
    return value


def _kill_spawned(spawning: asyncio.Future[asyncio.subprocess.Process]) -> None:
    """Kill the group of a command whose start was cancelled half-way, once it has started."""
    if not spawning.cancelled() and spawning.exception() is None:
        _kill_group(spawning.result())


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group `proc` leads (it was started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
