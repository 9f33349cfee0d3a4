"""What the app's panes are told, worked out without Textual: which rows change for a batch of watch
events (rowdiff) and which rows carry a problem (selection)."""

from __future__ import annotations

import copy

import pytest

from ktrace.checks import CATALOG
from ktrace.sim.demo import demo_objects
from ktrace.store import ClusterStore
from ktrace.trace import trace
from ktrace.tui import rows as R
from ktrace.tui.rowdiff import PaneChange, pane_changes
from ktrace.tui.selection import problem_marks, worst_by_object


@pytest.fixture
def objects() -> list[dict]:
    return demo_objects()


def _one(objects: list[dict], kind: str, namespace: str | None = None) -> dict:
    return next(o for o in objects if o["kind"] == kind and namespace in (None, o["metadata"].get("namespace")))


def _current(store: ClusterStore) -> dict[str, list[R.Row]]:
    return {"rules": R.rule_rows(store), "services": R.service_rows(store)}


def _moved_pod(objects: list[dict]) -> tuple[ClusterStore, dict[str, list[R.Row]], str, str]:
    """A store in which a pod of namespace payments got another IP, the rows from before, and the pod."""
    store = ClusterStore(objects)
    before = _current(store)
    pod = copy.deepcopy(_one(objects, "Pod", "payments"))
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    pod["metadata"]["resourceVersion"] = "999999"
    pod["status"]["podIP"] = "10.9.9.9"
    assert store.apply("MODIFIED", pod)
    return store, before, ns, name


def test_a_changed_pod_touches_its_row_and_its_namespace_services_only(objects: list[dict]) -> None:
    store, before, ns, name = _moved_pod(objects)
    changes = pane_changes(store, {("Pod", "MODIFIED", ns, name)}, before)
    assert set(changes) == {"pods", "services"}  # no route row, and no namespace count changed
    assert [r.key for r in changes["pods"].upserts] == [(ns, name)] and changes["pods"].rows is None
    assert "10.9.9.9" in changes["pods"].upserts[0].cells
    services = changes["services"]
    assert services.rows is None and not services.removed
    assert {r.namespace for r in services.upserts} == {ns}
    assert {r.key for r in services.upserts} == {r.key for r in before["services"] if r.namespace == ns}


def _applied(rows: list[R.Row], change: PaneChange) -> list[R.Row]:
    kept = {r.key: r for r in rows if r.key not in set(change.removed)}
    return sorted({**kept, **{r.key: r for r in change.upserts}}.values(), key=lambda r: r.key)


def test_deleted_objects_lose_their_rows_and_the_namespace_counts_are_redone(objects: list[dict]) -> None:
    store = ClusterStore(objects)
    before = _current(store)
    namespaces = R.namespace_rows(store)
    pod, ing = _one(objects, "Pod", "aspnet"), _one(objects, "Ingress", "aspnet")
    assert store.apply("DELETED", pod) and store.apply("DELETED", ing)
    changes = pane_changes(store, {("Pod", "DELETED", "aspnet", pod["metadata"]["name"]),
                                   ("Ingress", "DELETED", "aspnet", ing["metadata"]["name"])}, before)
    assert changes["pods"].removed == [("aspnet", pod["metadata"]["name"])]
    gone = {r.key for r in before["rules"] if r.ref == ("Ingress", "aspnet", ing["metadata"]["name"])}
    assert gone and set(changes["rules"].removed) == gone and not changes["rules"].upserts
    # only the counts of the namespace touched (and the total) are redone
    assert {r.key for r in changes["namespaces"].upserts} == {(R.ALL_NAMESPACES,), ("aspnet",)}
    assert _applied(namespaces, changes["namespaces"]) == R.namespace_rows(store)
    others = [o for o in objects if o["metadata"].get("namespace") == "aspnet" or (o["kind"] == "Namespace"
              and o["metadata"]["name"] == "aspnet")]
    for o in others:
        store.apply("DELETED", o)
    emptied = pane_changes(store, {(o["kind"], "DELETED", o["metadata"].get("namespace", ""), o["metadata"]["name"])
                                   for o in others}, before)
    assert emptied["namespaces"].removed == [("aspnet",)]
    assert _applied(namespaces, emptied["namespaces"]) == R.namespace_rows(store)


def test_a_gateway_change_redoes_its_routes_rows_and_a_relist_redoes_the_pane(objects: list[dict]) -> None:
    store = ClusterStore(objects)
    changes = pane_changes(store, {("Gateway", "MODIFIED", "shop", "shop-gateway")}, _current(store))
    # every Gateway API route kind's rows (their TLS column reads the listeners), no Ingress's
    assert {r.ref for r in changes["rules"].upserts} == {("HTTPRoute", "shop", "store"), ("GRPCRoute", "shop", "cart"),
                                                         ("TLSRoute", "ops", "vault")}
    relisted = pane_changes(store, {("Pod", "RELIST", "", "")}, _current(store))
    assert relisted["pods"].rows == R.pod_rows(store)
    assert relisted["services"].rows == R.service_rows(store)  # ready counts come from pods too
    assert "rules" not in relisted


