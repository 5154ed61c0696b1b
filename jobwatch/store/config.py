"""The TOML config file: named workspaces, the default one, theme, bell, notifications, kinds.

    default = "prod"
    theme = "jobwatch-dark"
    bell = true
    [notify]                      # jobwatch.notify.settings: method, on, on_job_end, ...
    on = ["failure", "slow"]
    [kinds]                       # ordered rules, the first match wins (jobwatch.kinds)
    rules = [{ match = "^tax-", kind = "taxonomy-publish" }]
    [workspaces.prod]
    workspace_id = "..."          # UUID
    organization_id = "..."       # UUID
    base_url = "https://api.sharely.ai"
    token_env = "PROD_TOKEN"      # or api_key_env = "...", or token_command = "..."
    interval = 2.0
    discovery_interval = 30.0     # all-jobs mode: seconds between reads of the whole list
    theme = "..."
    max_answer_mib = 128          # the largest answer accepted, once decompressed
    token_command_timeout = 10    # seconds the token_command may run

The file never holds a secret: credentials are named (an environment variable or
a command that prints a token), never stored. Every problem is a ConfigError naming
the file, the key and, when it can be found, the line.

A new entry typed by a person (`jobwatch workspaces add`, the dashboard's add-workspace form)
is built by `workspace_from_input`, which checks every field and reports all problems at once.
Turning an entry into a connection is `jobwatch.session`'s job: nothing here imports the API.
"""

from __future__ import annotations

import re
import tomllib
import urllib.parse
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from jobwatch.errors import ConfigError, UsageError
from jobwatch.kinds import MAX_RULES, KindRule, KindRuleError, compile_rule
from jobwatch.notify.settings import NotifySettings
from jobwatch.store.paths import write_private_file_atomic

DEFAULT_BASE_URL = "https://api.sharely.ai"
#: the theme used when neither the workspace nor the config names one
DEFAULT_THEME = "jobwatch-dark"
MIN_INTERVAL = 0.1
MAX_INTERVAL = 3600.0
#: bounds of a workspace's `max_answer_mib` (the default is jobwatch.api.transport's, 128 MiB)
MIN_ANSWER_MIB = 1
MAX_ANSWER_MIB = 4096
#: bounds of a workspace's `token_command_timeout`, in seconds (the default: 10 s, the api's)
MIN_TOKEN_COMMAND_TIMEOUT = 0.1
MAX_TOKEN_COMMAND_TIMEOUT = 600.0

_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_KEYS = frozenset(
    {
        "token",
        "access_token",
        "accesstoken",
        "api_key",
        "apikey",
        "key",
        "secret",
        "client_secret",
        "password",
        "bearer",
        "bearer_token",
        "auth_token",
        "jwt",
    }
)
_SECRET_MESSAGE = "secrets do not belong in the config; use token_env, api_key_env or token_command"
# What a pasted secret looks like: an API key or a JWT.
_SECRET_SHAPES = re.compile(r"(sk-sharely-|eyJ[A-Za-z0-9_-]{8,}\.)")
_TOP_KEYS = ("default", "theme", "bell", "notify", "kinds", "workspaces")
_KINDS_KEYS = ("rules",)
_RULE_KEYS = ("match", "kind")
_RULE_SHAPE = '{ match = "REGEX", kind = "NAME" }'

#: where a workspace's credential comes from: the config key that names it
CredentialKind = Literal["token_env", "api_key_env", "token_command"]
CREDENTIAL_KINDS: tuple[CredentialKind, ...] = get_args(CredentialKind)
_CREDENTIAL_KEYS: tuple[str, ...] = CREDENTIAL_KINDS


