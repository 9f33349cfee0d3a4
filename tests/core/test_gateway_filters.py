"""HTTPRoute filters on a traced request (a rule's and a backendRef's) and backendRefs of kinds ktrace does
not follow, each rule from the Gateway API's own doc comments (apis/v1/httproute_types.go, shared_types.go)."""

from __future__ import annotations

import pytest

from ktrace.checks import run_checks
from ktrace.filters import location, modified_path
from ktrace.model import Listener, PathModifier, RouteFilter, RouteMatch
from ktrace.render import trace_text
from ktrace.store import ClusterStore
from ktrace.trace import trace
from tests.core.test_gateway_routing import backed, behind, gateway, httproute

REDIRECT = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}
CLASS = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "eg"},
         "spec": {"controllerName": "example.com/gateway"}}  # live, a Gateway without its class is broken


def _codes(store: ClusterStore) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in run_checks(store, live=False))


def test_backend_filters_apply_only_to_the_requests_sent_to_that_backend() -> None:
    """HTTPBackendRef.filters: "Filters defined at this level should be executed if and only if the request is
    being forwarded to the backend defined here." A redirect there answers that backendRef's share: the
    Service's pods are not reached, and an answer is not a failure."""
    rule = {"backendRefs": [{"name": "web", "port": 80, "weight": 3},
                            {"name": "old", "port": 80, "weight": 1, "filters": [REDIRECT]}]}
    store = ClusterStore([gateway(), httproute("r", rules=[rule]), *backed("web"), *backed("old")])
    path = trace(store, "a.example.com/shop", live=False)
    assert path.status == "ok" and path.findings == []
    old = next(h for h in path.hops if h.name == "old")
    assert old.to_dict()["redirect"] == {"statusCode": 302, "location": "https://a.example.com/shop"}
    assert old.to_dict()["filters"] == ["RequestRedirect"] and old.split.share == 0.25
    assert [h.name for h in path.hops if h.kind == "Pod"] == ["web-1"]  # old's pods are not on the path
    assert "Service app/old  weight 1 (25%)  → 302 redirect to https://a.example.com/shop" in trace_text(path, 200)
    assert "weight 3 (75%)" in trace_text(path, 200) and "redirect" not in behind(path)[2].to_dict()

    broken = ClusterStore([CLASS, gateway(), httproute("r", rules=[rule]), *backed("web", ready=False), *backed("old")])
    assert trace(broken, "a.example.com/shop", live=True).status == "degraded"  # the redirect's share is answered


