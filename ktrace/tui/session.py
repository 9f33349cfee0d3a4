"""The interactive view's session on a terminal that may be a jump host's SSH session: whether the
terminal can serve it at all, and the settings Textual reads once, at import (frame rate, animations,
Esc delay), chosen before it is imported. Nothing here imports Textual except `mouse_driver()`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TextIO

from ktrace.ending import end_on_signals
from ktrace.options import ViewOptions

# Terminals that cannot address the cursor (or that nobody named): the full-screen view would be garbage.
UNSERVED_TERMS = ("dumb", "unknown", "")
PLAIN_OUTPUT = "`ktrace trace HOST` / `ktrace check` for plain output"
# Frames per second: Textual's default is 60; every frame that changes costs bytes on the link.
FPS = "30"
LOW_BANDWIDTH_FPS = "8"
# Textual waits this long after a bare Esc for the rest of an escape sequence (default 100 ms).
ESCDELAY_MS = "25"


@dataclass(frozen=True, slots=True)
class Profile:
    low_bandwidth: bool
    mouse: bool  # report clicks and the wheel at all (--no-mouse: no)
    mouse_motion: bool  # report every movement (mode 1003): off on slow links


def refusal(environ: MutableMapping[str, str] = os.environ, stdin: TextIO | None = None,
            stderr: TextIO | None = None) -> str | None:
    """Why this terminal cannot serve the interactive view (one line), or None when it can.
    Textual reads keys from stdin and draws to stderr: without a TTY on both (`ssh host ktrace`
    without -t, a pipe) it would spin."""
    stdin, stderr = stdin or sys.stdin, stderr or sys.stderr
    if not (_isatty(stdin) and _isatty(stderr)):
        which = " and ".join(n for n, f in (("stdin", stdin), ("stderr", stderr)) if not _isatty(f))
        return (f"the interactive view needs a terminal on stdin and stderr ({which}: not a terminal): "
                f"use `ssh -t HOST ktrace`, "
                f"or {PLAIN_OUTPUT}")
    term = environ.get("TERM", "")
    if term in UNSERVED_TERMS:
        return (f"TERM={term or '(unset)'} cannot draw the interactive view (no cursor addressing): set TERM "
                f"(e.g. xterm-256color), or use {PLAIN_OUTPUT}")
    return None


def leave_on_signals() -> None:
    """HUP, TERM and INT end ktrace from here on (ktrace.ending), HUP and TERM also where a wrapper (nohup)
    set them to be ignored: the terminal is gone, and drawing on it would spin."""
    end_on_signals(also_ignored=(signal.SIGHUP, signal.SIGTERM))


# Undoes what Textual's driver sets up (kitty keys, alternate screen, hidden cursor, focus, paste, wrap, mouse).
_GIVE_BACK = ("\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l\x1b[?2004l\x1b[?7h"
              "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l")


def terminal_restorer() -> Callable[[], None]:
    """A function that gives the terminal back as it is now (its settings, the main screen, the cursor,
    no mouse reports), for when the app cannot do it itself. Textual reads stdin and draws to stderr."""
    try:
        import termios
    except ImportError:  # not POSIX
        return lambda: None
    try:
        fd, out = sys.__stdin__.fileno(), sys.__stderr__.fileno()  # type: ignore[union-attr]
        saved = termios.tcgetattr(fd)
    except (AttributeError, ValueError, OSError, termios.error):
        return lambda: None

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
        os.write(out, _GIVE_BACK.encode())

    return restore


def _isatty(f: Any) -> bool:
    try:
        return bool(f.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def choose_profile(view: ViewOptions, environ: MutableMapping[str, str] = os.environ) -> Profile:
    """--low-bandwidth / --no-low-bandwidth, else on when SSH_CONNECTION says this is an SSH session."""
    low = view.low_bandwidth
    if low is None:
        low = bool(environ.get("SSH_CONNECTION"))
    return Profile(low_bandwidth=low, mouse=view.mouse, mouse_motion=view.mouse and not low)


def apply_profile(profile: Profile, environ: MutableMapping[str, str] = os.environ) -> None:
    """Set what Textual reads at import; values the user exported are kept."""
    environ.setdefault("ESCDELAY", ESCDELAY_MS)
    environ.setdefault("TEXTUAL_FPS", LOW_BANDWIDTH_FPS if profile.low_bandwidth else FPS)
    if profile.low_bandwidth:
        environ.setdefault("TEXTUAL_ANIMATIONS", "none")


def mouse_driver(profile: Profile) -> Any:
    """The driver class for the profile: None (Textual's own) unless mouse motion must stay off.
    Mode 1003 reports every movement, a stream of escape sequences over the link; clicks and the
    wheel (1000, with SGR coordinates 1006) are enough to use the panes."""
    if not profile.mouse or profile.mouse_motion or sys.platform == "win32":
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class ClicksOnlyDriver(LinuxDriver):
        def _enable_mouse_support(self) -> None:
            if self._mouse:
                self.write("\x1b[?1000h\x1b[?1006h")
                self.flush()

    return ClicksOnlyDriver
