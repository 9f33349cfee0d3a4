"""The help screen: every binding the app has, grouped, built from the bindings themselves (the app
passes (key display, binding id, description) for each), so it cannot drift from the real keys."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ktrace.render import clean

REMAP_NOTE = ("Keys can be remapped by binding id: map an id (second column) to other keys, "
              "e.g. \"app.quit\": \"ctrl+q\".")


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

    def _tables(self) -> Table:
        groups: dict[str, list[tuple[str, str, str]]] = {}
        for key, binding_id, description in self.bindings:
            groups.setdefault(group_of(binding_id), []).append((key, binding_id, description))
        outer = Table.grid(padding=(0, 0))
        outer.add_column()
        for name, rows in groups.items():
            table = Table(title=Text(name, style="bold"), title_justify="left", show_header=False, box=None,
                          padding=(0, 2, 0, 0))
            table.add_column("key", style="bold", no_wrap=True, min_width=10)
            table.add_column("description")
            table.add_column("id", style="dim", no_wrap=True)
            for key, binding_id, description in rows:
                table.add_row(clean(key), clean(description), clean(binding_id))
            outer.add_row(table)
            outer.add_row("")
        outer.add_row(Text(self.remap_note, style="italic"))
        return outer

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        (scroll.scroll_down if where == "down" else scroll.scroll_up)(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
