"""GRPCRoute and TLSRoute in the TUI: their rows in the routes pane (HOST as the target is typed, grpc:// or
tls://; VIA the kind; PATH the call or the SNI; TLS the listener's mode), the row's Target is what the verdicts
trace, a traced hop marks its row, watch events redo their rows, BackendTLSPolicy problems show on the Services
they target; under Pilot: selecting a row traces it, the preview works on a GRPCRoute rule and on a TLSRoute's, a
finding jumps to its row."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from textual.widgets import Input, Static

from ktrace.options import AnalysisOptions, SourceSpec
from ktrace.requestpath import FRONT
from ktrace.routing import rule_targets
from ktrace.sources import open_source
from ktrace.store import ClusterStore
from ktrace.targets import parse_target
from ktrace.trace import Tracer
from ktrace.tui import rows as R
from ktrace.tui.app import KtraceApp
from ktrace.tui.preview_screen import PreviewScreen
from ktrace.tui.rowdiff import pane_changes
from ktrace.tui.selection import FINDING_PANE, path_keys, reverse_lines, row_of
from tests.tui.test_tui_app import marked, text_of, until

SCENARIOS = Path(__file__).parent.parent / "scenarios"
FILES = tuple(str(SCENARIOS / f) for f in ("grpc-match.yaml", "gateway-tlsroute.yaml", "backend-tls.yaml"))
CART = R.route_key("cart.grpc.example.com", "/shop.v1.Cart", "shop", "cart", "GRPCRoute")
CHECKOUT = R.route_key("cart.grpc.example.com", "/shop.v1.Cart/Checkout", "shop", "cart", "GRPCRoute")
DB = R.route_key("db.tls.example.com", "", "tls", "db", "TLSRoute")


def objects() -> list[dict]:
    return [d for f in FILES for d in yaml.safe_load_all(Path(f).read_text()) if d]


@pytest.fixture(scope="module")
def store() -> ClusterStore:
    return ClusterStore(objects())


def cells(row: R.Row) -> dict[str, str]:
    return dict(zip(R.RULE_COLUMNS, row.cells, strict=True))


def rows_of(store: ClusterStore, kind: str, name: str) -> dict[tuple[str, ...], dict[str, str]]:
    return {r.key: cells(r) for r in R.rule_rows(store) if r.ref[0] == kind and r.ref[2] == name}


# -- rows ------------------------------------------------------------------------------------------

def test_grpcroute_rows_one_per_call_its_exact_matches_name(store: ClusterStore) -> None:
    """GRPCMethodMatch: "At least one of Service and Method MUST be a non-empty string" and a match without
    `method` matches every method of the service; RegularExpression matches name no call to trace, nor does a
    method without its service. "If no matches are specified, the implementation MUST match every gRPC request"."""
    cart = rows_of(store, "GRPCRoute", "cart")
    assert {k[1] for k in cart} == {"/shop.v1.Cart", "/shop.v1.Cart/Checkout", "/shop.v1.Cart/Add", "/shop.v1.Orders"}
    assert cart[CART] == {"HOST": "grpc://cart.grpc.example.com", "PATH": "shop.v1.Cart/*",
                          "BACKEND": "cart 80%, cart-canary 20%", "TLS": "", "VIA": "grpc", "ENTRY": "infra/grpc",
                          "OBJECT": "shop/cart"}
    assert cart[CHECKOUT]["PATH"] == "shop.v1.Cart/Checkout" and cart[CHECKOUT]["BACKEND"] == "checkout:9090"
    catalog = rows_of(store, "GRPCRoute", "catalog")  # no matches: every call
    assert list(catalog.values()) == [{"HOST": "grpc://catalog.grpc.example.com", "PATH": "*",
                                       "BACKEND": "catalog:9090", "TLS": "", "VIA": "grpc", "ENTRY": "infra/grpc",
                                       "OBJECT": "shop/catalog"}]


def test_grpcroute_row_shows_the_rule_a_call_without_headers_takes() -> None:
    """GRPCRouteMatch: "A gRPC request is matched if ALL of its specified conditions are satisfied": a rule that
    also needs a header does not take a plain call; the row of that call shows the rule without headers."""
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
             "metadata": {"name": "r", "namespace": "n"},
             "spec": {"hostnames": ["a.example.com"], "rules": [
                 {"matches": [{"method": {"service": "s.S", "method": "M"}, "headers": [{"name": "x", "value": "1"}]}],
                  "backendRefs": [{"name": "canary", "port": 80}]},
                 {"matches": [{"method": {"service": "s.S", "method": "M"}}], "backendRefs": [{"name": "main",
                                                                                              "port": 80}]}]}}
    rows = rows_of(ClusterStore([route]), "GRPCRoute", "r")
    assert rows == {R.route_key("a.example.com", "/s.S/M", "n", "r", "GRPCRoute"): {
        "HOST": "grpc://a.example.com", "PATH": "s.S/M", "BACKEND": "main:80", "TLS": "", "VIA": "grpc",
        "ENTRY": "(no parent)", "OBJECT": "n/r"}}


def test_tlsroute_rows_one_per_hostname_with_the_listener_mode(store: ClusterStore) -> None:
    """TLSRoute "matches the SNI hostname": one row per hostname. GatewayTLSConfig.mode: "Terminate: The TLS
    session between the downstream client and the Gateway is terminated at the Gateway" (its certificate is on the
    path); "Passthrough: The TLS session is NOT terminated by the Gateway"."""
    db = rows_of(store, "TLSRoute", "db")
    assert db == {DB: {"HOST": "tls://db.tls.example.com", "PATH": "(SNI)", "BACKEND": "db:5432", "TLS": "pass",
                       "VIA": "tls", "ENTRY": "tls/edge", "OBJECT": "tls/db"}}
    vault = next(r for r in R.rule_rows(store) if r.ref == ("TLSRoute", "tls", "vault"))
    assert cells(vault)["TLS"] == "term" and ("Secret", "tls", "vault-cert") in vault.also
    # on an HTTPS listener (which carries no TLSRoute): no TLS listener takes it
    assert cells(next(r for r in R.rule_rows(store) if r.ref == ("TLSRoute", "tls", "legacy")))["TLS"] == ""


def test_every_routed_row_traces_a_target_the_verdicts_trace(store: ClusterStore) -> None:
    """The row's Target is the one `rule_targets` lists (what the verdicts trace): its mark can be found."""
    routed = {R.row_target(r.key) for r in R.rule_rows(store) if r.ref[0] in ("GRPCRoute", "TLSRoute")}
    assert routed == {t for t in rule_targets(store) if t.scheme in ("grpc", "tls")}
    assert R.row_target(CHECKOUT) == parse_target("grpc://cart.grpc.example.com/shop.v1.Cart/Checkout")
    assert R.row_target(DB) == parse_target("tls://db.tls.example.com")


