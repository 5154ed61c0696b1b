"""Plain-text pieces of the dashboard that need no Textual: the support snippet.

The snippet is what a person pastes into a support ticket: every ID in full, times in UTC ISO 8601.
Every value in it came from outside (the API, the config) and is shown escaped
(`jobwatch.sanitize.visible`): what is copied is what was on screen, with no control character,
bidi override or zero-width character that a terminal, a browser or a ticket system would act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from jobwatch.models import Status
from jobwatch.sanitize import visible


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
    """The multi-line text copied by `y`, one `key: value` per line, every value escaped."""
    v = visible
    earlier = [v(r) for r in facts.run_chain if r and r != facts.run_id]
    lines = [
        f"organizationId: {v(facts.organization_id)}",
        f"workspaceId: {v(facts.workspace_id)} ({v(facts.workspace_name)})",
        f"workflowId: {v(facts.workflow_id)}",
        f"runId: {v(facts.run_id) or 'unknown'}",
        f"earlier runIds: {', '.join(earlier) if earlier else 'none'}",
        f"status: {facts.status.code} {v(facts.status.label)}",
        f"first seen: {iso_utc(facts.first_seen)}",
        f"last change: {iso_utc(facts.last_change)}",
        f"last errorId: {v(facts.last_error_id or '') or 'none'}",
    ]
    return "\n".join(lines)
