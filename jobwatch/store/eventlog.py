"""A rotating log file of what support asks about: failed jobs, poll errors, recoveries.

The poller hands every tick's events to an `EventLog`; by default the shared one in the
data dir (`jobwatch.log`, 1 MB x 3 backups, mode 0600), so `jobwatch wait` and the
dashboard both write it with no wiring. Lines name the workspace, the workflowId and
runId of each failed or vanished job, and each failed poll's HTTP status and errorId.

Events never carry secrets; lines are still scrubbed of anything shaped like a token
or an API key, and every character a terminal would interpret is escaped (`log_line`). A log that cannot be opened or written is reported once and then
skipped: logging never stops polling.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from jobwatch.events import (
    Event,
    HistoryFailed,
    JobAppeared,
    JobNotFound,
    PollerStopped,
    PollFailed,
    Recovered,
    RunIdChanged,
    StatusChanged,
)
from jobwatch.models import Job
from jobwatch.sanitize import visible
from jobwatch.store.paths import LOG_FILE_NAME, data_dir, ensure_private_dir

MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
#: jobs already failed when first seen are listed up to this many per poll, then counted
MAX_APPEARED_FAILURES = 50

_SECRET_PATTERNS = (
    (re.compile(r"sk-sharely-[A-Za-z0-9_\-]+"), "sk-sharely-***"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "***"),
    (re.compile(r"(?i)\b(bearer|x-api-key:?)\s+\S+"), r"\1 ***"),
)


#: the longest a log line gets, in characters (a 100k-character ID is cut in its middle)
MAX_LINE = 4000


def scrub(text: str) -> str:
    """Replace anything shaped like an access token, a JWT or an sk-sharely- key with ***."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def log_line(message: str) -> str:
    """A message as one log line: secrets scrubbed, then every control, bidi or zero-width
    character escaped (jobwatch.sanitize.visible), so `cat jobwatch.log` or `tail -f` in a
    terminal shows an ID that carries ``ESC ] 52`` as text, and a line break cannot forge a
    line; cut in the middle past MAX_LINE."""
    return visible(scrub(message), MAX_LINE)


