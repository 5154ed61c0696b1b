"""bench/pty_probe.py end to end: real programs on a real pty, read through pyte.

The minimal app (bench/minimal_app.py) shows its first rows, `down` moves the highlighted line and
the detail pane names the next row's ID, and close() leaves no process behind; `jobwatch demo`
(the built-in simulator, offline) shows its first rows and exits 0 on `q`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ptyprocess")
pytest.importorskip("pyte")

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import minimal_app  # noqa: E402
import pty_probe  # noqa: E402

pytestmark = pytest.mark.timeout(30)

FIRST_ROWS_TIMEOUT = 20.0


def minimal_argv(rows: int) -> list[str]:
    return [sys.executable, str(BENCH / "minimal_app.py"), "--rows", str(rows)]


def test_minimal_app_down_moves_the_cursor_and_the_detail_follows():
    with pty_probe.PtySession(minimal_argv(50)) as session:
        pid = session.pid
        # 40 lines less title, summary, table header and footer: 36 of the 50 rows fit. (Textual's
        # first frames can be partial, one in ~25 starts showed 30 rows and no footer yet.)
        first = session.wait_for_snapshot(pty_probe.rows_shown(36), FIRST_ROWS_TIMEOUT)
        assert first is not None, session.screen_text()
        rows = pty_probe.table_rows(first)
        assert len(rows) == 36, first.text
        assert all(r.id.startswith(minimal_app.KINDS) for r in rows), [r.id for r in rows]
        assert session.wait_for(pty_probe.cursor_row_in_detail(), 10.0) is not None

        before = session.snapshot()
        y0 = pty_probe.cursor_line(before)
        assert y0 == rows[0].y, before.text
        next_row = pty_probe.row_at(before, y0 + 1)
        assert next_row is not None

        latency = pty_probe.measure_key_latency(
            session, "down", pty_probe.detail_shows_next_row(), timeout=5.0
        )
        assert latency is not None, session.screen_text()
        assert 0 < latency < 5000 and math.isfinite(latency)
        after = session.snapshot()
        assert pty_probe.cursor_line(after) == y0 + 1, after.text
        # The detail pane's first ID is the highlighted job's workflowId: now the next row's.
        shown_before, shown = pty_probe.detail_ids(before), pty_probe.detail_ids(after)
        assert shown[0] != shown_before[0], (shown_before, shown)
        assert next_row.matches(shown[0]), (next_row, shown)

        # The expectation cannot be met by a key that does nothing visible.
        assert (
            pty_probe.measure_key_latency(
                session, "x", pty_probe.detail_shows_next_row(), timeout=0.5
            )
            is None
        )
        assert session.alive()
        session.close()
    assert not session.alive()
    assert session.exit_status is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not Path(f"/proc/{pid}").exists()


def test_jobwatch_demo_shows_rows_and_quits_with_status_0(tmp_path):
    argv = [sys.executable, "-m", "jobwatch", "demo"]
    with pty_probe.PtySession(argv, cwd=str(tmp_path)) as session:
        first = session.wait_for_snapshot(pty_probe.rows_shown(10), FIRST_ROWS_TIMEOUT)
        assert first is not None, session.screen_text()
        assert first.time > session.started_at
        assert "jobwatch" in first.line(0)
        assert session.wait_for(pty_probe.cursor_row_in_detail(), 10.0) is not None
        assert pty_probe.cpu_seconds(session.pid) > 0
        assert 10 < pty_probe.rss_mb(session.pid) < 1000
        session.send("q")
        assert session.wait_exit(10.0) == 0
        assert session.wait_for(lambda snap: False, 5.0) is None  # the pty closed: no wait
        assert session.eof


def test_key_names_map_to_terminal_bytes():
    assert pty_probe.key_bytes("down") == b"\x1b[B"
    assert pty_probe.key_bytes("home") == b"\x1b[H"
    assert pty_probe.key_bytes("pgdn") == b"\x1b[6~"
    assert pty_probe.key_bytes("enter") == b"\r"
    assert pty_probe.key_bytes("slash") == b"/"
    assert pty_probe.key_bytes("é") == "é".encode()
    assert pty_probe.key_bytes(b"\x1b[A") == b"\x1b[A"


def screen_of(lines: list[tuple[str, str]], columns: int = 120, height: int = 12):
    """A pyte screen with each (SGR parameters, text) pair drawn on its own line."""
    import pyte

    screen = pyte.Screen(columns, height)
    stream = pyte.ByteStream(screen)
    for y, (sgr, text) in enumerate(lines):
        stream.feed(f"\x1b[{y + 1};1H\x1b[{sgr}m{text.ljust(78)}\x1b[0m".encode())
    return screen


ROWS = [f" taxonomy-publish-{n:08x} ▶ RUNNING   {n:08x}…" for n in range(6)]
PLAIN, CURSOR, STRIPE = "48;2;22;27;34", "48;2;43;74;111", "48;2;30;30;30"


def test_cursor_line_is_the_row_whose_background_no_other_row_has():
    head = [("1", " workflowId    status")]
    lines = head + [(CURSOR if i == 3 else PLAIN, text) for i, text in enumerate(ROWS)]
    assert pty_probe.cursor_line(screen_of(lines)) == 4  # line 0 is the header
    # zebra stripes: two backgrounds shared by many rows, the cursor's by one
    striped = head + [
        (CURSOR if i == 2 else STRIPE if i % 2 else PLAIN, text) for i, text in enumerate(ROWS)
    ]
    assert pty_probe.cursor_line(screen_of(striped)) == 3
    # reverse video instead of a background colour
    reverse = head + [("7" if i == 5 else "", text) for i, text in enumerate(ROWS)]
    assert pty_probe.cursor_line(screen_of(reverse)) == 6


def test_cursor_line_with_few_rows_compares_with_the_blank_table_below():
    one = [(CURSOR, ROWS[0]), (PLAIN, "")]
    assert pty_probe.cursor_line(screen_of(one)) == 0
    two = [(PLAIN, ROWS[0]), (CURSOR, ROWS[1]), (PLAIN, "")]
    assert pty_probe.cursor_line(screen_of(two)) == 1


def test_cursor_line_is_none_when_no_row_stands_out():
    assert pty_probe.cursor_line(screen_of([(PLAIN, text) for text in ROWS])) is None
    assert pty_probe.cursor_line(screen_of([(PLAIN, " nothing here")])) is None


def test_first_rows_seconds_times_spawn_to_the_first_frame_with_the_rows():
    before = time.perf_counter()
    seconds, started_at, text = pty_probe.first_rows_seconds(
        minimal_argv(20), predicate=pty_probe.rows_shown(20), quit_key="q"
    )
    assert seconds is not None and 0 < seconds < FIRST_ROWS_TIMEOUT
    assert before <= started_at <= time.perf_counter() - seconds
    assert text.strip()  # the screen as it was then
    # 21 rows never fit a 20-row app: the wait ends at the timeout, with None
    missed, _, _ = pty_probe.first_rows_seconds(
        minimal_argv(20), predicate=pty_probe.rows_shown(21), timeout=1.5
    )
    assert missed is None


def test_columns_and_lines_from_the_environment_do_not_shrink_the_screen():
    # A parent's COLUMNS/LINES (a pytest run has 80x24) would make Textual draw for 80x24.
    env = {"COLUMNS": "80", "LINES": "24"}
    with pty_probe.PtySession(minimal_argv(50), env=env) as session:
        first = session.wait_for_snapshot(pty_probe.rows_shown(36), FIRST_ROWS_TIMEOUT)
        assert first is not None, session.screen_text()
        assert session.wait_for(pty_probe.cursor_row_in_detail(), 10.0) is not None
