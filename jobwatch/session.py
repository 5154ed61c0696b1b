"""From what the user asked for to what jobwatch connects to: one home for choosing a workspace.

What the user asked for is `Flags` (the command line's connection options as a typed frozen
dataclass; the CLI builds it from argparse in one place), the config file and the environment.
A `Session` holds them; `Session.choose` picks the workspace and `Session.target` resolves it into
a `Target`: the workspace entry, the api `Connection` (with --insecure and --request-timeout), the
`CredentialSpec`, the poll interval, the theme, and the factory of its `SharelyClient`.
`open_history` is the factory of the history store.

Which workspace (`Session.choose`): a name asked for (the picker, `--workspace NAME`), else the
one given by --base-url/--workspace-id/--organization-id, else the config's default, else the only
configured one. Nothing configured, several without a default, an unknown name, and both kinds of
flags at once are errors a person can act on (UsageError subclasses).

Precedence, each decided by one function:
- poll interval (`resolve_interval`): --interval, else the workspace's `interval`, else 2 s;
- discovery interval (`resolve_discovery_interval`): --discovery-interval, else the workspace's
  `discovery_interval`, else 30 s (jobwatch.schedule: how often all-jobs mode reads the whole list);
- the largest answer accepted (`resolve_answer_limit`): --max-answer-mib, else the workspace's
  `max_answer_mib`, else jobwatch.api.transport.MAX_ANSWER_BYTES (128 MiB);
- how long a token_command may run (`resolve_token_command_timeout`): --token-command-timeout,
  else the workspace's `token_command_timeout`, else jobwatch.api.credentials'
  TOKEN_COMMAND_TIMEOUT (10 s);
- theme (`resolve_theme`): the workspace's `theme`, else the config's `theme`, else
  jobwatch-dark; a name that is not an available theme is skipped with a warning.

Every CLI command and the dashboard (start, picker, workspace switch) go through here, so a flag
cannot be forgotten by one of them. Nothing here imports jobwatch.cli, jobwatch.tui or Textual.
Secrets never pass through here: only the names of the variables or the command that hold them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from jobwatch.api.client import SharelyClient
from jobwatch.api.credentials import (
    ACCESS_TOKEN_ENV,
    API_KEY_ENV,
    TOKEN_COMMAND_TIMEOUT,
    CredentialSpec,
)
from jobwatch.api.transport import MAX_ANSWER_BYTES, Connection, check_connection_security
from jobwatch.errors import JobwatchError, UsageError
from jobwatch.poller import DEFAULT_INTERVAL
from jobwatch.sanitize import visible
from jobwatch.schedule import DEFAULT_DISCOVERY_INTERVAL
from jobwatch.store.config import (
    DEFAULT_THEME,
    Config,
    UnknownWorkspace,
    WorkspaceConfig,
    WorkspaceInput,
    WorkspaceInputError,
    load_config,
    workspace_from_input,
)
from jobwatch.store.history import HistoryStore
from jobwatch.store.paths import config_path

__all__ = [
    "COMMAND_LINE_WORKSPACE",
    "DEFAULT_REQUEST_TIMEOUT",
    "Flags",
    "NoDefaultWorkspace",
    "NoWorkspaceConfigured",
    "Session",
    "Target",
    "ThemeChoice",
    "UnknownWorkspace",
    "Warn",
    "connection_for",
    "credential_source",
    "credentials_for",
    "open_history",
    "resolve_discovery_interval",
    "resolve_answer_limit",
    "resolve_interval",
    "resolve_theme",
    "resolve_token_command_timeout",
    "warn_on_stderr",
    "workspace_warnings",
]

#: seconds each request may take unless --request-timeout says otherwise
DEFAULT_REQUEST_TIMEOUT = 10.0
#: the name of the workspace given by --base-url/--workspace-id/--organization-id (never a
#: configured name: those cannot contain a space)
COMMAND_LINE_WORKSPACE = "command line"

#: reports a warning to a person (stderr for the CLI, a notification in the dashboard)
Warn = Callable[[str], None]

_FLAG_LABELS = {
    "workspace_id": "--workspace-id",
    "organization_id": "--organization-id",
    "base_url": "--base-url",
}


def warn_on_stderr(message: str) -> None:
    """The CLI's Warn: one `jobwatch: warning: …` line on stderr, escaped (jobwatch.sanitize)."""
    print(f"jobwatch: warning: {visible(message, 2000)}", file=sys.stderr)


class NoWorkspaceConfigured(UsageError):
    """The config has no workspace and none was given on the command line."""

    def __init__(self, path: object) -> None:
        super().__init__(
            f"no workspace is configured in {path}: add one with `jobwatch workspaces add`, "
            "or pass --base-url/--workspace-id/--organization-id"
        )


