"""Text from the cluster or from files, made safe and honest to show: the one place that decides which
characters reach a terminal.

A name may hold anything (a Gateway API `ObjectName` has no character pattern; `-f` files are not
validated): ESC starts a sequence that retitles the terminal or writes the clipboard (OSC 0, OSC 52),
CR or BS overwrite what was printed, a bidi override reorders it, a zero-width space makes two names
look equal. Such characters are shown as escapes, never dropped, so the text stays what it is and
two different names look different:

- every character that `str.isprintable()` rejects: C0 and C1 controls and DEL (`\\x1b`, `\\x9b`),
  format characters (zero-width space `\\u200b`, BOM `\\ufeff`, joiners, bidi controls `\\u202e`),
  separators other than the ASCII space (`\\xa0`, `\\u2028`), surrogates, private-use and unassigned
  code points;
- the invisible "default ignorable" characters Python calls printable (variation selectors,
  combining grapheme joiner, Hangul fillers).

Tab, newline and CR read `\\t`, `\\n`, `\\r`. `clean_lines()` keeps newlines and tabs, for text the
view lays out as lines. A backslash is shown as it is. Escapes are plain ASCII, one cell per
character, so callers clean before they lay out: widths, cuts and wrapping see the escaped text.
"""

from __future__ import annotations

_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Default_Ignorable_Code_Point characters that str.isprintable() accepts (Unicode 15 DerivedCoreProperties).
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0))))


def hidden(ch: str) -> bool:
    """Whether the character `ch` is shown as an escape."""
    return not ch.isprintable() or ch in _INVISIBLE


def escape(ch: str) -> str:
    """`ch` as a Python-style escape: `\\x1b`, `\\u200b`, `\\U000e0001`."""
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _safe(s: str) -> bool:
    # Fast path: most names are printable ASCII.
    return s.isascii() and s.isprintable()


def clean(text: object) -> str:
    """A value for one line (a table cell, a title, a name in a message): hidden characters escaped."""
    s = str(text)
    if _safe(s):
        return s
    return "".join(escape(c) if hidden(c) else c for c in s)


def clean_lines(text: object) -> str:
    """Like `clean()` but keeps newlines and tabs: for text laid out as lines (an error message, the
    YAML view)."""
    s = str(text)
    if _safe(s.replace("\n", " ").replace("\t", " ")):
        return s
    return "".join(escape(c) if hidden(c) and c not in "\n\t" else c for c in s)


def json_safe(serialised: str) -> str:
    """Serialised JSON with the hidden characters its encoder leaves raw (DEL, C1, format characters)
    written as JSON escapes: the document means the same, and a terminal shows it safely."""
    if _safe(serialised.replace("\n", " ")):
        return serialised
    return "".join(_json_escape(c) if hidden(c) and c != "\n" else c for c in serialised)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
