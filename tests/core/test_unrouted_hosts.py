"""A host and path nothing serves: a broken path whose `host-no-route` names what comes closest: rules that
need conditions a plain GET lacks, wildcards that miss by each API's own rule, and the closest hosts."""

from __future__ import annotations

import pytest

from ktrace.checks.host import closest_hosts
from ktrace.gateway import hostname_matches
from ktrace.routing import host_matches
from ktrace.store import ClusterStore
from ktrace.trace import trace
from tests.core.test_gateway_routing import backed, gateway, httproute


def ingress(host: str, ns: str = "app") -> dict:
    return {"kind": "Ingress", "metadata": {"name": "wild", "namespace": ns},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "web", "port": {"number": 80}}}}]}}]}}


@pytest.mark.parametrize(("host", "served"), [("bar.foo.com", True), ("baz.bar.foo.com", False), ("foo.com", False)])
def test_an_ingress_wildcard_matches_exactly_one_label(host: str, served: bool) -> None:
    """Ingress rule `host` (networking/v1 IngressRule): "The wildcard character '*' must appear by itself as
    the first DNS label and matches only a single label ... If host is a wildcard, then the request matches
    this rule if the http host header is to equal to the suffix (removing the first label) of the wildcard
    rule." A host it misses is a broken path whose hint names the wildcard and why."""
    assert host_matches("*.foo.com", host) is served
    path = trace(ClusterStore([ingress("*.foo.com"), *backed("web")]), host, live=False)
    assert path.status == ("ok" if served else "broken")
    if not served:
        [f] = path.findings
        assert (f.code, [h.kind for h in path.hops]) == ("host-no-route", [])
        assert f.details["wildcards"] == [
            "*.foo.com takes hosts under foo.com, not foo.com itself" if host == "foo.com" else
            "Ingress host *.foo.com matches exactly one label in front of foo.com, not baz.bar.foo.com"]


@pytest.mark.parametrize(("host", "served"), [("test.example.com", True), ("foo.test.example.com", True),
                                              ("example.com", False)])
def test_an_httproute_wildcard_is_a_suffix_match(host: str, served: bool) -> None:
    """HTTPRoute `spec.hostnames` (gateway.networking.k8s.io/v1): "Hostnames that are prefixed with a
    wildcard label (`*.`) are interpreted as a suffix match. That means that a match for `*.example.com`
    would match both `test.example.com`, and `foo.test.example.com`, but not `example.com`." Unlike an
    Ingress wildcard, any number of labels."""
    assert hostname_matches("*.example.com", host) is served
    store = ClusterStore([gateway(), httproute("r", hostnames=["*.example.com"]), *backed("web")])
    path = trace(store, host, live=False)
    assert path.status == ("ok" if served else "broken")
    if not served:
        [f] = path.findings
        assert f.code == "host-no-route"
        assert f.details["wildcards"] == ["*.example.com takes hosts under example.com, not example.com itself"]


CANARY = {"matches": [{"path": {"type": "PathPrefix", "value": "/"},
                       "headers": [{"name": "x-env", "value": "canary"}]}],
          "backendRefs": [{"name": "web", "port": 80}]}
V2 = {"matches": [{"path": {"type": "PathPrefix", "value": "/"}, "queryParams": [{"name": "v", "value": "2"}]}],
      "backendRefs": [{"name": "web", "port": 80}]}
POST = {"matches": [{"path": {"type": "PathPrefix", "value": "/orders"}, "method": "POST"}],
        "backendRefs": [{"name": "web", "port": 80}]}
OPEN = {"matches": [{"path": {"type": "Exact", "value": "/health"}}], "backendRefs": [{"name": "web", "port": 80}]}


ON_ROOT = ["app/r rule 1: PathPrefix / header x-env=canary", "app/r rule 2: PathPrefix / query v=2"]


@pytest.mark.parametrize(("target", "named"), [
    ("a.example.com/", ON_ROOT),
    ("a.example.com/orders/7", [*ON_ROOT, "app/r rule 3: PathPrefix /orders method POST"]),
])
def test_rules_that_need_conditions_are_named_when_none_takes_a_plain_get(target: str, named: list[str]) -> None:
    """HTTPRouteMatch: "Multiple match types are ANDed together, i.e. the match will evaluate to true only if
    all conditions are satisfied" (`headers`, `queryParams`, `method`: "this route will be matched only if
    the request has the specified method"); HTTPRouteRule `matches`: "When no rules matching a request have
    been successfully attached to the parent a request is coming from, a HTTP 404 status code MUST be
    returned." A traced URL is a plain GET, so it gets 404: the finding names each rule and its conditions,
    and lists as the host's other paths only those that do not cover this path."""
    store = ClusterStore([gateway(), httproute("r", rules=[CANARY, V2, POST, OPEN]), *backed("web")])
    path = trace(store, target, live=False)
    [f] = path.findings
    assert (path.status, f.code, path.hops) == ("broken", "host-no-route", [])
    assert f.message.endswith(f"serves {target} as a plain GET")
    assert f.details["conditional_rules"] == [f"{n} takes requests with those conditions" for n in named]
    assert f.hint.startswith(f"a plain GET without headers gets 404 here: {named[0]} ")
    assert f.details["paths"] == ["a.example.com/health (Exact)"] + (["a.example.com/orders (PathPrefix)"]
                                                                     if target == "a.example.com/" else [])
    assert trace(store, "a.example.com/health", live=False).status == "ok"  # an unconditional rule serves


def test_the_closest_hosts_are_near_by_spelling_or_share_the_longest_parent_domain() -> None:
    hosts = ["api.shop.example.com", "shop.example.com", "web.example.org", "x.other.example.com"]
    assert closest_hosts("shopp.example.com", hosts)[0] == "shop.example.com"
    deep = closest_hosts("a.b.shop.example.com", hosts)  # under shop.example.com, the longest shared parent
    assert {"api.shop.example.com", "shop.example.com"} <= set(deep) and "web.example.org" not in deep
    assert closest_hosts("q.zzz.com", hosts) == []  # nothing alike, and a bare TLD is no shared parent
