"""KtraceApp: the main screen. Four panes (namespaces, routes: Ingress rules and HTTPRoutes, services, pods), the
path panel and a status bar, over the same store and analysis as the CLI.

Threads: the source loads (and relists) in a thread worker, then watches with `deferred=True`: its
watch threads only queue what changed (one entry per object) and wake the app with one message. The
app waits a moment (coalescing bursts), applies the queue to the store itself (`_apply_pending`), and
is from then on the store's only writer: it re-checks what the batch touched, updates just the
changed rows inside `batch_update()` and traces the selected target again, never holding the lock
the watch threads need.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from ktrace.analysis import Analysis
from ktrace.ending import end, end_soon, signals_call
from ktrace.errors import KtraceError, LoginRequired
from ktrace.findings import Finding
from ktrace.loader import ManifestError
from ktrace.options import AnalysisOptions, SourceSpec, ViewOptions
from ktrace.plan import Overlay, RouteChange
from ktrace.printable import clean, clean_lines
from ktrace.render import trace_text
from ktrace.sources.protocol import Change, NarrowReadRefused, Source
from ktrace.store import ClusterStore
from ktrace.targets import Target, parse_target
from ktrace.trace import RequestPath
from ktrace.tui import rows as R
from ktrace.tui.filter_box import FilterBox
from ktrace.tui.grid import main_grid_columns
from ktrace.tui.keys import KEYMAP_ENV, key_display, mapped_keys, parse_keymap
from ktrace.tui.marks import ProblemMarks
from ktrace.tui.palette import ContextCommands, HostCommands, NamespaceCommands, Palette, PaneCommands
from ktrace.tui.path_panel import PathPanel
from ktrace.tui.plan_column import plan_columns, plan_rows
from ktrace.tui.rowdiff import ChangeKey, PaneChange, pane_changes
from ktrace.tui.selection import (
    FINDING_PANE,
    finding_target,
    near_miss_keys,
    path_keys,
    reverse_keys,
    reverse_lines,
    row_of,
    rows_reaching,
    services_behind,
)
from ktrace.tui.session import Profile, mouse_driver, terminal_restorer
from ktrace.tui.status_bar import StatusBar
from ktrace.tui.table import KeyedTable
from ktrace.tui.terminal import replace_invalid_input
from ktrace.verdicts import RouteVerdicts

GRACE = 0.6  # seconds the app may take to give the terminal back on a signal before it is taken from it
DEBOUNCE = 0.15  # seconds: watch events arriving within this window are applied together
RETRY = (1.0, 30.0)  # seconds: the wait before retrying a reload that failed, doubling up to the second
IMMEDIATE_ACTIONS = frozenset({"quit", "help"})  # keys that act even while the first listing loads
FOLLOW_DELAY = 0.08  # seconds the cursor rests on a route before it is traced (a held key does not trace each)
MIN_SIZE = (60, 16)  # below this the panes cannot show a path: one line says so instead
PANES = (("namespaces", "Namespaces", R.NAMESPACE_COLUMNS), ("rules", "Routes", R.RULE_COLUMNS),
         ("services", "Services", R.SERVICE_COLUMNS), ("pods", "Pods", R.POD_COLUMNS))
# Tab goes left to right, top to bottom, as each layout draws the panes (see ktrace.tcss).
TAB_ORDER = {"compact": ("namespaces", "rules", "path", "services", "pods"),
             "wide": ("namespaces", "rules", "services", "pods", "path")}
ENTRY_HEAD_START = 1.0  # seconds the narrow first reads run alone before the whole load starts
DEFAULT_SPEC, DEFAULT_OPTIONS, DEFAULT_VIEW = SourceSpec(), AnalysisOptions(), ViewOptions()  # frozen: safe to share


class StoreChanged(Message):
    """Posted (from a watch thread) when the first change since the last batch is queued."""


class EntryRead(Message):
    """The first load's routes from the kinds paths start from and, with --host, that path from narrow reads
    (posted from a thread beside the whole load: messages are safe from any thread, even once the app ends)."""

    def __init__(self, routes: list[R.Row], target: Target | None = None, path: RequestPath | None = None) -> None:
        super().__init__()
        self.routes, self.target, self.path = routes, target, path


class Listed(Message):
    """The first load's panes, posted before the findings and the verdicts are computed."""

    def __init__(self, rows: dict[str, list[R.Row]], source: str) -> None:
        super().__init__()
        self.rows, self.source = rows, source


class Loaded(Message):
    def __init__(self, analysis: Analysis, rows: dict[str, list[R.Row]], findings: list[Finding],
                 verdicts: RouteVerdicts, planned: list[RouteChange] | None = None) -> None:
        super().__init__()
        self.analysis, self.rows, self.findings, self.verdicts = analysis, rows, findings, verdicts
        self.planned = planned  # with --plan: every route before -> after


