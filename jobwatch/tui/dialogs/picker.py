"""The workspace picker (`w`) and the form that adds a workspace to the config file.

The picker opens with its list focused: arrows move, enter switches, `a` adds a workspace, and `/`
or any other letter starts the filter (so a filter that starts with "a" needs `/` first). Escape in
the filter clears it and goes back to the list; escape in the list closes the picker.

Neither screen ever asks for or shows a secret: a workspace's credentials are named by the
environment variable or the command that provides them (`jobwatch.session.credential_source`).
The form checks nothing itself: `jobwatch.store.config.workspace_from_input` (which
`jobwatch workspaces add` calls too) judges what was typed, and each problem is shown under its field.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from jobwatch.errors import JobwatchError
from jobwatch.sanitize import visible
from jobwatch.session import credential_source
from jobwatch.store.config import (
    CREDENTIAL_KINDS,
    DEFAULT_BASE_URL,
    Config,
    CredentialKind,
    WorkspaceConfig,
    WorkspaceInput,
    WorkspaceInputError,
    looks_like_secret,
    save_config,
    workspace_from_input,
)

EMPTY_MESSAGE = "No workspace configured — press a to add one"
#: the most cells a workspace's name and base URL take in the picker
NAME_CELLS = 40
URL_CELLS = 60
NO_MATCH_MESSAGE = "No workspace matches the filter"

TOKEN_ENV: CredentialKind = "token_env"
API_KEY_ENV: CredentialKind = "api_key_env"
TOKEN_COMMAND: CredentialKind = "token_command"
CREDENTIAL_SOURCES: tuple[tuple[str, CredentialKind], ...] = (
    ("Access token from an env var", TOKEN_ENV),
    ("API key from an env var", API_KEY_ENV),
    ("Access token from a command", TOKEN_COMMAND),
)
CREDENTIAL_HINTS = {
    TOKEN_ENV: "NAME of the env var holding the token (not the token)",
    API_KEY_ENV: "NAME of the env var holding the API key (not the key)",
    TOKEN_COMMAND: "command that prints a token (not the token)",
}
#: the form's fields, by the WorkspaceInput field each one fills
FORM_FIELDS = {
    "name": "name",
    "workspace_id": "workspace-id",
    "organization_id": "organization-id",
    "base_url": "base-url",
    "credential": "credential",
}

__all__ = ["AddWorkspaceScreen", "WorkspacePicker", "credential_source", "workspace_matches"]


def workspace_matches(name: str, ws: WorkspaceConfig, query: str) -> bool:
    """Whether every word of `query` occurs (case-insensitively) in the workspace's name, IDs or URL."""
    haystack = " ".join((name, ws.workspace_id, ws.organization_id, ws.base_url)).lower()
    return all(word in haystack for word in query.lower().split())


class DialogScreen(ModalScreen[str | None]):
    """A centred, bordered box over the dashboard: the look the picker and the add form share.

    A dialog never grows past the screen: its `.dialog-body` scrolls, and what it closes with (the
    buttons, the hint line) stays below it in view, at 80x24 and smaller.
    """

    DEFAULT_CSS = """
    DialogScreen {
        align: center middle;
    }
    DialogScreen > .dialog {
        width: 84;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    DialogScreen .dialog-body {
        height: auto;
        scrollbar-size-vertical: 1;
    }
    DialogScreen .dialog-footer {
        dock: bottom;
    }
    """


