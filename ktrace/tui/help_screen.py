"""The help screen: every binding the app has, grouped, built from the bindings themselves (the app
passes (key display, binding id, description) for each), so it cannot drift from the real keys."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType

from ktrace.printable import clean
from ktrace.render import ASCII_CHANGE_MARK, ASCII_SYMBOLS, CHANGE_MARK, SYMBOLS
from ktrace.tui.keys import key_display
from ktrace.tui.modal import ScrolledView
from ktrace.tui.table import table_mark

REMAP_NOTE = ("Keys can be remapped by binding id: map an id (second column) to other keys, "
              "e.g. \"app.quit\": \"ctrl+q\".")


def legend(ascii_only: bool) -> list[tuple[str, str]]:
    """What every mark on the screen means (the verdict symbols as this terminal draws them)."""
    s = ASCII_SYMBOLS if ascii_only else SYMBOLS
    return [
        (s["ok"], "ok"), (s["warning"], "warning; on a route: its path is degraded (some backends fail)"),
        (s["error"], "error; on a route: its path is broken (no request reaches a pod)"),
        (s["unknown"], "unknown; on a route: its verdict cannot be known (offline: no readiness)"),
        (s["info"], "info"),
        (">", "before a pane's title: the focused pane; before a row: on the selected request path"),
        ("dim rows", "not on the selected path"),
        ("~", "at the end of a value: cut to fit the column"),
        (table_mark("near-miss", ascii_only), "before a pod: a near miss of a Service selector on the path that "
         "matches no pod (e.g. labelled app=aspnetapp, selected by App=aspnetapp)"),
        (f"{table_mark('more-left', ascii_only)} {table_mark('more-right', ascii_only)}",
         "in a pane's header: more columns to the left / right (left/right or h/l scroll them)"),
        ("*", "a rule without a host (any host); in the path: a hop whose verdict just changed"),
        ("namespace marks", "the worst verdict of its routes and the worst finding in it"),
        (f"{ASCII_CHANGE_MARK if ascii_only else CHANGE_MARK} HH:MM:SS",
         "in the path: the hop's object changed in the last hour (UTC time and field manager, e.g. kubectl-edit); "
         "the changes seen since ktrace started are listed under the path"),
    ]


def group_of(binding_id: str) -> str:
    """Ids are `group.action` (`pane.next`, `path.copy`); an id without a dot is a general key."""
    head, dot, _ = binding_id.partition(".")
    return head.replace("_", " ").capitalize() if dot and head else "General"


class HelpScreen(ScrolledView):
    GROUP = "help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "close", "Close", show=False, id="help.close_help"),  # the key that opened it
    ]

    def __init__(self, bindings: list[tuple[str, str, str]], remap_note: str = REMAP_NOTE,
                 ascii_only: bool = False) -> None:
        super().__init__()
        self.bindings = bindings
        self.remap_note = remap_note
        self.ascii_only = ascii_only

    def heading(self) -> Text:
        return Text("Keys")

    def content(self) -> Group:
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
        symbols = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        symbols.add_column("mark", style="bold", no_wrap=True, min_width=10)
        symbols.add_column("meaning")
        symbols.add_row(Text("Symbols", style="bold underline"), "")
        for mark, meaning in legend(self.ascii_only):
            symbols.add_row(mark, meaning)
        return Group(table, Text(""), symbols, Text(""), Text(self.remap_note, style="italic"))
