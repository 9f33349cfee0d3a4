"""GRPCRoute (Gateway API v1) rules, one at a time: matches, precedence, the HTTPRoute/GRPCRoute conflict,
backendRefs and filters on the path, and the grpc target and its CLI options. Each test quotes the field's doc
comment (apis/v1/grpcroute_types.go)."""

from __future__ import annotations

import json

import pytest

from ktrace.checks import run_checks
from ktrace.cli import main
from ktrace.errors import UsageError
from ktrace.gateway import gateway_route
from ktrace.grpc import Call, call_near, call_rank
from ktrace.model import GRPCMatch, XRoute, record_from_dict
from ktrace.preview import preview
from ktrace.store import ClusterStore
from ktrace.targets import grpc_target, parse_target
from ktrace.trace import trace
from tests.core.test_gateway_routing import GROUP, backed, behind, gateway, httproute

HOST = "api.example.com"
TWO_LISTENERS = [{"name": "a", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}},
                 {"name": "b", "protocol": "HTTP", "port": 8080, "allowedRoutes": {"namespaces": {"from": "All"}}}]


def grpcroute(name: str, rules: list[dict], ns: str = "app", hostnames: list[str] | None = None,
              created: str = "2026-01-01T00:00:00Z", parents: list[dict] | None = None) -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": "GRPCRoute",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": {"parentRefs": parents or [{"name": "gw", "namespace": "infra"}],
                     "hostnames": hostnames if hostnames is not None else [HOST], "rules": rules}}


def rule(to: str, *matches: dict) -> dict:
    return {"matches": list(matches), "backendRefs": [{"name": to, "port": 80}]} if matches else \
        {"backendRefs": [{"name": to, "port": 80}]}


def method(service: str = "", name: str = "", kind: str = "", headers: list[dict] | None = None) -> dict:
    m = {k: v for k, v in (("service", service), ("method", name), ("type", kind)) if v}
    return {"method": m, **({"headers": headers} if headers else {})}


def as_route(obj: dict) -> XRoute:
    r = record_from_dict(obj)
    assert isinstance(r, XRoute)
    return r


def chosen(store: ClusterStore, target: str) -> tuple[str, int] | None:
    g = gateway_route(store, parse_target(target), live=False)
    if g is None or g.choice is None:
        return None
    return g.choice.route.meta.name, g.choice.index + 1


# -- the model ---------------------------------------------------------------------------------------


def test_a_rule_without_matches_takes_every_call() -> None:
    """GRPCRouteRule.matches: "If no matches are specified, the implementation MUST match every gRPC request.\""""
    r = as_route(grpcroute("r", [rule("web")]))
    assert r.rules[0].matches == (GRPCMatch("Exact", "", ""),)
    assert call_rank(r.rules[0].matches[0], Call("any.Svc", "Do")) == (0, 0, 0)


def test_method_match_type_defaults_to_exact_and_keeps_the_first_header_of_a_name() -> None:
    """GRPCMethodMatch.type: "+kubebuilder:default=Exact"; GRPCHeaderMatch.name: "If multiple entries specify
    equivalent header names, only the first entry with an equivalent name MUST be considered for a match.\""""
    r = as_route(grpcroute("r", [rule("web", method("a.B", "C", headers=[
        {"name": "X-Team", "value": "1"}, {"name": "x-team", "value": "2"}]))]))
    m = r.rules[0].matches[0]
    assert isinstance(m, GRPCMatch)
    assert (m.type, m.service, m.method, m.headers) == ("Exact", "a.B", "C", (("Exact", "X-Team", "1"),))


def test_filters_outside_the_grpcroute_enum_are_invalid() -> None:
    """GRPCRouteFilter.type: "+kubebuilder:validation:Enum=ResponseHeaderModifier;RequestHeaderModifier;
    RequestMirror;ExtensionRef": a URLRewrite (an HTTPRoute filter) is rejected on a GRPCRoute."""
    bad = {**rule("web"), "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {
        "type": "ReplacePrefixMatch", "replacePrefixMatch": "/x"}}}]}
    ok = {**rule("web"), "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
        "set": [{"name": "x-a", "value": "1"}]}}]}
    bad_store = ClusterStore([gateway(), grpcroute("r", [bad]), *backed("web")])
    found = [f for f in run_checks(bad_store, live=False) if f.code == "route-filters-invalid"]
    assert [(f.kind, f.name) for f in found] == [("GRPCRoute", "r")]
    assert "URLRewrite is not a GRPCRoute filter" in found[0].message
    path = trace(bad_store, f"grpc://{HOST}/a.B/C", live=False)  # kept by name only: nothing rewritten, no crash
    assert path.status == "broken" and "route-filters-invalid" in {f.code for f in path.findings}
    good = ClusterStore([gateway(), grpcroute("r", [ok]), *backed("web")])
    assert not [f for f in run_checks(good, live=False) if f.code == "route-filters-invalid"]
    assert "RequestHeaderModifier: set x-a: 1" in behind(trace(good, f"grpc://{HOST}/a.B/C", live=False))[1].reasons


