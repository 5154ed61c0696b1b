"""The one boundary between untrusted API text and the user's terminal, clipboard and pipes.

Everything the API sends (workflowIds, runIds, status names, error bodies, workspace names) can
carry characters a terminal interprets (``ESC ] 52`` sets the clipboard, ``ESC ] 0`` the window
title, ``ESC [ 2 J`` clears the screen) or that fool a reader (U+202E reverses what follows,
U+200B hides inside an ID). Every output path shows such text through this module:

* `visible` - the one-line shown form, optionally bounded by a middle ellipsis;
* `visible_lines` - the same, keeping ``\\n`` as a real line break;
* `json_dumps` - ``--json`` output: exact values, dangerous characters as ``\\uXXXX``;
* `middle_ellipsis` - bound shown text to a number of terminal cells, keeping the unique tail;
* `is_clean` - True when `visible` would leave the text as it is.

Which characters are dangerous is decided in one place, `is_unsafe_char` (see its docstring and
`UNSAFE_CATEGORIES`). Shown form of a dangerous character: Python's escape syntax, lowercase
hex - ``\\x1b``, ``\\x85``, ``\\u202e``, ``\\ud800`` (lone surrogate), ``\\U000e0001`` - and the
short ``\\t``, ``\\n``, ``\\r`` for the three everyone knows. So ``ESC ] 52 ; c ; ...`` shows as
``\\x1b]52;c;...``: inert, and it says what it was.

A backslash in the text stays a single backslash. The shown form is for eyes, never parsed
back, and `json_dumps` is the lossless form for machines. The cost of the choice is that a
literal six-character ``\\u202e`` in the text looks like an escaped U+202E; the only way to
produce that look-alike is to send harmless printable text, so nothing is hidden by it. In
exchange error bodies (JSON snippets, Windows paths, regexes) read as they are, `visible` is
idempotent (``visible(visible(x)) == visible(x)``) and the fast path stays one C-level check.

No Textual import: the CLI uses this module too. Cell widths come from ``rich.cells``, the
measure Textual lays out with, imported only when a non-ASCII string has to be measured.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Final

import orjson

__all__ = [
    "ELLIPSIS",
    "UNSAFE_CATEGORIES",
    "cell_width",
    "escape_char",
    "is_clean",
    "is_unsafe_char",
    "json_dumps",
    "middle_ellipsis",
    "visible",
    "visible_lines",
]

UNSAFE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Unicode general categories whose characters are never shown raw (see `is_unsafe_char`)."""

ELLIPSIS: Final = "\u2026"  # "…": one cell to rich.cells, as to Textual

_SHORT_ESCAPES: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# Every character that is not printable ASCII: the candidates a slow path looks at. Whether a
# candidate is escaped is decided by is_unsafe_char alone.
_CANDIDATE: Final = re.compile(r"[^\x20-\x7e]")

# One shown unit of escaped text: an escape as escape_char writes it, or a single character.
_TOKEN: Final = re.compile(r"\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[nrt])|.", re.DOTALL)

# Where an ID's parts meet; middle_ellipsis keeps the last part whole when it can.
_SEPARATORS: Final = frozenset("-_.:/")


