"""Which terminal the environment names, and the route a notification takes through tmux/screen."""

from __future__ import annotations

import pytest

from jobwatch.notify.detect import (
    RULES,
    Route,
    TmuxInfo,
    choose_route,
    identify,
    identify_tmux_client,
    parse_tmux_answers,
)

EXPECTED = {
    "iTerm2": "osc9",
    "WezTerm": "osc777",
    "Ghostty": "osc777",
    "Terminal.app": "bell",
    "VS Code": "bell",
    "kitty": "osc99",
    "foot": "osc777",
    "rxvt-unicode": "bell",
    "Windows Terminal": "osc777",
    "a VTE terminal": "bell",
    "Konsole": "bell",
    "Alacritty": "bell",
}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.clue)
def test_each_rule_alone_names_its_terminal(rule):
    value = rule.value or "1"
    if rule.prefix:
        value += "-256color"
    found = identify(
        {rule.variable: value, "TERM": value} if rule.variable == "TERM" else {rule.variable: value}
    )
    assert found is not None and found.name == rule.terminal
    assert found.method == EXPECTED[rule.terminal]


@pytest.mark.parametrize(
    ("env", "terminal", "method"),
    [
        ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, "iTerm2", "osc9"),
        ({"LC_TERMINAL": "iTerm2", "TERM": "xterm-256color"}, "iTerm2", "osc9"),  # over ssh
        ({"TERM": "xterm-kitty"}, "kitty", "osc99"),  # over ssh: only TERM arrives
        ({"TERM": "foot-extra"}, "foot", "osc777"),
        ({"TERM": "xterm-256color", "WT_SESSION": "a-guid"}, "Windows Terminal", "osc777"),
        ({"TERM": "xterm-256color", "VTE_VERSION": "7600"}, "a VTE terminal", "bell"),
        # alacritty started from a kitty shell inherits KITTY_WINDOW_ID; its own TERM wins
        ({"TERM": "alacritty", "KITTY_WINDOW_ID": "3"}, "Alacritty", "bell"),
        # ... but a terminal that says nothing of itself leaves the stale clue as the only one
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty", "osc99"),
        # WezTerm started from kitty: its own TERM_PROGRAM wins over the inherited variable
        (
            {"TERM_PROGRAM": "WezTerm", "KITTY_WINDOW_ID": "3", "TERM": "xterm-256color"},
            "WezTerm",
            "osc777",
        ),
    ],
)
def test_what_the_terminal_sets_itself_comes_first(env, terminal, method):
    found = identify(env)
    assert found is not None and (found.name, found.method) == (terminal, method)


def test_unknown_terminal_gets_the_bell():
    assert identify({"TERM": "xterm-256color"}) is None
    route = choose_route("auto", {"TERM": "xterm-256color"})
    assert route == Route("bell", "none", False, "terminal not recognised")
    assert route.encode("t", "b") == "\x07"


def test_config_wins_over_detection():
    route = choose_route("osc9", {"KITTY_WINDOW_ID": "1"})
    assert (route.method, route.wrap) == ("osc9", "none")
    assert route.encode("t", "b") == "\x1b]9;t: b\x07"


def test_bell_false_turns_the_fallback_off():
    assert choose_route("auto", {}, allow_bell=False).method == "off"
    assert choose_route("bell", {}, allow_bell=False).encode("t", "b") == ""
    assert choose_route("off", {"KITTY_WINDOW_ID": "1"}).encode("t", "b") == ""


def _tmux_env(**extra: str) -> dict[str, str]:
    return {
        "TMUX": "/tmp/tmux-0/default,123,0",
        "TMUX_PANE": "%1",
        "TERM": "tmux-256color",
        "TERM_PROGRAM": "tmux",
        **extra,
    }


def _info(
    passthrough: str, focus: bool | None = True, termname: str = "", termtype: str = ""
) -> TmuxInfo:
    return TmuxInfo("3.4", passthrough, focus, termname, termtype)


