"""jobwatch.sanitize: what a hostile API string looks like shown, bounded, or dumped as JSON."""

from __future__ import annotations

import json
import re
import sys

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from jobwatch.sanitize import (
    ELLIPSIS,
    UNSAFE_CATEGORIES,
    cell_width,
    escape_char,
    is_clean,
    is_unsafe_char,
    json_dumps,
    middle_ellipsis,
    visible,
    visible_lines,
)

# Every character the sanitizer is specified to escape by name: a terminal interprets it or a
# reader is fooled by it.
NAMED_DANGEROUS = (
    [chr(c) for c in range(0x20)]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
    + [chr(c) for c in range(0x200B, 0x200E)]
    + [chr(c) for c in range(0x2060, 0x2065)]
    + ["\ufeff", "\u180e", "\xad", "\u2028", "\u2029", "\ud800", "\udfff", "\U000e0001"]
)

# An escape exactly as escape_char writes it; shown text is escapes and non-backslashes.
ESCAPE = re.compile(r"\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[nrt])")
ESCAPED_TEXT = re.compile(rf"(?:[^\\]|{ESCAPE.pattern})*", re.S)

PROPERTY = settings(max_examples=300, deadline=None)  # the whole file runs in about 3 s

# Any code point at all (surrogates, private use, unassigned included), skewed towards the
# characters that matter and towards ID-like ASCII so that cuts land near escapes.
any_char = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from(NAMED_DANGEROUS),
    st.characters(categories=["Cs", "Co", "Cn", "Cf", "Cc", "Zl", "Zp"]),
    st.sampled_from("abcdef0123456789-_\\…中😀\u0301\ufe0f\u3000"),
)
any_text = st.text(any_char, max_size=60)
widths = st.integers(min_value=-2, max_value=70)


def shown_len(text: str) -> int:
    """Cells as Textual would lay the text out."""
    return cell_len(text)


def splits_as_head_ellipsis_tail(result: str, text: str) -> bool:
    return any(
        result[i] == ELLIPSIS and text.startswith(result[:i]) and text.endswith(result[i + 1 :])
        for i in range(len(result))
    )


# --- the character set: one definition, and the fast path is sound ---------------------------


def test_every_named_dangerous_character_is_unsafe() -> None:
    assert [c for c in NAMED_DANGEROUS if not is_unsafe_char(c)] == []


def test_unsafe_is_exactly_the_documented_categories() -> None:
    assert {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} == UNSAFE_CATEGORIES
    assert is_unsafe_char("\ue000")  # private use: a font decides what it looks like
    assert is_unsafe_char("\U0010ffff")  # unassigned (noncharacter)


@pytest.mark.parametrize("char", ["a", "é", "中", "😀", "\u0301", "\ufe0f", " ", "\xa0", "\u3000"])
def test_letters_marks_symbols_and_spaces_are_shown_raw(char: str) -> None:
    assert not is_unsafe_char(char)
    assert visible(f"x{char}y") == f"x{char}y"


def test_every_unsafe_code_point_fails_isprintable_so_the_fast_path_is_sound() -> None:
    leaks = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if chr(code).isprintable() and is_unsafe_char(chr(code))
    ]
    assert leaks == []


# --- visible(): examples ----------------------------------------------------------------------


def test_typical_ids_come_back_unchanged_and_identical() -> None:
    wid = "taxonomy-publish-9ef14040"
    assert visible(wid) is wid
    assert visible("") == ""


def test_osc52_clipboard_write_is_inert() -> None:
    hostile = "job-1\x1b]52;c;ZWNobyBwd25lZA==\x07"
    assert visible(hostile) == "job-1\\x1b]52;c;ZWNobyBwd25lZA==\\x07"


@pytest.mark.parametrize("osc", ["0", "2"])
def test_osc_window_title_is_inert(osc: str) -> None:
    assert visible(f"\x1b]{osc};pwned\x07id") == f"\\x1b]{osc};pwned\\x07id"
    assert visible(f"\x1b]{osc};pwned\x1b\\id") == f"\\x1b]{osc};pwned\\x1b\\id"  # ST ending


def test_csi_clear_screen_and_bel_are_inert() -> None:
    assert visible("\x1b[2J\x1b[Hok\x07") == "\\x1b[2J\\x1b[Hok\\x07"


def test_c1_single_byte_csi_and_osc_are_inert() -> None:
    assert visible("a\x9b2Jb\x9d0;t\x9c") == "a\\x9b2Jb\\x9d0;t\\x9c"
    assert visible("\x7f\x85") == "\\x7f\\x85"


def test_bidi_override_and_isolates_are_shown_as_code_points() -> None:
    assert visible("invoice-\u202egpj.exe") == "invoice-\\u202egpj.exe"
    assert visible("\u2066id\u2069\u200f\u061c") == "\\u2066id\\u2069\\u200f\\u061c"