# -- watch events ----------------------------------------------------------------------------------

def test_watch_events_on_grpc_and_tls_routes_redo_their_rows() -> None:
    objs = objects()
    store = ClusterStore(objs)
    before = {"rules": R.rule_rows(store), "services": R.service_rows(store)}
    grpc = copy.deepcopy(next(o for o in objs if o["kind"] == "GRPCRoute" and o["metadata"]["name"] == "cart"))
    grpc["metadata"]["resourceVersion"] = "2"
    grpc["spec"]["rules"] = grpc["spec"]["rules"][1:2]  # the Checkout rule alone
    assert store.apply("MODIFIED", grpc)
    assert store.apply("DELETED", next(o for o in objs if o["kind"] == "TLSRoute" and o["metadata"]["name"] == "db"))
    change = pane_changes(store, {("GRPCRoute", "MODIFIED", "shop", "cart"), ("TLSRoute", "DELETED", "tls", "db")},
                          before)["rules"]
    assert [r.key for r in change.upserts] == [CHECKOUT]
    assert set(change.removed) == {DB} | {r.key for r in before["rules"]
                                          if r.ref == ("GRPCRoute", "shop", "cart") and r.key != CHECKOUT}
    # a Gateway's change redoes every Gateway API route's rows: TLS ones too
    gateway = pane_changes(store, {("Gateway", "MODIFIED", "tls", "edge")}, before)["rules"]
    assert {r.ref[0] for r in gateway.upserts} >= {"HTTPRoute", "GRPCRoute", "TLSRoute"}


def test_a_backendtlspolicy_shows_on_its_service_and_its_changes_redo_that_row(store: ClusterStore) -> None:
    """BackendTLSPolicy targetRefs: "the Service(s) this policy is attached to": its findings mark that Service's
    row, and the findings view takes the services pane to it."""
    row = next(r for r in R.service_rows(store) if r.ref == ("Service", "btls", "billing"))
    assert ("BackendTLSPolicy", "btls", "billing-tls") in row.also
    assert FINDING_PANE["BackendTLSPolicy"] == "services"
    assert row_of(("BackendTLSPolicy", "btls", "billing-tls"), R.service_rows(store)) == ("btls", "billing")
    before = {"rules": R.rule_rows(store), "services": R.service_rows(store)}
    changes = pane_changes(store, {("BackendTLSPolicy", "MODIFIED", "btls", "billing-tls")}, before, services=set())
    assert ("btls", "billing") in {r.key for r in changes["services"].upserts}


