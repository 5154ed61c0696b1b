"""The Sharely API client: the background-jobs request, batching, and reuse of unchanged answers.

Unchanged answers are not parsed at all; in a changed one, items with the bytes of a job this client
decoded before are that job again, wherever they are in the list (jobwatch.api.reuse, in slices
that never hold the event loop for long); the rest is decoded, or the answer parsed whole.

One `SharelyClient` per workspace holds one keep-alive `httpx.AsyncClient`. It turns every
failure into an `ApiError` subclass with a one-line reason (jobwatch.api.transport); its
credential (jobwatch.api.credentials) never appears in a message, repr or log line.

Every request is bounded (the bounds are defined in jobwatch.api.transport): it ends within
`Connection.timeout` seconds in all (connect, headers and body: httpx's own timeouts are per
read, so a body trickled a byte at a time would never trip them), and its body is read as a
stream, decoded and counted by jobwatch.api.body, and refused past its size limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx
import orjson

from jobwatch import __version__
from jobwatch.api.body import ACCEPT_ENCODING, fix_mmap_threshold, read_body
from jobwatch.api.credentials import (
    ApiKeyRejected,
    Credentials,
    CredentialSpec,
    Secret,
    header_safe,
)
from jobwatch.api.decode import (
    PARSE_IN_THREAD_BYTES,
    load_json,
    parse_answer,
    parse_jobs,
)
from jobwatch.api.reuse import Decoded, ItemCache, decode_reusing
from jobwatch.api.transport import (
    MAX_ERROR_BODY_BYTES,
    MAX_ERROR_TEXT,
    MAX_SMALL_ANSWER_BYTES,
    Connection,
    Reply,
    check_connection_security,
    is_loopback,
    origin,
    response_error,
    seconds_text,
    transport_error,
)
from jobwatch.errors import ApiError, BadResponse, TransportError
from jobwatch.models import MAX_FIELD_CHARS, Job, shared_jobs

log = logging.getLogger(__name__)


@dataclass
class FetchResult:
    jobs: list[Job]
    nbytes: int
    #: every answer had the same bytes as this client's previous answer to the same request
    #: (then `jobs` is that answer's list, not parsed again)
    unchanged: bool = False
    #: when not None: every job of `jobs` not in `fresh` equals the job this client handed out
    #: last for its workflowId (usually it is that very object), in a result of the same `epoch`;
    #: so a caller that compared every result of that epoch need compare only `fresh` (None:
    #: compare every job)
    fresh: list[Job] | None = None
    #: the client's ItemCache epoch this result belongs to (jobwatch.api.reuse)
    epoch: int | None = None


@dataclass(frozen=True)
class _Kept:
    """The last answer to one request body: its bytes (None: not kept) and its jobs (one per
    workflowId)."""

    content: bytes | None
    jobs: list[Job]


#: an answer larger than this keeps its bytes for the next fetch only when this fetch asked the
#: same body as the last (the whole list polled every tick). The whole list read at discovery,
#: between ticks of batches, held its 12.7 MB (100k jobs) until the next tick: +12-15 MB of RSS
#: for 2 s of every 30 (pty, 100k growing, 2026-12-03). Not kept, the next read of the same body
#: is matched item by item (jobwatch.api.reuse) instead of byte for byte at once.
KEEP_ANSWER_BYTES = 1_000_000


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
        fix_mmap_threshold()  # freed answers go back to the system (see there)
        self.conn = conn
        self._clock = clock
        self._base = conn.base_url.rstrip("/")
        self._origin = origin(conn.base_url)
        ws = quote(conn.workspace_id, safe="")
        self._jobs_url = f"{self._base}/v1/workspaces/{ws}/background-jobs"
        self._workspace_url = f"{self._base}/v1/workspaces/{ws}"
        self._exchange_url = f"{self._base}/workspaces/{ws}/generate-access-key-token"
        self._creds = Credentials(creds, environ, exchange=self._exchange, clock=clock)
        # request body -> the last fetch's answer to it, to skip its parsing when unchanged
        self._answers: dict[bytes, _Kept] = {}
        # the latest version of every job handed out, by its item's bytes
        self._items = ItemCache()
        self._first_answer = True
        #: whether the first large answer is parsed whole, in one call: the fastest way to the
        #: first rows, but one C call holding the GIL (103-111 ms at 100k jobs, alone) and the
        #: cache filled from it later (_fill). False when the caller shows rows from elsewhere
        #: (the dashboard's restart, from its history): it is then matched in slices as any other.
        self.whole_first_answer = True
        #: the first answer (parsed whole) and its jobs, to fill the cache from (_fill)
        self._to_fill: tuple[bytes, list[Job]] | None = None
        host = urlsplit(conn.base_url).hostname or ""
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(conn.timeout),
            verify=True,
            follow_redirects=False,
            # a proxy from the environment must never see loopback traffic (the simulator)
            trust_env=not is_loopback(host),
            headers={"User-Agent": f"jobwatch/{__version__}", "Accept-Encoding": ACCEPT_ENCODING},
        )

    def __repr__(self) -> str:
        return (
            f"SharelyClient(base_url={self._origin!r}, workspace_id={self.conn.workspace_id!r}, "
            f"organization_id={self.conn.organization_id!r}, credentials={self._creds.source!r})"
        )

    @property
    def credential_source(self) -> str:
        """Where the credentials come from, for messages (e.g. "access token from $SHARELY_ACCESS_TOKEN")."""
        return self._creds.source

    async def _exchange(self, api_key: Secret) -> str:
        response = await self._send(
            "POST",
            self._exchange_url,
            {"x-api-key": api_key.value, "Content-Type": "application/json"},
            b"{}",
            MAX_SMALL_ANSWER_BYTES,
        )
        if response.status_code == 401 or (response.status_code == 403):
            err = self._response_error(response, "exchanging the API key")
            raise ApiKeyRejected(
                f"the {self._creds.source} was refused while exchanging it for an access token",
                status=err.status,
                error_id=err.error_id,
                error=err.error,
            )
        if not response.is_success:
            raise self._response_error(response, "exchanging the API key")
        try:
            data = load_json(response.content, "the API key exchange's answer")
        except BadResponse:
            data = None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not header_safe(token):
            raise BadResponse(
                'the API key exchange did not return a {"token": ...} object with a usable token'
            )
        log.debug("exchanged the API key for an access token")
        return token

    # -- requests ----------------------------------------------------------------------

    def _response_error(self, response: Reply, doing: str) -> ApiError:
        return response_error(
            response, doing, source=self._creds.source, scrub=self._creds.scrub, now=self._clock()
        )

    async def _send(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None, limit: int
    ) -> Reply:
        """One request, done within conn.timeout in all, its body read up to `limit` bytes
        (decompressed; an error body only up to MAX_ERROR_BODY_BYTES, the rest left unread)."""
        error: ApiError | None = None
        reading = False  # the headers are in, the body is arriving
        try:
            async with (
                asyncio.timeout(self.conn.timeout),
                self._http.stream(method, url, headers=headers, content=content) as response,
            ):
                reading = True
                if response.is_success:
                    body = await read_body(response, limit)
                else:
                    try:
                        body = await read_body(response, MAX_ERROR_BODY_BYTES, truncate=True)
                    except BadResponse:
                        body = b""  # an undecodable error body: the status still says enough
                reply = Reply(response.status_code, response.headers, body)
        except TimeoutError:
            within = seconds_text(self.conn.timeout)
            error = TransportError(
                f"the answer from {self._origin} did not finish within {within} "
                "(deadline for connect, headers and body)"
                if reading
                else f"no answer from {self._origin} within {within} (read timeout)"
            )
        except BadResponse as exc:
            error = exc
        except httpx.HTTPError as exc:
            error = transport_error(exc, self._origin, self.conn.timeout, self._creds.scrub)
        except Exception as exc:  # anything else from the transport must still be an ApiError
            error = TransportError(f"request to {self._origin} failed ({type(exc).__name__})")
        # raised outside the except block so no httpx exception (which holds the request
        # and its headers) stays attached as __context__
        if error is not None:
            raise error
        log.debug("%s %s -> %s (%d bytes)", method, url, reply.status_code, len(reply.content))
        return reply

    async def _authed(
        self, method: str, url: str, content: bytes | None, doing: str, limit: int
    ) -> Reply:
        """Send with the bearer token; on a 401 renew a renewable credential once and retry once."""
        token = await self._creds.current()
        for attempt in (1, 2):
            headers = {
                "Authorization": "Bearer " + token.value,
                "organizationid": self.conn.organization_id,
            }
            if content is not None:
                headers["Content-Type"] = "application/json"
            response = await self._send(method, url, headers, content, limit)
            if response.is_success:
                return response
            if response.status_code == 401 and attempt == 1 and self._creds.renewable:
                log.debug("401 from %s; renewing the %s once", url, self._creds.source)
                token = await self._creds.renew(token)
                continue
            raise self._response_error(response, doing)
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
        if not bodies:
            return FetchResult([], 0)
        if job_ids is None:
            # Only a whole-list answer gains from the filled cache. A tick of IDs goes out at
            # once: at a 100k restart the fill held up the second tick's request 0.49-0.65 s.
            await self._fill()
        to_fill: tuple[bytes, list[Job]] | None = None
        previous = self._answers
        answers: dict[bytes, _Kept] = {}
        nbytes = 0
        unchanged = True
        jobs: list[Job] = []
        fresh: list[Job] | None = []
        entries: list[tuple[bytes, Job]] = []
        forget = False
        for body in bodies:
            response = await self._authed(
                "POST", self._jobs_url, body, "fetching jobs", self.conn.max_answer_bytes
            )
            content = response.content
            nbytes += len(content)
            last = previous.get(body)
            if last is not None and last.content == content:
                answers[body] = last
                jobs.extend(last.jobs)
                continue
            unchanged = False
            # The client's first large answer (nothing to reuse yet) is parsed whole, in a thread:
            # one msgspec call (~30 ms at 100k jobs) instead of one per item (~150 ms), for the
            # first rows; the next whole-list fetch fills the cache from it first (_fill).
            cold = (
                self.whole_first_answer
                and self._first_answer
                and len(content) > PARSE_IN_THREAD_BYTES
            )
            decoded = None if cold else await self._decode_or_bad(content)
            if decoded is None:
                # not a compact list of valid jobs: parsed whole (the strict parser accepts it
                # or says what is wrong), and the cache forgets (its jobs may be stale now)
                if len(content) > PARSE_IN_THREAD_BYTES:
                    # msgspec holds the GIL, but the event loop gets the time around it
                    parsed = await asyncio.to_thread(self._parse_or_bad, response)
                else:
                    parsed = self._parse_or_bad(response)
                forget = True
                if cold:
                    to_fill = (content, parsed)
            else:
                parsed = decoded.jobs
                entries.extend(decoded.entries)
                if decoded.fresh is None:
                    forget = True  # a workflowId twice: which version is the latest is unsure
                elif fresh is not None:
                    fresh.extend(decoded.fresh)
            kept = content if last is not None or len(content) <= KEEP_ANSWER_BYTES else None
            answers[body] = _Kept(kept, parsed)
            jobs.extend(parsed)
        self._first_answer = False
        # The whole fetch succeeded: its new items become the latest versions.
        if forget:
            self._items.forget()
            fresh = None
            self._to_fill = to_fill
        else:
            await self._items.commit_in_slices(entries)
        # Only the answers to this tick's requests are kept (a 100k-job answer is ~12 MB).
        self._answers = answers
        if unchanged:
            fresh = []
        return FetchResult(jobs, nbytes, unchanged, fresh, self._items.epoch)

    async def _fill(self) -> None:
        """Remember the jobs of the first answer (parsed whole) by their bytes, in slices; a job
        an answer of IDs gave since keeps that newer version.

        They are decoded again from the same bytes, which proves each item's bytes are that job's
        (FetchResult.fresh promises the jobs it leaves out equal those handed out), and the cache
        keeps the jobs handed out rather than the copies (jobwatch.api.reuse.decode_reusing)."""
        kept, self._to_fill = self._to_fill, None
        if kept is None:
            return
        content, jobs = kept
        with contextlib.suppress(BadResponse):
            decoded = await self._decode_or_bad(content, jobs)
            if decoded is not None and decoded.fresh is not None:
                await self._items.commit_in_slices(decoded.entries, older=True)

    async def _decode_or_bad(
        self, content: bytes, same: Sequence[Job] | None = None
    ) -> Decoded | None:
        """decode_reusing, where an exception it was not expected to raise is a BadResponse (its
        type only: its text could quote the body)."""
        try:
            return await decode_reusing(content, self._items, same)
        except Exception as exc:
            error = BadResponse(f"the answer could not be parsed ({type(exc).__name__})")
        raise error

    def _parse_or_bad(self, response: Reply) -> list[Job]:
        """_parse, where even an exception the parsers were not expected to raise is a
        BadResponse (its type only: its text could quote the body)."""
        try:
            return self._parse(response)
        except BadResponse:
            raise
        except Exception as exc:
            error = BadResponse(f"the answer could not be parsed ({type(exc).__name__})")
        raise error

    def _parse(self, response: Reply) -> list[Job]:
        """The answer's jobs, one per workflowId, parsed whole (jobwatch.api.decode)."""
        error: BadResponse | None = None
        try:
            return shared_jobs(parse_answer(response.content, None).jobs)
        except BadResponse as exc:
            error = exc
        # The message quotes the start of the body, which must not echo a secret back, not even
        # cut short: scrub the body and describe that instead.
        body = response.content
        body = self._creds.scrub_bytes(body)
        if body != response.content:
            try:
                parse_jobs(body)
            except BadResponse as exc:
                error = exc
        scrubbed = self._creds.scrub(error.message)
        if scrubbed != error.message:
            error = BadResponse(scrubbed.removeprefix("bad response: "))
        raise error

    async def get_workspace(self) -> dict:
        """The workspace's scalar fields ({"id", "name", "organizationId", ...}); also checks the
        credentials.

        Nested values are left out (nothing reads them, and they may nest 1000 deep); a string
        longer than MAX_FIELD_CHARS or a name that is not a string is a bad response.
        """
        response = await self._authed(
            "GET", self._workspace_url, None, "reading the workspace", MAX_SMALL_ANSWER_BYTES
        )
        data = load_json(response.content, "the workspace")
        if not isinstance(data, dict):
            raise BadResponse(
                "the workspace endpoint did not return a JSON object", status=response.status_code
            )
        fields: dict = {}
        for key, value in data.items():
            if isinstance(value, dict | list):
                continue
            if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                raise BadResponse(
                    f"the workspace's {key[:MAX_ERROR_TEXT]!r} is {len(value)} characters long, "
                    f"more than the {MAX_FIELD_CHARS} jobwatch accepts"
                )
            fields[key] = value
        if "name" in fields and not isinstance(fields["name"], str | None):
            raise BadResponse(
                f"the workspace's name is a {type(fields['name']).__name__}, expected a string"
            )
        return fields

    async def aclose(self) -> None:
        """Close the connections, and kill a token_command still running."""
        self._creds.close()
        await self._http.aclose()

    async def __aenter__(self) -> SharelyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
