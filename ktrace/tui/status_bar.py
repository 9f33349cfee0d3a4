"""The status bar: where the data comes from, the namespace scope, whether it is current (live,
reconnecting, stale since ...), and how many errors and warnings are in scope."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.widget import Widget

from ktrace.findings import Finding
from ktrace.render import ASCII_SYMBOLS, STYLES, SYMBOLS, clean

_UNSET: Any = object()


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { dock: bottom; height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, ascii_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ascii_only = ascii_only
        self._source = ""
        self._scope: str | None = None
        self._watch: Any = None
        self._findings: list[Finding] | None = None  # None: not checked yet (loading)
        self._error = ""
        self._shown = Text()

    def set_state(self, *, source: str = _UNSET, scope: str | None = _UNSET, watch: Any = _UNSET,
                  findings: list[Finding] = _UNSET, error: str = _UNSET) -> None:
        """Change what is given; `watch` is a WatchStatus (state, since) or None for static sources."""
        if source is not _UNSET:
            self._source = source
        if scope is not _UNSET:
            self._scope = scope
        if watch is not _UNSET:
            self._watch = watch
        if findings is not _UNSET:
            self._findings = findings
        if error is not _UNSET:
            self._error = error
        line = self.line()
        if line != self._shown:  # a repaint of one line only: its size never changes
            self._shown = line
            self.refresh()

    def render(self) -> Text:
        return self._shown

    def line(self) -> Text:
        sep = " | " if self.ascii_only else " │ "
        t = Text()
        if self._error:
            t.append(clean(self._error), style="bold red")
            t.append(sep + "r retry  q quit")
            return t
        t.append(clean(self._source), style="bold")
        t.append(sep + f"ns: {clean(self._scope) if self._scope else 'all'}")
        state = self._state()
        if state:
            t.append(sep)
            t.append(state[0], style=state[1])
        symbols = ASCII_SYMBOLS if self.ascii_only else SYMBOLS
        if self._findings is None:  # never "0 errors" before anything was checked
            t.append(sep + "checking...", style="dim")
        else:
            for severity, word in (("error", "errors"), ("warning", "warnings")):
                n = sum(f.severity == severity for f in self._findings)
                t.append(sep)
                t.append(f"{symbols[severity]} {n} {word}", style=STYLES[severity] if n else "dim")
        t.append(sep + "? help", style="dim")
        return t

    def _state(self) -> tuple[str, str] | None:
        w = self._watch
        if w is None:
            return None
        if w.state == "live":
            return "live", "green"
        since = f" since {time.strftime('%H:%M:%S', time.localtime(w.since))}" if w.since else ""
        return f"{w.state}{since}", "bold yellow" if w.state == "reconnecting" else "bold red"
