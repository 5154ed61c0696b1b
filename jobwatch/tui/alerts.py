"""Notifications that reach the person while the dashboard is in the background. No Textual here:
the app hands in its focus, the screen each tick's endings and slow jobs, and a write function
(Textual's driver, jobwatch.tui.textual_private.write_to_terminal) takes the bytes.

The rules are jobwatch.notify's (`NotifyPolicy`: which outcomes, once per run, focus, rate,
batching; `choose_route`: which sequence and wrapper; `JobEndCommand`: on_job_end); which
transitions count as an ending is jobwatch.tui.model.ended_in. What lives here is the wiring:

- the focus is None until the terminal first reports it (Textual's own `app_focus` starts True,
  which would never notify); AppFocus/AppBlur set it;
- the route is detected once, at start (`detect`), and its notes are shown once;
- `step` sends what the policy decides at once; the commands it selects wait for the tick to be
  stored (`take_commands`), so that their JOBWATCH_NOT_BEFORE and _RAN come from the history;
- `rang_bell` says whether what was sent rings the bell (the route is the bell, or tmux's
  passthrough rings it too): the dashboard's failure bell then stays quiet, so one bell rings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence

from jobwatch.notify.command import JobEndCommand
from jobwatch.notify.detect import Route, choose_route, probe_tmux
from jobwatch.notify.policy import JobEnd, NotifyPolicy, SlowJob
from jobwatch.notify.settings import NotifySettings
from jobwatch.notify.writer import TerminalNotifier


class Alerts:
    """The dashboard's desktop notifications and on_job_end command."""

    def __init__(
        self,
        settings: NotifySettings,
        write: Callable[[str], object],
        *,
        allow_bell: bool = True,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.policy = NotifyPolicy(settings)
        self.allow_bell = allow_bell
        self._write = write
        self.route: Route | None = None
        self._notifier: TerminalNotifier | None = None
        #: None until the terminal says (see the module's docstring)
        self.focused: bool | None = None
        self.command: JobEndCommand | None = None
        if settings.on_job_end is not None:
            self.command = JobEndCommand(
                settings.on_job_end, timeout=settings.on_job_end_timeout, on_problem=on_problem
            )
        self._commands: list[JobEnd] = []
        #: what was written, the latest last (tests and the pty check read it)
        self.sent: list[str] = []

    async def detect(self, environ: Mapping[str, str] | None = None) -> Route:
        """Choose the route for this terminal (asks tmux when inside it); returns it."""
        env = os.environ if environ is None else environ
        tmux = await probe_tmux(env) if env.get("TMUX") else None
        self.use_route(choose_route(self.settings.method, env, tmux, allow_bell=self.allow_bell))
        assert self.route is not None
        return self.route

    def use_route(self, route: Route) -> None:
        self.route = route
        self._notifier = TerminalNotifier(route, self._write)

    def set_focus(self, focused: bool) -> None:
        self.focused = focused

    def step(self, now: float, ended: Sequence[JobEnd] = (), slow: Iterable[SlowJob] = ()) -> bool:
        """Hand a tick's endings and slow jobs to the policy, send what it decides, keep the
        commands it selects for `take_commands`; True if what was sent rang the bell."""
        decision = self.policy.step(now=now, focused=self.focused, ended=ended, slow=slow)
        if decision.commands and self.command is not None:
            self._commands.extend(decision.commands)
        notification = decision.notification
        if notification is None or self._notifier is None:
            return False
        text = self._notifier.send(notification)
        if not text:
            return False
        self.sent.append(text)
        del self.sent[:-100]
        route = self._notifier.route
        return route.method == "bell" or route.bell_too

    def due(self, now: float) -> bool:
        """Whether a notification waits that may be sent now."""
        due = self.policy.next_due()
        return due is not None and now >= due

    def take_commands(self) -> list[JobEnd]:
        """The endings whose on_job_end waits to run (once the tick is stored)."""
        commands, self._commands = self._commands, []
        return commands

    def run(self, ends: Sequence[JobEnd]) -> None:
        """Start on_job_end for these endings (on the caller's event loop)."""
        if self.command is not None and ends:
            self.command.submit(ends)

    async def aclose(self) -> None:
        """Stop every on_job_end still running (their process groups are killed)."""
        self._commands = []
        if self.command is not None:
            await self.command.aclose()
