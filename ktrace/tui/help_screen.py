"""The help screen: every binding the app has, grouped, built from the bindings themselves (the app
passes (key display, binding id, description) for each), so it cannot drift from the real keys."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key, key_to_character
from textual.screen import Screen
from textual.widgets import Static

from ktrace.render import clean

REMAP_NOTE = ("Keys can be remapped by binding id: map an id (second column) to other keys, "
              "e.g. \"app.quit\": \"ctrl+q\".")


# Words, not arrows or ⏎: those are ambiguous-width in CJK terminals and absent from ASCII mode.
_KEY_WORDS = {"up": "Up", "down": "Down", "left": "Left", "right": "Right", "pageup": "PgUp", "pagedown": "PgDn",
              "home": "Home", "end": "End", "enter": "Enter", "escape": "Esc", "tab": "Tab", "space": "Space",
              "backspace": "Backspace", "delete": "Del"}


def key_display(keys: str) -> str:
    """Textual key names as people type them: `slash` -> `/`, `up,k` -> `Up / k`, `ctrl+p` -> `ctrl+p`."""
    shown = []
    for key in keys.split(","):
        *modifiers, base = key.strip().split("+")
        char = key_to_character(base) or format_key(base)  # format_key knows `slash` (SOLIDUS)
        name = _KEY_WORDS.get(base) or (char if len(char) == 1 and char.isprintable() and not char.isspace() else base)
        shown.append("+".join([*modifiers, name]))
    return " / ".join(shown)


def group_of(binding_id: str) -> str:
    """Ids are `group.action` (`pane.next`, `path.copy`); an id without a dot is a general key."""
    head, dot, _ = binding_id.partition(".")
    return head.replace("_", " ").capitalize() if dot and head else "General"


class HelpScreen(Screen[None]):
    DEFAULT_CSS = """
    HelpScreen { layout: vertical; }
    HelpScreen #help-title { height: 1; padding: 0 1; text-style: bold; }
    HelpScreen #help-scroll { height: 1fr; padding: 0 1; }
    HelpScreen #help-keys { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("q", "close", "Close", show=False, id="help.close_q"),
        Binding("question_mark", "close", "Close", show=False, id="help.close_help"),
        Binding("j", "scroll('down')", "Down", show=False, id="help.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="help.up"),
    ]

    def __init__(self, bindings: list[tuple[str, str, str]], remap_note: str = REMAP_NOTE) -> None:
        super().__init__()
        self.bindings = bindings
        self.remap_note = remap_note

    def compose(self) -> ComposeResult:
        yield Static("Keys", id="help-title")
        with VerticalScroll(id="help-scroll"):
            yield Static(self._tables(), id="help-body")
        yield Static("j/k: scroll   Esc/q/?: close", id="help-keys")

    def _tables(self) -> Group:
        groups: dict[str, list[tuple[str, str, str]]] = {}
        for key, binding_id, description in self.bindings:
            groups.setdefault(group_of(binding_id), []).append((key, binding_id, description))
        # One table for all groups, so the columns line up from group to group.
        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        table.add_column("key", style="bold", no_wrap=True, min_width=10)
        table.add_column("description")
        table.add_column("id", style="dim", no_wrap=True)
        for n, (name, rows) in enumerate(groups.items()):
            if n:
                table.add_row("", "", "")
            table.add_row(Text(name, style="bold underline"), "", "")
            for key, binding_id, description in rows:
                table.add_row(clean(key_display(key)), clean(description), clean(binding_id))
        return Group(table, Text(""), Text(self.remap_note, style="italic"))

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        (scroll.scroll_down if where == "down" else scroll.scroll_up)(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
