"""Ingress -> Gateway API migration: for one host served both by Ingress rules and by HTTPRoutes (a team runs
both while DNS moves from the old entry point to the new one), what a client gets differently depending on which
of the two DNS sends it to.

The two sides may come from two stores (the Ingresses of the old files, the HTTPRoutes of the new ones) or from
one. Paths are paired by their text after normalising (an Ingress Prefix or ImplementationSpecific path and an
HTTPRoute PathPrefix lose their trailing `/`, and an ImplementationSpecific path its trailing `*`). For every path
either side names, each side's own routing (ktrace.routing, ktrace.gateway) decides which rule takes a plain GET
there, and the two decisions are compared:

- path: a path one side has a rule for and the other has not (what the other side does with it is said);
- match: Ingress Prefix and HTTPRoute PathPrefix agree (both match whole path elements), Exact and Exact agree,
  Prefix against Exact do not; an Ingress ImplementationSpecific path is flagged: its meaning is the
  IngressClass's, so the two cannot be said to agree;
- backends: each backend's share of the path's requests (an Ingress path has one backend: 100%; an HTTPRoute
  rule splits by its backendRefs' weights), Services named with their namespace (a backendRef may cross one);
- port: the Service port each side sends a Service's share to (a port name resolved through the Service);
- tls: the Ingress TLS entry covering the host (Secret, hosts) against the certificateRefs of the HTTPS listeners
  that the host's HTTPRoutes attach to and that take the host; TLS on one side only is a difference too.

Out of scope: host-less Ingress rules and default backends (the host needs an Ingress rule of its own or of a
wildcard taking it; a path only they serve is still followed as the Ingress side's decision), GRPCRoutes and
TLSRoutes (no Ingress counterpart), and HTTPRoute matches with header, query or method conditions or a regular
expression (no Ingress path is their counterpart; the rule a plain GET gets instead is what is compared).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ktrace.gateway import RuleChoice, attachments, backend_shares, gateway_route, hostname_matches, wildcard_suffixes
from ktrace.model import Backend, Gateway, Ingress, IngressPath, IngressTLS, Listener, RouteMatch, XRoute
from ktrace.routing import Route, find_service_port, normalise_prefix, route, wildcard_for
from ktrace.store import ClusterStore
from ktrace.targets import Target

ASPECTS = ("path", "match", "backends", "port", "tls")  # what a Difference is about
# The HTTPRoute path type that means what an Ingress pathType means.
_GATEWAY_TYPE = {"Prefix": "PathPrefix", "Exact": "Exact"}

Shares = dict[str, float]  # "namespace/service" (or "Kind namespace/name") -> share of the path's requests


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the two entry points treat the host differently."""
    aspect: str  # one of ASPECTS
    path: str  # the normalised path; "" for the host as a whole (tls)
    ingress: str  # "Ingress namespace/name": the Ingress side of it
    route: str  # "HTTPRoute namespace/name": the HTTPRoute side of it
    text: str  # one short sentence


