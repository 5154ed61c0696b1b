"""The simulator's option names that the command line lists too: kept here, with no imports, so
that `jobwatch --help` can name them without loading the simulator (~17 ms)."""

from __future__ import annotations

#: `simulate --hostile`'s kinds (jobwatch.simulator.hostile says what each does)
HOSTILE_KINDS = (
    "escapes",
    "huge_field",
    "deep_nesting",
    "huge_int",
    "beyond_int64",
    "gzip_bomb_1mb",
    "gzip_bomb_10mb",
    "trickle",
    "endless",
    "slow_headers",
    "retry_after",
)
#: `simulate --grow`'s orders (jobwatch.simulator.scenarios.Growth says what each does)
GROWTH_ORDERS = ("append", "prepend", "reorder", "mixed")
