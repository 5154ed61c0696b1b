"""The bytes that ask a terminal for a desktop notification, and their wrappers for multiplexers.

    OSC 9     ESC ] 9 ; text BEL                      iTerm2, kitty, WezTerm, Ghostty, foot
    OSC 777   ESC ] 777 ; notify ; title ; body BEL   foot, WezTerm, Ghostty, Windows Terminal,
                                                      rxvt-unicode (its notify extension)
    OSC 99    ESC ] 99 ; i=ID:d=0:p=title:e=1 ; base64 ESC \\  (then p=body, d=1)   kitty
    bell      BEL
    tmux      ESC P tmux ; <the sequence, every ESC doubled> ESC \\
    screen    ESC P <at most SCREEN_CHUNK_BYTES of the sequence> ESC \\, repeated; texts in ASCII

Every title and body goes through `jobwatch.sanitize.visible` with a bound in cells, so text that
came from the API (a workflowId, a status name) never carries ESC, BEL, ST or a C1 control into
the sequence: it shows as `\\x1b`. What each protocol cannot carry is replaced, in one place each:
a ";" in an OSC 777 field would end the field early (foot, WezTerm split on it), so it becomes
","; OSC 9 text that starts with a digit reads as a ConEmu/Windows Terminal sub-command
("9;4;..." sets a progress bar), so it gets a "jobwatch: " prefix; OSC 99 sends its text as
base64 (`e=1`), in chunks of at most OSC99_CHUNK_BYTES (kitty's limit for one payload, before
encoding), so it needs no replacement at all.
"""

from __future__ import annotations

import base64
import unicodedata
from typing import Literal, get_args

from jobwatch.sanitize import visible
from jobwatch.statuses import STATUSES

#: how a notification reaches the terminal ("off": it does not)
Method = Literal["osc9", "osc777", "osc99", "bell", "off"]
METHODS: tuple[Method, ...] = get_args(Method)
#: the multiplexer between jobwatch and the terminal, whose own wrapper the sequence needs
Wrap = Literal["none", "tmux", "screen"]

#: Bounds in terminal cells. Desktop notifiers cut long text anyway (GNOME shows ~2 lines of a
#: body, macOS ~4); the bounds keep a hostile 100 kB workflowId from becoming a 100 kB write.
MAX_TITLE_CELLS = 80
MAX_BODY_CELLS = 300
#: kitty: "The size of the payload must be no longer than 2048 bytes, before being encoded."
OSC99_CHUNK_BYTES = 2048
#: GNU screen keeps at most 768 bytes of one string sequence (MAXSTR); osc52 scripts that go
#: through screen use pieces of 76, which every screen version passes whole.
SCREEN_CHUNK_BYTES = 76

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"


def clean_title(text: str) -> str:
    """One line, no control character, at most MAX_TITLE_CELLS cells."""
    return visible(text, MAX_TITLE_CELLS)


def clean_body(text: str) -> str:
    """One line, no control character, at most MAX_BODY_CELLS cells."""
    return visible(text, MAX_BODY_CELLS)


def osc9(title: str, body: str) -> str:
    """iTerm2's notification: one text, "title: body"."""
    title, body = clean_title(title), clean_body(body)
    text = f"{title}: {body}" if title and body else title or body
    if text[:1].isdigit():
        text = "jobwatch: " + text
    return f"{ESC}]9;{text}{BEL}"


def osc777(title: str, body: str) -> str:
    """rxvt-unicode's notify: a title and a body, each without ";"."""
    title = clean_title(title).replace(";", ",")
    body = clean_body(body).replace(";", ",")
    return f"{ESC}]777;notify;{title};{body}{BEL}"


def _utf8_chunks(text: str, limit: int) -> list[bytes]:
    """The UTF-8 of `text` in pieces of at most `limit` bytes, never splitting a character."""
    if limit < 4:
        raise ValueError("a piece must hold the longest UTF-8 character (4 bytes)")
    data = text.encode("utf-8")
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        chunks.append(data[start:end])
        start = end
    return chunks or [b""]


