"""The `/` filter box: opened over a pane, it filters that pane as the user types (words match as
substrings, `key=value` matches labels); Enter or Esc closes it and gives the focus back to the pane."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input

from ktrace.tui.clean_input import CleanInput
from ktrace.tui.table import KeyedTable


class FilterBox(CleanInput):
    class Filtered(Message):
        """The pane's filter changed (the app retitles its panes)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(placeholder="filter: words or key=value labels; Enter or Esc closes", **kwargs)  # type: ignore[arg-type]
        self.pane: KeyedTable | None = None  # the pane the open box applies to
        self.display = False

    def open(self, pane: KeyedTable) -> None:
        self.pane = pane
        self.value = pane.filter_text
        self.display = True
        self.focus()

    def close(self) -> None:
        self.display = False
        pane, self.pane = self.pane, None
        if pane is not None:
            pane.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.pane is not None:
            self.pane.set_filter(event.value)
            self.post_message(self.Filtered())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.close()