class KtraceApp(App[int]):
    CSS_PATH = "ktrace.tcss"
    TITLE = "ktrace"
    COMMANDS: ClassVar[set] = {PaneCommands, NamespaceCommands, HostCommands, ContextCommands}  # no system ones
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "focus_next", "Next pane", show=False, id="app.next_pane"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="app.previous_pane"),
        Binding("slash", "filter", "Filter pane", id="app.filter"),
        Binding("escape", "clear", "Clear the pane's filter, then the selection", id="app.clear"),
        Binding("0", "all_namespaces", "All namespaces", id="app.all_namespaces"),
        Binding("colon", "command_palette", "Palette", id="app.palette"),
        Binding("n", "problem(1)", "Next problem", id="app.next_problem"),
        Binding("N", "problem(-1)", "Previous problem", id="app.previous_problem"),
        Binding("f", "findings", "Findings", id="app.findings"),
        Binding("d", "detail", "Detail", id="app.detail"),
        Binding("y", "copy", "Copy trace", id="app.copy"),
        Binding("p", "preview", "Preview switch", id="app.preview"),
        Binding("v", "path_detail", "Full path detail / summary", id="app.path_detail"),
        Binding("r", "relist", "Relist", id="app.relist"),
        Binding("o", "path_pods_only", "Only the path's pods (and near misses), or all", id="app.path_pods_only"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit (as in k9s)", show=False, priority=True, id="app.interrupt"),
    ]

    def __init__(self, spec: SourceSpec = DEFAULT_SPEC, options: AnalysisOptions = DEFAULT_OPTIONS,
                 view: ViewOptions = DEFAULT_VIEW, *, source_factory: Callable[[SourceSpec], Source],
                 ascii_only: bool = False, debounce: float = DEBOUNCE, retry: tuple[float, float] = RETRY,
                 overlay: Overlay | None = None) -> None:
        # NO_COLOR: Textual would turn every colour into a grey, and dark red errors into near-black
        # on black; with the terminal's own palette and NO_COLOR it drops colour and keeps contrast.
        super().__init__(ansi_color=bool(os.environ.get("NO_COLOR")))
        self.spec, self.options = spec, options
        self.ascii_only = ascii_only
        self.debounce = debounce
        self.retry = retry
        self.animation_level = "none"  # quiet on slow links
        # Opens the spec's source (ktrace.sources.open_source; the view knows only the protocol). Called
        # again by relist and context switches.
        self.source_factory = source_factory
        # --plan: the changes laid over each load of the source (ktrace.sources.overlay, built by the command line:
        # the view does not read files); the source is then a snapshot, never watched.
        self.overlay = overlay
        self.planned: dict[Target, RouteChange] = {}  # with --plan: every route of either side, before -> after
        self.analysis: Analysis | None = None  # the open source and its store (None while reloading)
        self.store: ClusterStore | None = None  # what the panes show: the last store loaded
        self.findings: list[Finding] = []
        self.verdicts: RouteVerdicts | None = None  # every route's path, kept current from watch events
        self.marks: ProblemMarks | None = None  # the panes' problem marks, kept current batch by batch
        self.namespace: str | None = spec.namespace
        self.target: Target | None = parse_target(view.host) if view.host else None
        self.reverse_of: tuple[str, str, str] | None = None  # the Service/Pod whose reverse path is shown
        self.path: RequestPath | None = None
        self.error: str | None = None
        self._woken = False  # a StoreChanged is on its way: the watches need not post another
        self._flush_timer: Any = None
        self._trace_timer: Any = None  # the route under a moving cursor is traced when it rests
        self.updates = 0  # coalesced live updates applied (tests and the benchmark wait on it)
        self._started = False  # the first load is done (a relist keeps the cursors where they are)
        self._relisting = False  # `r` was pressed: say when the new listing is in
        self._early_keys: list[events.Key] = []  # pressed before the first listing was in: played after it
        self._loading: Source | None = None  # the source the load worker is reading (its progress is shown)
        self._failures = 0  # reloads failed in a row: they are retried, waiting longer each time
        self._retry_timer: Any = None

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        planning = self.overlay is not None
        tables = {pane_id: KeyedTable(plan_columns(columns) if planning and pane_id == "rules" else columns,
                                      essential=R.RULE_ESSENTIAL + planning if pane_id == "rules" else 1,
                                      ascii_only=self.ascii_only, id=pane_id)
                  for pane_id, _, columns in PANES}
        path = PathPanel(ascii_only=self.ascii_only, id="path")
        with Grid(id="main"):  # the path between the rules and the backends, in both layouts
            yield from (tables["namespaces"], tables["rules"], path, tables["services"], tables["pods"])
        yield FilterBox(id="filter")
        yield StatusBar(ascii_only=self.ascii_only, id="status")
        yield Static(id="too-small")

    def table(self, pane_id: str) -> KeyedTable:
        return self.query_one(f"#{pane_id}", KeyedTable)

    @property
    def path_panel(self) -> PathPanel:
        return self.query_one(PathPanel)

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        if self.ascii_only:
            self.add_class("ascii")
        keymap = parse_keymap(os.environ.get(KEYMAP_ENV, ""))
        if keymap:
            self.set_keymap(keymap)
        detail = next(b for b in self.BINDINGS if isinstance(b, Binding) and b.id == "app.path_detail")
        self.path_panel.set_toggle_key(key_display(mapped_keys(detail, keymap), sep="/"))
        self._fit(self.size.width, self.size.height)
        self.table("rules").focus()
        self.status_bar.set_state(source="loading...", scope=self.namespace)
        self.set_interval(1.0, self._show_watch_state)  # "stale since" must appear without any event
        self.load()

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.set_class(width >= 120 and height >= 30, "wide")
        self._fit_columns()
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"ktrace needs a terminal of at least {MIN_SIZE[0]}x{MIN_SIZE[1]}; this one is {width}x{height}. "
                "Enlarge it, or use `ktrace trace HOST`.")

    def _fit_columns(self) -> None:
        """The namespaces pane as wide as its names need, within limits (ktrace.tui.grid)."""
        columns = main_grid_columns(self.table("namespaces").full_width, self.size.width, self.has_class("wide"))
        self.query_one("#main", Grid).styles.grid_columns = columns  # relayouts only when it changed

    def on_keyed_table_width_changed(self, event: KeyedTable.WidthChanged) -> None:
        if event.table.id == "namespaces":
            self._fit_columns()

    def action_command_palette(self) -> None:
        if not Palette.is_open(self):
            self.push_screen(Palette(self.ascii_only))

    def action_focus_next(self) -> None:
        self._tab(1)

    def action_focus_previous(self) -> None:
        self._tab(-1)

    def _tab(self, step: int) -> None:
        """The next pane in reading order; elsewhere (the filter box, a screen) Textual's own focus chain."""
        order = TAB_ORDER["wide" if self.has_class("wide") else "compact"]
        focused = self.focused.id if self.focused is not None and self.screen is self.screen_stack[0] else None
        if focused not in order:
            (self.screen.focus_next if step > 0 else self.screen.focus_previous)()
            return
        self.query_one(f"#{order[(order.index(focused) + step) % len(order)]}").focus()

    def on_descendant_focus(self) -> None:
        # On small screens the focused path panel takes the room of the panes around it.
        self.set_class(self.focused is self.path_panel, "path-focused")
        self._titles()

    def _titles(self) -> None:
        focused = self.focused
        for pane_id, title, _ in PANES:
            t = self.table(pane_id)
            count = f"{len(t.visible_keys)}" if len(t.visible_keys) == len(t) else f"{len(t.visible_keys)}/{len(t)}"
            text = f"{'> ' if t is focused else ''}{title} {count}"
            if t.filter_text:
                text += f"  /{clean(t.filter_text)}"
            if t.path_only:
                text += "  only the path's"
            t.border_title = Text(text)  # a Text: the filter's words are not markup

    async def on_event(self, event: events.Event) -> None:
        # Keys pressed while the first listing loads act once it is in: Enter or `j` on a pane that is still
        # empty would be lost. Quitting and help do not wait.
        if (isinstance(event, events.Key) and not event.is_forwarded and not self._started
                and len(self.screen_stack) == 1 and not self._acts_now(event.key)):
            self._early_keys.append(event)
            return
        await super().on_event(event)

    def _acts_now(self, key: str) -> bool:
        return any(b.action in IMMEDIATE_ACTIONS or b.priority for b in self._bindings.key_to_bindings.get(key, ()))

    def _replay_early_keys(self) -> None:
        keys, self._early_keys = self._early_keys, []
        for key in keys:
            self.post_message(events.Key(key.key, key.character))

    # -- loading ---------------------------------------------------------------------------------

    @property
    def source(self) -> Source | None:
        return self.analysis.source if self.analysis is not None else None

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        """Open (or reopen) the source, list everything, build the rows and the findings."""
        source: Source | None = None
        try:
            source = self._loading = self.source_factory(self.spec)
            if not self._started and self.overlay is None:  # a plan's routes are known once the changes are laid
                first = threading.Thread(target=self._entry_first, args=(source,), name="ktrace-path-first",
                                         daemon=True)
                first.start()
                # A head start: at 60,000 pods the path's few reads take a second, three times that with the
                # whole load decoding beside them; past it (a slow or unreachable server) both go on together.
                first.join(ENTRY_HEAD_START)
            store = source.load()
            self._loading = None  # listed: the status bar stops counting kinds
            rows = _pane_rows(store)
            if not self._started and self.overlay is None:  # the panes at once; the findings and the verdicts
                self.post_message(Listed(rows, source.describe()))  # follow (seconds at 60k pods)
            analysis = Analysis(source, store, self.options)
            findings = analysis.check()
            verdicts = analysis.routes()
            planned = None
            if self.overlay is not None:  # the verdicts before, then the changes laid over the store and re-checked
                planned, findings = analysis.lay_over(self.overlay.changes(store), verdicts)
                before, rows = rows["rules"], _pane_rows(store)
                rows["rules"] = plan_rows(rows["rules"], before, {r.target: r for r in planned}, self.ascii_only)
        except LoginRequired as e:  # the exec plugin needs the terminal: lend it, then load again
            if source is not None:
                source.close()
            self.call_from_thread(self._login, e)
            return
        except (KtraceError, ManifestError) as e:
            if source is not None:
                if source.credentials_refused:  # the retry runs the exec plugin again
                    source.renew_credentials()
                source.close()
            self.call_from_thread(self._failed, str(e))
            return
        finally:
            if self._loading is source:
                self._loading = None
        if get_current_worker().is_cancelled:
            source.close()
            return
        self.post_message(Loaded(analysis, rows, findings, verdicts, planned))

    def _entry_first(self, source: Source) -> None:
        """The first load, before the whole listing is in (at 60,000 pods, some twenty seconds): the routes
        pane from the kinds paths start from, their verdicts marked unknown until then; and with --host,
        its path from reading only what that path needs (about a second)."""
        try:
            store = source.load_scoped()
            if store is None:  # files and the demo: read whole at once anyway
                return
            routes = R.rule_rows(store)
            self.post_message(EntryRead(routes))
            target = self.target
            if target is not None:
                self.post_message(EntryRead(routes, target, Analysis(source, store, self.options).trace(target)))
        except (NarrowReadRefused, KtraceError):  # RBAC allows whole lists only, or the cluster cannot be read:
            return  # the whole load brings everything, or says what went wrong

    def on_entry_read(self, message: EntryRead) -> None:
        if self.analysis is not None:  # the whole load is in already
            return
        table = self.table("rules")
        if message.path is None:
            if len(table):  # the whole listing came first (a small cluster): it holds these and more
                return
            self._set_panes({"rules": message.routes})
            self._unchecked(message.routes)
        elif self.target == message.target:  # the user still asks for it
            self.path = message.path
            self.path_panel.show(message.path)

    def on_listed(self, message: Listed) -> None:
        if self.analysis is not None:  # the whole load is in already
            return
        with self.batch_update():
            self._set_panes(message.rows)
            self._unchecked(message.rows["rules"])
        self.status_bar.set_state(source=message.source)  # and "checking..." until the findings are in

    def _set_panes(self, rows: dict[str, list[R.Row]]) -> None:
        """The panes hold these rows, the namespaces pane all of them, the others those of the namespace in view."""
        for pane_id, pane_rows in rows.items():
            table = self.table(pane_id)
            table.set_rows(pane_rows)
            table.set_scope(None if pane_id == "namespaces" else self.namespace)

    def _unchecked(self, routes: list[R.Row]) -> None:
        """Every route marked unknown until its verdict is in: no mark would read as ok."""
        self.table("rules").set_marks(None, {row.key: "unknown" for row in routes})
        self._titles()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # exit_on_error=False keeps the screen up when a worker fails; say so instead of going quiet.
        if event.state == WorkerState.ERROR:
            self._failed(f"{event.worker.name} failed: {event.worker.error}")

    def _failed(self, message: str) -> None:
        self.error = message
        if self.store is None:  # nothing to show: leave with the one-line message (run() prints it)
            self.exit(2)
            return
        # The last data stays on screen, marked by the error; the reload is retried (a 401 spell, a
        # server restarting), waiting longer each time, until it works or `r` says now.
        first, longest = self.retry
        delay = min(longest, first * 2 ** min(self._failures, 16))
        self._failures += 1
        self._retry_timer = self.set_timer(delay, self._retry)
        self.status_bar.set_state(error=message, retry_at=time.time() + delay)
        if self._failures == 1:  # once per spell: the status bar keeps saying it
            self.notify(clean_lines(message), title="cannot load", severity="error", timeout=10, markup=False)

    def _retry(self) -> None:
        self._retry_timer = None
        self.load()

    def on_loaded(self, message: Loaded) -> None:
        old = self.source
        self.analysis, self.findings, self.verdicts = message.analysis, message.findings, message.verdicts
        self.store = message.analysis.store
        self.planned = {r.target: r for r in message.planned or ()}
        if old is not None and old is not self.source:
            old.close()
        self.error = None
        with self.batch_update():
            self._set_panes(message.rows)
            if not self._started and self.target is None:
                self._select_worst()
            self._mark_problems()
            self._retrace()
            if not self._started:
                self._started = True
                self._reveal_path()  # start with the path's rows under the cursors
                self._replay_early_keys()
            self._titles()
        self._failures = 0
        self.status_bar.set_state(source=self._described(message.planned), findings=self.findings, error="",
                                  retry_at=None)
        if self._relisting:
            self._relisting = False
            self.notify(f"relisted at {time.strftime('%H:%M:%S')}", title="relist", timeout=4)
        # The store is long-lived: keep the cyclic collector from rescanning its records, which at
        # 10,000 pods stalls a key press for a few hundred ms. (Records hold no cycles: dropping a
        # store on relist still frees it by reference counting.)
        gc.freeze()
        if self.overlay is None:  # a plan is a snapshot: a watch event would overwrite the objects laid over
            self.analysis.source.watch(self.analysis.store, self._on_change, deferred=True)
        self._show_watch_state()

    def _described(self, planned: list[RouteChange] | None) -> str:
        """The status bar's source; with --plan, what is laid over it first."""
        assert self.source is not None
        if self.overlay is None:
            return self.source.describe()
        changed = sum(r.changed for r in planned or ())
        return f"plan {changed}/{len(planned or ())}: {self.source.describe()}"  # routes changed / all

    def _show_watch_state(self) -> None:
        if not self.is_running:  # a tick while the app shuts down: its widgets are being removed
            return
        source = self.source
        loading = self._loading.progress if self._loading is not None else None
        if loading is not None:  # what is still coming, by name once few are left (the pods, typically)
            waiting = f"{', '.join(loading.pending)} " if 0 < len(loading.pending) <= 2 else ""
            self.status_bar.set_state(source=f"loading {waiting}({loading})")
        # A plan's source is never watched: the bar says it is a snapshot, not the source's (live) state.
        self.status_bar.set_state(watch=source.status if source is not None and self.overlay is None else None,
                                  snapshot=self.overlay is not None)
        if source is not None and source.credentials_refused:
            self._renew_credentials(source)

    def _renew_credentials(self, source: Source) -> None:
        """A 401 or a failed token refresh mid-session: a new client with fresh credentials, not a dead end."""
        source.renew_credentials()
        self.notify("the API server refused the credentials (401) or they could not be refreshed: "
                    "reconnecting with fresh credentials", title="credentials", timeout=8)
        self.action_relist()

    def _login(self, e: LoginRequired) -> None:
        """Suspend the screen, let the plugin log in on the terminal, come back and load."""
        try:
            with self.suspend():
                e.login()
        except (KtraceError, SuspendNotSupported) as err:
            self._failed(str(err) or str(e))
            return
        self.notify("logged in again", title="credentials", timeout=4)
        self.load()

    # -- live updates ----------------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        """Called from watch threads as a change is queued: the first since the last batch wakes the app."""
        if not self._woken:
            self._woken = True
            self.post_message(StoreChanged())

    def on_store_changed(self, _: StoreChanged) -> None:
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self.debounce, self._apply_pending)

    def _apply_pending(self) -> None:
        """Apply one batch: the one place the store changes while the app runs."""
        self._flush_timer = None
        if not self.is_running:  # the debounce ran out while the app shuts down: no rows to update
            return
        self._woken = False  # before taking the queue: a change queued from now on wakes the app again
        analysis, store = self.analysis, self.store
        if analysis is None or store is None:
            return
        changes: set[ChangeKey] = {(c.kind, c.type, c.namespace, c.name) for c in analysis.source.apply_pending()}
        if not changes:
            return
        # The store now reflects the batch, and `changes` are its keys. This thread is the store's only
        # writer: what follows reads it without the lock.
        findings = analysis.recheck(changes)
        with self.batch_update():
            panes = self._apply_rows(store, changes, analysis.rechecked_services)
            routes = self.verdicts.refresh(changes) if self.verdicts is not None else set()
            self.findings = findings
            if self.marks is None or any(t == "RELIST" for _, t, _, _ in changes):
                self._mark_problems()
            else:  # only the marks of the rows the batch changed, of the objects and routes whose problem changed
                verdicts = {e: self.verdicts.status(e) for e in routes} if self.verdicts is not None else {}
                for pane_id, marks in self.marks.update(panes, *analysis.changed, verdicts).items():
                    self.table(pane_id).update_problems(marks)
            self.status_bar.set_state(findings=findings)
            self._retrace()
            self._titles()
        self.updates += 1

    def _apply_rows(self, store: ClusterStore, changes: set[ChangeKey],
                    services: set[tuple[str, str]]) -> dict[str, PaneChange]:
        current = {pane_id: self.table(pane_id).rows() for pane_id in ("rules", "services")}
        panes = pane_changes(store, changes, current, services)
        for pane_id, change in panes.items():
            table = self.table(pane_id)
            if change.rows is not None:
                table.set_rows(change.rows)
            else:
                table.update(change.upserts, change.removed)
        return panes

    # -- selection and marks ---------------------------------------------------------------------

    def _retrace(self) -> None:
        """Trace the selected target again (or redo the reverse view) and mark the panes."""
        if self.analysis is None:
            return
        if self.target is not None:
            t, previous = self.target, self.path  # a route's path is kept current by the verdicts: not traced here
            known = self.verdicts.paths.get(t) if self.verdicts is not None else None
            self.path = known if known is not None else self.analysis.trace(t)
            if self.path is previous:  # not traced again since: the panel and the marks stand (redrawing the
                return  # panel would relayout the whole screen)
            self.path_panel.show(self.path, self.planned.get(t))
        elif self.reverse_of is not None:
            self._show_reverse(self.reverse_of)
        self._mark_path()

    def select_target(self, target: str | Target, reveal: tuple[str, ...] = ("rules", "services", "pods")) -> None:
        """Trace a host[/path] and highlight its path in every pane (cursors to it in `reveal`)."""
        self.target = parse_target(target) if isinstance(target, str) else target
        self.reverse_of = None
        self._retrace()
        self._reveal_path(reveal)

    def _select_worst(self) -> None:
        """At start without --host: the first broken route, else the first degraded one, under the cursor; with
        --plan, the first route that gets worse, else the first that changes."""
        moved = sorted((r for r in self.planned.values() if r.changed), key=lambda r: (not r.worse, r.target))
        entry = moved[0].target if moved else self.verdicts.worst() if self.verdicts is not None else None
        if entry is None:
            return
        self.target = entry
        rules = self.table("rules")
        key = next((k for k in rules.visible_keys if R.row_target(k) == entry), None)
        if key is not None:
            rules.move_to(key)

    def _reveal_path(self, panes: tuple[str, ...] = ("rules", "services", "pods")) -> None:
        """Put each pane's cursor on the first row of the path, so the path is in view; in a pane the path has no
        row in (a selector that matches no pod), on its first near miss: the pods the fix would select."""
        for pane_id in panes:
            table = self.table(pane_id)
            marked = table.on_path or table.near_misses
            first = next((k for k in table.visible_keys if k in marked), None) if marked else None
            if first is not None and (table.cursor_key not in marked):
                table.move_to(first)

    def on_keyed_table_moved(self, event: KeyedTable.Moved) -> None:
        """Selecting is highlighting: the route under the cursor is traced, once the cursor rests a moment
        (holding a key down does not trace every row on the way)."""
        event.stop()
        if event.table.id != "rules":
            return
        if self._trace_timer is not None:
            self._trace_timer.stop()
        self._trace_timer = self.set_timer(FOLLOW_DELAY, lambda: self._follow(event.table))

    def _follow(self, table: KeyedTable) -> None:
        self._trace_timer = None
        row = table.cursor_row
        if row is not None and self.analysis is not None:
            self.select_target(R.row_target(row.key), reveal=("services", "pods"))

    def on_keyed_table_selected(self, event: KeyedTable.Selected) -> None:
        row, pane = event.row, event.table.id
        if pane == "namespaces":
            self.set_namespace(row.key[0] or None)
        elif pane == "rules":
            self.select_target(R.row_target(row.key))
        else:
            self.target = None
            self.reverse_of = row.ref
            self._retrace()

    def _show_reverse(self, ref: tuple[str, str, str]) -> None:
        assert self.store is not None
        self.path = None
        self.path_panel.show_reverse(*reverse_lines(self.store, ref, self.table("rules").rows()))

    def _mark_path(self) -> None:
        keys, near_misses = None, set()
        if self.path is not None and self.store is not None:
            keys = path_keys(self.store, self.path)
            near_misses = near_miss_keys(self.store, self.path)
        elif self.reverse_of is not None and self.store is not None:
            keys = reverse_keys(self.store, self.reverse_of, self.table("rules").rows())
        for pane_id, _, _ in PANES:
            self.table(pane_id).set_marks(None if keys is None else keys[pane_id],
                                          near_misses=near_misses if pane_id == "pods" else None)
        self._titles()  # a pane showing only the path's rows counts them anew

    def _mark_problems(self) -> None:
        """Problem symbols on the rows whose objects have error or warning findings, and on the routes that
        are not ok, computed over every row (at load and relist; a batch updates them, `ProblemMarks`)."""
        statuses = {e: p.status for e, p in self.verdicts.paths.items()} if self.verdicts is not None else {}
        self.marks = ProblemMarks({pane_id: self.table(pane_id).rows() for pane_id, _, _ in PANES}, self.findings,
                                  statuses)
        for pane_id, _, _ in PANES:
            table = self.table(pane_id)
            table.set_marks(table.on_path, self.marks.marks[pane_id])

    # -- app methods the palette calls -----------------------------------------------------------

    def set_namespace(self, namespace: str | None) -> None:
        """Show one namespace (None: all) in the ingress, service and pod panes."""
        self.namespace = namespace or None
        with self.batch_update():
            for pane_id in ("rules", "services", "pods"):
                self.table(pane_id).set_scope(self.namespace)
            self.table("namespaces").move_to((self.namespace or R.ALL_NAMESPACES,))
            self._titles()
        self.status_bar.set_state(scope=self.namespace)

    def switch_context(self, name: str) -> None:
        """Read another kubeconfig context (live sources): reopen the source and load again."""
        self.spec = dataclasses.replace(self.spec, context=name)
        self.action_relist()

    # -- actions ---------------------------------------------------------------------------------

    def _focused_table(self) -> KeyedTable | None:
        return self.focused if isinstance(self.focused, KeyedTable) else None

    def action_filter(self) -> None:
        table = self._focused_table()
        if table is not None:
            self.query_one(FilterBox).open(table)

    def on_filter_box_filtered(self, _: FilterBox.Filtered) -> None:
        self._titles()

    def action_clear(self) -> None:
        """Esc: the focused pane's filter first, then the selected path (screens close themselves)."""
        table = self._focused_table()
        if table is not None and table.filter_text:
            table.set_filter("")
            self._titles()
        elif self.target is not None or self.reverse_of is not None:
            self.target, self.reverse_of, self.path = None, None, None
            self.path_panel.show(None)
            self._mark_path()

    def action_path_pods_only(self) -> None:
        """Show only the pods on the selected path and its near misses in the Pods pane, or all of them again."""
        pods = self.table("pods")
        pods.set_path_only(not pods.path_only)
        self._titles()
        if pods.path_only and pods.on_path is None:
            self.notify("no path selected: the Pods pane shows no pod until one is (o again shows all)", timeout=4)

    def action_all_namespaces(self) -> None:
        self.set_namespace(None)

    def focus_pane(self, pane_id: str) -> None:
        """The palette's `:ing`, `:svc`, `:po`, `:ns`: focus that pane."""
        self.table(pane_id).focus()

    def action_problem(self, direction: int) -> None:
        table = self._focused_table()
        if table is not None and not table.next_problem(direction):
            self.notify("no problem in this pane", timeout=2)

    def action_findings(self) -> None:
        from ktrace.tui.findings_screen import FindingsScreen

        scoped = [f for f in self.findings if self.namespace is None or f.namespace in ("", self.namespace)]
        affects = self.verdicts.affects(scoped) if self.verdicts is not None else {}
        self.push_screen(FindingsScreen(scoped, self.ascii_only, affects), self.jump_to_finding)

    def jump_to_finding(self, f: Finding | None) -> None:
        """Focus the finding's object in its pane and show its path (or what reaches it)."""
        if f is None or self.store is None:
            return
        target = finding_target(f)
        if target is not None:
            self.select_target(target)
        pane = FINDING_PANE.get(f.kind)
        if pane is None:
            return
        table = self.table(pane)
        key = row_of((f.kind, f.namespace, f.name), table.rows())
        row = table.row(key) if key is not None else None
        if key is None or row is None:
            return
        if key not in table.visible_keys:
            self.set_namespace(None)
            table.set_filter("")
        table.focus()
        table.move_to(key)
        if pane == "rules" and f.details.get("host") is None:  # no host of its own: trace the row
            self.select_target(R.row_target(key))
        elif pane in ("services", "pods"):
            self._show_path_through(*row.ref)  # the Service or pod (a BackendTLSPolicy's: the Service it targets)
        self._titles()

    def _show_path_through(self, kind: str, namespace: str, name: str) -> None:
        """A Service's or pod's finding is best read on a request path through it (the near miss, the
        not-ready pods, where each hop stands); with no route reaching it, what reaches it: nothing."""
        store, ref = self.store, (kind, namespace, name)
        route_rows = list(self.table("rules").rows())
        reaching = [row for svc in (services_behind(store, ref) if store is not None else [])
                    for row in rows_reaching(store, svc, route_rows)]
        if reaching:
            self.target, self.reverse_of = R.row_target(reaching[0].key), None
        else:
            self.target, self.reverse_of = None, (kind, namespace, name)
        self._retrace()

    def action_detail(self) -> None:
        table = self._focused_table()
        row = table.cursor_row if table is not None else None
        if row is None or self.store is None or not row.ref[2]:
            return
        kind, ns, name = row.ref
        record = self.store.get(kind, ns, name)
        if record is not None:
            self._open_detail(f"{kind} {ns}/{name}" if ns else f"{kind} {name}", record)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def _open_detail(self, title: str, record: Any) -> None:
        """The object as the API server has it when the source can ask, or as its file has it (offline
        sources; never a Secret: its data is not read); otherwise what the store keeps of it."""
        from ktrace.tui.detail_screen import DetailScreen, record_as_object

        obj = record_as_object(record)
        source = self.source
        meta = record.meta
        found = source.document(meta.kind, meta.namespace, meta.name) if source is not None else None
        if found is not None:
            obj, origin = found
            if origin:
                title = f"{title}  ({origin})"
        self.call_from_thread(self.push_screen, DetailScreen(title, obj))

    def action_preview(self) -> None:
        """Preview switching the backend of the route under the cursor (else of the selected one) to
        another Service, or a Gateway API route rule's weights (read-only)."""
        from ktrace.errors import UsageError
        from ktrace.preview import candidates, replaced_backends, rule_weights
        from ktrace.tui.preview_screen import PreviewScreen

        table = self._focused_table()
        row = table.cursor_row if table is not None and table.id == "rules" else None
        if row is not None and self.target != R.row_target(row.key):
            self.select_target(R.row_target(row.key))
        if self.target is None or self.path is None or self.analysis is None:
            self.notify("put the cursor on a route (or select one), then p previews a switch", timeout=3)
            return
        try:
            replaced = replaced_backends(self.analysis.store, self.target, live=self.analysis.live, heaviest=True)
        except UsageError as e:
            self.notify(clean(e), timeout=4, markup=False)
            return
        ranked = candidates(self.analysis.store, replaced[0].namespace, replaced[0].service)
        # A Gateway API route's rule (HTTPRoute, GRPCRoute, TLSRoute): its weights can be previewed too.
        weights = rule_weights(self.analysis.store, self.target, live=self.analysis.live)
        if not ranked and weights is None:
            self.notify(f"no other Service in namespace {clean(replaced[0].namespace)} to switch to", timeout=3,
                        markup=False)
            return
        self.push_screen(PreviewScreen(self.analysis, self.target, self.path, replaced, ranked,
                                       ascii_only=self.ascii_only, weights=weights))

    def action_path_detail(self) -> None:
        self.path_panel.set_full(not self.path_panel.full)

    def action_copy(self) -> None:
        if self.path is None:
            self.notify("select a host or route first (Enter on a row of Routes)", timeout=3)
            return
        from ktrace.tui.clipboard import copy_text

        self.notify(copy_text(self, trace_text(self.path, ascii_only=self.ascii_only)), timeout=3)

    def action_relist(self) -> None:
        if self._retry_timer is not None:  # `r` during a spell of failures: now, not after the wait
            self._retry_timer.stop()
            self._retry_timer = None
        if self.source is not None:
            self.source.close()  # stops its watches; a new one is opened by load()
            self.analysis = None
        self.status_bar.set_state(source="reloading...", watch=None)
        self._relisting = True
        self.notify("relisting...", title="relist", timeout=2)
        self.load()

    def action_help(self) -> None:
        from ktrace.tui.help_screen import HelpScreen

        note = f'Keys can be remapped by binding id (second column): {KEYMAP_ENV}="app.quit=ctrl+q;table.down=down,j".'
        self.push_screen(HelpScreen(self.binding_list(), note, ascii_only=self.ascii_only))

    def binding_list(self) -> list[tuple[str, str, str]]:
        """(keys, id, description) of every binding of the app, the pane tables and the views it opens, as remapped."""
        from ktrace.tui.detail_screen import DetailScreen
        from ktrace.tui.findings_screen import FindingsScreen
        from ktrace.tui.help_screen import HelpScreen
        from ktrace.tui.preview_screen import PreviewScreen

        out = []
        for bindings in (self.BINDINGS, KeyedTable.BINDINGS, PathPanel.BINDINGS, FindingsScreen.BINDINGS,
                         DetailScreen.BINDINGS, PreviewScreen.BINDINGS, HelpScreen.BINDINGS):
            for b in bindings:
                if isinstance(b, Binding):
                    out.append((mapped_keys(b, self._keymap), b.id or "", b.description))
        return out

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        if self.source is not None:
            self.source.close()


