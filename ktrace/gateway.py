"""Which Gateway listener, route rule (HTTPRoute; GRPCRoute for a gRPC call) and backends serve a host and
path, as Gateway API (v1) implementations decide it.

- Attachment: a parentRef names a Gateway (namespace defaults to the route's) and maybe one
  listener (sectionName) or port. A listener accepts the route when allowedRoutes admits the
  route's namespace (Same, the default; All; Selector over the Namespace's labels) and kind (the
  listed kinds, else HTTPRoute on HTTP/HTTPS listeners), and the hostnames intersect: a route
  without hostnames takes the listener's; `*.example.com` matches any number of labels in front
  of example.com, never example.com itself.
- Listener: a request is served by the listener with the most specific hostname that matches it
  (exact, then the longest wildcard, then none); only routes attached to that listener count.
- Rules: across the routes on that listener, the Gateway API precedence: the most specific
  matching hostname, Exact path over PathPrefix, the longest prefix, a method match, the most
  header matches, the most query matches; then the oldest route, then "namespace/name", then the
  first rule. RegularExpression matches are not evaluated (their dialect is the implementation's).
  A gRPC call is matched by the GRPCRoutes' own precedence after the hostname (ktrace.grpc).
- TLSRoutes (a `tls://host` target): TLS listeners only; a TLSRoute has no matches, so the SNI alone
  chooses: the route whose hostname matches it most specifically, then the oldest, then "namespace/name";
  its (first) rule's backendRefs take the connections.
- Kinds: an HTTPRoute and a GRPCRoute on one listener whose hostnames intersect conflict: only the
  oldest (then the first by namespace/name) is accepted there.
- Backends: every backendRef of the rule takes weight/sum of the requests (weight 0: none); a
  backendRef into another namespace needs a ReferenceGrant there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ktrace import grpc, selectors
from ktrace.model import GATEWAY_GROUP, BackendRef, Gateway, Listener, Match, ParentRef, RouteMatch, RouteRule, XRoute
from ktrace.routing import prefix_match
from ktrace.rules import readable
from ktrace.store import ClusterStore
from ktrace.targets import Target

HTTP_PROTOCOLS = ("HTTP", "HTTPS")
PROTOCOLS_OF = {"HTTPRoute": HTTP_PROTOCOLS, "GRPCRoute": HTTP_PROTOCOLS, "TLSRoute": ("TLS",)}  # who carries a kind
NOT_EVALUATED = "RegularExpression"
SERVICE_IMPORT = ("multicluster.x-k8s.io", "ServiceImport")  # (group, kind): Extended support; not followed


def hostname_matches(pattern: str, host: str) -> bool:
    """A listener or route hostname against a host ("" matches every host)."""
    if not pattern:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def intersect(listener: str, route: str) -> str | None:
    """The hostname a route serves on a listener: the more specific of the two when one covers the
    other, None when they share no host ("" on either side takes the other)."""
    if hostname_matches(listener, route):
        return route or listener
    if hostname_matches(route, listener):
        return listener
    return None


def specificity(hostname: str) -> tuple[int, int]:
    """Sort key, most specific first: exact hosts by length, then wildcards by length, then none."""
    if not hostname:
        return (2, 0)
    return (1 if hostname.startswith("*.") else 0, -len(hostname))


def wildcard_suffixes(host: str) -> list[str]:
    """Every wildcard hostname that can match `host`: a.b.c -> *.b.c, *.c."""
    labels = host.split(".")
    return ["*." + ".".join(labels[i:]) for i in range(1, len(labels))]


def knowable(store: ClusterStore, namespace: str, live: bool) -> bool:
    """Whether the source would hold what exists in `namespace`. Live: unless it read one other
    namespace only. Offline: only when the files hold something of it (the platform team's Gateway
    and ReferenceGrants often live in files of their own): otherwise a reference there is not judged."""
    if live:
        return store.scope is None or store.scope == namespace
    return store.holds_namespace(namespace)


def granted(store: ClusterStore, source: tuple[str, str], target: tuple[str, str, str, str]) -> bool:
    """Whether `source` (kind, namespace) may refer to `target` (group, kind, namespace, name): same
    namespace, or a ReferenceGrant in the target's namespace from that kind of the source's namespace to
    that kind (and name, when the grant names one)."""
    kind, src_ns = source
    group, to_kind, ns, name = target
    if ns == src_ns:
        return True
    return any(any(g == GATEWAY_GROUP and k == kind and n == src_ns for g, k, n in grant.sources) and
               any(g == group and k == to_kind and allowed in ("", name) for g, k, allowed in grant.targets)
               for grant in store.objects("ReferenceGrant", ns))


def grants_backend(store: ClusterStore, route: XRoute, ref: BackendRef) -> bool:
    """Whether a route's backendRef may cross into the backend's namespace."""
    return granted(store, (route.meta.kind, route.meta.namespace), (ref.group, ref.kind, ref.namespace, ref.name))


def route_admission(store: ClusterStore, gw: Gateway, listener: Listener, route: XRoute) -> str:
    """Why the listener's allowedRoutes reject the route ("" when they accept it). A route kind is taken only
    by the protocols that carry it (HTTPRoute and GRPCRoute on HTTP and HTTPS, TLSRoute on TLS), and, when
    allowedRoutes.kinds lists kinds, only when it is one of them."""
    kind = route.meta.kind
    if listener.route_kinds and (GATEWAY_GROUP, kind) not in listener.route_kinds:
        return f"listener {listener.name} allows only {', '.join(k for _, k in listener.route_kinds)} routes"
    if listener.protocol not in PROTOCOLS_OF.get(kind, ()):
        carriers = " or ".join(PROTOCOLS_OF.get(kind, ())) or "a protocol ktrace knows"
        return f"listener {listener.name} (protocol {listener.protocol or 'unset'}) does not take {kind}s (they " \
               f"need {carriers})"
    ns = route.meta.namespace
    if listener.routes_from == "All" or ns == gw.meta.namespace:
        return ""
    if listener.routes_from == "Selector":
        obj = store.get("Namespace", "", ns)
        if obj is None:  # labels unknown (not read, or not in the files): cannot tell, so no finding
            return ""
        try:
            wanted = selectors.from_label_selector(listener.routes_selector)
        except (selectors.SelectorError, AttributeError, TypeError):
            return f"listener {listener.name} has an invalid namespace selector"
        if selectors.matches(wanted, obj.meta.labels):
            return ""
        return f"listener {listener.name} takes routes only from namespaces matching its selector; {ns} does not"
    return (f"listener {listener.name} takes routes only from its own namespace {gw.meta.namespace} "
            f"(allowedRoutes.namespaces.from: {listener.routes_from})")


class Refusal(Enum):
    """Why a parentRef took no listener (ktrace.checks.gateway reports each under its rule)."""
    PARENT_MISSING = "parent missing"
    NOT_ALLOWED = "not allowed"
    NO_HOSTNAME_MATCH = "no hostname match"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A route on one parentRef: the listeners that took it, or why none did (`problem`)."""
    route: XRoute
    parent: ParentRef
    gateway: Gateway | None
    listeners: tuple[tuple[Listener, tuple[str, ...]], ...] = ()  # (listener, effective hostnames)
    problem: Refusal | None = None
    why: str = ""


