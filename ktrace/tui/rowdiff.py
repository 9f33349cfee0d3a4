"""Which rows of the four panes change for a batch of watch events. Pure (no Textual): the app applies
the result inside one `batch_update()`, and tests check it directly.

A pane is redone whole only when its kind was relisted (the watch lost its place); otherwise only
the rows of the changed objects are rebuilt, and the rows they no longer produce are removed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from ktrace.model import ROUTE_KINDS as GATEWAY_ROUTES
from ktrace.store import ClusterStore
from ktrace.tui import rows as R

ChangeKey = tuple[str, str, str, str]  # (kind, event type, namespace, name); type RELIST: the kind was listed again
ROUTE_KINDS = frozenset({"Ingress", *GATEWAY_ROUTES, "Gateway"})  # the kinds the routes pane's rows are built from
# A Service row counts ready endpoints (Service, EndpointSlice, Pod) and shows its BackendTLSPolicies' problems.
SERVICE_KINDS = frozenset({"Service", "EndpointSlice", "Pod", "BackendTLSPolicy"})


@dataclass
class PaneChange:
    rows: list[R.Row] | None = None  # the pane anew
    upserts: list[R.Row] = field(default_factory=list)  # else: rows added or changed...
    removed: list[tuple[str, ...]] = field(default_factory=list)  # ...and the keys of rows gone


def pane_changes(store: ClusterStore, changes: Iterable[ChangeKey], current: Mapping[str, Iterable[R.Row]],
                 services: Collection[tuple[str, str]] | None = None) -> dict[str, PaneChange]:
    """What to do to each pane (missing: nothing). `current`: the rows the routes and services panes hold.
    `services`: the (namespace, name) of the Services whose ready counts the changes can move (what
    `Analysis.rechecked_services` says); None: every Service of each namespace touched."""
    changes = set(changes)
    relisted = {kind for kind, type_, _, _ in changes if type_ == "RELIST"}
    kinds = {kind for kind, _, _, _ in changes}
    out: dict[str, PaneChange] = {}
    if "Pod" in relisted:
        out["pods"] = PaneChange(rows=R.pod_rows(store))
    elif "Pod" in kinds:
        out["pods"] = _pods(store, changes)
    if relisted & ROUTE_KINDS:
        out["rules"] = PaneChange(rows=R.rule_rows(store))
    elif kinds & ROUTE_KINDS:
        out["rules"] = _routes(store, changes, current.get("rules", ()))
    if relisted & SERVICE_KINDS:
        out["services"] = PaneChange(rows=R.service_rows(store))
    elif kinds & SERVICE_KINDS:
        out["services"] = _services(store, changes, current.get("services", ()), services)
    if relisted:
        out["namespaces"] = PaneChange(rows=R.namespace_rows(store))
    elif any(t in ("ADDED", "DELETED") for _, t, _, _ in changes) or "Namespace" in kinds:
        out["namespaces"] = _namespaces(store, changes)
    return out


def _namespaces(store: ClusterStore, changes: set[ChangeKey]) -> PaneChange:
    """The counts of the namespaces where something came or went (and the total), a Namespace's labels."""
    touched = {name if kind == "Namespace" else ns for kind, t, ns, name in changes
               if kind == "Namespace" or (t in ("ADDED", "DELETED") and ns)}
    held = {ns for ns in touched if store.holds_namespace(ns)}
    return PaneChange(upserts=[R.all_namespaces_row(store), *(R.namespace_row(store, ns) for ns in sorted(held))],
                      removed=[(ns,) for ns in sorted(touched - held)])


def _pods(store: ClusterStore, changes: set[ChangeKey]) -> PaneChange:
    change = PaneChange()
    for kind, _, ns, name in changes:
        if kind != "Pod":
            continue
        pod = store.get("Pod", ns, name)
        if pod is None:
            change.removed.append((ns, name))
        else:
            change.upserts.append(R.pod_row(pod))  # type: ignore[arg-type]
    return change


def _routes(store: ClusterStore, changes: set[ChangeKey], current: Iterable[R.Row]) -> PaneChange:
    changed = {(kind, ns, name) for kind, _, ns, name in changes if kind in ROUTE_KINDS - {"Gateway"}}
    if any(kind == "Gateway" for kind, _, _, _ in changes):
        # A Gateway's listeners change its routes' TLS column: redo every Gateway API route's rows (few) then.
        changed |= {(kind, *r.meta.key) for kind in GATEWAY_ROUTES for r in store.objects(kind)}
    fresh = [row for kind, ns, name in changed if (obj := store.get(kind, ns, name)) is not None
             for row in (R.ingress_rows(obj) if kind == "Ingress" else R.route_rows(store, obj))]  # type: ignore[arg-type]
    fresh_keys = {r.key for r in fresh}
    return PaneChange(upserts=fresh, removed=[r.key for r in current if r.ref in changed and r.key not in fresh_keys])


def _services(store: ClusterStore, changes: set[ChangeKey], current: Iterable[R.Row],
              affected: Collection[tuple[str, str]] | None) -> PaneChange:
    """Pods and slices change the ready counts too: recount the affected Services (else those of each
    namespace touched)."""
    if affected is not None:
        keys = set(affected) | {(ns, name) for kind, _, ns, name in changes if kind == "Service"}
        # A BackendTLSPolicy shows on the Services of its namespace it targets (or targeted: it may be gone).
        keys |= {s.meta.key for ns in {ns for kind, _, ns, _ in changes if kind == "BackendTLSPolicy"}
                 for s in store.services(ns)}
        found = {key: svc for key in keys if (svc := store.service(*key)) is not None}
        return PaneChange(upserts=[R.service_row(store, svc) for svc in found.values()],
                          removed=[key for key in keys if key not in found])
    namespaces = {ns for kind, _, ns, _ in changes if kind in SERVICE_KINDS}
    fresh = [R.service_row(store, s) for ns in namespaces for s in store.services(ns)]
    fresh_keys = {r.key for r in fresh}
    return PaneChange(upserts=fresh,
                      removed=[r.key for r in current if r.namespace in namespaces and r.key not in fresh_keys])