# -- matching and precedence -------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "want"), [
    ("a.v1.Cart/Checkout", ("r", 1)),  # service and method: 10 + 8 characters
    ("a.v1.Cart/Add", ("r", 2)),  # service only
    ("a.v1.Cart/Health", ("r", 2)),  # characters in a matching service come before those of a method
    ("b.v1.Stock/Health", ("r", 3)),  # method only
    ("b.v1.Stock/List", ("r", 4)),  # nothing more specific: the rule without matches
])
def test_service_characters_then_method_characters(call: str, want: tuple[str, int]) -> None:
    """GRPCRouteRule.matches: "Precedence MUST be given to the rule with the largest number of: ...
    Characters in a matching service. Characters in a matching method. Header matches.\""""
    store = ClusterStore([gateway(), grpcroute("r", [
        rule("web", method("a.v1.Cart", "Checkout")), rule("web", method("a.v1.Cart")),
        rule("web", method(name="Health")), rule("web")]), *backed("web")])
    assert chosen(store, f"grpc://{HOST}/{call}") == want


def test_exact_is_case_sensitive() -> None:
    """GRPCMethodMatchExact: "Matches the method or service exactly and with case sensitivity.\""""
    m = GRPCMatch("Exact", "a.v1.Cart", "Add")
    assert call_rank(m, Call("a.v1.Cart", "Add")) is not None
    assert call_rank(m, Call("a.v1.cart", "Add")) is None
    assert call_rank(m, Call("a.v1.Cart", "add")) is None


def test_non_wildcard_hostname_characters_come_first() -> None:
    """GRPCRouteRule.matches: "Characters in a matching non-wildcard hostname. Characters in a matching
    hostname." come before the service: an exact hostname's service-less rule beats a wildcard's exact match."""
    store = ClusterStore([gateway(), grpcroute("wild", [rule("web", method("a.v1.Cart", "Add"))],
                                               hostnames=["*.example.com"]),
                          grpcroute("exact", [rule("web")]), *backed("web")])
    assert chosen(store, f"grpc://{HOST}/a.v1.Cart/Add") == ("exact", 1)


def test_ties_go_to_the_oldest_route_then_namespace_name_then_the_first_rule() -> None:
    """GRPCRouteRule.matches: "If ties still exist across multiple Routes, ... The oldest Route based on creation
    timestamp. The Route appearing first in alphabetical order by "{namespace}/{name}". If ties still exist within
    the Route ..., matching precedence MUST be granted to the first matching rule\""""
    same = [rule("web", method("a.B")), rule("web", method("a.B"))]
    older = ClusterStore([gateway(), grpcroute("b", same, created="2026-01-01T00:00:00Z"),
                          grpcroute("a", same, created="2026-02-01T00:00:00Z"), *backed("web")])
    assert chosen(older, f"grpc://{HOST}/a.B/C") == ("b", 1)
    by_name = ClusterStore([gateway(), grpcroute("b", same), grpcroute("a", same), *backed("web")])
    assert chosen(by_name, f"grpc://{HOST}/a.B/C") == ("a", 1)


def test_header_matches_count_and_a_call_without_headers_names_them() -> None:
    """GRPCRouteMatch.headers: "a request MUST match all the specified headers to select the route"; "Header
    matches" is the last precedence criterion. A traced call carries no headers: the rule is named, not taken."""
    store = ClusterStore([gateway(), grpcroute("r", [
        rule("web", method("a.B")), rule("canary", method("a.B", headers=[{"name": "x-canary", "value": "1"}]))]),
        *backed("web"), *backed("canary")])
    g = gateway_route(store, parse_target(f"grpc://{HOST}/a.B/C"), live=False)
    assert g is not None and g.choice is not None and g.choice.index == 0
    assert g.notes == ["app/r rule 2: service a.B header x-canary=1 takes calls with those headers"]
    m = GRPCMatch("Exact", "a.B", "", (("Exact", "x-canary", "1"),))
    assert call_rank(m, Call("a.B", "C", {"x-canary": "1"})) == (3, 0, 1)