class WorkspacePicker(DialogScreen):
    """Choose one of the configured workspaces; dismisses with its name, or None when cancelled."""

    DEFAULT_CSS = """
    WorkspacePicker #picker-filter {
        margin-bottom: 1;
    }
    WorkspacePicker #picker-list {
        height: auto;
        max-height: 1fr;
        border: none;
        padding: 0;
        background: $surface;
    }
    WorkspacePicker #picker-empty {
        color: $text-warning;
        padding: 1 0;
    }
    WorkspacePicker #picker-footer {
        height: 1;
        margin-top: 1;
    }
    WorkspacePicker #picker-hint {
        width: 1fr;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    WorkspacePicker #picker-add {
        min-width: 15;
        width: auto;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("a,ctrl+n", "add", "Add workspace"),
        Binding("slash", "filter", "Filter", key_display="/"),
    ]

    def __init__(
        self,
        config: Config,
        current: str | None = None,
        *,
        extra: Mapping[str, WorkspaceConfig] | None = None,
    ) -> None:
        """`extra` lists workspaces that are not in the config (the command line's) besides its own."""
        super().__init__()
        self.config = config
        self.current = current
        self.extra = dict(extra or {})
        self._shown: list[str] = []

    @property
    def workspaces(self) -> dict[str, WorkspaceConfig]:
        """Every workspace the picker offers: the config's (added ones included) and `extra`."""
        return {**self.config.workspaces, **self.extra}

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog") as box:
            box.border_title = "Workspaces"
            yield Input(
                placeholder="type or / to filter by name, ID or URL",
                id="picker-filter",
                compact=True,
                select_on_focus=False,
            )
            yield OptionList(id="picker-list")
            yield Static(EMPTY_MESSAGE, id="picker-empty")
            with Horizontal(id="picker-footer", classes="dialog-footer"):
                yield Static(
                    "enter switch · type or / filter · a add · esc cancel",
                    id="picker-hint",
                )
                yield Button("Add workspace", id="picker-add", compact=True)

    def on_mount(self) -> None:
        self.refresh_list(select=self.current or self.config.default)
        self._focus_list()

    def _focus_list(self) -> None:
        if self._shown:
            self.query_one("#picker-list", OptionList).focus()
        elif self.workspaces:
            self.query_one("#picker-filter", Input).focus()
        else:
            self.query_one("#picker-add", Button).focus()

    def on_key(self, event: events.Key) -> None:
        """A letter typed while the list has focus starts the filter with it (`a` adds instead)."""
        if not isinstance(self.focused, OptionList) or not self.workspaces:
            return
        char = event.character
        if event.is_printable and char and not char.isspace() and char not in ("a", "/"):
            event.stop()
            event.prevent_default()
            self.action_filter()
            self.query_one("#picker-filter", Input).insert_text_at_cursor(char)

    def refresh_list(self, select: str | None = None) -> None:
        """Show the workspaces that match the filter, keeping `select` (or the highlighted one) highlighted."""
        option_list = self.query_one("#picker-list", OptionList)
        keep = select or self.highlighted
        query = self.query_one("#picker-filter", Input).value
        names = [
            name
            for name, ws in sorted(self.workspaces.items())
            if workspace_matches(name, ws, query)
        ]
        self._shown = names
        option_list.set_options(Option(self._prompt(name), id=name) for name in names)
        if names:
            option_list.highlighted = names.index(keep) if keep in names else 0
        empty = self.query_one("#picker-empty", Static)
        if not self.workspaces:
            empty.update(EMPTY_MESSAGE)
        elif not names:
            empty.update(NO_MATCH_MESSAGE)
        empty.display = not names
        option_list.display = bool(names)
        filter_input = self.query_one("#picker-filter", Input)
        filter_input.display = bool(self.workspaces)
        if not self.workspaces:
            self.query_one("#picker-add", Button).focus()

    def _prompt(self, name: str) -> Text:
        """A workspace's entry: the config's values, escaped (`jobwatch.sanitize.visible`)."""
        ws = self.workspaces[name]
        v = visible
        text = Text()
        text.append(v(name, NAME_CELLS), style="bold")
        if name == self.current:
            text.append("  (current)", style="italic")
        if name == self.config.default:
            text.append("  (default)", style="italic")
        text.append(f"  · {v(credential_source(ws))}", style="dim")
        text.append(f"\n  workspace {v(ws.workspace_id)}  {v(ws.base_url, URL_CELLS)}", style="dim")
        text.append(f"\n  org       {v(ws.organization_id)}", style="dim")
        return text

    @property
    def highlighted(self) -> str | None:
        """The name of the highlighted workspace, if any."""
        option_list = self.query_one("#picker-list", OptionList)
        index = option_list.highlighted
        if index is None or not 0 <= index < len(self._shown):
            return None
        return self._shown[index]

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#picker-filter")
    def _filter_submitted(self) -> None:
        self.action_choose()

    @on(OptionList.OptionSelected, "#picker-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(event.option.id)

    @on(Button.Pressed, "#picker-add")
    def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_add()

    def action_cursor_up(self) -> None:
        self.query_one("#picker-list", OptionList).action_cursor_up()

    def action_cursor_down(self) -> None:
        self.query_one("#picker-list", OptionList).action_cursor_down()

    def action_choose(self) -> None:
        name = self.highlighted
        if name is not None:
            self.dismiss(name)

    def action_cancel(self) -> None:
        filter_input = self.query_one("#picker-filter", Input)
        if self.focused is filter_input and self.workspaces:
            filter_input.value = ""
            self.refresh_list()
            self._focus_list()
            return
        self.dismiss(None)

    def action_filter(self) -> None:
        if self.workspaces:
            self.query_one("#picker-filter", Input).focus()

    def action_add(self) -> None:
        self.app.push_screen(AddWorkspaceScreen(self.config), self._added)

    def _added(self, name: str | None) -> None:
        if name is not None:
            self.query_one("#picker-filter", Input).value = ""
            self.refresh_list(select=name)
        self._focus_list()


class AddWorkspaceScreen(DialogScreen):
    """A form that adds a workspace to the config and saves it; dismisses with the new name or None."""

    DEFAULT_CSS = """
    AddWorkspaceScreen .add-row {
        height: 1;
        margin-top: 1;
    }
    AddWorkspaceScreen .add-row:first-child {
        margin-top: 0;
    }
    AddWorkspaceScreen .add-label {
        width: 19;
        padding-right: 1;
        text-align: right;
    }
    AddWorkspaceScreen .add-row Input, AddWorkspaceScreen .add-row Select {
        width: 1fr;
    }
    AddWorkspaceScreen .add-row Input {
        background: $boost;
    }
    AddWorkspaceScreen .add-error {
        color: $text-error;
        padding-left: 19;
        display: none;
    }
    AddWorkspaceScreen .add-error.-shown {
        display: block;
    }
    AddWorkspaceScreen .add-note {
        color: $text-muted;
        padding-left: 19;
    }
    AddWorkspaceScreen #add-default {
        margin: 1 0 0 18;
    }
    AddWorkspaceScreen #add-footer {
        height: auto;
    }
    AddWorkspaceScreen #add-buttons {
        height: 1;
        margin-top: 1;
        align-horizontal: right;
    }
    AddWorkspaceScreen #add-buttons Button {
        margin-left: 2;
        min-width: 0;
        width: auto;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config

    def compose(self) -> ComposeResult:
        with Vertical(id="add", classes="dialog") as box:
            box.border_title = "Add a workspace"
            with VerticalScroll(id="add-fields", classes="dialog-body"):
                yield from self._fields()
            with Vertical(id="add-footer", classes="dialog-footer"):
                yield Static(id="add-save-error", classes="add-error")
                with Horizontal(id="add-buttons"):
                    yield Button("Cancel", id="add-cancel", compact=True)
                    yield Button("Save", id="add-save", variant="primary", compact=True)

    def _fields(self) -> ComposeResult:
        yield from self._field("name", "Name", Input(placeholder="e.g. acme-prod"))
        yield from self._field("workspace-id", "Workspace ID", Input(placeholder="UUID"))
        yield from self._field("organization-id", "Organization ID", Input(placeholder="UUID"))
        yield from self._field("base-url", "Base URL", Input(DEFAULT_BASE_URL))
        with Horizontal(classes="add-row"):
            yield Static("Credential from", classes="add-label")
            yield Select(
                CREDENTIAL_SOURCES,
                value=TOKEN_ENV,
                allow_blank=False,
                id="add-source",
                compact=True,
            )
        yield from self._field(
            "credential", "Env var / command", Input(placeholder="e.g. ACME_TOKEN")
        )
        yield Static(CREDENTIAL_HINTS[TOKEN_ENV], id="add-credential-note", classes="add-note")
        yield Checkbox("Make it the default workspace", id="add-default", compact=True)

    def _field(self, field: str, label: str, widget: Input) -> ComposeResult:
        widget.id = f"add-{field}"
        widget.compact = True
        with Horizontal(classes="add-row"):
            yield Static(label, classes="add-label")
            yield widget
        yield Static(id=f"add-{field}-error", classes="add-error")

    def on_mount(self) -> None:
        self.query_one("#add-name", Input).focus()
        if not self.config.workspaces:
            self.query_one("#add-default", Checkbox).value = True

    @on(Select.Changed, "#add-source")
    def _source_changed(self, event: Select.Changed) -> None:
        source = _kind(event.value)
        self.query_one("#add-credential-note", Static).update(CREDENTIAL_HINTS[source])
        placeholder = (
            "e.g. my-sso-tool token --workspace acme"
            if source == TOKEN_COMMAND
            else "e.g. ACME_TOKEN"
        )
        self.query_one("#add-credential", Input).placeholder = placeholder
        self._set_error("credential", None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#add-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#add-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _value(self, field: str) -> str:
        return self.query_one(f"#add-{field}", Input).value.strip()

    def _set_error(self, field: str, message: str | None) -> None:
        error = self.query_one(f"#add-{field}-error", Static)
        error.update(message or "")
        error.set_class(bool(message), "-shown")

    def _entry(self) -> WorkspaceInput:
        """What was typed, as the entry `workspace_from_input` judges."""
        kind = _kind(self.query_one("#add-source", Select).value)
        return WorkspaceInput(
            name=self._value("name"),
            workspace_id=self._value("workspace-id"),
            organization_id=self._value("organization-id"),
            base_url=self._value("base-url"),
            credential_kind=kind,
            credential=self._value("credential"),
        )

    def action_save(self) -> None:
        entry = self._entry()
        problems: dict[str, str] = {}
        ws: WorkspaceConfig | None = None
        try:
            ws = workspace_from_input(entry, taken=self.config.workspaces)
        except WorkspaceInputError as error:
            problems = error.problems
        if looks_like_secret(entry.credential):
            # Never leave it on screen: it looks like a real secret.
            self.query_one("#add-credential", Input).value = ""
        for key, field in FORM_FIELDS.items():
            self._set_error(field, problems.get(key))
        self._set_error("save", None)
        if ws is None:
            first = next((FORM_FIELDS[k] for k in problems if k in FORM_FIELDS), "name")
            self.query_one(f"#add-{first}", Input).focus()
            return
        make_default = self.query_one("#add-default", Checkbox).value
        previous_default = self.config.default
        try:
            self.config.add_workspace(ws, make_default=make_default)
        except (JobwatchError, ValueError) as exc:
            self._set_error("save", _reason(exc))
            return
        try:
            save_config(self.config)
        except (JobwatchError, OSError) as exc:
            self.config.workspaces.pop(ws.name, None)
            self.config.default = previous_default
            self._set_error("save", f"not saved: {_reason(exc)}")
            return
        self.dismiss(ws.name)


def _kind(value: object) -> CredentialKind:
    """The credential source a Select value names (token_env when it names none)."""
    return next((kind for kind in CREDENTIAL_KINDS if kind == value), TOKEN_ENV)


def _reason(exc: Exception) -> str:
    """The reason alone (without the setting's key: the field it is shown under says that)."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    if isinstance(exc, JobwatchError):
        return exc.describe()
    return str(exc)
