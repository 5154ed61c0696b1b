"""The `?` help screen: every key of the dashboard, what each job status means, and how
notifications reach this terminal (jobwatch.notify.detect's route and its notes)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jobwatch.sanitize import visible
from jobwatch.statuses import IN_ORDER, UNKNOWN
from jobwatch.tui.theming.status_style import status_styles, style_for

#: a note is ours, but names a terminal from the environment: escaped and bounded
NOTE_CELLS = 400


class HelpScreen(ModalScreen[None]):
    """A modal list of the dashboard's keys and of the job statuses; escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > #help {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen > #help {
        border-title-style: bold;
        border-subtitle-color: $text-muted;
    }
    HelpScreen #help-body {
        height: auto;
        max-height: 1fr;
    }
    HelpScreen .help-heading {
        text-style: bold;
        margin-top: 1;
    }
    """

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", show=False),
    ]

    def __init__(self, bindings: list[tuple[str, str]], notes: Sequence[str] = ()) -> None:
        super().__init__()
        self.key_help = list(bindings)
        self.notes = [visible(note, NOTE_CELLS) for note in notes]

    def compose(self) -> ComposeResult:
        with Vertical(id="help") as box:
            box.border_title = "jobwatch — keys"
            box.border_subtitle = "escape, q or ? to close"
            with VerticalScroll(id="help-body"):
                yield Static(self._keys_table(), id="help-keys")
                yield Static("Statuses", classes="help-heading")
                yield Static(id="help-statuses")
                if self.notes:
                    yield Static("Notifications", classes="help-heading")
                    yield Static("\n".join(self.notes), id="help-notes", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-statuses", Static).update(self._statuses_text())

    def _keys_table(self) -> Table:
        """The keys in two side-by-side columns, filled top to bottom, so they fit in 24 lines."""
        table = Table.grid(padding=(0, 1), expand=True)
        for _ in range(2):
            table.add_column(style="bold", no_wrap=True)
            table.add_column(ratio=1)
        rows = (len(self.key_help) + 1) // 2
        left, right = self.key_help[:rows], self.key_help[rows:]
        for i, (key, description) in enumerate(left):
            cells = [key, description]
            cells += list(right[i]) if i < len(right) else ["", ""]
            table.add_row(*cells)
        return table

    def _statuses_text(self) -> Text:
        styles = status_styles(self.app)
        text = Text()
        for i, info in enumerate((*IN_ORDER, UNKNOWN)):
            if i:
                text.append("\n")
            text.append(f"{info.symbol} {info.name}".ljust(19), style=style_for(styles, info.code))
            text.append(info.meaning)
        return text

    def action_close(self) -> None:
        self.dismiss(None)