def test_regular_expressions_are_named_not_evaluated() -> None:
    """GRPCMethodMatchRegularExpression: "implementations can support POSIX, PCRE, RE2 or any other regular
    expression dialect": ktrace does not evaluate it, it names the rule; alone it leaves the call unserved."""
    regex = GRPCMatch("RegularExpression", r"a\..*", "")
    assert call_rank(regex, Call("a.B", "C")) is None
    assert call_near(regex, Call("a.B", "C"))[1] == "not evaluated (RegularExpression)"  # type: ignore[index]
    store = ClusterStore([gateway(), grpcroute("r", [rule("web", method(r"a\..*", kind="RegularExpression"))]),
                          *backed("web")])
    path = trace(store, f"grpc://{HOST}/a.B/C", live=False)
    assert path.status == "broken" and [f.code for f in path.findings] == ["host-no-route"]
    assert "not evaluated (RegularExpression)" in path.findings[0].hint


def test_a_call_nothing_takes_names_what_the_host_serves() -> None:
    """host-no-route for a gRPC call lists the calls the host's GRPCRoutes take and what serves the host over
    HTTP (an HTTPRoute of the host, which a gRPC call as an HTTP/2 POST to /package.Service/Method reaches)."""
    store = ClusterStore([gateway(listeners=TWO_LISTENERS), grpcroute("r", [rule("web", method("a.B", "C"))], parents=[
        {"name": "gw", "namespace": "infra", "sectionName": "b"}]), httproute("site", hostnames=[
            "www.example.com", HOST], parents=[{"name": "gw", "namespace": "infra", "sectionName": "a"}]),
        *backed("web")])
    path = trace(store, f"grpc://{HOST}/x.Y/Z", live=False)
    assert [f.code for f in path.findings] == ["host-no-route"]
    f = path.findings[0]
    assert f.details["paths"] == [f"{HOST}/a.B/C (Exact)"]
    assert "over HTTP, HTTPRoute app/site serves this host" in f.hint


# -- the HTTPRoute/GRPCRoute conflict ----------------------------------------------------------------


def test_older_route_of_the_other_kind_wins_the_listener() -> None:
    """GRPCRouteSpec.hostnames: "If a Route (A) of type HTTPRoute or GRPCRoute is attached to a Listener and that
    listener already has another Route (B) of the other type attached and the intersection of the hostnames of A
    and B is non-empty, then the implementation MUST accept exactly one of these two routes, determined by ...
    The oldest Route based on creation timestamp.\""""
    objs = [gateway(), httproute("web", hostnames=["*.example.com"], created="2026-01-01T00:00:00Z"),
            grpcroute("api", [rule("web")], created="2026-02-01T00:00:00Z"), *backed("web")]
    store = ClusterStore(objs)
    found = [f for f in run_checks(store, live=False) if f.code == "route-kind-conflict"]
    assert [(f.kind, f.namespace, f.name) for f in found] == [("GRPCRoute", "app", "api")]
    assert "HTTPRoute app/web is older" in found[0].message and found[0].details["hostname"] == HOST
    grpc_path = trace(store, f"grpc://{HOST}/a.B/C", live=False)
    assert grpc_path.status == "broken"
    assert sorted(f.code for f in grpc_path.findings) == ["host-no-route", "route-kind-conflict"]
    http_path = trace(store, f"{HOST}/", live=False)
    assert http_path.status == "ok" and [f.code for f in http_path.findings] == ["route-kind-conflict"]
    assert any("this route wins" in r for r in behind(http_path)[1].reasons)


def test_same_age_goes_to_the_first_namespace_name() -> None:
    """GRPCRouteSpec.hostnames: "The Route appearing first in alphabetical order by "{namespace}/{name}"." The
    rejected route "MUST raise an 'Accepted' condition with a status of 'False'": it serves nothing there."""
    store = ClusterStore([gateway(), httproute("b-web", hostnames=[HOST]), grpcroute("a-api", [rule("web")]),
                          *backed("web")])
    assert [(f.kind, f.name) for f in run_checks(store, live=False) if f.code == "route-kind-conflict"] == \
        [("HTTPRoute", "b-web")]
    assert trace(store, f"grpc://{HOST}/a.B/C", live=False).status == "ok"
    assert trace(store, f"{HOST}/", live=False).status == "broken"


