"""Plain-text pieces of the dashboard that need no Textual: the support snippet and the per-status hints.

The snippet is what a person pastes into a support ticket: every ID in full, times in UTC ISO 8601.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jobwatch.models import NOT_FOUND_CODE, Status

_FAILURE_HINT = (
    "Retry the operation that started this job, or open a support ticket with these IDs "
    "(press y to copy them)."
)

STATUS_HINTS: dict[int, str] = {
    1: "In progress. Terminal states are notified as they happen.",
    2: "Finished. Confirm the resource through its own endpoint (the job status alone does not prove it).",
    3: _FAILURE_HINT,
    4: "Cancelled before it finished. Start the originating operation again if it is still needed.",
    5: _FAILURE_HINT,
    6: "Not finished: it goes on under a new runId. jobwatch keeps polling and records the chain.",
    7: _FAILURE_HINT,
    NOT_FOUND_CODE: "The API does not know this ID (it was left out of several answers in a row). "
    "Check the ID and the workspace.",
}
UNKNOWN_HINT = "A status jobwatch does not know; shown as the API sent it. Not treated as finished."


def status_hint(code: int) -> str:
    """One sentence telling a person what to do about a job in this status."""
    return STATUS_HINTS.get(code, UNKNOWN_HINT)


def iso_utc(epoch: float | None) -> str:
    """`2026-11-28T10:11:13Z`, or "unknown" for None."""
    if epoch is None:
        return "unknown"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SupportFacts:
    organization_id: str
    workspace_id: str
    workspace_name: str
    workflow_id: str
    run_id: str
    status: Status
    run_chain: Sequence[str] = ()
    first_seen: float | None = None
    last_change: float | None = None
    last_error_id: str | None = None


def support_snippet(facts: SupportFacts) -> str:
    """The multi-line text copied by `y`, one `key: value` per line."""
    earlier = [r for r in facts.run_chain if r and r != facts.run_id]
    lines = [
        f"organizationId: {facts.organization_id}",
        f"workspaceId: {facts.workspace_id} ({facts.workspace_name})",
        f"workflowId: {facts.workflow_id}",
        f"runId: {facts.run_id or 'unknown'}",
        f"earlier runIds: {', '.join(earlier) if earlier else 'none'}",
        f"status: {facts.status.code} {facts.status.label}",
        f"first seen: {iso_utc(facts.first_seen)}",
        f"last change: {iso_utc(facts.last_change)}",
        f"last errorId: {facts.last_error_id or 'none'}",
    ]
    return "\n".join(lines)
