"""The fault matrix, seen from the dashboard: each fault names itself in the header, the last good
rows stay on screen marked stale, nothing closes the app, and polling recovers by itself.

Runs the real app against the simulator over loopback HTTP (pilot), reusing the flows' fixtures.
"""

from __future__ import annotations

import email.utils
import time

import pytest

from jobwatch.simulator.server import Simulator
from tests.support.tui import (
    SIZE,
    make_app,
    screen_of,
    table_of,
    wait_for,
)


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


FAULTS = {
    "429 Retry-After date": (
        lambda s: s.fail_next(429, headers={"Retry-After": http_date(1)}),
        "HTTP 429",
    ),
    "500": (lambda s: s.fail_next(500), "HTTP 500"),
    "502": (lambda s: s.fail_next(502), "HTTP 502"),
    "504": (lambda s: s.fail_next(504), "HTTP 504"),
    "503 no Retry-After": (lambda s: s.fail_next(503), "HTTP 503"),
    "non-JSON body": (lambda s: s.fail_next(200, body=b"<html>oops</html>"), "bad response"),
    "object, not array": (lambda s: s.fail_next(200, body={"jobs": []}), "bad response"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_is_named_data_kept_stale_then_recovers(fault, sim, history, tmp_path):
    inject, words = FAULTS[fault]
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        header = screen_of(app).header
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        # the rows show before the history write; "updated" comes once the tick is stored
        await wait_for(pilot, lambda: header.text.startswith("updated"), what="first poll stored")
        before = {
            wid: history.transitions(sim.workspace_id, wid) for wid in ("role-create-0a1b2c3d",)
        }
        # Every state the header shows, with the table's state then: a retry after a short
        # random backoff can succeed between two looks at the screen.
        shown: list[tuple[str, int, bool]] = []
        update_text = header.update_text

        def record() -> None:
            update_text()
            shown.append((header.text, len(table), table.stale))

        header.update_text = record
        inject(sim)
        await wait_for(
            pilot, lambda: any(t.startswith("retrying") for t, _, _ in shown), what="retry banner"
        )
        text, rows, stale = next(state for state in shown if state[0].startswith("retrying"))
        assert words in text
        assert rows == 12 and stale
        assert app.is_running
        await wait_for(
            pilot, lambda: header.text.startswith("updated"), timeout=10, what="recovery"
        )
        assert not table.stale
        assert {wid: history.transitions(sim.workspace_id, wid) for wid in before} == before


async def test_server_down_then_back_on_the_same_port(history, tmp_path):
    sim = Simulator("static")
    sim.start()
    port = sim.port
    app = make_app(sim, history, tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = table_of(app)
            header = screen_of(app).header
            await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
            sim.stop()
            await wait_for(
                pilot, lambda: "connection refused" in header.text, what="refused banner"
            )
            assert len(table) == 12 and table.stale
            sim = Simulator("static")
            sim.start(port=port)
            await wait_for(
                pilot, lambda: header.text.startswith("updated"), timeout=20, what="recovery"
            )
            assert not table.stale
    finally:
        sim.stop()


async def test_401_with_an_api_key_renews_without_user_action(sim, history, tmp_path):
    from jobwatch.store.config import WorkspaceConfig

    ws = WorkspaceConfig(
        name="a",
        workspace_id=sim.workspace_id,
        organization_id=sim.organization_id,
        base_url=sim.base_url,
        api_key_env="KEY_A",
    )
    app = make_app(sim, history, tmp_path, environ={"KEY_A": sim.api_key}, workspaces=[ws])
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        header = screen_of(app).header
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        exchanges = sum(1 for r in sim.requests if "generate-access-key-token" in r[1])
        sim.revoke_token()
        sim.set_status("role-create-0a1b2c3d", 2)
        await wait_for(
            pilot,
            lambda: table.row("role-create-0a1b2c3d").status.code == 2,
            what="the change seen after renewal",
        )
        assert sum(1 for r in sim.requests if "generate-access-key-token" in r[1]) > exchanges
        assert "401" not in header.text and header.text.startswith("updated")


@pytest.mark.parametrize(("status", "words"), [(403, "HTTP 403"), (404, "HTTP 404")])
async def test_403_and_404_stop_with_a_reason_and_keep_the_app(
    status, words, sim, history, tmp_path
):
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        header = screen_of(app).header
        await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
        sim.fail_next(status)
        await wait_for(pilot, lambda: words in header.text, what=f"{status} banner")
        assert header.level == "error"
        assert len(table) == 12 and table.stale
        assert app.is_running
