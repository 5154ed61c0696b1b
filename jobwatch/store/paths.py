"""Where jobwatch keeps its files, and how it writes them privately.

The config file and the data directory follow the platform's conventions
(platformdirs, app name "jobwatch"); JOBWATCH_CONFIG and JOBWATCH_DATA_DIR override
them, which is also how tests keep away from the real home directory.
Directories jobwatch creates are 0700 and files 0600: the history names workspaces
and jobs, and nobody else on the machine needs to read that.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "jobwatch"
CONFIG_ENV = "JOBWATCH_CONFIG"
DATA_DIR_ENV = "JOBWATCH_DATA_DIR"
CONFIG_FILE_NAME = "config.toml"


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """The config file: --config, else $JOBWATCH_CONFIG, else the user config dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE_NAME


def data_dir() -> Path:
    """The data directory ($JOBWATCH_DATA_DIR, else the user data dir); not created here."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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