def run(spec: SourceSpec, options: AnalysisOptions, view: ViewOptions, ascii_only: bool, profile: Profile | None,
        *, source_factory: Callable[[SourceSpec], Source], overlay: Overlay | None = None) -> int:
    if sys.platform != "win32":
        replace_invalid_input()
    profile = profile or Profile(low_bandwidth=False, mouse=True, mouse_motion=True)
    app = KtraceApp(spec, options, view, source_factory=source_factory, ascii_only=ascii_only, overlay=overlay)
    app.driver_class = mouse_driver(profile) or app.driver_class
    # Our own loop, not asyncio.run()'s: its end would wait for a worker thread still blocked on a list.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with signals_call(functools.partial(leave_app, app, loop, terminal_restorer())):
        try:
            result = app.run(mouse=profile.mouse, loop=loop)
        finally:
            loop.close()  # without waiting for the worker threads
    if result == 2 and app.error:
        print(f"ktrace: {clean_lines(app.error)}", file=sys.stderr)
    return result if isinstance(result, int) else 0


def _pane_rows(store: ClusterStore) -> dict[str, list[R.Row]]:
    return {"namespaces": R.namespace_rows(store), "rules": R.rule_rows(store), "services": R.service_rows(store),
            "pods": R.pod_rows(store)}


def leave_app(app: KtraceApp, loop: asyncio.AbstractEventLoop, restore: Callable[[], None], code: int) -> None:
    """A hangup, TERM or INT while the app runs: it gives the terminal back and `run` returns `code` (the
    shell's for "killed by the signal"). Should that take longer than GRACE, the terminal is given back
    here and the process ends all the same."""
    if not loop.is_running():  # not started yet, or over: nothing holds the terminal
        end(code)
    end_soon(code, GRACE, restore)
    loop.call_soon_threadsafe(app.exit, code)