def test_a_rule_redirect_reaches_no_backend_and_the_text_says_where_it_sends() -> None:
    """HTTPRouteFilter.RequestRedirect "responds to the request with an HTTP redirection"; HTTPRouteRule:
    "RequestRedirect filter must not be used together with backendRefs" (CEL)."""
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}], "filters": [
        {"type": "RequestRedirect", "requestRedirect": {"statusCode": 301, "path": {
            "type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}}}]}
    store = ClusterStore([gateway(), httproute("r", rules=[rule]), *backed("web")])
    path = trace(store, "a.example.com/old/page", live=False)
    assert path.status == "ok" and [h.kind for h in behind(path)] == ["Gateway", "HTTPRoute"]
    assert "→ 301 redirect to http://a.example.com/new/page" in trace_text(path, 200)
    assert "-> 301 redirect to http://a.example.com/new/page" in trace_text(path, 200, ascii_only=True)

    with_backends = ClusterStore([gateway(), httproute("r", rules=[{**rule, "backendRefs": [
        {"name": "web", "port": 80}]}]), *backed("web")])
    path = trace(with_backends, "a.example.com/old/page", live=False)
    assert path.status == "broken" and [f.code for f in path.findings] == ["route-filters-invalid"]
    assert "RequestRedirect together with backendRefs" in path.findings[0].message
    assert [h.kind for h in behind(path)] == ["Gateway", "HTTPRoute"]  # the redirect answers: no backend


LISTENER = Listener("http", "", 8080, "HTTP", (), "All", None, ())
PREFIX = RouteMatch("PathPrefix", "/foo")


@pytest.mark.parametrize(("f", "want"), [
    (RouteFilter("RequestRedirect"), "http://a.example.com:8080/foo/bar"),  # empty scheme: the listener's port
    (RouteFilter("RequestRedirect", scheme="https"), "https://a.example.com/foo/bar"),  # https -> 443, left out
    (RouteFilter("RequestRedirect", scheme="http"), "http://a.example.com/foo/bar"),
    (RouteFilter("RequestRedirect", scheme="https", port=8443), "https://a.example.com:8443/foo/bar"),
    (RouteFilter("RequestRedirect", hostname="b.example.com", port=80), "http://b.example.com/foo/bar"),
    (RouteFilter("RequestRedirect", path=PathModifier("ReplaceFullPath", "/x")), "http://a.example.com:8080/x"),
])
def test_redirect_location(f: RouteFilter, want: str) -> None:
    """HTTPRequestRedirectFilter: scheme and hostname default to the request's; "If redirect scheme is
    not-empty, the redirect port MUST be the well-known port associated with the redirect scheme ... If
    redirect scheme is empty, the redirect port MUST be the Gateway Listener port"; no port is written for
    http on 80 and https on 443."""
    assert location(f, LISTENER, "a.example.com", "/foo/bar", PREFIX) == want


def test_redirect_status_code_defaults_to_302() -> None:
    """HTTPRequestRedirectFilter.statusCode: `+kubebuilder:default=302`."""
    route = httproute("r", rules=[{"filters": [{"type": "RequestRedirect", "requestRedirect": {}}]}])
    path = trace(ClusterStore([gateway(), route]), "a.example.com/", live=False)
    assert behind(path)[1].to_dict()["redirect"] == {"statusCode": 302, "location": "http://a.example.com/"}


@pytest.mark.parametrize(("path", "prefix", "replace", "want"), [
    ("/foo/bar", "/foo", "/xyz", "/xyz/bar"), ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"), ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
    ("/foo", "/foo", "/xyz", "/xyz"), ("/foo/", "/foo", "/xyz", "/xyz/"), ("/foo/bar", "/foo", "", "/bar"),
    ("/foo/", "/foo", "", "/"), ("/foo", "/foo", "", "/"), ("/foo/", "/foo", "/", "/"), ("/foo", "/foo", "/", "/"),
])
def test_replace_prefix_match(path: str, prefix: str, replace: str, want: str) -> None:
    """HTTPPathModifier.ReplacePrefixMatch: "a request to "/foo/bar" with a prefix match of "/foo" and a
    ReplacePrefixMatch of "/xyz" would be modified to "/xyz/bar"" (every row of the doc comment's table)."""
    assert modified_path(PathModifier("ReplacePrefixMatch", replace), path, RouteMatch("PathPrefix", prefix)) == want


def test_rewrites_and_header_modifiers_are_shown_and_change_nothing_of_where_it_goes() -> None:
    """HTTPURLRewriteFilter "modifies a request during forwarding"; HTTPHeaderFilter modifies headers."""
    rule = {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "filters": [
        {"type": "URLRewrite", "urlRewrite": {"hostname": "in.example.com", "path": {
            "type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}},
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "x-a", "value": "1"}]}},
        {"type": "ExtensionRef", "extensionRef": {"group": "example.com", "kind": "Limit", "name": "l"}}],
        "backendRefs": [{"name": "web", "port": 80}]}
    path = trace(ClusterStore([CLASS, gateway(), httproute("r", rules=[rule]), *backed("web")]), "a.example.com/api/x",
                 live=True)
    assert path.status == "ok" and [h.name for h in path.hops if h.kind == "Pod"] == ["web-1"]
    reasons = behind(path)[1].reasons
    assert "URLRewrite: forwarded with Host in.example.com, path /v2/x" in reasons
    assert "RequestHeaderModifier: add x-a: 1" in reasons
    assert "ExtensionRef Limit.example.com l: the implementation's own filter, not evaluated" in reasons
    assert behind(path)[1].to_dict()["filters"] == ["URLRewrite", "RequestHeaderModifier", "ExtensionRef"]


def test_a_missing_mirror_loses_only_the_copies() -> None:
    """HTTPRequestMirrorFilter.BackendRef: "If the referent cannot be found, this BackendRef is invalid and must
    be dropped from the Gateway" (ResolvedRefs false); "responses from that destination are ignored"."""
    def mirror(name: str) -> dict:
        return {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": name, "port": 80},
                                                           "fraction": {"numerator": 1, "denominator": 4}}}
    rule = {"filters": [mirror("shadow"), mirror("gone")], "backendRefs": [{"name": "web", "port": 80}]}
    store = ClusterStore([CLASS, gateway(), httproute("r", rules=[rule]), *backed("web"), *backed("shadow")])
    path = trace(store, "a.example.com/", live=True)
    assert path.status == "ok" and behind(path)[1].status == "warning"
    assert [(m["name"], m["share"], m["exists"]) for m in behind(path)[1].to_dict()["mirrors"]] == [
        ("shadow", 0.25, True), ("gone", 0.25, False)]
    assert [(f.code, f.severity) for f in path.findings] == [("route-backend-service-missing", "warning")]
    assert _codes(store) == [("route-backend-service-missing", "warning")]


def test_filters_the_api_rejects() -> None:
    """HTTPRouteRule.filters and HTTPBackendRef.filters (CEL): "May specify either httpRouteFilterRequestRedirect
    or httpRouteFilterRequestRewrite, but not both"; "RequestHeaderModifier filter cannot be repeated"; the
    RequestMirror filter "can be used multiple times within the same rule"."""
    header = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["x"]}}
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "web", "port": 80}}}
    both = {"backendRefs": [{"name": "web", "port": 80, "filters": [REDIRECT, {"type": "URLRewrite"}]}]}
    twice = {"filters": [header, header, mirror, mirror], "backendRefs": [{"name": "web", "port": 80}]}
    store = ClusterStore([gateway(), httproute("r", rules=[both, twice]), *backed("web")])
    messages = [f.message for f in run_checks(store, live=False)]
    assert messages == ["rule 1: backendRef web:80: RequestRedirect together with URLRewrite: the API server "
                        "rejects this route",
                        "rule 2: RequestHeaderModifier repeated: the API server rejects this route"]


