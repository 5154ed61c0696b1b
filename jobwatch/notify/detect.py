"""Which notification the terminal shows, and how it gets there: the config, the environment, tmux.

`method = "auto"` picks an OSC only for a terminal known to show it as it comes; every other one
gets the bell, which every terminal turns into something (a sound, a flash, an urgency hint, a
tab mark; tmux marks the window and rings its own terminal). The table (`RULES`, first match
wins; variables the terminal sets for itself come before those a child process may inherit):

    clue                                     terminal           method  why
    TERM_PROGRAM=iTerm.app, LC_TERMINAL=iTerm2  iTerm2          osc9    its own protocol; LC_TERMINAL passes ssh
    TERM_PROGRAM=WezTerm                     WezTerm            osc777  shows 9 and 777; 777 has a title
    TERM_PROGRAM=ghostty                     Ghostty            osc777  shows 9 and 777; 777 has a title
    TERM_PROGRAM=Apple_Terminal              Terminal.app       bell    shows no OSC notification
    TERM_PROGRAM=vscode                      VS Code            bell    shows no OSC notification
    TERM=xterm-kitty                         kitty              osc99   its own protocol (title, body,
                                                                        o=unfocused); TERM passes ssh
    TERM=xterm-ghostty                       Ghostty            osc777
    TERM=foot*                               foot               osc777  foot's notify (notify-send)
    TERM=wezterm                             WezTerm            osc777
    TERM=rxvt-unicode*                       rxvt-unicode       bell    777 needs its notify extension
    TERM=alacritty*                          Alacritty          bell    shows no OSC notification (and
                                                                        its TERM outranks a KITTY_WINDOW_ID
                                                                        inherited from a kitty shell)
    KITTY_WINDOW_ID                          kitty              osc99
    WEZTERM_PANE                             WezTerm            osc777
    GHOSTTY_RESOURCES_DIR                    Ghostty            osc777
    WT_SESSION                               Windows Terminal   osc777  its OSC 777 support (older
                                                                        versions ignore it); OSC 9 is
                                                                        progress/cwd there, not a toast
    VTE_VERSION                              GNOME Terminal,    bell    777 only with a distribution's
                                             Tilix, ... (VTE)           patch; upstream VTE drops it
    KONSOLE_VERSION                          Konsole            bell    shows no OSC notification
    anything else                                               bell

Inside tmux (TMUX set) TERM_PROGRAM and TERM name tmux, and the other variables are those of
the terminal that started the tmux server, so tmux is asked (`probe_tmux`) for the terminal of
the attached client (`#{client_termname}`, and `#{client_termtype}` from its XTVERSION answer),
read by the same table, before the environment. Then the sequence is wrapped for passthrough:

    allow-passthrough  route
    all (tmux 3.4+)    OSC wrapped (ESC P tmux; ... ESC \\)
    on                 OSC wrapped, and the bell: tmux drops passthrough from a pane that is not
                       visible (another window), which is when a notification matters most
    off (default)      the bell alone, with a note saying `set -g allow-passthrough on` (or all)
    (tmux < 3.3)       OSC wrapped (before 3.3 every pane could pass through)
    (tmux unreachable) OSC wrapped, and the bell, with a note

and `focus-events off` (tmux's default) gets a note: Textual then never hears about focus, so
the policy notifies whether the person is looking or not. Under GNU screen (STY set, no TMUX)
the sequence goes in screen's DCS pieces. Nested multiplexers are not unwrapped twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from jobwatch.notify.settings import MethodSetting
from jobwatch.notify.terminal import Method, Wrap, encode

#: the longest the questions to tmux may take (measured: 14 ms median, 26 ms worst of 20, three
#: tmux commands at once on the 2-core dev container)
TMUX_PROBE_TIMEOUT = 2.0

_NAMES: dict[Method, str] = {
    "osc9": "OSC 9",
    "osc777": "OSC 777",
    "osc99": "OSC 99",
    "bell": "the bell",
    "off": "nothing",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A terminal known by one environment variable (set at all, equal to, or starting with)."""

    variable: str
    value: str | None
    terminal: str
    method: Method
    prefix: bool = False

    def matches(self, env: Mapping[str, str]) -> bool:
        found = env.get(self.variable, "")
        if self.value is None:
            return bool(found)
        return found.startswith(self.value) if self.prefix else found == self.value

    @property
    def clue(self) -> str:
        if self.value is None:
            return self.variable
        return f"{self.variable}={self.value}{'*' if self.prefix else ''}"


