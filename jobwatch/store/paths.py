"""Where jobwatch keeps its files, how it writes them privately, and the one-time move from the old names.

The config file and the data directory follow the platform's conventions (platformdirs, app name
"sharely-jobwatch"); SHARELY_JOBWATCH_CONFIG and SHARELY_JOBWATCH_DATA_DIR override them, which is
also how tests keep away from the real home directory. Directories jobwatch creates are 0700 and
files 0600: the history names workspaces and jobs, and nobody else on the machine needs to read that.

Why not "jobwatch": an unrelated package on PyPI is called jobwatch and uses that app name and the
JOBWATCH_CONFIG / JOBWATCH_DATA_DIR variables, so the two tools would read and rewrite each other's
files. The old variables are not read at all (a JOBWATCH_CONFIG meant for the other tool would have
`workspaces add` rewrite its config); when one is set and the new one is not, one warning says so.
Files this tool wrote under the old names are moved once, the first time the default location is
resolved (see `_migrate_config` and `_migrate_data`), and only after they are recognised as ours.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import platformdirs

from jobwatch.errors import JobwatchError

APP_NAME = "sharely-jobwatch"
CONFIG_ENV = "SHARELY_JOBWATCH_CONFIG"
DATA_DIR_ENV = "SHARELY_JOBWATCH_DATA_DIR"
CONFIG_FILE_NAME = "config.toml"
#: the user's own themes, in a folder next to the config file
THEMES_DIR_NAME = "themes"

#: what earlier versions used; also what the unrelated `jobwatch` package uses
LEGACY_APP_NAME = "jobwatch"
LEGACY_ENVS = {CONFIG_ENV: "JOBWATCH_CONFIG", DATA_DIR_ENV: "JOBWATCH_DATA_DIR"}
#: the files in the data dir (store/history.py and store/eventlog.py use these names)
HISTORY_FILE_NAME = "history.sqlite3"
LOG_FILE_NAME = "jobwatch.log"
#: left in the new directory after a move, one per part ("config", "data"): the record of what
#: moved, and the mark that the move is done (on macOS and Windows both parts share one folder)
MIGRATION_NOTE = "migrated-from-jobwatch-{part}.txt"

_checked: set[str] = set()  # the migrations already looked at in this process


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The config file: --config, else $SHARELY_JOBWATCH_CONFIG, else the user config dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    _once(CONFIG_ENV, _migrate_config)
    return _config_dir(APP_NAME) / CONFIG_FILE_NAME


def data_dir() -> Path:
    """The data directory ($SHARELY_JOBWATCH_DATA_DIR, else the user data dir); not created here."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    _once(DATA_DIR_ENV, _migrate_data)
    return _data_dir(APP_NAME)


def themes_dir(config_file: str | os.PathLike[str]) -> Path:
    """The user's themes folder that belongs to `config_file`."""
    return Path(config_file).parent / THEMES_DIR_NAME


def _config_dir(app: str) -> Path:
    return Path(platformdirs.user_config_dir(app, appauthor=False))


def _data_dir(app: str) -> Path:
    return Path(platformdirs.user_data_dir(app, appauthor=False))


def _warn(message: str) -> None:
    print(f"jobwatch: {message}", file=sys.stderr)


def _once(env: str, migrate: Callable[[], list[str]]) -> None:
    """Run `migrate` the first time this process resolves the default for `env`; never raises."""
    if env in _checked:
        return
    _checked.add(env)
    legacy = LEGACY_ENVS[env]
    if os.environ.get(legacy):
        _warn(
            f"warning: {legacy} is no longer read (another program called jobwatch uses it); "
            f"set {env} if it was meant for this one"
        )
    try:
        lines = migrate()
    except OSError as error:  # an unreadable old or new folder: use the new one, say so once
        lines = [f"warning: could not look for files under the old name ({error})"]
    for line in lines:
        _warn(line)


# -- the one-time move from the old names ----------------------------------------------------