def test_problem_marks_take_the_worst_and_routes_show_their_gateways_problems(objects: list[dict]) -> None:
    store = ClusterStore(objects)
    findings = [CATALOG["service-partially-ready"].finding("Service", "payments", "payments-web", "m", "h"),
                CATALOG["service-no-ready-endpoints"].finding("Service", "payments", "payments-web", "m", "h"),
                CATALOG["pod-not-ready"].finding("Pod", "shop", "x", "m", "h"),
                CATALOG["service-externalname"].finding("Service", "shop", "docs", "m", "h"),  # info: no mark
                CATALOG["gateway-class-missing"].finding("Gateway", "shop", "shop-gateway", "m", "h")]
    worst = worst_by_object(findings)
    assert worst[("Service", "payments", "payments-web")] == "error"
    assert ("Service", "shop", "docs") not in worst
    services = problem_marks("services", R.service_rows(store), worst)
    assert services == {("payments", "payments-web"): "error"}
    routes = problem_marks("rules", R.rule_rows(store), worst)
    store_rows = [r.key for r in R.rule_rows(store) if r.ref == ("HTTPRoute", "shop", "store")]
    assert store_rows and all(routes[k] == "error" for k in store_rows)
    namespaces = problem_marks("namespaces", R.namespace_rows(store), worst)
    assert namespaces == {("payments",): "error", ("shop",): "error"}


def test_path_keys_mark_the_rule_service_and_pods_of_a_traced_path(objects: list[dict]) -> None:
    from ktrace.trace import trace
    from ktrace.tui.selection import path_keys

    store = ClusterStore(objects)
    path = trace(store, "pay.demo.example/", live=True)
    keys = path_keys(store, path)
    assert keys["rules"] == {r.key for r in R.rule_rows(store) if r.key[:2] == ("pay.demo.example", "/")}
    assert keys["services"] == {("payments", "payments-web")}
    assert keys["pods"] == {p.meta.key for p in store.pods("payments") if p.meta.labels.get("app") == "payments-web"}
    assert keys["namespaces"] == {("payments",)}  # not the controller's: the front door marks no row


def test_near_miss_keys_are_the_pods_a_selector_that_matches_nothing_almost_matches(objects: list[dict]) -> None:
    from ktrace.trace import trace
    from ktrace.tui.selection import near_miss_keys

    store = ClusterStore(objects)
    # Service aspnetapp selects App=aspnetapp; Deployment aspnetapp's pods are labelled app=aspnetapp
    keys = near_miss_keys(store, trace(store, "aspnetapp.demo.example/", live=True))
    aspnetapp = {p.meta.key for p in store.pods("aspnet") if p.meta.labels.get("app") == "aspnetapp"}
    assert keys == aspnetapp and len(keys) == 2
    assert near_miss_keys(store, trace(store, "pay.demo.example/", live=True)) == set()  # the selector matches
    svc = _one(objects, "Service", "aspnet")
    svc["spec"]["selector"] = {"App": "something-else"}  # no pod comes close: nothing to mark
    store = ClusterStore(objects)
    assert near_miss_keys(store, trace(store, "aspnetapp.demo.example/", live=True)) == set()


def test_reverse_view_of_a_service_and_of_a_pod_no_service_selects(objects: list[dict]) -> None:
    from ktrace.tui.selection import reverse_keys, reverse_lines

    store = ClusterStore(objects)
    rules = R.rule_rows(store)
    title, lines = reverse_lines(store, ("Service", "payments", "payments-web"), rules)
    assert title == "Reaching Service payments/payments-web:"
    assert "pay.demo.example/ -> Service payments-web (Ingress payments/payments)" in lines
    keys = reverse_keys(store, ("Service", "payments", "payments-web"), rules)
    assert ("pay.demo.example", "/") in {k[:2] for k in keys["rules"]}
    lonely = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lonely", "namespace": "payments",
                                                             "labels": {"app": "nobody"}}}
    store.apply("ADDED", lonely)
    assert reverse_lines(store, ("Pod", "payments", "lonely"), rules)[1] == ["no Service selects this pod"]
    assert reverse_lines(store, ("Pod", "payments", "gone"), rules) == ("Pod payments/gone is gone", [])


def test_a_finding_names_its_pane_its_row_and_the_path_to_show(objects: list[dict]) -> None:
    from ktrace.checks.host import NO_ROUTE
    from ktrace.checks.ingress import TLS_SECRET_MISSING
    from ktrace.targets import Target
    from ktrace.tui.selection import FINDING_PANE, finding_target, row_of

    store = ClusterStore(objects)
    no_route = NO_ROUTE.finding("Host", "", "nowhere.example", "m", "h", host="nowhere.example", path="/x")
    assert finding_target(no_route) == Target("nowhere.example", "/x")
    for target in (Target("nowhere.example", "", "tls"), Target("nowhere.example", "/pkg.S/M", "grpc")):
        # a grpc:// or tls:// target no route takes: its own path to show, not an HTTP one
        [found] = trace(store, target, live=False).findings
        assert found.code == NO_ROUTE.code and finding_target(found) == target
    tls = TLS_SECRET_MISSING.finding("Ingress", "aspnet", "aspnetapp", "m", "h")
    assert finding_target(tls) is None and FINDING_PANE[tls.kind] == "rules"
    rules = R.rule_rows(store)
    assert row_of(("Ingress", "aspnet", "aspnetapp"), rules) == next(r.key for r in rules if r.ref[2] == "aspnetapp")
    gateway_row = row_of(("Gateway", "shop", "shop-gateway"), rules)  # no row of its own: its routes show it
    assert gateway_row is not None and next(r for r in rules if r.key == gateway_row).ref[0] == "HTTPRoute"
    assert row_of(("Service", "x", "y"), rules) is None


def test_the_services_the_recheck_names_are_the_ones_recounted(objects: list[dict]) -> None:
    store, before, ns, name = _moved_pod(objects)
    selecting = {svc.meta.key for svc in store.services_selecting(store.get("Pod", ns, name))}  # type: ignore[arg-type]
    changes = pane_changes(store, {("Pod", "MODIFIED", ns, name), ("Service", "DELETED", ns, "gone")}, before,
                           services=selecting)
    assert {r.key for r in changes["services"].upserts} == selecting
    assert changes["services"].removed == [(ns, "gone")]
