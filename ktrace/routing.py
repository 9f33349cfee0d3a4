"""Which Ingress rule serves a host and path, as ingress controllers decide it.

- IngressClass: spec.ingressClassName, else the kubernetes.io/ingress.class annotation, else
  the IngressClass annotated as default; the rules of every Ingress of one class are merged.
- Hosts: an exact host beats a wildcard (`*.example.com` covers exactly one label), which beats
  rules without a host. A host that has rules never falls through to a less specific host.
- Paths: Exact beats Prefix; Prefix matches whole path elements; the longest match wins;
  ImplementationSpecific is treated as Prefix (a trailing `*` as in GKE's `/*` is dropped).
- No path matches: the defaultBackend of an Ingress of that class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ktrace.model import (
    Backend,
    GRPCMatch,
    Ingress,
    IngressPath,
    IngressTLS,
    RouteMatch,
    RouteRule,
    Service,
    ServicePort,
    XRoute,
)
from ktrace.store import ClusterStore
from ktrace.targets import Target, call_path


@dataclass(frozen=True, slots=True)
class IngressClassRef:
    name: str  # "" when none applies
    source: str  # "spec", "annotation", "default" or ""


def default_class(store: ClusterStore) -> str:
    defaults = sorted(c.meta.name for c in store.ingress_classes() if c.is_default)
    return defaults[0] if defaults else ""


def ingress_class(ing: Ingress, default: str) -> IngressClassRef:
    if ing.class_name:
        return IngressClassRef(ing.class_name, "spec")
    if ing.class_annotation:
        return IngressClassRef(ing.class_annotation, "annotation")
    return IngressClassRef(default, "default" if default else "")


def host_matches(rule_host: str, host: str) -> bool:
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == rule_host[2:]
    return rule_host == host


def wildcard_for(host: str) -> str:
    _, _, rest = host.partition(".")
    return f"*.{rest}" if rest else ""


def normalise_prefix(path: str, path_type: str) -> str:
    if path_type == "ImplementationSpecific" and path.endswith("*"):
        path = path[:-1]
    return path.rstrip("/")


def path_match(ipath: IngressPath, path: str) -> int | None:
    """Match strength: None for no match; for Exact a value above every prefix; for Prefix the
    length of the matched prefix (longest wins)."""
    if ipath.path_type == "Exact":
        return 1_000_000 if ipath.path == path else None
    return prefix_match(normalise_prefix(ipath.path, ipath.path_type), path)


def prefix_match(prefix: str, path: str) -> int | None:
    """The length of `prefix` (no trailing slash) when it matches `path` element by element (`/foo`
    matches `/foo` and `/foo/bar`, not `/foobar`); None otherwise. Ingress Prefix and Gateway API
    PathPrefix share this rule."""
    if not prefix or path == prefix or path.startswith(prefix + "/"):
        return len(prefix)
    return None


def find_service_port(svc: Service, port: int | str | None) -> ServicePort | None:
    """The Service port an Ingress backend names: numbers compared with numbers, names with names
    (an unnamed Service port never matches a name). A missing port matches a single-port Service."""
    if port is None:
        return svc.ports[0] if len(svc.ports) == 1 else None
    for p in svc.ports:
        if (p.port == port) if isinstance(port, int) else (p.name == port and p.name != ""):
            return p
    return None


@dataclass
class Route:
    """The decision for one host and path."""
    host: str
    path: str
    class_ref: IngressClassRef
    ingress: Ingress | None = None
    rule_host: str = ""  # the rule's host as written ("" for host-less rules and default backends)
    ipath: IngressPath | None = None  # None when the default backend serves
    backend: Backend | None = None
    tls: IngressTLS | None = None
    tls_ingress: Ingress | None = None
    ties: list[Ingress] = field(default_factory=list)  # other Ingresses with an identical rule
    other_classes: list[str] = field(default_factory=list)


def _level(rule_host: str, host: str) -> int:
    return 0 if rule_host == host else 1 if rule_host else 2


def route(store: ClusterStore, host: str, path: str) -> Route | None:
    """The rule (or default backend) that serves `host` + `path`, or None when nothing does."""
    default = default_class(store)
    candidates: dict[str, list[Ingress]] = {}
    seen: set[tuple[str, str]] = set()
    for key in dict.fromkeys((host, wildcard_for(host), "")):
        for ing in store.ingresses_for_host(key):
            if ing.meta.key not in seen:
                seen.add(ing.meta.key)
                candidates.setdefault(ingress_class(ing, default).name, []).append(ing)
    if not candidates:
        return None

    def best_level(ings: list[Ingress]) -> int:
        levels = [_level(r.host, host) for i in ings for r in i.rules if host_matches(r.host, host)]
        return min(levels, default=3)

    # One class serves the request: the one with the most specific host; ties go to the default class.
    ranked = sorted(candidates, key=lambda c: (best_level(candidates[c]), c != default, c))
    chosen = ranked[0]
    ings = candidates[chosen]
    result = Route(host=host, path=path, class_ref=IngressClassRef(chosen, ""), other_classes=ranked[1:])
    level = best_level(ings)
    matches: list[tuple[int, Ingress, str, IngressPath]] = []
    for ing in ings:
        for rule in ing.rules:
            if host_matches(rule.host, host) and _level(rule.host, host) == level:
                for ipath in rule.paths:
                    strength = path_match(ipath, path)
                    if strength is not None:
                        matches.append((strength, ing, rule.host, ipath))
    if matches:
        top = max(m[0] for m in matches)
        best = sorted((m for m in matches if m[0] == top), key=lambda m: m[1].meta.key)
        _, ing, rule_host, ipath = best[0]
        result.ingress, result.rule_host, result.ipath, result.backend = ing, rule_host, ipath, ipath.backend
        result.ties = [m[1] for m in best[1:] if m[1] is not ing]
    else:
        # Prefer the default backend of an Ingress that names this host; else any of the class.
        with_default = sorted((i for i in ings if i.default_backend is not None),
                              key=lambda i: (best_level([i]) != level, i.meta.key))
        if not with_default:
            return None
        result.ingress, result.backend = with_default[0], with_default[0].default_backend
    result.class_ref = ingress_class(result.ingress, default)
    result.tls, result.tls_ingress = _tls_for(ings, result.ingress, host)
    return result


def _tls_for(ings: list[Ingress], serving: Ingress, host: str) -> tuple[IngressTLS | None, Ingress | None]:
    """The TLS entry covering `host`: the serving Ingress's own first, then the class's others."""
    for ing in [serving, *(i for i in ings if i is not serving)]:
        for tls in ing.tls:
            if any(host_matches(h, host) for h in tls.hosts if h):
                return tls, ing
    return None, None


def rule_targets(store: ClusterStore) -> list[Target]:
    """Every request an Ingress rule or a Gateway API route's rule names, for listing paths: "" is the host of
    host-less rules and default backends; a path's trailing `*` (ImplementationSpecific) is dropped."""
    out: set[Target] = set()
    for ing in store.ingresses():
        out |= ingress_targets(ing)
    for r in store.routes():
        out |= route_targets(r)
    return sorted(out)


