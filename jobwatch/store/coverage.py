"""What one poll tells the history, worked out in memory before anything is written.

HistoryStore.record hands a tick here: the jobs whose state changed, and what the poll saw (its
answer, and whether it asked for all jobs or for chosen IDs). `plan_tick` turns that into rows: the
transitions with their windows (`not_before`: when the job was last seen in its earlier state),
new and changed job rows, runs that ended, and the few `seen` facts that must be written.

Keeping "last seen" cheap at 100k jobs: a job in the answer of the workspace's latest all-jobs
poll is "riding" (jobs.in_full = 1) and was seen at polls.last_full, which moves with one UPDATE
per poll. Only jobs that join or leave the all-jobs answer are written. Which ones did is found
without looking at the whole answer when it can be: the same answer list as last time (the client
hands the previous list back when the bytes did not change), or no job outside the answer and the
answer's length as expected, or the positions where this answer's Job objects differ from the
last one's; otherwise one set of the answer's IDs (~20 ms at 100k jobs).
A poll of chosen IDs notes the jobs it saw unchanged (O(IDs asked for)); HistoryStore writes
those seen_at facts at most once a minute (jobwatch.store.history.SEEN_WRITE_EVERY).

`Coverage` is the per-workspace memory behind this; it is rebuilt from the database whenever
another connection has written (HistoryStore checks PRAGMA data_version).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter, is_not
from typing import NamedTuple

from jobwatch.models import Job, shared_status, shared_text
from jobwatch.statuses import NOT_FOUND_CODE, TERMINAL_CODES

#: IDs asked for but not (yet) in the answer remembered per workspace, for the window of their
#: first appearance; past this the memory is dropped (their first window becomes unknown)
MAX_MISSING_REMEMBERED = 100_000

#: differing positions past which comparing two answers position by position is not worth it
MOVED_LIMIT = 5000

#: the most jobs one C call walks here. The history records in a thread, but a C call holds the
#: GIL throughout, so the dashboard's event loop (a key press) waits for all of it: at 100k jobs
#: set(map(...)) of the IDs took 19-30 ms and keys() - ids 20-24 ms on the 2-core machine
#: (2026-12-03), at each whole-list read whose jobs moved (new ones first, another order).
#: Between two chunks (~1.5 ms) Python can hand the GIL to the event loop.
GIL_CHUNK = 5000

_workflow_id = attrgetter("workflow_id")


@dataclass(frozen=True, slots=True)
class Answer:
    """What one successful poll saw: every job in its answer (one per workflowId, as the client
    returns them), and the IDs it asked for (None: all the workspace's jobs)."""

    jobs: Sequence[Job]
    requested: Sequence[str] | None = None


class OldRow(NamedTuple):
    """The stored facts about a known job that a change needs (a tuple: 100k of these are built
    when every job changes at once, 64 ms as a frozen dataclass, 5 ms as a tuple)."""

    last_seen: float
    start_not_before: float | None
    start_observed_at: float | None


@dataclass(eq=False)
class Coverage:
    """The history's memory of one workspace between ticks."""

    #: workflow_id -> a job with the stored status code and runId (its status name is not
    #: compared): the Job the poller handed over, shared with the poller's snapshot, rather than a
    #: (code, runId) tuple per job (5.7 MB at 100k jobs, tracemalloc); a state read from the
    #: database (`stored_job`) gives way to the poller's equal Job at the next answer
    state: dict[str, Job]
    #: known jobs that were not in the latest all-jobs answer (jobs.in_full = 0)
    outside: set[str]
    #: requested IDs the API left out, and when (only those the history does not know)
    missing_at: dict[str, float] = field(default_factory=dict)
    #: the answer of the latest all-jobs poll this memory reflects, compared by identity
    last_answer: Sequence[Job] | None = None
    #: another connection wrote: `outside` must be read again before the next all-jobs poll
    stale: bool = False


@dataclass
class Tick:
    """The rows one record() call writes (each list in workflowId order)."""

    #: (ws, wid, code, name, run_id, observed_at, not_before)
    transitions: list[tuple] = field(default_factory=list)
    #: (ws, wid, code, name, run_id, observed_at, in_full, start_not_before, start_observed_at)
    new_jobs: list[tuple] = field(default_factory=list)
    #: same shape as new_jobs; in_full None keeps the stored flag
    changed_jobs: list[tuple] = field(default_factory=list)
    #: (ws, wid, run_id, code, start_nb, start_at, end_nb, end_at)
    runs: list[tuple] = field(default_factory=list)
    #: all-jobs polls: IDs that joined the answer again, and IDs that left it
    returning: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    #: polls of chosen IDs: unchanged known jobs the poll saw
    seen: list[str] = field(default_factory=list)
    #: the poll counts as an all-jobs poll (moves polls.last_full)
    full: bool = False


def stored_job(wid: str, code: int, run_id: str) -> Job:
    """A Coverage.state entry for a state read from the database: its strings and Status shared
    with every other copy (jobwatch.models), its status name not kept (it is not compared)."""
    return Job(shared_text(wid), shared_status(code), shared_text(run_id))


def split_changes(
    coverage: Coverage, jobs: Sequence[Job]
) -> tuple[list[Job], list[tuple[Job, tuple[int, str]]]]:
    """The jobs that are new, and the known ones whose state differs (with their stored state);
    updates coverage.state to the new states. One entry per workflowId (the last one wins)."""
    state = coverage.state
    get = state.get
    # Most jobs are unchanged (most often the very Job stored): find the others in one
    # comprehension, then look closer.
    candidates: list[Job] = []
    for j in [j for j in jobs if get(j.workflow_id) is not j]:
        p = get(j.workflow_id)
        if p is None or p.status.code != j.status.code or p.run_id != j.run_id:
            candidates.append(j)
        else:
            # The same state in another object (read from the database at a restart, or an
            # answer decoded anew): keep the poller's, so the two share one copy of its strings.
            # Measured at a 100k restart: the database's copy was 24 MB (tracemalloc) of ~215.
            state[j.workflow_id] = j
    new: dict[str, Job] = {}
    changed: dict[str, tuple[Job, tuple[int, str]]] = {}
    for job in candidates:
        wid = job.workflow_id
        current = get(wid)
        if current is not None and (current.status.code, current.run_id) == (
            job.status.code,
            job.run_id,
        ):
            continue  # the same job twice in one observation
        if wid in new or current is None:
            new[wid] = job
        elif wid in changed:
            changed[wid] = (job, changed[wid][1])
        else:
            changed[wid] = (job, (current.status.code, current.run_id))
        state[wid] = job
    return list(new.values()), list(changed.values())


def membership(
    coverage: Coverage, answer: Sequence[Job], new_count: int, riding_before: int
) -> tuple[list[str], list[str]]:
    """For an all-jobs answer: (known jobs outside the last answer that are in this one, jobs
    that were in the last answer and are not in this one). Needs the answer to list each job
    once, and every new job to be in it."""
    previous = coverage.last_answer
    if answer is previous:
        return [], []
    if not coverage.outside and len(answer) - new_count == riding_before:
        return [], []  # every job of the last answer is still there, and nobody came back
    if previous is not None:
        moved = _moved(previous, answer)
        if moved is not None:
            before, after = moved
            outside = coverage.outside
            return sorted(w for w in after - before if w in outside), sorted(before - after)
    ids = ids_of(answer)
    outside = coverage.outside
    returning = sorted(w for w in outside if w in ids)
    # a comprehension rather than one C call (keys() - ids - outside): see GIL_CHUNK
    absent = sorted([w for w in coverage.state if w not in ids and w not in outside])
    return returning, absent


def ids_of(jobs: Sequence[Job]) -> set[str]:
    """The jobs' workflowIds, GIL_CHUNK at a time."""
    ids: set[str] = set()
    for start in range(0, len(jobs), GIL_CHUNK):
        ids.update(map(_workflow_id, jobs[start : start + GIL_CHUNK]))
    return ids


def _moved(previous: Sequence[Job], answer: Sequence[Job]) -> tuple[set[str], set[str]] | None:
    """The IDs at the positions where the two answers differ (previous, this one), or None when
    most positions differ. The riding jobs are exactly the previous answer's, and the client
    hands back the previous Job object wherever an item's bytes did not change, so comparing
    objects by identity finds the few positions worth looking at: ~2 ms at 100k jobs, where a set
    of all the answer's IDs and the difference with the known ones took ~20 ms."""
    common = min(len(previous), len(answer))
    differ = list(compress(range(common), map(is_not, answer, previous)))
    if len(differ) > max(MOVED_LIMIT, common // 4):
        return None
    before = {previous[i].workflow_id for i in differ}
    before.update(map(_workflow_id, previous[common:]))
    after = {answer[i].workflow_id for i in differ}
    after.update(map(_workflow_id, answer[common:]))
    return before, after


def plan_tick(
    coverage: Coverage,
    workspace_id: str,
    jobs: Sequence[Job],
    observed_at: float,
    *,
    answer: Answer | None,
    full: bool,
    last_full: float | None,
    old_rows: Callable[[list[str]], Mapping[str, OldRow]],
) -> Tick:
    """Work out the rows for one tick (updates coverage.state; the caller commits them and then
    calls `applied`). `old_rows` reads the stored facts of known jobs by workflowId."""
    riding_before = len(coverage.state) - len(coverage.outside)
    new, changed = split_changes(coverage, jobs)
    tick = Tick(full=full)
    _plan_new(tick, coverage, workspace_id, new, observed_at, last_full)
    if changed:
        olds = old_rows(sorted(job.workflow_id for job, _ in changed))
    for job, (old_code, _old_run) in sorted(changed, key=lambda c: c[0].workflow_id):
        wid = job.workflow_id
        old = olds.get(wid)
        not_before = None if old is None else old.last_seen
        start_nb = None if old is None else old.start_not_before
        start_at = None if old is None else old.start_observed_at
        code = job.status.code
        was_over, now_over = old_code in TERMINAL_CODES, code in TERMINAL_CODES
        if was_over and not now_over:  # started again (a new run of the same workflowId)
            start_nb, start_at = not_before, observed_at
        elif now_over and not was_over and None not in (start_nb, start_at, not_before):
            run = (start_nb, start_at, not_before, observed_at)
            tick.runs.append((workspace_id, wid, job.run_id, code, *run))
        row = _job_row(workspace_id, job, observed_at, 1 if full else None)
        tick.changed_jobs.append((*row, start_nb, start_at))
        tick.transitions.append((*row[:6], not_before))
    if full and answer is not None:
        tick.returning, tick.absent = membership(coverage, answer.jobs, len(new), riding_before)
    elif answer is not None:
        # Without an answer only the changed jobs are known to have been seen: writing seen_at
        # for every job passed would cost a caller that passes a whole answer of 100k jobs
        # (`status`) ~1 s a call.
        changed_ids = {j.workflow_id for j in new}
        changed_ids.update(job.workflow_id for job, _ in changed)
        state = coverage.state
        tick.seen = sorted(
            {j.workflow_id for j in answer.jobs if j.workflow_id in state} - changed_ids
        )
    return tick


def _plan_new(
    tick: Tick,
    coverage: Coverage,
    workspace_id: str,
    new: list[Job],
    observed_at: float,
    last_full: float | None,
) -> None:
    """Rows for jobs the history has never seen (a first tick of 100k jobs: one pass, no call
    per job). The latest all-jobs poll did not list them, and a poll that asked for one did not
    get it: each appeared after both."""
    missing_get = coverage.missing_at.get
    in_full = 1 if tick.full else 0
    terminal = TERMINAL_CODES
    jobs_rows = tick.new_jobs
    transitions = tick.transitions
    for job in sorted(new, key=_workflow_id):
        wid = job.workflow_id
        status = job.status
        not_before = last_full
        missed = missing_get(wid)
        if missed is not None and (not_before is None or missed > not_before):
            not_before = missed
        if status.code == NOT_FOUND_CODE:
            not_before = None  # left out of every answer: it was never in another state
        running = status.code not in terminal
        jobs_rows.append(
            (
                workspace_id,
                wid,
                status.code,
                status.name,
                job.run_id,
                observed_at,
                in_full,
                not_before if running else None,
                observed_at if running else None,
            )
        )
        transitions.append(
            (workspace_id, wid, status.code, status.name, job.run_id, observed_at, not_before)
        )


def _job_row(workspace_id: str, job: Job, observed_at: float, in_full: int | None) -> tuple:
    return (
        workspace_id,
        job.workflow_id,
        job.status.code,
        job.status.name,
        job.run_id,
        observed_at,
        in_full,
    )


def applied(coverage: Coverage, tick: Tick, answer: Answer | None, polled_at: float) -> None:
    """Bring the memory up to date once the tick's rows are committed."""
    outside = coverage.outside
    if tick.full:
        outside.difference_update(tick.returning)
        outside.update(tick.absent)
        outside.difference_update(row[1] for row in tick.changed_jobs)
        coverage.last_answer = None if answer is None else answer.jobs
    else:
        outside.update(row[1] for row in tick.new_jobs)
    missing = coverage.missing_at
    for row in tick.new_jobs:
        missing.pop(row[1], None)
    if answer is not None and answer.requested is not None:
        state = coverage.state
        present = {j.workflow_id for j in answer.jobs}
        for wid in answer.requested:
            if wid not in present and wid not in state:
                missing[wid] = polled_at
        if len(missing) > MAX_MISSING_REMEMBERED:
            missing.clear()
