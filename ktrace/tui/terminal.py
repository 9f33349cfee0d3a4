"""What the terminal can take: ASCII instead of symbols and box lines when the locale or the output
encoding cannot carry them, and key input that survives bytes which are not UTF-8."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ktrace.options import ViewOptions


def wants_ascii(view: ViewOptions) -> bool:
    """--ascii, or a locale or output encoding that cannot carry the symbols and box lines. The
    locale is read from the environment: Python itself switches a C locale to UTF-8 (PEP 538),
    but the terminal behind it was set up for ASCII."""
    encoding = (getattr(sys.stderr, "encoding", None) or "").lower().replace("-", "")
    env = dict(os.environ)
    if _coerced_ctype(env):
        del env["LC_CTYPE"]
    ctype = next((env[v] for v in ("LC_ALL", "LC_CTYPE", "LANG") if env.get(v)), "C")
    utf8_locale = "utf8" in ctype.lower().replace("-", "")
    return view.ascii or not encoding.startswith("utf") or not utf8_locale


_COERCION_TARGETS = ("C.UTF-8", "C.utf8", "UTF-8")


def _coerced_ctype(env: dict[str, str]) -> bool:
    """Whether LC_CTYPE was set by Python's start-up (PEP 538: a C or POSIX locale is coerced by
    exporting LC_CTYPE=C.UTF-8), not by the user. On Linux the environment the process was started
    with is still readable and tells."""
    if env.get("LC_CTYPE") not in _COERCION_TARGETS:
        return False
    try:
        launch = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"LC_CTYPE={env['LC_CTYPE']}".encode() not in launch


def replace_invalid_input() -> None:
    """Textual's Linux driver decodes key input as strict UTF-8: one invalid byte (a Latin-1
    terminal, line noise on a serial or SSH link) raises in its input thread and ends the app.
    Decode with replacement instead; the stray byte becomes U+FFFD and is ignored as a key."""
    import codecs
    import functools

    from textual.drivers import linux_driver

    linux_driver.getincrementaldecoder = lambda encoding: functools.partial(  # type: ignore[attr-defined]
        codecs.getincrementaldecoder(encoding), errors="replace")
