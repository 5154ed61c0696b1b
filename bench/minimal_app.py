"""A minimal Textual app shaped like the jobwatch dashboard: the baseline of bench/pty_compare.py.

    python bench/minimal_app.py [--rows N] [--seed S]

A title line, a summary line, a plain `DataTable` of N fake jobs on the left (workflowId, status
with its glyph, runId cut to 8 characters; an ID longer than 25 cut with "…", as the dashboard
shows them; home and end go to the first and last row) and a `Static` detail pane on the right
naming the highlighted job's full workflowId and runId; `q` quits. The table is 78 columns wide,
as the dashboard's is at 120 columns, so `pty_probe.DEFAULT_LAYOUT` reads both. No polling, no
timers: what it costs is what Textual itself costs for the same screen.
"""

from __future__ import annotations

import argparse
import random
import uuid

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Static

KINDS = (
    "taxonomy-publish",
    "role-assignment",
    "role-create",
    "knowledge-create",
    "cascade-delete-knowledge",
)
STATUSES = (("▶", "RUNNING"), ("✓", "COMPLETED"), ("✗", "FAILED"))


def fake_jobs(count: int, seed: int = 1) -> list[tuple[str, str, str]]:
    """`count` (workflowId, status with glyph, runId) tuples, the same for the same seed."""
    rng = random.Random(seed)
    jobs = []
    for _ in range(count):
        workflow_id = f"{rng.choice(KINDS)}-{rng.getrandbits(32):08x}"
        glyph, name = rng.choice(STATUSES)
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        jobs.append((workflow_id, f"{glyph} {name}", run_id))
    return jobs


class JobTable(DataTable):
    """A DataTable whose home and end move the cursor to the first and last row, as the
    dashboard's do (DataTable's own home and end only scroll; ctrl+home and ctrl+end move)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]


class MinimalApp(App[None]):
    CSS = """
    #title { height: 1; background: $panel; }
    #summary { height: 1; }
    #body { height: 1fr; }
    DataTable { width: 78; height: 1fr; }
    #detail { width: 1fr; height: 1fr; padding: 0 1; border-left: outer $primary; }
    """
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, rows: int, seed: int = 1) -> None:
        super().__init__()
        self.jobs = fake_jobs(rows, seed)

    def compose(self) -> ComposeResult:
        yield Static(" minimal · a plain DataTable", id="title")
        yield Static(f" {len(self.jobs)} jobs", id="summary")
        with Horizontal(id="body"):
            yield JobTable(cursor_type="row", id="table")
            yield Static("", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("workflowId", width=25)
        table.add_column("status", width=16)
        table.add_column("runId", width=9)
        for workflow_id, status, run_id in self.jobs:
            shown = workflow_id if len(workflow_id) <= 25 else f"{workflow_id[:24]}…"
            table.add_row(shown, status, f"{run_id[:8]}…", key=workflow_id)
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        workflow_id, status, run_id = self.jobs[event.cursor_row]
        self.query_one("#detail", Static).update(
            f"workflowId\n{workflow_id}\nrunId\n{run_id}\nstatus  {status}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=18)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    MinimalApp(args.rows, args.seed).run()


if __name__ == "__main__":
    main()
