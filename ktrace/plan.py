"""What a set of changes does to traffic, before it is applied: the routes the changed objects can touch, traced
before and after, and what differs on each (`ktrace plan`); the same report between two sources (`ktrace diff`).

The changes are records (`ObjectChange`): the sources build them from files, `kubectl apply`'s way (the same
kind/namespace/name replaces, a new one is added), with a workload's pods and the Services' EndpointSlices as the
controllers would make them (ktrace.sources.overlay). They are applied to the loaded store as watch events are, so
the checks re-run incrementally and only the routes they can touch are traced, found through the store's indexes
(`touched`): not one trace of every route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ktrace import migration
from ktrace.checks.networkpolicy import ControllerHint, could_be_controller
from ktrace.findings import Finding, sort_key
from ktrace.history import History, differences
from ktrace.migration import EntryComparison
from ktrace.model import (
    ROUTE_KINDS,
    WORKLOAD_KINDS,
    BackendTLSPolicy,
    EndpointSlice,
    Gateway,
    Ingress,
    Namespace,
    Pod,
    Record,
    Secret,
    Service,
    Workload,
    XRoute,
)
from ktrace.pathdiff import PathDiff, diff_paths, entry_point, finding_key, minus, severity
from ktrace.requestpath import RequestPath
from ktrace.routing import host_matches, ingress_targets, route_targets, rule_targets, rules_to_service
from ktrace.selectors import from_match_labels, matches
from ktrace.store import ClusterStore
from ktrace.targets import Target

ChangeKey = tuple[str, str, str, str]  # (kind, event type, namespace, name), as a watch batch names its changes


@dataclass(frozen=True)
class ObjectChange:
    """One object the changes add (`old` None), replace, or delete (`new` None). `cause`: "" for an object of the
    change files; else why it changes with them (`pods of Deployment shop/web`, `EndpointSlice controller`)."""
    old: Record | None
    new: Record | None
    cause: str = ""

    @property
    def record(self) -> Record:
        r = self.new if self.new is not None else self.old
        assert r is not None
        return r

    @property
    def action(self) -> str:
        return "add" if self.old is None else "delete" if self.new is None else "change"

    @property
    def ref(self) -> str:
        m = self.record.meta
        return f"{m.kind} {m.namespace}/{m.name}" if m.namespace else f"{m.kind} {m.name}"

    def fields(self) -> list[tuple[str, str, str]]:
        """(field, old, new) for each fact the analysis reads that the change moves."""
        return list(differences(self.old, self.new)) if self.old is not None and self.new is not None else []

    def to_dict(self) -> dict[str, Any]:
        m = self.record.meta
        return {"action": self.action, "kind": m.kind, "namespace": m.namespace or None, "name": m.name,
                "cause": self.cause or None,
                "fields": [{"field": f, "old": o, "new": n} for f, o, n in self.fields()]}


@dataclass(frozen=True)
class Overlay:
    """Changes to lay over a source once it is loaded (the interactive view's `--plan`): `proposed` names them (the
    files), `changes` makes them for the loaded store (the files are read before the view opens)."""
    proposed: str
    changes: Callable[[ClusterStore], list[ObjectChange]]


def apply(store: ClusterStore, changes: Iterable[ObjectChange]) -> list[ChangeKey]:
    """Apply the changes to the store (in memory: nothing is sent anywhere); the keys a watch batch would carry.
    They are planned, not seen: the store's history of changes (the paths' "changes seen") does not note them."""
    keys: list[ChangeKey] = []
    seen, store.history = store.history, History()
    try:
        for c in changes:
            event = "DELETED" if c.new is None else "MODIFIED" if c.old is not None else "ADDED"
            if store.apply_record(event, c.new if c.new is not None else c.old):
                m = c.record.meta
                keys.append((m.kind, event, m.namespace, m.name))
    finally:
        store.history = seen
    return keys


# What two sources' differences are listed by: not pods and slices, which controllers make (their names differ
# between clusters); the paths show what they change.
_DERIVED = frozenset({"Pod", "EndpointSlice"})
_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # the API server labels every Namespace with its name
# Namespaces every cluster has, which files seldom declare: one side without them is no difference.
_BUILT_IN = frozenset({("", "default"), ("", "kube-system"), ("", "kube-public"), ("", "kube-node-lease")})


def differing(a: ClusterStore, b: ClusterStore) -> list[ObjectChange]:
    """The objects that differ from `a` to `b`, by kind and name (pods and EndpointSlices aside): added, removed,
    or changed in a fact the analysis reads (ktrace.history's), as the objects' own files would write it: what the
    cluster adds (statuses, creation times, the Namespace name label) is left out, so a cluster compares equal to
    the files it was applied from."""
    out = []
    for kind in sorted((set(a.kinds()) | set(b.kinds())) - _DERIVED):
        mine = {r.meta.key: _written(r) for r in a.objects(kind)}
        theirs = {r.meta.key: _written(r) for r in b.objects(kind)}
        for key in sorted(mine.keys() | theirs.keys()):
            old, new = mine.get(key), theirs.get(key)
            if kind == "Namespace" and key in _BUILT_IN and (old is None or new is None):
                continue
            if old is None or new is None or _moved(old, new):
                out.append(ObjectChange(old, new))
    return out


def _written(r: Record) -> Record:
    """The record as a file writes the object: the fields the cluster fills in emptied."""
    if isinstance(r, Gateway):
        return replace(r, conditions=(), addresses=(), listeners=tuple(replace(x, conditions=()) for x in r.listeners))
    if isinstance(r, XRoute | BackendTLSPolicy):
        return replace(r, created="", **({"statuses": ()} if isinstance(r, XRoute) else {"ancestors": ()}))
    if isinstance(r, Ingress):
        return replace(r, addresses=())
    if isinstance(r, Service):
        return replace(r, lb_addresses=())
    if isinstance(r, Namespace):
        labels = {k: v for k, v in r.meta.labels.items() if k != _NAMESPACE_NAME_LABEL}
        return replace(r, phase="", meta=replace(r.meta, labels=labels))
    return r


def _moved(old: Record, new: Record) -> bool:
    """Whether a fact the analysis reads differs; a Secret's type where both sides know it (a cluster's
    metadata-only list may not)."""
    if isinstance(old, Secret) and isinstance(new, Secret):
        return bool(old.type and new.type and old.type != new.type)
    return any(True for _ in differences(old, new))


def same(old: Record, new: Record) -> bool:
    """Nothing the analysis keeps differs (the version and the managedFields time and manager aside)."""
    meta = replace(new.meta, resource_version=old.meta.resource_version, changed=old.meta.changed,
                   manager=old.meta.manager, uid=old.meta.uid)
    return old == replace(new, meta=meta)  # type: ignore[type-var]


# -- which routes a change can touch ---------------------------------------------------------------------

# Kinds whose change can move any route (a class, a Gateway, who may reference what, namespace labels that
# NetworkPolicy peers and allowedRoutes select): every route is traced.
_ANY_ROUTE = frozenset({"Gateway", "GatewayClass", "IngressClass", "ReferenceGrant", "Namespace"})


def touched(store: ClusterStore, changes: Iterable[ObjectChange],
            controllers: ControllerHint | None = None) -> set[Target] | None:
    """The requests (as `routing.rule_targets` names them) whose path a change can touch, read from the store's
    indexes before the changes are applied, for both versions of each object; None: possibly any."""
    out: set[Target] = set()
    hosts: set[str] = set()
    for c in changes:
        for r in (c.old, c.new):
            if r is None:
                continue
            found = _reached(store, r, hosts, controllers)
            if found is None:
                return None
            out |= found
    if hosts:  # every request on those hosts: another rule of theirs may take or lose it
        hosts = _sharing(store, hosts)
        out.update(t for t in rule_targets(store) if any(_related(t.host, h) for h in hosts))
    return out


def _sharing(store: ClusterStore, hosts: set[str]) -> set[str]:
    """`hosts` and every hostname of the routes sharing one of them, until none is added: a Gateway accepts one of
    two conflicting routes whole, so a change on one host can move another route's other hostnames."""
    out = set(hosts)
    routes = [r for r in store.routes() if r.hostnames]
    while True:
        more = {h for r in routes if not out.issuperset(r.hostnames)
                and any(_related(a, b) for a in r.hostnames for b in out) for h in r.hostnames}
        if not more - out:
            return out
        out |= more


