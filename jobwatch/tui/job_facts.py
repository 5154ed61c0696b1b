"""What the dashboard knows about a workspace's jobs beyond their status: kinds, typical durations,
labels and pins, and when each run started. No Textual here.

`WorkspaceFacts` is made when a workspace opens and dropped when another one does:

- `adopt` gives a tick's rows what the worker cannot know: the job's label and pin (from the
  history's annotations) and the window its current run started in (carried from the row on
  screen, or the observation that started it again). Rows are fresh from the worker, not yet in
  the table, so they are filled in place: at 100k rows, a copy of each cost more than the rest.
- Typical durations per kind (jobwatch.durations, through HistoryStore.typical_durations) are
  loaded once when the workspace opens, in a thread, and loaded again after a completed run ended,
  at most every TYPICALS_SPACING seconds (`refresh_due`).
- `estimate`, `eta_text` and `slow_jobs` put a running row against its kind's typical duration
  (jobwatch.progress, jobwatch.notify.policy.slow_notice).
- `job_end` builds the jobwatch.notify JobEnd of a job that ended; `with_windows` fills in, from
  the history once the tick is stored, the windows its run started and ended in.

Store failures on reads that only add detail read as "unknown"; writes (labels, pins) raise
JobwatchError for the screen to show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from jobwatch.durations import COUNTED_CODE, Typical, slower_than_usual
from jobwatch.errors import JobwatchError
from jobwatch.kinds import Kinds
from jobwatch.models import Job
from jobwatch.notify.policy import JobEnd, SlowJob, slow_notice
from jobwatch.progress import Estimate, estimate, eta_cell
from jobwatch.statuses import ACTIVE_CODES, TERMINAL_CODES
from jobwatch.store.config import WorkspaceConfig
from jobwatch.store.history import Annotation, HistoryStore
from jobwatch.tui.model import JobRow
from jobwatch.windows import Gap, Window

#: The least time between two loads of the typical durations after runs ended. One load reads
#: every counted run of the workspace: at 100k finished runs 90 ms with the kinds already known,
#: 550-620 ms on open (every workflowId's kind worked out once); in a thread the event loop lagged
#: at most 7.9 ms meanwhile (a 1 ms ticker, 2 cores). A busy workspace ends runs every tick, and a
#: kind's median moves little per run.
TYPICALS_SPACING = 30.0
#: slow runs remembered by slow_jobs before the memory is cleared (forgotten ones are handed out
#: again, and the policy's own memory still keeps them to one notification)
SLOW_REMEMBERED = 50_000


def running_ids(rows: Iterable[JobRow]) -> set[str]:
    """The workflowIds of the rows in no terminal state."""
    return {row.workflow_id for row in rows if not row.status.is_terminal}


def is_running(row: JobRow) -> bool:
    """Whether the row's job is at work (RUNNING, CONTINUED_AS_NEW): the ones with an ETA that
    can be slower than usual (a PAUSED or unknown status is not, finished ones neither)."""
    return row.status.code in ACTIVE_CODES


def run_window(row: JobRow) -> Window:
    """When the row's current (or last) run started: what the row knows, else "by first seen"."""
    return row.started if row.started is not None else Window(None, row.first_seen)


