"""Which job endings and "slower than usual" notices reach the person, and when.

Each tick the dashboard hands `NotifyPolicy.step` what ended (and which running jobs passed their
kind's p90), the time and whether the terminal has the focus. The rules, in order:

1. Outcome: only the endings the settings select (`on`, failures by default); slow notices only
   when `on` holds "slow".
2. Once: a job's run notifies its ending once and its slowness once, however often it is seen
   (a history replayed at start, a status that flaps). The memory keeps the last MEMORY runs.
3. Focus: while the terminal has the focus nothing is sent; what was waiting is dropped, since
   the dashboard shows it. Unknown focus (None: the terminal, or tmux without focus-events,
   never said) counts as not focused: a notification too many while the person looks costs a
   glance, one missing while they are away is what this is for.
4. Rate: at most one notification per `min_interval` seconds. What comes sooner waits and is
   folded into the next one; `next_due()` says when that is, and any later step sends it.
5. One notification per step: many endings become "5 jobs ended: 3 FAILED, 2 TIMED_OUT".

The `on_job_end` command follows rules 1 and 2 only: it runs whatever the focus, for each ending.
Pure: no clock, no I/O; texts are plain (the encoder makes them safe for the terminal).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from jobwatch.durations import Typical
from jobwatch.models import Status
from jobwatch.notify.settings import NotifySettings
from jobwatch.progress import estimate, rough_duration
from jobwatch.statuses import rank, symbol
from jobwatch.windows import DurationRange, Window, format_duration_range

#: Runs remembered for the once-only rule. Measured: 100k remembered runs hold 17 MB besides the
#: IDs themselves (tracemalloc), and a step with 100k new endings takes 119 ms (560 ms before
#: add_ends counted per status instead of per ending), with 100k already seen 35 ms. A run
#: forgotten and reported again costs one more notification, folded with the rest.
MEMORY = 50_000
#: workflowIds named in a batched notification; the rest are counted
NAMED_IN_BATCH = 3


@dataclass(frozen=True, slots=True)
class JobEnd:
    """A watched job that reached a terminal status, with what the command's environment needs."""

    workflow_id: str
    run_id: str
    status: Status
    workspace_id: str = ""
    workspace_name: str = ""
    organization_id: str = ""
    kind: str = ""
    label: str = ""
    #: the window in which it ended, and the one in which this run started (None: unknown)
    ended: Window | None = None
    started: Window | None = None


@dataclass(frozen=True, slots=True)
class SlowJob:
    """A running job that has passed its kind's p90 (jobwatch.durations.slower_than_usual)."""

    workflow_id: str
    run_id: str
    elapsed: DurationRange
    typical: Typical
    workspace_name: str = ""
    label: str = ""


def slow_notice(
    workflow_id: str,
    run_id: str,
    started: Window,
    typical: Typical | None,
    now: float,
    *,
    workspace_name: str = "",
    label: str = "",
) -> SlowJob | None:
    """The SlowJob for a running job that is past its kind's p90 now (progress.estimate), else None.

    The dashboard calls it for each running row every tick; the policy keeps it to once a run.
    """
    est = estimate(started, typical, now)
    if not est.slow or typical is None:
        return None
    return SlowJob(workflow_id, run_id, est.elapsed, typical, workspace_name, label)


@dataclass(frozen=True, slots=True)
class Notification:
    """What to show: a title and a one-line body (plain text, not yet made safe)."""

    title: str
    body: str
    #: how many endings and slow notices it stands for
    count: int
    failure: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """What a step asks for: a notification to send now (or None), and the commands to run."""

    notification: Notification | None
    commands: tuple[JobEnd, ...] = ()


def _name(workflow_id: str, label: str) -> str:
    return f"{label} ({workflow_id})" if label else workflow_id


