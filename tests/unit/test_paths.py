"""store.paths: the new names, and the one-time move of jobwatch's own files from the old ones.

platformdirs is replaced by a fake that maps each app name to a folder in tmp_path, so "the old
place" (app name jobwatch) and "the new place" (sharely-jobwatch) are real folders; the files in
them are written by the real HistoryStore, EventLog and save_config, so the checks that decide
"this is ours" are tested against what jobwatch really writes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from jobwatch.models import Job, Status
from jobwatch.store import paths
from jobwatch.store.config import Config, WorkspaceConfig, load_config, save_config
from jobwatch.store.eventlog import EventLog
from jobwatch.store.history import HistoryStore

WS_ID = "0b7c3c1e-58b6-4a8e-9d3c-2b9f4f6f0a11"
ORG_ID = "6a1f9b0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
RUNNING = Status(1, "RUNNING")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


class Dirs:
    """The fake platform folders: config and data per app name, or one folder for both (macOS)."""

    def __init__(self, root: Path, shared: bool):
        self.root = root
        self.shared = shared

    def config(self, app: str) -> Path:
        return self.root / ("support" if self.shared else "config") / app

    def data(self, app: str) -> Path:
        return self.root / ("support" if self.shared else "data") / app

    old_config = property(lambda self: self.config("jobwatch"))
    new_config = property(lambda self: self.config("sharely-jobwatch"))
    old_data = property(lambda self: self.data("jobwatch"))
    new_data = property(lambda self: self.data("sharely-jobwatch"))


def use_dirs(tmp_path: Path, monkeypatch, shared: bool = False) -> Dirs:
    dirs = Dirs(tmp_path / "platform", shared)
    monkeypatch.setattr(
        paths.platformdirs, "user_config_dir", lambda app, appauthor=None: str(dirs.config(app))
    )
    monkeypatch.setattr(
        paths.platformdirs, "user_data_dir", lambda app, appauthor=None: str(dirs.data(app))
    )
    monkeypatch.delenv(paths.CONFIG_ENV, raising=False)
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    new_process(monkeypatch)
    return dirs


def new_process(monkeypatch) -> None:
    """Forget that this process already looked for old files, as a new start would."""
    monkeypatch.setattr(paths, "_checked", set())


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch) -> Dirs:
    return use_dirs(tmp_path, monkeypatch)


def write_our_config(path: Path) -> bytes:
    config = Config(path, theme="jobwatch-light")
    config.add_workspace(
        WorkspaceConfig("prod", WS_ID, ORG_ID, token_env="PROD_TOKEN"), make_default=True
    )
    save_config(config)
    return path.read_bytes()


def write_our_history(path: Path) -> None:
    with HistoryStore(path) as store:
        store.record(WS_ID, [Job("wf-1", RUNNING, "run-1")], 10.0)


def write_our_log(path: Path) -> None:
    log = EventLog(path)
    log.write(logging.WARNING, "poll failed (attempt 1): HTTP 503")
    log.close()


def write_theme(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mine.toml").write_text('name = "mine"\ndark = true\n[variables]\n')


# -- names -----------------------------------------------------------------------------------


class TestNames:
    def test_new_names_cannot_meet_the_other_jobwatch(self, dirs: Dirs):
        assert paths.config_path() == dirs.new_config / "config.toml"
        assert paths.data_dir() == dirs.new_data
        assert paths.CONFIG_ENV == "SHARELY_JOBWATCH_CONFIG"
        assert paths.DATA_DIR_ENV == "SHARELY_JOBWATCH_DATA_DIR"

    def test_the_old_variables_are_not_read_and_one_warning_says_so(
        self, dirs: Dirs, tmp_path: Path, monkeypatch, capsys
    ):
        monkeypatch.setenv("JOBWATCH_CONFIG", str(tmp_path / "theirs.toml"))
        monkeypatch.setenv("JOBWATCH_DATA_DIR", str(tmp_path / "theirs"))
        assert paths.config_path() == dirs.new_config / "config.toml"
        assert paths.data_dir() == dirs.new_data
        paths.config_path()
        paths.data_dir()
        err = capsys.readouterr().err.splitlines()
        assert err == [
            "jobwatch: warning: JOBWATCH_CONFIG is no longer read (another program called "
            "jobwatch uses it); set SHARELY_JOBWATCH_CONFIG if it was meant for this one",
            "jobwatch: warning: JOBWATCH_DATA_DIR is no longer read (another program called "
            "jobwatch uses it); set SHARELY_JOBWATCH_DATA_DIR if it was meant for this one",
        ]

    def test_the_new_variables_win_and_nothing_is_moved_for_them(
        self, dirs: Dirs, tmp_path: Path, monkeypatch
    ):
        original = write_our_config(dirs.old_config / "config.toml")
        monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "mine.toml"))
        assert paths.config_path() == tmp_path / "mine.toml"
        assert (dirs.old_config / "config.toml").read_bytes() == original
        assert not dirs.new_config.exists()

    def test_the_data_files_use_the_names_defined_here(self):
        from jobwatch.store import eventlog, history

        assert history.HISTORY_FILE_NAME is paths.HISTORY_FILE_NAME
        assert eventlog.LOG_FILE_NAME is paths.LOG_FILE_NAME
        assert paths.themes_dir("/x/config.toml") == Path("/x/themes")


# -- the move --------------------------------------------------------------------------------


class TestConfigMove:
    def test_our_config_and_themes_move_once_private_with_a_note(self, dirs: Dirs, capsys):
        original = write_our_config(dirs.old_config / "config.toml")
        (dirs.old_config / "config.toml").chmod(0o644)  # as a hand-written file may be
        write_theme(dirs.old_config / "themes")
        (dirs.old_config / "themes").chmod(0o755)

        path = paths.config_path()

        assert path == dirs.new_config / "config.toml"
        assert path.read_bytes() == original
        assert load_config(path).default == "prod"
        assert (dirs.new_config / "themes" / "mine.toml").exists()
        assert mode(path) == 0o600
        assert mode(dirs.new_config) == 0o700
        assert mode(dirs.new_config / "themes") == 0o700
        assert not dirs.old_config.exists()  # emptied, so removed
        note = dirs.new_config / "migrated-from-jobwatch-config.txt"
        assert mode(note) == 0o600
        text = note.read_text()
        assert f"moved {dirs.old_config / 'config.toml'} to {path}" in text
        assert str(dirs.new_config / "themes") in text
        err = capsys.readouterr().err
        assert f"jobwatch: moved {dirs.old_config / 'config.toml'} to {path}\n" in err

    def test_never_twice(self, dirs: Dirs, monkeypatch):
        write_our_config(dirs.old_config / "config.toml")
        paths.config_path()
        # an old checkout writes the old file again, and the user removes the new one
        again = write_our_config(dirs.old_config / "config.toml")
        (dirs.new_config / "config.toml").unlink()
        new_process(monkeypatch)
        paths.config_path()
        assert not (dirs.new_config / "config.toml").exists()
        assert (dirs.old_config / "config.toml").read_bytes() == again

    def test_a_config_of_the_other_jobwatch_is_left_alone(self, dirs: Dirs, capsys):
        theirs = dirs.old_config / "config.toml"
        theirs.parent.mkdir(parents=True)
        theirs.write_text('[[boards]]\ncompany = "acme"\nurl = "https://jobs.example"\n')
        (dirs.old_config / "themes").mkdir()
        (dirs.old_config / "themes" / "x.toml").write_text('name = "x"\n')
        before = theirs.stat()

        paths.config_path()

        after = theirs.stat()
        assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
            before.st_mtime_ns,
            before.st_size,
            before.st_ino,
        )
        assert (dirs.old_config / "themes" / "x.toml").exists()  # next to their config: theirs
        assert not dirs.new_config.exists()
        assert capsys.readouterr().err == ""

    @pytest.mark.parametrize(
        "text", ["", "not = [valid", 'theme = "a"\nboards = 3\n', 'theme = "dark"\nbell = false\n']
    )
    def test_empty_broken_or_foreign_configs_are_not_ours(self, dirs: Dirs, text: str):
        old = dirs.old_config / "config.toml"
        old.parent.mkdir(parents=True)
        old.write_text(text)
        paths.config_path()
        assert old.read_text() == text
        assert not dirs.new_config.exists()

    def test_a_hand_edited_config_with_sharely_ids_is_ours_even_if_invalid_today(self, dirs: Dirs):
        old = dirs.old_config / "config.toml"
        old.parent.mkdir(parents=True)
        text = f'colour = "red"  # a typo\n[workspaces.prod]\nworkspace_id = "{WS_ID}"\n'
        old.write_text(text)
        assert paths.config_path().read_text() == text

    def test_an_existing_new_config_is_never_overwritten(self, dirs: Dirs):
        write_our_config(dirs.old_config / "config.toml")
        mine = write_our_config(dirs.new_config / "config.toml")
        (dirs.new_config / "config.toml").write_bytes(mine + b"# mine\n")
        paths.config_path()
        assert (dirs.new_config / "config.toml").read_bytes() == mine + b"# mine\n"
        assert (dirs.old_config / "config.toml").exists()

    def test_themes_alone_move_only_when_every_file_is_a_theme(self, dirs: Dirs, monkeypatch):
        write_theme(dirs.old_config / "themes")
        (dirs.old_config / "themes" / "notes.txt").write_text("not a theme")
        paths.config_path()
        assert (dirs.old_config / "themes" / "mine.toml").exists()
        (dirs.old_config / "themes" / "notes.txt").unlink()
        new_process(monkeypatch)
        paths.config_path()
        assert (dirs.new_config / "themes" / "mine.toml").exists()

    def test_a_symlinked_config_moves_as_the_link(self, dirs: Dirs, tmp_path: Path):
        real = tmp_path / "dotfiles" / "jobwatch.toml"
        original = write_our_config(real)
        dirs.old_config.mkdir(parents=True)
        (dirs.old_config / "config.toml").symlink_to(real)
        path = paths.config_path()
        assert path.is_symlink() and path.resolve() == real.resolve()
        assert path.read_bytes() == original

    def test_another_filesystem_is_copied_then_linked(self, dirs: Dirs, monkeypatch):
        original = write_our_config(dirs.old_config / "config.toml")
        real_link = os.link
        calls = []

        def link(src, dst, **kw):
            calls.append(src)
            if len(calls) == 1:
                raise OSError(18, "Invalid cross-device link")
            return real_link(src, dst, **kw)

        monkeypatch.setattr(paths.os, "link", link)
        path = paths.config_path()
        assert len(calls) == 2
        assert path.read_bytes() == original and mode(path) == 0o600
        assert not (dirs.old_config / "config.toml").exists()
        assert [p.name for p in dirs.new_config.iterdir() if p.name.endswith(".tmp")] == []

    def test_a_failure_leaves_the_old_file_warns_and_tries_again(
        self, dirs: Dirs, monkeypatch, capsys
    ):
        original = write_our_config(dirs.old_config / "config.toml")
        real_move = paths._move

        def fail(src, dst):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(paths, "_move", fail)
        assert paths.config_path() == dirs.new_config / "config.toml"
        assert "could not move" in capsys.readouterr().err
        assert (dirs.old_config / "config.toml").read_bytes() == original
        assert not (dirs.new_config / "migrated-from-jobwatch-config.txt").exists()
        monkeypatch.setattr(paths, "_move", real_move)
        new_process(monkeypatch)
        assert paths.config_path().read_bytes() == original


class TestDataMove:
    def test_our_history_and_logs_move_and_still_open(self, dirs: Dirs):
        write_our_history(dirs.old_data / "history.sqlite3")
        write_our_log(dirs.old_data / "jobwatch.log")
        write_our_log(dirs.old_data / "jobwatch.log.1")

        new = paths.data_dir()

        assert not dirs.old_data.exists()
        with HistoryStore(new / "history.sqlite3") as store:
            assert [r.workflow_id for r in store.jobs(WS_ID)] == ["wf-1"]
        for name in ("history.sqlite3", "jobwatch.log", "jobwatch.log.1"):
            assert mode(new / name) == 0o600
        assert "poll failed" in (new / "jobwatch.log").read_text()
        note = (new / "migrated-from-jobwatch-data.txt").read_text()
        assert [line.split()[1] for line in note.splitlines() if line.startswith("moved ")] == [
            str(dirs.old_data / name)
            for name in ("history.sqlite3", "jobwatch.log", "jobwatch.log.1")
        ]

    def test_a_history_in_use_waits_for_the_next_start(self, dirs: Dirs, monkeypatch):
        old = dirs.old_data / "history.sqlite3"
        write_our_history(old)
        running = HistoryStore(old)  # an older jobwatch still running on it
        running.record(WS_ID, [Job("wf-2", RUNNING, "run-2")], 11.0)
        try:
            paths.data_dir()
            assert old.exists() and not (dirs.new_data / "history.sqlite3").exists()
        finally:
            running.close()
        new_process(monkeypatch)
        new = paths.data_dir()
        with HistoryStore(new / "history.sqlite3") as store:
            assert sorted(r.workflow_id for r in store.jobs(WS_ID)) == ["wf-1", "wf-2"]

    def test_databases_and_logs_of_another_program_are_left_alone(self, dirs: Dirs):
        dirs.old_data.mkdir(parents=True)
        theirs = dirs.old_data / "history.sqlite3"
        conn = sqlite3.connect(theirs)
        conn.execute("CREATE TABLE postings (company TEXT, title TEXT)")
        conn.commit()
        conn.close()
        before = theirs.read_bytes()
        (dirs.old_data / "jobwatch.log").write_text("[acme] 3 new postings\n")

        paths.data_dir()

        assert theirs.read_bytes() == before
        assert sorted(p.name for p in dirs.old_data.iterdir()) == [
            "history.sqlite3",
            "jobwatch.log",
        ]
        assert not dirs.new_data.exists()

    def test_a_file_that_is_not_sqlite_is_not_ours(self, dirs: Dirs):
        dirs.old_data.mkdir(parents=True)
        (dirs.old_data / "history.sqlite3").write_text("jobs and transitions workflow_id run_id")
        paths.data_dir()
        assert (dirs.old_data / "history.sqlite3").exists()
        assert not dirs.new_data.exists()

    def test_only_our_files_move_and_the_rest_stays(self, dirs: Dirs):
        write_our_log(dirs.old_data / "jobwatch.log")
        (dirs.old_data / "boards.json").write_text("{}")
        paths.data_dir()
        assert (dirs.new_data / "jobwatch.log").exists()
        assert [p.name for p in dirs.old_data.iterdir()] == ["boards.json"]


def test_one_shared_folder_for_config_and_data_moves_both_parts(tmp_path: Path, monkeypatch):
    dirs = use_dirs(tmp_path, monkeypatch, shared=True)  # macOS and Windows
    original = write_our_config(dirs.old_config / "config.toml")
    write_our_history(dirs.old_data / "history.sqlite3")
    assert paths.config_path().read_bytes() == original
    assert dirs.old_data.exists()  # the history is still there: the folder stays
    assert (paths.data_dir() / "history.sqlite3").exists()
    assert not dirs.old_config.exists()
    assert sorted(p.name for p in dirs.new_config.iterdir()) == [
        "config.toml",
        "history.sqlite3",
        "migrated-from-jobwatch-config.txt",
        "migrated-from-jobwatch-data.txt",
    ]


def test_the_isolated_dirs_fixture_keeps_platformdirs_away_from_home(monkeypatch, tmp_path):
    """With the variables unset, the defaults still land in tmp_path (the XDG variables)."""
    monkeypatch.delenv(paths.CONFIG_ENV)
    monkeypatch.delenv(paths.DATA_DIR_ENV)
    new_process(monkeypatch)
    assert paths.config_path().is_relative_to(tmp_path)
    assert paths.data_dir().is_relative_to(tmp_path)
