"""Faults the simulator injects into its answers: errors, rate limits, latency, stalls, drops,
malformed bodies and hostile ones (jobwatch.simulator.hostile). `Faults` may be changed while the
server runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

import orjson

from jobwatch.simulator.names import HOSTILE_KINDS
from jobwatch.simulator.scenarios import copy_job

MALFORMED_KINDS = (
    "truncated",
    "not_json",
    "object",
    "no_workflow_id",
    "status_not_object",
    "code_not_number",
    "duplicate",
)
Response = tuple[int, list[tuple[str, str]], bytes]


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
    #: one of HOSTILE_KINDS: answers built to take over the client (see simulator.hostile)
    hostile: str | None = None
    #: `trickle` and `slow_headers`: seconds between two bytes
    trickle_delay: float = 1.0
    #: `huge_field`: the length of the huge fields
    huge_field_chars: int = 100_000
    #: `deep_nesting`: how deep the unknown field nests
    nesting_depth: int = 1000

    def __setattr__(self, name: str, value: object) -> None:
        if name == "malformed" and value is not None and value not in MALFORMED_KINDS:
            raise ValueError(
                f"unknown malformed kind {value!r}; choose one of {', '.join(MALFORMED_KINDS)}"
            )
        if name == "hostile" and value is not None and value not in HOSTILE_KINDS:
            raise ValueError(
                f"unknown hostile kind {value!r}; choose one of {', '.join(HOSTILE_KINDS)}"
            )
        if name == "error_rate" and not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
            raise ValueError("error_rate must be between 0 and 1")
        super().__setattr__(name, value)


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def queued_failure(
    status: int,
    body: object,
    extra: Mapping[str, str] | None,
    *,
    error: Callable[[int, str, Iterable[tuple[str, str]]], Response],
) -> Response:
    """The answer `Simulator.fail_next` queued: `body` None for the standard error body (made by
    `error`), bytes or str sent as is, anything else as JSON; `extra` headers replace defaults."""
    hdrs = [("Content-Type", "application/json")]
    if extra:
        hdrs = [h for h in hdrs if h[0].lower() not in {k.lower() for k in extra}]
        hdrs.extend(extra.items())
    if body is None:
        return error(status, phrase(status), [h for h in hdrs if h[0].lower() != "content-type"])
    if isinstance(body, str):
        payload = body.encode("utf-8")
    elif isinstance(body, bytes):
        payload = body
    else:
        payload = orjson.dumps(body)
    return status, hdrs, payload


def malformed_answer(kind: str, jobs: list[dict], payload: bytes) -> Response:
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
        jobs.append(copy_job(first))
    return 200, json_type, orjson.dumps(jobs)