def attach(store: ClusterStore, route: XRoute, parent: ParentRef, *, live: bool) -> Attachment | None:
    """How the route attaches to one parent; None for parents ktrace does not follow (not a Gateway)
    or cannot see (Gateways not readable, or not in the source's scope)."""
    if parent.group != GATEWAY_GROUP or parent.kind != "Gateway" or not readable(store, "Gateway"):
        return None
    gw = store.get("Gateway", parent.namespace, parent.name)
    if not isinstance(gw, Gateway):
        if not knowable(store, parent.namespace, live):
            return None
        return Attachment(route, parent, None, problem=Refusal.PARENT_MISSING,
                          why=f"Gateway {parent.namespace}/{parent.name} does not exist")
    named = [x for x in gw.listeners if (not parent.section or x.name == parent.section)
             and (parent.port is None or x.port == parent.port)]
    if not named:
        which = f"named {parent.section!r}" if parent.section else ""
        which += f"{' ' if which else ''}on port {parent.port}" if parent.port is not None else ""
        return Attachment(route, parent, gw, problem=Refusal.PARENT_MISSING,
                          why=f"Gateway {parent.namespace}/{parent.name} has no listener {which or 'at all'} "
                              f"(listeners: {', '.join(f'{x.name}:{x.port}' for x in gw.listeners) or 'none'})")
    refusals = [(x, route_admission(store, gw, x, route)) for x in named]
    allowed = [x for x, why in refusals if not why]
    if not allowed:
        return Attachment(route, parent, gw, problem=Refusal.NOT_ALLOWED, why="; ".join(why for _, why in refusals))
    taken = []
    for x in allowed:
        names = [h for h in (intersect(x.hostname, r) for r in route.hostnames) if h] if route.hostnames \
            else [x.hostname]
        if names:
            taken.append((x, tuple(dict.fromkeys(names))))
    if not taken:
        listed = ", ".join(f"{x.name} ({x.hostname or 'any host'})" for x in allowed)
        return Attachment(route, parent, gw, problem=Refusal.NO_HOSTNAME_MATCH,
                          why=f"hostnames {', '.join(route.hostnames)} match no listener hostname: {listed}")
    return Attachment(route, parent, gw, tuple(taken))


