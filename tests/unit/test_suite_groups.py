"""The modules and tests tests/conftest.py puts in xdist groups exist: a renamed or moved test
would silently leave its group and run beside the others."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ONE_WORKER_MODULES, TIMED_MODULES, TIMED_TESTS

ROOT = Path(__file__).resolve().parents[2]


def test_every_grouped_module_and_test_exists() -> None:
    for module in sorted(TIMED_MODULES | ONE_WORKER_MODULES):
        assert (ROOT / module).is_file(), module
    for entry in sorted(TIMED_TESTS):
        module, name = entry.split("::")
        text = (ROOT / module).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {name}\(", text, re.MULTILINE), entry
