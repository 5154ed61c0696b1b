"""The dashboard at every size (issue 12): columns that share the width and keep each ID's unique
tail, a key bar that keeps `?` and `q`, dialogs whose buttons stay reachable, notifications that
never cover the table or a dialog and pile up at most a few, and a highlighted row that every
theme shows in 16 and 256 colours."""

from __future__ import annotations

import pytest
from rich.color import ColorSystem
from textual.color import Color
from textual.widgets import Button
from textual.widgets._toast import Toast

from jobwatch.tui.model import JobRow
from jobwatch.tui.theming.themes import SHIPPED_THEMES, load_themes
from jobwatch.tui.widgets.job_lines import (
    DROP_ORDER,
    MAX_WORKFLOW_ID_WIDTH,
    MIN_WORKFLOW_ID_WIDTH,
    IdWidths,
    layout_for,
    row_strip,
)
from jobwatch.tui.widgets.key_bar import KeyBar
from tests.snapshots.test_snapshots import ScreenHost, snapshot_config
from tests.support.tui import make_app, screen_of, table_of, wait_for

IDS = (
    "cascade-delete-knowledge-5c1fb80b",
    "cascade-delete-knowledge-e0503041",
    "cascade-delete-knowledge-f0def736",
)
RUN_ID = "55c1b9b4-a763-43a5-bbd0-e759059dfde6"


def rows() -> list[JobRow]:
    from jobwatch.models import Status

    return [JobRow(wid, Status(1, "RUNNING"), RUN_ID, 0.0, 0.0) for wid in IDS]


def cells(width: int) -> list[str]:
    widths = IdWidths()
    widths.add(rows())
    layout = layout_for(width, *widths.wanted())
    from rich.style import Style

    return [
        row_strip(row, width, "1s", 0.0, Style(), Style(), layout).text for row in rows()
    ], layout


class TestColumns:
    def test_at_80_columns_every_id_keeps_its_unique_tail(self) -> None:
        lines, layout = cells(78)  # 80 columns less the table's scrollbar
        assert layout.workflow_id_width >= MIN_WORKFLOW_ID_WIDTH
        heads = [line[: layout.workflow_id_width + 1].strip() for line in lines]
        assert len(set(heads)) == 3, heads
        assert heads[0] == "cascade-delete-kno…5c1fb80b"
        assert all(head.endswith(wid[-8:]) for head, wid in zip(heads, IDS, strict=True))

    def test_at_200_columns_the_run_id_is_whole_and_the_workflow_id_is_not_padded(self) -> None:
        lines, layout = cells(158)  # 200 columns less the detail pane
        assert layout.workflow_id_width == len(IDS[0])
        assert layout.run_id_width == len(RUN_ID)
        assert all(RUN_ID in line for line in lines)

    def test_the_narrowest_id_column_still_tells_jobs_apart(self) -> None:
        for width in range(MIN_WORKFLOW_ID_WIDTH + 21 + 8, 300):
            layout = layout_for(width, 33, 36)
            assert layout.workflow_id_width >= MIN_WORKFLOW_ID_WIDTH, width
            assert layout.width <= width
            assert layout.workflow_id_width <= 33 and layout.run_id_width <= 36
        # columns come back in the reverse of the order they went
        tails = [layout_for(width, 33, 36).tail for width in range(40, 160)]
        for column in DROP_ORDER:
            first = next(i for i, tail in enumerate(tails) if column in tail)
            assert all(column in tail for tail in tails[first:]), column

    def test_widths_follow_the_ids_and_are_capped(self) -> None:
        from jobwatch.models import Status

        widths = IdWidths()
        assert widths.wanted() == (33, 36)
        widths.add([JobRow("job-1", Status(1, "R"), "r1", 0.0, 0.0)])
        assert widths.wanted() == (5, 2)
        widths.add([JobRow("x" * 10_000, Status(1, "R"), "\x1b" * 3, 0.0, 0.0)])
        assert widths.wanted() == (MAX_WORKFLOW_ID_WIDTH, len("\\x1b") * 3)


class TestKeyBar:
    @pytest.mark.parametrize("width", [40, 60, 80, 120])
    async def test_help_and_quit_stay_at_every_width(self, sim, history, tmp_path, width) -> None:
        app = make_app(sim, history, tmp_path, poll=False)
        async with app.run_test(size=(width, 20)) as pilot:
            await pilot.pause()
            bar = screen_of(app).query_one(KeyBar)
            text = bar.render().plain
            assert "? Help" in text and "q Quit" in text, text
            assert len(text) <= width
            if width >= 80:
                assert "c Copy runId" in text and "^p palette" in text


