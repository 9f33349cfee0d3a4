"""The rows of the four main panes, built from the store. Pure (no Textual): the table widget only
draws them, and tests check them directly.

Every cell that comes from the cluster goes through `clean()`: a label value must not be able to
move the cursor or retitle the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ktrace.backends import service_backends
from ktrace.gateway import PROTOCOLS_OF, backend_shares, hostname_matches
from ktrace.model import (
    GATEWAY_GROUP,
    BackendRef,
    Ingress,
    Match,
    Pod,
    RouteMatch,
    RouteRule,
    Service,
    XRoute,
)
from ktrace.printable import clean
from ktrace.rollout import version_of
from ktrace.routing import route_rule_targets
from ktrace.store import ClusterStore
from ktrace.targets import SCHEME_OF, Target

NAMESPACE_COLUMNS = ("NAMESPACE", "ING", "SVC", "PODS")
# One pane for every entry point: "ing" rows are Ingress rules; behind Gateways, "gw" rows are HTTPRoute matches,
# "grpc" rows GRPCRoute calls, "tls" rows TLSRoute hostnames (by SNI). ENTRY is what takes the request first: the
# ingress class, or the route's parent Gateways.
# HOST (the key column) is whole; PATH and BACKEND share what is left (RULE_ESSENTIAL); the rest scrolls (←/→).
RULE_COLUMNS = ("HOST", "PATH", "BACKEND", "TLS", "VIA", "ENTRY", "OBJECT")
RULE_ESSENTIAL = 3
# What matters most comes first: narrow panes cut columns at the right edge.
SERVICE_COLUMNS = ("SERVICE", "READY", "TYPE", "PORTS", "NAMESPACE")
POD_COLUMNS = ("POD", "READY", "STATUS", "RESTARTS", "IP", "NODE", "NAMESPACE", "VERSION")
ALL_NAMESPACES = ""  # the key of the "(all)" row of the namespaces pane


@dataclass(frozen=True, slots=True)
class Row:
    key: tuple[str, ...]  # unique in its pane; rows are shown sorted by key
    ref: tuple[str, str, str]  # (kind, namespace, name) of the object the row stands for
    cells: tuple[str, ...]
    namespace: str = ""  # "" for rows that belong to no namespace
    labels: Mapping[str, str] = field(default_factory=dict)
    text: str = ""  # lower-cased cells, what a substring filter searches
    also: tuple[tuple[str, str, str], ...] = ()  # other objects whose problems the row shows: Gateways, TLS Secrets,
    # a Service's BackendTLSPolicies


def _row(key: tuple[str, ...], ref: tuple[str, str, str], cells: tuple[object, ...], namespace: str = "",
         labels: Mapping[str, str] | None = None, also: tuple[tuple[str, str, str], ...] = ()) -> Row:
    shown = tuple(clean(c) for c in cells)
    return Row(key, ref, shown, namespace, dict(labels or {}), " ".join(shown).lower(), also)


# -- namespaces ------------------------------------------------------------------------------------

_COUNTED = ("Ingress", "Service", "Pod")  # the namespaces pane's ING, SVC and PODS


def namespace_rows(store: ClusterStore) -> list[Row]:
    """One row per namespace with its counts, after an "(all)" row that selects every namespace."""
    return [all_namespaces_row(store), *(namespace_row(store, ns) for ns in store.namespaces())]


def all_namespaces_row(store: ClusterStore) -> Row:
    return _row((ALL_NAMESPACES,), ("Namespace", "", ""), ("(all)", *(store.count(k) for k in _COUNTED)))


def namespace_row(store: ClusterStore, ns: str) -> Row:
    obj = store.get("Namespace", "", ns)
    labels = obj.meta.labels if obj is not None else {}
    return _row((ns,), ("Namespace", "", ns), (ns, *(store.count(k, ns) for k in _COUNTED)), ns, labels)


# -- routes: Ingress rules and Gateway API routes ---------------------------------------------------

def rule_key(host: str, path: str, namespace: str, ingress: str) -> tuple[str, str, str, str]:
    return (host, path, namespace, ingress)


def ingress_rows(ing: Ingress) -> list[Row]:
    """One row per host + path of an Ingress (and one for its default backend)."""
    ns, name = ing.meta.key
    cls = ing.class_name or ing.class_annotation or "(default)"
    tls_hosts = {h for t in ing.tls for h in t.hosts}
    # the TLS Secrets of each host: certificate findings (--check-certs) are about Secrets, which have no pane
    secrets = {h: tuple(("Secret", ns, t.secret) for t in ing.tls
                        if t.secret and h and (h in t.hosts or _wildcard_covers(set(t.hosts), h)))
               for h in {r.host for r in ing.rules}} if ing.tls else {}
    rows = []
    if ing.default_backend is not None:
        rows.append(_row(rule_key("", "/", ns, name), ("Ingress", ns, name),
                         ("*", "(default)", ing.default_backend.label(), "", "ing", cls, f"{ns}/{name}"), ns,
                         ing.meta.labels))
    for rule in ing.rules:
        tls = "tls" if rule.host and (rule.host in tls_hosts or _wildcard_covers(tls_hosts, rule.host)) else ""
        for p in rule.paths:
            path = (p.path.rstrip("*") if p.path_type == "ImplementationSpecific" else p.path) or "/"
            rows.append(_row(rule_key(rule.host, path, ns, name), ("Ingress", ns, name),
                             (rule.host or "*", path, p.backend.label(), tls, "ing", cls, f"{ns}/{name}"), ns,
                             ing.meta.labels, secrets.get(rule.host, ())))
    return rows


def _wildcard_covers(tls_hosts: set[str], host: str) -> bool:
    _, _, rest = host.partition(".")
    return bool(rest) and f"*.{rest}" in tls_hosts


def route_key(host: str, path: str, namespace: str, route: str, kind: str = "HTTPRoute"
              ) -> tuple[str, str, str, str, str]:
    """The key of a Gateway API route's row: sorts next to the Ingress rules of the same host and path, never equal
    to one."""
    return (host, path, namespace, route, kind)


def row_target(key: tuple[str, ...]) -> Target:
    """What a routes pane row traces: its host and path, as a request of its route's kind (an Ingress rule's key
    has four parts, a route's five: the last is its kind)."""
    return Target(key[0], key[1], SCHEME_OF.get(key[4], "") if len(key) > 4 else "")