def attachments(store: ClusterStore, route: XRoute, *, live: bool) -> list[Attachment]:
    return [a for p in route.parents if (a := attach(store, route, p, live=live)) is not None]


# HTTPRoute and GRPCRoute both route HTTP/2 requests: on one listener they may not share a hostname.
RIVALS = {"HTTPRoute": "GRPCRoute", "GRPCRoute": "HTTPRoute"}


@dataclass(frozen=True, slots=True)
class Conflict:
    """An HTTPRoute and a GRPCRoute attached to one listener with intersecting hostnames: the Gateway API accepts
    exactly one, the oldest by creation timestamp, then the first by "namespace/name"; the other is rejected."""
    winner: XRoute
    loser: XRoute
    gateway: Gateway
    listener: Listener
    hostname: str  # one hostname both take there ("": any host)


def age(route: XRoute) -> tuple[str, str, str]:
    """Sort key, oldest first: creation timestamp, then "namespace/name"."""
    return route.created, route.meta.namespace, route.meta.name


def conflicts(store: ClusterStore, route: XRoute, gw: Gateway, listener: Listener, names: tuple[str, ...], *,
              live: bool) -> list[Conflict]:
    """The conflicts of `route`, attached to `listener` with effective hostnames `names`, with routes of the rival
    kind attached to the same listener, the oldest rival first (a route loses when the first one's winner is the
    rival)."""
    other = RIVALS.get(route.meta.kind)
    if other is None or not store.count(other):
        return []
    if all(n and not n.startswith("*.") for n in names):  # exact names: only these rival hostnames can intersect
        pool = list({r.meta.key: r for n in names for key in (n, *wildcard_suffixes(n), "")
                     for r in store.routes_for_hostname(key, other)}.values())
    else:
        pool = list(store.objects(other))  # type: ignore[arg-type]
    out = []
    for rival in sorted(pool, key=age):
        shared = next((h for a in attachments(store, rival, live=live) if a.gateway is not None
                       and a.gateway.meta.key == gw.meta.key for x, theirs in a.listeners if x.name == listener.name
                       for n in names for mine in theirs if (h := intersect(n, mine)) is not None), None)
        if shared is not None:
            winner, loser = sorted((route, rival), key=age)
            out.append(Conflict(winner, loser, gw, listener, shared))
    return out