def is_unsafe_char(char: str) -> bool:
    """Whether `char` (one character) must never reach a terminal raw. The one home of the set.

    Unsafe means its Unicode general category is in `UNSAFE_CATEGORIES`:

    * Cc - C0 controls U+0000-U+001F (``\\t \\n \\r`` too: one-line fields must not break),
      DEL U+007F, C1 controls U+0080-U+009F (U+009B is a one-byte CSI, U+009D a one-byte OSC);
    * Cf - format characters: bidi embeddings/overrides U+202A-U+202E, isolates U+2066-U+2069,
      marks U+200E U+200F U+061C; zero-width U+200B-U+200D, U+2060-U+2064, U+FEFF, U+180E;
      soft hyphen U+00AD; tag characters U+E0001-U+E007F; interlinear annotations; ...
    * Cs - lone surrogates (they cannot even be encoded to UTF-8 for a terminal);
    * Zl, Zp - U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR (line breaks to some renderers);
    * Co - private use (U+E000-U+F8FF, planes 15-16): its glyph is whatever the user's font
      puts there (Nerd Font icons, nothing), at an unknown width; a reader cannot tell what it
      is, so it is shown as its code point;
    * Cn - unassigned in this Python's Unicode database (`unicodedata.unidata_version`, 14.0 on
      Python 3.11). Terminals disagree about their width and many show nothing; the price is
      that characters newer than the database (a Unicode 15 emoji) show as ``\\U0001fae8``.

    Shown raw on purpose: letters, marks, digits, punctuation, symbols, and Zs spaces (U+00A0,
    U+3000 ...: a blank cell, harmless to a terminal, common in CJK names). Look-alikes
    (homoglyphs, Hangul fillers, combining-mark stacks) are letters or marks; telling them from
    the real thing is not a job one character at a time.

    Every unsafe character is also not ``str.isprintable()`` (Python's printable means neither
    category C* nor Z* other than the ASCII space, from the same database), which is what makes
    ``text.isprintable()`` a sound fast path; tests check it for every code point.
    """
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def escape_char(char: str) -> str:
    """How `char` is shown: ``\\t \\n \\r``, else ``\\xHH``, ``\\uHHHH``, ``\\UHHHHHHHH``."""
    short = _SHORT_ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@lru_cache(maxsize=4096)
def _shown_char(char: str) -> str:
    return escape_char(char) if is_unsafe_char(char) else char


def _shown_match(match: re.Match[str]) -> str:
    return _shown_char(match.group())


@lru_cache(maxsize=4096)
def _json_char(char: str) -> str:
    # Raw C0 in encoder output can only be whitespace between tokens: strings have them escaped.
    if char < " " or not is_unsafe_char(char):
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _json_match(match: re.Match[str]) -> str:
    return _json_char(match.group())


# Cost of visible() per 100k IDs ("cascade-delete-knowledge-5c1fb80b" and the like, 24-33
# characters; Python 3.11, the dev container; a bare loop over the list is 1 ms):
#   typical IDs, clean:                              11 ms  (~0.1 us an ID, most of it isprintable)
#   one dangerous character in every ID (ESC, U+202E, ZWSP, U+009B, ...):   84 ms  (~0.8 us an ID)
#   limit=40, typical IDs that fit:                  22 ms
#   limit=20, typical IDs, every one cut:           138 ms  (plain slicing)
#   limit=20, one dangerous character each, cut:   1050 ms  (~10 us: tokenized around escapes)
# json_dumps() of 100k job dicts: 24 ms clean (orjson alone: 6 ms), 88 ms with one each.
def visible(text: str, limit: int | None = None) -> str:
    """`text` as one line that is safe to print or paint: every unsafe character escaped.

    With `limit`, the result is at most `limit` terminal cells, cut in the middle so the unique
    tail survives (see `middle_ellipsis`). Text already clean and short enough is returned as
    it is, after one C-level ``isprintable()`` scan.
    """
    if not text.isprintable():
        text = _CANDIDATE.sub(_shown_match, text)
    return text if limit is None else middle_ellipsis(text, limit)


def visible_lines(text: str, limit: int | None = None) -> str:
    """Like `visible`, but ``\\n`` stays a real line break (notifications, support snippets).

    ``\\r\\n`` counts as one line break; any other ``\\r`` is escaped (a bare carriage return
    would let a later line overwrite an earlier one). `limit` bounds every line on its own, in
    cells; the number of lines is the caller's to bound.
    """
    if text.isprintable():
        return visible(text, limit)
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(visible(line, limit) for line in lines)


def is_clean(text: str) -> bool:
    """True when ``visible(text) == text``: no unsafe character in it."""
    return text.isprintable() or not any(map(is_unsafe_char, text))


