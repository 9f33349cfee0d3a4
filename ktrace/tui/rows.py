"""The rows of the four main panes, built from the store. Pure (no Textual): the table widget only
draws them, and tests check them directly.

Every cell that comes from the cluster goes through `clean()`: a label value must not be able to
move the cursor or retitle the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ktrace.backends import service_backends
from ktrace.gateway import NOT_EVALUATED, backend_shares, hostname_matches
from ktrace.model import GATEWAY_GROUP, BackendRef, Ingress, Listener, Pod, RouteRule, Service, XRoute
from ktrace.printable import clean
from ktrace.rollout import version_of
from ktrace.store import ClusterStore
from ktrace.targets import ROUTED_SCHEMES, Target

NAMESPACE_COLUMNS = ("NAMESPACE", "ING", "SVC", "PODS")
# One pane for every entry point: "ing" rows are Ingress rules, "gw" rows HTTPRoute matches (behind Gateways).
# ENTRY is what takes the request first: the ingress class, or the route's parent Gateways.
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
    also: tuple[tuple[str, str, str], ...] = ()  # other objects whose problems the row shows: Gateways, TLS Secrets


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


# -- routes: Ingress rules and HTTPRoute matches ---------------------------------------------------

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
    scheme = next((s for s, kind in ROUTED_SCHEMES.items() if key[4:5] == (kind,)), "")
    return Target(key[0], key[1], scheme)


def httproute_rows(store: ClusterStore, route: XRoute) -> list[Row]:
    """One row per hostname + path match of an HTTPRoute ("" host: the route takes its listeners' hostnames).
    Regular-expression paths name no path to trace and get no row. Several rules on one path (told apart by
    headers, query or method): the row shows the rule a plain request takes, else the first."""
    ns, name = route.meta.key
    rules: dict[str, RouteRule] = {}
    for rule in route.rules:
        for m in rule.matches:
            if m.path_type == NOT_EVALUATED:
                continue
            plain = not (m.headers or m.query or m.method)
            if m.path not in rules or (plain and not _plain(rules[m.path], m.path)):
                rules[m.path] = rule
    gateways = [gw for p in route.parents if p.kind == "Gateway" and p.group == GATEWAY_GROUP
                and (gw := store.get("Gateway", p.namespace, p.name)) is not None]
    entry = ", ".join(dict.fromkeys(f"{p.namespace}/{p.name}" for p in route.parents)) or "(no parent)"
    parents = tuple(("Gateway", p.namespace, p.name) for p in route.parents if p.kind == "Gateway")  # their findings
    rows = []
    for host in route.hostnames or ("",):
        https = [x for gw in gateways for x in gw.listeners if _https_for(x, host)]  # type: ignore[attr-defined]
        certs = tuple(dict.fromkeys(("Secret", cns, cname) for x in https for kind, cns, cname in x.certificates
                                    if kind == "Secret"))
        for path, rule in rules.items():
            rows.append(_row(route_key(host, path, ns, name), ("HTTPRoute", ns, name),
                             (host or "*", path, _backends_label(rule, ns), "tls" if https else "", "gw", entry,
                              f"{ns}/{name}"), ns, route.meta.labels, parents + certs))
    return rows


def _plain(rule: RouteRule, path: str) -> bool:
    return any(m.path == path and not (m.headers or m.query or m.method) for m in rule.matches)


def _https_for(x: Listener, host: str) -> bool:
    return x.protocol == "HTTPS" and (not host or hostname_matches(x.hostname, host))


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
    """The routes pane: every Ingress rule and every HTTPRoute match."""
    rows = [row for ing in store.ingresses() for row in ingress_rows(ing)]
    rows += [row for route in store.objects("HTTPRoute") for row in httproute_rows(store, route)]  # type: ignore[arg-type]
    return rows


# -- services --------------------------------------------------------------------------------------

def service_row(store: ClusterStore, svc: Service) -> Row:
    ns, name = svc.meta.key
    ports = ",".join(p.label() if p.protocol == "TCP" else f"{p.label()}/{p.protocol}" for p in svc.ports)
    ready = "external" if svc.type == "ExternalName" else _ready(store, svc)
    return _row((ns, name), ("Service", ns, name), (name, ready, svc.type, ports or "-", ns), ns, svc.meta.labels)


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
