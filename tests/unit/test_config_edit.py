"""A hand-written config.toml keeps its comments, order and number formats through every edit
jobwatch makes: `workspaces add`, `remove`, `default` and the dashboard's theme choice each
change only the entry they are about, byte for byte everywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobwatch.errors import ConfigError
from jobwatch.store import config_edit
from jobwatch.store.config import Config, WorkspaceConfig, load_config, save_config
from tests.support.cli import run

WS = "123e4567-e89b-42d3-a456-426614174000"
ORG = "123e4567-e89b-42d3-a456-426614174001"
NEW_WS = "123e4567-e89b-42d3-a456-426614174009"

TOP = """\
# my jobwatch config
# (hand-written; keep it tidy)
default = "prod"   # the one I use most
theme = "jobwatch-dark"
"""
PROD = f"""\
[workspaces.prod]
# production: careful
workspace_id = "{WS}"
organization_id = "{ORG}"
token_env = "PROD_TOKEN"
interval = 5      # seconds, a whole number
"""
STAGING = f"""\
# staging, in the EU
[workspaces.staging]
workspace_id = "{WS.upper()}"
organization_id = "{ORG}"
interval = 2.50
"""
HAND = TOP + "\n" + PROD + "\n" + STAGING


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "config" / "config.toml"
    target.parent.mkdir()
    target.write_text(HAND)
    return target


def cli(capsys, path: Path, *argv: str) -> None:
    code, _, err = run(capsys, *argv, "--config", str(path))
    assert code == 0, err


def test_workspaces_add_appends_one_table_and_changes_nothing_else(path, capsys):
    cli(capsys, path, "workspaces", "add", "other", "--workspace-id", NEW_WS,
        "--organization-id", ORG, "--interval", "5", "--token-env", "OTHER_TOKEN")  # fmt: skip
    added = (
        "\n[workspaces.other]\n"
        f'workspace_id = "{NEW_WS}"\norganization_id = "{ORG}"\n'
        'base_url = "https://api.sharely.ai"\ntoken_env = "OTHER_TOKEN"\ninterval = 5\n'
    )
    assert path.read_text() == HAND + added


def test_workspaces_remove_cuts_the_table_and_the_comment_that_introduces_it(path, capsys):
    cli(capsys, path, "workspaces", "remove", "staging")
    assert path.read_text() == TOP + "\n" + PROD
    path.write_text(HAND)
    cli(capsys, path, "workspaces", "remove", "prod")  # it was the default: that line goes too
    top = TOP.replace('default = "prod"   # the one I use most\n', "")
    assert path.read_text() == top + "\n" + STAGING


def test_workspaces_default_changes_only_the_value(path, capsys):
    cli(capsys, path, "workspaces", "default", "staging")
    assert path.read_text() == HAND.replace('default = "prod" ', 'default = "staging" ')


def test_the_dashboards_theme_save_changes_only_the_theme(path):
    # what jobwatch.tui.app does when `t` picks a theme: re-read the file, set, save
    on_disk = load_config(path)
    on_disk.theme = "jobwatch-light"
    save_config(on_disk)
    assert path.read_text() == HAND.replace('"jobwatch-dark"', '"jobwatch-light"')


def test_a_new_top_level_key_goes_above_the_tables(path):
    config = load_config(path)
    config.bell = False
    save_config(config)
    assert path.read_text() == HAND.replace(TOP, TOP + "bell = false\n")


def test_an_entry_another_jobwatch_added_meanwhile_is_kept(path):
    mine, theirs = load_config(path), load_config(path)
    theirs.add_workspace(WorkspaceConfig("theirs", NEW_WS, ORG))
    save_config(theirs)
    mine.theme = "jobwatch-light"
    save_config(mine)
    again = load_config(path)
    assert set(again.workspaces) == {"prod", "staging", "theirs"}
    assert again.theme == "jobwatch-light"


def test_inline_and_dotted_workspaces_are_edited_too(tmp_path):
    path = tmp_path / "config.toml"
    text = (
        "# inline\n"
        f'workspaces = {{ a = {{ workspace_id = "{WS}", organization_id = "{ORG}" }}, '
        f'b = {{ workspace_id = "{WS}", organization_id = "{ORG}" }} }}\n'
    )
    path.write_text(text)
    config = load_config(path)
    config.remove_workspace("a")
    save_config(config)
    assert path.read_text().startswith("# inline\nworkspaces = {")
    assert set(load_config(path).workspaces) == {"b"}


def test_a_config_built_in_memory_makes_the_file_say_exactly_that(tmp_path):
    path = tmp_path / "config.toml"
    config = Config(path, theme="x", default="a")
    config.workspaces = {"a": WorkspaceConfig("a", WS, ORG, interval=2.0)}
    save_config(config)
    assert path.read_text() == (
        'default = "a"\ntheme = "x"\n\n[workspaces.a]\n'
        f'workspace_id = "{WS}"\norganization_id = "{ORG}"\n'
        'base_url = "https://api.sharely.ai"\ninterval = 2\n'
    )
    config.workspaces.pop("a")
    config.default = None
    save_config(config)
    assert path.read_text() == 'theme = "x"\n'


def test_an_edit_that_would_change_other_entries_is_refused(path, monkeypatch):
    before = path.read_bytes()
    monkeypatch.setattr(config_edit, "edit", lambda text, disk, target, cut=True: text + "junk\n")
    config = load_config(path)
    config.theme = "jobwatch-light"
    with pytest.raises(ConfigError, match="edit it by hand"):
        save_config(config)
    assert path.read_bytes() == before


def test_cut_table_keeps_the_comment_block_of_the_next_table():
    text = "a = 1\n\n[t.x]\nk = 1\n# about y\n[t.y]\nk = 2\n"
    assert config_edit.cut_table(text, ("t", "x")) == "a = 1\n\n# about y\n[t.y]\nk = 2\n"
    assert config_edit.cut_table(text, ("t", "y")) == "a = 1\n\n[t.x]\nk = 1\n"
    assert config_edit.cut_table(text, ("t", "z")) is None


def test_the_readmes_example_file_is_a_valid_config(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("An example file:\n\n```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "config.toml"
    path.write_text(example)
    config = load_config(path)
    assert config.default == "prod" and set(config.workspaces) == {"prod", "eu.staging"}
    config.set_default("eu.staging")
    save_config(config)
    assert path.read_text() == example.replace('default = "prod"', 'default = "eu.staging"')


def test_an_empty_workspace_name_is_named_as_written(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[workspaces.""]\nworkspace_id = "{WS}"\norganization_id = "{ORG}"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert '[workspaces.""]: a workspace needs a name' in error.value.describe()