def _warn_stderr(message: str) -> None:
    print(f"jobwatch: warning: {visible(message)}", file=sys.stderr)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600."""

    def _open(self):
        return open(  # noqa: SIM115 - the handler owns and closes the stream
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=lambda path, flags: os.open(path, flags, 0o600),
        )


class EventLog:
    """Writes the notable events of each poll to a rotating file; never raises."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = MAX_BYTES,
        backup_count: int = BACKUP_COUNT,
        warn: Callable[[str], None] = _warn_stderr,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.warn = warn
        self.disabled = False
        self._handler: logging.Handler | None = None
        self._lock = threading.Lock()

    def _open(self) -> logging.Handler:
        ensure_private_dir(self.path.parent)
        handler = _PrivateRotatingFileHandler(
            self.path,
            maxBytes=self.max_bytes,
            backupCount=self.backup_count,
            encoding="utf-8",
        )
        formatter = logging.Formatter(
            "%(asctime)s.%(msecs)03dZ %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"
        )
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        # errors while writing come back to us instead of logging's stderr traceback
        handler.handleError = self._write_failed  # type: ignore[method-assign]
        return handler

    def _write_failed(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        self._disable(f"event log {self.path}: cannot write it ({reason}); logging stopped")

    def _disable(self, message: str) -> None:
        if not self.disabled:
            self.disabled = True
            self.warn(message)

    def write(self, level: int, message: str) -> None:
        """One line; the first failure to open or write the file is reported, later ones are not."""
        with self._lock:
            if self.disabled:
                return
            if self._handler is None:
                try:
                    self._handler = self._open()
                except OSError as exc:
                    reason = exc.strerror or type(exc).__name__
                    self._disable(
                        f"event log {self.path}: cannot open it ({reason}); polling goes on without it"
                    )
                    return
            record = logging.LogRecord(
                "jobwatch", level, __file__, 0, log_line(message), None, None
            )
            self._handler.handle(record)

    def record(self, workspace_id: str, events: Iterable[Event]) -> None:
        """Log the events that matter to support: failures, vanished jobs, poll errors, recoveries."""
        appeared_failed: list[Job] = []
        for event in events:
            match event:
                case JobAppeared(job) if job.status.is_failure:
                    appeared_failed.append(job)
                case StatusChanged(job, previous) if job.status.is_failure:
                    self.write(
                        logging.WARNING,
                        f"workspace={workspace_id} job {job.status.label}: {previous.label} -> "
                        f"{job.status.label} workflowId={job.workflow_id} runId={job.run_id or '-'}",
                    )
                case RunIdChanged(job, previous_run_id) if job.status.is_failure:
                    self.write(
                        logging.WARNING,
                        f"workspace={workspace_id} job {job.status.label} under a new run: "
                        f"workflowId={job.workflow_id} runId={job.run_id or '-'} "
                        f"previousRunId={previous_run_id or '-'}",
                    )
                case JobNotFound(workflow_id):
                    self.write(
                        logging.WARNING,
                        f"workspace={workspace_id} job not found: the API no longer returns "
                        f"workflowId={workflow_id}",
                    )
                case PollFailed(error, attempt, retry_in):
                    self.write(
                        logging.WARNING,
                        f"workspace={workspace_id} poll failed: {_error_fields(error)} "
                        f"attempt={attempt} retrying in {retry_in:.1f} s: {error.describe()}",
                    )
                case Recovered(failures):
                    self.write(
                        logging.INFO,
                        f"workspace={workspace_id} recovered after {failures} failed poll(s)",
                    )
                case PollerStopped(error) if error is not None:
                    self.write(
                        logging.ERROR,
                        f"workspace={workspace_id} polling stopped: {_error_fields(error)}: "
                        f"{error.describe()}",
                    )
                case HistoryFailed(error):
                    self.write(
                        logging.WARNING,
                        f"workspace={workspace_id} history not saved: {error.describe()}",
                    )
        for job in appeared_failed[:MAX_APPEARED_FAILURES]:
            self.write(
                logging.WARNING,
                f"workspace={workspace_id} job {job.status.label} when first seen: "
                f"workflowId={job.workflow_id} runId={job.run_id or '-'}",
            )
        if len(appeared_failed) > MAX_APPEARED_FAILURES:
            self.write(
                logging.WARNING,
                f"workspace={workspace_id} and {len(appeared_failed) - MAX_APPEARED_FAILURES} "
                "more jobs already failed when first seen (not listed)",
            )

    def close(self) -> None:
        with self._lock:
            if self._handler is not None:
                self._handler.close()
                self._handler = None


def _error_fields(error) -> str:
    status = error.status if error.status is not None else "-"
    return f"kind={error.kind} status={status} errorId={error.error_id or '-'}"


class DefaultEventLog:
    """The event log in the current data dir, opened on first use.

    The data dir is looked up on every call, so a change of SHARELY_JOBWATCH_DATA_DIR (tests do
    that) moves the log with it.
    """

    def __init__(self) -> None:
        self._log: EventLog | None = None
        self._pinned: Path | None = None
        self._lock = threading.Lock()

    def pin(self, path: str | os.PathLike[str] | None) -> None:
        """Log to `path` instead of the data dir (None: back to the data dir).

        `jobwatch demo` keeps its log next to its throwaway history, out of the real one.
        """
        self._pinned = None if path is None else Path(path)

    def current(self) -> EventLog:
        path = self._pinned or data_dir() / LOG_FILE_NAME
        with self._lock:
            if self._log is None or self._log.path != path:
                if self._log is not None:
                    self._log.close()
                self._log = EventLog(path)
            return self._log

    def record(self, workspace_id: str, events: Iterable[Event]) -> None:
        self.current().record(workspace_id, events)

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None


#: the log the poller writes unless given another one
DEFAULT = DefaultEventLog()