class NoDefaultWorkspace(UsageError):
    """Several workspaces are configured, none is the default and none was named."""

    def __init__(self, names: Collection[str]) -> None:
        super().__init__(
            f"several workspaces are configured ({', '.join(sorted(names))}) and none is the "
            "default: pass --workspace NAME or run `jobwatch workspaces default NAME`"
        )
        self.names = tuple(sorted(names))


@dataclass(frozen=True)
class Flags:
    """What the user asked for on the command line; every field is optional.

    `workspace` names a configured workspace; `base_url`/`workspace_id`/`organization_id` give
    one directly instead (a workspace ID and an organization ID go together).
    """

    config: str | None = None
    workspace: str | None = None
    base_url: str | None = None
    workspace_id: str | None = None
    organization_id: str | None = None
    insecure: bool = False
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    interval: float | None = None
    #: --discovery-interval: seconds between reads of the whole list in all-jobs mode
    discovery_interval: float | None = None
    #: --max-answer-mib: the largest answer accepted, in MiB once decompressed
    max_answer_mib: float | None = None
    #: --token-command-timeout: seconds a token_command may run
    token_command_timeout: float | None = None

    def __post_init__(self) -> None:
        if not self.request_timeout > 0:
            raise UsageError("--request-timeout must be greater than 0")
        for flag, value in (
            ("--interval", self.interval),
            ("--discovery-interval", self.discovery_interval),
            ("--max-answer-mib", self.max_answer_mib),
            ("--token-command-timeout", self.token_command_timeout),
        ):
            if value is not None and not value > 0:
                raise UsageError(f"{flag} must be greater than 0")

    @property
    def direct(self) -> bool:
        """Whether a workspace is given on the command line (--base-url/--workspace-id/--organization-id)."""
        return any((self.base_url, self.workspace_id, self.organization_id))


def command_line_workspace(flags: Flags) -> WorkspaceConfig | None:
    """The workspace given by --base-url/--workspace-id/--organization-id, validated; None if none."""
    if not flags.direct:
        return None
    if flags.workspace:
        raise UsageError(
            "give either --workspace or --base-url/--workspace-id/--organization-id, not both"
        )
    if not (flags.workspace_id and flags.organization_id):
        raise UsageError(
            "--workspace-id and --organization-id go together (--base-url is optional)"
        )
    entry = WorkspaceInput(
        name="command-line",
        workspace_id=flags.workspace_id,
        organization_id=flags.organization_id,
        base_url=flags.base_url or "",
    )
    try:
        workspace = workspace_from_input(entry)
    except WorkspaceInputError as error:
        raise error.labelled(_FLAG_LABELS) from None
    # A name no configured workspace can have (names have no spaces): the two never mix.
    return replace(workspace, name=COMMAND_LINE_WORKSPACE)


def _flag_else_workspace(
    flag: float | None, workspace: WorkspaceConfig | None, key: str, default: float
) -> float:
    """The one precedence rule for numeric settings: the flag, else the workspace's `key`, else
    `default`."""
    if flag is not None:
        return flag
    configured: float | None = getattr(workspace, key, None) if workspace is not None else None
    return default if configured is None else configured


def resolve_interval(flag: float | None, workspace: WorkspaceConfig | None) -> float:
    """Seconds between polls: --interval, else the workspace's `interval`, else DEFAULT_INTERVAL."""
    return _flag_else_workspace(flag, workspace, "interval", DEFAULT_INTERVAL)


def resolve_discovery_interval(flag: float | None, workspace: WorkspaceConfig | None) -> float:
    """Seconds between reads of the whole list in all-jobs mode: --discovery-interval, else the
    workspace's `discovery_interval`, else DEFAULT_DISCOVERY_INTERVAL."""
    return _flag_else_workspace(flag, workspace, "discovery_interval", DEFAULT_DISCOVERY_INTERVAL)


def resolve_answer_limit(flag_mib: float | None, workspace: WorkspaceConfig | None) -> int:
    """Bytes an answer may hold once decompressed: --max-answer-mib, else the workspace's
    `max_answer_mib`, else MAX_ANSWER_BYTES."""
    default_mib = MAX_ANSWER_BYTES / (1024 * 1024)
    return int(
        _flag_else_workspace(flag_mib, workspace, "max_answer_mib", default_mib) * 1024 * 1024
    )


