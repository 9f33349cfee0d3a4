"""TLSRoutes, one rule at a time: the listener's tls.mode, the route a TLS connection takes by its SNI, the
listeners that carry (or refuse) a TLSRoute, the Terminate mode's Extended support, and a TLS host no TLSRoute
takes. Quotes are from the Gateway API spec (apis/v1/gateway_types.go, apis/v1/tlsroute_types.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ktrace.checks import run_checks
from ktrace.gateway import route_admission
from ktrace.model import Gateway
from ktrace.requestpath import TLSRouteDetail
from ktrace.store import ClusterStore
from ktrace.trace import trace
from tests.core.test_gateway_routing import GROUP, as_route, backed, behind, gateway, httproute
from tests.core.test_gateway_status import CLASS

PASSTHROUGH = {"name": "tls", "protocol": "TLS", "port": 443, "tls": {"mode": "Passthrough"},
               "allowedRoutes": {"namespaces": {"from": "All"}}}


def tlsroute(name: str, hostnames: list[str] | None = None, ns: str = "app", backends: list[dict] | None = None,
             parents: list[dict] | None = None, created: str = "2026-01-01T00:00:00Z", status: dict | None = None,
             api: str = "v1alpha2") -> dict:
    obj = {"apiVersion": f"{GROUP}/{api}", "kind": "TLSRoute",
           "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
           "spec": {"parentRefs": parents or [{"name": "gw", "namespace": "infra"}],
                    "hostnames": hostnames if hostnames is not None else ["db.example.com"],
                    "rules": [{"backendRefs": backends or [{"name": "web", "port": 80}]}]}}
    if status is not None:
        obj["status"] = status
    return obj


def listeners_of(store: ClusterStore) -> dict:
    gw = store.get("Gateway", "infra", "gw")
    assert isinstance(gw, Gateway)
    return {x.name: x for x in gw.listeners}


def test_the_listener_tls_mode_defaults_to_terminate() -> None:
    """ListenerTLSConfig.Mode: "Terminate: The TLS session between the downstream client and the Gateway is
    terminated at the Gateway ... Passthrough: The TLS session is NOT terminated by the Gateway"
    (+kubebuilder:default=Terminate). A listener without TLS (HTTP) has no mode."""
    listeners = [{"name": "pt", "protocol": "TLS", "port": 443, "tls": {"mode": "Passthrough"}},
                 {"name": "tls", "protocol": "TLS", "port": 8443, "tls": {"certificateRefs": [{"name": "c"}]}},
                 {"name": "https", "protocol": "HTTPS", "port": 9443},
                 {"name": "http", "protocol": "HTTP", "port": 80}]
    by_name = listeners_of(ClusterStore([gateway(listeners=listeners)]))
    assert {n: x.tls_mode for n, x in by_name.items()} == {"pt": "Passthrough", "tls": "Terminate",
                                                           "https": "Terminate", "http": ""}


def test_a_passthrough_listener_takes_the_connection_by_sni() -> None:
    """TLSRouteSpec: "A TLSRoute MUST be attached to a Listener of protocol TLS. Core: The listener CAN be of
    type Passthrough". Hostnames: "a set of SNI hostnames that should match against the SNI attribute of TLS
    ClientHello message". The path is Gateway -> TLSRoute -> Service -> EndpointSlice -> Pod, with no HTTP
    matching: an HTTPRoute for the same host takes no part."""
    store = ClusterStore([gateway(listeners=[PASSTHROUGH, {"name": "http", "protocol": "HTTP", "port": 80,
                                                           "allowedRoutes": {"namespaces": {"from": "All"}}}]),
                          tlsroute("db"), httproute("site", hostnames=["db.example.com"],
                                                    rules=[{"backendRefs": [{"name": "other", "port": 80}]}]),
                          *backed("web")])
    p = trace(store, "tls://db.example.com", live=False)
    assert p.status == "ok" and p.findings == []
    assert [(h.kind, h.name) for h in behind(p)] == [("Gateway", "gw"), ("TLSRoute", "db"), ("Service", "web"),
                                                  ("EndpointSlice", "web-1"), ("Pod", "web-1")]
    d = behind(p)[1].detail
    assert isinstance(d, TLSRouteDetail)
    assert (d.hostname, d.sni, d.tls_mode, [b.name for b in d.backends]) == ("db.example.com", "db.example.com",
                                                                              "Passthrough", ["web"])
    assert behind(p)[0].detail.listener.tls_secrets == []  # type: ignore[union-attr]  # Passthrough ignores them
    assert behind(p)[1].to_dict()["tlsMode"] == "Passthrough"
    assert trace(store, "tls://db.example.com:443", live=False).status == "ok"
    assert trace(store, "tls://db.example.com:8443", live=False).findings[0].code == "host-no-route"  # no listener
    assert [h.kind for h in behind(trace(store, "db.example.com/", live=False))][:2] == ["Gateway", "HTTPRoute"]


def test_the_most_specific_sni_hostname_wins_then_the_oldest_then_the_name() -> None:
    """Listener.AllowedRoutes: "Matching precedence MUST be determined in order of the following criteria: The
    most specific match as defined by the Route type. The oldest Route based on creation timestamp ... the Route
    appearing first in alphabetical order (namespace/name)". A TLSRoute matches on the SNI hostname only, so an
    exact hostname beats a wildcard one."""
    def chosen(*routes: dict) -> str:
        p = trace(ClusterStore([gateway(listeners=[PASSTHROUGH]), *routes, *backed("web")]), "tls://db.example.com",
                  live=False)
        return f"{behind(p)[1].namespace}/{behind(p)[1].name}"

    old = "2025-01-01T00:00:00Z"
    assert chosen(tlsroute("wild", ["*.example.com"], created=old), tlsroute("exact")) == "app/exact"
    assert chosen(tlsroute("b", created=old), tlsroute("a")) == "app/b"
    assert chosen(tlsroute("b"), tlsroute("a"), tlsroute("a", ns="zz")) == "app/a"


def test_weighted_backends_take_their_share_of_connections() -> None:
    """TLSRouteRule.BackendRefs: "Request rejections must respect weight; if an invalid backend is requested to
    have 80% of requests, then 80% of requests must be rejected instead": a missing Service with weight 3 of 4
    degrades the path, and each backendRef shows its share."""
    store = ClusterStore([gateway(listeners=[PASSTHROUGH]), *backed("web"),
                          tlsroute("db", backends=[{"name": "web", "port": 80, "weight": 1},
                                                   {"name": "gone", "port": 80, "weight": 3}])])
    p = trace(store, "tls://db.example.com", live=False)
    assert p.status == "degraded"
    assert [f.code for f in p.findings] == ["route-backend-service-missing"] and p.findings[0].kind == "TLSRoute"
    assert [(h.name, h.split.share) for h in p.hops if h.kind == "Service"] == [("web", 0.25), ("gone", 0.75)]


def test_an_https_listener_does_not_carry_tlsroutes() -> None:
    """TLSRouteSpec.Hostnames: "A Listener MUST be have protocol set to TLS when a TLSRoute attaches to it. The
    implementation MUST raise an 'Accepted' Condition with a status of `False` in the corresponding
    RouteParentStatus with the reason of "UnsupportedValue" in case a Listener of the wrong type is used." The
    route is not allowed there: a finding, the path broken."""
    https = {"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"certificateRefs": [{"name": "c"}]},
             "allowedRoutes": {"namespaces": {"from": "All"}}}
    store = ClusterStore([gateway(listeners=[https]), tlsroute("db"), *backed("web")])
    p = trace(store, "tls://db.example.com", live=False)
    assert (p.status, [f.code for f in p.findings]) == ("broken", ["route-not-allowed"])
    assert [(h.kind, h.status) for h in behind(p)] == [("Gateway", "ok"), ("TLSRoute", "error")]
    assert "protocol HTTPS) does not take TLSRoutes (they need TLS)" in p.findings[0].message
    assert [f.code for f in run_checks(store, live=False) if f.kind == "TLSRoute"] == ["route-not-allowed"]


def test_a_terminate_listener_is_extended_support_for_tlsroute() -> None:
    """TLSRouteSpec: "Core: Listener with `protocol` `TLS` and `tls.mode` `Passthrough`. Extended: Listener with
    `protocol` `TLS` and `tls.mode` `Terminate`. The feature name for this Extended feature is
    `TLSRouteTermination`." Whether the path works is the implementation's: a warning and a degraded path,
    unless (live) the controller reports the route Accepted on that Gateway."""
    terminate = {"name": "tls", "protocol": "TLS", "port": 443, "tls": {"certificateRefs": [{"name": "c"}]},
                 "allowedRoutes": {"namespaces": {"from": "All"}}}
    secret = {"kind": "Secret", "metadata": {"name": "c", "namespace": "infra"}, "type": "kubernetes.io/tls"}
    accepted = {"parents": [{"parentRef": {"name": "gw", "namespace": "infra"}, "controllerName": "example.com/gw",
                             "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}]}
    store = ClusterStore([gateway(listeners=[terminate]), secret, tlsroute("db"), *backed("web")])
    p = trace(store, "tls://db.example.com", live=False)
    assert (p.status, [f.code for f in p.findings], behind(p)[1].status) == ("degraded", ["route-tls-terminate"],
                                                                          "warning")
    assert [f.code for f in run_checks(store, live=False)] == ["route-tls-terminate"]
    assert behind(p)[0].detail.listener.tls_secrets == ["c"]  # type: ignore[union-attr]  # Terminate uses them
    live = ClusterStore([CLASS, gateway(listeners=[terminate]), secret, tlsroute("db", status=accepted),
                         *backed("web")])
    q = trace(live, "tls://db.example.com", live=True)
    assert (q.status, q.findings) == ("ok", [])
    assert any("accepted by the controller" in r for r in behind(q)[1].reasons)
    assert trace(live, "tls://db.example.com", live=False).status == "degraded"  # offline: the status is not used


def test_a_terminate_tls_listener_needs_its_certificate_passthrough_does_not() -> None:
    """ListenerTLSConfig.CertificateRefs: "This field is required to have at least one element when the mode is
    set to "Terminate" (default) and is optional otherwise"; Mode Passthrough: "The certificateRefs field is
    ignored in this mode"."""
    listeners = [{"name": "term", "protocol": "TLS", "port": 443, "tls": {"certificateRefs": [{"name": "gone"}]}},
                 {"name": "pt", "protocol": "TLS", "port": 8443,
                  "tls": {"mode": "Passthrough", "certificateRefs": [{"name": "gone-too"}]}}]
    other = {"kind": "Secret", "metadata": {"name": "x", "namespace": "a"}}
    store = ClusterStore([gateway(listeners=listeners), other])
    found = run_checks(store, live=False)
    assert [(f.code, f.details["listener"]) for f in found] == [("gateway-tls-secret-missing", "term")]


