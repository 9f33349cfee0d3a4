"""Gateway API routing rules, one at a time: hostname intersection, allowedRoutes, ReferenceGrants,
listener choice, rule precedence, weights, and an Ingress and an HTTPRoute serving one host."""

from __future__ import annotations

import pytest

from ktrace.checks import run_checks
from ktrace.gateway import (
    Refusal,
    Request,
    attach,
    best_rule,
    grants_backend,
    hostname_matches,
    intersect,
    route_admission,
)
from ktrace.model import XRoute, record_from_dict
from ktrace.render import trace_text
from ktrace.requestpath import FRONT, Hop, RequestPath
from ktrace.routing import rule_targets, rules_to_service
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.trace import trace

GROUP = "gateway.networking.k8s.io"


def behind(path: RequestPath) -> list[Hop]:
    """The path's hops behind its front door (the data plane, level FRONT, first): the rules tested here."""
    return [h for h in path.hops if h.level != FRONT]


def gateway(name: str = "gw", ns: str = "infra", listeners: list[dict] | None = None, cls: str = "eg") -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"gatewayClassName": cls, "listeners": listeners or [
                {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}]}}


def httproute(name: str, ns: str = "app", hostnames: list[str] | None = None, rules: list[dict] | None = None,
              parents: list[dict] | None = None, created: str = "2026-01-01T00:00:00Z") -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": {"parentRefs": parents or [{"name": "gw", "namespace": "infra"}],
                     "hostnames": hostnames if hostnames is not None else ["a.example.com"],
                     "rules": rules if rules is not None else [{"backendRefs": [{"name": "web", "port": 80}]}]}}


def service(name: str, ns: str = "app", port: int = 80) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": 8080}]}}


def pod(name: str, app: str, ns: str = "app", ready: bool = True) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def slice_for(svc: str, pods: list[tuple[str, bool]], ns: str = "app") -> dict:
    return {"kind": "EndpointSlice", "metadata": {"name": f"{svc}-1", "namespace": ns,
                                                  "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": "", "port": 8080}],
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": r}, "targetRef": {"kind": "Pod",
                                                                                                 "name": p}}
                          for p, r in pods]}


def backed(name: str, ready: bool = True, ns: str = "app") -> list[dict]:
    return [service(name, ns), pod(f"{name}-1", name, ns, ready), slice_for(name, [(f"{name}-1", ready)], ns)]


def as_route(obj: dict) -> XRoute:
    r = record_from_dict(obj)
    assert isinstance(r, XRoute)
    return r


@pytest.mark.parametrize(("pattern", "host", "want"), [
    ("", "a.example.com", True),
    ("a.example.com", "a.example.com", True),
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", True),  # Gateway API wildcards take any number of labels
    ("*.example.com", "example.com", False),
    ("*.example.com", "a.example.org", False),
    ("b.example.com", "a.example.com", False),
])
def test_hostname_matches(pattern: str, host: str, want: bool) -> None:
    assert hostname_matches(pattern, host) is want


@pytest.mark.parametrize(("listener", "route", "want"), [
    ("", "a.example.com", "a.example.com"),
    ("a.example.com", "", "a.example.com"),
    ("a.example.com", "a.example.com", "a.example.com"),
    ("*.example.com", "a.example.com", "a.example.com"),
    ("a.example.com", "*.example.com", "a.example.com"),
    ("*.example.com", "*.b.example.com", "*.b.example.com"),
    ("*.b.example.com", "*.example.com", "*.b.example.com"),
    ("*.example.com", "example.com", None),
    ("a.example.com", "b.example.com", None),
])
def test_hostname_intersection(listener: str, route: str, want: str | None) -> None:
    assert intersect(listener, route) == want