def test_inside_tmux_the_client_terminal_wins_over_stale_variables():
    env = _tmux_env(KITTY_WINDOW_ID="1")  # the server was started from kitty, long ago
    route = choose_route("auto", env, _info("all", termname="xterm-ghostty"))
    assert (route.method, route.wrap, route.bell_too) == ("osc777", "tmux", False)
    assert "Ghostty" in route.terminal and "tmux client TERM=xterm-ghostty" in route.terminal
    route = choose_route(
        "auto", env, _info("all", termname="xterm-256color", termtype="iTerm2 3.5.0")
    )
    assert route.method == "osc9" and "client_termtype iTerm2 3.5.0" in route.terminal
    # nothing from the client: the environment's clue, stale or not, is all there is
    assert choose_route("auto", env, _info("all", termname="screen")).method == "osc99"


def test_tmux_passthrough_states():
    env = _tmux_env(KITTY_WINDOW_ID="1")
    all_ = choose_route("auto", env, _info("all"))
    assert (all_.method, all_.wrap, all_.bell_too, all_.notes) == ("osc99", "tmux", False, ())
    assert all_.encode("t", "", "i").startswith("\x1bPtmux;\x1b\x1b]99;i=i:d=1:p=title")

    on = choose_route("auto", env, _info("on"))
    assert (on.method, on.wrap, on.bell_too) == ("osc99", "tmux", True)
    assert on.encode("t", "", "i").endswith("\x1b\\\x07")  # the bell after the passthrough
    assert "allow-passthrough all" in on.notes[0]

    off = choose_route("auto", env, _info("off"))
    assert (off.method, off.wrap) == ("bell", "none")
    assert "`tmux set -g allow-passthrough on`" in off.notes[0]
    assert "ringing the bell instead" in off.notes[0]
    assert choose_route("auto", env, _info("off"), allow_bell=False).method == "off"

    old = choose_route("auto", env, _info("always"))
    assert (old.wrap, old.bell_too, old.notes) == ("tmux", False, ())

    unknown = choose_route("auto", env, None)
    assert (unknown.wrap, unknown.bell_too) == ("tmux", True)
    assert "could not ask tmux" in unknown.notes[0]


def test_tmux_without_focus_events_says_so():
    route = choose_route("osc9", _tmux_env(), _info("all", focus=False))
    assert any("focus-events on" in note for note in route.notes)
    assert choose_route("osc9", _tmux_env(), _info("all", focus=None)).notes == ()


def test_bell_in_tmux_is_not_wrapped():
    route = choose_route("bell", _tmux_env(), _info("off"))
    assert (route.method, route.wrap) == ("bell", "none") and route.encode("t", "b") == "\x07"


def test_screen_wraps_and_tmux_inside_screen_wraps_for_tmux():
    route = choose_route("osc777", {"STY": "1234.pts-0.host", "TERM": "screen"})
    assert route.wrap == "screen" and route.encode("t", "b").startswith("\x1bP\x1b]777;")
    assert choose_route("osc777", {"STY": "1", **_tmux_env()}, _info("all")).wrap == "tmux"


def test_describe():
    route = choose_route("auto", _tmux_env(KITTY_WINDOW_ID="1"), _info("on"))
    assert route.describe() == (
        "notifications: OSC 99 (kitty, KITTY_WINDOW_ID) through tmux passthrough, and the bell"
    )


@pytest.mark.parametrize(
    ("display", "focus", "passthrough", "expected"),
    [
        (
            "3.4\txterm-kitty\tkitty(0.35.2)\n",
            "on\n",
            "all\n",
            TmuxInfo("3.4", "all", True, "xterm-kitty", "kitty(0.35.2)"),
        ),
        ("3.3a\t\t\n", "off\n", "off\n", TmuxInfo("3.3a", "off", False)),
        ("3.2a\txterm\t\n", "", None, TmuxInfo("3.2a", "always", None, "xterm")),
        ("next-3.6\t\t\n", "off", None, TmuxInfo("next-3.6", "unknown", False)),
        ("3.5\n", "on", "", TmuxInfo("3.5", "unknown", True)),
    ],
)
def test_parse_tmux_answers(display, focus, passthrough, expected):
    assert parse_tmux_answers(display, focus, passthrough) == expected


def test_identify_tmux_client_by_termtype_word():
    assert (
        identify_tmux_client(_info("on", termtype="WezTerm 20240203-110809-5046fc22")).name
        == "WezTerm"
    )
    assert identify_tmux_client(_info("on", termtype="foot(1.16.2)")).method == "osc777"
    assert identify_tmux_client(_info("on", termtype="XTerm(390)")) is None
