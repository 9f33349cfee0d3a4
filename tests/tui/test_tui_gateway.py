"""Gateway API in the TUI: HTTPRoute rows in the routes pane (one per hostname + path match, weighted backends),
the path through a Gateway marking exactly its rows in every pane, the reverse path naming the route, problem
navigation and a route arriving live through the watch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from ktrace.options import AnalysisOptions, SourceSpec, ViewOptions
from ktrace.requestpath import FRONT
from ktrace.sim.demo import demo_cluster, demo_objects
from ktrace.sim.handle import Simulator
from ktrace.sources import open_source
from ktrace.sources.demo import DemoSource
from ktrace.sources.live import open_live
from ktrace.store import ClusterStore
from ktrace.tui import rows as R
from ktrace.tui.app import KtraceApp
from tests.tui.test_tui_app import marked, text_of, until

SIZE = (120, 40)
STORE_ROW = R.route_key("store.demo.example", "/", "shop", "store")


def route(name: str, spec: dict, namespace: str = "shop") -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-01-16T09:00:00Z"},
            "spec": spec}


def cells(row: R.Row) -> dict[str, str]:
    return dict(zip(R.RULE_COLUMNS, row.cells, strict=True))


# -- rows ------------------------------------------------------------------------------------------

def test_demo_route_row_shows_the_weighted_split_and_its_gateway() -> None:
    rows = {r.key: r for r in R.rule_rows(ClusterStore(demo_objects()))}
    row = rows[STORE_ROW]
    assert row.ref == ("HTTPRoute", "shop", "store") and row.also == (("Gateway", "shop", "shop-gateway"),)
    assert cells(row) == {"VIA": "gw", "HOST": "store.demo.example", "PATH": "/",
                          "BACKEND": "shop-green 90%, shop-blue 10%", "OBJECT": "shop/store",
                          "ENTRY": "shop/shop-gateway", "TLS": ""}
    assert cells(rows[("shop.demo.example", "/", "shop", "shop")])["VIA"] == "ing"
    # sorted by key, a route sits among the Ingress rules of its host
    assert sorted(rows) == sorted(rows, key=lambda k: k[:2])


def test_route_rows_per_hostname_and_path_match() -> None:
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": "gw", "namespace": "web"},
               "spec": {"gatewayClassName": "eg", "listeners": [
                   {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "*.example.com"}]}}
    r = route("site", {
        "parentRefs": [{"name": "gw"}], "hostnames": ["a.example.com", "b.other.org"],
        "rules": [
            {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}, "headers": [{"name": "x-canary",
                                                                                         "value": "1"}]}],
             "backendRefs": [{"name": "canary", "port": 80}]},
            {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}},
                         {"path": {"type": "RegularExpression", "value": "/v[0-9]+"}}],
             "backendRefs": [{"name": "api", "namespace": "backend", "port": 8080}]},
            {"matches": [{"path": {"type": "Exact", "value": "/old"}}],
             "filters": [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplaceFullPath"}}}]},
        ]}, namespace="web")
    bare = route("bare", {"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [
        {"name": "a", "port": 80, "weight": 1}, {"name": "b", "port": 80, "weight": 0}]}]}, namespace="web")
    store = ClusterStore([gateway, r, bare])
    rows = {r.key: cells(r) for r in R.rule_rows(store)}
    assert set(rows) == {R.route_key(h, p, "web", "site") for h in ("a.example.com", "b.other.org")
                         for p in ("/api", "/old")} | {R.route_key("", "/", "web", "bare")}
    api = rows[R.route_key("a.example.com", "/api", "web", "site")]
    assert api["BACKEND"] == "backend/api:8080"  # the rule a plain request takes, not the header-only canary
    assert api["TLS"] == "tls" and rows[R.route_key("b.other.org", "/api", "web", "site")]["TLS"] == ""
    assert rows[R.route_key("a.example.com", "/old", "web", "site")]["BACKEND"] == "(redirect)"
    assert rows[R.route_key("", "/", "web", "bare")] == {
        "VIA": "gw", "HOST": "*", "PATH": "/", "BACKEND": "a 100%, b 0%", "OBJECT": "web/bare", "ENTRY": "web/gw",
        "TLS": "tls"}


# -- the app ---------------------------------------------------------------------------------------

@pytest.mark.slow
async def test_enter_on_the_route_row_marks_exactly_the_gateway_path() -> None:
    app = KtraceApp(SourceSpec(demo=True), source_factory=lambda _: DemoSource(moving=False))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.store is not None)
        rules = app.table("rules")
        rules.focus()
        rules.move_to(STORE_ROW)
        await pilot.press("enter")
        assert app.path is not None and app.path.target == "store.demo.example/" and app.path.status == "ok"
        assert [h.kind for h in app.path.hops if h.level != FRONT][:3] == ["Gateway", "HTTPRoute", "Service"]
        green = {p.meta.key for p in app.store.pods_matching("shop", {"app": "shop", "version": "green"})}
        blue = {p.meta.key for p in app.store.pods_matching("shop", {"app": "shop", "version": "blue"})}
        assert len(green) == 3 and len(blue) == 2
        assert marked(app, "rules") == {STORE_ROW}  # not the shop Ingress rules to the same Service
        assert marked(app, "services") == {("shop", "shop-green"), ("shop", "shop-blue")}
        assert marked(app, "pods") == green | blue
        assert marked(app, "namespaces") == {("shop",)}
        tree = text_of(app.path_panel.query_one("#path-body"))
        assert "Gateway" in tree and "HTTPRoute" in tree and "NetworkPolicy" in tree

        services = app.table("services")
        services.focus()
        services.move_to(("shop", "shop-blue"))
        await pilot.press("enter")  # the reverse path: what reaches shop-blue
        body = " ".join(text_of(app.path_panel.query_one("#path-body")).split())  # long lines wrap
        assert "store.demo.example/ -> Service shop-blue (HTTPRoute shop/store)" in body
        assert marked(app, "rules") == {STORE_ROW}
        services.move_to(("shop", "shop-green"))
        await pilot.press("enter")
        assert marked(app, "rules") == {STORE_ROW, ("shop.demo.example", "/", "shop", "shop")}


@pytest.mark.slow
async def test_routes_arrive_live_n_reaches_a_broken_one_and_a_gateway_change_redoes_rows(
        sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(cluster=demo_cluster(), bookmark_interval=0.2)
    source = open_live(SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "k"))))
    app = KtraceApp(source_factory=lambda _: source, debounce=0.05)
    orphan = R.route_key("lost.demo.example", "/", "shop", "lost")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.store is not None)
        await until(pilot, lambda: source.status is not None and source.status.state == "live")
        rules = app.table("rules")
        assert orphan not in set(rules.visible_keys) and not any(k[-1] == "HTTPRoute" for k in rules.problems)
        sim.apply(route("lost", {"parentRefs": [{"name": "no-such-gateway"}], "hostnames": ["lost.demo.example"],
                                 "rules": [{"backendRefs": [{"name": "shop-green", "port": 80}]}]}))
        await until(pilot, lambda: rules.row(orphan) is not None and orphan in rules.problems)
        assert rules.problems[orphan] == "error"
        rules.focus()
        rules.move_to(rules.visible_keys[0])
        for _ in range(len(rules.problems)):
            await pilot.press("n")
            if rules.cursor_key == orphan:
                break
        assert rules.cursor_key == orphan
        await pilot.press("enter")
        assert app.path is not None and app.path.status == "broken"
        assert marked(app, "rules") == {orphan}
        assert {(h.kind, h.status) for h in app.path.hops} >= {("Gateway", "error"), ("HTTPRoute", "error")}
        sim.delete("HTTPRoute", "shop", "lost")
        await until(pilot, lambda: rules.row(orphan) is None)
        # a Gateway change redoes its routes' rows: an HTTPS listener for the host turns the TLS column on
        assert rules.row(STORE_ROW).cells[R.RULE_COLUMNS.index("TLS")] == ""
        sim.patch("Gateway", "shop", "shop-gateway", {"spec": {"listeners": [
            {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "store.demo.example"},
            {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "store.demo.example",
             "tls": {"certificateRefs": [{"name": "store-tls"}]}}]}})
        await until(pilot, lambda: rules.row(STORE_ROW).cells[R.RULE_COLUMNS.index("TLS")] == "tls")
        assert ("Secret", "shop", "store-tls") in rules.row(STORE_ROW).also


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_gateway_path_snapshot(snap_compare, size: tuple[int, int]) -> None:
    """store.demo.example/ selected: the route row, both weighted Services and their five pods marked; the path
    panel draws Gateway -> HTTPRoute -> each backend with its share and the NetworkPolicy verdict."""
    from tests.tui.test_tui_snapshots_main import app_for, loaded

    assert snap_compare(app_for("store.demo.example/"), terminal_size=size, run_before=loaded)


@pytest.mark.slow
@pytest.mark.parametrize("check_certs", [False, True], ids=["default", "check-certs"])
async def test_check_certs_marks_the_rule_of_an_expired_certificate_and_its_path_says_so(check_certs: bool) -> None:
    """--check-certs in the TUI: the demo's status.demo.example certificate expired. The finding is about a Secret
    (no pane): the rule using it carries the problem, the jump selects its path, the Ingress hop says why."""
    status = ("status.demo.example", "/", "ops", "status")
    app = KtraceApp(SourceSpec(demo=True), AnalysisOptions(check_certs=check_certs),
                    source_factory=lambda _: DemoSource(moving=False))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.store is not None)
        rules = app.table("rules")
        expired = [f for f in app.findings if f.code == "certificate-expired"]
        if not check_certs:  # off by default: nothing read, nothing reported
            assert not expired and status not in rules.problems
            return
        assert [(f.kind, f.namespace, f.name) for f in expired] == [("Secret", "ops", "status-tls")]
        assert rules.problems[status] == "error"
        app.jump_to_finding(expired[0])
        await pilot.pause()
        assert app.focused is rules and rules.cursor_key == status
        assert app.path is not None and app.path.target == "status.demo.example/"
        hop = next(h for h in app.path.hops if h.level != FRONT)
        assert hop.kind == "Ingress" and hop.status == "error" and any("expired" in r for r in hop.reasons)
        assert marked(app, "rules") == {status}


async def test_a_route_without_hostnames_and_its_gateways_problem(tmp_path: Path) -> None:
    """From files: a route listing no hostnames takes its listener's; tracing a host through it marks its "" row.
    The Gateway names a GatewayClass that does not exist: the Gateway has no row, its route row shows the problem."""
    gw = "gateway.networking.k8s.io/v1"
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "web"},
           "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    objs = [
        {"apiVersion": gw, "kind": "GatewayClass", "metadata": {"name": "eg"}, "spec": {"controllerName": "x/y"}},
        {"apiVersion": gw, "kind": "Gateway", "metadata": {"name": "edge", "namespace": "web"},
         "spec": {"gatewayClassName": "nope", "listeners": [
             {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "api.example.com"}]}},
        route("v1", {"parentRefs": [{"name": "edge"}], "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
            "backendRefs": [{"name": "api", "port": 80}]}]}, namespace="web"), svc]
    manifest = tmp_path / "gw.yaml"
    manifest.write_text("\n---\n".join(orjson.dumps(o).decode() for o in objs))
    app = KtraceApp(SourceSpec(files=(str(manifest),)), view=ViewOptions(host="api.example.com/v1/users"),
                    source_factory=open_source)
    row = R.route_key("", "/v1", "web", "v1")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.path is not None)
        rules = app.table("rules")
        assert rules.row(row) is not None and rules.row(row).cells[:2] == ("*", "/v1")
        assert marked(app, "rules") == {row}
        assert marked(app, "services") == {("web", "api")}
        assert [h.kind for h in app.path.hops if h.level != FRONT][:2] == ["Gateway", "HTTPRoute"]
        assert rules.problems.get(row) == "error"  # gateway-class-missing, a finding about the Gateway
        missing = next(f for f in app.findings if f.code == "gateway-class-missing")
        rules.move_to(rules.visible_keys[0])
        app.jump_to_finding(missing)
        await pilot.pause()
        assert rules.cursor_key == row
