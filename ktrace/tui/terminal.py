"""What the terminal can take: ASCII instead of symbols and box lines when the locale or the output
encoding cannot carry them, and key input that survives bytes which are not UTF-8."""

from __future__ import annotations

import argparse
import os
import sys


def wants_ascii(args: argparse.Namespace) -> bool:
    """--ascii, or a locale or output encoding that cannot carry the symbols and box lines. The
    locale is read from the environment: Python itself switches a C locale to UTF-8 (PEP 538),
    but the terminal behind it was set up for ASCII."""
    encoding = (getattr(sys.stderr, "encoding", None) or "").lower().replace("-", "")
    ctype = next((os.environ[v] for v in ("LC_ALL", "LC_CTYPE", "LANG") if os.environ.get(v)), "C")
    utf8_locale = "utf8" in ctype.lower().replace("-", "")
    return bool(getattr(args, "ascii", False)) or not encoding.startswith("utf") or not utf8_locale


def replace_invalid_input() -> None:
    """Textual's Linux driver decodes key input as strict UTF-8: one invalid byte (a Latin-1
    terminal, line noise on a serial or SSH link) raises in its input thread and ends the app.
    Decode with replacement instead; the stray byte becomes U+FFFD and is ignored as a key."""
    import codecs
    import functools

    from textual.drivers import linux_driver

    linux_driver.getincrementaldecoder = lambda encoding: functools.partial(  # type: ignore[attr-defined]
        codecs.getincrementaldecoder(encoding), errors="replace")