def ingress_targets(ing: Ingress) -> set[Target]:
    """The requests one Ingress's rules (and default backend) name."""
    out = {Target("", "/")} if ing.default_backend is not None else set()
    for rule in ing.rules:
        out.update(_ingress_target(rule.host, p) for p in rule.paths)
    return out


def _ingress_target(host: str, p: IngressPath) -> Target:
    """The request an Ingress path names: a trailing `*` (ImplementationSpecific) dropped, no path is `/`."""
    return Target(host, (p.path.rstrip("*") if p.path_type == "ImplementationSpecific" else p.path) or "/")


def route_targets(r: XRoute) -> set[Target]:
    """The requests one Gateway API route's rules name."""
    return {t for rule in r.rules for t in route_rule_targets(r, rule)}


def route_rule_targets(route: XRoute, rule: RouteRule) -> list[Target]:
    """The requests one rule of a route names, per hostname ("" for a route without hostnames: its listeners'):
    an HTTPRoute's path matches, a GRPCRoute's calls (grpc://; a match without a service, any call), a TLSRoute's
    hostnames (tls://). Regular expressions, and a gRPC method without its service, name no request."""
    hosts = route.hostnames or ("",)
    if route.meta.kind == "TLSRoute":
        return [Target(h, "", "tls") for h in hosts]
    if route.meta.kind == "GRPCRoute":
        calls = {call_path(m.service, m.method) for m in rule.matches
                 if isinstance(m, GRPCMatch) and m.type == "Exact" and (m.service or not m.method)}
        return [Target(h, call, "grpc") for h in hosts for call in sorted(calls)]
    return [Target(h, m.path) for h in hosts for m in rule.matches
            if isinstance(m, RouteMatch) and m.path_type != "RegularExpression"]


def rules_to_service(store: ClusterStore, namespace: str, service: str) -> list[Target]:
    """The requests whose rules (Ingress, default backends, Gateway API routes) send traffic to this Service: what
    reaches a Service or, through it, a pod. "" is the host of host-less rules and default backends."""
    out: set[Target] = set()
    for ing in store.ingresses_for_service(namespace, service):
        if ing.default_backend is not None and ing.default_backend.service == service:
            out.add(Target("", "/"))
        for rule in ing.rules:
            out.update(_ingress_target(rule.host, p) for p in rule.paths if p.backend.service == service)
    for r in store.routes_for_service(namespace, service):  # route rules giving it a share of requests
        for rule in r.rules:
            if any(b.is_service and (b.namespace, b.name) == (namespace, service) and b.weight > 0
                   for b in rule.backends):
                out.update(route_rule_targets(r, rule))
    return sorted(out)
