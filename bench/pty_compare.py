"""The dashboard measured from outside, in a pseudo-terminal, next to a minimal Textual app.

    python bench/pty_compare.py [--command "jobwatch demo"] [--presses 60] [--json]

Each program (first bench/minimal_app.py, then the command; one at a time, 2 cores are few) is
spawned on a 120x40 pty with TERM=xterm-256color and COLORTERM=truecolor; its screen is read
through pyte (bench/pty_probe.py). For each it reports:

- first_rows_s: from spawn to the first whole frame with --first-rows table rows, one of them
  highlighted (interpreter start, imports, first poll for the dashboard, first paint); an
  intermediate start-up frame that already shows that many rows counts, as a user would see it;
- key latency p50/p95/max (ms): `down` pressed every --interval s (or as soon as the previous
  press showed, if that took longer) --presses times; each from the key written to the arrival of
  the frame in which the cursor is on the next row (that job, should the table have re-sorted)
  and the detail pane names that row's ID; "cursor moved" is the same press to the first frame
  with the cursor on that row, whatever the detail pane showed. When the cursor is on the last
  row shown, an unmeasured `home` goes back to the first row;
- idle CPU % of one core (utime + stime of the process tree over a window with no key pressed,
  --idle-seconds, after a settle), with the bytes and frames it wrote meanwhile;
- RSS MB of the process tree at the end; its exit status after `q`.

Then the ratio command / minimal of each latency figure. --json prints one JSON object instead
of the table. A missed press (no such frame within --timeout s) is counted, not timed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pty_probe  # noqa: E402

HERE = Path(__file__).resolve().parent
MINIMAL_APP = HERE / "minimal_app.py"


@dataclass
class Figures:
    name: str
    argv: list[str]
    first_rows_s: float | None = None
    key_p50_ms: float | None = None
    key_p95_ms: float | None = None
    key_max_ms: float | None = None
    cursor_p50_ms: float | None = None
    cursor_p95_ms: float | None = None
    presses: int = 0
    missed: int = 0
    resets: int = 0
    idle_cpu_pct: float | None = None
    idle_seconds: float = 0.0
    idle_bytes_per_s: float | None = None
    idle_frames_per_s: float | None = None
    rss_mb: float | None = None
    exit_status: int | None = None
    latencies_ms: list[float] = field(default_factory=list)
    cursor_latencies_ms: list[float] = field(default_factory=list)
    #: (press number, screen before, screen after) of each missed press
    misses: list[tuple[int, str, str]] = field(default_factory=list, repr=False)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation: a figure that was measured); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def resolve(argv: list[str]) -> list[str]:
    """argv with its program found on PATH or beside this interpreter (an unactivated venv)."""
    if not argv or os.sep in argv[0] or shutil.which(argv[0]):
        return argv
    beside = Path(sys.executable).parent / argv[0]
    return [str(beside), *argv[1:]] if beside.exists() else argv


def measure(
    name: str,
    argv: list[str],
    args: argparse.Namespace,
    log: bool,
) -> Figures:
    figures = Figures(name=name, argv=argv)
    layout = pty_probe.DEFAULT_LAYOUT
    size = (args.columns, args.lines)
    with pty_probe.PtySession(argv, size=size, synchronized_output=not args.no_sync) as session:
        first = session.wait_for_snapshot(pty_probe.rows_shown(args.first_rows, layout), 60.0)
        if first is None:
            raise SystemExit(
                f"{name}: no {args.first_rows} rows within 60 s:\n{session.screen_text()}"
            )
        figures.first_rows_s = first.time - session.started_at
        if session.wait_for(pty_probe.cursor_row_in_detail(layout), 10.0) is None:
            raise SystemExit(f"{name}: the detail pane never named the highlighted row")
        time.sleep(args.settle)  # let start-up work (first history write, timers) pass

        expects = {
            "detail": pty_probe.detail_shows_next_row(layout),
            "cursor": pty_probe.cursor_on_next_row(layout),
        }
        home = pty_probe.detail_shows_first_row(layout)
        next_at = time.perf_counter()
        while figures.presses < args.presses:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing: one press every --interval s
            next_at = time.perf_counter() + args.interval
            if not pty_probe.has_next_row(session.snapshot(), layout):
                figures.resets += 1
                if pty_probe.measure_key_latency(session, "home", home, args.timeout) is None:
                    raise SystemExit(f"{name}: home did not go back to the first row")
                continue
            before = session.snapshot()
            got = pty_probe.measure_key_latencies(session, "down", expects, args.timeout)
            figures.presses += 1
            if got["detail"] is None:
                figures.missed += 1
                figures.misses.append((figures.presses, before.text, session.screen_text()))
            else:
                figures.latencies_ms.append(got["detail"])
            if got["cursor"] is not None:
                figures.cursor_latencies_ms.append(got["cursor"])
            if log:
                print(f"{name}: down {figures.presses}: {got} ms", file=sys.stderr)

        time.sleep(args.settle)
        cpu0, t0 = pty_probe.tree_cpu_seconds(session.pid), time.perf_counter()
        time.sleep(args.idle_seconds)  # the idle window: no key pressed
        cpu1, t1 = pty_probe.tree_cpu_seconds(session.pid), time.perf_counter()
        figures.idle_seconds = t1 - t0
        figures.idle_cpu_pct = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        figures.idle_bytes_per_s = session.bytes_between(t0, t1) / (t1 - t0)
        if not args.no_sync:
            frames = [f for f in session.frames if t0 <= f < t1]
            figures.idle_frames_per_s = len(frames) / (t1 - t0)
        figures.rss_mb = pty_probe.tree_rss_mb(session.pid)

        session.send("q")
        figures.exit_status = session.wait_exit(10.0)
    lat = figures.latencies_ms
    figures.key_p50_ms = percentile(lat, 50)
    figures.key_p95_ms = percentile(lat, 95)
    figures.key_max_ms = max(lat) if lat else None
    figures.cursor_p50_ms = percentile(figures.cursor_latencies_ms, 50)
    figures.cursor_p95_ms = percentile(figures.cursor_latencies_ms, 95)
    return figures


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def table(minimal: Figures, command: Figures, ratios: dict[str, float | None]) -> str:
    rows = [
        ("first rows (s)", fmt(minimal.first_rows_s, 2), fmt(command.first_rows_s, 2), ""),
        ("key p50 (ms)", fmt(minimal.key_p50_ms), fmt(command.key_p50_ms), fmt(ratios["p50"], 2)),
        ("key p95 (ms)", fmt(minimal.key_p95_ms), fmt(command.key_p95_ms), fmt(ratios["p95"], 2)),
        ("key max (ms)", fmt(minimal.key_max_ms), fmt(command.key_max_ms), fmt(ratios["max"], 2)),
        ("cursor moved p50 (ms)", fmt(minimal.cursor_p50_ms), fmt(command.cursor_p50_ms),
         fmt(ratios["cursor_p50"], 2)),
        ("cursor moved p95 (ms)", fmt(minimal.cursor_p95_ms), fmt(command.cursor_p95_ms),
         fmt(ratios["cursor_p95"], 2)),
        ("presses / missed", f"{minimal.presses} / {minimal.missed}",
         f"{command.presses} / {command.missed}", ""),
        ("home resets", fmt(minimal.resets), fmt(command.resets), ""),
        ("idle CPU (% of a core)", fmt(minimal.idle_cpu_pct, 2), fmt(command.idle_cpu_pct, 2), ""),
        ("idle output (bytes/s)", fmt(minimal.idle_bytes_per_s, 0),
         fmt(command.idle_bytes_per_s, 0), ""),
        ("idle frames (/s)", fmt(minimal.idle_frames_per_s, 2),
         fmt(command.idle_frames_per_s, 2), ""),
        ("RSS at end (MB)", fmt(minimal.rss_mb), fmt(command.rss_mb), ""),
        ("exit status after q", fmt(minimal.exit_status), fmt(command.exit_status), ""),
    ]  # fmt: skip
    shown = shlex.join([Path(command.argv[0]).name, *command.argv[1:]]) if command.argv else ""
    head = ("", "minimal", shown if len(shown) <= 32 else f"{shown[:31]}…", "ratio")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                  enumerate(zip(row, widths, strict=True)))
        for row in [head, *rows]
    ]  # fmt: skip
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", default="jobwatch demo", help='default: "jobwatch demo"')
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.1, help="s between presses")
    parser.add_argument("--timeout", type=float, default=2.0, help="s before a press is missed")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=1.0, help="s before presses and idle")
    parser.add_argument("--first-rows", type=int, default=10)
    parser.add_argument("--minimal-rows", type=int, default=18, help="jobwatch demo has 18 jobs")
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--no-sync", action="store_true", help="a terminal without DEC 2026")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dump-misses", metavar="FILE", help="screens around missed presses")
    parser.add_argument("--verbose", action="store_true", help="each press to stderr")
    args = parser.parse_args(argv)

    minimal_argv = [sys.executable, str(MINIMAL_APP), "--rows", str(args.minimal_rows)]
    command_argv = resolve(shlex.split(args.command))
    print(f"minimal: {shlex.join(minimal_argv)}", file=sys.stderr)
    minimal = measure("minimal", minimal_argv, args, args.verbose)
    print(f"command: {shlex.join(command_argv)}", file=sys.stderr)
    command = measure("command", command_argv, args, args.verbose)
    ratios = {
        "p50": ratio(command.key_p50_ms, minimal.key_p50_ms),
        "p95": ratio(command.key_p95_ms, minimal.key_p95_ms),
        "max": ratio(command.key_max_ms, minimal.key_max_ms),
        "cursor_p50": ratio(command.cursor_p50_ms, minimal.cursor_p50_ms),
        "cursor_p95": ratio(command.cursor_p95_ms, minimal.cursor_p95_ms),
    }
    if args.dump_misses:
        with open(args.dump_misses, "w") as f:
            for figures in (minimal, command):
                for press, before, after in figures.misses:
                    f.write(f"== {figures.name}: press {press} missed; before:\n{before}\n")
                    f.write(f"-- after:\n{after}\n")
    if args.json:
        out = {
            "terminal": {
                "columns": args.columns,
                "lines": args.lines,
                "synchronized_output": not args.no_sync,
            },
            "presses": args.presses,
            "interval_s": args.interval,
            "minimal": {k: v for k, v in asdict(minimal).items() if k != "misses"},
            "command": {k: v for k, v in asdict(command).items() if k != "misses"},
            "ratios_command_over_minimal": ratios,
        }
        print(json.dumps(out, indent=2))
    else:
        print(table(minimal, command, ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
