"""The Sharely API client: the background-jobs request, batching, and reuse of unchanged answers.

One `SharelyClient` per workspace holds one keep-alive `httpx.AsyncClient`. It turns every
failure into an `ApiError` subclass with a one-line reason (jobwatch.api.transport); its
credential (jobwatch.api.credentials) never appears in a message, repr or log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx
import orjson

from jobwatch import __version__
from jobwatch.api.credentials import (
    ApiKeyRejected,
    Credentials,
    CredentialSpec,
    Secret,
    header_safe,
)
from jobwatch.api.decode import PARSE_IN_THREAD_BYTES, Answer, parse_answer, parse_jobs
from jobwatch.api.transport import (
    Connection,
    check_connection_security,
    is_loopback,
    origin,
    response_error,
    transport_error,
)
from jobwatch.errors import ApiError, BadResponse, TransportError
from jobwatch.models import Job

log = logging.getLogger(__name__)


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
        self._origin = origin(conn.base_url)
        ws = quote(conn.workspace_id, safe="")
        self._jobs_url = f"{self._base}/v1/workspaces/{ws}/background-jobs"
        self._workspace_url = f"{self._base}/v1/workspaces/{ws}"
        self._exchange_url = f"{self._base}/workspaces/{ws}/generate-access-key-token"
        self._creds = Credentials(creds, environ, exchange=self._exchange, clock=clock)
        # request body -> the last fetch's answer to it, to skip or reuse its parsing
        self._answers: dict[bytes, Answer] = {}
        host = urlsplit(conn.base_url).hostname or ""
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(conn.timeout),
            verify=True,
            follow_redirects=False,
            # a proxy from the environment must never see loopback traffic (the simulator)
            trust_env=not is_loopback(host),
            headers={"User-Agent": f"jobwatch/{__version__}"},
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
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not header_safe(token):
            raise BadResponse(
                'the API key exchange did not return a {"token": ...} object with a usable token'
            )
        log.debug("exchanged the API key for an access token")
        return token

    # -- requests ----------------------------------------------------------------------

    def _response_error(self, response: httpx.Response, doing: str) -> ApiError:
        return response_error(
            response, doing, source=self._creds.source, scrub=self._creds.scrub, now=self._clock()
        )

    async def _send(
        self, method: str, url: str, headers: dict[str, str], content: bytes | None
    ) -> httpx.Response:
        error: ApiError | None = None
        try:
            response = await self._http.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as exc:
            error = transport_error(exc, self._origin, self.conn.timeout, self._creds.scrub)
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

    async def _authed(
        self, method: str, url: str, content: bytes | None, doing: str
    ) -> httpx.Response:
        """Send with the bearer token; on a 401 renew a renewable credential once and retry once."""
        token = await self._creds.current()
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
