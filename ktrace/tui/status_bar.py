"""The status bar: where the data comes from, the namespace scope, whether it is current (live,
reconnecting, stale since ...), and how many errors and warnings are in the namespace in view. When the
terminal is narrow, the connection state and the counts are the last to give way."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from rich.text import Text
from textual.widget import Widget

from ktrace.findings import Finding
from ktrace.printable import clean
from ktrace.render import ASCII_SYMBOLS, STYLES, SYMBOLS

_UNSET: Any = object()
MIN_SOURCE = 16  # cells: a source name cut shorter than this says nothing; it is left out instead


def _joined(parts: list[Text], sep: str) -> Text:
    t = Text()
    for i, part in enumerate(parts):
        if i:
            t.append(sep)
        t.append_text(part)
    return t


def _elide(text: str, width: int) -> str:
    """`text` in `width` cells, cut in the middle (`~` marks the cut): both ends of a context name say most."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "~" + text[len(text) - (width - 1 - head):]


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
        self._counts: Counter[str] = Counter()  # the findings in scope by severity (counted as they change)
        self._error = ""
        self._retry_at: float | None = None  # when the failed load is tried again (None: only `r` does)
        self._snapshot = False  # a plan's changes laid over the source: never watched, never current
        self._drawn = Text()  # the whole line last drawn (render fits it to the width): repaint on change only

    def set_state(self, *, source: str = _UNSET, scope: str | None = _UNSET, watch: Any = _UNSET,
                  findings: list[Finding] = _UNSET, error: str = _UNSET, retry_at: float | None = _UNSET,
                  snapshot: bool = _UNSET) -> None:
        """Change what is given; `watch` is a WatchStatus (state, since) or None for static sources;
        `retry_at` the time.time() the failed load (`error`) is retried; `snapshot`: a plan (`--plan`) is shown."""
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
        if retry_at is not _UNSET:
            self._retry_at = retry_at
        if snapshot is not _UNSET:
            self._snapshot = snapshot
        if findings is not _UNSET or scope is not _UNSET:
            self._counts = Counter(f.severity for f in self._findings or ()
                                   if not self._scope or f.namespace in ("", self._scope))
        line = self.line()
        if line != self._drawn:  # a repaint of one line only: its size never changes
            self._drawn = line
            self.refresh()

    def render(self) -> Text:
        return self.line(self.content_size.width or None)

    def line(self, width: int | None = None) -> Text:
        """The bar, fitted to `width` cells (None: whole). What gives way first: the server's address, then
        the namespace, then the context's name (cut in the middle, marked `~`), then `? help`; the
        connection state and the counts stay."""
        sep = " | " if self.ascii_only else " │ "
        if self._error:
            # The retry first: on a narrow terminal the error's end gives way, never that it is retried.
            t = Text()
            if self._retry_at is not None:
                left = self._retry_at - time.time()
                t.append(f"retrying in {left:.0f} s: " if left >= 0.5 else "retrying: ", style="bold yellow")
            t.append(clean(self._error), style="bold red")
            t.append(sep + ("r retry now  q quit" if self._retry_at is not None else "r retry  q quit"))
            return t
        vital = self._vital()
        scope = Text(f"ns: {clean(self._scope) if self._scope else 'all'}")
        help_ = Text("? help", style="dim")
        source = clean(self._source)
        name = source.rpartition(" (")[0] if source.endswith(")") else source  # without the server's address
        tries = [[name_, scope, *vital, help_] for name_ in (source, name)]
        if width is not None:
            for rest in ([scope, *vital, help_], [*vital, help_]):  # the namespace gives way before the name
                room = width - _joined(rest, sep).cell_len - len(sep)
                if room >= MIN_SOURCE:
                    tries.append([_elide(name.removeprefix("context "), room), *rest])
        fitted = (_joined([Text(p, style="bold") if isinstance(p, str) else p for p in parts], sep) for parts in
                  [*tries, [scope, *vital, help_], [*vital, help_], vital])
        return next((t for t in fitted if width is None or t.cell_len <= width), _joined(vital, sep))

    def _vital(self) -> list[Text]:
        """The connection state and the counts of the namespace in view: what must always show."""
        out = []
        state = self._state()
        if state:
            out.append(Text(state[0], style=state[1]))
        if self._findings is None:  # never "0 errors" before anything was checked
            return [*out, Text("checking...", style="dim")]
        symbols = ASCII_SYMBOLS if self.ascii_only else SYMBOLS
        for severity, word in (("error", "errors"), ("warning", "warnings")):
            n = self._counts[severity]
            out.append(Text(f"{symbols[severity]} {n} {word}", style=STYLES[severity] if n else "dim"))
        return out

    def _state(self) -> tuple[str, str] | None:
        if self._snapshot:  # what a connection state would say: the changes are not applied anywhere
            return "snapshot, not live", "bold yellow"
        w = self._watch
        if w is None:
            return None
        if w.state == "live":
            return "live", "green"
        since = f" since {time.strftime('%H:%M:%S', time.localtime(w.since))}" if w.since else ""
        return f"{w.state}{since}", "bold yellow" if w.state == "reconnecting" else "bold red"
