"""The `on_job_end` command: run for each watched job that ends, with the job in its environment.

    on_job_end = 'notify-send "jobwatch: $JOBWATCH_STATUS" "$JOBWATCH_WORKFLOW_ID"'

- A string runs with `/bin/sh -c` (the job's fields are environment variables, so using them
  needs a shell, and they are never pasted into the command line: a hostile workflowId cannot
  inject anything); an array runs as the program and its arguments, without a shell.
- The environment is built from nothing: SAFE_VARIABLES from jobwatch's own environment (what
  a desktop notifier or a script needs: PATH, HOME, locale, the display and session bus) and
  the job's JOBWATCH_* variables (`job_environment`). Nothing else is inherited, so no token,
  API key or the variable a workspace's `token_env` names ever reaches the command.
- The per-job variables keep the JOBWATCH_ prefix: they are not settings of jobwatch (those are
  SHARELY_JOBWATCH_*) but facts handed to a script, where the shorter name reads better, and in
  an environment built from nothing they cannot meet the unrelated tool's JOBWATCH_CONFIG.
  Values are shown forms (sanitize.visible, at most MAX_VALUE_CHARS): no control character.
- Time-bounded: after `timeout` seconds its whole process group (`start_new_session=True`) is
  killed; so is whatever it left behind in its group when it exits. A task that is cancelled
  (the dashboard quits) kills the group too. Its output is read, the first MAX_OUTPUT_BYTES kept
  for a failure message, the rest discarded; stdin is /dev/null.
- At most `concurrency` run at once, at most MAX_WAITING wait; more are skipped.
- A failure (exit status, timeout, not found, skipped) calls `on_problem` once per kind of
  failure, with a line the dashboard can show; every outcome is also returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from jobwatch.notify.policy import JobEnd
from jobwatch.sanitize import visible
from jobwatch.windows import format_duration_range, iso_utc, run_duration

#: what the command may inherit from jobwatch's environment (nothing else)
SAFE_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TZ",
    "TMPDIR",
    # a desktop notifier (notify-send, osascript) needs the session it shows in
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
)
PREFIX = "JOBWATCH_"
DEFAULT_CONCURRENCY = 2
MAX_WAITING = 100
#: outcomes kept in JobEndCommand.results, the latest
MAX_RESULTS = 1000
MAX_VALUE_CHARS = 1024
MAX_OUTPUT_BYTES = 2048
#: after the command exits, how long its output may stay open (held by something it started
#: outside its group) before jobwatch stops reading
OUTPUT_GRACE = 0.5

Outcome = Literal["ok", "exit", "timeout", "not_found", "cannot_start", "skipped"]


def job_environment(end: JobEnd, inherited: Mapping[str, str]) -> dict[str, str]:
    """The command's whole environment: SAFE_VARIABLES from `inherited`, and the job's fields.

    JOBWATCH_WORKFLOW_ID, _RUN_ID, _STATUS (the name), _STATUS_CODE, _FAILED (1 or 0),
    _WORKSPACE_ID, _WORKSPACE_NAME, _ORGANIZATION_ID, _KIND, _LABEL, _NOT_BEFORE and
    _OBSERVED_AT (ISO 8601 UTC: after the first, at or before the second it ended; "" unknown),
    _RAN (how long the run took, e.g. "4m10s" or "4m10s–4m12s"; "" unknown), _SUMMARY (one line).
    """
    env = {name: inherited[name] for name in SAFE_VARIABLES if inherited.get(name)}
    env.setdefault("PATH", os.defpath)
    status = end.status
    ended, started = end.ended, end.started
    ran = ""
    if ended is not None and started is not None:
        ran = format_duration_range(run_duration(started, ended))
    fields = {
        "WORKFLOW_ID": end.workflow_id,
        "RUN_ID": end.run_id,
        "STATUS": status.label,
        "STATUS_CODE": str(status.code),
        "FAILED": "1" if status.is_failure else "0",
        "WORKSPACE_ID": end.workspace_id,
        "WORKSPACE_NAME": end.workspace_name,
        "ORGANIZATION_ID": end.organization_id,
        "KIND": end.kind,
        "LABEL": end.label,
        "NOT_BEFORE": iso_utc(ended.not_before) if ended and ended.not_before is not None else "",
        "OBSERVED_AT": iso_utc(ended.observed_at) if ended is not None else "",
        "RAN": ran,
        "SUMMARY": f"{status.label} {end.workflow_id}"
        + (f" (runId {end.run_id})" if end.run_id else ""),
    }
    for key, value in fields.items():
        env[PREFIX + key] = visible(value, MAX_VALUE_CHARS)
    return env


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How one run of the command went."""

    end: JobEnd
    outcome: Outcome
    returncode: int | None = None
    #: the first of its output, one line, shown form
    output: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome != "ok"

    def describe(self) -> str:
        """One line for the person, e.g. "on_job_end exited with status 2: curl: (6) ..."."""
        what = {
            "ok": "on_job_end ran",
            "exit": f"on_job_end exited with status {self.returncode}",
            "timeout": f"on_job_end did not finish in {self.seconds:.1f}s and was stopped",
            "not_found": "on_job_end: the program was not found",
            "cannot_start": "on_job_end could not be started",
            "skipped": f"on_job_end skipped: more than {MAX_WAITING} jobs waiting for it",
        }[self.outcome]
        return f"{what}: {self.output}" if self.output else what