def route_rows(store: ClusterStore, route: XRoute) -> list[Row]:
    """One row per hostname and request a Gateway API route's rules name ("" host: the route takes its listeners'
    hostnames): an HTTPRoute's path matches, a GRPCRoute's calls, a TLSRoute's hostnames (`route_rule_targets`;
    regular expressions name no request and get no row). Several rules naming one request (told apart by
    headers, query or method): the row shows the rule a plain request takes, else the first. A TLSRoute's
    connections go to its first rule (nothing tells its rules apart)."""
    ns, name = route.meta.key
    kind = route.meta.kind
    rules: dict[str, RouteRule] = {}
    rules_plain: set[str] = set()  # the requests whose row shows a rule a plain request takes
    for rule in route.rules[:1] if kind == "TLSRoute" else route.rules:
        plain = {t.path for t in route_rule_targets(route, replace(rule, matches=tuple(filter(_plain, rule.matches))))}
        for t in route_rule_targets(route, rule):
            if t.path not in rules or (t.path in plain and t.path not in rules_plain):
                rules[t.path] = rule
                if t.path in plain:
                    rules_plain.add(t.path)
    gateways = [gw for p in route.parents if p.kind == "Gateway" and p.group == GATEWAY_GROUP
                and (gw := store.get("Gateway", p.namespace, p.name)) is not None]
    entry = ", ".join(dict.fromkeys(f"{p.namespace}/{p.name}" for p in route.parents)) or "(no parent)"
    parents = tuple(("Gateway", p.namespace, p.name) for p in route.parents if p.kind == "Gateway")  # their findings
    rows = []
    for host in route.hostnames or ("",):
        listeners = [x for gw in gateways for x in gw.listeners  # type: ignore[attr-defined]
                     if x.protocol in PROTOCOLS_OF[kind] and (not host or hostname_matches(x.hostname, host))]
        terminating = [x for x in listeners if x.protocol in ("HTTPS", "TLS") and x.tls_mode != "Passthrough"]
        certs = tuple(dict.fromkeys(("Secret", cns, cname) for x in terminating for ckind, cns, cname in x.certificates
                                    if ckind == "Secret"))
        tls = "/".join(dict.fromkeys(_TLS_MODE.get(x.tls_mode, "term") for x in listeners)) if kind == "TLSRoute" \
            else "tls" if terminating else ""
        for path, rule in rules.items():
            rows.append(_row(route_key(host, path, ns, name, kind), (kind, ns, name),
                             (_host_label(kind, host), _request_label(kind, path), _backends_label(rule, ns), tls,
                              _VIA[kind], entry, f"{ns}/{name}"), ns, route.meta.labels, parents + certs))
    return rows


