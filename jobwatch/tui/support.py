"""Plain-text pieces of the dashboard that need no Textual: the support snippet.

The snippet is what a person pastes into a support ticket: every ID in full, the job's label and
kind, and times in UTC ISO 8601 — the change to the current status as its observation window
(`FAILED between 2025-11-28T10:04:58Z and 2025-11-28T10:05:00Z`, jobwatch.windows), and how long
the run took as a range when a window is wide. Every value in it came from outside (the API, the
config, a person) and is shown escaped (`jobwatch.sanitize.visible`): what is copied is what was
on screen, with no control character, bidi override or zero-width character that a terminal, a
browser or a ticket system would act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobwatch.models import Status
from jobwatch.sanitize import visible
from jobwatch.windows import Gap, Window, describe_window_utc, format_duration_range, run_duration
from jobwatch.windows import iso_utc as _iso_utc


def iso_utc(epoch: float | None) -> str:
    """`2026-11-28T10:11:13Z`, or "unknown" for None."""
    return "unknown" if epoch is None else _iso_utc(epoch)


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
    label: str | None = None
    #: the job's kind (jobwatch.kinds); "" unknown
    kind: str = ""
    #: the window in which the job reached its current status; None: not recorded
    status_window: Window | None = None
    #: the window in which its current (or last) run started; None: unknown
    started: Window | None = None
    #: the workspace's gaps during the job's lifetime
    gaps: Sequence[Gap] = ()


def support_snippet(facts: SupportFacts) -> str:
    """The multi-line text copied by `y`, one `key: value` per line, every value escaped."""
    v = visible
    earlier = [v(r) for r in facts.run_chain if r and r != facts.run_id]
    status = facts.status
    lines = [
        f"organizationId: {v(facts.organization_id)}",
        f"workspaceId: {v(facts.workspace_id)} ({v(facts.workspace_name)})",
        f"workflowId: {v(facts.workflow_id)}",
        f"label: {v(facts.label or '') or 'none'}",
        f"kind: {v(facts.kind) or 'unknown'}",
        f"runId: {v(facts.run_id) or 'unknown'}",
        f"earlier runIds: {', '.join(earlier) if earlier else 'none'}",
        f"status: {status.code} {v(status.label)}",
    ]
    window = facts.status_window
    if window is not None:
        lines.append(f"when: {describe_window_utc(v(status.label), window, gaps=facts.gaps)}")
    if facts.started is not None:
        lines.append(f"run: {describe_window_utc('started', facts.started, gaps=facts.gaps)}")
        if window is not None and status.is_terminal:
            lines.append(f"ran: {format_duration_range(run_duration(facts.started, window))}")
    lines += [
        f"first seen: {iso_utc(facts.first_seen)}",
        f"last change: {iso_utc(facts.last_change)}",
        f"last errorId: {v(facts.last_error_id or '') or 'none'}",
    ]
    return "\n".join(lines)
