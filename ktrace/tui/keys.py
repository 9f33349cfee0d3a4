"""How keys are shown: Textual key names as people type them, and a binding's keys as the user's
keymap (binding id -> keys, from KTRACE_KEYMAP) remaps them. Used by the help screen, the modal
views' key hints and the app's list of bindings, so all three show the same keys."""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding
from textual.keys import format_key, key_to_character

# Words, not arrows or ⏎: those are ambiguous-width in CJK terminals and absent from ASCII mode.
_KEY_WORDS = {"up": "Up", "down": "Down", "left": "Left", "right": "Right", "pageup": "PgUp", "pagedown": "PgDn",
              "home": "Home", "end": "End", "enter": "Enter", "escape": "Esc", "tab": "Tab", "space": "Space",
              "backspace": "Backspace", "delete": "Del"}


def key_display(keys: str, sep: str = " / ") -> str:
    """Textual key names as people type them: `slash` -> `/`, `up,k` -> `Up / k`, `ctrl+p` -> `ctrl+p`."""
    shown = []
    for key in keys.split(","):
        *modifiers, base = key.strip().split("+")
        char = key_to_character(base) or format_key(base)  # format_key knows `slash` (SOLIDUS)
        name = _KEY_WORDS.get(base) or (char if len(char) == 1 and char.isprintable() and not char.isspace() else base)
        shown.append("+".join([*modifiers, name]))
    return sep.join(shown)


def mapped_keys(binding: Binding, keymap: Mapping[str, str]) -> str:
    """The binding's keys (comma-separated Textual names) as the keymap remaps them by binding id."""
    return keymap.get(binding.id, binding.key) if binding.id else binding.key


KEYMAP_ENV = "KTRACE_KEYMAP"  # "app.quit=ctrl+q;table.down=down,j": other keys for binding ids


def parse_keymap(text: str) -> dict[str, str]:
    """`id=keys;id=keys` (keys comma-separated, as in Textual bindings); malformed parts are skipped."""
    out = {}
    for part in text.split(";"):
        binding_id, eq, keys = part.partition("=")
        if eq and binding_id.strip() and keys.strip():
            out[binding_id.strip()] = keys.strip()
    return out
