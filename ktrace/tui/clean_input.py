"""An Input that never holds a hidden character: Textual draws an Input's value as it is, so a pasted
ESC would reach the terminal raw."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from ktrace.printable import clean


class CleanInput(Input):
    """Pasted text arrives as the panes draw names (`ktrace.printable.clean`): an escaped name then
    matches the escaped cells it was copied from. Keys cannot type hidden characters (Input takes
    printable ones only); a value set by code is the caller's to clean."""

    def _on_paste(self, event: events.Paste) -> None:
        # Runs before Input's own handler, which inserts `event.text`'s first line at the cursor.
        if event.text:
            event.text = clean(event.text.splitlines()[0])