RULES: tuple[Rule, ...] = (
    Rule("TERM_PROGRAM", "iTerm.app", "iTerm2", "osc9"),
    Rule("LC_TERMINAL", "iTerm2", "iTerm2", "osc9"),
    Rule("TERM_PROGRAM", "WezTerm", "WezTerm", "osc777"),
    Rule("TERM_PROGRAM", "ghostty", "Ghostty", "osc777"),
    Rule("TERM_PROGRAM", "Apple_Terminal", "Terminal.app", "bell"),
    Rule("TERM_PROGRAM", "vscode", "VS Code", "bell"),
    Rule("TERM", "xterm-kitty", "kitty", "osc99"),
    Rule("TERM", "xterm-ghostty", "Ghostty", "osc777"),
    Rule("TERM", "foot", "foot", "osc777", prefix=True),
    Rule("TERM", "wezterm", "WezTerm", "osc777"),
    Rule("TERM", "rxvt-unicode", "rxvt-unicode", "bell", prefix=True),
    Rule("TERM", "alacritty", "Alacritty", "bell", prefix=True),
    Rule("KITTY_WINDOW_ID", None, "kitty", "osc99"),
    Rule("WEZTERM_PANE", None, "WezTerm", "osc777"),
    Rule("GHOSTTY_RESOURCES_DIR", None, "Ghostty", "osc777"),
    Rule("WT_SESSION", None, "Windows Terminal", "osc777"),
    Rule("VTE_VERSION", None, "a VTE terminal", "bell"),
    Rule("KONSOLE_VERSION", None, "Konsole", "bell"),
)

#: tmux's #{client_termtype} (the terminal's XTVERSION answer), by its lowercase first word
_TERMTYPES: dict[str, tuple[str, Method]] = {
    "iterm2": ("iTerm2", "osc9"),
    "kitty": ("kitty", "osc99"),
    "wezterm": ("WezTerm", "osc777"),
    "ghostty": ("Ghostty", "osc777"),
    "foot": ("foot", "osc777"),
}


@dataclass(frozen=True, slots=True)
class Terminal:
    """A terminal jobwatch recognised, the method it shows and what gave it away."""

    name: str
    method: Method
    clue: str


def identify(env: Mapping[str, str]) -> Terminal | None:
    """The terminal the environment names (RULES, first match), or None."""
    for rule in RULES:
        if rule.matches(env):
            return Terminal(rule.terminal, rule.method, rule.clue)
    return None


# -- tmux ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TmuxInfo:
    """What tmux said about the pane jobwatch runs in and the client showing it."""

    version: str
    #: "on", "off", "all"; "always" before tmux 3.3 (no such option: every pane passes through)
    passthrough: str
    focus_events: bool | None
    client_termname: str = ""
    client_termtype: str = ""


def identify_tmux_client(info: TmuxInfo) -> Terminal | None:
    """The terminal of the attached tmux client, from its TERM and its XTVERSION answer."""
    if info.client_termname:
        by_term = identify({"TERM": info.client_termname})
        if by_term is not None:
            return Terminal(by_term.name, by_term.method, f"tmux client {by_term.clue}")
    word = re.split(r"[\s(]", info.client_termtype.strip(), maxsplit=1)[0].lower()
    if word in _TERMTYPES:
        name, method = _TERMTYPES[word]
        return Terminal(name, method, f"tmux client_termtype {info.client_termtype.strip()}")
    return None


def _version_before_3_3(version: str) -> bool:
    match = re.match(r"(?:next-)?(\d+)\.(\d+)", version.strip())
    return match is not None and (int(match.group(1)), int(match.group(2))) < (3, 3)


def parse_tmux_answers(display: str, focus: str, passthrough: str | None) -> TmuxInfo:
    """TmuxInfo from the three answers of `probe_tmux` (passthrough None: the question failed)."""
    version, termname, termtype = ([*display.rstrip("\n").split("\t"), "", ""])[:3]
    if passthrough is None:
        state = "always" if _version_before_3_3(version) else "unknown"
    else:
        state = passthrough.strip() or "unknown"
    focus_word = focus.strip()
    return TmuxInfo(
        version=version.strip(),
        passthrough=state,
        focus_events={"on": True, "off": False}.get(focus_word),
        client_termname=termname.strip(),
        client_termtype=termtype.strip(),
    )