def _migrate_config() -> list[str]:
    """Move config.toml and the themes folder from the old config dir, if they are ours."""
    old, new = _config_dir(LEGACY_APP_NAME), _config_dir(APP_NAME)
    if _note(new, "config").exists() or not old.is_dir():
        return []
    config = old / CONFIG_FILE_NAME
    themes = old / THEMES_DIR_NAME
    config_ours = is_our_config(config)
    items = []
    if config_ours:
        items.append((config, new / CONFIG_FILE_NAME))
    if themes.is_dir() and (config_ours or (not config.exists() and are_our_themes(themes))):
        items.append((themes, new / THEMES_DIR_NAME))
    return migrate_items(items, old, new, part="config")


def _migrate_data() -> list[str]:
    """Move the history database and the event log (with its rotated files), if they are ours."""
    old, new = _data_dir(LEGACY_APP_NAME), _data_dir(APP_NAME)
    if _note(new, "data").exists() or not old.is_dir():
        return []
    items = []
    history = old / HISTORY_FILE_NAME
    if is_our_history(history) and _settle_history(history):
        items.append((history, new / HISTORY_FILE_NAME))
    # the log and its rotated copies (jobwatch.log.1, .2, ...)
    for log in sorted(old.glob(f"{glob.escape(LOG_FILE_NAME)}*")):
        rotated = re.fullmatch(re.escape(LOG_FILE_NAME) + r"(\.\d+)?", log.name)
        if rotated and is_our_log(log):
            items.append((log, new / log.name))
    return migrate_items(items, old, new, part="data")


def _note(new_dir: Path, part: str) -> Path:
    return new_dir / MIGRATION_NOTE.format(part=part)


def migrate_items(
    items: list[tuple[Path, Path]], old_dir: Path, new_dir: Path, *, part: str
) -> list[str]:
    """Move each (source, target) of `part` unless its note is in `new_dir`; never raises.

    Targets are never overwritten (one that exists is skipped); moved files are made 0600 and
    folders 0700. When every item moved, the note (MIGRATION_NOTE) records what moved and stops
    any later move of `part`, and `old_dir` is removed if the move left it empty; after a failure
    there is no note, so the next start tries again (what already moved is not found twice).
    Returns one line per item moved or failed, for the user.
    """
    note = _note(new_dir, part)
    if note.exists():
        return []
    items = [(src, dst) for src, dst in items if not os.path.lexists(dst)]
    if not items:
        return []
    lines: list[str] = []
    moved: list[str] = []
    failed = False
    for src, dst in items:
        try:
            ensure_private_dir(new_dir)
            _move(src, dst)
        except OSError as error:
            if os.path.lexists(dst) and not os.path.lexists(src):
                continue  # another jobwatch started at the same moment and moved it
            failed = True
            lines.append(f"warning: could not move {src} to {dst} ({error}); will try again")
            continue
        moved.append(f"moved {src} to {dst}")
    lines[:0] = moved
    if moved and not failed:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        text = (
            f"jobwatch (the Sharely.ai job dashboard, published as sharely-jobwatch) moved its"
            f" {part} files here from {old_dir} on {stamp}, because an unrelated program called"
            f" jobwatch uses the old names. This file marks the move as done: jobwatch does not"
            f" move its {part} files again while it is here.\n\n" + "".join(f"{m}\n" for m in moved)
        )
        try:
            write_private_file_atomic(note, text.encode())
        except OSError as error:
            lines.append(f"warning: could not write {note} ({error})")
        with contextlib.suppress(OSError):
            old_dir.rmdir()  # only when empty: anything else in it is not ours to touch
    return lines