@dataclass(slots=True)
class _Batch:
    """What waits to be notified: counted, with the first few names, bounded whatever comes."""

    by_status: Counter[str] = field(default_factory=Counter)
    ranks: dict[str, int] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)
    names: list[tuple[int, str]] = field(default_factory=list)
    failures: int = 0
    ended: int = 0
    slow: list[SlowJob] = field(default_factory=list)
    slow_count: int = 0
    workspaces: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return self.ended == 0 and self.slow_count == 0

    def add_ends(self, ends: Sequence[JobEnd]) -> None:
        """Count a tick's endings: a pass per status, so a flood costs ~1 us an ending."""
        by_code: dict[int, list[JobEnd]] = {}
        for end in ends:
            by_code.setdefault(end.status.code, []).append(end)
        for code, group in by_code.items():
            status = group[0].status
            label = status.label
            self.by_status[label] += len(group)
            self.ranks[label] = rank(code)
            self.symbols[label] = symbol(code)
            self.ended += len(group)
            if status.is_failure:
                self.failures += len(group)
            self.workspaces.update({end.workspace_name for end in group})
            self.names += [
                (rank(code), _name(end.workflow_id, end.label)) for end in group[:NAMED_IN_BATCH]
            ]
        self.names.sort(key=lambda item: item[0])  # stable: the first seen of a rank first
        del self.names[NAMED_IN_BATCH:]

    def add_slow(self, job: SlowJob) -> None:
        self.slow_count += 1
        self.workspaces.add(job.workspace_name)
        if len(self.slow) < NAMED_IN_BATCH:
            self.slow.append(job)

    def notification(self) -> Notification:
        names = [name for _, name in self.names]
        title = "jobwatch"
        if len(self.workspaces) == 1 and next(iter(self.workspaces)):
            title += f" \u00b7 {next(iter(self.workspaces))}"
        count = self.ended + self.slow_count
        if count == 1 and self.ended == 1:
            (label,) = self.by_status
            return Notification(
                title, f"{self.symbols[label]} {label} {names[0]}", 1, self.failures > 0
            )
        if count == 1:
            job = self.slow[0]
            body = (
                f"slower than usual: {_name(job.workflow_id, job.label)} running "
                f"{format_duration_range(job.elapsed)} (usually {rough_duration(job.typical.median)}, "
                f"p90 {rough_duration(job.typical.p90)})"
            )
            return Notification(title, body, 1, False)
        parts = []
        if self.ended:
            counts = sorted(self.by_status.items(), key=lambda item: self.ranks[item[0]])
            jobs = "job" if self.ended == 1 else "jobs"
            parts.append(
                f"{self.ended} {jobs} ended: " + ", ".join(f"{n} {label}" for label, n in counts)
            )
        if self.slow_count:
            parts.append(f"{self.slow_count} slower than usual")
        named = names + [_name(j.workflow_id, j.label) for j in self.slow]
        named = named[:NAMED_IN_BATCH]
        more = count - len(named)
        listed = ", ".join(named) + (f" and {more} more" if more > 0 else "")
        return Notification(title, f"{'; '.join(parts)} \u2014 {listed}", count, self.failures > 0)


class NotifyPolicy:
    """The rules above, with their memory: which runs notified, what waits, when it last sent."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._codes = settings.codes
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._waiting = _Batch()
        self._last_sent: float | None = None

    def wants(self, end: JobEnd) -> bool:
        """Whether the settings select this ending (rule 1), seen or not."""
        return end.status.code in self._codes

    def _first_time(self, key: tuple[str, str, str]) -> bool:
        seen = self._seen
        if key in seen:
            return False
        seen[key] = None
        if len(seen) > MEMORY:
            seen.popitem(last=False)
        return True

    def next_due(self) -> float | None:
        """When what waits may be sent (None: nothing waits)."""
        if self._waiting.empty:
            return None
        if self._last_sent is None:
            return 0.0
        return self._last_sent + self.settings.min_interval

    def step(
        self,
        *,
        now: float,
        focused: bool | None,
        ended: Iterable[JobEnd] = (),
        slow: Iterable[SlowJob] = (),
    ) -> Decision:
        """Take a tick's endings and slow notices; what to send now and which commands to run."""
        codes, first = self._codes, self._first_time
        news = [
            e for e in ended if e.status.code in codes and first((e.workflow_id, e.run_id, "end"))
        ]
        slow_news: Sequence[SlowJob] = []
        if self.settings.slow:
            slow_news = [s for s in slow if self._first_time((s.workflow_id, s.run_id, "slow"))]
        if focused:
            self._waiting = _Batch()
            return Decision(None, tuple(news))
        self._waiting.add_ends(news)
        for job in slow_news:
            self._waiting.add_slow(job)
        due = self.next_due()
        if due is None or now < due:
            return Decision(None, tuple(news))
        notification = self._waiting.notification()
        self._waiting = _Batch()
        self._last_sent = now
        return Decision(notification, tuple(news))
