"""Text from a hostile API in every field never reaches the screen, a notification, the title or
the clipboard raw (issue 10): it is shown escaped (jobwatch.sanitize), copied escaped, and the
history keeps the exact value. A 100k-character ID costs what a short one does to draw.

The simulator serves the jobs over loopback HTTP like the real API; the checks read what was
painted (the screenshot's text, the table's lines), the notifications and the app's clipboard.
"""

from __future__ import annotations

import html
import re

from jobwatch.models import MAX_FIELD_CHARS
from jobwatch.sanitize import is_clean, visible
from jobwatch.simulator.server import Simulator
from jobwatch.tui.app import NOTICE_LINE_CELLS, NOTICE_LINES, shown_notice
from jobwatch.tui.support import SupportFacts, support_snippet
from jobwatch.tui.widgets.detail import DETAIL_ID_CELLS
from jobwatch.tui.widgets.job_lines import shown
from tests.support.rawpty import hostile
from tests.support.tui import make_app, screen_of, table_of, wait_for

WID = hostile("wid")
RUN = hostile("run")
NAME = hostile("status")
WORKSPACE = hostile("workspace")


def rename_workspace(sim: Simulator, name: str) -> None:
    """What GET /v1/workspaces/{id} answers as the workspace's name (the simulator keeps it in a
    table built at start, so setting `sim.workspace_name` alone changes nothing served)."""
    sim.workspace_name = name
    with sim.lock:
        sim._workspaces[sim.workspace_id] = (name, sim.organization_id)


