"""The path panel: the request path of the selected host, as a summary (one line per hop, the pods on
one line, then the fixes: small terminals show the whole diagnosis) or, on demand, as the full tree,
every hop with a symbol, a word and its reasons; hops whose status changed since the last trace of
the same target are marked for a few seconds. It also shows the reverse view (which hosts and paths
reach a service or pod)."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from ktrace.plan import RouteChange
from ktrace.printable import clean
from ktrace.render import AsciiGuides, hop_key, path_diff_view, path_summary, path_tree, timeline
from ktrace.requestpath import RequestPath

CHANGE_SECONDS = 5.0  # how long a hop that changed state stays marked
MAX_PROBLEM_PODS = 50  # not-ready pods drawn; the rest are counted (and listed by the findings view)
PLACEHOLDER = "Select a host or rule to see its request path."


class PathPanel(VerticalScroll, can_focus=True):
    """Scrollable, focusable view of one RequestPath (or of the reverse lookup for an object)."""

    DEFAULT_CSS = """
    PathPanel { height: 1fr; }
    PathPanel > #path-body { width: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Scroll down", show=False, id="path.scroll_down"),
        Binding("k", "scroll_up", "Scroll up", show=False, id="path.scroll_up"),
        Binding("g", "scroll_home", "Top", show=False, id="path.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="path.bottom"),
    ]

    def __init__(self, ascii_only: bool = False, change_seconds: float = CHANGE_SECONDS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ascii_only = ascii_only
        self.change_seconds = change_seconds
        self.path: RequestPath | None = None
        self.change: RouteChange | None = None  # with --plan: the path before the changes and what differs
        # hop_key -> (status before, or None for a new hop; when the mark expires)
        self._changed: dict[tuple, tuple[str | None, float]] = {}
        self._gone: dict[tuple, tuple[str, float]] = {}  # hops that left the path, same expiry
        self._body = Static(PLACEHOLDER, id="path-body")
        self.full = False  # the full tree instead of the summary
        self.toggle_key = "v"  # the key that switches views, as the title tells it
        self._retitle()

    def compose(self):
        yield self._body

    @property
    def changed_hops(self) -> dict[tuple, str | None]:
        """The hops currently marked as changed: hop_key -> previous status (None: new hop)."""
        now = time.monotonic()
        return {k: before for k, (before, until) in self._changed.items() if until > now}

    def show(self, path: RequestPath | None, change: RouteChange | None = None) -> None:
        """Show a path (with --plan, the path after the changes, under what they change on it: `change`). Same
        target as before: hops whose status changed (or that appeared) are marked for `change_seconds`; another
        target: the scroll position goes back to the top."""
        previous = self.path
        self.path, self.change = path, change
        if path is None or previous is None or previous.target != path.target:
            self._changed.clear()
            self._gone.clear()
            self.scroll_home(animate=False)
        else:
            before = {hop_key(h): h.status for h in previous.hops}
            until = time.monotonic() + self.change_seconds
            for hop in path.hops:
                old = before.get(hop_key(hop))
                if old != hop.status:
                    self._changed[hop_key(hop)] = (old, until)
            now_keys = {hop_key(h) for h in path.hops}
            for hop in previous.hops:
                if hop_key(hop) not in now_keys:  # gone from the path: say so, there is no node to mark
                    self._gone[hop_key(hop)] = (f"{hop.kind} {hop.name or '(none)'} (was {hop.status})", until)
            if self._changed or self._gone:
                self.set_timer(self.change_seconds + 0.05, self._expire)
        self._draw()

    def set_full(self, full: bool) -> None:
        """Show the full tree (True) or the summary (False) of the path."""
        self.full = full
        self._retitle()
        if self.path is not None:  # a reverse view stays as it is
            self._draw()

    def set_toggle_key(self, key: str) -> None:
        """The key that switches views (the user's keymap may move it), for the title."""
        self.toggle_key = key
        self._retitle()

    def _retitle(self) -> None:
        view, other = ("full", "summary") if self.full else ("summary", "full")
        self.border_title = f"Request path ({view}, {self.toggle_key}: {other})"

    def show_reverse(self, title: str, lines: list[str]) -> None:
        """Show which hosts and paths reach an object (a Service or a Pod selected in its pane)."""
        self.path, self.change = None, None
        self._changed.clear()
        self._gone.clear()
        body = Text(clean(title), style="bold")
        for line in lines or ["no Ingress rule reaches it"]:
            body.append("\n  " + clean(line))
        self._body.update(body)
        self.scroll_home(animate=False)

    def _expire(self) -> None:
        now = time.monotonic()
        expired = False
        for marks in (self._changed, self._gone):
            for k in [k for k, (_, until) in marks.items() if until <= now]:
                del marks[k]
                expired = True
        if expired:
            self._draw()

    def _draw(self) -> None:
        path = self.path
        if path is None:
            self._body.update(PLACEHOLDER)
            return
        changed = self.changed_hops
        parts = self._planned()
        if self.full:
            tree = path_tree(path, self.ascii_only, details=True, changed=changed, max_problem_pods=MAX_PROBLEM_PODS)
            parts.append(AsciiGuides(tree) if self.ascii_only else tree)
        else:
            parts.append(path_summary(path, self.ascii_only, changed=changed))
        now = time.monotonic()
        for label, until in self._gone.values():
            if until > now:
                parts.append(Text(f"* gone from the path: {clean(label)}", style="bold reverse"))
        if self.full and path.changes:
            parts.append(timeline(path.changes, self.ascii_only))
        if self.full and not path.routed:  # no hop at all: the finding says why (closest hosts, the host's paths)
            for f in path.findings:
                parts.append(Text(clean(f.message)))
                if f.hint:
                    parts.append(Text(clean(f"hint: {f.hint}"), style="italic"))
        self._body.update(Group(*parts))

    def on_resize(self) -> None:
        if self.change is not None and self.change.changed:  # its finding lines are wrapped to the width: anew
            self._draw()

    def _planned(self) -> list[RenderableType]:
        """With --plan, first what the changes do to this route (the path after them follows)."""
        c = self.change
        if c is None:
            return []
        if not c.changed:
            return [Text("plan: this route does not change", style="dim")]
        # Wrapped as if the scrollbar were there: whether it shows must not move the words (a snapshot, a reader).
        width = (self.content_region.width - self.styles.scrollbar_size_vertical) or 80
        return [path_diff_view(c, c.status_before, c.status_after, self.ascii_only, width, title="plan:",
                               entry=(c.entry_before, c.entry_after)),
                Text("after the changes:", style="bold")]