async def _tmux(env: Mapping[str, str], *args: str) -> str | None:
    """One tmux command's output, or None if it failed, could not start or took too long."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "tmux",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=dict(env),
        )
    except OSError:
        return None
    try:
        async with asyncio.timeout(TMUX_PROBE_TIMEOUT):
            out, _ = await proc.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None
    if proc.returncode != 0:
        return None
    return out.decode("utf-8", "replace")


async def probe_tmux(env: Mapping[str, str] | None = None) -> TmuxInfo | None:
    """Ask the tmux jobwatch runs in about passthrough, focus events and its client's terminal.

    None when not inside tmux or when tmux does not answer. Runs three tmux commands at once
    (a few ms); asyncio subprocesses, so the dashboard's event loop never waits on them.
    """
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return None
    target = ["-t", env["TMUX_PANE"]] if env.get("TMUX_PANE") else []
    display, focus, passthrough = await asyncio.gather(
        _tmux(
            env,
            "display-message",
            "-p",
            *target,
            "#{version}\t#{client_termname}\t#{client_termtype}",
        ),
        _tmux(env, "show-options", "-sv", "focus-events"),
        _tmux(env, "show-options", "-pAv", *target, "allow-passthrough"),
    )
    if display is None:
        return None
    return parse_tmux_answers(display, focus or "", passthrough)


# -- the route -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """How a notification reaches the person: the method, its wrapper, and what to tell them."""

    method: Method
    wrap: Wrap = "none"
    #: ring the bell after the sequence (when the sequence may be dropped on the way)
    bell_too: bool = False
    #: the terminal and what gave it away, e.g. "kitty (KITTY_WINDOW_ID)"
    terminal: str = ""
    #: things the person can fix, to show once (e.g. tmux's passthrough is off)
    notes: tuple[str, ...] = ()

    def encode(self, title: str, body: str, ident: str = "1") -> str:
        text = encode(title, body, self.method, self.wrap, ident)
        if self.bell_too and self.method != "bell":
            text += "\x07"
        return text

    def describe(self) -> str:
        """One line: "notifications: OSC 99 (kitty, KITTY_WINDOW_ID) through tmux passthrough"."""
        text = f"notifications: {_NAMES[self.method]}"
        if self.terminal:
            text += f" ({self.terminal})"
        if self.wrap != "none":
            text += f" through {self.wrap} passthrough"
        if self.bell_too:
            text += ", and the bell"
        return text


_TMUX_ON = "tmux set -g allow-passthrough on"


def _through_tmux(route: Route, tmux: TmuxInfo | None, allow_bell: bool) -> Route:
    notes: list[str] = []
    if tmux is not None and tmux.focus_events is False:
        notes.append(
            "tmux does not pass focus changes on (`tmux set -g focus-events on`), so jobwatch "
            "cannot tell whether you are looking: it notifies either way"
        )
    if route.method == "bell":
        return Route("bell", "none", False, route.terminal, tuple(notes))
    passthrough = "unknown" if tmux is None else tmux.passthrough
    if passthrough == "off":
        notes.append(
            f"tmux drops terminal notifications while allow-passthrough is off: `{_TMUX_ON}` "
            "(or `all`, tmux 3.4+, to reach you from other windows too); "
            + ("ringing the bell instead" if allow_bell else "none are sent")
        )
        return Route("bell" if allow_bell else "off", "none", False, route.terminal, tuple(notes))
    if passthrough in ("all", "always"):
        return Route(route.method, "tmux", False, route.terminal, tuple(notes))
    if passthrough == "on":
        notes.append(
            "tmux passes notifications only from a pane on screen: "
            "`tmux set -g allow-passthrough all` (tmux 3.4+) reaches you from other windows too"
            + ("; the bell rings as well" if allow_bell else "")
        )
    else:
        notes.append(
            f"could not ask tmux whether allow-passthrough is on; if notifications do not "
            f"arrive: `{_TMUX_ON}`" + ("; the bell rings as well" if allow_bell else "")
        )
    return Route(route.method, "tmux", allow_bell, route.terminal, tuple(notes))


def choose_route(
    setting: MethodSetting,
    env: Mapping[str, str],
    tmux: TmuxInfo | None = None,
    *,
    allow_bell: bool = True,
) -> Route:
    """The route for the config's method ("auto": RULES) in this environment.

    `tmux` is probe_tmux's answer (None inside tmux: it could not be asked). `allow_bell` False
    (the config's `bell = false`) turns every bell of the route off, the fallback included.
    """
    in_tmux = bool(env.get("TMUX"))
    if setting == "auto":
        found = identify_tmux_client(tmux) if in_tmux and tmux is not None else None
        found = found or identify(env)
        method: Method = found.method if found is not None else "bell"
        terminal = f"{found.name}, {found.clue}" if found is not None else "terminal not recognised"
    else:
        method, terminal = setting, "set in the config"
    if method == "bell" and not allow_bell:
        method = "off"
    route = Route(method, "none", False, terminal)
    if method == "off":
        return route
    if in_tmux:
        return _through_tmux(route, tmux, allow_bell)
    if env.get("STY") and method != "bell":
        return Route(method, "screen", False, terminal)
    return route