def _related(a: str, b: str) -> bool:
    return not a or not b or host_matches(a, b) or host_matches(b, a)


def named_by(changes: Iterable[ObjectChange]) -> set[Target]:
    """The requests the changed Ingresses' and routes' rules name after the changes."""
    return {t for c in changes if c.new is not None for t in entries_of(c.new)}


def entries_of(r: Record) -> set[Target]:
    """The requests an Ingress's or a route's own rules name."""
    return ingress_targets(r) if isinstance(r, Ingress) else route_targets(r) if isinstance(r, XRoute) else set()


def _reached(store: ClusterStore, r: Record, hosts: set[str], controllers: ControllerHint | None) -> set[Target] | None:
    kind, ns, name = r.meta.kind, r.meta.namespace, r.meta.name
    if kind in _ANY_ROUTE:
        return None
    if isinstance(r, Ingress | XRoute):
        named = entries_of(r)
        if isinstance(r, XRoute) and not r.hostnames:
            return None  # it takes its listeners' hostnames: whichever routes share them
        hosts.update(t.host for t in named)
        return named
    if isinstance(r, Service):
        if any(could_be_controller(p.meta.labels, controllers) for p in _selected(store, ns, r.selector)):
            return None  # a front door's Service: every route through that controller
        return _via_service(store, ns, name, hosts)
    if isinstance(r, EndpointSlice):
        return _via_service(store, ns, r.service, hosts)
    if isinstance(r, Pod):
        if could_be_controller(r.meta.labels, controllers):
            return None
        return {t for svc in store.services_selecting(r) for t in _via_service(store, ns, svc.meta.name, hosts)}
    if isinstance(r, Workload):  # its pods change on their own (ObjectChange of each); the near miss reads templates
        return {t for svc in store.services(ns) if svc.selector and matches(from_match_labels(svc.selector),
                                                                             r.template_labels)
                for t in _via_service(store, ns, svc.meta.name, hosts)}
    if kind == "NetworkPolicy":  # into its namespace's pods; out of them, if they could be a controller
        if (controllers is not None and controllers.namespace == ns) or \
                any(could_be_controller(p.meta.labels, controllers) for p in store.pods(ns)):
            return None
        return {t for svc in store.services(ns) for t in _via_service(store, ns, svc.meta.name, hosts)}
    if kind == "Secret":  # an Ingress's TLS Secret; a Gateway's (maybe across namespaces) or a CA: any
        if store.gateways() or any(True for _ in store.objects("BackendTLSPolicy")):
            return None
        return {t for ing in store.ingresses(ns) if any(tls.secret == name for tls in ing.tls) for t in entries_of(ing)}
    if isinstance(r, BackendTLSPolicy):
        return {t for ref in r.targets if ref.kind == "Service" for t in _via_service(store, ns, ref.name, hosts)}
    if kind == "ConfigMap":  # a BackendTLSPolicy's CA certificate
        return {t for p in store.objects("BackendTLSPolicy", ns) if isinstance(p, BackendTLSPolicy)
                and any(c.kind == "ConfigMap" and c.name == name for c in p.ca_refs)
                for ref in p.targets if ref.kind == "Service" for t in _via_service(store, ns, ref.name, hosts)}
    if kind in WORKLOAD_KINDS or kind in ROUTE_KINDS:
        return set()
    return None  # a kind the analysis reads in ways not indexed here (Nodes for externalTrafficPolicy): any