class InvalidSetting(UsageError):
    """A value that cannot be used for a setting; `key` names the setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass
class WorkspaceConfig:
    """One [workspaces.NAME] entry: which workspace, where the API is, where its credential comes from."""

    name: str
    workspace_id: str
    organization_id: str
    base_url: str = DEFAULT_BASE_URL
    token_env: str | None = None
    api_key_env: str | None = None
    #: kept out of repr: a command line may embed a secret
    token_command: str | None = field(default=None, repr=False)
    interval: float | None = None
    #: all-jobs mode: seconds between reads of the whole list (jobwatch.schedule)
    discovery_interval: float | None = None
    theme: str | None = None
    #: the largest answer accepted, in MiB after decompression (None: the api's default)
    max_answer_mib: float | None = None
    #: seconds the token_command may run before it is killed (None: the api's default)
    token_command_timeout: float | None = None

    def validated(self) -> WorkspaceConfig:
        """A normalized copy (lowercase UUIDs, no trailing slash); raises InvalidSetting."""
        prefix = f"workspaces.{self.name}"
        return WorkspaceConfig(
            name=validate_workspace_name(self.name),
            workspace_id=validate_uuid(self.workspace_id, f"{prefix}.workspace_id"),
            organization_id=validate_uuid(self.organization_id, f"{prefix}.organization_id"),
            base_url=_with_key(f"{prefix}.base_url", validate_base_url, self.base_url),
            **_validate_credentials(
                prefix,
                {k: getattr(self, k) for k in _CREDENTIAL_KEYS if getattr(self, k) is not None},
            ),
            interval=None
            if self.interval is None
            else _validate_interval(f"{prefix}.interval", self.interval),
            discovery_interval=None
            if self.discovery_interval is None
            else _validate_interval(f"{prefix}.discovery_interval", self.discovery_interval),
            theme=None if self.theme is None else _validate_text(f"{prefix}.theme", self.theme),
            max_answer_mib=None
            if self.max_answer_mib is None
            else _validate_number(
                f"{prefix}.max_answer_mib",
                self.max_answer_mib,
                MIN_ANSWER_MIB,
                MAX_ANSWER_MIB,
                "MiB",
            ),
            token_command_timeout=None
            if self.token_command_timeout is None
            else _validate_number(
                f"{prefix}.token_command_timeout",
                self.token_command_timeout,
                MIN_TOKEN_COMMAND_TIMEOUT,
                MAX_TOKEN_COMMAND_TIMEOUT,
                "seconds",
            ),
        )


@dataclass
class Config:
    """The whole config file; choosing a workspace from it is jobwatch.session's job."""

    path: Path
    workspaces: dict[str, WorkspaceConfig] = field(default_factory=dict)
    default: str | None = None
    theme: str | None = None
    bell: bool = True
    #: the [notify] table, validated (jobwatch.notify.settings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    #: the [kinds] rules, compiled and in order: `jobwatch.kinds.Kinds(config.kind_rules)`
    kind_rules: tuple[KindRule, ...] = ()
    #: the file and what it meant when it was read or last saved (config_state); save_config
    #: writes only the changes since. None: built in memory, never read
    loaded: tuple[Path, dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def add_workspace(self, ws: WorkspaceConfig, make_default: bool = False) -> WorkspaceConfig:
        """Validate and add a workspace; raises InvalidSetting (a UsageError) for a bad or taken name."""
        ws = ws.validated()
        if ws.name in self.workspaces:
            raise InvalidSetting(
                f"workspaces.{ws.name}",
                f"a workspace named {ws.name!r} already exists; remove it first or choose another name",
            )
        self.workspaces[ws.name] = ws
        if make_default:
            self.default = ws.name
        return ws

    def remove_workspace(self, name: str) -> WorkspaceConfig:
        """Remove the workspace `name` (and its default mark); raises UsageError if unknown."""
        ws = self.workspaces.pop(self._known(name))
        if self.default == name:
            self.default = None
        return ws

    def set_default(self, name: str | None) -> None:
        self.default = None if name is None else self._known(name)

    def _known(self, name: str) -> str:
        if name not in self.workspaces:
            raise UnknownWorkspace(name, self.path, self.workspaces)
        return name


class UnknownWorkspace(UsageError):
    """A workspace name that is not in the config; says which names are."""

    def __init__(self, name: str, path: Path, known: Collection[str]) -> None:
        names = ", ".join(sorted(known)) or "none"
        super().__init__(f"no workspace named {name!r} in {path} (configured: {names})")
        self.name = name


# -- validators shared by the loader, the CLI and the add-workspace form -------------------


def validate_uuid(value: Any, key: str) -> str:
    """A canonical 8-4-4-4-12 hex UUID, returned lowercase; raises InvalidSetting."""
    if not isinstance(value, str):
        raise InvalidSetting(key, f"expected a UUID string, got {_type_name(value)}")
    text = value.strip()
    if not _UUID_RE.fullmatch(text):
        raise InvalidSetting(
            key,
            f"{_short(text)} is not a UUID (expected 8-4-4-4-12 hex digits, "
            "e.g. 123e4567-e89b-42d3-a456-426614174000)",
        )
    return text.lower()


def validate_base_url(value: Any) -> str:
    """An http(s) URL with a host and no path, query or credentials; trailing "/" stripped."""
    example = "e.g. https://api.sharely.ai"
    if not isinstance(value, str):
        raise InvalidSetting(
            "base_url", f"expected a URL string, got {_type_name(value)} ({example})"
        )
    text = value.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidSetting("base_url", f"{_short(text)} is not a valid URL ({example})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidSetting(
            "base_url", f"{_short(text)} must start with https:// or http:// ({example})"
        )
    if "@" in parts.netloc:
        # Never echo it: the part before "@" may be a password.
        raise InvalidSetting(
            "base_url", f"the URL must not contain user names or passwords ({example})"
        )
    if not parts.hostname:
        raise InvalidSetting("base_url", f"{_short(text)} has no host ({example})")
    if parts.path not in ("", "/"):
        raise InvalidSetting(
            "base_url",
            f"{_short(text)} must not have a path; give only scheme and host ({example})",
        )
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InvalidSetting(
            "base_url", f"{_short(text)} must not have a query or fragment ({example})"
        )
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def validate_workspace_name(value: Any) -> str:
    if isinstance(value, str) and not value:
        raise InvalidSetting(
            'workspaces.""', "a workspace needs a name (letters, digits, '_', '.', '-')"
        )
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        shown = _short(value) if isinstance(value, str) else _type_name(value)
        raise InvalidSetting(
            f"workspaces.{value}" if isinstance(value, str) else "workspaces",
            f"workspace name {shown} may only contain letters, digits, '_', '.' and '-'",
        )
    return value


def looks_like_secret(text: str) -> bool:
    """Whether `text` holds what looks like an API key or a JWT (never to be stored or echoed)."""
    return _SECRET_SHAPES.search(text) is not None


def parse_job_ids(text: str) -> list[str]:
    """Workflow IDs from pasted text: split on whitespace and commas, strip quotes and
    brackets around each, drop blanks and duplicates; the order is kept."""
    tokens = text.replace(",", " ").split()
    return [t for t in dict.fromkeys(tok.strip("'\"`[]") for tok in tokens) if t]


# -- a new entry from what a person typed ---------------------------------------------------


@dataclass(frozen=True)
class WorkspaceInput:
    """A workspace entry as a person typed it (`workspaces add` options or the add form's fields).

    Blank strings mean "not given": the default base URL, and for the credential the
    SHARELY_ACCESS_TOKEN / SHARELY_API_KEY environment variables.
    """

    name: str
    workspace_id: str
    organization_id: str
    base_url: str = ""
    credential_kind: CredentialKind = "token_env"
    #: the env var's NAME or the command line, never the secret itself
    credential: str = ""
    interval: float | None = None
    theme: str | None = None


#: the fields of WorkspaceInput a problem can be about, in the order they are reported
INPUT_FIELDS = (
    "name",
    "workspace_id",
    "organization_id",
    "base_url",
    "credential",
    "interval",
    "theme",
)


class WorkspaceInputError(UsageError):
    """Every problem of a WorkspaceInput at once: field name -> reason (without the field's name)."""

    def __init__(self, problems: dict[str, str], labels: dict[str, str] | None = None) -> None:
        self.problems = dict(problems)
        shown = labels or {}
        super().__init__(
            "; ".join(f"{shown.get(key, key)}: {reason}" for key, reason in self.problems.items())
        )

    def labelled(self, labels: dict[str, str]) -> WorkspaceInputError:
        """The same problems, named the way the person typed them (e.g. --workspace-id)."""
        return WorkspaceInputError(self.problems, labels)


def workspace_from_input(entry: WorkspaceInput, *, taken: Collection[str] = ()) -> WorkspaceConfig:
    """A validated, normalized WorkspaceConfig; raises WorkspaceInputError naming every bad field.

    `taken` holds the names already configured. A credential that looks like a pasted secret is
    refused without being echoed.
    """
    problems: dict[str, str] = {}

    def check(key: str, validate: Callable[[], Any]) -> Any:
        try:
            return validate()
        except InvalidSetting as exc:
            problems[key] = exc.message
            return None

    name = entry.name.strip()
    if not name:
        problems["name"] = "a name is required"
    elif not _NAME_RE.fullmatch(name):
        problems["name"] = "use only letters, digits, '_', '.' and '-'"
    elif name in taken:
        problems["name"] = (
            f"a workspace named {name!r} already exists; remove it first or choose another name"
        )
    workspace_id = check("workspace_id", lambda: validate_uuid(entry.workspace_id, "workspace_id"))
    organization_id = check(
        "organization_id", lambda: validate_uuid(entry.organization_id, "organization_id")
    )
    base_url = check("base_url", lambda: validate_base_url(entry.base_url or DEFAULT_BASE_URL))
    credential = entry.credential.strip()
    if entry.credential_kind not in CREDENTIAL_KINDS:
        problems["credential"] = f"unknown credential source (known: {', '.join(CREDENTIAL_KINDS)})"
    elif looks_like_secret(credential):
        problems["credential"] = (
            "that looks like a secret: enter the NAME of the env var (or a command) instead"
        )
    elif (
        credential
        and entry.credential_kind != "token_command"
        and not _ENV_NAME_RE.fullmatch(credential)
    ):
        problems["credential"] = "an env var name has only letters, digits and _ (e.g. ACME_TOKEN)"
    interval = None
    if entry.interval is not None:
        interval = check("interval", lambda: _validate_interval("interval", entry.interval))
    theme = None
    if entry.theme is not None:
        theme = check("theme", lambda: _validate_text("theme", entry.theme))
    if problems:
        raise WorkspaceInputError({k: problems[k] for k in INPUT_FIELDS if k in problems})
    source = {entry.credential_kind: credential} if credential else {}
    return WorkspaceConfig(
        name=name,
        workspace_id=workspace_id,
        organization_id=organization_id,
        base_url=base_url,
        token_env=source.get("token_env"),
        api_key_env=source.get("api_key_env"),
        token_command=source.get("token_command"),
        interval=interval,
        theme=theme,
    )


# -- loading and saving --------------------------------------------------------------------


def load_config(path: str | Path) -> Config:
    """Read and validate the config; a missing file is an empty config. Raises ConfigError."""
    path = Path(path)
    config = _parse(path, _read_text(path))
    config.loaded = (path, config_state(config))
    return config


def save_config(config: Config) -> None:
    """Write the changes made to `config` since it was read, and nothing else; raises ConfigError.

    The file is edited in place (jobwatch.store.config_edit): comments, blank lines, key order
    and number formats outside the changed entries stay as the person wrote them. What changed
    is worked out against what the file held when `config` was read (`Config.loaded`), so an
    entry another jobwatch added meanwhile is kept. Written atomically (0600, directory 0700).
    A config built in memory (never read) makes the file say exactly what it says.
    """
    from jobwatch.store import config_edit

    path = config.path
    text = _read_text(path)
    disk = _state_of_text(path, text)
    new = config_state(config)
    base = config.loaded[1] if config.loaded is not None and config.loaded[0] == path else disk
    target = _merge(disk, base, new)
    if not text.strip():
        edited = config_edit.render(target)
    else:
        edited = config_edit.edit(text, disk, target)
        if _means(path, edited) != target:
            edited = config_edit.edit(text, disk, target, cut=False)
    if _means(path, edited) != target:
        raise ConfigError(
            str(path),
            "cannot change this file without touching other entries; edit it by hand",
        )
    if edited != text or not path.exists():
        try:
            write_private_file_atomic(path, edited.encode("utf-8"))
        except OSError as exc:
            raise ConfigError(
                str(path), f"cannot write the config: {exc.strerror or exc}"
            ) from None
    config.loaded = (path, new)


def config_state(config: Config) -> dict[str, Any]:
    """What `config` means, as plain values (None: absent; see jobwatch.store.config_edit)."""
    notify = config.notify.to_table()
    rules = [{"match": rule.pattern.pattern, "kind": rule.kind} for rule in config.kind_rules]
    return {
        "default": config.default,
        "theme": config.theme,
        "bell": None if config.bell else False,
        "notify": notify or None,
        "kinds": {"rules": rules} if rules else None,
        "workspaces": {
            name: {
                f.name: getattr(ws, f.name)
                for f in fields(ws)
                if f.name != "name" and getattr(ws, f.name) is not None
            }
            for name, ws in config.workspaces.items()
        },
    }


def _merge(disk: dict[str, Any], base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`disk` with the changes from `base` to `new` applied (a three-way merge)."""
    result = {
        key: new[key] if base[key] != new[key] else disk[key] for key in disk if key != "workspaces"
    }
    workspaces = {
        name: entry
        for name, entry in disk["workspaces"].items()
        if name in new["workspaces"] or name not in base["workspaces"]
    }
    for name, entry in new["workspaces"].items():
        before = base["workspaces"].get(name)
        if before is None or name not in workspaces:
            workspaces[name] = entry
        elif before != entry:
            merged = dict(workspaces[name])
            for key in dict.fromkeys([*before, *entry]):
                if before.get(key) != entry.get(key):
                    merged[key] = entry.get(key)
            workspaces[name] = {k: v for k, v in merged.items() if v is not None}
    result["workspaces"] = workspaces
    return result


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the config: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), "the config is not UTF-8 text", line=raw[: exc.start].count(b"\n") + 1
        ) from None


def _parse(path: Path, text: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = _toml_error(exc, text)
        raise ConfigError(str(path), f"invalid TOML: {message}", line=line) from None
    try:
        return _build(path, data)
    except InvalidSetting as exc:
        raise ConfigError(
            str(path), exc.message, line=_find_line(text, exc.key), key=exc.key
        ) from None


def _state_of_text(path: Path, text: str) -> dict[str, Any]:
    """The state `text` means; raises ConfigError if it is not a valid config."""
    return config_state(_parse(path, text))


def _means(path: Path, text: str) -> dict[str, Any] | None:
    """The state `text` means, or None if it is not a valid config."""
    try:
        return _state_of_text(path, text)
    except ConfigError:
        return None


def _build(path: Path, data: dict[str, Any]) -> Config:
    _refuse_secrets(data, "")
    for key in data:
        if key not in _TOP_KEYS:
            raise InvalidSetting(key, f"unknown setting (known: {', '.join(_TOP_KEYS)})")
    config = Config(path)
    if "theme" in data:
        config.theme = _validate_text("theme", data["theme"])
    if "bell" in data:
        if not isinstance(data["bell"], bool):
            raise InvalidSetting("bell", f"expected true or false, got {_type_name(data['bell'])}")
        config.bell = data["bell"]
    config.notify = _build_notify(data.get("notify"))
    config.kind_rules = _build_kinds(data.get("kinds"))
    workspaces = data.get("workspaces", {})
    if not isinstance(workspaces, dict):
        raise InvalidSetting("workspaces", "expected a table of [workspaces.NAME] sections")
    for name, table in workspaces.items():
        config.workspaces[name] = _build_workspace(name, table)
    if "default" in data:
        default = _validate_text("default", data["default"])
        if default not in config.workspaces:
            known = ", ".join(sorted(config.workspaces)) or "none"
            raise InvalidSetting(
                "default", f"names no configured workspace: {default!r} (known: {known})"
            )
        config.default = default
    return config


def _build_workspace(name: str, table: Any) -> WorkspaceConfig:
    prefix = f"workspaces.{name}"
    validate_workspace_name(name)
    if not isinstance(table, dict):
        raise InvalidSetting(prefix, f"expected a [{prefix}] table, got {_type_name(table)}")
    _refuse_secrets(table, prefix + ".")
    known = [f.name for f in fields(WorkspaceConfig) if f.name != "name"]
    for key, value in table.items():
        if key not in known:
            hint = f"unknown setting (known: {', '.join(known)})"
            if isinstance(value, dict):
                hint += f'; a workspace name with dots must be quoted: [workspaces."{name}.{key}"]'
            raise InvalidSetting(f"{prefix}.{key}", hint)
    for key in ("workspace_id", "organization_id"):
        if key not in table:
            raise InvalidSetting(f"{prefix}.{key}", "missing (a UUID from the Sharely dashboard)")
    ws = WorkspaceConfig(
        name=name,
        workspace_id=table["workspace_id"],
        organization_id=table["organization_id"],
        base_url=table.get("base_url", DEFAULT_BASE_URL),
        token_env=table.get("token_env"),
        api_key_env=table.get("api_key_env"),
        token_command=table.get("token_command"),
        interval=table.get("interval"),
        discovery_interval=table.get("discovery_interval"),
        theme=table.get("theme"),
        max_answer_mib=table.get("max_answer_mib"),
        token_command_timeout=table.get("token_command_timeout"),
    )
    return ws.validated()


def _build_notify(table: Any) -> NotifySettings:
    """The [notify] table (jobwatch.notify.settings validates it); a pasted secret in
    on_job_end is refused without being echoed."""
    settings = NotifySettings.from_table(table, error=InvalidSetting)
    command = settings.on_job_end
    parts = [command] if isinstance(command, str) else list(command or ())
    if any(looks_like_secret(part) for part in parts):
        raise InvalidSetting(
            "notify.on_job_end",
            "that looks like a secret: on_job_end gets no credential and must not hold one",
        )
    return settings


def _build_kinds(table: Any) -> tuple[KindRule, ...]:
    """The [kinds] table: `rules`, an ordered array of { match = "REGEX", kind = "NAME" }, each
    validated by jobwatch.kinds.compile_rule (which refuses patterns that could match slowly)."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise InvalidSetting("kinds", f"expected a [kinds] table, got {_type_name(table)}")
    for key in table:
        if key not in _KINDS_KEYS:
            raise InvalidSetting(
                f"kinds.{key}", f"unknown setting (known: {', '.join(_KINDS_KEYS)})"
            )
    rules = table.get("rules", [])
    if not isinstance(rules, list):
        raise InvalidSetting(
            "kinds.rules", f"expected an array of {_RULE_SHAPE}, got {_type_name(rules)}"
        )
    if len(rules) > MAX_RULES:
        raise InvalidSetting("kinds.rules", f"{len(rules)} rules; at most {MAX_RULES}")
    return tuple(_build_rule(n, rule) for n, rule in enumerate(rules, 1))


def _build_rule(n: int, rule: Any) -> KindRule:
    key = f"kinds.rules[{n}]"
    if not isinstance(rule, dict):
        raise InvalidSetting(key, f"expected {_RULE_SHAPE}, got {_type_name(rule)}")
    for name in rule:
        if name not in _RULE_KEYS:
            raise InvalidSetting(key, f"unknown key {_short(str(name))} (known: match, kind)")
    for name in _RULE_KEYS:
        if name not in rule:
            raise InvalidSetting(key, f"missing {name} (a rule is {_RULE_SHAPE})")
        if not isinstance(rule[name], str):
            raise InvalidSetting(key, f"{name} must be a string, got {_type_name(rule[name])}")
    try:
        return compile_rule(rule["match"], rule["kind"], where=key)
    except KindRuleError as exc:
        raise InvalidSetting(key, exc.describe().removeprefix(f"{key}: ")) from None


def _validate_credentials(prefix: str, given: dict[str, Any]) -> dict[str, str]:
    if len(given) > 1:
        raise InvalidSetting(
            f"{prefix}.{list(given)[1]}",
            f"give only one of token_env, api_key_env, token_command (found {', '.join(given)})",
        )
    result = {}
    for key, value in given.items():
        full = f"{prefix}.{key}"
        value = _validate_text(full, value)
        if key != "token_command" and not _ENV_NAME_RE.fullmatch(value):
            raise InvalidSetting(
                full,
                "must name an environment variable (letters, digits, '_'), e.g. SHARELY_PROD_TOKEN",
            )
        result[key] = value
    return result


def _validate_interval(key: str, value: Any) -> float:
    return _validate_number(key, value, MIN_INTERVAL, MAX_INTERVAL, "seconds")


def _validate_number(key: str, value: Any, low: float, high: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting(key, f"expected a number of {unit}, got {_type_name(value)}")
    if not low <= value <= high:  # also refuses nan
        raise InvalidSetting(key, f"must be between {low:g} and {high:g} {unit}, got {value:g}")
    return float(value)


def _validate_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidSetting(key, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        raise InvalidSetting(key, "must not be empty")
    return value


def _with_key(key: str, validator, value: Any) -> str:
    try:
        return validator(value)
    except InvalidSetting as exc:
        raise InvalidSetting(key, exc.message) from None


def _refuse_secrets(table: dict[str, Any], prefix: str) -> None:
    for key in table:
        if key.lower().replace("-", "_") in _SECRET_KEYS:
            raise InvalidSetting(prefix + key, _SECRET_MESSAGE)


def _type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return "a date/time" if value is not None else "nothing"


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


_TOML_POS_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END_RE = re.compile(r"\s*\(at end of document\)\s*$")


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[str, int | None]:
    message = str(exc)
    line = getattr(exc, "lineno", None)
    match = _TOML_POS_RE.search(message)
    if match:
        line = line or int(match.group(1))
        message = message[: match.start()] + f" (column {match.group(2)})"
    elif _TOML_END_RE.search(message):
        message = _TOML_END_RE.sub(" (at end of file)", message)
        line = line or text.count("\n") + (0 if text.endswith("\n") else 1)
    return message, line


_HEADER_RE = re.compile(r"^\s*\[(?!\[)(.*?)\]\s*(#.*)?$")
_PART_RE = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)""")


def _split_dotted(text: str) -> tuple[str, ...] | None:
    parts = []
    pos = 0
    while pos < len(text):
        match = _PART_RE.match(text, pos)
        if not match:
            return None
        parts.append(next(g for g in match.groups()[:3] if g is not None))
        pos = match.end()
        if not match.group(4):
            break
    return tuple(parts)


def _find_line(text: str, dotted_key: str | None) -> int | None:
    """Best effort: the line defining `dotted_key` (e.g. "workspaces.prod.interval").

    Tries every split of the key into [table] + key, since a workspace name may itself
    contain dots; falls back to the line of the table header.
    """
    if not dotted_key:
        return None
    rule = _RULE_KEY_RE.fullmatch(dotted_key)
    if rule is not None:
        found = _rule_line(text, int(rule.group(1)))
        if found is not None:
            return found
        dotted_key = "kinds.rules"
    names = dotted_key.split(".")
    lines = text.splitlines()
    headers: dict[str, int] = {}
    for cut in range(len(names) - 1, -1, -1):
        table, key = ".".join(names[:cut]), ".".join(names[cut:])
        current = ""
        for number, line in enumerate(lines, start=1):
            header = _HEADER_RE.match(line)
            if header:
                parts = _split_dotted(header.group(1))
                current = ".".join(parts) if parts else "\0"
                headers.setdefault(current, number)
                continue
            if current == table and _defines(line, key):
                return number
    for cut in range(len(names), 0, -1):
        found = headers.get(".".join(names[:cut]))
        if found is not None:
            return found
    return None


_RULE_KEY_RE = re.compile(r"kinds\.rules\[(\d+)\]")
_ANY_HEADER_RE = re.compile(r"^\s*\[\[?\s*(.*?)\s*\]\]?\s*(#.*)?$")
_MATCH_KEY_RE = re.compile(r"""(^|[{,])\s*(match|"match"|'match')\s*=""")


def _rule_line(text: str, number: int) -> int | None:
    """The line of the `number`th kind rule: the `number`th line in [kinds] or [[kinds.rules]]
    that sets `match` (one rule a line, or one [[kinds.rules]] table each, as people write them)."""
    section = ""
    seen = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        header = _ANY_HEADER_RE.match(line)
        if header:
            parts = _split_dotted(header.group(1))
            section = ".".join(parts) if parts else "\0"
            continue
        if section in ("kinds", "kinds.rules") and _MATCH_KEY_RE.search(line):
            seen += 1
            if seen == number:
                return line_number
    return None


def _defines(line: str, key: str) -> bool:
    match = re.match(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""", line)
    if not match:
        return False
    found = match.group(1)
    if found[:1] in "\"'":
        found = found[1:-1]
    return found == key