def test_allowed_routes_namespaces_and_kinds() -> None:
    listeners = [
        {"name": "same", "protocol": "HTTP", "port": 80},
        {"name": "all", "protocol": "HTTP", "port": 81, "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "sel", "protocol": "HTTP", "port": 82, "allowedRoutes": {"namespaces": {
            "from": "Selector", "selector": {"matchLabels": {"shared-gateway": "yes"}}}}},
        {"name": "grpc", "protocol": "HTTPS", "port": 83, "allowedRoutes": {
            "namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}},
        {"name": "tls", "protocol": "TLS", "port": 84, "allowedRoutes": {"namespaces": {"from": "All"}}},
    ]
    store = ClusterStore([
        gateway(listeners=listeners),
        {"kind": "Namespace", "metadata": {"name": "app", "labels": {"shared-gateway": "yes"}}},
        {"kind": "Namespace", "metadata": {"name": "other"}},
    ])
    gw = store.get("Gateway", "infra", "gw")
    by_name = {x.name: x for x in gw.listeners}  # type: ignore[union-attr]
    app, other, own = as_route(httproute("r")), as_route(httproute("r", "other")), as_route(httproute("r", "infra"))
    verdict = {(n, r.meta.namespace): route_admission(store, gw, by_name[n], r) == ""  # type: ignore[arg-type]
               for n in by_name for r in (app, other, own)}
    assert verdict == {
        ("same", "app"): False, ("same", "other"): False, ("same", "infra"): True,
        ("all", "app"): True, ("all", "other"): True, ("all", "infra"): True,
        ("sel", "app"): True, ("sel", "other"): False, ("sel", "infra"): True,
        ("grpc", "app"): False, ("grpc", "other"): False, ("grpc", "infra"): False,
        ("tls", "app"): False, ("tls", "other"): False, ("tls", "infra"): False,
    }
    assert "only from its own namespace infra" in route_admission(store, gw, by_name["same"], app)  # type: ignore[arg-type]
    assert "allows only GRPCRoute" in route_admission(store, gw, by_name["grpc"], app)  # type: ignore[arg-type]


def test_selector_without_the_namespace_object_is_not_a_finding() -> None:
    listeners = [{"name": "sel", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {
        "from": "Selector", "selector": {"matchLabels": {"shared-gateway": "yes"}}}}}]
    store = ClusterStore([gateway(listeners=listeners), httproute("r"), *backed("web")])
    assert [f.code for f in run_checks(store, live=False)] == []


def test_attachment_by_section_and_port() -> None:
    listeners = [{"name": "a", "protocol": "HTTP", "port": 80, "hostname": "a.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "b", "protocol": "HTTP", "port": 8080, "hostname": "*.example.com",
                  "allowedRoutes": {"namespaces": {"from": "All"}}}]
    store = ClusterStore([gateway(listeners=listeners)])
    r = as_route(httproute("r", hostnames=["x.example.com", "a.example.com"]))
    a = attach(store, r, r.parents[0], live=False)
    assert a is not None and [(x.name, names) for x, names in a.listeners] == [
        ("a", ("a.example.com",)), ("b", ("x.example.com", "a.example.com"))]
    by_port = as_route(httproute("r", parents=[{"name": "gw", "namespace": "infra", "port": 8080}]))
    assert [x.name for x, _ in attach(store, by_port, by_port.parents[0], live=False).listeners] == ["b"]  # type: ignore[union-attr]
    missing = as_route(httproute("r", parents=[{"name": "gw", "namespace": "infra", "sectionName": "c"}]))
    got = attach(store, missing, missing.parents[0], live=False)
    assert got is not None and got.problem == Refusal.PARENT_MISSING and "no listener named 'c'" in got.why
    mesh = as_route(httproute("r", parents=[{"group": "", "kind": "Service", "name": "web"}]))
    assert attach(store, mesh, mesh.parents[0], live=False) is None  # GAMMA (mesh) parents are not followed


def test_reference_grants() -> None:
    grant = {"apiVersion": f"{GROUP}/v1beta1", "kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "db"},
             "spec": {"from": [{"group": GROUP, "kind": "HTTPRoute", "namespace": "app"}],
                      "to": [{"group": "", "kind": "Service", "name": "pg"}]}}
    wrong_kind = {**grant, "metadata": {"name": "h", "namespace": "cache"},
                  "spec": {"from": [{"group": GROUP, "kind": "GRPCRoute", "namespace": "app"}],
                           "to": [{"group": "", "kind": "Service"}]}}
    store = ClusterStore([grant, wrong_kind])

    def ok(ns: str, name: str, route_ns: str = "app") -> bool:
        r = as_route(httproute("r", route_ns, rules=[{"backendRefs": [{"name": name, "namespace": ns, "port": 1}]}]))
        return grants_backend(store, r, r.rules[0].backends[0])

    assert ok("app", "anything")  # same namespace: no grant needed
    assert ok("db", "pg")
    assert not ok("db", "other")  # the grant names one Service
    assert not ok("db", "pg", route_ns="elsewhere")  # from another namespace
    assert not ok("cache", "redis")  # granted to GRPCRoutes only


