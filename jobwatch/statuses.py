"""Every fact about a job status, in one table keyed on the status code.

The API reports Temporal's workflow execution status; everything jobwatch decides about a job
(is it finished, did it fail, which glyph, which hint, where it sorts, which theme colour) is read
from STATUSES here, so the exit code of `wait`, the bell, the terminal title, the summary bar, the
help screen and the hints cannot disagree.

CANCELLED counts as a failure: a watcher waited for the job to do its work and it did not, so
`wait` exits 1, the bell rings and the title counts it with the failed ones. Its hint says that
someone stopped it on purpose, which FAILED, TERMINATED and TIMED_OUT do not.

Codes the API may add later (and 0, "unspecified") are UNKNOWN: not terminal, not a failure,
shown with the name and code the API sent. NOT_FOUND is jobwatch's own: an ID the API kept
leaving out of its answers; terminal, not a failure (`wait` exits 4 for it).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Synthetic code for an ID the API kept leaving out of its answer; never sent by the API.
NOT_FOUND_CODE = -1
#: The one status that means the job did its work.
COMPLETED_CODE = 2
#: The code shown for an unspecified status (codes not in STATUSES are shown with their own).
UNKNOWN_CODE = 0


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """What jobwatch knows about one status code."""

    code: int
    #: canonical name (the API's own name is kept on each job, for unknown codes)
    name: str
    #: the name on a summary chip, where space is short
    short: str
    #: one terminal cell, unique per status, so statuses tell apart without colour
    symbol: str
    #: final for this run: never polled again, `wait` stops waiting for it
    terminal: bool
    #: the job did not do its work: exit 1 from `wait`, the bell, "failed" in the title
    failure: bool
    #: in progress: "running" in the terminal title
    active: bool
    #: position in the "status" sort (failures first, completed last)
    rank: int
    #: a few words for the help screen
    meaning: str
    #: one sentence telling a person what to do about a job in this status
    hint: str
    #: the theme variable that colours it (a theme may set `status-failed = "#ff0000"`)
    color_variable: str


_FAILURE_HINT = (
    "Retry the operation that started this job, or open a support ticket with these IDs "
    "(press y to copy them)."
)

_TABLE = (
    StatusInfo(
        1,
        "RUNNING",
        "RUNNING",
        "▶",
        terminal=False,
        failure=False,
        active=True,
        rank=4,
        meaning="in progress",
        hint="In progress. Terminal states are notified as they happen.",
        color_variable="status-running",
    ),
    StatusInfo(
        6,
        "CONTINUED_AS_NEW",
        "CONTINUED",
        "↻",
        terminal=False,
        failure=False,
        active=True,
        rank=5,
        meaning="not finished: goes on under a new runId",
        hint="Not finished: it goes on under a new runId. jobwatch keeps polling and records the chain.",
        color_variable="status-continued",
    ),
    StatusInfo(
        2,
        "COMPLETED",
        "COMPLETED",
        "✓",
        terminal=True,
        failure=False,
        active=False,
        rank=8,
        meaning="done; confirm the resource via its own endpoint",
        hint="Finished. Confirm the resource through its own endpoint (the job status alone does not prove it).",
        color_variable="status-completed",
    ),
    StatusInfo(
        3,
        "FAILED",
        "FAILED",
        "✗",
        terminal=True,
        failure=True,
        active=False,
        rank=0,
        meaning="retry the operation, or send support the snippet (y)",
        hint=_FAILURE_HINT,
        color_variable="status-failed",
    ),
    StatusInfo(
        5,
        "TERMINATED",
        "TERMINATED",
        "■",
        terminal=True,
        failure=True,
        active=False,
        rank=2,
        meaning="stopped by force: a failure, as FAILED",
        hint=_FAILURE_HINT,
        color_variable="status-terminated",
    ),
    StatusInfo(
        7,
        "TIMED_OUT",
        "TIMED_OUT",
        "◔",
        terminal=True,
        failure=True,
        active=False,
        rank=1,
        meaning="ran out of time: a failure, as FAILED",
        hint=_FAILURE_HINT,
        color_variable="status-timed-out",
    ),
    StatusInfo(
        4,
        "CANCELLED",
        "CANCELLED",
        "⊘",
        terminal=True,
        failure=True,
        active=False,
        rank=3,
        meaning="stopped on request: counted as a failure",
        hint="Cancelled before it finished, on someone's request. Start the originating "
        "operation again if it is still needed.",
        color_variable="status-cancelled",
    ),
    StatusInfo(
        NOT_FOUND_CODE,
        "NOT_FOUND",
        "NOT_FOUND",
        "∅",
        terminal=True,
        failure=False,
        active=False,
        rank=6,
        meaning="the API keeps leaving this ID out of its answer",
        hint="The API does not know this ID (it was left out of several answers in a row). "
        "Check the ID and the workspace.",
        color_variable="status-not-found",
    ),
)

STATUSES: dict[int, StatusInfo] = {info.code: info for info in _TABLE}

#: any code not in STATUSES (0 "unspecified" included): shown as the API names it
UNKNOWN = StatusInfo(
    UNKNOWN_CODE,
    "UNKNOWN",
    "UNKNOWN",
    "?",
    terminal=False,
    failure=False,
    active=False,
    rank=6,
    meaning="a code jobwatch does not know; not final",
    hint="A status jobwatch does not know; shown as the API sent it. Not treated as finished.",
    color_variable="status-unknown",
)

#: the codes the API documents (the keys 1-7 filter by them), in code order
API_CODES: tuple[int, ...] = tuple(sorted(c for c in STATUSES if c > 0))
TERMINAL_CODES = frozenset(c for c, info in STATUSES.items() if info.terminal)
FAILURE_CODES = frozenset(c for c, info in STATUSES.items() if info.failure)
ACTIVE_CODES = frozenset(c for c, info in STATUSES.items() if info.active)
#: every known status in the order a watcher meets them (the table's order): the summary bar's and
#: the help's order (the help adds UNKNOWN at the end)
IN_ORDER: tuple[StatusInfo, ...] = _TABLE


def status_info(code: int) -> StatusInfo:
    """The facts for `code`; UNKNOWN for a code jobwatch does not know (0 included)."""
    return STATUSES.get(code, UNKNOWN)


def symbol(code: int) -> str:
    return STATUSES.get(code, UNKNOWN).symbol


def rank(code: int) -> int:
    return STATUSES.get(code, UNKNOWN).rank


def hint(code: int) -> str:
    return STATUSES.get(code, UNKNOWN).hint