def painted(app) -> str:
    """The screen's text as painted (the screenshot's, entities decoded)."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def assert_clean(text: str, what: str) -> None:
    """No unsafe character in `text` (`jobwatch.sanitize.is_clean`), its line breaks apart."""
    for line in text.splitlines():
        assert is_clean(line), f"{what} holds unsafe characters: {line!r}"


async def test_hostile_fields_are_escaped_everywhere_and_stored_exactly(sim, history, tmp_path):
    sim.add_job(WID, 1, run_id=RUN, name=NAME)
    sim.add_job(hostile("unknown"), 99, name=hostile("odd"))
    rename_workspace(sim, WORKSPACE)
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = screen_of(app)
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 14, what="14 rows")
        await wait_for(pilot, lambda: screen.header.workspace_name == WORKSPACE, what="the name")
        assert table.move_cursor(WID)
        await wait_for(pilot, lambda: screen.detail.workflow_id == WID, what="the detail pane")
        await pilot.pause()

        shown_text = painted(app)
        assert_clean(shown_text, "the screen")
        # Shown, escaped: the header's name, the table's cells, the detail pane.
        assert visible(WORKSPACE)[:18] in shown_text
        assert "wid-\\x1b]52;c;aGFja2Vk" in shown_text
        assert visible(RUN, DETAIL_ID_CELLS) in screen.detail.plain
        for y in range(table.size.height):
            assert_clean(table.render_line(y).text, f"table line {y}")

        # The history keeps the exact value.
        record = history.job(sim.workspace_id, WID)
        assert record is not None and record.run_id == RUN and record.status.name == NAME

        # c and y copy what is shown: escaped.
        await pilot.press("c")
        assert app.clipboard == visible(RUN)
        await pilot.press("y")
        snippet = app.clipboard
        assert_clean(snippet, "the support snippet")
        assert f"workflowId: {visible(WID)}" in snippet
        assert f"runId: {visible(RUN)}" in snippet
        assert f"({visible(WORKSPACE)})" in snippet

        # A failure's notification, and an error body in the header.
        sim.set_status(WID, 3, name=hostile("failed"))
        await wait_for(
            pilot,
            lambda: any("FAILED" in n.title for n in app._notifications),
            what="the failure's notification",
        )
        sim.fail_next(503, body={"error": hostile("error"), "errorId": hostile("eid")}, count=5)
        await pilot.press("r")
        await wait_for(pilot, lambda: "retrying" in screen.header.text, what="the failed poll")
        header = painted(app).splitlines()
        assert any("error-\\x1b]52" in line for line in header), header[:3]
        for notice in app._notifications:
            assert_clean(notice.title, "a notification's title")
            assert_clean(notice.message, "a notification")
            assert not notice.markup
        failure = next(n for n in app._notifications if "FAILED" in n.title)
        # an ID cannot add a line of its own to the notice: its line breaks stay escaped
        assert len(failure.message.splitlines()) == 2
        assert_clean(painted(app), "the screen with the notifications")


async def test_markup_in_text_from_outside_is_shown_as_it_is(sim, history, tmp_path):
    wid = "[bold red]job[/]-[link=https://example.invalid]x[/link]"
    sim.add_job(wid, 42, name="[/bold]")
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 13, what="13 rows")
        app.notify("[/bold]x", title="[b]t")
        await pilot.pause()
        assert table.move_cursor(wid)
        await pilot.pause()
        text = painted(app)
        assert "[bold red]job[/]-[link=" in text
        assert "? [/bold] (42)" in text
        assert "[/bold]x" in text and "[b]t" in text


def test_notices_are_bounded() -> None:
    title, message = shown_notice("t" * 500, "\n".join(["x" * 100_000] * 50))
    lines = message.splitlines()
    assert len(lines) == NOTICE_LINES
    assert all(len(line) <= NOTICE_LINE_CELLS for line in lines)
    assert lines[-1] == "… (39 more lines)"
    assert len(title) <= 60


def test_support_snippet_escapes_every_value() -> None:
    from jobwatch.models import Status
    from jobwatch.windows import Window

    facts = SupportFacts(
        organization_id=hostile("org"),
        workspace_id="ws",
        workspace_name=hostile("name"),
        workflow_id=WID,
        run_id=RUN,
        status=Status(3, hostile("FAILED")),
        run_chain=(hostile("old"), RUN),
        last_error_id=hostile("eid"),
        label=hostile("label"),
        kind=hostile("kind"),
        status_window=Window(1764325790.0, 1764325792.0),
        started=Window(1764325500.0, 1764325502.0),
    )
    snippet = support_snippet(facts)
    # the label and kind, when it failed and started, and how long it ran are lines of their own
    assert len(snippet.splitlines()) == 14
    assert_clean(snippet, "the snippet")
    assert f"earlier runIds: {visible(hostile('old'))}" in snippet
    assert f"label: {visible(hostile('label'))}" in snippet


def test_a_cell_is_escaped_and_exactly_its_width() -> None:
    for text in (WID, "x" * 100_000, "日本語のジョブ-" * 10, ""):
        for width in (1, 9, 20, 33, 64):
            cell = shown(text, width)
            assert is_clean(cell)
            assert len(cell.encode("utf-16-le")) // 2 >= 0  # it is a str
            from rich.cells import cell_len

            assert cell_len(cell) == width, (text[:20], width, cell)
    # the unique tail survives
    assert shown("cascade-delete-knowledge-5c1fb80b", 20) == "cascade-del…5c1fb80b"


async def test_a_huge_id_costs_what_a_short_one_does(sim, history, tmp_path):
    """The detail pane and the table draw a bounded amount of text for the longest ID the client
    accepts (jobwatch.models.MAX_FIELD_CHARS; longer is a bad response): the pane's text and a
    table line stay the same size as for a short ID, every second."""
    half = (MAX_FIELD_CHARS - 1) // 2
    huge = "h" * half + "-" + "t" * half
    sim.add_job(huge, 1, run_id="r" * MAX_FIELD_CHARS)
    app = make_app(sim, history, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = screen_of(app)
        table = table_of(app)
        await wait_for(pilot, lambda: len(table) == 13, what="13 rows")
        assert table.move_cursor(huge)
        await wait_for(pilot, lambda: screen.detail.workflow_id == huge, what="the detail")
        drawn: list[int] = []
        body = screen.detail.query_one("#detail-body")
        original = body.update

        def spy(content, **kwargs):
            drawn.append(len(str(content)))
            return original(content, **kwargs)

        body.update = spy
        for _ in range(3):
            screen._tick()
            await pilot.pause(0.3)
        assert len(screen.detail.plain) < 4 * DETAIL_ID_CELLS + 600
        assert all(n < 4 * DETAIL_ID_CELLS + 600 for n in drawn), drawn
        width = table.scrollable_content_region.width
        for y in range(table.size.height):
            line = table.render_line(y)
            assert line.cell_length == width
            assert len(line.text) <= width