class WorkspaceFacts:
    """Kinds, typical durations, labels, pins and run starts of one workspace's jobs."""

    def __init__(
        self,
        store: HistoryStore | None,
        workspace: WorkspaceConfig,
        kinds: Kinds,
        *,
        generation: int = 0,
    ) -> None:
        self.store = store
        self.workspace = workspace
        self.kinds = kinds
        #: the workspace session these facts belong to (poll_session.Session.generation)
        self.generation = generation
        self.typicals: dict[str, Typical] = {}
        #: labels and pins by workflowId (jobs without either are not in it)
        self.annotations: dict[str, Annotation] = {}
        #: workflowIds of the rows that are not in a terminal state
        self.running: set[str] = set()
        self.typicals_loaded_at: float | None = None
        #: (workflowId, runId) of the slow runs handed out already (see slow_jobs)
        self._slow_reported: set[tuple[str, str]] = set()
        self._typicals_stale = True
        self.loading = False

    # -- reading the history ------------------------------------------------------------

    def load_annotations(self) -> None:
        if self.store is None:
            return
        try:
            self.annotations = self.store.annotations(self.workspace.workspace_id)
        except JobwatchError:
            self.annotations = {}

    def load_typicals(self) -> dict[str, Typical]:
        """Blocking (call it in a thread): the typical durations per kind from the history."""
        if self.store is None:
            return {}
        try:
            return self.store.typical_durations(self.workspace.workspace_id, self.kinds)
        except JobwatchError:
            return dict(self.typicals)

    def typicals_loaded(self, typicals: dict[str, Typical], now: float) -> None:
        self.typicals = typicals
        self.typicals_loaded_at = now
        self.loading = False

    def runs_ended(self, ended: Iterable[tuple[Job, float]]) -> None:
        """Jobs ended: a completed one is a new run for its kind's typical duration."""
        if any(job.status.code == COUNTED_CODE for job, _ in ended):
            self._typicals_stale = True

    def labels_changed(self) -> None:
        """A label is its job's kind: the runs of the kinds are grouped anew."""
        self.kinds = Kinds(self.kinds.rules)
        self._typicals_stale = True
        self.typicals_loaded_at = None

    def refresh_due(self, now: float) -> bool:
        """Whether to load the typical durations now (and marks the load as started)."""
        if not self._typicals_stale or self.loading or self.store is None:
            return False
        loaded = self.typicals_loaded_at
        if loaded is not None and now - loaded < TYPICALS_SPACING:
            return False
        self._typicals_stale = False
        self.loading = True
        return True

    def gaps_of(self, workflow_id: str) -> list[Gap]:
        """The periods nobody watched during the job's lifetime."""
        if self.store is None:
            return []
        try:
            return self.store.job_gaps(self.workspace.workspace_id, workflow_id)
        except JobwatchError:
            return []

    # -- rows -----------------------------------------------------------------------------

    def adopt(self, rows: Sequence[JobRow], shown: Callable[[str], JobRow | None] | None) -> None:
        """Fill in a tick's fresh rows (not yet in the table): label, pin and run start.

        `shown`: the table's row of a workflowId; None when the table holds no row."""
        notes = self.annotations
        running = self.running
        if shown is None and not notes:
            # nothing to fill in, only which rows run (the first answer): 100k rows ~30 -> ~10 ms
            add, discard, terminal = running.add, running.discard, TERMINAL_CODES
            for row in rows:
                if row.status.code in terminal:
                    discard(row.workflow_id)
                else:
                    add(row.workflow_id)
            return
        for row in rows:
            wid = row.workflow_id
            old = shown(wid) if shown is not None else None
            note = notes.get(wid) if notes else None
            if note is not None:
                row.label, row.pinned = note.label, note.pinned
            over = row.status.is_terminal
            if old is not None:
                was_over = old.status.is_terminal
                if not was_over or over:
                    row.started = old.started
                else:  # started again: a new run of the same workflowId, seen now
                    row.started = Window(None, row.last_change)
            if over:
                running.discard(wid)
            else:
                running.add(wid)

    def shown(self, rows: Iterable[JobRow]) -> None:
        """The table now holds exactly these rows (a workspace opened, a tracked set changed)."""
        self.running = running_ids(rows)

    def shown_running(self, running: set[str]) -> None:
        """The table now holds exactly rows whose `running_ids` are these (gathered in slices)."""
        self.running = running

    def forget(self, ids: Iterable[str]) -> None:
        self.running.difference_update(ids)

    def kind_of(self, row: JobRow) -> str:
        return self.kinds.kind(row.workflow_id, row.label)

    def typical_of(self, row: JobRow) -> Typical | None:
        return self.typicals.get(self.kind_of(row)) if self.typicals else None

    def estimate(self, row: JobRow, now: float) -> Estimate | None:
        """A running row against its kind's typical duration; None for any other."""
        if not is_running(row):
            return None
        return estimate(run_window(row), self.typical_of(row), now)

    def eta_text(self, row: JobRow, now: float) -> str:
        """The ETA cell: "~3m", "due", "slow", or "" (finished, or no runs of its kind yet)."""
        if not self.typicals or not is_running(row):
            return ""
        typical = self.typicals.get(self.kinds.kind(row.workflow_id, row.label))
        if typical is None:
            return ""
        return eta_cell(estimate(run_window(row), typical, now))

    def slow_jobs(
        self, now: float, row_of: Callable[[str], JobRow | None], workspace_name: str
    ) -> list[SlowJob]:
        """The running jobs that passed their kind's p90 since the last call (each run once:
        the policy keeps its own once-a-run rule; this only saves building a notice for every
        slow job every second: 22 ms a second for 2000 slow jobs, 3.5 ms with the skip)."""
        typicals = self.typicals
        if not typicals:
            return []
        kind = self.kinds.kind
        reported = self._slow_reported
        out = []
        for wid in self.running:
            row = row_of(wid)
            if row is None or not is_running(row):
                continue
            typical = typicals.get(kind(wid, row.label))
            started = run_window(row)
            if not slower_than_usual(typical, now - started.observed_at):
                continue
            key = (wid, row.run_id)
            if key in reported:
                continue
            notice = slow_notice(
                wid,
                row.run_id,
                started,
                typical,
                now,
                workspace_name=workspace_name,
                label=row.label or "",
            )
            if notice is not None:
                if len(reported) >= SLOW_REMEMBERED:
                    reported.clear()
                reported.add(key)
                out.append(notice)
        return out

    # -- endings --------------------------------------------------------------------------

    def job_end(self, job: Job, at: float, row: JobRow | None, workspace_name: str) -> JobEnd:
        """The JobEnd of a job seen ended at `at` (its windows as far as the row knows them)."""
        label = (row.label if row is not None else None) or ""
        ws = self.workspace
        return JobEnd(
            workflow_id=job.workflow_id,
            run_id=job.run_id,
            status=job.status,
            workspace_id=ws.workspace_id,
            workspace_name=workspace_name,
            organization_id=ws.organization_id,
            kind=self.kinds.kind(job.workflow_id, label or None),
            label=label,
            ended=Window(None, at),
            started=row.started if row is not None else None,
        )

    def with_windows(self, ends: Sequence[JobEnd]) -> list[JobEnd]:
        """Blocking (call it in a thread): the endings with the windows the history recorded for
        the end and the start of each run (unknown ones stay unknown)."""
        store = self.store
        if store is None:
            return list(ends)
        ws = self.workspace.workspace_id
        out = []
        for end in ends:
            try:
                record = store.job(ws, end.workflow_id)
                transitions = store.transitions(ws, end.workflow_id)
            except JobwatchError:
                out.append(end)
                continue
            ended = end.ended
            last = transitions[-1] if transitions else None
            if last is not None and last.status.code == end.status.code:
                ended = last.window
            started = record.started if record is not None else end.started
            out.append(dataclasses.replace(end, ended=ended, started=started))
        return out

    # -- labels and pins ------------------------------------------------------------------

    def set_label(self, workflow_id: str, label: str | None) -> None:
        """Store the job's label (None or blank clears it); raises JobwatchError."""
        label = label.strip() if label is not None else None
        label = label or None
        if self.store is not None:
            self.store.set_label(self.workspace.workspace_id, workflow_id, label)
        self._annotate(workflow_id, label=label)
        self.labels_changed()

    def set_pinned(self, workflow_id: str, pinned: bool) -> None:
        """Store the job's pin; raises JobwatchError."""
        if self.store is not None:
            self.store.set_pinned(self.workspace.workspace_id, workflow_id, pinned)
        self._annotate(workflow_id, pinned=pinned)

    def _annotate(self, workflow_id: str, **change: object) -> None:
        note = self.annotations.get(workflow_id) or Annotation(None, False)
        note = dataclasses.replace(note, **change)  # type: ignore[arg-type]
        if note.label is None and not note.pinned:
            self.annotations.pop(workflow_id, None)
        else:
            self.annotations[workflow_id] = note
