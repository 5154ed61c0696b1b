"""`jobwatch workspaces list | add | remove | default`: the config's workspaces.

Edits go through `jobwatch.store.config.save_config`, which changes only the entry an edit is
about and keeps the rest of a hand-written file as it was. `add` warns at once about what would
make the new entry fail at first use (plain http, an unset credential variable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from jobwatch.cli.output import field, workspace_record, write_records
from jobwatch.cli.parser import EXIT_OK, NOTHING_CONFIGURED

if TYPE_CHECKING:
    from jobwatch.session import Flags
    from jobwatch.store.config import Config, WorkspaceInput

#: how `workspaces add` names each field of the entry in its errors
ADD_LABELS = {
    "name": "NAME",
    "workspace_id": "--workspace-id",
    "organization_id": "--organization-id",
    "base_url": "--base-url",
    "credential": "--token-env/--api-key-env/--token-command",
    "interval": "--interval",
    "theme": "--theme",
}


def cmd_workspaces_list(flags: Flags, *, output: str) -> int:
    from jobwatch.session import Session, credential_source

    config = Session.load(flags).config
    entries = sorted(config.workspaces.items())
    if output != "table":
        write_records(
            (
                workspace_record(
                    ws, default=name == config.default, credentials=credential_source(ws)
                )
                for name, ws in entries
            ),
            output,
        )
        return EXIT_OK
    if not entries:
        print(f"jobwatch: {NOTHING_CONFIGURED}")
        return EXIT_OK
    for name, ws in entries:
        mark = "*" if name == config.default else " "
        extras = "".join(
            f"  {key} {field(str(value))}"
            for key, value in (
                ("interval", ws.interval),
                ("discovery_interval", ws.discovery_interval),
                ("theme", ws.theme),
            )
            if value is not None
        )
        print(
            f"{mark} {name}  workspace {ws.workspace_id}  org {ws.organization_id}  "
            f"{field(ws.base_url)}{extras}  ({field(credential_source(ws))})"
        )
    return EXIT_OK


def cmd_workspaces_add(flags: Flags, entry: WorkspaceInput, *, make_default: bool) -> int:
    from jobwatch.session import Session, warn_on_stderr, workspace_warnings
    from jobwatch.store.config import WorkspaceInputError, save_config, workspace_from_input

    config = Session.load(flags).config
    try:
        ws = workspace_from_input(entry, taken=config.workspaces)
    except WorkspaceInputError as error:
        raise error.labelled(ADD_LABELS) from None
    config.add_workspace(ws, make_default=make_default)
    save_config(config)
    print(f"added workspace {ws.name} to {field(str(config.path))}")
    for warning in workspace_warnings(ws):
        warn_on_stderr(warning)
    return EXIT_OK


def cmd_workspaces_remove(flags: Flags, name: str) -> int:
    return _edit_config(
        flags, lambda config: config.remove_workspace(name), f"removed workspace {field(name)}"
    )


def cmd_workspaces_default(flags: Flags, name: str) -> int:
    return _edit_config(
        flags, lambda config: config.set_default(name), f"default workspace: {field(name)}"
    )


def _edit_config(flags: Flags, edit: Callable[[Config], object], done: str) -> int:
    """Load the config, `edit` it (it raises what a person must fix), save it, say `done`."""
    from jobwatch.session import Session
    from jobwatch.store.config import save_config

    config = Session.load(flags).config
    edit(config)
    save_config(config)
    print(done)
    return EXIT_OK
