"""KeyedTable: a virtualised table of `Row`s kept by key.

Only the visible lines are drawn (`render_line`), so 20,000 rows cost nothing per key press;
rows are added, changed and removed by key without moving the cursor off its row or the view
under it (watch events arrive while the user reads). Keys are kept sorted, so finding a row's
position is a bisection.

Each row carries two marks besides its cells: on the selected request path (`>` and bold,
everything else dimmed) or a near miss of its selector (`≈`), and a problem symbol (error or warning
findings about its object).

The first column is the key column (the name: host, Service, pod, namespace): it stays whole before
any other column gets room, and stays put while ←/→ scroll the other columns; the header shows `«`/`»`
where columns are out of view.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ktrace.render import ASCII_SYMBOLS, SYMBOLS
from ktrace.tui.rows import Row

Key = tuple[str, ...]
MAX_COLUMN = 48  # no column grows wider than this; the first one takes what is left
GAP = 2
MIN_COLUMN = 6  # an essential column never gets narrower than this
MARKS = 3  # the path or near-miss mark, the problem symbol, a space
# Values that are wrong when cut (10.244.1.15 is another IP than 10.244.1.152): whole, or `~` alone.
PROBLEM_ORDER = ("error", "warning", "unknown")  # row marks, worst first: what `n` walks, in this order
WHOLE_OR_NOTHING = frozenset({"IP", "READY", "RESTARTS", "ING", "SVC", "PODS"})
# The table's own marks, (Unicode, ASCII); `~` already means "cut", so a near miss is `=` in ASCII.
TABLE_MARKS = {"near-miss": ("≈", "="), "more-left": ("«", "<"), "more-right": ("»", ">")}


def table_mark(name: str, ascii_only: bool) -> str:
    return TABLE_MARKS[name][ascii_only]


def parse_filter(text: str) -> tuple[list[str], dict[str, str]]:
    """`/` filter text: `key=value` words filter on labels, the other words are substrings."""
    words, labels = [], {}
    for word in text.split():
        k, eq, v = word.partition("=")
        if eq and k:
            labels[k] = v
        else:
            words.append(word.lower())
    return words, labels


class KeyedTable(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("g,home", "edge(0)", "First row", show=False, id="table.first"),
        Binding("G,end", "edge(1)", "Last row", show=False, id="table.last"),
        Binding("left,h", "scroll_columns(-1)", "Columns left (the key column stays)", show=False, id="table.left"),
        Binding("right,l", "scroll_columns(1)", "Columns right (the key column stays)", show=False,
                id="table.right"),
        Binding("enter", "select", "Select", id="table.select"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"keyed-table--header", "keyed-table--cursor", "keyed-table--on-path",
                         "keyed-table--dimmed", "keyed-table--near-miss", "keyed-table--error",
                         "keyed-table--warning", "keyed-table--unknown"}
    DEFAULT_CSS = """
    KeyedTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    KeyedTable > .keyed-table--header { text-style: bold; }
    KeyedTable > .keyed-table--cursor { text-style: underline; }
    KeyedTable:focus > .keyed-table--cursor { text-style: reverse; }
    KeyedTable > .keyed-table--on-path { text-style: bold; }
    KeyedTable > .keyed-table--dimmed { text-style: dim; }
    KeyedTable > .keyed-table--near-miss { text-style: bold italic; }
    KeyedTable > .keyed-table--error { color: red; }
    KeyedTable > .keyed-table--warning { color: yellow; }
    """

    class Selected(Message):
        """Enter on a row."""

        def __init__(self, table: KeyedTable, row: Row) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class WidthChanged(Message):
        """The width the table needs to show every column whole changed (the app fits the namespaces pane to it)."""

        def __init__(self, table: KeyedTable) -> None:
            super().__init__()
            self.table = table

    class Moved(Selected):
        """The user moved the cursor to another row (keys, mouse, `n`/`N`; not the app's `move_to`)."""

    def __init__(self, columns: Sequence[str], *, essential: int = 1, ascii_only: bool = False,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = tuple(columns)
        self.essential = essential  # the leading columns (key included) that share a narrow pane (see _layout)
        self.ascii_only = ascii_only
        self._rows: dict[Key, Row] = {}
        self._keys: list[Key] = []  # every key, sorted
        self._visible: list[Key] = []  # the keys that pass scope and filter, sorted
        self._widths = [len(c) for c in self.columns]
        self._cursor: Key | None = None
        self._scope: str | None = None  # a namespace, or None for all
        self._words: list[str] = []
        self._labels: dict[str, str] = {}
        self.filter_text = ""
        self._on_path: set[Key] | None = None  # None: no path selected, nothing dimmed
        self._near_misses: set[Key] = set()  # rows a selector on the path almost matches
        self.path_only = False  # show only the rows on the path and the near misses
        self._problems: dict[Key, str] = {}
        self._first = 0  # 0: the columns are not scrolled; else the first column shown after the key column
        self._full_width = 0  # the last full_width reported by WidthChanged
        self._styles: dict[tuple[str, str | None, bool], Style] = {}

    # -- contents --------------------------------------------------------------------------------

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Make the table hold exactly `rows`: new keys are added, changed rows replaced, missing
        keys removed; the cursor stays on its row (or its position, when the row is gone)."""
        new = {r.key: r for r in rows}
        gone = [k for k in self._rows if k not in new]
        changed = [r for k, r in new.items() if self._rows.get(k) != r]
        if len(changed) + len(gone) > len(self._rows) // 2:  # a reload: rebuilding beats insertions
            with self._keeping_cursor():
                self._rows = new
                self._keys = sorted(new)
                self._visible = [k for k in self._keys if self._matches(new[k])]
                self._widths = [len(c) for c in self.columns]
                self._grow_widths(new.values())
        else:
            self.update(changed, gone)

    def update(self, rows: Iterable[Row] = (), remove: Iterable[Key] = ()) -> None:
        """Add or replace `rows` and drop the keys in `remove` (unknown keys are ignored)."""
        rows, remove = list(rows), list(remove)
        if not rows and not remove:
            return
        if not remove and self._in_place(rows):
            return
        with self._keeping_cursor():
            for key in remove:
                if self._rows.pop(key, None) is not None:
                    _discard(self._keys, key)
                    _discard(self._visible, key)
            for row in rows:
                old = self._rows.get(row.key)
                self._rows[row.key] = row
                if old is None:
                    insort(self._keys, row.key)
                was, now = old is not None and self._matches(old), self._matches(row)
                if now and not was:
                    insort(self._visible, row.key)
                elif was and not now:
                    _discard(self._visible, row.key)
            self._grow_widths(rows)

    def _in_place(self, rows: list[Row]) -> bool:
        """Rows that replace rows shown as they are (same keys, still shown, no column wider): set, and only
        their lines on screen repainted (a watch event changes a few rows of thousands). False: nothing done."""
        widths = list(self._widths)
        for row in rows:
            old = self._rows.get(row.key)
            if old is None or not self._matches(old) or not self._matches(row):
                return False
        self._grow_widths(rows)
        if self._widths != widths:
            self._widths = widths
            return False
        for row in rows:
            self._rows[row.key] = row
        self._refresh_rows(row.key for row in rows)
        return True

    def _refresh_rows(self, keys: Iterable[Key]) -> None:
        """Repaint the lines of these rows that are on screen (line 0 is the header)."""
        top, page = int(self.scroll_y), self._page()
        width = self.size.width
        for key in keys:
            i = self._index(key)
            if i is not None and top <= i < top + page:
                self.refresh(Region(0, i - top + 1, width, 1))

    def row(self, key: Key) -> Row | None:
        return self._rows.get(key)

    def rows(self) -> Iterable[Row]:
        return self._rows.values()

    @property
    def visible_keys(self) -> list[Key]:
        return self._visible

    def __len__(self) -> int:
        return len(self._rows)

    # -- scope, filter, marks --------------------------------------------------------------------

    def set_scope(self, namespace: str | None) -> None:
        """Show only the rows of one namespace (rows of no namespace always show)."""
        self._scope = namespace
        self._refilter()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self._words, self._labels = parse_filter(self.filter_text)
        self._refilter()

    def _matches(self, row: Row) -> bool:
        if self.path_only and not self._marked(row.key):
            return False
        if self._scope is not None and row.namespace and row.namespace != self._scope:
            return False
        if any(w not in row.text for w in self._words):
            return False
        return all(row.labels.get(k) == v for k, v in self._labels.items())

    def _refilter(self) -> None:
        with self._keeping_cursor():
            self._visible = [k for k in self._keys if self._matches(self._rows[k])]

    def set_marks(self, on_path: Iterable[Key] | None, problems: Mapping[Key, str] | None = None,
                  near_misses: Iterable[Key] | None = None) -> None:
        """`on_path`: the rows of the selected request path (None: no selection, nothing dims);
        `problems`: the worst severity of the findings about each row's object; `near_misses`: the
        rows a selector on the path almost matches (None: keep them)."""
        was = (self._on_path, self._near_misses)
        self._on_path = None if on_path is None else set(on_path)
        if near_misses is not None:
            self._near_misses = set(near_misses)
        if problems is not None:
            self._problems = dict(problems)
        if self.path_only and was != (self._on_path, self._near_misses):
            self._refilter()
        self.refresh()

    def set_path_only(self, on: bool) -> None:
        """Show only the rows on the selected path and its near misses (none while no path is selected), or all."""
        self.path_only = on
        self._refilter()

    def _marked(self, key: Key) -> bool:
        return (self._on_path is not None and key in self._on_path) or key in self._near_misses

    def update_problems(self, problems: Mapping[Key, str | None]) -> None:
        """Set the problem marks of some rows (None: no problem any more); the others keep theirs."""
        for key, problem in problems.items():
            if problem is None:
                self._problems.pop(key, None)
            else:
                self._problems[key] = problem
        self._refresh_rows(problems)

    @property
    def on_path(self) -> set[Key] | None:
        return self._on_path

    @property
    def near_misses(self) -> set[Key]:
        return self._near_misses

    @property
    def problems(self) -> dict[Key, str]:
        return self._problems

    # -- cursor ----------------------------------------------------------------------------------

    @property
    def cursor_key(self) -> Key | None:
        return self._cursor if self._index(self._cursor) is not None else None

    @property
    def cursor_row(self) -> Row | None:
        key = self.cursor_key
        return self._rows[key] if key is not None else None

    def _index(self, key: Key | None) -> int | None:
        if key is None:
            return None
        i = bisect_left(self._visible, key)
        return i if i < len(self._visible) and self._visible[i] == key else None

    def move_to(self, key: Key) -> bool:
        """Put the cursor on `key` (if it is shown) and scroll it into view."""
        i = self._index(key)
        if i is None:
            return False
        self._set_cursor(i)
        return True

    def _set_cursor(self, i: int) -> None:
        if not self._visible:
            self._cursor = None
            return
        i = max(0, min(i, len(self._visible) - 1))
        self._cursor = self._visible[i]
        self._scroll_to_cursor(i)
        self.refresh()

    def _scroll_to_cursor(self, i: int) -> None:
        page = self._page()
        top = int(self.scroll_y)
        if i < top:
            self.scroll_to(y=i, animate=False, immediate=True, force=True)
        elif i >= top + page:
            self.scroll_to(y=i - page + 1, animate=False, immediate=True, force=True)

    def _cursor_index(self) -> int:
        i = self._index(self._cursor)
        return 0 if i is None else i

    def _page(self) -> int:
        return max(1, self.size.height - 1)  # one line is the header

    def _move(self, i: int) -> None:
        """A cursor move of the user's: say so when the cursor lands on another row."""
        before = self._cursor
        self._set_cursor(i)
        row = self.cursor_row
        if row is not None and row.key != before:
            self.post_message(self.Moved(self, row))

    def action_cursor(self, delta: int) -> None:
        self._move(self._cursor_index() + delta)

    def action_page(self, direction: int) -> None:
        self._move(self._cursor_index() + direction * self._page())

    def action_edge(self, end: int) -> None:
        self._move(len(self._visible) - 1 if end else 0)

    def action_select(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.Selected(self, row))

    def on_click(self, event: events.Click) -> None:
        """The mouse, where there is one: a click puts the cursor on a row, a double click selects it."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        i = int(self.scroll_y) + offset.y - 1
        if i < len(self._visible):
            self._move(i)
            if event.chain >= 2:
                self.action_select()

    def next_problem(self, direction: int) -> bool:
        """Move to the next (1) or previous (-1) shown row with a problem: the errors (broken routes) in
        order, then the warnings (degraded), then the unknown, wrapping around."""
        ranked = [k for severity in PROBLEM_ORDER for k in self._visible if self._problems.get(k) == severity]
        if not ranked:
            return False
        at = ranked.index(self._cursor) if self._cursor in ranked else (-1 if direction > 0 else 0)
        self._move(self._index(ranked[(at + direction) % len(ranked)]) or 0)
        return True

    def _keeping_cursor(self) -> _CursorKeeper:
        return _CursorKeeper(self)

    # -- drawing ---------------------------------------------------------------------------------

    def _grow_widths(self, rows: Iterable[Row]) -> None:
        widths = self._widths
        for row in rows:
            for i, cell in enumerate(row.cells):
                if len(cell) > widths[i]:
                    widths[i] = min(len(cell), MAX_COLUMN)

    @property
    def full_width(self) -> int:
        """The cells needed to show every column whole."""
        return MARKS + sum(self._widths) + GAP * (len(self._widths) - 1)

    def _layout(self, width: int, first: int | None = None) -> list[tuple[int, int]]:
        """The columns to draw in `width` cells, as (column, width). Unscrolled (`first` 0), the key column
        is whole (cut only when it alone is wider than the pane) and the columns after it follow; scrolled,
        they start at column `first` and the key column gives way (down to half the pane) so that one is
        whole. When the columns after the key do not fit, the essential ones among them share the room
        (the widest give way first); the rest is cut at the right edge."""
        first = self._first if first is None else first
        widths, avail = self._widths, max(0, width - MARKS)
        key = min(widths[0], avail if not first else max(avail - GAP - widths[first], avail // 2))
        room = avail - key
        rest = range(max(first, 1), len(widths))
        essential = [i for i in rest if i < self.essential]
        cap = MAX_COLUMN
        if essential and sum(widths[i] + GAP for i in rest) > room:
            budget = room - GAP * len(essential)
            cap = max(_fair_cap([widths[i] for i in essential], max(budget, len(essential) * MIN_COLUMN)), MIN_COLUMN)
        return [(0, key)] + [(i, min(widths[i], cap) if i < self.essential else widths[i]) for i in rest]

    def _more(self, width: int, first: int | None = None) -> tuple[bool, bool]:
        """Whether columns after the key column are out of view on the left, and on the right (cut or beyond
        the edge)."""
        layout = self._layout(width, first)
        used = MARKS + sum(w for _, w in layout) + GAP * (len(layout) - 1)
        return (self._first if first is None else first) > 1, used > width or any(
            w < self._widths[i] for i, w in layout[1:])

    def _whole_unscrolled(self, width: int) -> bool:
        """Whether the column after the key column is shown whole when the columns are not scrolled."""
        key, (i, w) = self._layout(width, 0)[:2]
        return w == self._widths[i] and MARKS + key[1] + GAP + w <= width

    def action_scroll_columns(self, step: int) -> None:
        """←/→: scroll the columns after the key column by one; → stops once the last is in view. The first →
        goes to the second column when the first is already whole (else it makes the first whole)."""
        width = self.scrollable_content_region.width
        if len(self.columns) < 2 or (step > 0 and not self._more(width)[1]) or (step < 0 and not self._first):
            return
        first = min(self._first + step, len(self.columns) - 1)
        if first == 1 and self._whole_unscrolled(width):
            first += step
        self._first = max(0, min(first, len(self.columns) - 1))
        self.refresh()

    def _after_change(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._visible) + 1)
        if self.full_width != self._full_width:
            self._full_width = self.full_width
            self.post_message(self.WidthChanged(self))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width  # without the scrollbar, which would cover the last cells
        layout = self._layout(width)
        if y == 0:
            return self._header(layout, width)
        i = int(self.scroll_y) + y - 1
        if i >= len(self._visible):
            return Strip.blank(width, self._style("", None, False))
        key = self._visible[i]
        row = self._rows[key]
        on_path = self._on_path is not None and key in self._on_path
        near_miss = not on_path and key in self._near_misses
        path = "" if self._on_path is None else "on-path" if on_path else "near-miss" if near_miss else "dimmed"
        problem = self._problems.get(key)
        problem = problem if problem in PROBLEM_ORDER else None
        symbols = ASCII_SYMBOLS if self.ascii_only else SYMBOLS
        marks = (">" if on_path else table_mark("near-miss", self.ascii_only) if near_miss else " ") + \
            (symbols[problem] if problem else " ") + " "
        style = self._style(path, problem, key == self._cursor)
        return Strip([Segment(self._line(marks, row.cells, layout, width), style)]).crop_extend(0, width, style)

    def _header(self, layout: list[tuple[int, int]], width: int) -> Strip:
        """The column names, with `«` after the key column and `»` at the right edge where columns are out of view."""
        line = list(self._line(" " * MARKS, self.columns, layout, width).ljust(width))
        more_left, more_right = self._more(width)
        gap = MARKS + layout[0][1]
        if more_left and gap < width:
            line[gap] = table_mark("more-left", self.ascii_only)
        if more_right and width > 0:  # over the key column's blank end when that fills the pane
            line[-1] = table_mark("more-right", self.ascii_only)
        style = self._style("header", None, False)
        return Strip([Segment("".join(line), style)]).crop_extend(0, width, style)

    def _style(self, path: str, problem: str | None, cursor: bool) -> Style:
        """The style of a line, combined once per kind of line: computing styles from CSS for every
        line of every pane would make a full repaint several times slower."""
        key = (path, problem, cursor)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            names = [f"keyed-table--{path}" if path else "", f"keyed-table--{problem}" if problem else "",
                     "keyed-table--cursor" if cursor else ""]
            for name in filter(None, names):
                style += self.get_component_rich_style(name, partial=True)
            self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()

    def on_focus(self) -> None:
        self._styles.clear()  # the cursor line looks different with focus

    def on_blur(self) -> None:
        self._styles.clear()

    def _line(self, marks: str, cells: Sequence[str], layout: list[tuple[int, int]], width: int) -> str:
        """One line's text. A value wider than its column (or than the room left at the pane's edge) ends in `~`;
        an IP or a count that does not fit whole is shown as `~` alone: cut, it would read as another."""
        parts: list[str] = []
        room = width - len(marks)
        for i, w in layout:
            column, cell = self.columns[i], cells[i]
            room -= GAP if parts else 0
            if w > room:  # the column at the pane's edge gets what is left
                if room > 0 and column in WHOLE_OR_NOTHING:
                    parts.append(cell.ljust(room) if len(cell) <= room else "~".ljust(room))
                elif room > 0:
                    parts.append(cell[: room - 1] + "~" if len(cell) > room else cell.ljust(room))
                break
            parts.append(cell[: w - 1] + "~" if len(cell) > w else cell.ljust(w))
            room -= w
        return marks + (" " * GAP).join(parts)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Textual moves the scrollbar only while it is shown: rows set and scrolled to in one tick (the scrollbar
        # appears at the next layout) would leave its thumb where it was, off from the rows drawn.
        self.vertical_scrollbar.position = new
        self.refresh()

    def on_resize(self) -> None:
        self._after_change()
        i = self._index(self._cursor)
        if i is not None:  # a pane that shrank keeps its cursor row in view
            self._scroll_to_cursor(i)


def _fair_cap(widths: list[int], budget: int) -> int:
    """The largest cap such that the widths, each cut to it, fit in `budget` (narrow ones keep theirs)."""
    left, n = budget, len(widths)
    for i, w in enumerate(sorted(widths)):
        share = left // (n - i)
        if w > share:
            return share
        left -= w
    return max(widths)


class _CursorKeeper:
    """Around a change of rows: afterwards the cursor is on the same row at the same screen line
    (or, when its row went away, at the same position)."""

    def __init__(self, table: KeyedTable) -> None:
        self.table = table

    def __enter__(self) -> None:
        t = self.table
        self.index = t._index(t._cursor)
        self.line = (self.index - int(t.scroll_y)) if self.index is not None else None

    def __exit__(self, *exc: object) -> None:
        t = self.table
        t._after_change()
        if not t._visible:
            t._cursor = None
            return
        i = t._index(t._cursor)
        if i is None:
            i = min(self.index or 0, len(t._visible) - 1)
            t._cursor = t._visible[i]
        if self.line is not None and 0 <= self.line < t._page():
            t.scroll_to(y=max(0, i - self.line), animate=False, immediate=True, force=True)
        t._set_cursor(i)


def _discard(keys: list[Key], key: Key) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]