def _choose(routes: list[dict], path: str, **request: dict) -> tuple[str, int]:
    pairs = [(as_route(r), "a.example.com") for r in routes]
    choice, _ = best_rule(pairs, Request(path, **request))  # type: ignore[arg-type]
    assert choice is not None
    return choice.route.meta.name, choice.index + 1


def _rule(path_type: str = "PathPrefix", value: str = "/", **extra: object) -> dict:
    return {"matches": [{"path": {"type": path_type, "value": value}, **extra}],
            "backendRefs": [{"name": "web", "port": 80}]}


def test_precedence_path() -> None:
    r = httproute("r", rules=[_rule(value="/"), _rule(value="/api"), _rule("Exact", "/api/v1"),
                              _rule(value="/api/v1")])
    assert _choose([r], "/api/v1") == ("r", 3)  # Exact over PathPrefix
    assert _choose([r], "/api/v1/users") == ("r", 4)  # longest prefix
    assert _choose([r], "/apix") == ("r", 1)  # prefixes match whole path elements
    assert _choose([r], "/api/") == ("r", 2)


def test_precedence_method_headers_query() -> None:
    r = httproute("r", rules=[
        _rule(value="/"),
        _rule(value="/", method="GET"),
        _rule(value="/", headers=[{"name": "x-env", "value": "canary"}]),
        _rule(value="/", headers=[{"name": "x-env", "value": "canary"}, {"name": "x-team", "value": "a"}]),
        _rule(value="/", queryParams=[{"name": "debug", "value": "1"}]),
    ])
    assert _choose([r], "/x", method="POST") == ("r", 1)
    assert _choose([r], "/x") == ("r", 2)  # a method match beats none
    assert _choose([r], "/x", method="POST", headers={"x-env": "canary"}) == ("r", 3)
    assert _choose([r], "/x", method="POST", headers={"x-env": "canary", "x-team": "a"}) == ("r", 4)
    assert _choose([r], "/x", method="POST", query={"debug": "1"}) == ("r", 5)


def test_precedence_between_routes_oldest_then_name_then_first_rule() -> None:
    young = httproute("a-young", created="2026-02-01T00:00:00Z", rules=[_rule(value="/shop")])
    old = httproute("z-old", created="2025-01-01T00:00:00Z", rules=[_rule(value="/shop")])
    twin = httproute("b-twin", created="2025-01-01T00:00:00Z", rules=[_rule(value="/shop"), _rule(value="/shop")])
    assert _choose([young, old], "/shop/1") == ("z-old", 1)
    assert _choose([young, old, twin], "/shop/1") == ("b-twin", 1)
    longer = httproute("longer", created="2026-03-01T00:00:00Z", rules=[_rule(value="/shop/1")])
    assert _choose([old, longer], "/shop/1") == ("longer", 1)  # specificity before age


def test_exact_hostname_beats_wildcard() -> None:
    wild, exact = as_route(httproute("wild", hostnames=["*.example.com"])), as_route(httproute("exact"))
    choice, _ = best_rule([(wild, "*.example.com"), (exact, "a.example.com")], Request("/"))
    assert choice is not None and choice.route.meta.name == "exact"


def test_conditional_and_regex_matches_are_reported_not_taken() -> None:
    r = as_route(httproute("r", rules=[
        _rule(value="/"),
        _rule(value="/", headers=[{"name": "x-canary", "value": "true"}]),
        _rule("RegularExpression", "^/v[0-9]+/"),
        _rule(value="/other", headers=[{"name": "x-canary", "value": "true"}]),
    ]))
    choice, notes = best_rule([(r, "a.example.com")], Request("/v2/x"))
    assert choice is not None and choice.index == 0
    assert notes == ["app/r rule 2: PathPrefix / header x-canary=true takes requests with those conditions",
                     "app/r rule 3: RegularExpression ^/v[0-9]+/ not evaluated (regular expression)"]


def _split_store(*extra: dict, weights: tuple[int, int] = (90, 10), canary_ready: bool = True) -> ClusterStore:
    rules = [{"backendRefs": [{"name": "web", "port": 80, "weight": weights[0]},
                              {"name": "canary", "port": 80, "weight": weights[1]}]}]
    return ClusterStore([gateway(), httproute("r", rules=rules), *backed("web"), *backed("canary", canary_ready),
                         *extra])


