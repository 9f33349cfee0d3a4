"""The findings view: every finding in scope, grouped by severity (errors, warnings, info), in a list that
stays quick with thousands: code and object, and the routes it breaks or degrades; the highlighted
finding's whole message and hint below. Enter dismisses with the chosen Finding (the app jumps to its
object and path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ktrace.findings import Finding, FindingId, finding_id, sort_key
from ktrace.printable import clean
from ktrace.render import STYLES, badge, summary_line
from ktrace.tui.modal import ModalView

GROUPS = (("error", "Errors"), ("warning", "Warnings"), ("info", "Info"))


def _object(f: Finding) -> str:
    where = f"{f.namespace}/{f.name}" if f.namespace else f.name
    return clean(f"{f.kind} {where}" if where else f.kind)


class FindingsScreen(ModalView[Finding | None]):
    DEFAULT_CSS = """
    FindingsScreen #findings-list { height: 1fr; border: none; padding: 0 0 0 1; }
    FindingsScreen #findings-detail { height: auto; max-height: 9; padding: 0 1; border-top: solid $primary; }
    """
    GROUP = "findings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "close", "Close", show=False, id="findings.close_f"),  # the key that opened it
        Binding("j", "move('down')", "Next finding", show=False, id="findings.down"),
        Binding("k", "move('up')", "Previous finding", show=False, id="findings.up"),
        Binding("g", "move('first')", "First finding", show=False, id="findings.first"),
        Binding("G", "move('last')", "Last finding", show=False, id="findings.last"),
    ]
    WIDGET_KEYS = ("Enter: go to the object and its path",)

    def __init__(self, findings: list[Finding], ascii_only: bool = False,
                 affects: Mapping[FindingId, list[str]] | None = None) -> None:
        """`affects`: the routes (`host/path`) each finding breaks or degrades, by `finding_id`."""
        super().__init__()
        self.ascii_only = ascii_only
        self.findings = sorted(findings, key=sort_key)
        self.affects = affects or {}
        self._cursor: int | None = None  # the option drawn with the `>` marker

    def heading(self) -> Text:
        title = Text("Findings: ", style="bold")
        title.append_text(summary_line(self.findings, self.ascii_only))
        return title

    def body(self) -> ComposeResult:
        yield OptionList(*self._options(), id="findings-list")
        yield Static("", id="findings-detail")

    def _options(self) -> list[Option]:
        options = []
        for severity, heading in GROUPS:
            members = [(i, f) for i, f in enumerate(self.findings) if f.severity == severity]
            if not members:
                continue
            symbol = badge(severity, self.ascii_only).plain[0]
            head = Text(f"{symbol} {heading} ({len(members)})", style=f"bold {STYLES[severity]}")
            options.append(Option(head, id=f"group-{severity}", disabled=True))
            options += [Option(self._line(f, cursor=False), id=str(i)) for i, f in members]
        if not options:
            options.append(Option(Text("No findings: every path in scope is healthy."), id="none", disabled=True))
        return options

    def _line(self, f: Finding, cursor: bool) -> Text:
        # `>` marks the cursor row too: with NO_COLOR or a monochrome terminal the highlight
        # background is gone.
        line = Text("> " if cursor else "  ", no_wrap=True, overflow="ellipsis")
        line.append(badge(f.severity, self.ascii_only).plain[0], style=STYLES.get(f.severity, ""))
        line.append(f" {f.code}", style="bold")
        line.append(f"  {_object(f)}")
        routes = self.affects.get(finding_id(f))
        if routes:
            line.append("\n    affects: " + clean(", ".join(routes)))
        return line

    def _mark_cursor(self, index: int | None, cursor: bool) -> None:
        listing = self.query_one(OptionList)
        if index is None or index >= listing.option_count:
            return
        option_id = listing.get_option_at_index(index).id or ""
        if option_id.isdigit():
            listing.replace_option_prompt_at_index(index, self._line(self.findings[int(option_id)], cursor))

    def on_mount(self) -> None:
        listing = self.query_one(OptionList)
        listing.action_first()  # the first finding (group headings are disabled: skipped)
        listing.focus()
        self._describe(self.highlighted)

    @property
    def highlighted(self) -> Finding | None:
        listing = self.query_one(OptionList)
        if listing.highlighted is None:
            return None
        option_id = listing.get_option_at_index(listing.highlighted).id or ""
        return self.findings[int(option_id)] if option_id.isdigit() else None

    def _describe(self, f: Finding | None) -> None:
        detail = self.query_one("#findings-detail", Static)
        if f is None:
            detail.update("")
            return
        text = Text()
        text.append_text(badge(f.severity, self.ascii_only))
        text.append(f"  {f.code}  ", style="bold")
        text.append(_object(f))
        text.append("\n" + clean(f.message))
        if f.hint:
            text.append("\nhint: " + clean(f.hint), style="italic")
        routes = self.affects.get(finding_id(f))
        if routes:
            text.append("\naffects: " + clean(", ".join(routes)))
        detail.update(text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._mark_cursor(self._cursor, False)
        self._cursor = event.option_index
        self._mark_cursor(self._cursor, True)
        self._describe(self.highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and event.option.id.isdigit():
            self.dismiss(self.findings[int(event.option.id)])

    def action_move(self, where: str) -> None:
        listing = self.query_one(OptionList)
        {"down": listing.action_cursor_down, "up": listing.action_cursor_up,
         "first": listing.action_first, "last": listing.action_last}[where]()