def _move(src: Path, dst: Path) -> None:
    """Move a file or folder to `dst` atomically and without overwriting it; raises OSError.

    A symlink (a config kept in a dotfiles repo) moves as the link, not as a copy of its target.
    """
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)  # fails if dst exists
        os.unlink(src)
        return
    if src.is_dir():
        if os.path.lexists(dst):
            raise FileExistsError(dst)
        try:
            os.rename(src, dst)  # same filesystem: atomic
        except OSError:
            tmp = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}."))
            shutil.copytree(src, tmp, dirs_exist_ok=True, symlinks=True)
            os.rename(tmp, dst)
            shutil.rmtree(src)
        os.chmod(dst, 0o700)
        return
    try:
        os.link(src, dst)  # fails if dst exists: never overwrites
    except FileExistsError:
        raise
    except OSError:  # another filesystem, or links not supported: copy, then link the copy
        fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as source:
                shutil.copyfileobj(source, out)
                out.flush()
                os.fsync(out.fileno())
            os.link(tmp_name, dst)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    os.chmod(dst, 0o600)
    os.unlink(src)
    _fsync_dir(dst.parent)


# -- is it ours? Each check only reads, and any doubt means "no" ----------------------------


def is_our_config(path: Path) -> bool:
    """A TOML file that names a Sharely workspace the way jobwatch's config does (store/config.py).

    Either the config loads (the one authority on our keys) with at least one workspace, or, for
    a hand edit that no longer loads, a [workspaces.NAME] table carries Sharely's IDs. A file with
    only `theme` or `bell` could be anyone's and is left where it is.
    """
    data = _read_toml(path)
    if not data:
        return False
    from jobwatch.store.config import load_config

    with contextlib.suppress(JobwatchError, OSError, ValueError):
        if load_config(path).workspaces:
            return True
    workspaces = data.get("workspaces")
    return isinstance(workspaces, dict) and any(
        isinstance(ws, dict) and ("workspace_id" in ws or "organization_id" in ws)
        for ws in workspaces.values()
    )


def are_our_themes(folder: Path) -> bool:
    """A folder of only jobwatch theme files: TOML, each with a name and a [variables] table."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    for entry in entries:
        data = _read_toml(entry) if entry.suffix == ".toml" else None
        if not data or not isinstance(data.get("name"), str):
            return False
        if not isinstance(data.get("variables", {}), dict):
            return False
    return bool(entries)


def is_our_history(path: Path) -> bool:
    """An SQLite database with jobwatch's tables (store/history.py MIGRATIONS), read-only."""
    import sqlite3  # only here: every command imports this module, few need SQLite

    try:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
        # immutable: no lock, no -shm or -wal created, nothing written to another program's file
        uri = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True)
        try:
            tables = {
                row[0]: row[1]
                for row in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")
            }
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return False
    return all(
        "workflow_id" in (tables.get(name) or "") and "run_id" in (tables.get(name) or "")
        for name in ("jobs", "transitions")
    )


def _settle_history(path: Path) -> bool:
    """Fold our database's WAL back into the file; False while another connection has it open.

    When the last connection closes SQLite removes the -wal and -shm files, so any left after
    ours closes belong to a running jobwatch: the move waits for the next start.
    """
    import sqlite3

    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=rw", uri=True, timeout=0.5)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return not any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm", "-journal"))


_LOG_LINE_RE = re.compile(
    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)


def is_our_log(path: Path) -> bool:
    """A file whose first line has the event log's format (store/eventlog.py)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096)
    except OSError:
        return False
    return bool(_LOG_LINE_RE.match(first))


def _read_toml(path: Path) -> dict | None:
    try:
        if not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


# -- private directories and files ------------------------------------------------------------


def ensure_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` (and missing parents) if needed; the directory itself is made 0700.

    An existing directory is left as it is: it may be shared on purpose.
    Raises OSError (FileExistsError when something that is not a directory is in the way).
    """
    path = Path(path)
    if path.is_dir():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if path.is_dir():
            return path
        raise
    # mkdir's mode is filtered by the umask; make it exactly 0700.
    os.chmod(path, 0o700)
    return path


def write_private_file_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace `path` with `data` atomically: a 0600 temp file in the same dir, fsync, rename.

    On any failure the previous file is left untouched and the temp file removed.
    Raises OSError.
    """
    path = Path(path)
    directory = ensure_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not every platform lets a directory be opened."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dfd)
    finally:
        os.close(dfd)