def resolve_token_command_timeout(flag: float | None, workspace: WorkspaceConfig | None) -> float:
    """Seconds a token_command may run: --token-command-timeout, else the workspace's
    `token_command_timeout`, else TOKEN_COMMAND_TIMEOUT."""
    return _flag_else_workspace(flag, workspace, "token_command_timeout", TOKEN_COMMAND_TIMEOUT)


@dataclass(frozen=True)
class ThemeChoice:
    """The theme to show and a warning for each wanted theme that was not available."""

    name: str
    warnings: tuple[str, ...] = ()


def resolve_theme(
    config: Config, workspace: WorkspaceConfig | None, available: Collection[str] | None = None
) -> ThemeChoice:
    """The workspace's `theme`, else the config's `theme`, else DEFAULT_THEME.

    With `available` (the dashboard's loaded themes), a wanted name that is not among them is
    skipped and named in a warning.
    """
    wanted: list[tuple[str, str]] = []
    if workspace is not None and workspace.theme:
        wanted.append((workspace.theme, f"workspace {workspace.name}"))
    if config.theme:
        wanted.append((config.theme, "the config"))
    skipped: list[tuple[str, str]] = []
    chosen = DEFAULT_THEME
    for name, source in wanted:
        if available is None or name in available:
            chosen = name
            break
        skipped.append((name, source))
    warnings = tuple(
        f"theme {name!r} from {source} is not known; using {chosen}" for name, source in skipped
    )
    return ThemeChoice(chosen, warnings)


def connection_for(
    workspace: WorkspaceConfig,
    *,
    insecure: bool = False,
    timeout: float = DEFAULT_REQUEST_TIMEOUT,
    max_answer_bytes: int | None = None,
) -> Connection:
    """The api Connection of a workspace entry (max_answer_bytes None: resolve_answer_limit's
    choice without a flag)."""
    if max_answer_bytes is None:
        max_answer_bytes = resolve_answer_limit(None, workspace)
    return Connection(
        base_url=workspace.base_url,
        workspace_id=workspace.workspace_id,
        organization_id=workspace.organization_id,
        insecure=insecure,
        timeout=timeout,
        max_answer_bytes=max_answer_bytes,
    )


def credentials_for(
    workspace: WorkspaceConfig, *, token_command_timeout: float | None = None
) -> CredentialSpec:
    """Where a workspace's credential comes from, as the api client takes it (names only);
    token_command_timeout None: resolve_token_command_timeout's choice without a flag."""
    if token_command_timeout is None:
        token_command_timeout = resolve_token_command_timeout(None, workspace)
    return CredentialSpec(
        token_command=workspace.token_command,
        token_env=workspace.token_env,
        api_key_env=workspace.api_key_env,
        token_command_timeout=token_command_timeout,
    )


def workspace_warnings(
    workspace: WorkspaceConfig, environ: Mapping[str, str] | None = None
) -> list[str]:
    """What will stop a new entry from working, said when it is added (`workspaces add`):
    plain http to a host that is not loopback, a credential variable that is not set here, a
    token command whose program is not on PATH. Nothing is run and no secret is read out."""
    import shlex
    import shutil
    from urllib.parse import urlsplit

    from jobwatch.api.transport import is_loopback

    env = os.environ if environ is None else environ
    warnings = []
    parts = urlsplit(workspace.base_url)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        warnings.append(
            f"{workspace.base_url} is plain http to a host that is not loopback: jobwatch will "
            "refuse to send credentials there unless --insecure is given; use https://"
        )
    named = workspace.token_env or workspace.api_key_env
    if named and not env.get(named):
        warnings.append(
            f"${named} is not set in this environment; set it before using {workspace.name}"
        )
    elif workspace.token_command:
        try:
            program = shlex.split(workspace.token_command)[:1]
        except ValueError:
            program = []
        if program and shutil.which(program[0], path=env.get("PATH")) is None:
            warnings.append(f"the token command's program {program[0]!r} is not on PATH here")
    elif not named and not (env.get(ACCESS_TOKEN_ENV) or env.get(API_KEY_ENV)):
        warnings.append(
            f"no credential named: jobwatch will read ${ACCESS_TOKEN_ENV} or ${API_KEY_ENV}, "
            "and neither is set in this environment"
        )
    return warnings


def credential_source(workspace: WorkspaceConfig) -> str:
    """Where a workspace's credential comes from, for people (`workspaces list`, the picker).

    By name only: a token_command may embed a secret, so it is never shown.
    """
    if workspace.token_command:
        return "token from a command"
    if workspace.token_env:
        return f"token from ${workspace.token_env}"
    if workspace.api_key_env:
        return f"API key from ${workspace.api_key_env}"
    return f"${ACCESS_TOKEN_ENV} or ${API_KEY_ENV}"