class TestDialogs:
    @pytest.mark.parametrize("size", [(80, 24), (60, 20), (60, 14)])
    async def test_add_form_buttons_are_on_screen_and_work(self, size) -> None:
        from jobwatch.tui.dialogs.picker import AddWorkspaceScreen

        config = snapshot_config()
        app = ScreenHost(lambda: AddWorkspaceScreen(config))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+s")  # every error shown: the form is at its tallest
            await pilot.pause()
            for button_id in ("#add-save", "#add-cancel"):
                button = app.screen.query_one(button_id, Button)
                x, y = button.region.center
                assert 0 <= y < size[1], (button_id, button.region)
                widget, _ = app.screen.get_widget_at(x, y)
                assert widget is button, (button_id, widget)
            await pilot.click("#add-cancel")
            await pilot.pause()
            assert not isinstance(app.screen, AddWorkspaceScreen)

    @pytest.mark.parametrize("size", [(80, 24), (60, 14)])
    async def test_picker_add_button_is_on_screen(self, size) -> None:
        from jobwatch.tui.dialogs.picker import WorkspacePicker

        app = ScreenHost(lambda: WorkspacePicker(snapshot_config(), current="acme-staging"))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            button = app.screen.query_one("#picker-add", Button)
            widget, _ = app.screen.get_widget_at(*button.region.center)
            assert widget is button


def toasts_on_screen(app) -> list[Toast]:
    """The toasts a person can see: painted where they are (not covered, not hidden)."""
    shown = []
    for toast in app.screen.query(Toast):
        if not toast.visible or not toast.region:
            continue
        try:
            widget, _ = app.screen.get_widget_at(*toast.region.center)
        except Exception:  # noqa: BLE001 - off screen
            continue
        if widget is toast:
            shown.append(toast)
    return shown


class TestNotifications:
    @pytest.mark.parametrize("size", [(80, 24), (60, 20), (120, 40), (200, 50)])
    async def test_never_over_the_table_and_at_most_a_few(self, sim, history, tmp_path, size):
        app = make_app(sim, history, tmp_path)
        async with app.run_test(size=size, notifications=True) as pilot:
            table = table_of(app)
            await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
            for i in range(8):
                app.notify(f"knowledge-create-{i:08x}\nrunId {RUN_ID}", title="✗ FAILED")
            await pilot.pause(0.3)
            shown = toasts_on_screen(app)
            assert 1 <= len(shown) <= 3, len(shown)
            for toast in app.screen.query(Toast):
                assert not toast.region.overlaps(table.region), (toast.region, table.region)

    async def test_none_over_a_dialog(self, sim, history, tmp_path) -> None:
        app = make_app(sim, history, tmp_path)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            table = table_of(app)
            await wait_for(pilot, lambda: len(table) == 12, what="12 rows")
            app.notify("before the dialog", title="one", timeout=30)
            await pilot.press("w")
            await pilot.pause(0.2)
            app.notify("while the dialog is open", title="two", timeout=30)
            await pilot.pause(0.3)
            assert toasts_on_screen(app) == []
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert len(toasts_on_screen(app)) == 2


def _composite(theme_variables: dict[str, str], name: str) -> Color:
    surface = Color.parse(theme_variables["surface"])
    return surface + Color.parse(theme_variables[name])


@pytest.mark.parametrize("theme_name", SHIPPED_THEMES)
@pytest.mark.parametrize("system", [ColorSystem.STANDARD, ColorSystem.EIGHT_BIT])
def test_highlighted_row_differs_from_the_others(theme_name: str, system: ColorSystem) -> None:
    """What a 16- or 256-colour terminal shows (Rich's downgrade, as Textual's output uses):
    the highlighted row's background is not the rows' background, focused or not, and its
    text is not its background."""
    (theme,) = [t for t in load_themes(None)[0] if t.name == theme_name]
    variables = theme.to_color_system().generate()
    variables.update(theme.variables)

    def shown(name: str) -> int | None:
        color = _composite(variables, name).rich_color.downgrade(system)
        return color.number

    row = shown("surface")
    for cursor in ("block-cursor-background", "block-cursor-blurred-background"):
        assert shown(cursor) != row, (cursor, variables[cursor])
    assert shown("block-cursor-foreground") != shown("block-cursor-background")
    assert shown("block-cursor-blurred-foreground") != shown("block-cursor-blurred-background")