def _selected(store: ClusterStore, ns: str, selector: Any) -> list[Pod]:
    return store.pods_matching(ns, selector) if selector else []


def _via_service(store: ClusterStore, ns: str, name: str, hosts: set[str]) -> set[Target]:
    """The requests the rules naming a Service send it, and (into `hosts`) the hostnames of every Gateway API route
    naming it at all (at weight 0, as a mirror: still on the path). A request one route rule names may be served by
    another rule of its host (a header match the bare request lacks); an Ingress path's request is its own rule's."""
    for route in store.routes_for_service(ns, name):
        hosts.update(route.hostnames or ("",))
    return set(rules_to_service(store, ns, name))


# -- the report --------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class RouteChange(PathDiff):
    """One request traced before and after; `existed`/`exists`: whether a rule named it on that side."""
    target: Target
    before: RequestPath
    after: RequestPath
    existed: bool  # a rule named it before
    exists: bool  # a rule names it after

    @property
    def status_before(self) -> str:
        return self.before.status if self.existed else "absent"

    @property
    def status_after(self) -> str:
        return self.after.status

    @property
    def entry_before(self) -> str:
        return entry_point(self.before)

    @property
    def entry_after(self) -> str:
        return entry_point(self.after)

    @property
    def worse(self) -> bool:
        """Its verdict gets worse, or it gains an error finding (a new route that is broken counts)."""
        was = severity(self.before.status) if self.existed else 0
        return severity(self.after.status) > was or any(f.severity == "error" for f in self.appear)

    @property
    def better(self) -> bool:
        return not self.worse and self.existed and severity(self.after.status) < severity(self.before.status)

    @property
    def changed(self) -> bool:
        return bool(self.status_before != self.status_after or self.stop or self.start or self.ports_before
                    or self.ports_after or self.shares_before or self.shares_after or self.appear
                    or self.disappear or self.entry_before != self.entry_after)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.after.label, "before": self.status_before, "after": self.status_after,
                "worse": self.worse, "entryBefore": self.entry_before or None, "entryAfter": self.entry_after or None,
                "diff": self.diff_dict(), "path": self.after.to_dict()}