def listeners_for_host(store: ClusterStore, host: str, protocols: tuple[str, ...] = HTTP_PROTOCOLS) -> list[str]:
    """Listeners of `protocols` whose hostname takes `host` ("gateway-ns/name/listener (hostname)")."""
    return sorted(f"{gw.meta.namespace}/{gw.meta.name}/{x.name} ({x.hostname or 'any host'})"
                  for gw in store.gateways() for x in gw.listeners
                  if x.protocol in protocols and hostname_matches(x.hostname, host))


@dataclass(frozen=True, slots=True)
class Request:
    """What a rule is matched against. A traced URL is a plain GET without headers or query."""
    path: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-case
    query: Mapping[str, str] = field(default_factory=dict)


def match_rank(m: RouteMatch, req: Request) -> tuple[int, int, int, int, int] | None:
    """How strongly a match takes the request (higher wins), None when it does not or cannot be told."""
    if m.path_type == "Exact":
        if m.path != req.path:
            return None
        path_rank = (1, len(m.path))
    elif m.path_type == "PathPrefix":
        n = prefix_match(m.path.rstrip("/"), req.path)
        if n is None:
            return None
        path_rank = (0, n)
    else:
        return None
    if m.method and m.method != req.method:
        return None
    if any(t != "Exact" or req.headers.get(name.lower()) != value for t, name, value in m.headers):
        return None
    if any(t != "Exact" or req.query.get(name) != value for t, name, value in m.query):
        return None
    return (*path_rank, bool(m.method), len(m.headers), len(m.query))


@dataclass
class RuleChoice:
    route: XRoute
    hostname: str  # the route's effective hostname that matched the host
    index: int  # rule index in the route
    rule: RouteRule
    match: Match | None  # None: a TLSRoute's rule, which has no matches (the SNI alone chose it)


Rank = Callable[[Any], "tuple | None"]  # how strongly a match takes the request (higher wins); None: it does not
Near = Callable[[Any], "tuple[tuple, str] | None"]  # a match that does not: its rank if its conditions held, and why


def select_rule(routes: list[tuple[XRoute, str]], rank: Rank, near: Near) -> tuple[RuleChoice | None, list[str]]:
    """The rule that serves a request among (route, matched hostname) pairs, by the precedence HTTPRoute and
    GRPCRoute share: the most characters in a matching non-wildcard hostname, then in a matching hostname, then
    the kind's own `rank` of the match; then the oldest route, then "namespace/name", then the first rule. Also
    notes on matches that would win but could not be evaluated or need conditions the request lacks (`near`)."""
    best: tuple | None = None
    choice: RuleChoice | None = None
    skipped: list[tuple[tuple, tuple, str]] = []
    for route, hostname in routes:
        host_key = (0 if hostname.startswith("*.") or not hostname else len(hostname), len(hostname))
        for i, rule in enumerate(route.rules):
            order = (route.created, route.meta.namespace, route.meta.name, i)
            for m in rule.matches:
                taken = rank(m)
                if taken is not None:
                    # Higher keys win; on a tie the older route, then namespace/name, then the first rule.
                    key = (host_key, taken)
                    if best is None or key > best[0] or (key == best[0] and order < best[1]):
                        best = (key, order)
                        choice = RuleChoice(route, hostname, i, rule, m)
                    continue
                missed = near(m)
                if missed is not None:
                    would, why = missed
                    skipped.append(((host_key, would), order, f"{route.meta.namespace}/{route.meta.name} rule {i + 1}: "
                                                              f"{m.label()} {why}"))
    notes = [note for would, order, note in skipped
             if best is None or would > best[0] or (would == best[0] and order < best[1])]
    return choice, list(dict.fromkeys(notes))


