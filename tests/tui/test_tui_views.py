"""The TUI's secondary views in isolation, each in a small test app driven by Pilot: the path panel
(near-miss text, changed hops marked then unmarked), findings, object detail, help, the command
palette providers and the clipboard fallback."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.widget import Widget

from ktrace.checks import run_checks
from ktrace.checks.service import NO_READY_ENDPOINTS, POD_NOT_READY
from ktrace.kinds import KINDS
from ktrace.render import hop_key, path_tree, trace_text
from ktrace.requestpath import (
    ENDPOINTS,
    INGRESS,
    PODS,
    SERVICE,
    EndpointSliceDetail,
    Hop,
    HopStatus,
    IngressDetail,
    PathStatus,
    RequestPath,
)
from ktrace.sim.demo import demo_cluster, demo_objects
from ktrace.sim.state import clone
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.trace import trace
from ktrace.tui.clipboard import COPY_FILE, copy_text
from ktrace.tui.detail_screen import DetailScreen, display_object, object_yaml
from ktrace.tui.findings_screen import FindingsScreen
from ktrace.tui.help_screen import HelpScreen
from ktrace.tui.palette import ContextCommands, HostCommands, NamespaceCommands
from ktrace.tui.path_panel import MAX_PROBLEM_PODS, PathPanel
from tests.tui.test_tui_app import until

ASPNET = "aspnetapp.demo.example/"
STATUS = "status.demo.example/"


def widget_text(widget: Widget) -> str:
    """Every line the widget draws (also those scrolled out of view), as plain text."""
    return "\n".join(widget.render_line(y).text.rstrip() for y in range(widget.size.height))


def screen_text(app: App) -> str:
    return "\n".join(widget_text(w) for w in app.screen.walk_children(Widget) if not w.children)


class PanelApp(App):
    def __init__(self, ascii_only: bool = False, change_seconds: float = 0.3) -> None:
        super().__init__()
        self.ascii_only, self.change_seconds = ascii_only, change_seconds

    def compose(self) -> ComposeResult:
        yield PathPanel(ascii_only=self.ascii_only, change_seconds=self.change_seconds, id="path")


@pytest.fixture(scope="module")
def demo_store() -> ClusterStore:
    return ClusterStore(demo_objects())


async def test_path_panel_full_view_shows_near_miss_missing_secret_and_reasons(demo_store: ClusterStore) -> None:
    app = PanelApp()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(PathPanel)
        panel.show(trace(demo_store, ASPNET, live=True))
        assert panel.border_title == "Request path (summary, v: full)"
        panel.set_full(True)
        await pilot.pause()
        assert panel.border_title == "Request path (full, v: summary)"
        text = widget_text(panel.query_one("#path-body"))
    assert "✗ broken  aspnetapp.demo.example/" in text
    assert "└── ✗ error  Service aspnet/aspnetapp:80 (http) -> 8080" in text  # the tree, not the summary
    words = " ".join(w for w in text.split() if w != "│")  # wrapped lines joined again
    assert "selector App=aspnetapp matches no pod; pods of Deployment aspnetapp (2) have app=aspnetapp (key " \
        "differs in case)" in words
    assert "hint: change the selector (App=aspnetapp -> app=aspnetapp)" in text
    assert "TLS secret 'aspnetapp-tls' does not exist in namespace 'aspnet'" in text
    assert "it exists in namespace cert-manager" in text
    assert "0/0 ready" in text


@pytest.mark.parametrize("full", [False, True], ids=["summary", "full"])
async def test_path_panel_ascii_mode_has_no_unicode(demo_store: ClusterStore, full: bool) -> None:
    app = PanelApp(ascii_only=True)
    async with app.run_test(size=(100, 40)) as pilot:
        panel = app.query_one(PathPanel)
        panel.set_full(full)
        panel.show(trace(demo_store, ASPNET, live=True))
        await pilot.pause()
        text = widget_text(panel.query_one("#path-body"))
    assert "x broken  aspnetapp.demo.example/" in text
    assert "App=aspnetapp -> app=aspnetapp" in text
    assert text.isascii(), [c for c in text if not c.isascii()]


def _store_of(cluster) -> ClusterStore:
    return ClusterStore([clone(e.obj) for k in KINDS for e in cluster.store.entries(k.kind)])


@pytest.mark.slow
async def test_path_panel_marks_a_hop_that_changed_then_unmarks_it() -> None:
    cluster = demo_cluster()
    before = trace(_store_of(cluster), STATUS, live=True)
    pod = next(h for h in before.hops if h.level == PODS)
    assert pod.status == "ok"
    cluster.set_pod_ready(pod.namespace, pod.name, False)  # a readiness probe starts failing
    after = trace(_store_of(cluster), STATUS, live=True)

    app = PanelApp(change_seconds=2.0)  # long enough to look at the mark on a busy machine
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(PathPanel)
        body = panel.query_one("#path-body")
        panel.show(before)
        await pilot.pause()
        assert panel.changed_hops == {}
        panel.show(after)
        await pilot.pause()
        changed = panel.changed_hops
        assert changed[hop_key(pod)] == "ok"
        # the summary marks the pods' line, naming the pod; the full tree marks the pod's own line
        summary = " ".join(widget_text(body).split())
        assert "* ! Pods 2 of 3 ready" in summary and f"(changed: {pod.name} was ✓ ok)" in summary, summary
        panel.set_full(True)
        await pilot.pause()
        marked = [line for line in widget_text(body).splitlines() if "(changed:" in line]
        assert any(f"* ! warning  Pod {pod.name}" in line and "was ✓ ok" in line for line in marked), marked
        await until(pilot, lambda: "(changed:" not in widget_text(body))  # redrawn when the mark expires
        assert panel.changed_hops == {}


async def test_path_panel_another_target_marks_nothing_and_reverse_view(demo_store: ClusterStore) -> None:
    app = PanelApp()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.query_one(PathPanel)
        panel.show(trace(demo_store, STATUS, live=True))
        panel.show(trace(demo_store, ASPNET, live=True))
        await pilot.pause()
        assert panel.changed_hops == {}
        panel.show_reverse("Service shop/shop reached from", ["shop.demo.example/ (Prefix)", "evil\x1b]0;x\x07"])
        await pilot.pause()
        text = widget_text(panel.query_one("#path-body"))
        assert "Service shop/shop reached from" in text and "shop.demo.example/ (Prefix)" in text
        assert "\x1b" not in text and "evil\\x1b]0;x\\x07" in text
        panel.show(None)
        await pilot.pause()
        assert "Select a host" in widget_text(panel.query_one("#path-body"))


@pytest.mark.slow
async def test_path_panel_caps_not_ready_pods_but_keeps_changed_ones() -> None:
    def path(broken: int) -> RequestPath:
        p = RequestPath("big.example/", "big.example", "/", PathStatus.DEGRADED, [
            Hop("Ingress", "ns", "big", HopStatus.OK, ["exact host"], INGRESS,
                IngressDetail("big.example", "/", "Prefix", False, "nginx", None, "big:80")),
            Hop("Service", "ns", "big", HopStatus.OK, ["selector app=big"], SERVICE),
            Hop("EndpointSlice", "ns", "big-1", HopStatus.WARNING, ["1 of 500 ready"], ENDPOINTS,
                EndpointSliceDetail(1, 500))])
        p.hops += [Hop("Pod", "ns", f"big-{i:03}", HopStatus.WARNING if i < broken else HopStatus.OK, [f"crash {i}"],
                       PODS)
                   for i in range(500)]
        return p

    app = PanelApp(change_seconds=60)  # the mark must outlive drawing 500 pods on a busy machine
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.query_one(PathPanel)
        panel.set_full(True)  # the summary has one line for all the pods
        panel.show(path(499))
        panel.show(path(500))  # the last pod breaks too: shown although past the cap
        await pilot.pause()
        text = widget_text(panel.query_one("#path-body"))
        panel.focus()
        await pilot.press("pagedown", "j")
        assert panel.scroll_y > 20
        await pilot.press("G")
        assert panel.scroll_y == panel.max_scroll_y > 50
        await pilot.press("g")
        assert panel.scroll_y == 0
    assert text.count("! warning  Pod") == MAX_PROBLEM_PODS + 1
    assert "* ! warning  Pod big-499" in text
    assert f"... and {500 - MAX_PROBLEM_PODS - 1} more pod(s) not ready" in text


def test_full_tree_puts_problems_first_and_states_the_near_miss_once() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "n",
           "labels": {"app": "web", "tier": "front"}},
           "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "n"},
           "spec": {"selector": {"app": "web", "tier": "frontend"}, "ports": [{"port": 80}]}}
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "n"},
           "spec": {"rules": [{"host": "web.example", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    console = Console(width=200, file=io.StringIO())
    console.print(path_tree(trace(ClusterStore([pod, svc, ing]), "web.example/", live=False), details=True))
    lines = [line.strip(" │├└─") for line in console.file.getvalue().splitlines()]
    service = next(i for i, line in enumerate(lines) if "Service n/web" in line)
    # The problem first, then its fix; the selector alone is not repeated before its message.
    assert lines[service + 1] == \
        "selector app=web,tier=frontend matches no pod; pod web-1 has tier=front (value differs)"
    assert lines[service + 2].startswith("hint: change the selector (tier=frontend -> tier=front)")
    assert sum("tier=front " in line for line in lines) == 1
    assert not any(line.startswith("port 80 -> targetPort") for line in lines)  # the label says it


def test_trace_text_is_plain(demo_store: ClusterStore) -> None:
    text = trace_text(trace(demo_store, ASPNET, live=True), width=100)
    assert "\x1b" not in text
    assert text.startswith("✗ broken  aspnetapp.demo.example/\n")
    assert "service-selector-no-match" in text and "hint: it exists in namespace cert-manager" in text
    assert all(len(line) <= 100 for line in text.splitlines())
    assert trace_text(trace(demo_store, ASPNET, live=True), ascii_only=True).isascii()


class ScreenApp(App):
    """Pushes one screen and keeps what it was dismissed with."""

    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.screen_factory = screen_factory
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.screen_factory(), self.results.append)


@pytest.mark.slow
async def test_findings_grouped_by_severity_and_enter_returns_the_finding(demo_store: ClusterStore) -> None:
    findings = run_checks(demo_store, live=True)
    app = ScreenApp(lambda: FindingsScreen(findings))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        errors = sum(f.severity == "error" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        assert f"✗ Errors ({errors})" in text and f"! Warnings ({warnings})" in text
        assert text.index("Errors (") < text.index("Warnings (")
        # The detail under the list follows the cursor: message and hint of the highlighted finding.
        first = app.screen.highlighted
        assert first is not None and first.severity == "error"
        assert first.message[:40] in text
        await pilot.press("j", "j")
        chosen = app.screen.highlighted
        assert chosen is not None and chosen is not first
        # The cursor row is marked with `>` as well as colour (NO_COLOR, monochrome terminals).
        marked = [line for line in screen_text(app).splitlines() if line.lstrip().startswith(">")]
        assert len(marked) == 1 and chosen.code in marked[0] and chosen.name in marked[0], marked
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [chosen]


@pytest.mark.parametrize("key", ["escape", "q", "f"])
async def test_findings_close_with_none(demo_store: ClusterStore, key: str) -> None:
    app = ScreenApp(lambda: FindingsScreen(run_checks(demo_store, live=True)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
    assert app.results == [None]


@pytest.mark.slow
async def test_findings_navigation_skips_group_headings_and_handles_thousands() -> None:
    many = [POD_NOT_READY.finding("Pod", "ns", f"p{i:05}", "not ready") for i in range(3000)]
    many.append(NO_READY_ENDPOINTS.finding("Service", "ns", "svc", "no endpoints"))
    app = ScreenApp(lambda: FindingsScreen(many, ascii_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.highlighted.code == "service-no-ready-endpoints"
        await pilot.press("j")  # over the "Warnings" heading to the first warning
        assert app.screen.highlighted.name == "p00000"
        await pilot.press("G")
        assert app.screen.highlighted.name == "p02999"
        assert screen_text(app).isascii()


async def test_findings_empty() -> None:
    app = ScreenApp(lambda: FindingsScreen([]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "No findings" in screen_text(app)
        await pilot.press("enter", "escape")
        await pilot.pause()
    assert app.results == [None]


def _managed(n: int) -> list[dict]:
    return [{"manager": f"m{i}", "operation": "Update", "fieldsV1": {"f:spec": {}}} for i in range(n)]


def test_detail_folds_managed_fields_and_orders_keys() -> None:
    obj = {"status": {"phase": "Running"}, "spec": {"b": 1, "a": 2}, "kind": "Pod", "apiVersion": "v1",
           "metadata": {"labels": {"app": "x"}, "managedFields": _managed(12), "name": "web", "namespace": "shop",
                        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 99 + "}"}}}
    text = object_yaml(obj)
    assert "managedFields: 12 entries (folded)" in text
    assert "manager: m0" not in text and "x" * 50 not in text
    assert "last-applied-configuration: 101 characters (folded)" in text
    assert list(display_object(obj)) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert list(display_object(obj)["metadata"])[:2] == ["name", "namespace"]
    assert display_object(obj)["spec"] == {"b": 1, "a": 2}  # the object's own order below the top


def test_detail_secret_shows_metadata_and_type_only() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
              "metadata": {"name": "tls", "namespace": "shop", "annotations": {
                  "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"tls.key":"U0VDUkVU"}}'}},
              "data": {"tls.key": "U0VDUkVU"}, "stringData": {"password": "hunter2"}}
    text = object_yaml(secret)
    assert "U0VDUkVU" not in text and "hunter2" not in text
    assert "tls.key" not in text and "stringData" not in text
    assert "type: kubernetes.io/tls" in text and "name: tls" in text
    assert "data: not shown" in text


def test_detail_escapes_control_characters() -> None:
    obj = {"kind": "Pod", "metadata": {"name": "p", "labels": {"evil\x1b[2J": "x\x1b]0;owned\x07\u202e"}}}
    text = object_yaml(obj)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "evil\\x1b[2J" in text and "\\u202e" in text



def test_detail_is_bounded_whatever_the_object() -> None:
    from ktrace.tui.detail_screen import MAX_DEPTH, MAX_STRING, MAX_VALUES

    laughs: list = ["lol"] * 10
    for _ in range(8):  # what YAML aliases build: one list shared 10 times per level, 10**9 values as a tree
        laughs = [laughs] * 10
    deep: object = "bottom"
    for _ in range(1000):
        deep = {"d": deep}
    for spec, cut in [({"laughs": laughs}, "more items not shown"), ({"deep": deep}, "nested deeper than"),
                      ({"s": "z" * 10**7}, "~ (cut: 10,000,000 characters)"),
                      ({f"k{i}": i for i in range(10**5)}, "more keys not shown")]:
        text = object_yaml({"kind": "Pod", "metadata": {"name": "p"}, "spec": spec})
        assert text.startswith("# cut: too large to show whole") and cut in " ".join(text.split()), text[-300:]
        assert len(text) < MAX_VALUES * 30 + 2 * MAX_STRING and text.count("\n") < MAX_VALUES + MAX_DEPTH * 2
    whole = object_yaml({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"list": list(range(1000))}})
    assert "cut" not in whole and "- 999" in whole


@pytest.mark.slow
@pytest.mark.parametrize("key", ["escape", "q", "d"])
async def test_detail_screen_scrolls_and_closes(key: str) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "managedFields": _managed(3)},
           "data": {f"key{i:03}": f"value {i}" for i in range(200)}}
    app = ScreenApp(lambda: DetailScreen("ConfigMap default/big", obj))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "ConfigMap default/big" in text and "managedFields: 3 entries (folded)" in text
        scroll = app.screen.query_one("#detail-scroll")
        await pilot.press("pagedown", "j")
        assert scroll.scroll_y > 20
        await pilot.press("G")
        assert scroll.scroll_y == scroll.max_scroll_y > 150
        await pilot.press(key)
        await pilot.pause()
    assert app.results == [None]


async def test_help_lists_every_binding_it_is_given_grouped() -> None:
    given = [("q", "app.quit", "Quit"), ("tab", "pane.next", "Next pane"), ("shift+tab", "pane.previous",
             "Previous pane"), ("y", "path.copy", "Copy the trace as text"), ("question_mark", "help", "This help"),
             ("up,k", "table.up", "Up"), ("escape", "filter.close", "Close the filter")]
    app = ScreenApp(lambda: HelpScreen(given))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        shown = ["q", "Tab", "shift+Tab", "y", "?", "Up / k", "Esc"]  # Textual key names as people type them
        for key, (_, binding_id, description) in zip(shown, given, strict=True):
            assert any(line.lstrip().startswith(key + " ") and description in line and binding_id in line
                       for line in text.splitlines()), (key, description)
        for group in ("App", "Pane", "Path", "General"):
            assert group in text.splitlines()
        assert text.index("Next pane") < text.index("Previous pane") < text.index("Copy the trace")
        assert "remapped by binding id" in text
        await pilot.press("question_mark")
        await pilot.pause()
    assert app.results == [None]


class PaletteApp(App):
    """Implements the app methods the palette providers call."""

    COMMANDS = App.COMMANDS | {NamespaceCommands, HostCommands, ContextCommands}

    def __init__(self, store: ClusterStore, source: object = None) -> None:
        super().__init__()
        self.store, self.source = store, source
        self.calls: list[tuple[str, object]] = []

    def set_namespace(self, ns: str | None) -> None:
        self.calls.append(("namespace", ns))

    def select_target(self, target: object) -> None:
        self.calls.append(("target", target))

    def switch_context(self, name: str) -> None:
        self.calls.append(("context", name))


async def _hits(provider, query: str) -> list:
    await provider.startup()
    return [hit async for hit in (provider.search(query) if query else provider.discover())]


async def test_palette_namespace_and_host_commands_call_the_app(demo_store: ClusterStore) -> None:
    app = PaletteApp(demo_store)
    async with app.run_test(size=(100, 30)):
        namespaces = await _hits(NamespaceCommands(app.screen), "")
        labels = [h.display for h in namespaces]
        assert labels[0] == "namespace: all"
        assert {f"namespace: {ns}" for ns in demo_store.namespaces()} == set(labels[1:])
        namespaces[0].command()
        hit = max(await _hits(NamespaceCommands(app.screen), "payments"), key=lambda h: h.score)
        hit.command()
        hosts = await _hits(HostCommands(app.screen), "")
        assert [h.display for h in hosts] == ["go to aspnetapp.demo.example/",
                                              "go to grpc://cart.demo.example/shop.v1.Cart",
                                              "go to catalog.demo.example/",
                                              "go to pay.demo.example/", "go to pay.demo.example/api",
                                              "go to shop.demo.example/", "go to shop.demo.example/docs",
                                              "go to status.demo.example/", "go to store.demo.example/",
                                              "go to tls://vault.demo.example"]
        best = max(await _hits(HostCommands(app.screen), "pay/api"), key=lambda h: h.score)
        best.command()
        assert await _hits(ContextCommands(app.screen), "") == []  # no live source: nothing to switch
    assert app.calls == [("namespace", None), ("namespace", "payments"), ("target", Target("pay.demo.example", "/api"))]


@pytest.mark.slow
async def test_palette_through_the_real_palette_and_hostless_rules() -> None:
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "any", "namespace": "web"},
           "spec": {"rules": [{"http": {"paths": [{"path": "/shop", "pathType": "Prefix", "backend": {
               "service": {"name": "shop", "port": {"number": 80}}}}]}}]}}
    app = PaletteApp(ClusterStore([ing]))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"go to */shop")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
    assert app.calls == [("target", Target("", "/shop"))]


async def test_palette_context_commands_for_a_live_source(tmp_path: Path) -> None:
    from ktrace.options import SourceSpec
    from ktrace.sources.live import open_live

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: prod, context: {cluster: c}}, {name: dev, context: {cluster: c}}]\n"
        "users: []\n")

    source = open_live(SourceSpec(kubeconfig=str(kubeconfig)))  # no request is sent: nothing is loaded
    app = PaletteApp(ClusterStore(), source)
    async with app.run_test(size=(100, 30)):
        hits = await _hits(ContextCommands(app.screen), "")
        assert [(h.display, h.help) for h in hits] == [("context: dev", "reconnect to this context"),
                                                       ("context: prod", "current context")]
        hits[0].command()
    source.close()
    assert app.calls == [("context", "dev")]


async def test_copy_text_uses_osc52_and_saves_a_private_copy(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    app = App()
    async with app.run_test():
        message = copy_text(app, "line one\nline two\n")
        assert app.clipboard == "line one\nline two\n"
    saved = tmp_path / COPY_FILE
    assert saved.read_text() == "line one\nline two\n"
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert str(saved) in message and "2 line(s)" in message


async def test_copy_text_without_runtime_dir_uses_a_private_temp_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    app = App()
    async with app.run_test():
        message = copy_text(app, "x")
    saved = tmp_path / f"ktrace-{os.getuid()}" / COPY_FILE
    assert saved.read_text() == "x" and str(saved) in message
    assert stat.S_IMODE(os.stat(saved.parent).st_mode) == 0o700