@pytest.mark.parametrize(("protocol", "kinds", "route", "why"), [
    ("TLS", [], "TLSRoute", ""),
    ("TLS", [], "HTTPRoute", "does not take HTTPRoutes (they need HTTP or HTTPS)"),
    ("HTTP", [], "TLSRoute", "does not take TLSRoutes (they need TLS)"),
    ("TLS", [{"kind": "TLSRoute"}], "TLSRoute", ""),
    ("HTTPS", [{"kind": "HTTPRoute"}], "GRPCRoute", "allows only HTTPRoute routes"),
    # A kind the protocol cannot carry, listed anyway: still refused (the controller sets ResolvedRefs false).
    ("HTTP", [{"kind": "TLSRoute"}], "TLSRoute", "does not take TLSRoutes (they need TLS)"),
    ("TLS", [{"kind": "GRPCRoute"}, {"kind": "TLSRoute"}], "GRPCRoute", "does not take GRPCRoutes"),
])
def test_allowed_route_kinds_and_the_protocol_that_carries_them(protocol: str, kinds: list[dict], route: str,
                                                               why: str) -> None:
    """AllowedRoutes.Kinds: "When unspecified or empty, the kinds of Routes selected are determined using the
    Listener protocol. A RouteGroupKind MUST correspond to kinds of Routes that are compatible with the
    application protocol specified in the Listener's Protocol field. If an implementation does not support or
    recognize this resource type, it MUST set the "ResolvedRefs" condition to False for this Listener with the
    "InvalidRouteKinds" reason." A listed kind the protocol cannot carry attaches nothing."""
    x = {"name": "l", "protocol": protocol, "port": 443, "allowedRoutes": {"namespaces": {"from": "All"},
                                                                           "kinds": kinds}}
    store = ClusterStore([gateway(listeners=[x])])
    gw = store.get("Gateway", "infra", "gw")
    r = as_route({**tlsroute("r"), "kind": route})
    got = route_admission(store, gw, listeners_of(store)["l"], r)  # type: ignore[arg-type]
    assert (got == "") == (why == "") and why in got