@dataclass(frozen=True)
class Target:
    """One workspace, resolved: everything needed to poll it and show it."""

    workspace: WorkspaceConfig
    connection: Connection
    credentials: CredentialSpec
    #: seconds between polls (resolve_interval)
    interval: float
    #: the wanted theme (resolve_theme, before checking which themes the dashboard has)
    theme: str
    #: seconds between reads of the whole list in all-jobs mode (resolve_discovery_interval)
    discovery_interval: float = DEFAULT_DISCOVERY_INTERVAL
    #: where credentials are read from; None: os.environ (may hold secrets: never shown)
    environ: Mapping[str, str] | None = field(default=None, repr=False, compare=False)

    def client(self, warn: Warn = warn_on_stderr) -> SharelyClient:
        """A client for this workspace; raises UsageError (plain http without --insecure, no
        credentials). `warn` hears that --insecure let plain http through."""
        warning = check_connection_security(self.connection)
        if warning:
            warn(warning.removeprefix("warning: "))
        return SharelyClient(self.connection, self.credentials, environ=self.environ)


@dataclass(frozen=True)
class Session:
    """The config, the command line's flags and the environment: what every command resolves against.

    Raises UsageError when the flags contradict each other or a direct workspace is malformed.
    """

    config: Config
    flags: Flags = field(default_factory=Flags)
    #: where credentials are read from; None: os.environ (may hold secrets: never shown)
    environ: Mapping[str, str] | None = field(default=None, repr=False, compare=False)
    #: the workspace given on the command line, if any (never written to the config)
    command_line: WorkspaceConfig | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "command_line", command_line_workspace(self.flags))

    @classmethod
    def load(cls, flags: Flags | None = None, environ: Mapping[str, str] | None = None) -> Session:
        """Read the config (--config, else $SHARELY_JOBWATCH_CONFIG, else the platform's) for these flags."""
        flags = flags or Flags()
        return cls(load_config(config_path(flags.config)), flags, environ)

    @property
    def extra_workspaces(self) -> dict[str, WorkspaceConfig]:
        """Workspaces that are not in the config file (the command line's)."""
        ws = self.command_line
        return {ws.name: ws} if ws is not None else {}

    @property
    def workspaces(self) -> dict[str, WorkspaceConfig]:
        """Every workspace that can be watched: the configured ones and the command line's."""
        return {**self.config.workspaces, **self.extra_workspaces}

    def choose(self, name: str | None = None) -> WorkspaceConfig:
        """The workspace `name`, else --workspace, else the command line's, else the default, else
        the only one. Raises UnknownWorkspace, NoWorkspaceConfigured or NoDefaultWorkspace."""
        config = self.config
        wanted = name or self.flags.workspace
        if wanted is not None:
            found = self.workspaces.get(wanted)
            if found is None:
                raise UnknownWorkspace(wanted, config.path, config.workspaces)
            return found
        if self.command_line is not None:
            return self.command_line
        if config.default is not None and config.default in config.workspaces:
            return config.workspaces[config.default]
        if len(config.workspaces) == 1:
            return next(iter(config.workspaces.values()))
        if not config.workspaces:
            raise NoWorkspaceConfigured(config.path)
        raise NoDefaultWorkspace(config.workspaces)

    def target(self, name: str | None = None) -> Target:
        """The chosen workspace (see `choose`), resolved."""
        return self.target_for(self.choose(name))

    def target_for(self, workspace: WorkspaceConfig) -> Target:
        """A workspace entry resolved with these flags: connection (timeout, answer limit),
        credentials (token_command timeout), interval, theme."""
        flags = self.flags
        return Target(
            workspace=workspace,
            connection=connection_for(
                workspace,
                insecure=flags.insecure,
                timeout=flags.request_timeout,
                max_answer_bytes=resolve_answer_limit(flags.max_answer_mib, workspace),
            ),
            credentials=credentials_for(
                workspace,
                token_command_timeout=resolve_token_command_timeout(
                    flags.token_command_timeout, workspace
                ),
            ),
            interval=resolve_interval(flags.interval, workspace),
            theme=resolve_theme(self.config, workspace).name,
            discovery_interval=resolve_discovery_interval(flags.discovery_interval, workspace),
            environ=self.environ,
        )


def open_history(warn: Warn = warn_on_stderr) -> HistoryStore | None:
    """The history store in the data dir, or None after telling `warn` why (polling works without)."""
    try:
        return HistoryStore.open_default()
    except JobwatchError as error:
        warn(f"history disabled: {error.describe()}")
        return None