def test_weighted_backends_show_their_share() -> None:
    path = trace(_split_store(), "a.example.com/", live=False)
    assert path.status == "ok"
    assert [(h.kind, h.level) for h in path.hops[:3]] == [("GatewayDataPlane", FRONT), ("Gateway", 0),
                                                          ("HTTPRoute", 0)]
    services = [(h.name, h.split.weight, h.split.share) for h in path.hops if h.kind == "Service"]
    assert services == [("web", 90, 0.9), ("canary", 10, 0.1)]
    gw, rt = (h.to_dict() for h in behind(path)[:2])
    assert gw["listener"] == "http" and rt["rule"] == 1
    assert [b["share"] for b in rt["backends"]] == [0.9, 0.1]
    text = trace_text(path)
    assert "weight 90 (90%)" in text and "weight 10 (10%)" in text
    # The route is drawn under the Gateway that took it, the Services under the route.
    lines = text.splitlines()
    indent = {k: next(len(line) - len(line.lstrip("│├└─ ")) for line in lines if f"  {k} " in line)
              for k in ("Gateway", "HTTPRoute", "Service")}
    assert indent["Gateway"] < indent["HTTPRoute"] < indent["Service"]


def test_a_broken_share_degrades_a_broken_whole_breaks() -> None:
    assert trace(_split_store(canary_ready=False), "a.example.com/", live=False).status == "degraded"
    assert trace(_split_store(weights=(0, 10), canary_ready=False), "a.example.com/", live=False).status == "broken"
    # weight 0: no requests go there, so its failure does not matter to the path
    assert trace(_split_store(weights=(10, 0), canary_ready=False), "a.example.com/", live=False).status == "ok"
    assert trace(_split_store(weights=(0, 0)), "a.example.com/", live=False).status == "broken"


def test_most_specific_listener_takes_the_host_and_scheme_picks_the_protocol() -> None:
    listeners = [
        {"name": "wild", "protocol": "HTTP", "port": 80, "hostname": "*.example.com",
         "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "exact", "protocol": "HTTP", "port": 80, "hostname": "a.example.com",
         "allowedRoutes": {"namespaces": {"from": "All"}}},
        {"name": "tls", "protocol": "HTTPS", "port": 443, "hostname": "a.example.com",
         "tls": {"certificateRefs": [{"name": "a-cert"}]}, "allowedRoutes": {"namespaces": {"from": "All"}}},
    ]
    routes = [httproute("on-wild", parents=[{"name": "gw", "namespace": "infra", "sectionName": "wild"}],
                        rules=[{"backendRefs": [{"name": "web", "port": 80}]}]),
              httproute("on-exact", parents=[{"name": "gw", "namespace": "infra", "sectionName": "exact"}],
                        rules=[{"backendRefs": [{"name": "web", "port": 80}]}]),
              httproute("on-tls", parents=[{"name": "gw", "namespace": "infra", "sectionName": "tls"}],
                        rules=[{"backendRefs": [{"name": "web", "port": 80}]}])]
    store = ClusterStore([gateway(listeners=listeners), *routes, *backed("web")])
    http = trace(store, "http://a.example.com/", live=False)
    assert (behind(http)[0].detail.listener.name, behind(http)[1].name) == ("exact", "on-exact")
    https = trace(store, "https://a.example.com/", live=False)
    assert (behind(https)[0].detail.listener.name, behind(https)[1].name) == ("tls", "on-tls")
    assert behind(https)[0].detail.listener.tls_secrets == ["a-cert"]
    plain = trace(store, "a.example.com/", live=False)  # no scheme: HTTPS first, the other noted
    assert behind(plain)[0].detail.listener.name == "tls"
    assert any("listener exact (HTTP port 80)" in r for r in behind(plain)[0].reasons)