def _argv(command: str | Sequence[str]) -> list[str]:
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


async def _read_bounded(stream: asyncio.StreamReader, kept: bytearray) -> None:
    """Read a stream to its end, keeping its first MAX_OUTPUT_BYTES in `kept` (the rest is
    dropped): `kept` holds what came even if the reading is given up on."""
    while chunk := await stream.read(65536):
        room = MAX_OUTPUT_BYTES - len(kept)
        if room > 0:
            kept += chunk[:room]


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return visible(text.splitlines()[0] if text else "", 200)


async def run_command(
    command: str | Sequence[str], end: JobEnd, *, timeout: float, inherited: Mapping[str, str]
) -> CommandResult:
    """Run the command once for `end`; never raises for the command's own failures."""
    started = time.monotonic()
    # Output goes to a pipe of our own, not asyncio's: asyncio's Process.wait() waits for its
    # pipes to close too, and a background child holding them would hold the wait.
    read_fd, write_fd = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *_argv(command),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            env=job_environment(end, inherited),
            start_new_session=True,
        )
    except FileNotFoundError:
        os.close(read_fd)
        return CommandResult(end, "not_found")
    except OSError as exc:
        os.close(read_fd)
        return CommandResult(end, "cannot_start", output=visible(exc.strerror or str(exc), 200))
    finally:
        os.close(write_fd)
    pipe = os.fdopen(read_fd, "rb", buffering=0)
    stream = asyncio.StreamReader()
    kept = bytearray()
    transport: asyncio.BaseTransport | None = None
    reader: asyncio.Future[None] | None = None
    timed_out = False
    try:
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream), pipe
        )
        reader = asyncio.ensure_future(_read_bounded(stream, kept))
        try:
            async with asyncio.timeout(timeout):
                await proc.wait()
        except TimeoutError:
            timed_out = True
    finally:
        # Whatever it started in its group goes with it, on a timeout, a cancel or a normal exit.
        # (After a normal exit the group's ID cannot be reused while anything is left in it.)
        _kill_group(proc.pid)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
        if reader is not None and not reader.done():
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(reader), OUTPUT_GRACE)
            reader.cancel()
        if transport is not None:
            transport.close()
        else:
            # Never connected (e.g. cancelled while connecting, which may have closed it already):
            # closing the file object again is harmless, closing its descriptor again is EBADF.
            pipe.close()
    output = _first_line(bytes(kept))
    seconds = time.monotonic() - started
    if timed_out:
        return CommandResult(end, "timeout", proc.returncode, output, seconds)
    if proc.returncode != 0:
        return CommandResult(end, "exit", proc.returncode, output, seconds)
    return CommandResult(end, "ok", 0, "", seconds)


class JobEndCommand:
    """Runs the command for each ending handed to `submit`, `concurrency` at a time.

    Lives on the caller's event loop (the dashboard's): `submit` only starts tasks and returns.
    `drain()` waits for everything submitted; `aclose()` cancels it all (groups killed).
    """

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        timeout: float,
        concurrency: int = DEFAULT_CONCURRENCY,
        environ: Mapping[str, str] | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.command = command
        self.timeout = timeout
        self._inherited = dict(os.environ if environ is None else environ)
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[CommandResult]] = set()
        self._on_problem = on_problem
        self._reported: set[Outcome] = set()
        self.results: list[CommandResult] = []

    def submit(self, ends: Iterable[JobEnd]) -> None:
        for end in ends:
            if len(self._tasks) >= MAX_WAITING:
                self._record(CommandResult(end, "skipped"))
                continue
            task = asyncio.ensure_future(self._run(end))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    async def _run(self, end: JobEnd) -> CommandResult:
        async with self._slots:
            return await run_command(
                self.command, end, timeout=self.timeout, inherited=self._inherited
            )

    def _done(self, task: asyncio.Task[CommandResult]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is None:
            self._record(task.result())

    def _record(self, result: CommandResult) -> None:
        self.results.append(result)
        del self.results[:-MAX_RESULTS]
        if result.failed and result.outcome not in self._reported:
            self._reported.add(result.outcome)
            if self._on_problem is not None:
                self._on_problem(result.describe())

    @property
    def busy(self) -> int:
        """Runs started or waiting for a slot."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every submitted run has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop every run (their process groups are killed) and wait for them."""
        for task in list(self._tasks):
            task.cancel()
        await self.drain()