def sni_choice(routes: list[tuple[XRoute, str]]) -> RuleChoice:
    """The TLSRoute that takes a connection among (route, matched hostname) pairs: a TLSRoute matches on
    the SNI hostname alone, so the most specific matching hostname wins, then the oldest route, then
    "namespace/name". A TLSRoute has one rule (v1; v1alpha2 allowed more, with nothing to tell them apart):
    the first one takes the connections."""
    route, hostname = min(routes, key=lambda p: (specificity(p[1]), p[0].created, p[0].meta.namespace,
                                                  p[0].meta.name))
    return RuleChoice(route, hostname, 0, route.rules[0], None)


def _http_near(m: RouteMatch, req: Request) -> tuple[tuple, str] | None:
    """An HTTPRoute match that does not take `req` but whose path does: ranked as if its conditions held (a
    regular expression path counts above every path)."""
    bare = match_rank(_path_only(m), req) if m.path_type != NOT_EVALUATED else (2, 0, 0, 0, 0)
    if bare is None:
        return None
    regex = NOT_EVALUATED in (m.path_type, *(t for t, _, _ in m.headers), *(t for t, _, _ in m.query))
    why = "not evaluated (regular expression)" if regex else "takes requests with those conditions"
    return (*bare[:2], bool(m.method), len(m.headers), len(m.query)), why


def best_rule(routes: list[tuple[XRoute, str]], req: Request) -> tuple[RuleChoice | None, list[str]]:
    """The HTTPRoute rule that serves `req`: after the hostname, Exact path over PathPrefix, the longest
    prefix, a method match, the most header matches, the most query matches."""
    return select_rule(routes, lambda m: match_rank(m, req), lambda m: _http_near(m, req))


def _path_only(m: RouteMatch) -> RouteMatch:
    return RouteMatch(m.path_type, m.path)


def mirrors_of(rule: RouteRule) -> list[BackendRef]:
    """The RequestMirror backendRefs of a rule's filters and of its backendRefs' filters."""
    return [f.mirror for f in (*rule.filters, *(f for b in rule.backends for f in b.filters)) if f.mirror is not None]


def backend_refs(route: XRoute) -> Iterator[BackendRef]:
    """Every backendRef of the route: its rules' and their RequestMirror filters'."""
    for rule in route.rules:
        yield from rule.backends
        yield from mirrors_of(rule)


def backend_shares(rule: RouteRule) -> list[float]:
    """Each backendRef's share of the rule's requests (0 for weight 0; all 0 when every weight is)."""
    total = sum(max(b.weight, 0) for b in rule.backends)
    return [max(b.weight, 0) / total if total else 0.0 for b in rule.backends]


@dataclass
class GatewayRoute:
    """The Gateway API decision for one host and path (or gRPC call). `choice` is None when the listener has routes
    for the host but no rule takes the request; `broken` holds routes naming the host that attach nowhere;
    `conflicts` the HTTPRoute/GRPCRoute conflicts of the routes that take the host (the losers are left out)."""
    host: str
    path: str
    gateway: Gateway | None = None
    listener: Listener | None = None
    choice: RuleChoice | None = None
    notes: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # other Gateways/listeners serving the host, not traced
    broken: list[Attachment] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # the paths (calls) the listener's routes do take (for hints)
    conflicts: list[Conflict] = field(default_factory=list)


def _listener_fits(x: Listener, t: Target) -> bool:
    if x.protocol not in PROTOCOLS_OF.get(t.route_kind, ()):
        return False
    if t.port is not None and x.port != t.port:
        return False
    return t.scheme not in ("http", "https") or x.protocol == t.scheme.upper()