@dataclass(frozen=True, slots=True)
class EntryComparison:
    """The Ingress and HTTPRoute entry points of one host, compared."""
    host: str
    ingresses: tuple[str, ...]  # "Ingress namespace/name": those with a rule for the host (or its wildcard)
    routes: tuple[str, ...]  # "HTTPRoute namespace/name": those attached to a listener taking the host
    paths: tuple[str, ...]  # every normalised path compared
    differences: tuple[Difference, ...]

    @property
    def agree(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict:
        return {"host": self.host, "ingresses": list(self.ingresses), "routes": list(self.routes),
                "agree": self.agree, "differences": [{"aspect": d.aspect, "path": d.path or None,
                                                      "ingress": d.ingress, "route": d.route, "text": d.text}
                                                     for d in self.differences]}

    def pairs(self) -> dict[tuple[str, str], list[Difference]]:
        """The differences by (Ingress, HTTPRoute) pair, in order."""
        out: dict[tuple[str, str], list[Difference]] = {}
        for d in self.differences:
            out.setdefault((d.ingress, d.route), []).append(d)
        return out


def label(obj: Ingress | XRoute) -> str:
    return f"{obj.meta.kind} {obj.meta.namespace}/{obj.meta.name}"


def compare(ingress_store: ClusterStore, route_store: ClusterStore, host: str, *,
            live: bool = False) -> EntryComparison | None:
    """The Ingress side of `host` read from `ingress_store` against its HTTPRoute side read from `route_store`;
    None when either side has no entry point for the host. `live`: whether `route_store` is a cluster's (which
    namespaces it can judge route attachments in: ktrace.gateway.knowable)."""
    ingress_paths = _ingress_paths(ingress_store, host)
    routes = _routes(route_store, host, live)
    if not ingress_paths or not routes:
        return None
    route_paths: dict[str, list[tuple[XRoute, RouteMatch]]] = {}
    for r in routes:
        for rule in r.rules:
            for m in rule.matches:
                if isinstance(m, RouteMatch) and m.path_type in ("PathPrefix", "Exact") and not (
                        m.headers or m.query or m.method):
                    route_paths.setdefault(_route_key(m), []).append((r, m))
    first_ingress, first_route = ingress_paths[min(ingress_paths)][0][0], routes[0]
    diffs: list[Difference] = []
    paths = sorted(ingress_paths.keys() | route_paths.keys())
    for path in paths:
        r = route(ingress_store, host, path)
        g = gateway_route(route_store, Target(host, path), live=live)
        c = g.choice if g is not None else None
        ing = label(r.ingress) if r is not None and r.ingress is not None else label(first_ingress)
        rt = label(c.route) if c is not None else label(first_route)
        if path not in route_paths:
            diffs.append(Difference("path", path, ing, rt, f"{path} has an Ingress rule and no HTTPRoute rule: "
                                                           f"the HTTPRoutes {_gateway_does(c)}"))
            continue
        if path not in ingress_paths:
            diffs.append(Difference("path", path, ing, rt, f"{path} has an HTTPRoute rule and no Ingress rule: "
                                                           f"the Ingress {_ingress_does(r)}"))
            continue
        diffs += _match_differences(path, ingress_paths[path], route_paths[path], ing, rt)
        diffs += _backend_differences(ingress_store, route_store, path, r, c, ing, rt)
    diffs += _tls_differences(ingress_store, route_store, host, routes, live, paths=ingress_paths,
                              fallback=(label(first_ingress), label(first_route)))
    ingresses = sorted({label(i) for found in ingress_paths.values() for i, _ in found})
    return EntryComparison(host, tuple(ingresses), tuple(label(r) for r in routes), tuple(paths), tuple(diffs))


def _ingress_key(p: IngressPath) -> str:
    return p.path if p.path_type == "Exact" else normalise_prefix(p.path, p.path_type) or "/"


def _route_key(m: RouteMatch) -> str:
    return m.path if m.path_type == "Exact" else m.path.rstrip("/") or "/"


def _ingress_paths(store: ClusterStore, host: str) -> dict[str, list[tuple[Ingress, IngressPath]]]:
    """The host's Ingress paths by normalised path: its own rules, else its wildcard's (an Ingress host that has
    rules never falls through to a less specific one)."""
    for key in (host, wildcard_for(host)):
        out: dict[str, list[tuple[Ingress, IngressPath]]] = {}
        for ing in store.ingresses_for_host(key) if key else ():
            for rule in ing.rules:
                if rule.host == key:
                    for p in rule.paths:
                        out.setdefault(_ingress_key(p), []).append((ing, p))
        if out:
            return out
    return {}


def _listeners(store: ClusterStore, r: XRoute, host: str, live: bool) -> Iterable[tuple[Gateway, Listener]]:
    """The listeners that accept the route and take the host."""
    for a in attachments(store, r, live=live):
        if a.problem is None and a.gateway is not None:
            yield from ((a.gateway, x) for x, names in a.listeners if any(hostname_matches(n, host) for n in names))


def _routes(store: ClusterStore, host: str, live: bool) -> list[XRoute]:
    """The HTTPRoutes naming the host (or a wildcard taking it, or no hostname) attached to a listener taking it."""
    found = {r.meta.key: r for key in (host, *wildcard_suffixes(host), "") for r in store.routes_for_hostname(key)}
    return [r for r in found.values() if any(True for _ in _listeners(store, r, host, live))]


def _ingress_does(r: Route | None) -> str:
    if r is None or r.backend is None:
        return "answers 404 there (no rule takes it)"
    if r.ipath is None:
        return f"sends it to {label(r.ingress)}'s default backend {r.backend.label()}" if r.ingress else \
            "sends it to a default backend"
    return f"sends it by its {r.ipath.path_type} {r.ipath.path} path to {_shares_text(_ingress_shares(r))}"


def _gateway_does(c: RuleChoice | None) -> str:
    if c is None:
        return "answer 404 there (no rule takes it)"
    where = f"{label(c.route)} rule {c.index + 1} ({c.match.label() if c.match is not None else 'any'})"
    if c.rule.redirect is not None:
        return f"redirect it by {where}"
    return f"send it by {where} to {_shares_text(_route_shares(c))}"


def _match_differences(path: str, ingress: list[tuple[Ingress, IngressPath]], routes: list[tuple[XRoute, RouteMatch]],
                       ing: str, rt: str) -> list[Difference]:
    """Each Ingress path type at `path` against the HTTPRoute path types there."""
    out = []
    route_types = sorted({m.path_type for _, m in routes})
    for p_type in sorted({p.path_type for _, p in ingress}):
        if p_type == "ImplementationSpecific":
            out.append(Difference("match", path, ing, rt, f"{path} is ImplementationSpecific on the Ingress: its "
                                                          "matching is the IngressClass's to define, so it cannot be "
                                                          f"said to match as the HTTPRoute's {'/'.join(route_types)}"))
        elif _GATEWAY_TYPE.get(p_type) not in route_types:
            out.append(Difference("match", path, ing, rt, f"{path} is {p_type} on the Ingress and "
                                                          f"{'/'.join(route_types)} on the HTTPRoute"))
    return out


def _service_label(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def _backend_label(namespace: str, b: Backend) -> str:
    return _service_label(namespace, b.service) if not b.resource_kind else \
        f"{b.resource_kind} {namespace}/{b.resource_name}"


def _ingress_shares(r: Route) -> Shares:
    assert r.ingress is not None and r.backend is not None
    return {_backend_label(r.ingress.meta.namespace, r.backend): 1.0}


def _route_shares(c: RuleChoice) -> Shares:
    out: Shares = {}
    if c.rule.redirect is not None:
        return out
    for ref, share in zip(c.rule.backends, backend_shares(c.rule), strict=True):
        key = _service_label(ref.namespace, ref.name) if ref.is_service else f"{ref.kind} {ref.namespace}/{ref.name}"
        out[key] = out.get(key, 0.0) + share
    return out


def _shares_text(shares: Shares) -> str:
    taken = {k: v for k, v in shares.items() if v > 0}
    if not taken:
        return "no backend"
    if len(taken) == 1:
        return next(iter(taken))
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(taken.items()))


def _backend_differences(ingress_store: ClusterStore, route_store: ClusterStore, path: str, r: Route | None,
                         c: RuleChoice | None, ing: str, rt: str) -> list[Difference]:
    """Where a plain GET to `path` goes on each side: the backends' shares, then the Service port of each Service
    both send it to."""
    if r is None or r.backend is None or c is None:
        return []  # a declared path is always taken by its own rule
    mine, theirs = _ingress_shares(r), _route_shares(c)
    if {k: round(v, 3) for k, v in mine.items() if v > 0} != {k: round(v, 3) for k, v in theirs.items() if v > 0}:
        return [Difference("backends", path, ing, rt, f"{path} goes to {_shares_text(mine)} by the Ingress and to "
                                                      f"{_shares_text(theirs)} by the HTTPRoute")]
    assert r.ingress is not None
    ns, svc = r.ingress.meta.namespace, r.backend.service
    if not svc:
        return []
    mine_port = _service_port(ingress_store, route_store, ns, svc, r.backend.port)
    theirs_ports = sorted({str(ref.port) for ref in c.rule.backends
                           if ref.is_service and (ref.namespace, ref.name) == (ns, svc)})
    if theirs_ports != [mine_port]:
        return [Difference("port", path, ing, rt, f"{path} reaches {ns}/{svc} on port {mine_port} by the Ingress and "
                                                  f"on port {', '.join(theirs_ports)} by the HTTPRoute")]
    return []


def _service_port(ingress_store: ClusterStore, route_store: ClusterStore, ns: str, name: str,
                  port: int | str | None) -> str:
    """An Ingress backend's Service port as a number when the Service (on either side) tells it, else as written."""
    for store in (ingress_store, route_store):
        svc = store.service(ns, name)
        sport = find_service_port(svc, port) if svc is not None else None
        if sport is not None:
            return str(sport.port)
    return str(port) if port is not None else "(none)"


def _tls_differences(ingress_store: ClusterStore, route_store: ClusterStore, host: str, routes: list[XRoute],
                     live: bool, *, paths: dict[str, list[tuple[Ingress, IngressPath]]],
                     fallback: tuple[str, str]) -> list[Difference]:
    """The Ingress TLS entry covering the host against the HTTPS listeners taking it."""
    r = route(ingress_store, host, min(paths))
    tls: IngressTLS | None = r.tls if r is not None else None
    ing = label(r.tls_ingress) if r is not None and r.tls_ingress is not None else fallback[0]
    https: dict[str, tuple[str, set[tuple[str, str]]]] = {}  # listener -> (its route, Secrets)
    for rt in routes:
        for gw, x in _listeners(route_store, rt, host, live):
            if x.protocol == "HTTPS":
                https.setdefault(f"{gw.meta.namespace}/{gw.meta.name}/{x.name}",
                                 (label(rt), {(ns, n) for k, ns, n in x.certificates if k == "Secret"}))
    where = next(iter(https.values()))[0] if https else fallback[1]
    listed = ", ".join(sorted(https))
    if tls is None:
        return [Difference("tls", "", ing, where, f"the Gateway terminates TLS for {host} (listener {listed}) and the "
                                                  "Ingress has no TLS entry for it")] if https else []
    assert r is not None and r.tls_ingress is not None
    secret = (r.tls_ingress.meta.namespace, tls.secret)
    ingress_side = f"Secret {'/'.join(secret)} (hosts {', '.join(tls.hosts)})"
    if not https:
        return [Difference("tls", "", ing, where, f"the Ingress terminates TLS for {host} with {ingress_side} and no "
                                                  "HTTPS listener takes it on the Gateway: https:// fails there")]
    secrets = {s for _, found in https.values() for s in found}
    if secret not in secrets:
        names = ", ".join(sorted("/".join(s) for s in secrets)) or "none"
        return [Difference("tls", "", ing, where, f"TLS for {host}: the Ingress uses {ingress_side}, listener {listed} "
                                                  f"Secret {names}")]
    return []
