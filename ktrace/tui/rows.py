"""The rows of the four main panes, built from the store. Pure (no Textual): the table widget only
draws them, and tests check them directly.

Every cell that comes from the cluster goes through `clean()`: a label value must not be able to
move the cursor or retitle the terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ktrace.backends import service_backends
from ktrace.model import Ingress, Pod, Service
from ktrace.render import clean
from ktrace.store import ClusterStore

NAMESPACE_COLUMNS = ("NAMESPACE", "ING", "SVC", "PODS")
RULE_COLUMNS = ("HOST", "PATH", "BACKEND", "INGRESS", "CLASS", "TLS")
# What matters most comes first: narrow panes cut columns at the right edge.
SERVICE_COLUMNS = ("SERVICE", "READY", "TYPE", "PORTS", "NAMESPACE")
POD_COLUMNS = ("POD", "READY", "STATUS", "RESTARTS", "IP", "NODE", "NAMESPACE")
ALL_NAMESPACES = ""  # the key of the "(all)" row of the namespaces pane


@dataclass(frozen=True, slots=True)
class Row:
    key: tuple[str, ...]  # unique in its pane; rows are shown sorted by key
    ref: tuple[str, str, str]  # (kind, namespace, name) of the object the row stands for
    cells: tuple[str, ...]
    namespace: str = ""  # "" for rows that belong to no namespace
    labels: Mapping[str, str] = field(default_factory=dict)
    text: str = ""  # lower-cased cells, what a substring filter searches


def _row(key: tuple[str, ...], ref: tuple[str, str, str], cells: tuple[object, ...], namespace: str = "",
         labels: Mapping[str, str] | None = None) -> Row:
    shown = tuple(clean(c) for c in cells)
    return Row(key, ref, shown, namespace, dict(labels or {}), " ".join(shown).lower())


# -- namespaces ------------------------------------------------------------------------------------

def namespace_rows(store: ClusterStore) -> list[Row]:
    """One row per namespace with its counts, after an "(all)" row that selects every namespace."""
    counts = {kind: Counter(ns for ns, _ in _keys(store, kind)) for kind in ("Ingress", "Service", "Pod")}
    rows = [_row((ALL_NAMESPACES,), ("Namespace", "", ""), ("(all)", *(sum(c.values()) for c in counts.values())))]
    for ns in store.namespaces():
        obj = store.get("Namespace", "", ns)
        labels = obj.meta.labels if obj is not None else {}
        rows.append(_row((ns,), ("Namespace", "", ns), (ns, *(c[ns] for c in counts.values())), ns, labels))
    return rows


def _keys(store: ClusterStore, kind: str) -> Iterator[tuple[str, str]]:
    return (r.meta.key for r in store.objects(kind))


# -- ingress rules ---------------------------------------------------------------------------------

def rule_key(host: str, path: str, namespace: str, ingress: str) -> tuple[str, str, str, str]:
    return (host, path, namespace, ingress)


def ingress_rows(ing: Ingress) -> list[Row]:
    """One row per host + path of an Ingress (and one for its default backend)."""
    ns, name = ing.meta.key
    cls = ing.class_name or ing.class_annotation or "(default)"
    tls_hosts = {h for t in ing.tls for h in t.hosts}
    rows = []
    if ing.default_backend is not None:
        rows.append(_row(rule_key("", "/", ns, name), ("Ingress", ns, name),
                         ("*", "(default)", ing.default_backend.label(), f"{ns}/{name}", cls, ""), ns,
                         ing.meta.labels))
    for rule in ing.rules:
        tls = "tls" if rule.host and (rule.host in tls_hosts or _wildcard_covers(tls_hosts, rule.host)) else ""
        for p in rule.paths:
            path = (p.path.rstrip("*") if p.path_type == "ImplementationSpecific" else p.path) or "/"
            rows.append(_row(rule_key(rule.host, path, ns, name), ("Ingress", ns, name),
                             (rule.host or "*", path, p.backend.label(), f"{ns}/{name}", cls, tls), ns,
                             ing.meta.labels))
    return rows


def _wildcard_covers(tls_hosts: set[str], host: str) -> bool:
    _, _, rest = host.partition(".")
    return bool(rest) and f"*.{rest}" in tls_hosts


def rule_rows(store: ClusterStore) -> list[Row]:
    return [row for ing in store.ingresses() for row in ingress_rows(ing)]


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
                (name, ready, pod_status(pod), pod.restarts, pod.ip or "-", pod.node or "-", ns), ns, pod.meta.labels)


def pod_rows(store: ClusterStore) -> list[Row]:
    return [pod_row(p) for p in store.pods()]
