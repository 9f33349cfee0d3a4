"""Every route's verdict, kept current: the request path of each (host, path) that an Ingress rule or an
HTTPRoute match names, traced once at load and then again only when a change touches it.

A reverse index maps each object on a path (and each namespace a path passes through) to the routes,
so a watch event re-traces a handful of routes, never all of them: at 10,000 pods and 1,000 routes a
full pass costs about 0.4 s, one route about 0.4 ms.

What a change can touch:
- an Ingress, HTTPRoute, Gateway or class, a ReferenceGrant, a Namespace, or a relist: any route (a new
  rule can take a host from another; namespace labels decide NetworkPolicy peers): all are traced again;
- a pod: the routes it is on, the routes through the Services that select it now, the routes through a
  Service of its namespace that selects no pod (it may be the near miss, or the fix); a pod outside every
  path's namespaces, or in one where controller pods are or were, or one that could be a controller (an
  ingress controller's or a Gateway's data plane, by its labels) may change who the controller is: the
  routes with a NetworkPolicy hop; a pod in a front door's namespace, or one that could be a controller: the
  routes with a front hop (the controller's or data plane's pods are its verdict);
- an EndpointSlice: the routes through its Service, and those it was on;
- a ConfigMap: the routes whose Service hop names it as a BackendTLSPolicy's CA certificate (ConfigMaps that
  nothing names change often: leader election, configuration);
- anything else (a Service, a Secret, a NetworkPolicy, a BackendTLSPolicy, which targets Services of its own
  namespace): the routes that pass through its namespace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace

from ktrace.checks.networkpolicy import ControllerHint, could_be_controller
from ktrace.findings import Finding, FindingId, finding_id
from ktrace.model import ROUTE_KINDS, EndpointSlice, Pod
from ktrace.requestpath import FRONT, PODS, FrontDoorDetail, PathStatus, RequestPath, ServiceDetail
from ktrace.routing import rule_targets
from ktrace.store import ClusterStore
from ktrace.targets import Target

Entry = Target  # what a route names: a host ("" for host-less rules) and path, as a request of its kind
Ref = tuple[str, str, str]  # (kind, namespace, name)
ChangeKey = tuple[str, str, str, str]  # (kind, event type, namespace, name); type RELIST: the kind was listed again
# Kinds whose change can move a host to another rule, or change who may reach the pods: trace everything again.
# Every route kind: a GRPCRoute can take a listener's hostname from an HTTPRoute (ktrace.gateway.conflicts).
GLOBAL_KINDS = frozenset({"Ingress", *ROUTE_KINDS, "Gateway", "GatewayClass", "IngressClass", "ReferenceGrant",
                          "Namespace"})


def entry_text(entry: Entry) -> str:
    return str(replace(entry, host=entry.host or "*"))


class RouteVerdicts:
    """The path of every route of a store, with the reverse index that keeps them current. Not thread-safe:
    one thread changes the store and asks this to refresh (the app's, between batches)."""

    def __init__(self, store: ClusterStore, trace: Callable[[Target], RequestPath],
                 controllers: ControllerHint | None = None) -> None:
        self.store, self._trace, self._hint = store, trace, controllers
        self.paths: dict[Entry, RequestPath] = {}
        self._on: dict[Ref, set[Entry]] = defaultdict(set)  # objects on each path (hops, TLS Secrets)
        self._through: dict[str, set[Entry]] = defaultdict(set)  # namespaces each path passes through
        self._unselected: dict[str, set[Entry]] = defaultdict(set)  # namespace -> paths with a Service of no pod
        self._policed: set[Entry] = set()  # paths with a NetworkPolicy hop: they depend on the controller's pods
        self._fronted: dict[str, set[Entry]] = defaultdict(set)  # namespace of a front door's pods -> paths
        self._front: set[Entry] = set()  # paths with a front hop: a new controller pod may join or found it
        self.rebuild()

    # -- reading -----------------------------------------------------------------------------------

    def status(self, entry: Entry) -> PathStatus | None:
        path = self.paths.get(entry)
        return path.status if path is not None else None

    def worst(self) -> Entry | None:
        """The first broken route, else the first degraded one (in host, path order); None when all are ok."""
        for status in (PathStatus.BROKEN, PathStatus.DEGRADED):
            found = sorted(e for e, p in self.paths.items() if p.status == status)
            if found:
                return found[0]
        return None

    def affects(self, findings: Iterable[Finding]) -> dict[FindingId, list[str]]:
        """For each finding, the routes (`host/path`) whose path it is on and that are not ok: what it breaks
        or degrades."""
        wanted = {finding_id(f) for f in findings}
        out: dict[FindingId, list[str]] = defaultdict(list)
        for entry in sorted(self.paths):
            path = self.paths[entry]
            if path.status == PathStatus.OK:
                continue
            for fid in dict.fromkeys(finding_id(f) for f in path.findings):
                if fid in wanted:
                    out[fid].append(entry_text(entry))
        return dict(out)

    # -- keeping current ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Trace every route anew (at load, and after changes that can touch any route)."""
        self.paths.clear()
        for index in (self._on, self._through, self._unselected, self._fronted):
            index.clear()
        self._policed.clear()
        self._front.clear()
        for entry in rule_targets(self.store):
            self._add(entry)

    def refresh(self, changes: Iterable[ChangeKey]) -> set[Entry]:
        """Trace again the routes a batch of changes (already applied to the store) can touch; returns the
        routes whose verdict changed, appeared or went away."""
        touched = self.touched(changes)

        def statuses() -> dict[Entry, PathStatus]:
            return {e: self.paths[e].status for e in (self.paths if touched is None else touched) if e in self.paths}

        before = statuses()
        if touched is None:
            self.rebuild()
        else:
            for entry in touched:
                self._drop(entry)
                self._add(entry)
        after = statuses()
        return {e for e in before.keys() | after.keys() if before.get(e) != after.get(e)}

    def touched(self, changes: Iterable[ChangeKey]) -> set[Entry] | None:
        """The routes a batch can touch; None: possibly any."""
        out: set[Entry] = set()
        for kind, type_, ns, name in changes:
            if type_ == "RELIST" or kind in GLOBAL_KINDS:
                return None
            out |= self._on.get((kind, ns, name), set())
            if kind == "Pod":
                out |= self._pod(ns, name)
            elif kind == "EndpointSlice":
                s = self.store.get(kind, ns, name)
                if isinstance(s, EndpointSlice):
                    out |= self._on.get(("Service", ns, s.service), set())
            elif kind != "ConfigMap":
                out |= self._through.get(ns, set())
        return out

    def _pod(self, ns: str, name: str) -> set[Entry]:
        out = set(self._unselected.get(ns, ()))
        pod = self.store.get("Pod", ns, name)
        if isinstance(pod, Pod):
            for svc in self.store.services_selecting(pod):
                out |= self._on.get(("Service", *svc.meta.key), set())
            if could_be_controller(pod.meta.labels, self._hint):  # it may join a front door, or make one found
                out |= self._front  # (every path with a NetworkPolicy hop has a front hop: its source)
        out |= self._fronted.get(ns, set())  # a front door's pod (or one that was) changed
        if ns not in self._through:  # who the controller is may have changed (a --controller-namespace pod)
            out |= self._policed
        return out

    def _add(self, entry: Entry) -> None:
        path = self._trace(entry)
        self.paths[entry] = path
        for ref in self._refs(path):
            self._on[ref].add(entry)
        for hop in path.hops:
            if hop.namespace:
                self._through[hop.namespace].add(entry)
            if hop.kind == "NetworkPolicy":
                self._policed.add(entry)
            if hop.level == FRONT:
                self._front.add(entry)
                if hop.namespace:
                    self._fronted[hop.namespace].add(entry)
        for i, hop in enumerate(path.hops):  # a Service with no pod under it: its namespace's pods may change that
            if hop.kind == "Service" and not any(h.level == PODS for h in _below(path, i)):
                self._unselected[hop.namespace].add(entry)

    def _drop(self, entry: Entry) -> None:
        path = self.paths.pop(entry, None)
        if path is None:
            return
        for ref in self._refs(path):
            _discard(self._on, ref, entry)
        for hop in path.hops:
            _discard(self._through, hop.namespace, entry)
            _discard(self._unselected, hop.namespace, entry)
            _discard(self._fronted, hop.namespace, entry)
        self._policed.discard(entry)
        self._front.discard(entry)

    @staticmethod
    def _refs(path: RequestPath) -> set[Ref]:
        refs = {(h.kind, h.namespace, h.name) for h in path.hops if h.name}
        refs |= {(f.kind, f.namespace, f.name) for f in path.findings}
        # A RequestMirror's Service is no hop of its own, maybe in a namespace the path does not pass through.
        refs |= {(m.kind, m.namespace, m.name) for h in path.hops for m in h.mirrors}
        # A BackendTLSPolicy's CA certificates (ConfigMaps, Secrets): in the Service's namespace, no hop of their own.
        refs |= {(c.kind, h.namespace, c.name) for h in path.hops if isinstance(h.detail, ServiceDetail)
                 and h.detail.backend_tls is not None for c in h.detail.backend_tls.ca_certificates}
        # A front door's Services (in its pods' namespace, which the path passes through).
        refs |= {("Service", s.namespace, s.name) for h in path.hops if isinstance(h.detail, FrontDoorDetail)
                 for s in h.detail.services}
        return refs


def _below(path: RequestPath, i: int) -> list:
    """The hops under hop `i` (deeper levels, up to the next hop of its level or above)."""
    level = path.hops[i].level
    out = []
    for hop in path.hops[i + 1:]:
        if hop.level <= level:
            break
        out.append(hop)
    return out


def _discard(index: dict, key: object, entry: Entry) -> None:
    entries = index.get(key)
    if entries is not None:
        entries.discard(entry)
        if not entries:
            del index[key]