@pytest.mark.parametrize("case", ["other hostnames", "other listener"])
def test_no_conflict_without_a_shared_listener_hostname(case: str) -> None:
    """The conflict needs both routes on one Listener and "the intersection of the hostnames of A and B is
    non-empty"."""
    if case == "other hostnames":
        http = httproute("web", hostnames=["www.example.com"])
        grpc = grpcroute("api", [rule("web")])
    else:
        http = httproute("web", hostnames=[HOST], parents=[{"name": "gw", "namespace": "infra", "sectionName": "a"}])
        grpc = grpcroute("api", [rule("web")], parents=[{"name": "gw", "namespace": "infra", "sectionName": "b"}])
    store = ClusterStore([gateway(listeners=TWO_LISTENERS), http, grpc, *backed("web")])
    assert not [f for f in run_checks(store, live=False) if f.code == "route-kind-conflict"]
    assert trace(store, f"grpc://{HOST}/a.B/C", live=False).status == "ok"


# -- the path ----------------------------------------------------------------------------------------


def test_grpcroute_hop_json_weights_and_reference_grant() -> None:
    """GRPCBackendRef: "when a namespace different than the local namespace is specified, a ReferenceGrant
    object is required in the referent namespace"; the grant's `from` names the GRPCRoute kind, so a grant
    to HTTPRoutes does not allow it. Weights split the calls as for HTTPRoute."""
    split = {"matches": [method("a.B", "C")], "backendRefs": [{"name": "web", "port": 80, "weight": 3},
                                                             {"name": "far", "namespace": "other", "port": 80}]}
    grant = {"apiVersion": f"{GROUP}/v1beta1", "kind": "ReferenceGrant",
             "metadata": {"name": "g", "namespace": "other"},
             "spec": {"from": [{"group": GROUP, "kind": "HTTPRoute", "namespace": "app"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    objs = [gateway(), grpcroute("r", [split]), *backed("web"), *backed("far", ns="other")]
    path = trace(ClusterStore([*objs, grant]), f"grpc://{HOST}/a.B/C", live=False)
    hop = behind(path)[1].to_dict()
    assert {k: hop[k] for k in ("kind", "rule", "service", "method", "matchType", "match")} == {
        "kind": "GRPCRoute", "rule": 1, "service": "a.B", "method": "C", "matchType": "Exact",
        "match": "service a.B method C"}
    assert [(b["name"], b["share"]) for b in hop["backends"]] == [("web", 0.75), ("far", 0.25)]
    assert path.status == "degraded" and [f.code for f in path.findings] == ["route-backend-not-permitted"]
    grpc_grant = json.loads(json.dumps(grant).replace('"HTTPRoute"', '"GRPCRoute"'))
    assert trace(ClusterStore([*objs, grpc_grant]), f"grpc://{HOST}/a.B/C", live=False).status == "ok"


def test_preview_weights_on_a_grpcroute_rule() -> None:
    """The preview works on a GRPCRoute rule: another split of its backendRefs, names as the rule has them."""
    split = {"backendRefs": [{"name": "web", "port": 80, "weight": 1}, {"name": "canary", "port": 80, "weight": 1}]}
    store = ClusterStore([gateway(), grpcroute("r", [split]), *backed("web"), *backed("canary")])
    p = preview(store, f"grpc://{HOST}/a.B/C", None, live=False, weights={"canary": 0})
    assert p.shares_after == ["web weight 1 (100%)", "canary weight 0 (0%)"]
    assert p.stop == ["app/canary-1"]
    swapped = preview(store, f"grpc://{HOST}/a.B/C", "canary", live=False, backend="web")
    assert swapped.replaced[0].entry == "GRPCRoute app/r rule 1" and swapped.stop == ["app/web-1"]


# -- the target --------------------------------------------------------------------------------------


def test_grpc_options_stand_for_a_grpc_target() -> None:
    assert grpc_target(HOST, "a.B", "C") == f"grpc://{HOST}/a.B/C"
    assert grpc_target(f"{HOST}:8080", "a.B", None) == f"grpc://{HOST}:8080/a.B"
    assert grpc_target(f"grpc://{HOST}", "a.B", "C") == f"grpc://{HOST}/a.B/C"
    assert grpc_target(f"{HOST}/x", None, None) == f"{HOST}/x"


@pytest.mark.parametrize(("target", "service", "name"), [
    (HOST, None, "C"),  # a method without its service
    (HOST, "a/B", "C"),
    (HOST, "a.B", ""),
    (f"{HOST}/path", "a.B", "C"),
    (f"https://{HOST}", "a.B", "C"),
])
def test_bad_grpc_option_combinations_are_usage_errors(target: str, service: str | None, name: str | None,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError):
        grpc_target(target, service, name)
    args = ["trace", "--demo", target] + (["--grpc-service", service] if service is not None else []) + \
        (["--grpc-method", name] if name is not None else [])
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("ktrace: ")
