"""The checks by unit, so that a batch of changes re-runs only the units it can affect.

A unit is one Ingress's `check_ingress`, one Service's `check_service`, or one of the global checks
(host conflicts, network policies, the Gateway API, certificates). `CheckUnits` keeps the last
findings of every unit; `recheck(changes)` re-runs the units that read a changed object and returns
what a full `check_all()` over the same store would (same findings, same order). What each unit
reads, and so what a change invalidates:

- Ingress: the IngressClasses (the default class), the Services and Secrets of its namespace, and
  where else a Service or Secret of the names it uses exists (its hints).
- Service: the pods its selector matches and the EndpointSlices of it (and the pods they name), kept
  in a reverse index; the Ingresses naming it; with a selector that matches nothing, the pods and
  workload templates of its namespace (near misses) and the pods of every namespace (its hint).
- host conflicts: the Ingresses and the default class. Gateway API: its own kinds (BackendTLSPolicies
  too), Services, Secrets, Namespaces, and the ConfigMaps a BackendTLSPolicy names. Certificates:
  Secrets, Ingresses, Gateways.
- network policies: policies, Namespaces, Ingresses, the Gateway API kinds, Services, and the pods
  of the namespaces it reads (`networkpolicy.pod_namespaces_read`) or that could be ingress
  controllers or Gateway pods.
- front doors: Ingresses, IngressClasses, Services, Gateways and classes, and the pods of the namespaces
  where controller or data-plane pods were found (or that could be such pods, by their labels).
- entry points (a host served by an Ingress and an HTTPRoute): Ingresses, the Gateway API kinds, Services
  (named ports), Namespaces (allowedRoutes), and offline which namespaces hold anything; as the Gateway API.
A relist or an IngressClass change re-runs everything.

The findings are kept in order as units re-run (`OrderedFindings`), with the suppressions applied per
finding (`keep`): a batch sorts and filters only what it re-ran.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from ktrace.certs import CertificateBook
from ktrace.checks import backendtls, certificates, frontdoor, gateway, ingress, migration, networkpolicy, service
from ktrace.checks.ordered import OrderedFindings
from ktrace.findings import Finding
from ktrace.model import ROUTE_KINDS, BackendTLSPolicy, EndpointSlice, Ingress, Pod, Service
from ktrace.routing import default_class
from ktrace.store import ClusterStore

# (kind, event type, namespace, name): one change as a watch reports it; type RELIST: a kind listed again
ChangeKey = tuple[str, str, str, str]
CertificatesFactory = Callable[[], CertificateBook]

_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})
# Kinds a front door reads besides pods: who the controller is, its Service, the addresses published.
_FRONT_KINDS = frozenset({"Ingress", "IngressClass", "Service", "Gateway", "GatewayClass"})
_GATEWAY_API = frozenset({"Gateway", "GatewayClass", "ReferenceGrant", "BackendTLSPolicy", *ROUTE_KINDS})
# The units' groups in the order a full check lists their findings (before sorting them).
INGRESS, HOSTS, SERVICE, NETPOL, GATEWAY, CERTS, FRONT, ENTRIES = range(8)


class CheckUnits:
    def __init__(self, store: ClusterStore, *, live: bool, controllers: networkpolicy.ControllerHint | None = None,
                 keep: Callable[[Finding], bool] | None = None) -> None:
        """`keep`: which findings to list (the suppressions); None: all."""
        self.store, self.live, self.controllers, self.keep = store, live, controllers, keep
        self._ingress: dict[tuple[str, str], list[Finding]] = {}
        self._service: dict[tuple[str, str], list[Finding]] = {}
        # What each Service's unit read (("Pod" | "EndpointSlice", namespace, name)), and the reverse.
        self._reads: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
        self._readers: dict[tuple[str, str, str], set[tuple[str, str]]] = {}
        self.rechecked_services: set[tuple[str, str]] = set()  # the Services the last recheck re-ran
        self._no_match: set[tuple[str, str]] = set()  # Services whose selector matches nothing
        # A not-ready pod behind several Services is listed once, by the first in the store's order.
        self._not_ready: dict[tuple[str, str], dict[tuple[str, str], tuple[int, Finding]]] = {}
        self._reports: dict[tuple[str, str], set[tuple[str, str]]] = {}  # Service -> the not-ready pods it reports
        self._not_ready_changed: set[tuple[str, str]] = set()
        self._ordered = OrderedFindings(keep)
        # The listed findings the last check or recheck removed and added.
        self.changed: tuple[list[Finding], list[Finding]] = ([], [])
        self._netpol_namespaces: frozenset[str] = frozenset()
        self._front_namespaces: set[str] = set()  # where the front doors' pods were at the last run

    def check_all(self, certs: CertificatesFactory | None = None) -> list[Finding]:
        """Every unit run anew; `certs`: also the certificates (--check-certs), with a new book."""
        default = default_class(self.store)
        before = self._ordered.findings()
        self._ingress.clear()
        self._service.clear()
        self._reads.clear()
        self._readers.clear()
        self._no_match.clear()
        self._not_ready.clear()
        self._reports.clear()
        self._ordered = OrderedFindings(self.keep)
        for ing in self.store.ingresses():
            self._check_ingress(ing, default)
        cache: dict = {}
        for svc in self.store.services():
            self._check_service(svc, cache)
        self.rechecked_services = set(self._service)
        self._set_global(HOSTS, ingress.host_conflicts(self.store, default))
        self._check_netpol(default)
        self._check_gateway()
        self._set_global(CERTS, certificates.check_certificates(certs(), self.store) if certs is not None else [])
        self._check_front(default)
        self._check_entries()
        self._list_not_ready()
        self._ordered.take_changes()
        self.changed = (before, self._ordered.findings())
        return self._ordered.findings()

    def recheck(self, changes: Iterable[ChangeKey], certs: CertificatesFactory | None = None) -> list[Finding]:
        """The findings after `changes` were applied to the store, re-running only what they affect."""
        store = self.store
        changes = list(changes)
        if any(t == "RELIST" or kind == "IngressClass" for kind, t, _, _ in changes):
            return self.check_all(certs)
        default = default_class(store)
        ingresses: set[tuple[str, str]] = set()
        services: set[tuple[str, str]] = set()
        service_namespaces: set[str] = set()  # every Service of these re-runs
        no_match_namespaces: set[str] = set()  # the Services of these whose selector matches nothing re-run
        hosts = netpol = gw = tls = pods_changed = front = False
        policies = store.count("NetworkPolicy") > 0
        for kind, type_, ns, name in changes:
            front = front or kind in _FRONT_KINDS or (
                kind == "Pod" and self._pod_read(ns, name, self._front_namespaces))
            if kind == "Ingress":
                ingresses.add((ns, name))
                service_namespaces.add(ns)  # a selector-less Service needs endpoints once an Ingress uses it
                hosts = tls = True
                netpol = netpol or policies
            elif kind == "Service":
                services.add((ns, name))
                ingresses |= self._ingresses_naming(ns, name, lambda ing: _service_names(ing))
                netpol = netpol or policies
                gw = True
            elif kind == "Secret":
                ingresses |= self._ingresses_naming(ns, name, lambda ing: {t.secret for t in ing.tls})
                gw = tls = True
            elif kind == "ConfigMap":  # many change often (leader election): only a policy's CA matters
                gw = gw or self._names_ca(name)
            elif kind == "Pod":
                services |= self._readers.get((kind, ns, name), set())
                pod = store.get(kind, ns, name)
                if isinstance(pod, Pod):
                    services |= {svc.meta.key for svc in store.services_selecting(pod)}
                pods_changed = True
                netpol = netpol or (policies and self._pod_read(ns, name, self._netpol_namespaces))
            elif kind == "EndpointSlice":
                services |= self._readers.get((kind, ns, name), set())
                slice_ = store.get(kind, ns, name)
                if isinstance(slice_, EndpointSlice) and slice_.service:
                    services.add((ns, slice_.service))
                netpol = netpol or ns in self._netpol_namespaces
            elif kind in _WORKLOADS:
                no_match_namespaces.add(ns)
            elif kind == "NetworkPolicy":
                netpol = True
            elif kind == "Namespace":
                netpol = gw = True
            elif kind in _GATEWAY_API:
                gw = tls = True
                netpol = netpol or policies  # HTTPRoute paths: their backends and Gateways
            if type_ in ("ADDED", "DELETED") and ns:
                gw = gw or not self.live  # offline, a namespace that holds anything is judged (gateway.knowable)
                # A namespaceSelector is decided only when every namespace holding anything has its object.
                netpol = netpol or (policies and store.get("Namespace", "", ns) is None)
        # A selector that matches nothing reads its namespace's pods (near misses) and names the namespaces
        # whose pods would match; a selector-less Service reads the pods its hand-made slices name.
        services |= {key for key in self._no_match if pods_changed or key[0] in no_match_namespaces}
        for ns in service_namespaces:
            services |= {svc.meta.key for svc in store.services(ns)}
        self.rechecked_services = services
        for key in ingresses:
            ing = store.get("Ingress", *key)
            if isinstance(ing, Ingress):
                self._check_ingress(ing, default)
            else:
                self._ingress.pop(key, None)
                self._ordered.set(("Ingress", *key), (INGRESS, *key), ())
        cache: dict = {}
        for key in services:
            svc = store.service(*key)
            if svc is not None:
                self._check_service(svc, cache)
            else:
                self._service.pop(key, None)
                self._note_reads(key, set())
                self._set_service(key, [])
        if hosts:
            self._set_global(HOSTS, ingress.host_conflicts(store, default))
        if netpol:
            self._check_netpol(default)
        if gw:
            self._check_gateway()
        if tls and certs is not None:
            self._set_global(CERTS, certificates.check_certificates(certs(), store))
        if front:
            self._check_front(default)
        if gw or hosts:  # every kind the Gateway API checks read, and Ingresses
            self._check_entries()
        self._list_not_ready()
        for kind, _, ns, name in changes:  # an ignore annotation may have come or gone
            self._ordered.refilter((kind, ns, name))
        self.changed = self._ordered.take_changes()
        return self._ordered.findings()

    def findings(self) -> list[Finding]:
        """The units' findings in the order a full check makes them, sorted (and kept). A not-ready pod
        behind several Services is reported once, by the first of them."""
        return self._ordered.findings()

    def _set_global(self, group: int, findings: list[Finding]) -> None:
        self._ordered.set(group, (group, "", ""), enumerate(findings))

    def _set_service(self, key: tuple[str, str], findings: list[Finding]) -> None:
        """A Service's findings but its not-ready pods, which `_list_not_ready` lists once per pod."""
        not_ready = {(f.namespace, f.name): (i, f) for i, f in enumerate(findings)
                     if f.code == service.POD_NOT_READY.code}
        for pod in self._reports.pop(key, set()) - not_ready.keys():
            behind = self._not_ready[pod]
            del behind[key]
            if not behind:
                del self._not_ready[pod]
            self._not_ready_changed.add(pod)
        for pod, found in not_ready.items():
            behind = self._not_ready.setdefault(pod, {})
            if behind.get(key) != found:
                behind[key] = found
                self._not_ready_changed.add(pod)
        if not_ready:
            self._reports[key] = set(not_ready)
        self._ordered.set(("Service", *key), (SERVICE, *key),
                          ((i, f) for i, f in enumerate(findings) if f.code != service.POD_NOT_READY.code))
        if any(f.code == service.SELECTOR_NO_MATCH.code for f in findings):
            self._no_match.add(key)
        else:
            self._no_match.discard(key)

    def _list_not_ready(self) -> None:
        order: dict[tuple[str, str], int] | None = None
        for pod in self._not_ready_changed:
            behind = self._not_ready.get(pod, {})
            first = next(iter(behind), None)
            if len(behind) > 1:
                if order is None:
                    order = {svc.meta.key: n for n, svc in enumerate(self.store.services())}
                first = min(behind, key=order.__getitem__)
            if first is None:
                self._ordered.set(("not-ready", *pod), (SERVICE, "", ""), ())
            else:
                self._ordered.set(("not-ready", *pod), (SERVICE, *first), [behind[first]])
        self._not_ready_changed.clear()

    # -- units -----------------------------------------------------------------------------------

    def _check_ingress(self, ing: Ingress, default: str) -> None:
        found = self._ingress[ing.meta.key] = ingress.check_ingress(self.store, ing, live=self.live, default=default)
        self._ordered.set(("Ingress", *ing.meta.key), (INGRESS, *ing.meta.key), enumerate(found))

    def _check_service(self, svc: Service, cache: dict) -> None:
        found = self._service[svc.meta.key] = service.check_service(self.store, svc, set(), cache)
        self._set_service(svc.meta.key, found)
        ns = svc.meta.namespace
        slices = self.store.slices_for(ns, svc.meta.name)
        pods = {p.meta.name for p in self.store.pods_matching(ns, svc.selector or {})}
        pods.update(e.target_name for s in slices for e in s.endpoints if e.target_kind == "Pod")
        self._note_reads(svc.meta.key, {("Pod", ns, p) for p in pods} | {("EndpointSlice", ns, s.meta.name)
                                                                           for s in slices})

    def _note_reads(self, key: tuple[str, str], reads: set[tuple[str, str, str]]) -> None:
        for old in self._reads.pop(key, set()) - reads:
            readers = self._readers[old]
            readers.discard(key)
            if not readers:
                del self._readers[old]
        for new in reads:
            self._readers.setdefault(new, set()).add(key)
        if reads:
            self._reads[key] = reads

    def _check_gateway(self) -> None:
        self._set_global(GATEWAY, gateway.check_gateway_api(self.store, live=self.live)
                         + backendtls.check_backend_tls_policies(self.store, live=self.live))

    def _check_entries(self) -> None:
        self._set_global(ENTRIES, migration.check_entry_points(self.store, live=self.live))

    def _names_ca(self, name: str) -> bool:
        """Whether a BackendTLSPolicy names a ConfigMap of this name as a CA certificate (of any namespace: the
        hint of a missing one says where it exists)."""
        return any(isinstance(p, BackendTLSPolicy) and any(r.kind == "ConfigMap" and r.name == name for r in p.ca_refs)
                   for p in self.store.objects("BackendTLSPolicy"))

    def _check_netpol(self, default: str) -> None:
        self._set_global(NETPOL, networkpolicy.check_network_policies(self.store, default, self.controllers))
        self._netpol_namespaces = networkpolicy.pod_namespaces_read(self.store, self.controllers)

    def _check_front(self, default: str) -> None:
        doors = frontdoor.front_doors(self.store, default, self.controllers)
        self._set_global(FRONT, frontdoor.check_front_doors(self.store, doors))
        self._front_namespaces = frontdoor.door_namespaces(doors, self.controllers)

    def _pod_read(self, ns: str, name: str, namespaces: Collection[str]) -> bool:
        """Whether a unit that reads the pods of `namespaces` (the network policies', the front doors') reads this
        pod: its namespace is one of them (pods that were controllers live there too), or the pod, as it is now,
        could be an ingress controller or a Gateway's data plane."""
        if ns in namespaces:
            return True
        pod = self.store.get("Pod", ns, name)
        return isinstance(pod, Pod) and networkpolicy.could_be_controller(pod.meta.labels, self.controllers)

    def _ingresses_naming(self, ns: str, name: str, names: Callable[[Ingress], set[str]]) -> set[tuple[str, str]]:
        """The Ingresses of `ns` (a missing name's hint lists similar ones there) and those elsewhere
        that name `name` (their hint says where it exists)."""
        return {ing.meta.key for ing in self.store.ingresses() if ing.meta.namespace == ns or name in names(ing)}


def _service_names(ing: Ingress) -> set[str]:
    return {backend.service for backend in ingress.backends_of(ing)}
