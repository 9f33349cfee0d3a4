"""The main screen driven by Pilot over the demo cluster: navigation, host selection marking
exactly the path's rows, the near miss, reverse paths, filter, problems, screens, quit, and a live
readiness change arriving through the real watch path (simulator + LiveSource)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widget import Widget

from ktrace.findings import Finding
from ktrace.options import SourceSpec, ViewOptions
from ktrace.sim.demo import demo_cluster
from ktrace.sim.handle import Simulator
from ktrace.sources.demo import DemoSource
from ktrace.sources.live import open_live
from ktrace.sources.protocol import Change
from ktrace.tui.app import KtraceApp
from ktrace.tui.findings_screen import FindingsScreen
from ktrace.tui.help_screen import HelpScreen

SIZE = (120, 40)


def demo_app(host: str | None = None) -> KtraceApp:
    return KtraceApp(SourceSpec(demo=True), view=ViewOptions(host=host),
                     source_factory=lambda _: DemoSource(moving=False))


async def until(pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def loaded(pilot) -> KtraceApp:
    app: KtraceApp = pilot.app
    await until(pilot, lambda: app.store is not None)
    await pilot.pause()
    return app


def text_of(widget: Widget) -> str:
    return "\n".join(widget.render_line(y).text.rstrip() for y in range(widget.size.height))


def marked(app: KtraceApp, pane: str) -> set[tuple[str, ...]]:
    marks = app.table(pane).on_path
    assert marks is not None, f"{pane}: nothing selected"
    return marks


@pytest.mark.slow
async def test_host_selection_marks_exactly_the_path_and_dims_the_rest() -> None:
    async with demo_app("pay.demo.example/").run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        web_pods = {p.meta.key for p in app.store.pods_matching("payments", {"app": "payments-web"})}
        assert len(web_pods) == 2
        assert marked(app, "rules") == {("pay.demo.example", "/", "payments", "payments")}
        assert marked(app, "services") == {("payments", "payments-web")}
        assert marked(app, "pods") == web_pods
        assert marked(app, "namespaces") == {("payments",)}
        # marked rows carry a ">" (not only a style); the others do not
        pods = app.table("pods")
        lines = [line for line in text_of(pods).splitlines()[1:] if line.strip()]
        on_path = [line for line in lines if line.startswith(">")]
        assert len(on_path) == 2 and all("payments-web" in line for line in on_path)
        assert app.path is not None and app.path.status == "ok"


@pytest.mark.slow
async def test_aspnetapp_shows_the_near_miss_and_marks_the_broken_service() -> None:
    async with demo_app("aspnetapp.demo.example").run_test(size=(240, 60)) as pilot:  # no wrapped lines
        app = await loaded(pilot)
        assert app.path is not None and app.path.status == "broken"
        assert marked(app, "services") == {("aspnet", "aspnetapp")}
        assert marked(app, "pods") == set()  # the selector reaches no pod
        assert app.table("services").problems[("aspnet", "aspnetapp")] == "error"
        text = " ".join(text_of(app.path_panel.query_one("#path-body")).split())  # wrapped lines joined again
        assert "pods of Deployment aspnetapp (2) have app=aspnetapp (key differs in case)" in text
        assert "fix: change the selector (App=aspnetapp -> app=aspnetapp)" in text
        assert "it exists in namespace cert-manager" in text


async def test_80x24_shows_the_whole_aspnetapp_diagnosis_without_a_keystroke() -> None:
    async with demo_app("aspnetapp.demo.example").run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        panel = app.path_panel
        assert panel.border_title == "Request path (summary, v: full)"
        assert panel.max_scroll_y == 0 and panel.scroll_y == 0  # nothing below the fold
        text = " ".join(text_of(panel.query_one("#path-body")).split())  # wrapped lines joined again
        # both causes, each with its fix
        assert "TLS secret 'aspnetapp-tls' does not exist in namespace 'aspnet'" in text
        assert "fix: it exists in namespace cert-manager; TLS secrets are read from the Ingress's own namespace: " \
            "copy it to 'aspnet'" in text
        assert "selector App=aspnetapp matches no pod; pods of Deployment aspnetapp (2) have app=aspnetapp (key " \
            "differs in case)" in text
        assert "fix: change the selector (App=aspnetapp -> app=aspnetapp) or relabel the pods" in text
        # the panes around it keep three rows of data
        for pane_id in ("namespaces", "rules", "services", "pods"):
            assert app.table(pane_id).size.height >= 4, pane_id  # a header and three rows


@pytest.mark.slow
async def test_v_switches_the_path_panel_between_summary_and_full_tree() -> None:
    async with demo_app("aspnetapp.demo.example").run_test(size=(80, 24)) as pilot:
        app = await loaded(pilot)
        panel, body = app.path_panel, app.path_panel.query_one("#path-body")
        assert "fix: " in text_of(body) and "└──" not in text_of(body)
        await pilot.press("v")
        assert panel.full and panel.border_title == "Request path (full, v: summary)"
        assert "└── ✗ error  Ingress aspnet/aspnetapp" in text_of(body) and "fix: " not in text_of(body)
        await pilot.press("v")
        assert not panel.full and panel.border_title == "Request path (summary, v: full)"
        assert "fix: " in text_of(body)
        assert ("v", "app.path_detail", "Full path detail / summary") in app.binding_list()


@pytest.mark.slow
async def test_navigation_the_worst_route_first_and_selecting_is_highlighting() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        rules = app.table("rules")
        # Without --host the first broken route is selected and drawn: no Enter needed to see a diagnosis.
        assert app.focused is rules and app.path is not None and app.path.target == "aspnetapp.demo.example/"
        assert rules.cursor_key is not None and rules.cursor_key[:2] == ("aspnetapp.demo.example", "/")
        assert rules.on_path is not None and rules.cursor_key in rules.on_path
        await pilot.press("j", "j", "j")  # held keys trace only where the cursor rests (past cart's gRPC, catalog)
        assert rules.cursor_key is not None and rules.cursor_key[:2] == ("pay.demo.example", "/")
        await until(pilot, lambda: app.path is not None and app.path.target == "pay.demo.example/")
        assert app.table("services").on_path == {("payments", "payments-web")}
        assert rules.cursor_key[:2] == ("pay.demo.example", "/")  # the cursor stays where the user put it
        await pilot.press("G")
        assert rules.cursor_key == rules.visible_keys[-1]
        await pilot.press("g")
        assert rules.cursor_key == rules.visible_keys[0]
        await pilot.press("tab")  # 120x40: the middle column top to bottom, then the path on the right
        assert app.focused is app.table("services")
        await pilot.press("tab", "tab")
        assert app.focused is app.path_panel
        await pilot.press("tab")
        assert app.focused is app.table("namespaces")
        await pilot.press("shift+tab", "shift+tab", "tab")
        assert app.focused is app.path_panel
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused is app.table("services")
        assert app.table("services").border_title.startswith("> Services")


@pytest.mark.slow
async def test_enter_on_a_service_or_pod_shows_what_reaches_it() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        services = app.table("services")
        services.focus()
        services.move_to(("shop", "shop-green"))
        await pilot.press("enter")
        text = text_of(app.path_panel.query_one("#path-body"))
        assert "shop.demo.example/ -> Service shop-green" in text
        shop_green_rules = {("shop.demo.example", "/", "shop", "shop"),
                            ("store.demo.example", "/", "shop", "store", "HTTPRoute")}  # the Ingress and the HTTPRoute
        assert marked(app, "rules") == shop_green_rules
        pod = next(p for p in app.store.pods("shop") if p.meta.labels.get("version") == "green")
        pods = app.table("pods")
        pods.focus()
        pods.move_to(pod.meta.key)
        await pilot.press("enter")
        assert marked(app, "services") == {("shop", "shop-green")}
        assert marked(app, "pods") == {pod.meta.key}
        assert marked(app, "rules") == shop_green_rules


@pytest.mark.slow
async def test_filter_the_focused_pane_and_namespace_scope() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        pods = app.table("pods")
        pods.focus()
        await pilot.press("slash", *"app=payments-api", "q")  # "q" is text here, not quit
        assert app.is_running
        assert pods.filter_text == "app=payments-apiq" and pods.visible_keys == []
        await pilot.press("backspace", "enter")
        assert app.focused is pods and len(pods.visible_keys) == 2
        assert "/app=payments-api" in pods.border_title
        await pilot.press("slash", "ctrl+u", "enter")  # an emptied filter shows everything again
        assert pods.filter_text == "" and len(pods.visible_keys) == len(pods)
        await pilot.press("slash")
        app.query_one("#filter").post_message(events.Paste("q f app=shop"))  # pasted keys are text, not bindings
        await pilot.pause()
        assert app.is_running and pods.filter_text == "q f app=shop" and not isinstance(app.screen, FindingsScreen)
        await pilot.press("ctrl+u", "escape")
        assert app.focused is pods and pods.filter_text == ""
        namespaces = app.table("namespaces")
        namespaces.focus()
        namespaces.move_to(("shop",))
        await pilot.press("enter")
        assert app.namespace == "shop"
        assert {k[0] for k in pods.visible_keys} == {"shop"}
        assert {k[2] for k in app.table("rules").visible_keys} == {"shop"}


@pytest.mark.slow
async def test_next_and_previous_problem() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        services = app.table("services")
        services.focus()
        problems = [k for k in services.visible_keys if k in services.problems]
        assert ("aspnet", "aspnetapp") in problems and ("payments", "payments-api") in problems
        services.move_to(services.visible_keys[0])
        seen = []
        for _ in range(len(problems)):
            await pilot.press("n")
            seen.append(services.cursor_key)
        assert sorted(seen) == sorted(problems)
        await pilot.press("N")
        assert services.cursor_key == seen[-2]


@pytest.mark.slow
async def test_findings_jump_help_palette_and_quit() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await pilot.press("f")
        assert isinstance(app.screen, FindingsScreen)
        await pilot.press("escape")
        near_miss: Finding = next(f for f in app.findings if f.code == "service-selector-no-match")
        app.jump_to_finding(near_miss)
        await pilot.pause()
        assert app.focused is app.table("services")
        assert app.table("services").cursor_key == ("aspnet", "aspnetapp")
        assert marked(app, "services") == {("aspnet", "aspnetapp")}
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "app.next_problem" in {binding_id for _, binding_id, _ in app.binding_list()}
        await pilot.press("escape", "colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("q")
    assert app.return_value == 0


@pytest.mark.slow
async def test_a_pod_turning_unready_reaches_the_path_live(sim_factory: Callable[..., Simulator],
                                                           tmp_path: Path) -> None:
    sim = sim_factory(cluster=demo_cluster(), bookmark_interval=0.2)
    source = open_live(SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "k"))))
    app = KtraceApp(view=ViewOptions(host="pay.demo.example/"), source_factory=lambda _: source, debounce=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.path is not None and app.path.status == "ok"
        await until(pilot, lambda: source.status is not None and source.status.state == "live")
        pods = app.table("pods")
        pods.focus()
        victim = sorted(marked(app, "pods"))[0]
        other = sorted(marked(app, "pods"))[1]
        pods.move_to(other)
        line = pods.visible_keys.index(other) - int(pods.scroll_y)

        sim.call(sim.cluster.set_pod_ready, *victim, False)  # its readiness probe starts failing
        await until(pilot, lambda: app.path.status == "degraded")
        await until(pilot, lambda: pods.row(victim).cells[1] == "0/1")
        assert app.table("services").row(("payments", "payments-web")).cells[1] == "1/2"
        assert pods.cursor_key == other and pods.visible_keys.index(other) - int(pods.scroll_y) == line
        assert marked(app, "pods") == {victim, other}  # a not-ready pod is still on the path
        assert next(h for h in app.path.hops if h.name == victim[1]).status == "warning"
        assert app.path_panel.changed_hops  # the changed hop is marked for a moment
        assert "live" in str(app.status_bar.line())


def test_no_terminal_is_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    from ktrace.cli import main

    assert main(["--demo"]) == 2  # pytest's stdin is not a terminal
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ssh -t" in err and "ktrace check" in err


@pytest.mark.slow
async def test_relist_keeps_the_selection_and_detail_and_copy_work(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ktrace.tui.detail_screen import DetailScreen

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # where the copy fallback file goes
    async with demo_app("pay.demo.example/").run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        first_store, first_source = app.store, app.source
        await pilot.press("r")
        await until(pilot, lambda: app.store is not first_store and app.store is not None)
        await pilot.pause()
        assert app.source is not first_source and app.path is not None and app.path.target == "pay.demo.example/"
        assert marked(app, "services") == {("payments", "payments-web")}
        await pilot.press("y")
        assert (tmp_path / "ktrace-copy.txt").read_text().startswith("✓ ok  pay.demo.example/")
        services = app.table("services")
        services.focus()
        services.move_to(("aspnet", "aspnetapp"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert "App: aspnetapp" in "\n".join(text_of(w) for w in app.screen.query("Static"))


@pytest.mark.slow
async def test_a_click_moves_the_cursor_and_traces_the_route() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        rules = app.table("rules")
        third = rules.visible_keys[2]
        await pilot.click(rules, offset=(5, 1 + 1 + 2))  # border, header, third row
        assert rules.cursor_key == third
        # The table's Moved message bubbles up to the app over several queues, then the trace waits for the
        # cursor to rest: Pilot's pause after the click does not wait for all of them.
        await until(pilot, lambda: app.path is not None and app.path.target == f"{third[0]}{third[1]}")


@pytest.mark.slow
async def test_timers_firing_while_the_app_shuts_down_touch_no_widget() -> None:
    """The 1 s watch-state tick and the debounce of watch events can fire after quitting began, when
    the widgets are gone: they must do nothing then (before, a NoMatches traceback on some quits)."""
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
    app._on_change(Change("Pod", "MODIFIED", "shop", "web"))  # a watch thread reports a change as the app quits
    app._show_watch_state()
    app._apply_pending()  # neither raises


@pytest.mark.slow
async def test_status_bar_says_when_the_data_is_not_current() -> None:
    from ktrace.sources.kubewatch import WatchStatus

    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        since = time.time() - 60
        app.status_bar.set_state(watch=WatchStatus("reconnecting", since, "connection refused", 10, 10))
        assert f"reconnecting since {time.strftime('%H:%M:%S', time.localtime(since))}" in str(app.status_bar.line())
        app.status_bar.set_state(watch=WatchStatus("stale", since, "gone", 10, 10), scope="shop")
        line = str(app.status_bar.line())
        errors = sum(f.severity == "error" for f in app.findings if f.namespace in ("", "shop"))  # those in view
        assert errors < sum(f.severity == "error" for f in app.findings)
        assert "stale since" in line and "ns: shop" in line and f"✗ {errors} errors" in line


@pytest.mark.slow
async def test_keys_remapped_by_binding_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KTRACE_KEYMAP", "app.quit=ctrl+q;table.down=down,s;app.path_detail=x;broken")
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        rules = app.table("rules")
        first = rules.cursor_key
        await pilot.press("s")
        assert rules.cursor_key == rules.visible_keys[rules.visible_keys.index(first) + 1]
        await pilot.press("q")
        assert app.is_running  # q is no longer quit
        assert ("ctrl+q", "app.quit", "Quit") in app.binding_list()
        assert app.path_panel.border_title == "Request path (summary, x: full)"  # the title names the key in use
        await pilot.press("x")
        assert app.path_panel.full
        await pilot.press("ctrl+q")
    assert app.return_value == 0


@pytest.mark.parametrize(("env", "flag", "expected"), [
    ({"LANG": "en_US.UTF-8"}, False, False),
    ({"LANG": "en_US.UTF-8"}, True, True),
    ({"LANG": "C"}, False, True),
    ({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"}, False, True),  # LC_ALL wins, as in C
    ({"LC_CTYPE": "de_DE.utf8"}, False, False),
    ({}, False, True),  # no locale at all: the C locale
])
def test_ascii_when_asked_or_when_the_locale_cannot_encode_symbols(monkeypatch: pytest.MonkeyPatch, env: dict,
                                                                   flag: bool, expected: bool) -> None:
    from ktrace.tui.terminal import wants_ascii

    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr("sys.stderr", type("Err", (), {"encoding": "utf-8"})())
    assert wants_ascii(ViewOptions(ascii=flag)) is expected


@pytest.mark.slow
async def test_palette_switches_namespace_and_jumps_to_a_host() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await pilot.press("colon", *"ce: shop")
        await pilot.pause(0.3)  # the palette searches asynchronously
        await pilot.press("enter")
        await until(pilot, lambda: app.namespace == "shop")
        assert {k[0] for k in app.table("pods").visible_keys} == {"shop"}
        await pilot.press("colon", *"pay.demo.example/api")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.path is not None)
        assert app.path.target == "pay.demo.example/api"
        assert marked(app, "services") == {("payments", "payments-api")}


OFFLINE = """\
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: shop}
type: kubernetes.io/tls
data: {tls.key: c2VjcmV0LWtleQ==}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {team: storefront}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec:
  containers: [{name: web, image: web:1, ports: [{name: http, containerPort: 8080}]}]
