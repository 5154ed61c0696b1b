"""Where the main screen's ticks meet the workspace's facts and the app's alerts: jobs that ended
in a poll (desktop notification, bell), a tick stored in the history (on_job_end commands, with
the windows it recorded), once a second (slow jobs, a notification that waited), and the typical
durations loaded again in a thread when due.

The decisions are made without Textual, in jobwatch.tui.job_facts (kinds, typicals, slow jobs,
JobEnd), jobwatch.tui.alerts (what to send when) and jobwatch.tui.model.ended_in; this mixin of
MainScreen (see jobwatch.tui.screens.host) calls them and runs the slow parts as workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from jobwatch.models import Job
from jobwatch.notify.policy import JobEnd
from jobwatch.tui.model import JobRow
from jobwatch.tui.poll_session import Session
from jobwatch.tui.screens.host import MainScreenHost
from jobwatch.tui.widgets.detail import DetailFacts
from jobwatch.windows import Gap

__all__ = ["JobAlerts"]


class JobAlerts(MainScreenHost):
    """Typical durations, desktop notifications and on_job_end on MainScreen."""

    def _detail_facts(self, row: JobRow, gaps: Sequence[Gap]) -> DetailFacts:
        """`gaps`: the workspace's gaps during the job (read with its history, JobHistory)."""
        facts = self.facts
        if facts is None:
            return DetailFacts()
        return DetailFacts(facts.kind_of(row), facts.typical_of(row), gaps)

    def _refresh_typicals(self) -> None:
        """Load the typical durations in a thread when due (JobFacts.refresh_due)."""
        facts = self.facts
        if facts is None or not facts.refresh_due(self.clock()):
            return

        async def load() -> None:
            typicals = await asyncio.to_thread(facts.load_typicals)
            facts.typicals_loaded(typicals, self.clock())
            if facts is self.facts:
                self.table.refresh()
                self._show_detail(self.table.cursor_key)

        self.run_worker(load(), group="typicals", exit_on_error=False)

    def _job_endings(self, session: Session, ended: Sequence[tuple[Job, float]]) -> bool:
        """Hand the jobs that ended in a tick (TickNews.ended) to the alerts; True if that rang
        the bell."""
        facts = self.facts
        if not ended or facts is None:
            return False
        facts.runs_ended(ended)
        if self.alerts is None:
            return False
        row = self.table.row
        ends = [facts.job_end(job, at, row(job.workflow_id), session.name) for job, at in ended]
        return self.alerts.step(self.clock(), ended=ends)

    def _tick_stored(self) -> None:
        """A tick is in the history: run its on_job_end commands (with the windows it recorded)
        and load the typical durations again if a run completed."""
        self._refresh_typicals()
        alerts, facts = self.alerts, self.facts
        if alerts is None or facts is None:
            return
        ends = alerts.take_commands()
        if not ends:
            return

        async def run(ends: list[JobEnd]) -> None:
            alerts.run(await asyncio.to_thread(facts.with_windows, ends))

        self.run_worker(run(ends), group="on_job_end", exit_on_error=False)

    def _alert_tick(self, session: Session, now: float) -> None:
        """Once a second: slow jobs (once a run), a notification that waited, a due refresh."""
        self._refresh_typicals()
        alerts, facts = self.alerts, self.facts
        if alerts is None or facts is None:
            return
        slow = facts.slow_jobs(now, self.table.row, session.name) if alerts.settings.slow else []
        if slow or alerts.due(now):
            alerts.step(now, slow=slow)
