"""The dashboard's pilot tests run against the static scenario: here `sim` is the root conftest's `static_sim`."""

from __future__ import annotations

import pytest


@pytest.fixture
def sim(static_sim):
    return static_sim