def test_zero_width_and_soft_hyphen_are_made_visible() -> None:
    assert visible("role\u200bassignment") == "role\\u200bassignment"
    assert visible("re\xadtry\ufeff\u2060\u180e") == "re\\xadtry\\ufeff\\u2060\\u180e"


def test_line_breaking_characters_do_not_break_the_line() -> None:
    assert visible("a\nb\r\nc\td") == "a\\nb\\r\\nc\\td"
    assert visible("a\u2028b\u2029c\x0bd\x0ce") == "a\\u2028b\\u2029c\\x0bd\\x0ce"


def test_lone_surrogates_and_astral_format_characters() -> None:
    assert visible("id\ud800x\udfff") == "id\\ud800x\\udfff"
    assert visible("tag\U000e0001\U000e0041") == "tag\\U000e0001\\U000e0041"
    visible("\ud800").encode("utf-8")  # printable to any UTF-8 terminal


def test_backslash_stays_a_single_backslash() -> None:
    assert visible(r'{"path": "C:\temp\new"}') == r'{"path": "C:\temp\new"}'
    # the accepted ambiguity: literal escape text looks like the escape (and is just as inert)
    assert visible("\x1b") == visible("\\x1b") == "\\x1b"


def test_escape_char_forms() -> None:
    assert [escape_char(c) for c in "\t\n\r\x00\x1b\x7f\x9b"] == [
        "\\t",
        "\\n",
        "\\r",
        "\\x00",
        "\\x1b",
        "\\x7f",
        "\\x9b",
    ]
    assert escape_char("\u202e") == "\\u202e"
    assert escape_char("\U000e0001") == "\\U000e0001"


def test_visible_with_limit_keeps_the_tail_and_never_splits_an_escape() -> None:
    assert visible("cascade-delete-knowledge-5c1fb80b", 26) == "cascade-delete-kn…5c1fb80b"
    shown = visible("\x1b]0;x\x07" + "y" * 30 + "\u202e", 12)
    assert shown == "\\x1b]…\\u202e"
    assert ESCAPED_TEXT.fullmatch(shown)


# --- visible_lines() ----------------------------------------------------------------------------


def test_visible_lines_keeps_newlines_and_escapes_everything_else() -> None:
    body = "HTTP 500\r\nerror: \x1b[31mboom\x1b[0m\n\tat \u202eline 3\rX\u2028"
    assert visible_lines(body) == (
        "HTTP 500\nerror: \\x1b[31mboom\\x1b[0m\n\\tat \\u202eline 3\\rX\\u2028"
    )
    assert visible_lines("one line") == "one line"
    assert visible_lines("a\n\nb\n") == "a\n\nb\n"


def test_visible_lines_limit_bounds_each_line() -> None:
    text = "short\n" + "x" * 40 + "-deadbeef\n" + "tail\x1b"
    lines = visible_lines(text, 16).split("\n")
    assert lines == ["short", "xxxxxxx…deadbeef", "tail\\x1b"]


# --- middle_ellipsis() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "expected"),
    [(-1, ""), (0, ""), (1, "…"), (2, "…f"), (3, "a…f"), (4, "a…ef"), (5, "ab…ef"), (6, "abcdef")],
)
def test_limit_edge_cases(width: int, expected: str) -> None:
    assert middle_ellipsis("abcdef", width) == expected
    assert visible("abcdef", width) == expected


def test_short_text_and_empty_text_are_untouched() -> None:
    assert middle_ellipsis("", 0) == ""
    assert middle_ellipsis("", 5) == ""
    assert middle_ellipsis("abc", 3) == "abc"


def test_last_id_part_is_kept_whole_when_it_fits_half_the_room() -> None:
    assert middle_ellipsis("role-assignment-0bfe93a1", 20) == "role-assign…0bfe93a1"
    # too long for half the room: the tail gets the larger half instead
    assert middle_ellipsis("taxonomy-publish-9ef14040", 10) == "taxo…14040"


def test_cjk_counts_two_cells_and_is_never_split() -> None:
    text = "データ処理ジョブ-1234abcd"  # 8 wide characters + 9 narrow = 25 cells
    shown = middle_ellipsis(text, 12)
    assert shown == "デー…234abcd"
    assert shown_len(shown) == 12
    assert shown_len(middle_ellipsis("中文中文中文", 6)) <= 6
    assert middle_ellipsis("中文中文中文", 4) == "…文"  # one cell left over, no half character


def test_escape_wider_than_the_tail_room_is_left_out_whole() -> None:
    assert middle_ellipsis("abcdef\\U000e0001", 4) == "abc…"
    assert middle_ellipsis("\\x1b\\x1b\\x1b", 9) == "\\x1b…\\x1b"


def test_emoji_with_variation_selector_stays_within_width() -> None:
    text = "❤\ufe0f" * 10
    for width in range(12):
        assert shown_len(middle_ellipsis(text, width)) <= width


# --- json_dumps() -------------------------------------------------------------------------------