def osc99(title: str, body: str, ident: str, *, terminator: str = ST) -> str:
    """kitty's notification: the title then the body, base64, chunked, under one id.

    `ident` groups the chunks into one notification (kitty: `[a-zA-Z0-9_+.-]`, "globally
    unique"); `o=unfocused` lets kitty itself skip it while its window has the focus (the policy
    already does when it knows the focus, kitty knows it even when jobwatch does not).
    """
    if not ident or any(not (c.isascii() and (c.isalnum() or c in "_+.-")) for c in ident):
        raise ValueError(f"an OSC 99 id is made of [a-zA-Z0-9_+.-], not {ident!r}")
    parts = [("title", chunk) for chunk in _utf8_chunks(clean_title(title), OSC99_CHUNK_BYTES)]
    if body:
        parts += [("body", chunk) for chunk in _utf8_chunks(clean_body(body), OSC99_CHUNK_BYTES)]
    out = []
    for n, (kind, chunk) in enumerate(parts):
        done = 1 if n == len(parts) - 1 else 0
        payload = base64.b64encode(chunk).decode("ascii")
        out.append(f"{ESC}]99;i={ident}:d={done}:p={kind}:o=unfocused:e=1;{payload}{terminator}")
    return "".join(out)


def tmux_passthrough(sequence: str) -> str:
    """For tmux (3.3+ with `allow-passthrough on`): DCS tmux; ... ST, every ESC inside doubled."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ST}"


def screen_passthrough(sequence: str) -> str:
    """For GNU screen: the sequence in DCS pieces that screen hands to the terminal as they are.

    The sequence must not hold ST (ESC \\), which would end a piece early: encode() uses BEL
    terminators under screen. Pieces end between characters; the terminal joins them.
    """
    # Every ESC starts a piece, so none is cut off from the byte after it.
    heads = [
        ESC + part if n or sequence.startswith(ESC) else part
        for n, part in enumerate(sequence.split(ESC))
        if part
    ]
    pieces = [piece for head in heads for piece in _utf8_chunks(head, SCREEN_CHUNK_BYTES)]
    return "".join(f"{ESC}P{piece.decode('utf-8')}{ST}" for piece in pieces)


#: what jobwatch's own texts hold beyond ASCII: its separators, and the status glyphs as "*"
_ASCII = str.maketrans(
    {"\u00b7": "-", "\u2014": "-", "\u2013": "-", "\u2026": "..."}
    | {info.symbol: "*" for info in STATUSES.values() if not info.symbol.isascii()}
)


def ascii_only(text: str) -> str:
    """`text` in ASCII, for GNU screen: accents dropped (é -> e), any other character "?".

    screen reads its DCS strings byte by byte, not as UTF-8: a UTF-8 continuation byte in
    0x80-0x9F is a C1 control to it (0x9C, ST, ends the string; "✗" is E2 9C 97), so a
    non-ASCII character could end the passthrough early and spill the rest on the screen.
    Seen with screen 4.09.00; OSC 99's base64 is ASCII already.
    """
    if text.isascii():
        return text
    plain = unicodedata.normalize("NFKD", text.translate(_ASCII))
    return "".join(c if c.isascii() else "?" for c in plain if not unicodedata.combining(c))


def encode(title: str, body: str, method: Method, wrap: Wrap = "none", ident: str = "1") -> str:
    """What to write to the terminal for one notification ("" for "off").

    The bell is never wrapped: tmux and screen ring their own terminal's bell for a pane's BEL.
    """
    if method == "off":
        return ""
    if method == "bell":
        return BEL
    if wrap == "screen" and method != "osc99":
        title, body = ascii_only(title), ascii_only(body)
    if method == "osc9":
        sequence = osc9(title, body)
    elif method == "osc777":
        sequence = osc777(title, body)
    else:
        sequence = osc99(title, body, ident, terminator=BEL if wrap == "screen" else ST)
    if wrap == "tmux":
        return tmux_passthrough(sequence)
    if wrap == "screen":
        return screen_passthrough(sequence)
    return sequence