status: {phase: Running, podIP: 10.0.0.5, conditions: [{type: Ready, status: "True"}]}
"""


@pytest.mark.slow
async def test_offline_detail_shows_the_object_as_its_file_has_it(tmp_path: Path) -> None:
    from ktrace.sources.manifests import ManifestSource
    from ktrace.tui.detail_screen import DetailScreen

    path = tmp_path / "web.yaml"
    path.write_text(OFFLINE)
    app = KtraceApp(source_factory=lambda _: ManifestSource([str(path)]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        services = app.table("services")
        services.focus()
        services.move_to(("shop", "web"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        assert screen.title_text == f"Service shop/web  ({path}:7)"  # where it is written
        # the file's own fields and spelling, not the store's slim record (target_port, meta)
        assert "targetPort: http" in screen.yaml_text and "apiVersion: v1" in screen.yaml_text
        assert "team: storefront" in screen.yaml_text and "target_port" not in screen.yaml_text
        await pilot.press("escape")
        await pilot.pause()
        # a Secret: metadata only, whatever the file holds
        app._open_detail("Secret shop/web-tls", app.store.get("Secret", "shop", "web-tls"))
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert "c2VjcmV0" not in app.screen.yaml_text and "web-tls" in app.screen.yaml_text
        assert app.screen.title_text == "Secret shop/web-tls"


@pytest.mark.slow
async def test_offline_bad_file_is_a_finding_and_a_huge_object_is_cut_in_the_detail(tmp_path: Path) -> None:
    """One malformed file: the rest is shown and the error is a finding (file:line). A pod of 20,000
    values: `d` shows a bounded view that says it is cut."""
    from ktrace.sources.manifests import ManifestSource
    from ktrace.tui.detail_screen import MAX_VALUES, DetailScreen

    big = "\nbig: [" + ", ".join(["x"] * 20_000) + "]\n"
    (tmp_path / "web.yaml").write_text(OFFLINE.rstrip("\n") + big)
    (tmp_path / "zz-broken.yaml").write_text("kind: Service\nmetadata:\n  name: [unclosed\n")
    app = KtraceApp(source_factory=lambda _: ManifestSource([str(tmp_path)]))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        broken = [f for f in app.findings if f.code == "source-input-unreadable"]
        assert [(f.severity, f.name) for f in broken] == [("error", f"{tmp_path / 'zz-broken.yaml'}:4:1")]
        await pilot.press("f")
        assert isinstance(app.screen, FindingsScreen) and broken[0] in app.screen.findings
        await pilot.press("escape")
        pods = app.table("pods")
        pods.focus()
        pods.move_to(("shop", "web-1"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        text = app.screen.yaml_text
        assert text.startswith("# cut: too large to show whole") and "more items not shown)" in text
        assert text.count("\n- x") < MAX_VALUES


@pytest.mark.slow
async def test_an_unrouted_host_at_start_shows_the_broken_answer_as_the_cli_does() -> None:
    """`--host` naming a host nothing serves: the same answer as `ktrace trace` (one pipeline): broken, the
    `host-no-route` finding and its hint, never an error or an empty panel."""
    app = demo_app("nothere.demo.example")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.path is not None)
        assert app.path is not None and app.path.status == "broken" and app.path.hops == []
        [f] = app.path.findings
        assert f.code == "host-no-route" and "closest hosts:" in f.hint
        text = " ".join(text_of(app.path_panel.query_one("#path-body")).split())
        assert "broken nothere.demo.example/" in text and " ".join(f.hint.split()) in text