@dataclass
class Plan:
    changes: list[ObjectChange]
    routes: list[RouteChange]  # the routes that change, worst first
    unchanged: list[Target]  # traced (a change could touch them) and the same after
    appear: list[Finding] = field(default_factory=list)  # findings on no route reported here
    disappear: list[Finding] = field(default_factory=list)
    baseline: str = ""  # what the changes were laid over (a source's label)
    proposed: str = ""  # what was laid over it (files), or the other side of a diff
    # The hosts whose entry point moved between an Ingress and an HTTPRoute: the two compared (ktrace.migration)
    entry_points: list[EntryComparison] = field(default_factory=list)

    @property
    def worse(self) -> bool:
        return any(r.worse for r in self.routes) or any(f.severity == "error" for f in self.appear)

    def counts(self) -> dict[str, int]:
        return {"worse": sum(r.worse for r in self.routes), "better": sum(r.better for r in self.routes),
                "changed": len(self.routes), "unchanged": len(self.unchanged)}

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "proposed": self.proposed, "worse": self.worse,
                "summary": self.counts(),
                "changes": [c.to_dict() for c in self.changes],
                "routes": [r.to_dict() for r in self.routes],
                "unchanged": [str(t) for t in self.unchanged],
                "findingsAppear": [f.to_dict() for f in self.appear],
                "findingsDisappear": [f.to_dict() for f in self.disappear],
                "entryPoints": [e.to_dict() for e in self.entry_points]}


def compare(targets: Iterable[Target], before: Callable[[Target], RequestPath], after: Callable[[Target], RequestPath],
            existed: set[Target], exists: set[Target]) -> Iterator[RouteChange]:
    """Each target traced on both sides, and what differs."""
    for t in sorted(targets):
        a, b = before(t), after(t)
        yield RouteChange(**vars(diff_paths(a, b)), target=t, before=a, after=b, existed=t in existed,
                          exists=t in exists)


def ingress_side(store: ClusterStore, changes: list[ObjectChange]) -> ClusterStore | None:
    """Before the changes are applied, what an Ingress entry point reads (Ingresses, IngressClasses, Services), to
    compare with the HTTPRoutes the changes bring where a host moves off its Ingress; None when none can (the files
    change no Ingress or no HTTPRoute)."""
    kinds = {c.record.meta.kind for c in changes if not c.cause}
    if not {"Ingress", "HTTPRoute"} <= kinds:
        return None
    side = ClusterStore()
    for kind in ("Ingress", "IngressClass", "Service"):
        for r in store.objects(kind):
            side.apply_record("ADDED", r)
    side.scope, side.unreadable = store.scope, set(store.unreadable)
    return side


def moved_entry_points(routes: Iterable[RouteChange], before: ClusterStore, after: ClusterStore, *,
                       live_before: bool, live_after: bool) -> list[EntryComparison]:
    """For each host an Ingress served on one side and an HTTPRoute on the other, the two entry points compared."""
    found: list[EntryComparison] = []
    seen: set[tuple[str, bool]] = set()
    for r in routes:
        kinds = (r.entry_before.partition(" ")[0], r.entry_after.partition(" ")[0])
        forward = kinds == ("Ingress", "HTTPRoute")
        if (not forward and kinds != ("HTTPRoute", "Ingress")) or not r.target.host or (r.target.host, forward) in seen:
            continue
        seen.add((r.target.host, forward))
        c = migration.compare(before, after, r.target.host, live=live_after) if forward else \
            migration.compare(after, before, r.target.host, live=live_before)
        if c is not None:
            found.append(c)
    return found


def report(changes: list[ObjectChange], routes: Iterable[RouteChange], findings_before: list[Finding],
           findings_after: list[Finding]) -> Plan:
    """The plan: the routes that change (worse first, then by request), and the findings that appear or go that
    no reported route carries."""
    done = list(routes)
    moved = [r for r in done if r.changed]
    moved.sort(key=lambda r: (not r.worse, not r.better, r.target))
    on_routes = {finding_key(f) for r in moved for f in (*r.appear, *r.disappear)}
    appear = [f for f in minus(findings_after, findings_before) if finding_key(f) not in on_routes]
    disappear = [f for f in minus(findings_before, findings_after) if finding_key(f) not in on_routes]
    return Plan(changes, moved, [r.target for r in done if not r.changed],
                sorted(appear, key=sort_key), sorted(disappear, key=sort_key))
