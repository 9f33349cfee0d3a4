"""Which rows carry a problem and which lie on the selected path (or reach the selected Service or
pod). Pure (no Textual): the app turns the answers into marks on its panes, and tests check them
directly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ktrace.checks.service import SELECTOR_NO_MATCH, candidates
from ktrace.findings import Finding
from ktrace.gateway import hostname_matches
from ktrace.model import ROUTE_KINDS, Service, XRoute
from ktrace.nearmiss import near_misses
from ktrace.requestpath import (
    FRONT,
    INGRESS,
    PODS,
    SERVICE,
    GRPCRouteDetail,
    Hop,
    HTTPRouteDetail,
    IngressDetail,
    PathStatus,
    RequestPath,
    TLSRouteDetail,
)
from ktrace.routing import rules_to_service
from ktrace.store import ClusterStore
from ktrace.targets import Target, call_path
from ktrace.tui import rows as R
from ktrace.verdicts import entry_text

Ref = tuple[str, str, str]  # (kind, namespace, name)
Key = tuple[str, ...]
PaneKeys = dict[str, set[Key]]  # pane id -> the keys of its rows to mark
PANE_IDS = ("namespaces", "rules", "services", "pods")
# The pane where a finding's object has its row (a TLS Secret's problem shows on the routes that use it, a
# BackendTLSPolicy's on the Services it targets).
FINDING_PANE = {"Ingress": "rules", **dict.fromkeys(ROUTE_KINDS, "rules"), "Gateway": "rules", "Secret": "rules",
                "Service": "services", "BackendTLSPolicy": "services", "Pod": "pods", "Namespace": "namespaces"}
MARK_RANK = {"error": 3, "warning": 2, "unknown": 1}  # row marks; info findings mark no row
# A route's path verdict as a row mark (ok: unmarked).
VERDICT_MARK = {PathStatus.BROKEN: "error", PathStatus.DEGRADED: "warning", PathStatus.UNKNOWN: "unknown"}


def _worse(severity: str, than: str | None) -> bool:
    return MARK_RANK[severity] > MARK_RANK.get(than or "", 0)


def worst_by_object(findings: Iterable[Finding]) -> dict[Ref, str]:
    """The worst error or warning about each object."""
    worst: dict[Ref, str] = {}
    for f in findings:
        ref = (f.kind, f.namespace, f.name)
        if f.severity in ("error", "warning") and _worse(f.severity, worst.get(ref)):
            worst[ref] = f.severity
    return worst


def problem_marks(pane_id: str, rows: Iterable[R.Row], worst: dict[Ref, str]) -> dict[tuple[str, ...], str]:
    """The problem to show on each row of a pane: a namespace row shows the worst problem inside it; a
    route row shows its Gateways' and TLS Secrets' problems too (`Row.also`)."""
    if pane_id == "namespaces":
        by_namespace: dict[str, str] = {}
        for (_, ns, _), severity in worst.items():
            if ns and _worse(severity, by_namespace.get(ns)):
                by_namespace[ns] = severity
        return {r.key: by_namespace[r.namespace] for r in rows if r.namespace in by_namespace}
    marks: dict[tuple[str, ...], str] = {}
    for r in rows:
        for ref in (r.ref, *r.also):
            if ref in worst and _worse(worst[ref], marks.get(r.key)):
                marks[r.key] = worst[ref]
    return marks


def verdict_marks(route_rows: Iterable[R.Row], statuses: Mapping[Target, str]) -> dict[str, dict[Key, str]]:
    """The routes pane's rows marked with their path's verdict (by host and path), and the namespaces pane's
    rows with the worst verdict of their routes."""
    routes: dict[Key, str] = {}
    namespaces: dict[Key, str] = {}
    for r in route_rows:
        mark = VERDICT_MARK.get(statuses.get(R.row_target(r.key), PathStatus.OK))  # type: ignore[call-overload]
        if mark is not None:
            routes[r.key] = mark
            if r.namespace and _worse(mark, namespaces.get((r.namespace,))):
                namespaces[(r.namespace,)] = mark
    return {"rules": routes, "namespaces": namespaces}


def worse_marks(a: Mapping[Key, str], b: Mapping[Key, str]) -> dict[Key, str]:
    """Both sets of marks, the worse one where a row has two."""
    out = dict(a)
    for key, mark in b.items():
        if _worse(mark, out.get(key)):
            out[key] = mark
    return out


def path_keys(store: ClusterStore, path: RequestPath) -> PaneKeys:
    """The rows of a traced path, pane by pane. The front door marks nothing: every path of its class goes
    through it, so its namespace (or Service, or pods) would be marked on all of them and single out none."""
    keys: PaneKeys = {p: set() for p in PANE_IDS}
    for hop in path.hops:
        if hop.level == FRONT:
            continue
        keys["namespaces"].add((hop.namespace,))
        if hop.level == INGRESS:
            if hop.kind in ROUTE_KINDS:
                keys["rules"].update(_route_row_keys(store, hop, path.host))
            elif isinstance(hop.detail, IngressDetail):
                rule_path = hop.detail.path or "/"
                if hop.detail.path_type == "ImplementationSpecific":
                    rule_path = rule_path.rstrip("*") or "/"
                keys["rules"].add(R.rule_key(hop.detail.host or "", rule_path, hop.namespace, hop.name))
        elif hop.level == SERVICE and hop.kind == "Service":
            keys["services"].add((hop.namespace, hop.name))
        elif hop.level == PODS:
            keys["pods"].add((hop.namespace, hop.name))
    return keys


def near_miss_keys(store: ClusterStore, path: RequestPath) -> set[Key]:
    """The Pods pane's rows of the near misses the path's findings name: the pods a Service selector that
    matches no pod almost matches (`App=aspnetapp` against pods labelled `app=aspnetapp`)."""
    keys: set[Key] = set()
    for f in path.findings:
        if f.code == SELECTOR_NO_MATCH.code:
            selector = f.details["selector"]
            for miss in near_misses(selector, candidates(store, f.namespace, selector)):
                keys.update((f.namespace, pod) for pod in miss.candidate.pods)
    return keys


def _route_row_keys(store: ClusterStore, hop: Hop, host: str) -> list[Key]:
    """The rows of a Gateway API route hop: the traced match (the hostname that took the host, "" when the route
    lists none, and the path, the gRPC call or, for a TLSRoute, the hostname alone); for a route that attaches
    nowhere, its rows for the traced host."""
    route = store.get(hop.kind, hop.namespace, hop.name)
    if not isinstance(route, XRoute):
        return []
    rows = R.route_rows(store, route)
    d = hop.detail
    if isinstance(d, HTTPRouteDetail | GRPCRouteDetail | TLSRouteDetail):
        hostname = (d.hostname or "") if route.hostnames else ""
        return [r.key for r in rows if r.key[:2] == (hostname, _request_of(d))]
    return [r.key for r in rows if hostname_matches(r.key[0], host)]


def _request_of(d: HTTPRouteDetail | GRPCRouteDetail | TLSRouteDetail) -> str:
    """The request a traced rule's match names, as its row's key has it (a Target's path)."""
    if isinstance(d, HTTPRouteDetail):
        return d.path
    if isinstance(d, GRPCRouteDetail):
        return call_path(d.service or "", d.method or "")
    return ""


def services_behind(store: ClusterStore, ref: Ref) -> list[Service]:
    """The Service itself, or the Services that select a pod; none when the object is gone."""
    kind, ns, name = ref
    obj = store.get(kind, ns, name)
    if isinstance(obj, Service):
        return [obj]
    return store.services_selecting(obj) if obj is not None and kind == "Pod" else []  # type: ignore[arg-type]


def rows_reaching(store: ClusterStore, svc: Service, route_rows: Iterable[R.Row]) -> list[R.Row]:
    """The routes pane's rows whose rules send traffic to a Service: Ingresses of its namespace, Gateway API routes
    of any namespace with a backendRef to it."""
    ns, name = svc.meta.key
    reach = set(rules_to_service(store, ns, name))
    routes = {(r.meta.kind, *r.meta.key) for r in store.routes_for_service(ns, name)}
    return [r for r in route_rows if R.row_target(r.key) in reach
            and (r.ref in routes if r.ref[0] != "Ingress" else r.namespace == ns)]


def reverse_keys(store: ClusterStore, ref: Ref, route_rows: Iterable[R.Row]) -> PaneKeys:
    """The rows of a Service or pod and of everything that sends traffic to it."""
    kind, ns, name = ref
    keys: PaneKeys = {p: set() for p in PANE_IDS}
    keys["namespaces"].add((ns,))
    keys["pods" if kind == "Pod" else "services"].add((ns, name))
    route_rows = list(route_rows)
    for svc in services_behind(store, ref):
        keys["services"].add(svc.meta.key)
        keys["rules"].update(r.key for r in rows_reaching(store, svc, route_rows))
    return keys


def reverse_lines(store: ClusterStore, ref: Ref, route_rows: Iterable[R.Row]) -> tuple[str, list[str]]:
    """The reverse view of a Service or pod: a title and one line per host and path that reaches it."""
    kind, ns, name = ref
    if store.get(kind, ns, name) is None:
        return f"{kind} {ns}/{name} is gone", []
    services = services_behind(store, ref)
    route_rows = list(route_rows)
    lines = [f"{entry_text(R.row_target(row.key))} -> Service {svc.meta.name} ({row.ref[0]} {row.ref[1]}/{row.ref[2]})"
             for svc in services for row in rows_reaching(store, svc, route_rows)]
    if kind == "Pod" and not services:
        lines = ["no Service selects this pod"]
    return f"Reaching {kind} {ns}/{name}:", lines


def finding_target(f: Finding) -> Target | None:
    """The host and path a finding is about, when it names one (no route for a host, an Ingress rule's
    problem): the path to show for it."""
    if f.kind == "Host":  # a grpc:// or tls:// target's finding names its scheme
        scheme = f.details.get("scheme", "")
        return Target(f.name, f.details.get("path") or ("" if scheme else "/"), scheme)
    if f.kind == "Ingress" and f.details.get("host") is not None:
        return Target(f.details["host"] or "", f.details.get("path") or "/")
    return None


def row_of(ref: Ref, rows: Iterable[R.Row]) -> Key | None:
    """The first row that stands for the object, or shows its problems."""
    return next((r.key for r in rows if r.ref == ref or ref in r.also), None)