def _kind_store(ref: dict, served: dict[str, frozenset[str]] | None = None) -> ClusterStore:
    rule = {"backendRefs": [{"name": "web", "port": 80}, {"port": 80, **ref}]}
    store = ClusterStore([gateway(), httproute("r", rules=[rule]), *backed("web")])
    store.served.update(served or {})
    return store


@pytest.mark.parametrize(("ref", "served", "severity", "status"), [
    ({"kind": "ConfigMap", "name": "c"}, None, "error", "degraded"),  # core group: only Service is a backend
    ({"group": "example.com", "kind": "Foo", "name": "f"}, None, "warning", "unknown"),  # offline: not known
    ({"group": "example.com", "kind": "Foo", "name": "f"}, {"example.com": frozenset()}, "error", "degraded"),
    ({"group": "example.com", "kind": "Foo", "name": "f"}, {"example.com": frozenset({"Bar"})}, "error", "degraded"),
    ({"group": "example.com", "kind": "Foo", "name": "f"}, {"example.com": frozenset({"Foo"})}, "warning", "unknown"),
])
def test_a_backend_kind_is_graded_by_what_can_be_known(ref: dict, served: dict | None, severity: str,
                                                       status: str) -> None:
    """BackendObjectReference: Group "When unspecified or empty string, core API group is inferred"; Kind
    "Defaults to "Service" when not specified". HTTPBackendRef: a BackendRef is invalid if "It refers to an
    unknown or unsupported kind of resource. In this case, the Reason must be set to `InvalidKind`"; an
    invalid backend's share gets 500. Which kinds are supported is the implementation's ("Support:
    Implementation-specific for any other resource"): an error only when the kind cannot exist."""
    store = _kind_store(ref, served)
    assert _codes(store) == [("route-backend-kind-unsupported", severity)]
    path = trace(store, "a.example.com/", live=False)
    assert path.status == status  # the other backendRef's half is served
    message = path.findings[0].message
    assert ref["kind"] in message and ("core group" in message if "group" not in ref else "example.com" in message)


def test_service_imports_are_not_judged() -> None:
    """HTTPRouteRule.BackendRefs: "Support: Extended for Kubernetes ServiceImport"."""
    store = _kind_store({"group": "multicluster.x-k8s.io", "kind": "ServiceImport", "name": "s"},
                        {"multicluster.x-k8s.io": frozenset()})
    assert _codes(store) == []
    assert trace(store, "a.example.com/", live=False).hops[-1].reasons[-1] == \
        "backendRef of kind ServiceImport: not followed"