def test_json_dumps_escapes_dangerous_characters_and_round_trips() -> None:
    obj = {"workflowId": "a\x1b]52;c;x\x07\x7f\x85\u202e\u200b\xad\U000e0001中", "n": [1, None]}
    out = json_dumps(obj)
    assert out == (
        '{"workflowId":"a\\u001b]52;c;x\\u0007\\u007f\\u0085\\u202e\\u200b\\u00ad'
        '\\udb40\\udc01中","n":[1,null]}'
    )
    assert json.loads(out) == obj
    assert orjson.loads(out) == obj


def test_json_dumps_plain_data_is_orjson_output() -> None:
    obj = [{"workflowId": "taxonomy-publish-9ef14040", "status": "RUNNING", "x": 1.5}]
    assert json_dumps(obj) == orjson.dumps(obj).decode()


def test_json_dumps_handles_what_orjson_refuses() -> None:
    assert json_dumps({"id": "x\ud800"}) == '{"id":"x\\ud800"}'
    assert json.loads(json_dumps({"id": "x\ud800"})) == {"id": "x\ud800"}
    assert json_dumps([2**70]) == f"[{2**70}]"
    with pytest.raises(TypeError):
        json_dumps({"x": object()})


# --- properties ---------------------------------------------------------------------------------


@PROPERTY
@given(any_text)
def test_visible_output_has_nothing_dangerous(text: str) -> None:
    shown = visible(text)
    assert not any(map(is_unsafe_char, shown))
    assert not any(c in shown for c in "\x1b\x07\n\r\x9b\x9d")
    assert is_clean(shown)
    if "\\" not in text:  # every backslash then starts a whole escape
        assert ESCAPED_TEXT.fullmatch(shown)


@PROPERTY
@given(any_text)
def test_visible_is_idempotent_and_is_clean_agrees(text: str) -> None:
    shown = visible(text)
    assert visible(shown) == shown
    assert is_clean(text) == (shown == text)


@PROPERTY
@given(st.text(any_char.filter(lambda c: c != "\\"), max_size=60))
def test_without_backslashes_the_shown_form_is_reversible(text: str) -> None:
    def unescape(m: re.Match[str]) -> str:
        token = m.group()
        return {"\\t": "\t", "\\n": "\n", "\\r": "\r"}.get(token) or chr(int(token[2:], 16))

    assert ESCAPE.sub(unescape, visible(text)) == text


@PROPERTY
@given(any_text, widths)
def test_visible_with_limit_is_clean_bounded_and_whole_escapes(text: str, width: int) -> None:
    shown = visible(text, width)
    assert shown_len(shown) <= max(width, 0)
    assert is_clean(shown)
    if "\\" not in text:  # every backslash then starts an escape, which must be whole
        assert ESCAPED_TEXT.fullmatch(shown)
    full = visible(text)
    if width <= 0:
        assert shown == ""  # even a zero-width mark: there is no cell to attach it to
    elif shown_len(full) <= width:
        assert shown == full
    else:
        assert splits_as_head_ellipsis_tail(shown, full)


@PROPERTY
@given(st.text(st.sampled_from("abcdefghij0123456789-_./:"), max_size=50), widths)
def test_ascii_ids_use_every_cell_and_keep_the_last_character(text: str, width: int) -> None:
    shown = middle_ellipsis(text, width)
    if len(text) <= max(width, 0):
        assert shown == text
        return
    assert len(shown) == max(width, 0)
    if width >= 2:
        assert shown[-1] == text[-1]
        assert splits_as_head_ellipsis_tail(shown, text)


@PROPERTY
@given(any_text, widths)
def test_middle_ellipsis_is_bounded_and_keeps_the_ends(text: str, width: int) -> None:
    shown = middle_ellipsis(text, width)
    assert shown_len(shown) <= max(width, 0)
    assert cell_width(shown) <= max(width, 0)
    if width >= 1 and shown != text:
        assert splits_as_head_ellipsis_tail(shown, text)


@PROPERTY
@given(st.text(st.sampled_from("ab中😀"), min_size=1, max_size=40), st.integers(2, 30))
def test_wide_text_keeps_its_last_character_when_it_fits(text: str, width: int) -> None:
    shown = middle_ellipsis(text, width)
    assert shown_len(shown) <= width
    if shown != text and cell_len(text[-1]) <= width // 2:  # fits the tail's half of the room
        assert shown.endswith(text[-1])


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5),
    max_leaves=20,
)


def orjson_native(obj: object) -> bool:
    """No lone surrogate and no integer beyond 64 bits: values orjson itself reads and writes."""
    try:
        orjson.dumps(obj)
    except TypeError:
        return False
    return True


@PROPERTY
@given(json_values)
def test_json_dumps_round_trips_and_shows_nothing_dangerous(obj: object) -> None:
    out = json_dumps(obj)
    assert json.loads(out) == obj
    if orjson_native(obj):
        assert orjson.loads(out) == obj
    assert not any(map(is_unsafe_char, out))
    assert is_clean(out)
