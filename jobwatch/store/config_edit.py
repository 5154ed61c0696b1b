"""Edit a hand-written config.toml in place: change only the entries that changed.

`jobwatch workspaces add/remove/default` and the dashboard's theme choice used to rewrite the
whole file from the parsed values, which dropped every comment and turned ``interval = 5`` into
``5.0``. Here an edit is a round trip through tomlkit (a style-preserving TOML library): the
document is parsed with its comments, blank lines, key order and number formats, the changed
keys and tables are set or deleted, and it is written back. Everything else stays byte for byte.

One thing tomlkit gets wrong for this file: it files the comment lines just above a table's
header under the *previous* table, so deleting ``[workspaces.prod]`` would also delete the
comment that introduces the next workspace. A table is therefore cut out of the text by lines
(`cut_table`): its header, the comment block directly above the header, and its body up to the
comment block directly above the next header. The caller (`jobwatch.store.config.save_config`)
parses the result again and compares it with what it meant to write, and retries with tomlkit
alone if the two differ, so a heuristic can cost a comment but never a setting.

A state is the file's meaning as plain values: ``{"default", "theme", "bell", "notify": {key:
value}, "kinds": {"rules": [{"match", "kind"}, ...]}, "workspaces": {name: {key: value}}}``,
None for a key or table that is absent. The [notify] and [kinds] tables are edited key by key
like a workspace's entry; kind rules are written as an array of inline tables, one rule a line.
"""

from __future__ import annotations

import re
from typing import Any

import tomlkit
from tomlkit.items import Table

State = dict[str, Any]

#: the top-level keys a state holds besides the tables, in the order a new file gets them
TOP_KEYS = ("default", "theme", "bell")
#: the top-level tables a state holds besides "workspaces", in the order a new file gets them
TABLES = ("notify", "kinds")

_ANY_HEADER = re.compile(r"^\s*\[")
_TABLE_HEADER = re.compile(r"^\s*\[(?!\[)(.*)\]\s*(?:#.*)?$")
_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)""")


def _header_key(line: str) -> tuple[str, ...] | None:
    """The dotted key of a ``[table]`` header line, or None (not a header, or unreadable)."""
    match = _TABLE_HEADER.match(line)
    if not match:
        return None
    text, parts, pos = match.group(1), [], 0
    while pos < len(text):
        part = _PART.match(text, pos)
        if not part:
            return None
        parts.append(next(g for g in part.groups()[:3] if g is not None))
        pos = part.end()
        if not part.group(4):
            break
    return tuple(parts)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def cut_table(text: str, key: tuple[str, ...]) -> str | None:
    """`text` without the ``[key]`` table and the comment block right above its header; None
    when there is no such header line (the table is inline or dotted: tomlkit's job)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _header_key(line) == key]
    if len(starts) != 1:
        return None
    start = starts[0]
    end = next((i for i in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines))
    if end < len(lines):  # the comment lines directly above the next header are that header's
        while end > start + 1 and _is_comment(lines[end - 1]):
            end -= 1
    while start > 0 and _is_comment(lines[start - 1]):  # and those above this one are this one's
        start -= 1
    kept = lines[:start] + lines[end:]
    result = "".join(kept)
    if end == len(lines):  # it was the last table: no blank lines left dangling at the end
        result = result.rstrip("\n") + "\n" if result.strip() else ""
    return result


def _value(value: Any) -> Any:
    """A value as a person would write it: a whole number of seconds without ".0", an array of
    tables (kind rules) as inline tables, one a line."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        array = tomlkit.array()
        for item in value:
            inline = tomlkit.inline_table()
            inline.update({k: _value(v) for k, v in item.items()})
            array.append(inline)
        return array.multiline(True)
    return value


def _workspace_table(entry: dict[str, Any]) -> Table:
    table = tomlkit.table()
    for key, value in entry.items():
        if value is not None:
            table[key] = _value(value)
    return table


def _edit_table(table: Any, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Set or delete, in a table of the document, the keys whose values differ."""
    for key in dict.fromkeys([*before, *after]):
        if before.get(key) != after.get(key):
            if after.get(key) is None:
                table.pop(key, None)
            else:
                table[key] = _value(after[key])


def _workspaces(doc: tomlkit.TOMLDocument) -> Any:
    if "workspaces" not in doc:
        doc["workspaces"] = tomlkit.table(is_super_table=True)
    return doc["workspaces"]


def edit(text: str, disk: State, target: State, *, cut: bool = True) -> str:
    """`text` (whose meaning is `disk`) changed to mean `target`, touching only what differs."""
    removed = [name for name in disk["workspaces"] if name not in target["workspaces"]]
    pending = []
    for name in removed:
        shorter = cut_table(text, ("workspaces", name)) if cut else None
        if shorter is None:
            pending.append(name)
        else:
            text = shorter
    doc = tomlkit.parse(text)
    for name in pending:
        del doc["workspaces"][name]
    for key in TOP_KEYS:
        if disk[key] != target[key]:
            if target[key] is None:
                doc.pop(key, None)
            else:
                doc[key] = _value(target[key])
    for key in TABLES:
        if disk[key] == target[key]:
            continue
        if target[key] is None:
            doc.pop(key, None)
        elif key not in doc:
            doc[key] = _workspace_table(target[key])
        else:
            _edit_table(doc[key], disk[key] or {}, target[key])
    for name, entry in target["workspaces"].items():
        before = disk["workspaces"].get(name)
        if before is None:
            _workspaces(doc)[name] = _workspace_table(entry)
            continue
        _edit_table(doc["workspaces"][name], before, entry)
    if removed and "workspaces" in doc and not doc["workspaces"]:
        del doc["workspaces"]
    return tomlkit.dumps(doc)


def render(target: State) -> str:
    """A new file for `target`: the top-level keys, [notify], [kinds], then a
    ``[workspaces.NAME]`` table each."""
    parts = []
    top = "".join(
        tomlkit.dumps({key: _value(target[key])}) for key in TOP_KEYS if target[key] is not None
    )
    if top:
        parts.append(top)
    for key in TABLES:
        if target[key] is not None:
            parts.append(tomlkit.dumps({key: _workspace_table(target[key])}).lstrip("\n"))
    for name, entry in target["workspaces"].items():
        doc = tomlkit.document()
        _workspaces(doc)[name] = _workspace_table(entry)
        parts.append(tomlkit.dumps(doc).lstrip("\n"))
    return "\n".join(parts)
