"""ClusterStore: the objects in scope as slim records, with the indexes the tracer and the checks use.

Every change goes through one place (`_put`/`_drop`) that updates the indexes for just that
object, so a watch event costs O(what changed), never a rebuild.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields

from ktrace.coverage import Coverage, Read
from ktrace.history import History
from ktrace.model import (
    ROUTE_KINDS,
    WORKLOAD_KINDS,
    BackendTLSPolicy,
    EndpointSlice,
    Gateway,
    Ingress,
    IngressClass,
    Meta,
    NetworkPolicy,
    Pod,
    Record,
    Secret,
    Service,
    Workload,
    XRoute,
    record_from_dict,
)
from ktrace.selectors import Selector, from_match_labels, matches

_EMPTY: frozenset = frozenset()
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # the label that ties an EndpointSlice to its Service


# Not compared: the version, and when and by whom the object last changed (a status-only write moves those).
_META_FIELDS = tuple(f.name for f in fields(Meta) if f.name not in ("resource_version", "changed", "manager"))
_RECORD_FIELDS: dict[type, tuple[str, ...]] = {}


def _same_but_version(old: Record, new: Record) -> bool:
    """Whether a new version of an object changed nothing its record keeps. Never for a Secret: its record
    leaves out the data, which the certificate checks read from the source."""
    if type(old) is not type(new) or isinstance(new, Secret):
        return False
    names = _RECORD_FIELDS.get(type(new))
    if names is None:
        names = _RECORD_FIELDS[type(new)] = tuple(f.name for f in fields(new) if f.name != "meta")  # type: ignore[arg-type]
    return (all(getattr(old.meta, n) == getattr(new.meta, n) for n in _META_FIELDS)
            and all(getattr(old, n) == getattr(new, n) for n in names))


class ClusterStore:
    def __init__(self, objs: Iterable[dict] = ()) -> None:
        self._by_kind: dict[str, dict[tuple[str, str], Record]] = defaultdict(dict)
        self.version = 0
        # Kinds the source could not read (forbidden, absent from the files): checks that need
        # them are skipped rather than reporting everything "missing".
        self.unreadable: set[str] = set()
        # The one namespace a live source read (-n, or `check`'s default), None for all: references into
        # other namespaces (Gateway API's are cross-namespace by design) cannot be resolved.
        self.scope: str | None = None
        # API group -> the kinds the API server serves in it (empty: the group is not served), for the groups
        # a live source looked up (those of backendRefs ktrace does not follow); any other group is unknown,
        # every group offline.
        self.served: dict[str, frozenset[str]] = {}
        # A scoped store holds only part of the cluster (ktrace.coverage): every read below notes what
        # it needed beyond that part. None: the store holds everything in scope.
        self.coverage: Coverage | None = None
        # pods by (namespace, label key, value); services by the same over their selectors
        self._pod_labels: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self._by_ns: dict[tuple[str, str], set[str]] = defaultdict(set)  # (kind, namespace) -> names
        self._svc_selectors: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        # Derived from _pod_labels, so the near miss reads a namespace's few distinct labels rather than its
        # many pods: namespace -> key -> values present on its pods; (key, value) -> namespaces with such pods.
        self._pod_label_values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._pod_label_ns: dict[tuple[str, str], set[str]] = defaultdict(set)
        # workloads by (namespace, label key, value) of their pod templates: (kind, name) members
        self._template_labels: dict[tuple[str, str, str], set[tuple[str, str]]] = defaultdict(set)
        self._template_label_values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._slices_by_svc: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._ingress_by_host: dict[str, set[tuple[str, str]]] = defaultdict(set)  # "" = host-less rules
        self._names_to_ns: dict[tuple[str, str], set[str]] = defaultdict(set)  # (kind, name) -> namespaces
        self._ingress_by_service: dict[tuple[str, str], set[str]] = defaultdict(set)  # backend -> ingress names
        # Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute) by (kind, hostname as written; "" for routes
        # without hostnames) and by backend Service (-> (kind, namespace, name))
        self._routes_by_host: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        self._routes_by_service: dict[tuple[str, str], set[tuple[str, str, str]]] = defaultdict(set)
        # BackendTLSPolicies by the Service they target (targetRefs are local: the policy's namespace) -> names
        self._tls_policies_by_service: dict[tuple[str, str], set[str]] = defaultdict(set)
        # What changed in the objects held, since the store was created (a new version of one it holds).
        self.history = History()
        self.load(objs)

    # -- changes -------------------------------------------------------------------------------

    def load(self, objs: Iterable[dict]) -> None:
        # Bulk loads allocate many small records that all survive: the cyclic collector would scan
        # them again and again for nothing (it more than doubles the build time of 10k pods).
        enabled = gc.isenabled()
        gc.disable()
        try:
            for obj in objs:
                self.apply("ADDED", obj)
        finally:
            if enabled:
                gc.enable()

    def apply(self, event_type: str, obj: dict) -> bool:
        """Apply one watch event; returns whether anything changed."""
        return self.apply_record(event_type, record_from_dict(obj))

    def apply_record(self, event_type: str, record: Record | None) -> bool:
        """`apply` with the record already built (`record_from_dict`), e.g. by a watch thread, so the
        thread that owns the store only updates it."""
        if record is None:
            return False
        if event_type == "DELETED":
            return self._drop(record.meta.kind, record.meta.key)
        if event_type not in ("ADDED", "MODIFIED"):
            return False
        return self._put(record)

    def replace(self, kind: str, objs: Iterable[dict], namespace: str | None = None) -> None:
        """Reconcile one kind after a relist: objects of `kind` (in `namespace`, when given) that
        are not in `objs` are removed; the others are added or updated."""
        self.replace_records(kind, (record_from_dict(_with_kind(obj, kind)) for obj in objs), namespace)

    def replace_records(self, kind: str, records: Iterable[Record | None], namespace: str | None = None) -> None:
        """`replace` with the records already built."""
        seen: set[tuple[str, str]] = set()
        for record in records:
            if record is None or record.meta.kind != kind:
                continue
            seen.add(record.meta.key)
            self._put(record)
        gone = [k for k in self._by_kind.get(kind, {}) if k not in seen and (namespace is None or k[0] == namespace)]
        for key in gone:
            self._drop(kind, key)

    def _put(self, record: Record) -> bool:
        meta = record.meta
        key = meta.key
        table = self._by_kind[meta.kind]
        old = table.get(key)
        if old is not None:
            if meta.resource_version and old.meta.resource_version == meta.resource_version:
                return False  # a relist or a replayed event: nothing new
            if _same_but_version(old, record):
                # Only what the records leave out changed (a Deployment's status after each pod change): keep
                # the new version for replays, but nothing that reads the store has anything to redo.
                table[key] = record
                return False
            self._unindex(old)
            self.history.observe(old, record)
        table[key] = record
        self._index(record)
        self.version += 1
        return True

    def _drop(self, kind: str, key: tuple[str, str]) -> bool:
        old = self._by_kind.get(kind, {}).pop(key, None)
        if old is None:
            return False
        self._unindex(old)
        self.version += 1
        return True

    def _index(self, r: Record) -> None:
        self._index_entries(r, add=True)

    def _unindex(self, r: Record) -> None:
        self._index_entries(r, add=False)

    def _index_entries(self, r: Record, add: bool) -> None:
        ns, name = r.meta.key
        entries: list[tuple[dict, object, str | tuple[str, str]]] = [
            (self._names_to_ns, (r.meta.kind, name), ns), (self._by_ns, (r.meta.kind, ns), name)]
        if isinstance(r, Pod):
            for pair in self._labels(ns, r.meta.labels, name, self._pod_labels, self._pod_label_values, add):
                if add:
                    self._pod_label_ns[pair].add(ns)
                else:
                    _discard(self._pod_label_ns, pair, ns)
        elif isinstance(r, Workload):
            self._labels(ns, r.template_labels, (r.meta.kind, name), self._template_labels,
                         self._template_label_values, add)
        elif isinstance(r, Service):
            entries.extend((self._svc_selectors, (ns, k, v), name) for k, v in (r.selector or {}).items())
        elif isinstance(r, EndpointSlice) and r.service:
            entries.append((self._slices_by_svc, (ns, r.service), name))
        elif isinstance(r, Ingress):
            hosts = set(r.hosts)
            if r.default_backend is not None:
                hosts.add("")
            entries.extend((self._ingress_by_host, h, (ns, name)) for h in hosts)
            backends = {p.backend.service for rule in r.rules for p in rule.paths}
            if r.default_backend is not None:
                backends.add(r.default_backend.service)
            entries.extend((self._ingress_by_service, (ns, b), name) for b in backends if b)
        elif isinstance(r, XRoute):
            kind = r.meta.kind
            entries.extend((self._routes_by_host, (kind, h), (ns, name)) for h in set(r.hostnames or ("",)))
            # the Services its rules send to, and those a RequestMirror filter copies requests to (on their path)
            mirrors = (f.mirror for rule in r.rules for fs in (rule.filters, *(b.filters for b in rule.backends))
                       for f in fs if f.mirror is not None)
            refs = {(b.namespace, b.name) for b in (*(b for rule in r.rules for b in rule.backends), *mirrors)
                    if b.is_service}
            entries.extend((self._routes_by_service, ref, (kind, ns, name)) for ref in refs)
        elif isinstance(r, BackendTLSPolicy):
            services = {t.name for t in r.targets if t.group == "" and t.kind == "Service"}
            entries.extend((self._tls_policies_by_service, (ns, svc), name) for svc in services)
        for index, key, value in entries:
            if add:
                index[key].add(value)
            else:
                _discard(index, key, value)

    @staticmethod
    def _labels(ns: str, labels: Mapping[str, str], member: object, members: dict[tuple[str, str, str], set],
                values: dict[str, dict[str, set[str]]], add: bool) -> list[tuple[str, str]]:
        """Add `member` to (or remove it from) `members` under each (namespace, key, value) of `labels`, keeping
        `values` (namespace -> key -> values) equal to the pairs `members` holds. Returns the pairs that appeared
        or went: only those change `values`, so a pair the object's siblings carry already costs one set add."""
        changed = []
        for k, v in labels.items():
            key = (ns, k, v)
            held = members.get(key)
            if add:
                if held is not None:
                    held.add(member)
                    continue
                members[key] = {member}
                values[ns][k].add(v)
            else:
                if held is None or member not in held:
                    continue
                held.discard(member)
                if held:
                    continue
                del members[key]
                by_key = values.get(ns)
                if by_key is not None:
                    _discard(by_key, k, v)
                    if not by_key:
                        del values[ns]
            changed.append((k, v))
        return changed

    # -- reads ---------------------------------------------------------------------------------

    def _need(self, kind: str, namespace: str | None, selector: Selector = (), name: str = "") -> None:
        if self.coverage is not None:
            self.coverage.need(Read(kind, namespace, selector, name))

    def get(self, kind: str, namespace: str, name: str) -> Record | None:
        found = self._by_kind.get(kind, {}).get((namespace, name))
        if found is None:  # an object read is there whatever else is: only an absence needs the read
            self._need(kind, namespace, name=name)
        return found

    def peek(self, kind: str, namespace: str, name: str) -> Record | None:
        """`get` for what only decorates an answer (when a hop last changed): an absence asks for no read."""
        return self._by_kind.get(kind, {}).get((namespace, name))

    def objects(self, kind: str, namespace: str | None = None) -> Iterator[Record]:
        self._need(kind, namespace)
        table = self._by_kind.get(kind, {})
        if namespace is None:
            yield from table.values()
        else:
            for name in sorted(self._by_ns.get((kind, namespace), _EMPTY)):
                yield table[(namespace, name)]

    def count(self, kind: str, namespace: str | None = None) -> int:
        """How many objects of `kind` there are (in `namespace`, when given)."""
        self._need(kind, namespace)
        if namespace is None:
            return len(self._by_kind.get(kind, {}))
        return len(self._by_ns.get((kind, namespace), _EMPTY))

    def kinds(self) -> list[str]:
        return [k for k, table in self._by_kind.items() if table]

    def namespaces(self) -> list[str]:
        """Every namespace that holds something, plus the Namespace objects themselves. (A scoped store
        holds every Namespace object, and an API server keeps no object outside its Namespace.)"""
        found = {ns for table in self._by_kind.values() for ns, _ in table if ns}
        found.update(name for _, name in self._by_kind.get("Namespace", {}))
        return sorted(found)

    def holds_namespace(self, namespace: str) -> bool:
        """Whether anything of `namespace` (or its Namespace object) is in the store (cheap: by index)."""
        if ("Namespace", namespace) in self._names_to_ns:
            return True
        return any((kind, namespace) in self._by_ns for kind in self._by_kind)

    def pod_namespaces(self) -> list[str]:
        """Namespaces that hold pods (cheap: from the index)."""
        self._need("Pod", None)
        return sorted(ns for kind, ns in self._by_ns if kind == "Pod")

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_kind.values())

    def namespaces_with(self, kind: str, name: str) -> set[str]:
        """Namespaces holding an object of `kind` named `name` (hints: "it exists in namespace X")."""
        self._need(kind, None, name=name)
        return set(self._names_to_ns.get((kind, name), _EMPTY))

    def pods(self, namespace: str | None = None) -> Iterator[Pod]:
        return self.objects("Pod", namespace)  # type: ignore[return-value]

    def service(self, namespace: str, name: str) -> Service | None:
        return self.get("Service", namespace, name)  # type: ignore[return-value]

    def services(self, namespace: str | None = None) -> Iterator[Service]:
        return self.objects("Service", namespace)  # type: ignore[return-value]

    def ingresses(self, namespace: str | None = None) -> Iterator[Ingress]:
        return self.objects("Ingress", namespace)  # type: ignore[return-value]

    def ingress_classes(self) -> list[IngressClass]:
        return list(self.objects("IngressClass"))  # type: ignore[arg-type]

    def secret(self, namespace: str, name: str) -> Secret | None:
        return self.get("Secret", namespace, name)  # type: ignore[return-value]

    def network_policies(self, namespace: str) -> list[NetworkPolicy]:
        """The NetworkPolicies of one namespace, by name (policies select pods of their own namespace only)."""
        return list(self.objects("NetworkPolicy", namespace))  # type: ignore[arg-type]

    def workloads(self, namespace: str | None = None) -> Iterator[Workload]:
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"):
            yield from self.objects(kind, namespace)  # type: ignore[misc]

    def pods_matching(self, namespace: str, labels: Mapping[str, str]) -> list[Pod]:
        """Pods of `namespace` carrying every label in `labels` (a Service selector), by index."""
        if not labels:
            return []
        if self.coverage is not None:
            self._need("Pod", namespace, from_match_labels(labels))
        return self._pods_matching(namespace, labels)

    def pods_labelled(self, labels: Mapping[str, str]) -> list[Pod]:
        """Pods of any namespace carrying every label in `labels`, by index."""
        if not labels:
            return []
        self._need("Pod", None, from_match_labels(labels))
        # only the namespaces whose pods carry each of the labels (by index: no pass over every namespace)
        spaces = sorted((self._pod_label_ns.get(pair, _EMPTY) for pair in labels.items()), key=len)
        return [p for ns in sorted(ns for ns in spaces[0] if all(ns in s for s in spaces[1:]))
                for p in self._pods_matching(ns, labels)]

    def pods_selected(self, selector: Selector, namespace: str | None = None) -> list[Pod]:
        """Pods (of `namespace`, or of every namespace) whose labels match a set-based selector."""
        self._need("Pod", namespace, selector)
        table = self._by_kind.get("Pod", {})
        keys = sorted(table) if namespace is None else [(namespace, n) for n in
                                                         sorted(self._by_ns.get(("Pod", namespace), _EMPTY))]
        pods: Iterator[Pod] = (table[k] for k in keys)  # type: ignore[misc]
        return [p for p in pods if matches(selector, p.meta.labels)]

    def _pods_matching(self, namespace: str, labels: Mapping[str, str]) -> list[Pod]:
        sets = []
        for k, v in labels.items():
            members = self._pod_labels.get((namespace, k, v))
            if not members:
                return []
            sets.append(members)
        sets.sort(key=len)
        names = set(sets[0]).intersection(*sets[1:]) if len(sets) > 1 else sets[0]
        table = self._by_kind["Pod"]
        return [table[(namespace, n)] for n in sorted(names)]  # type: ignore[misc]

    def label_values(self, namespace: str, pods: bool = True) -> Mapping[str, set[str]]:
        """The label keys of the namespace's pods (or, `pods=False`, of its workloads' pod templates), each with
        the values it takes there: far fewer than the objects when looking for labels like a selector's."""
        for kind in ("Pod",) if pods else WORKLOAD_KINDS:
            self._need(kind, namespace)
        return (self._pod_label_values if pods else self._template_label_values).get(namespace, {})

    def pods_with_label(self, namespace: str, key: str, value: str) -> set[str]:
        """Names of the namespace's pods with label `key`=`value` (read-only view of the index)."""
        self._need("Pod", namespace)
        return self._pod_labels.get((namespace, key, value), _EMPTY)

    def workloads_with_label(self, namespace: str, key: str, value: str) -> set[tuple[str, str]]:
        """(kind, name) of the namespace's workloads whose pod template has label `key`=`value`."""
        for kind in WORKLOAD_KINDS:
            self._need(kind, namespace)
        return self._template_labels.get((namespace, key, value), _EMPTY)

    def services_selecting(self, pod: Pod) -> list[Service]:
        """Services whose selector matches the pod (the reverse path: pod -> services)."""
        ns = pod.meta.namespace
        self._need("Service", ns)
        candidates: set[str] = set()
        for k, v in pod.meta.labels.items():
            candidates |= self._svc_selectors.get((ns, k, v), _EMPTY)
        out = []
        for name in sorted(candidates):
            svc = self.service(ns, name)
            if svc is not None and svc.selector and all(pod.meta.labels.get(k) == v for k, v in svc.selector.items()):
                out.append(svc)
        return out

    def slices_for(self, namespace: str, service: str) -> list[EndpointSlice]:
        if self.coverage is not None:
            self._need("EndpointSlice", namespace, from_match_labels({SERVICE_NAME_LABEL: service}))
        table = self._by_kind.get("EndpointSlice", {})
        names = self._slices_by_svc.get((namespace, service), _EMPTY)
        return [table[(namespace, n)] for n in sorted(names)]  # type: ignore[misc]

    def ingresses_for_host(self, host: str) -> list[Ingress]:
        """Ingresses with a rule for exactly `host` (a literal "*.x.y" for wildcard rules; "" for
        host-less rules and default backends)."""
        self._need("Ingress", None)
        table = self._by_kind.get("Ingress", {})
        return [table[k] for k in sorted(self._ingress_by_host.get(host, _EMPTY))]  # type: ignore[misc]

    def ingresses_for_service(self, namespace: str, service: str) -> list[Ingress]:
        """Ingresses with a backend (rule or default) naming this Service: the reverse path."""
        self._need("Ingress", namespace)
        table = self._by_kind.get("Ingress", {})
        return [table[(namespace, n)] for n in sorted(self._ingress_by_service.get((namespace, service), _EMPTY))]  # type: ignore[misc]

    def gateways(self) -> list[Gateway]:
        return list(self.objects("Gateway"))  # type: ignore[arg-type]

    def routes(self) -> Iterator[XRoute]:
        """Every Gateway API route, of every kind (HTTPRoute, GRPCRoute, TLSRoute)."""
        for kind in ROUTE_KINDS:
            yield from self.objects(kind)  # type: ignore[misc]

    def routes_for_hostname(self, hostname: str, kind: str = "HTTPRoute") -> list[XRoute]:
        """Routes of `kind` listing exactly `hostname` (a literal "*.x.y" for wildcards; "" for routes without
        hostnames, which take their listeners')."""
        self._need(kind, None)
        table = self._by_kind.get(kind, {})
        return [table[k] for k in sorted(self._routes_by_host.get((kind, hostname), _EMPTY))]  # type: ignore[misc]

    def routes_for_service(self, namespace: str, service: str) -> list[XRoute]:
        """Routes of every kind with a backendRef to this Service (from any namespace), a RequestMirror's included:
        the reverse path."""
        for kind in ROUTE_KINDS:
            self._need(kind, None)
        return [self._by_kind[kind][(ns, name)]  # type: ignore[misc]
                for kind, ns, name in sorted(self._routes_by_service.get((namespace, service), _EMPTY))]

    def backend_tls_policies(self, namespace: str, service: str) -> list[BackendTLSPolicy]:
        """The BackendTLSPolicies targeting a Service (any of its ports), by name."""
        self._need("BackendTLSPolicy", namespace)
        table = self._by_kind.get("BackendTLSPolicy", {})
        return [table[(namespace, n)]  # type: ignore[misc]
                for n in sorted(self._tls_policies_by_service.get((namespace, service), _EMPTY))]

    def hosts(self) -> list[str]:
        """Every host named by an ingress rule or a Gateway API route (wildcards included), sorted."""
        self._need("Ingress", None)
        for kind in ROUTE_KINDS:
            self._need(kind, None)
        return sorted({h for h in self._ingress_by_host if h} | {h for _, h in self._routes_by_host if h})


def _discard(index: dict, key: object, member: object) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(member)
        if not members:
            del index[key]


def _with_kind(obj: object, kind: str) -> object:
    # List responses carry items without kind/apiVersion.
    return {**obj, "kind": kind} if isinstance(obj, dict) and "kind" not in obj else obj