def _selection(t: Target) -> tuple[Rank, Near, Callable[[Any], str | None]]:
    """The target kind's rank and near-miss of a match, and what a match takes (None: nothing to name)."""
    if t.route_kind == "GRPCRoute":
        call = grpc.Call(*t.grpc_call)
        return ((lambda m: grpc.call_rank(m, call)), (lambda m: grpc.call_near(m, call)),
                lambda m: grpc.taken(m) if grpc.call_near(m, call) is None else None)
    req = Request(t.path)
    return ((lambda m: match_rank(m, req)), (lambda m: _http_near(m, req)),
            lambda m: f"{m.path} ({m.path_type})" if m.path_type != NOT_EVALUATED and
            match_rank(_path_only(m), req) is None else None)


def gateway_route(store: ClusterStore, t: Target, *, live: bool) -> GatewayRoute | None:
    """How the Gateways serve `t` (by the routes of its kind: HTTPRoute, GRPCRoute for a grpc:// target, TLSRoute
    for tls://), or None when no such route names or takes the host."""
    host, kind = t.host, t.route_kind
    candidates: dict[tuple[str, str], XRoute] = {}
    for key in (host, *wildcard_suffixes(host), ""):
        for r in store.routes_for_hostname(key, kind):
            candidates.setdefault(r.meta.key, r)
    if not candidates:
        return None
    # (gateway key, listener name) -> [(route, matched hostname)]
    on_listener: dict[tuple[tuple[str, str], str], list[tuple[XRoute, str]]] = {}
    gateways: dict[tuple[str, str], Gateway] = {}
    broken: list[Attachment] = []
    found: list[Conflict] = []
    for r in candidates.values():
        for a in attachments(store, r, live=live):
            if a.problem:
                if r.hostnames:  # a route without hostnames names no host: its failure is not this host's
                    broken.append(a)
                continue
            assert a.gateway is not None
            for x, names in a.listeners:
                matched = sorted((n for n in names if hostname_matches(n, host)), key=specificity)
                if not matched:
                    continue
                rivals = conflicts(store, r, a.gateway, x, names, live=live)
                # A loser of the traced kind explains why it is missing; a loser of the rival kind matters here
                # only when the hostname they share takes the host.
                found += [c for c in rivals if c.loser is r or hostname_matches(c.hostname, host)]
                if rivals and rivals[0].loser is r:  # an older route of the rival kind holds the hostname
                    continue
                gateways[a.gateway.meta.key] = a.gateway
                on_listener.setdefault((a.gateway.meta.key, x.name), []).append((r, matched[0]))
    rank, near, takes = _selection(t)
    options = []
    for gkey, gw in gateways.items():
        # Per port, the listener with the most specific hostname for the host takes the request.
        by_port: dict[int | None, Listener] = {}
        for x in sorted((x for x in gw.listeners if hostname_matches(x.hostname, host) and _listener_fits(x, t)),
                        key=lambda x: (specificity(x.hostname), x.name)):
            by_port.setdefault(x.port, x)
        for x in by_port.values():
            routes = on_listener.get((gkey, x.name), [])
            if routes:
                choice, notes = (sni_choice(routes), []) if kind == "TLSRoute" else select_rule(routes, rank, near)
                order = (choice is None, x.protocol != "HTTPS", specificity(x.hostname), gkey, x.port or 0)
                options.append((order, gw, x, choice, notes, routes))
    if not options:
        return GatewayRoute(host, t.path, broken=broken, conflicts=found) if broken or found else None
    options.sort(key=lambda o: o[0])
    _, gw, x, choice, notes, routes = options[0]
    out = GatewayRoute(host, t.path, gw, x, choice, notes, broken=broken,
                       conflicts=[c for c in found if c.gateway is gw and c.listener is x])
    out.others = [f"listener {o[2].name} ({o[2].protocol} port {o[2].port}) of Gateway {o[1].meta.namespace}/"
                  f"{o[1].meta.name}" for o in options[1:] if o[3] is not None]
    if choice is None:  # what the host does take; matches that would take this request are named in `notes`
        out.paths = sorted({f"{h or '*'}{'/' if kind == 'GRPCRoute' else ''}{what}" for r, h in routes
                            for rule in r.rules for m in rule.matches if (what := takes(m)) is not None})
    return out
