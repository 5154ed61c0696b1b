"""WorkspaceFacts.adopt: the first answer's way (no row shown, no annotation) fills in what the
general way does."""

from __future__ import annotations

import dataclasses

from jobwatch.kinds import Kinds
from jobwatch.models import Status
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import Annotation
from jobwatch.tui.job_facts import WorkspaceFacts
from jobwatch.tui.model import JobRow
from jobwatch.windows import Window

WS = WorkspaceConfig(
    name="acme",
    workspace_id="0b8e7f52-3c1a-4d6e-9f20-8a7b6c5d4e3f",
    organization_id="5f4e3d2c-1b0a-4987-8654-3210fedcba98",
)
STATUSES = [Status(code) for code in range(1, 8)]


def rows() -> list[JobRow]:
    made = [JobRow(f"j{i}", STATUSES[i % 7], f"r{i}", 5.0, 5.0) for i in range(40)]
    # a workflowId twice, running then finished: the last one counts
    return [*made, JobRow("j1", STATUSES[1], "r1", 6.0, 6.0)]


def adopted(shown) -> tuple[set[str], list[JobRow]]:
    facts = WorkspaceFacts(None, WS, Kinds())
    facts.running = {"stale-running"}
    fresh = rows()
    facts.adopt(fresh, shown)
    return facts.running, fresh


def test_no_row_shown_is_the_general_way_asking_the_table() -> None:
    fast_running, fast_rows = adopted(None)
    general_running, general_rows = adopted(lambda wid: None)
    assert fast_running == general_running
    assert "j1" not in fast_running and "j0" in fast_running and "stale-running" in fast_running
    assert fast_rows == general_rows


def test_with_annotations_the_general_way_fills_them_in() -> None:
    facts = WorkspaceFacts(None, WS, Kinds())
    facts.annotations = {"j2": Annotation(label="nightly", pinned=True)}
    fresh = rows()
    facts.adopt(fresh, None)
    assert (fresh[2].label, fresh[2].pinned) == ("nightly", True)
    old = dataclasses.replace(fresh[0], started=Window(None, 1.0))
    again = [dataclasses.replace(fresh[0])]
    facts.adopt(again, lambda wid: old if wid == "j0" else None)
    assert again[0].started == old.started