def test_a_tls_host_no_tlsroute_takes_names_what_serves_it(capsys: pytest.CaptureFixture[str]) -> None:
    """A TLS connection is routed by a TLSRoute alone; a host served only over HTTP(S), or a TLS listener that
    takes the host without a TLSRoute naming it, is named in host-no-route's hint (exit 1)."""
    from ktrace.cli import main

    store = ClusterStore([gateway(listeners=[{**PASSTHROUGH, "hostname": "*.example.com"},
                                             {"name": "http", "protocol": "HTTP", "port": 80,
                                              "allowedRoutes": {"namespaces": {"from": "All"}}}]),
                          httproute("site", hostnames=["site.example.com"]), *backed("web")])
    [f] = trace(store, "tls://site.example.com", live=False).findings
    assert (f.code, f.message) == ("host-no-route", "no TLSRoute takes tls://site.example.com (SNI site.example.com)")
    assert "TLS listener(s) infra/gw/tls (*.example.com) take this host, but no TLSRoute there names it" in f.hint
    assert "served over HTTP(S) by HTTPRoute app/site: trace https://site.example.com/" in f.hint
    scenario = Path(__file__).parent.parent / "scenarios" / "gateway-tlsroute.yaml"
    assert main(["trace", "tls://nothing.example.org", "-o", "json", "-f", str(scenario)]) == 1
    assert [x["code"] for x in json.loads(capsys.readouterr().out)["findings"]] == ["host-no-route"]
    assert main(["trace", "tls://db.tls.example.com", "-o", "json", "-f", str(scenario)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [h["kind"] for h in doc["hops"][:4]] == ["GatewayDataPlane", "Gateway", "TLSRoute", "Service"]