# -- traced paths ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "row"), [
    ("grpc://cart.grpc.example.com/shop.v1.Cart/Checkout", CHECKOUT),
    ("grpc://cart.grpc.example.com/shop.v1.Cart/Remove", CART),  # the service-only match takes it
    ("tls://db.tls.example.com", DB),
    ("tls://other.tls.example.com", R.route_key("*.tls.example.com", "", "tls", "wild", "TLSRoute")),
])
def test_a_traced_route_hop_marks_its_row(store: ClusterStore, target: str, row: tuple[str, ...]) -> None:
    path = Tracer(store, live=False).trace(parse_target(target))
    assert path_keys(store, path)["rules"] == {row}


def test_the_reverse_view_names_the_grpc_call_and_the_tls_host(store: ClusterStore) -> None:
    _, lines = reverse_lines(store, ("Service", "tls", "db"), R.rule_rows(store))
    assert lines == ["tls://db.tls.example.com -> Service db (TLSRoute tls/db)"]
    _, lines = reverse_lines(store, ("Service", "shop", "checkout"), R.rule_rows(store))
    assert lines == ["grpc://cart.grpc.example.com/shop.v1.Cart/Checkout -> Service checkout (GRPCRoute shop/cart)"]


# -- the app ---------------------------------------------------------------------------------------

def files_app() -> KtraceApp:
    return KtraceApp(SourceSpec(files=FILES), AnalysisOptions(), source_factory=open_source)


@pytest.mark.slow
async def test_selecting_grpc_and_tls_rows_traces_them_and_their_verdicts_mark_them() -> None:
    app = files_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None and app.verdicts is not None)
        rules = app.table("rules")
        legacy = R.route_key("legacy.https.example.com", "", "tls", "legacy", "TLSRoute")
        vault = R.route_key("vault.example.net", "", "tls", "vault", "TLSRoute")
        assert rules.problems.get(legacy) == "error" and rules.problems.get(vault) == "warning"
        rules.focus()
        for key, hops in ((CHECKOUT, ["Gateway", "GRPCRoute", "Service"]), (DB, ["Gateway", "TLSRoute", "Service"])):
            rules.move_to(key)
            await pilot.press("enter")
            assert app.path is not None and app.path.target == str(R.row_target(key)) and app.path.status == "ok"
            assert [h.kind for h in app.path.hops if h.level != FRONT][:3] == hops
            assert marked(app, "rules") == {key}
            tree = text_of(app.path_panel.query_one("#path-body"))
            assert hops[1] in tree


@pytest.mark.slow
async def test_a_backendtlspolicy_finding_jumps_to_its_service_and_the_path_through_it() -> None:
    app = files_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None)
        missing = next(f for f in app.findings if f.kind == "BackendTLSPolicy" and f.name == "billing-tls")
        app.jump_to_finding(missing)
        await pilot.pause()
        services = app.table("services")
        assert app.focused is services and services.cursor_key == ("btls", "billing")
        assert services.problems.get(("btls", "billing")) == "error"
        assert app.path is not None and app.path.target == "billing.btls.example.com/"


@pytest.mark.slow
@pytest.mark.parametrize(("key", "weights", "typed"), [
    (CART, "cart=80,cart-canary=20", "cart=0,cart-canary=100"),
    (DB, "db=1", "db=0"),
])
async def test_preview_on_grpc_and_tls_rules_offers_services_and_weights(
        key: tuple[str, ...], weights: str, typed: str) -> None:
    app = files_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: app.store is not None)
        rules = app.table("rules")
        rules.focus()
        rules.move_to(key)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PreviewScreen) and screen.target == R.row_target(key)
        field = screen.query_one("#preview-weights", Input)
        assert field.value == weights and str(field.border_title).startswith(f"Weights of {key[4]} ")
        await pilot.press("w")
        field.value = ""
        await pilot.press(*typed, "enter")
        await pilot.pause()
        text = text_of(screen.query_one("#preview-body", Static))
        assert "would-be path" in text and f"weights {typed.replace(',', ', ')}" in text
        await pilot.press("escape")



@pytest.mark.slow
@pytest.mark.parametrize("target", ["grpc://cart.demo.example/shop.v1.Cart/Add", "tls://vault.demo.example"],
                         ids=["grpc", "tls"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_grpc_and_tls_path_snapshot(snap_compare, size: tuple[int, int], target: str) -> None:
    """The demo's GRPCRoute call (healthy: the row `grpc` shop.v1.Cart/*, the GRPCRoute hop with its match) and its
    TLSRoute (`tls` (SNI) pass; broken: the Service selector's near miss, the pods it almost selects marked)."""
    from tests.tui.test_tui_snapshots_main import app_for, loaded

    assert snap_compare(app_for(target), terminal_size=size, run_before=loaded)
