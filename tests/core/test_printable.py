"""`ktrace.printable`: which characters are shown as escapes, and how (the one function every output uses)."""

from __future__ import annotations

import json

import orjson
import pytest

from ktrace.printable import clean, clean_lines, json_safe
from tests.hostile import PAYLOADS, Payload


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.id)
def test_each_kind_is_shown_as_its_escape(payload: Payload) -> None:
    assert clean(payload.raw) == payload.shown
    assert clean_lines(payload.raw) == payload.shown
    assert clean(payload.shown) == payload.shown  # escapes are plain ASCII: cleaning again changes nothing


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\u200cb\u200dc\u2060d", "a\\u200cb\\u200dc\\u2060d"),  # zero-width (non-)joiner, word joiner
    ("\u2066x\u2069\u200f\u061c", "\\u2066x\\u2069\\u200f\\u061c"),  # bidi isolates and marks
    ("a\u00adb", "a\\xadb"),  # soft hyphen (a format character)
    ("web\ufe0f\U000e0100", "web\\ufe0f\\U000e0100"),  # variation selectors: printable to Python, invisible
    ("a\u034fb\u3164", "a\\u034fb\\u3164"),  # combining grapheme joiner, Hangul filler
    ("a\u00a0b\u2028c", "a\\xa0b\\u2028c"),  # separators other than the space
    ("\U000e0041", "\\U000e0041"),  # a tag character, beyond the BMP
    ("x\ty\nz\r", "x\\ty\\nz\\r"),
    ("café Straße 東京 ✓", "café Straße 東京 ✓"),  # letters and symbols of any script stay
    ("C:\\path", "C:\\path"),  # a backslash is shown as it is
])
def test_format_and_separator_characters_are_escaped_letters_are_not(raw: str, shown: str) -> None:
    assert clean(raw) == shown


def test_clean_lines_keeps_newlines_and_tabs_only() -> None:
    assert clean_lines("a\tb\nc\rd\x1b") == "a\tb\nc\\rd\\x1b"
    assert clean(12) == "12"


def test_escapes_are_one_cell_per_character() -> None:
    from rich.cells import cell_len

    for payload in PAYLOADS:
        assert cell_len(clean(payload.raw)) == len(payload.shown)


def test_json_keeps_the_data_and_escapes_what_orjson_writes_raw() -> None:
    doc = {"names": [p.raw for p in PAYLOADS], "emoji": "✓ \U0001f600", "tag": "\U000e0041"}
    text = json_safe(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    assert json.loads(text) == doc
    assert not any(c for p in PAYLOADS for c in p.hidden if c in text)
    assert "\\u009b" in text and "\\u202e" in text and "\\udb40\\udc41" in text and "\U0001f600" in text