def json_dumps(obj: object) -> str:
    """Compact JSON for ``--json`` output: the exact value, but no unsafe character raw.

    Unsafe characters (DEL, C1, bidi, zero-width, ... see `is_unsafe_char`) are written as
    ``\\uXXXX`` (a surrogate pair beyond the BMP), so a terminal showing the JSON is not driven
    by it while ``json.loads`` / ``orjson.loads`` return the identical object. C0 controls are
    escaped by the encoder already. Encoded by orjson; the output is scanned again only when it
    holds something other than printable characters.

    Values orjson refuses that the standard library encodes - strings holding lone surrogates
    (possible after ``json.loads``), integers beyond 64 bits - go through ``json.dumps`` with
    the same compact separators. A lone surrogate comes out as ``\\udXXX``, which
    ``json.loads`` reads back and orjson.loads rejects.
    """
    try:
        out = orjson.dumps(obj).decode()
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        try:
            out = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            raise exc from None
    if out.isprintable():
        return out
    return _CANDIDATE.sub(_json_match, out)


def cell_width(text: str) -> int:
    """Terminal cells `text` takes, as Textual measures it (rich.cells); ASCII is its length."""
    if text.isascii():
        return len(text)  # an upper bound for ASCII controls, which rich counts as 0
    from rich.cells import cell_len

    return cell_len(text)


def _token_width(token: str) -> int:
    if token.isascii():
        return len(token)
    from rich.cells import get_character_cell_size

    return get_character_cell_size(token)


def middle_ellipsis(text: str, width: int) -> str:
    """`text` in at most `width` terminal cells, cut in the middle with "…" if it is longer.

    The tail is what tells IDs apart, so it gets the larger half of the room, or exactly the
    last separator-delimited part (after the last ``-_.:/``) when that fits in the half:
    ``middle_ellipsis("cascade-delete-knowledge-5c1fb80b", 26) == "cascade-delete-kn…5c1fb80b"``.
    Wide (East Asian) characters count two cells. An escape written by `escape_char`
    (``\\x1b``, ``\\u202e`` ...) is never cut in half: it is kept whole or left out. Width 0
    gives "", width 1 gives "…". Meant for text that is already `visible`.
    """
    if width <= 0:
        return ""
    if cell_width(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    room = width - 1
    tail_room = (room + 1) // 2
    if text.isascii() and "\\" not in text:  # one cell a character: plain slicing
        part_width = len(text) - 1 - max(map(text.rfind, _SEPARATORS))
        if 0 < part_width <= tail_room:
            tail_room = part_width
        return text[: room - tail_room] + ELLIPSIS + text[len(text) - tail_room :]
    tokens: list[str] = _TOKEN.findall(text)
    widths = list(map(len, tokens)) if text.isascii() else list(map(_token_width, tokens))
    count = len(tokens)
    last_part = next((i for i in range(count - 1, -1, -1) if tokens[i] in _SEPARATORS), None)
    if last_part is not None:
        part_width = sum(widths[last_part + 1 :])
        if 0 < part_width <= tail_room:
            tail_room = part_width
    start, tail_used = count, 0  # the tail is tokens[start:]
    while start > 0 and tail_used + widths[start - 1] <= tail_room:
        start -= 1
        tail_used += widths[start]
    end, head_used = 0, 0  # the head is tokens[:end]
    while end < start and head_used + widths[end] + tail_used <= room:
        head_used += widths[end]
        end += 1
    while start > end and head_used + tail_used + widths[start - 1] <= room:
        start -= 1  # room the head could not use (a wide character, an escape) goes to the tail
        tail_used += widths[start]
    while start < count and widths[start] == 0:
        start += 1  # a combining mark without its base would join the ellipsis
    result = "".join(tokens[:end]) + ELLIPSIS + "".join(tokens[start:])
    while cell_width(result) > width:  # rich joins some sequences wider (emoji + U+FE0F)
        if end > 0:
            end -= 1
        else:
            start += 1
        result = "".join(tokens[:end]) + ELLIPSIS + "".join(tokens[start:])
    return result
