"""The bytes of each notification sequence, their wrappers, and that API text never escapes them."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobwatch.notify import terminal
from jobwatch.notify.terminal import (
    MAX_BODY_CELLS,
    MAX_TITLE_CELLS,
    METHODS,
    ascii_only,
    encode,
    osc9,
    osc99,
    osc777,
    screen_passthrough,
    tmux_passthrough,
)
from jobwatch.sanitize import visible

TITLE = "jobwatch \u00b7 prod"
BODY = "\u2717 FAILED taxonomy-publish-9ef14040"
HOSTILE = [
    "evil\x1b]52;c;aGVsbG8=\x07",  # sets the clipboard
    "x\x1b\\y",  # ST
    "a\x9cb\x9dc\x9bd",  # C1 ST, OSC, CSI
    "bell\x07here",
    "\x1bPtmux;\x1b\x1b]9;inner\x07\x1b\\",  # a passthrough of its own
    "rtl\u202eoverride",
    "zero\u200bwidth",
    "nul\x00del\x7f",
    "line\nbreak\rcr",
    "9;4;1;50",  # a ConEmu progress bar
]


def test_osc9_exact_bytes():
    assert osc9(TITLE, BODY).encode() == (
        b"\x1b]9;jobwatch \xc2\xb7 prod: \xe2\x9c\x97 FAILED taxonomy-publish-9ef14040\x07"
    )


def test_osc777_exact_bytes():
    assert osc777(TITLE, BODY).encode() == (
        b"\x1b]777;notify;jobwatch \xc2\xb7 prod;\xe2\x9c\x97 FAILED taxonomy-publish-9ef14040\x07"
    )


def test_osc99_exact_bytes_title_then_body_base64():
    assert osc99("jobwatch", "FAILED x", "jobwatch-7-1") == (
        "\x1b]99;i=jobwatch-7-1:d=0:p=title:o=unfocused:e=1;am9id2F0Y2g=\x1b\\"
        "\x1b]99;i=jobwatch-7-1:d=1:p=body:o=unfocused:e=1;RkFJTEVEIHg=\x1b\\"
    )


def test_osc99_without_body_is_one_done_sequence():
    assert osc99("hello", "", "a") == "\x1b]99;i=a:d=1:p=title:o=unfocused:e=1;aGVsbG8=\x1b\\"


def test_tmux_passthrough_doubles_every_esc():
    assert tmux_passthrough("\x1b]9;hi\x07").encode() == b"\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    wrapped = tmux_passthrough(osc99("t", "b", "i"))
    assert wrapped.startswith("\x1bPtmux;") and wrapped.endswith("\x1b\\")
    inner = wrapped[len("\x1bPtmux;") : -2]
    assert "\x1b" not in inner.replace("\x1b\x1b", "")
    assert inner.replace("\x1b\x1b", "\x1b") == osc99("t", "b", "i")


def test_screen_pieces_are_short_and_join_to_the_sequence():
    sequence = osc777("t" * 70, "\u00e9" * 100)
    wrapped = screen_passthrough(sequence)
    pieces = re.findall(r"\x1bP(.*?)\x1b\\", wrapped, re.DOTALL)
    assert "".join(pieces) == sequence
    assert len(pieces) > 3
    for piece in pieces:
        assert len(piece.encode()) <= terminal.SCREEN_CHUNK_BYTES
        assert not piece.endswith("\x1b")  # an ESC is never cut off from what follows it
        assert "\x1b" not in piece[1:]


def test_osc99_under_screen_ends_with_bel_not_st():
    wrapped = encode("t", "b", "osc99", "screen", "i")
    pieces = re.findall(r"\x1bP(.*?)\x1b\\", wrapped, re.DOTALL)
    assert "".join(pieces).count("\x07") == 2  # ST inside would end a piece early
    assert all("\x1b" not in piece[1:] for piece in pieces)  # each ESC starts its own piece


def test_screen_gets_ascii_only():
    assert ascii_only("jobwatch \u00b7 prod: \u2717 FAILED caf\u00e9-\u4e2d") == (
        "jobwatch - prod: * FAILED cafe-?"
    )
    wrapped = encode(TITLE, BODY, "osc9", "screen")
    assert wrapped.isascii()
    assert "".join(re.findall(r"\x1bP(.*?)\x1b\\", wrapped, re.DOTALL)) == (
        "\x1b]9;jobwatch - prod: * FAILED taxonomy-publish-9ef14040\x07"
    )
    assert encode(TITLE, BODY, "osc9", "tmux") == tmux_passthrough(osc9(TITLE, BODY))  # UTF-8 kept


def test_bell_and_off():
    for wrap in ("none", "tmux", "screen"):
        assert encode("t", "b", "bell", wrap) == "\x07"  # never wrapped: tmux rings its own
        assert encode("t", "b", "off", wrap) == ""


def test_osc777_semicolons_cannot_add_fields():
    seq = osc777("a;b", "c;d;e")
    assert seq == "\x1b]777;notify;a,b;c,d,e\x07"
    assert len(seq[2:-1].split(";")) == 4


def test_osc9_text_starting_with_a_digit_is_not_a_conemu_command():
    assert osc9("", "4;1;50") == "\x1b]9;jobwatch: 4;1;50\x07"
    assert osc9("5 jobs ended", "x").startswith("\x1b]9;jobwatch: 5 jobs")


def test_osc99_chunks_never_split_a_character(monkeypatch):
    monkeypatch.setattr(terminal, "OSC99_CHUNK_BYTES", 7)
    title = "\u00e9t\u00e9 \u2717 \U0001f600 fin"
    seq = osc99(title, "body", "i")
    parts = re.findall(r"\x1b\]99;([^;]*);([A-Za-z0-9+/=]*)\x1b\\", seq)
    assert "".join(m for m, _ in parts) and len(parts) > 3
    titles = [base64.b64decode(p) for m, p in parts if "p=title" in m]
    assert all(len(chunk) <= 7 for chunk in titles)
    assert [chunk.decode("utf-8") for chunk in titles]  # each chunk decodes on its own
    assert b"".join(titles).decode() == title
    assert [m.split(":")[1] for m, _ in parts] == ["d=0"] * (len(parts) - 1) + ["d=1"]


def test_osc99_id_is_checked():
    for bad in ("", "a;b", "a:b", "a\x1b", "\u00e9"):
        with pytest.raises(ValueError):
            osc99("t", "b", bad)


def test_texts_are_bounded_in_cells():
    seq = osc777("T" * 1000, "B" * 100_000)
    _, _, title, body = seq[2:-1].split(";")
    assert len(title) == MAX_TITLE_CELLS and len(body) == MAX_BODY_CELLS
    assert title.endswith("T") and "\u2026" in body


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_ids_are_shown_not_obeyed(text):
    seq = osc9("jobwatch", f"FAILED {text}")
    inner = seq[len("\x1b]9;") : -1]
    assert not any(_is_control(c) for c in inner), repr(seq)
    assert inner == "jobwatch: FAILED " + visible(text)  # the shown form: ESC as \\x1b


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


_FRAMES = {
    "osc9": re.compile(r"\x1b\]9;([^\x1b\x07]*)\x07"),
    "osc777": re.compile(r"\x1b\]777;notify;([^;\x1b\x07]*);([^;\x1b\x07]*)\x07"),
    "osc99": re.compile(r"(?:\x1b\]99;[A-Za-z0-9=:._+-]*;[A-Za-z0-9+/=]*(?:\x1b\\|\x07))+"),
}


def _unwrap(text: str, wrap: str) -> str:
    if wrap == "tmux":
        match = re.fullmatch(r"\x1bPtmux;(.*)\x1b\\", text, re.DOTALL)
        assert match, repr(text)
        inner = match.group(1)
        assert "\x1b" not in inner.replace("\x1b\x1b", ""), "an ESC tmux would obey"
        return inner.replace("\x1b\x1b", "\x1b")
    if wrap == "screen":
        pieces = re.findall(r"\x1bP(.*?)\x1b\\", text, re.DOTALL)
        assert "".join(f"\x1bP{p}\x1b\\" for p in pieces) == text
        return "".join(pieces)
    return text


@settings(max_examples=300, deadline=None)
@given(
    title=st.text(max_size=400),
    body=st.text(max_size=2000),
    method=st.sampled_from(METHODS),
    wrap=st.sampled_from(["none", "tmux", "screen"]),
)
def test_any_text_stays_inside_its_frame(title, body, method, wrap):
    out = encode(title, body, method, wrap, "jobwatch-1-1")
    out.encode("utf-8")  # no lone surrogate reaches the terminal
    if method in ("off", "bell"):
        assert out in ("", "\x07")
        return
    seq = _unwrap(out, wrap)
    assert _FRAMES[method].fullmatch(seq), repr(seq)
    if wrap == "screen":
        assert out.isascii()  # screen would read a UTF-8 byte 0x9C as ST
    framing = {"osc9": 3, "osc777": 3, "osc99": 0}[method]  # ESC ] ... BEL around the text
    texts = seq[2:-1] if framing else ""
    assert not any(_is_control(c) for c in texts)
    assert len(out.encode()) <= 4 * (MAX_TITLE_CELLS + MAX_BODY_CELLS) * 2 + 400
    if method == "osc99":
        payloads = re.findall(r";([A-Za-z0-9+/=]*)(?:\x1b\\|\x07)", seq)
        decoded = "".join(base64.b64decode(p).decode() for p in payloads)
        assert not any(_is_control(c) for c in decoded)
