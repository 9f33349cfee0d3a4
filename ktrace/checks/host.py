"""A traced host and path that nothing serves: the rules that would take it with conditions a plain GET
lacks, the paths the host does have, the wildcards that just miss it, and the closest hosts. A TLS
connection (tls://) that no TLSRoute takes: what serves the host instead."""

from __future__ import annotations

import difflib

from ktrace.findings import Finding
from ktrace.gateway import GatewayRoute, listeners_for_host, wildcard_suffixes
from ktrace.routing import wildcard_for
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore
from ktrace.targets import Target

NO_ROUTE = register(Rule(
    "host-no-route", "error", "No Ingress rule, default backend or HTTPRoute rule serves the traced host and path, "
    "no GRPCRoute rule the traced gRPC call, or no TLSRoute the traced SNI (rules that need headers, a query or "
    "another method are named; for a grpc:// or tls:// target, what serves the host over HTTP)."))


@produces(NO_ROUTE)
def no_route(store: ClusterStore, t: Target, g: GatewayRoute | None = None) -> list[Finding]:
    if t.route_kind == "TLSRoute":
        return [_no_tls_route(store, t)]
    if t.route_kind == "GRPCRoute":
        return _no_grpc_route(store, t, g)
    hosts = store.hosts()
    close = closest_hosts(t.host, hosts)
    conditional = g.notes if g is not None else []
    paths = sorted({f"{r.host}{p.path} ({p.path_type})" for key in (t.host, wildcard_for(t.host))
                    for ing in store.ingresses_for_host(key) for r in ing.rules if r.host == key for p in r.paths})
    paths += g.paths if g is not None else []
    misses = wildcard_misses(store, t.host)
    hints = []
    if conditional:
        hints.append(f"a plain GET without headers gets 404 here: {'; '.join(conditional)}")
    if paths:
        hints.append(f"{'its other' if conditional else f'host {t.host} has only these'} paths: "
                     f"{', '.join(paths[:6])}")
    hints += misses + _rejected(g)
    if not paths and close:
        hints.append(f"closest hosts: {', '.join(close)}")
    elif not paths and not misses:
        hints.append(f"no Ingress names a similar host ({len(hosts)} host(s) in scope)")
    listeners = listeners_for_host(store, t.host) if not paths and not _rejected(g) else []
    if listeners:
        hints.append(f"Gateway listener(s) {', '.join(listeners[:3])} take this host, but no HTTPRoute there names it")
    what = "no Ingress rule, default backend or HTTPRoute rule" if g is not None or store.count("HTTPRoute") else \
        "no Ingress rule or default backend"
    how = " as a plain GET" if conditional else ""
    return [NO_ROUTE.finding("Host", "", t.host, f"{what} serves {t}{how}", "; ".join(hints),
                             host=t.host, path=t.path, closest_hosts=close, paths=paths,
                             conditional_rules=conditional, wildcards=misses)]


def served_over_http(store: ClusterStore, host: str) -> list[str]:
    """The HTTPRoutes and Ingresses that name `host` (or a wildcard taking it): what serves it over HTTP(S)."""
    return sorted({f"HTTPRoute {r.meta.namespace}/{r.meta.name}" for key in (host, *wildcard_suffixes(host))
                   for r in store.routes_for_hostname(key)} |
                  {f"Ingress {ing.meta.namespace}/{ing.meta.name}" for key in (host, wildcard_for(host))
                   for ing in store.ingresses_for_host(key)})


def _no_tls_route(store: ClusterStore, t: Target) -> Finding:
    """No TLSRoute takes the SNI: the TLS listeners that take the host, the HTTP(S) routes and Ingresses that
    serve it (TLSRoutes alone route TLS connections by SNI), else the closest hosts."""
    http = served_over_http(store, t.host)
    listeners = listeners_for_host(store, t.host, ("TLS",))
    hints = []
    if listeners:
        hints.append(f"TLS listener(s) {', '.join(listeners[:3])} take this host, but no TLSRoute there names it")
    if http:
        hints.append(f"{t.host} is served over HTTP(S) by {', '.join(http[:4])}: trace https://{t.host}/ (a TLSRoute "
                     "alone passes a TLS connection through by its SNI)")
    close = closest_hosts(t.host, [h for h in store.hosts() if store.routes_for_hostname(h, "TLSRoute")])
    if close and not http:
        hints.append(f"closest TLSRoute hosts: {', '.join(close)}")
    if not hints:
        hints.append(f"no TLSRoute names a similar host ({store.count('TLSRoute')} TLSRoute(s) in scope)")
    return NO_ROUTE.finding("Host", "", t.host, f"no TLSRoute takes {t} (SNI {t.host})", "; ".join(hints),
                            host=t.host, path=t.path, scheme=t.scheme, closest_hosts=close, served_by=http,
                            listeners=listeners)