def test_ingress_and_gateway_for_one_host_are_both_traced() -> None:
    ingress = {"kind": "Ingress", "metadata": {"name": "old", "namespace": "app"}, "spec": {"rules": [
        {"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "legacy", "port": {"number": 80}}}}]}}]}}
    store = ClusterStore([ingress, *backed("legacy", ready=False), gateway(), httproute("r"), *backed("web")])
    store.unreadable.add("IngressClass")
    path = trace(store, "a.example.com/", live=False)
    assert [h.kind for h in path.hops if h.level == 0] == ["Ingress", "Gateway", "HTTPRoute"]
    assert path.status == "broken"  # the Ingress path is broken: clients whose DNS points there fail
    assert {h.name for h in path.hops if h.kind == "Service"} == {"legacy", "web"}
    ok = ClusterStore([ingress, *backed("legacy"), gateway(), httproute("r"), *backed("web")])
    ok.unreadable.add("IngressClass")
    assert trace(ok, "a.example.com/", live=False).status == "ok"


def test_no_rule_for_the_path_lists_the_route_paths() -> None:
    store = ClusterStore([gateway(), httproute("r", rules=[_rule("Exact", "/only")]), *backed("web")])
    path = trace(store, "a.example.com/other", live=False)
    assert path.status == "broken" and [f.code for f in path.findings] == ["host-no-route"]
    assert path.findings[0].details["paths"] == ["a.example.com/only (Exact)"]
    assert "HTTPRoute" in path.findings[0].message


def test_route_paths_are_listed_and_reach_their_services() -> None:
    hostless = httproute("hostless", hostnames=[], rules=[_rule(value="/h"), _rule("RegularExpression", "x")])
    store = _split_store(hostless)
    assert rule_targets(store) == [Target("", "/h"), Target("a.example.com", "/")]
    assert rules_to_service(store, "app", "canary") == [Target("a.example.com", "/")]
    zero = _split_store(weights=(10, 0))
    assert rules_to_service(zero, "app", "canary") == []  # weight 0: no traffic reaches it


def test_malformed_gateway_objects_never_crash() -> None:
    junk = [
        {"kind": "Gateway", "metadata": {"name": "g", "namespace": "x"},
         "spec": {"listeners": [None, 3, {"port": "80"}]}},
        {"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "x"},
         "spec": {"parentRefs": "gw", "hostnames": [1, None, "A.Example.com"], "rules": [
             {"matches": [{"path": "/"}], "backendRefs": [{"weight": "9"}, None]}, "x"]},
         "status": {"parents": [{"conditions": [None, {"type": "Accepted"}]}]}},
        {"kind": "ReferenceGrant", "metadata": {"name": "g", "namespace": "x"}, "spec": {"from": {}, "to": [7]}},
        {"kind": "GatewayClass", "metadata": {"name": "c"}, "spec": []},
    ]
    store = ClusterStore(junk)
    route = store.get("HTTPRoute", "x", "r")
    assert isinstance(route, XRoute) and route.hostnames == ("a.example.com",)
    run_checks(store, live=True)
    for t in rule_targets(store):
        trace(store, f"{t.host or 'x.example.com'}{t.path}", live=True)


def test_a_parent_that_refuses_the_route_is_named_on_the_path_that_works() -> None:
    two = httproute("r", parents=[{"name": "gw", "namespace": "infra"}, {"name": "gone", "namespace": "infra"}])
    store = ClusterStore([gateway(), two, *backed("web")])
    path = trace(store, "a.example.com/", live=False)
    assert path.status == "ok" and [f.code for f in path.findings] == ["route-parent-missing"]
    route_hop = next(h for h in path.hops if h.kind == "HTTPRoute")
    assert "app/r names this host but Gateway infra/gone does not take it: Gateway infra/gone does not exist" \
        in route_hop.reasons


def test_cli_trace_json_and_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from pathlib import Path

    from ktrace.cli import main

    scenarios = Path(__file__).parent.parent / "scenarios"
    assert main(["trace", "store.gw.example.com/", "-o", "json", "-f", str(scenarios / "gateway-healthy.yaml")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(h["kind"], h["level"]) for h in doc["hops"][:5]] == [
        ("GatewayDataPlane", -1), ("Gateway", 0), ("HTTPRoute", 0), ("Service", 1), ("EndpointSlice", 2)]
    route, svc = (next(h for h in doc["hops"] if h["kind"] == kind) for kind in ("HTTPRoute", "Service"))
    assert route["match"] == "PathPrefix /" and svc["share"] == 0.9
    assert main(["check", "-o", "json", "-f", str(scenarios / "gateway-problems.yaml")]) == 1
    codes = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert {"route-not-allowed", "route-backend-not-permitted", "gateway-class-missing"} <= codes
    assert main(["trace", "store.apps.example.com/split", "-f", str(scenarios / "gateway-problems.yaml")]) == 1
    out = capsys.readouterr().out
    assert "! degraded  store.apps.example.com/split" in out and "weight 1 (25%)" in out


def test_an_unrouted_host_names_the_listeners_that_take_it() -> None:
    listeners = [{"name": "web", "protocol": "HTTP", "port": 80, "hostname": "*.example.com"},
                 {"name": "raw", "protocol": "TCP", "port": 5432}]
    store = ClusterStore([gateway(listeners=listeners), httproute("r", ns="infra"), *backed("web", ns="infra")])
    hint = trace(store, "b.example.com/", live=False).findings[0].hint
    assert hint.endswith("Gateway listener(s) infra/gw/web (*.example.com) take this host, but no HTTPRoute there "
                         "names it")
    assert "listener" not in trace(store, "b.example.org/", live=False).findings[0].hint


def test_redirect_rules_and_externalname_backends() -> None:
    redirect = {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
                "filters": [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplaceFullPath",
                                                                                      "replaceFullPath": "/new"}}}]}
    external = {"matches": [{"path": {"type": "PathPrefix", "value": "/docs"}}],
                "backendRefs": [{"name": "docs", "port": 443}]}
    empty = {"matches": [{"path": {"type": "PathPrefix", "value": "/empty"}}]}
    docs = {"kind": "Service", "metadata": {"name": "docs", "namespace": "app"},
            "spec": {"type": "ExternalName", "externalName": "docs.vendor.example"}}
    store = ClusterStore([gateway(), httproute("r", rules=[redirect, external, empty]), docs])
    assert [f.code for f in run_checks(store, live=False)] == ["service-externalname"]
    old = trace(store, "a.example.com/old/page", live=False)
    assert old.status == "ok" and [h.kind for h in behind(old)] == ["Gateway", "HTTPRoute"]
    assert behind(old)[1].to_dict()["filters"] == ["RequestRedirect"]
    assert behind(old)[1].to_dict()["redirect"] == {"statusCode": 302, "location": "http://a.example.com/new"}
    ext = trace(store, "a.example.com/docs", live=False)
    assert ext.status == "ok" and ext.hops[-1].detail.external_name == "docs.vendor.example"
    none = trace(store, "a.example.com/empty", live=False)
    assert none.status == "broken" and "rule has no backendRefs: the Gateway answers 500" in behind(none)[1].reasons


def test_references_out_of_the_source_scope_are_not_judged() -> None:
    """A shared Gateway and the ReferenceGrants live in namespaces of their own: a live source read in
    one namespace (`check` reads the context's by default), or files holding nothing of those
    namespaces, cannot tell whether they exist."""
    cross = httproute("r", rules=[{"backendRefs": [{"name": "pg", "namespace": "db", "port": 5432}]}])
    store = ClusterStore([cross, *backed("web")])
    assert run_checks(store, live=False) == []  # offline: the files hold nothing of infra or db
    store.scope = "app"
    assert run_checks(store, live=True) == []
    store.scope = None  # the whole cluster was read: they do not exist
    assert sorted(f.code for f in run_checks(store, live=True)) == ["route-backend-not-permitted",
                                                                     "route-parent-missing"]
    with_ns = ClusterStore([cross, *backed("web"), {"kind": "Namespace", "metadata": {"name": "infra"}},
                            {"kind": "Namespace", "metadata": {"name": "db"}}])
    assert sorted(f.code for f in run_checks(with_ns, live=False)) == ["route-backend-not-permitted",
                                                                       "route-parent-missing"]


def test_listener_certificates_across_namespaces_need_a_grant() -> None:
    listeners = [{"name": "tls", "protocol": "HTTPS", "port": 443, "hostname": "a.example.com",
                  "tls": {"certificateRefs": [{"name": "wild", "namespace": "certs"}]},
                  "allowedRoutes": {"namespaces": {"from": "All"}}}]
    secret = {"kind": "Secret", "metadata": {"name": "wild", "namespace": "certs"}, "type": "kubernetes.io/tls"}
    grant = {"kind": "ReferenceGrant", "metadata": {"name": "gw-certs", "namespace": "certs"},
             "spec": {"from": [{"group": GROUP, "kind": "Gateway", "namespace": "infra"}],
                      "to": [{"group": "", "kind": "Secret"}]}}
    base = [gateway(listeners=listeners), httproute("r"), *backed("web"), secret]
    assert [f.code for f in run_checks(ClusterStore([*base, grant]), live=False)] == []
    refused = trace(ClusterStore(base), "https://a.example.com/", live=False)
    assert refused.status == "broken" and [f.code for f in refused.findings] == ["gateway-tls-secret-not-permitted"]
    assert [h.kind for h in refused.hops][-1] == "Pod"  # the rest of the path is still shown
