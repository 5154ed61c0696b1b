"""The dashboard on a real pseudo-terminal, read byte by byte (issue 10).

- A hostile API (escape sequences, C1 controls, bidi and zero-width characters in every field, the
  workspace's name and an error body) changes nothing on the terminal: with no key pressed, no
  OSC 52 (clipboard), no title but jobwatch's own, no C1/bidi/zero-width character is written;
  `c` and `y` then copy only the escaped value.
- SIGTERM and SIGHUP restore the terminal (alternate screen off, mouse tracking off, cursor on),
  store the rows that were on screen and exit 143 / 129; closing the terminal does too.
- With a data dir that cannot hold the history the dashboard runs, says so in its header, and
  `q` exits 0.

Each test runs `python -m jobwatch watch --base-url …` against a Simulator in this process (real
HTTP on loopback), with its own config and data dir.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from jobwatch.sanitize import is_clean, visible
from jobwatch.simulator.server import Simulator
from jobwatch.store.history import HistoryStore
from tests.support.cli import sim_flags
from tests.support.rawpty import (
    RAW_MARKERS,
    RawTerminal,
    clipboard_writes,
    dangerous_characters,
    hostile,
    jobwatch_argv,
    titles,
)

pytest.importorskip("ptyprocess")
pytest.importorskip("pyte")
pytestmark = pytest.mark.timeout(60)

#: what Textual writes when it gives the terminal back (textual.drivers.linux_driver)
RESTORE = ("\x1b[?1049l", "\x1b[?25h", "\x1b[?1000l", "\x1b[?1003l", "\x1b[?1006l")
TITLE = r"jobwatch — \d+ running, \d+ failed"


def dashboard(sim: Simulator, tmp_path: Path, *, data_dir: Path | None = None, size=(120, 40)):
    argv = jobwatch_argv("watch", *sim_flags(sim), "--interval", "0.25")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SHARELY_ACCESS_TOKEN": sim.token,
        "SHARELY_JOBWATCH_CONFIG": str(tmp_path / "config" / "config.toml"),
        "SHARELY_JOBWATCH_DATA_DIR": str(data_dir or tmp_path / "data"),
        "HOME": str(tmp_path),
    }
    return RawTerminal(argv, env=env, size=size)


def rename_workspace(sim: Simulator, name: str) -> None:
    with sim.lock:
        sim._workspaces[sim.workspace_id] = (name, sim.organization_id)


def assert_nothing_taken_over(written: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in written, f"{marker!r} reached the terminal"
    assert clipboard_writes(written) == []
    import re

    for title in titles(written):
        assert re.fullmatch(TITLE, title), f"title set to {title!r}"
    assert dangerous_characters(written) == []


def test_a_hostile_api_cannot_drive_the_terminal(tmp_path: Path) -> None:
    wid, run = hostile("wid"), hostile("run")
    with Simulator("static") as sim:
        sim.add_job(wid, 1, run_id=run, name=hostile("status"))
        rename_workspace(sim, hostile("workspace"))
        # wide enough for the header to show the error body whole
        with dashboard(sim, tmp_path, size=(220, 50)) as term:
            term.wait_for_screen(lambda s: "wid-\\x1b]52" in s, "the hostile row, escaped")
            term.wait_for_screen(lambda s: "workspace-\\x1b" in s, "the hostile name, escaped")
            # polls go on; a failure notification and an error body arrive too
            sim.set_status(wid, 3, name=hostile("failed"))
            term.wait_for_screen(lambda s: "▌ run-\\x1b]52" in s, "the failure's notification")
            sim.fail_next(503, body={"error": hostile("error"), "errorId": hostile("eid")}, count=8)
            term.wait_for_screen(lambda s: "error-\\x1b]52" in s, "the error body in the header")
            time.sleep(1.0)  # a few more polls and once-a-second repaints, no key pressed
            assert_nothing_taken_over(term.text())

            # `c` and `y` copy the escaped value, never the raw one; highlight the hostile row
            mark = term.mark()
            term.send("/")
            term.wait_for_screen(lambda s: "filter by text" in s, "the filter prompt")
            term.send("wid-\r")  # the filter keeps the hostile row alone, under the cursor
            term.wait_for_screen(lambda s: "1 shown" in s, "the filtered table")
            term.send("c")
            term.wait_for(lambda t: clipboard_writes(t.since(mark)), "the copy")
            term.send("y")
            term.wait_for(lambda t: len(clipboard_writes(t.since(mark))) == 2, "the snippet")
            copied, snippet = clipboard_writes(term.since(mark))
            assert copied == visible(run)
            assert all(is_clean(line) for line in snippet.splitlines()), snippet
            assert f"workflowId: {visible(wid)}" in snippet
            term.send("q")
            assert term.wait_exit() == 0
        store = HistoryStore(tmp_path / "data" / "history.sqlite3")
        try:
            record = store.job(sim.workspace_id, wid)
        finally:
            store.close()
        assert record is not None and record.run_id == run  # the exact value is kept


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_restores_the_terminal_and_stores_what_was_shown(tmp_path, sig, code) -> None:
    jobs = 20_000
    with Simulator("bulk", jobs=jobs, seed=3) as sim:
        with dashboard(sim, tmp_path) as term:
            term.wait_for_screen(
                lambda s: f"· {jobs:,} jobs".replace(",", "") in s or f"{jobs} jobs" in s,
                "every job counted",
                timeout=40,
            )
            term.kill(sig)  # while (or right before) the first write of 20k jobs
            assert term.wait_exit(30) == code
            tail = term.text()[-400:]
            for sequence in RESTORE:
                assert sequence in tail, (sequence, tail)
        store = HistoryStore(tmp_path / "data" / "history.sqlite3")
        try:
            stored = len(store.jobs(sim.workspace_id))
        finally:
            store.close()
        assert stored == jobs


def test_closing_the_terminal_exits_129_and_stores_what_was_shown(tmp_path: Path) -> None:
    with Simulator("static") as sim:
        with dashboard(sim, tmp_path) as term:
            term.wait_for_screen(lambda s: "12 jobs" in s, "the jobs")
            term.hang_up()
            assert term.wait_exit(30) == 129
        store = HistoryStore(tmp_path / "data" / "history.sqlite3")
        try:
            assert len(store.jobs(sim.workspace_id)) == 12
        finally:
            store.close()


def test_without_a_usable_history_it_runs_and_says_so(tmp_path: Path) -> None:
    """The data dir cannot be created (its parent is a file): no history, a warning in the
    header, polling as usual, and `q` exits 0."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with Simulator("static") as sim, dashboard(sim, tmp_path, data_dir=blocker / "data") as term:
        term.wait_for_screen(
            lambda s: "role-create-0a1b2c3d" in s and "updated" in s and "no history" in s,
            "the jobs and the warning",
        )
        sim.set_status("role-create-0a1b2c3d", 2)
        term.wait_for_screen(lambda s: "COMPLETED 3" in s or "✓3" in s, "a live change")
        term.send("q")
        assert term.wait_exit() == 0


def test_closing_the_terminal_of_a_busy_screen_exits_129(tmp_path: Path) -> None:
    """A workspace that grows repaints every second: the writes after the hang-up fail (EIO),
    and the dashboard still ends as on SIGHUP instead of blocking on Textual's output queue."""
    from jobwatch.simulator.scenarios import Growth

    growth = Growth("append", every=0.2)
    with (
        Simulator("bulk", jobs=600, seed=5, growth=growth) as sim,
        dashboard(sim, tmp_path) as term,
    ):
        term.wait_for_screen(lambda s: "jobs" in s and "updated" in s, "the jobs")
        term.hang_up()
        assert term.wait_exit(30) == 129