def _rejected(g: GatewayRoute | None) -> list[str]:
    """The routes an HTTPRoute/GRPCRoute conflict rejects on the host's listeners: why they serve nothing."""
    return [f"{c.loser.meta.kind} {c.loser.meta.namespace}/{c.loser.meta.name} is rejected on listener "
            f"{c.listener.name}: {c.winner.meta.kind} {c.winner.meta.namespace}/{c.winner.meta.name} is older and "
            f"shares hostname {c.hostname or '(any)'}" for c in (g.conflicts if g is not None else [])]


def _no_grpc_route(store: ClusterStore, t: Target, g: GatewayRoute | None) -> list[Finding]:
    """A gRPC call no GRPCRoute rule takes: the calls the host's GRPCRoutes do take, the matches that need
    headers, the routes a conflict rejects, and what serves the host over HTTP (a gRPC call is an HTTP/2 POST
    to /package.Service/Method: `ktrace trace http://HOST/package.Service/Method` follows it there)."""
    conditional = g.notes if g is not None else []
    calls = g.paths if g is not None else []
    hints = [f"these might take it (a traced call carries no headers): {'; '.join(conditional)}"] if conditional \
        else []
    if calls:
        hints.append(f"host {t.host}'s GRPCRoutes take only: {', '.join(calls[:6])}")
    hints += _rejected(g)
    served = served_over_http(store, t.host)
    if served:
        hints.append(f"over HTTP, {', '.join(served[:4])} serve{'s' if len(served) == 1 else ''} this host "
                     f"(trace http://{t.host}{t.path or '/'} to follow the call there)")
    listeners = listeners_for_host(store, t.host) if not calls and not served and not _rejected(g) else []
    if listeners:
        hints.append(f"Gateway listener(s) {', '.join(listeners[:3])} take this host, but no GRPCRoute there names it")
    close = closest_hosts(t.host, [h for h in store.hosts() if h != t.host]) if not calls and not served else []
    if close:
        hints.append(f"closest hosts: {', '.join(close)}")
    return [NO_ROUTE.finding("Host", "", t.host, f"no GRPCRoute rule serves {t}", "; ".join(hints)
                             or "no GRPCRoute, HTTPRoute or Ingress names this host", host=t.host, path=t.path,
                             scheme=t.scheme, closest_hosts=close, paths=calls, conditional_rules=conditional,
                             wildcards=[])]


def closest_hosts(host: str, hosts: list[str], n: int = 4) -> list[str]:
    """Hosts that look like `host`: close by edit distance, then those sharing its longest parent domain
    (`a.b.example.com` -> hosts under `b.example.com`, else under `example.com`)."""
    out = difflib.get_close_matches(host, hosts, n=3, cutoff=0.6)
    labels = host.split(".")
    for i in range(1, len(labels) - 1):  # a parent of at least two labels: never a bare TLD
        parent = ".".join(labels[i:])
        under = [h for h in hosts if h != host and (h == parent or h.endswith("." + parent))]
        if under:
            out += [h for h in under if h not in out]
            break
    return out[:n]


def wildcard_misses(store: ClusterStore, host: str) -> list[str]:
    """Wildcard hosts that end like `host` but do not take it, each by its own API's rule: an Ingress
    `*.example.com` matches exactly one label in front of example.com; a Gateway API `*.example.com`
    (HTTPRoute or listener hostname) any number of labels; neither matches example.com itself."""
    ingress = {h for h in store.hosts() if h.startswith("*.") and store.ingresses_for_host(h)}
    gateway = {h for h in store.hosts() if h.startswith("*.") and store.routes_for_hostname(h)}
    gateway |= {x.hostname for gw in store.gateways() for x in gw.listeners if x.hostname.startswith("*.")}
    out = []
    for w in sorted(ingress | gateway):
        suffix = w[2:]
        if host == suffix:
            out.append(f"{w} takes hosts under {suffix}, not {suffix} itself")
        elif w in ingress and host.endswith("." + suffix) and host.count(".") > w.count("."):
            out.append(f"Ingress host {w} matches exactly one label in front of {suffix}, not {host}")
    return out