_VIA = {"HTTPRoute": "gw", "GRPCRoute": "grpc", "TLSRoute": "tls"}  # the VIA column: the route's kind
_TLS_MODE = {"Passthrough": "pass", "Terminate": "term"}  # a TLSRoute's TLS column: its listeners' tls.mode


def _host_label(kind: str, host: str) -> str:
    """The HOST column; a gRPC call's or a TLS connection's as its target is typed (`grpc://host`, `tls://host`):
    the kind shows even where the pane is too narrow for the VIA column."""
    scheme = SCHEME_OF.get(kind)
    return f"{scheme}://{host or '*'}" if scheme else host or "*"


def _request_label(kind: str, path: str) -> str:
    """The PATH column: an HTTP path; a gRPC call (`pkg.Svc/Method`, `pkg.Svc/*`, `*`: any call); a TLSRoute
    routes by the SNI alone."""
    if kind == "TLSRoute":
        return "(SNI)"
    if kind == "GRPCRoute":
        service, _, method = path.lstrip("/").partition("/")
        return f"{service}/{method or '*'}" if service else "*"
    return path


def _plain(m: Match) -> bool:
    """A match a request with no headers (nor query, nor HTTP method) takes, when its path or call does."""
    return not (m.headers or (isinstance(m, RouteMatch) and (m.query or m.method)))


def _backends_label(rule: RouteRule, namespace: str) -> str:
    """The rule's backendRefs; a split shows each one's share of the requests: `shop-green 90%, shop-blue 10%`."""
    if not rule.backends:
        return "(redirect)" if rule.redirect is not None else "(none)"

    def name(b: BackendRef) -> str:
        what = b.name if b.is_service else f"{b.kind}/{b.name}"
        return what if b.namespace == namespace else f"{b.namespace}/{what}"

    if len(rule.backends) == 1:
        b = rule.backends[0]
        return name(b) if b.port is None else f"{name(b)}:{b.port}"
    return ", ".join(f"{name(b)} {share:.0%}" for b, share in zip(rule.backends, backend_shares(rule), strict=True))


def rule_rows(store: ClusterStore) -> list[Row]:
    """The routes pane: every Ingress rule and every request a Gateway API route names."""
    rows = [row for ing in store.ingresses() for row in ingress_rows(ing)]
    rows += [row for route in store.routes() for row in route_rows(store, route)]
    return rows


# -- services --------------------------------------------------------------------------------------

def service_row(store: ClusterStore, svc: Service) -> Row:
    ns, name = svc.meta.key
    ports = ",".join(p.label() if p.protocol == "TCP" else f"{p.label()}/{p.protocol}" for p in svc.ports)
    ready = "external" if svc.type == "ExternalName" else _ready(store, svc)
    policies = tuple(("BackendTLSPolicy", *p.meta.key) for p in store.backend_tls_policies(ns, name))  # their findings
    return _row((ns, name), ("Service", ns, name), (name, ready, svc.type, ports or "-", ns), ns, svc.meta.labels,
                policies)


def _ready(store: ClusterStore, svc: Service) -> str:
    """Ready endpoints over selected backends, for the port with the fewest ready: a pod left out
    of one port's endpoints (a missing named targetPort) serves none of that port's traffic."""
    counts = []
    for port in svc.ports or (None,):
        b = service_backends(store, svc, port)
        if b.unknown and not b.known:
            return f"?/{b.unknown}"  # offline: pod templates without status
        counts.append((b.ready, len(b.pods) + len(b.orphans) - b.unknown))
    ready, total = min(counts, key=lambda c: (c[0], -c[1]))
    return f"{ready}/{total}"


def service_rows(store: ClusterStore) -> list[Row]:
    return [service_row(store, s) for s in store.services()]


# -- pods ------------------------------------------------------------------------------------------

def pod_status(pod: Pod) -> str:
    """What `kubectl get pods` shows in STATUS: a waiting reason beats the phase."""
    if pod.template_of:
        return "template"
    if pod.meta.deleting:
        return "Terminating"
    for s in pod.statuses:
        if s.waiting:
            return s.waiting
    return pod.phase or "-"


def pod_row(pod: Pod) -> Row:
    ns, name = pod.meta.key
    if pod.template_of:
        ready = "?"
    else:
        ready = f"{sum(s.ready for s in pod.statuses)}/{len(pod.containers) or len(pod.statuses)}"
    return _row((ns, name), ("Pod", ns, name),
                (name, ready, pod_status(pod), pod.restarts, pod.ip or "-", pod.node or "-", ns,
                 version_of(pod.meta.labels, pod.containers) or "-"), ns, pod.meta.labels)


def pod_rows(store: ClusterStore) -> list[Row]:
    return [pod_row(p) for p in store.pods()]
