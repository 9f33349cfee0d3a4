"""Slim, immutable records built straight from raw API dicts.

The kubernetes client's model classes cost ~1.3 ms a pod; these keep only what the tracer and
the checks read (labels, selectors, ports, conditions, statuses, owners) and drop the rest
(managedFields, env, volumes, Secret data). Every builder accepts any input: a field of the
wrong type reads as absent, so a malformed object can never crash the core.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from ktrace.frozen import record
from ktrace.kinds import KINDS
from ktrace.selectors import Requirement, Selector, SelectorError, from_label_selector

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # the Service an EndpointSlice belongs to
# Set on pods that ktrace synthesises from a workload's pod template (offline manifests).
TEMPLATE_ANNOTATION = "ktrace.dev/template-of"
REPLICAS_ANNOTATION = "ktrace.dev/replicas"
POD_TEMPLATE_HASH = "pod-template-hash"  # the label a Deployment's ReplicaSet puts on its pods
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _l(x: Any) -> list:
    return x if isinstance(x, list) else []


def _s(x: Any) -> str:
    return x if isinstance(x, str) else ""


def _i(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _str_map(x: Any) -> dict[str, str]:
    """Labels, annotations and selectors: string keys; values coerced to text as the API does."""
    if not isinstance(x, dict) or not x:
        return {}
    out = {k: v for k, v in x.items() if isinstance(v, str) and isinstance(k, str)}
    if len(out) == len(x):  # nearly always: every value is text already
        return out
    out = {}
    for k, v in x.items():
        if not isinstance(k, str):
            continue
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, bool):
            out[k] = str(v).lower()
        elif isinstance(v, int | float):
            out[k] = str(v)
    return out


def _port_ref(x: Any) -> int | str | None:
    """A port given by number or by name (`targetPort`, backend ports)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x:
        return int(x) if x.isdigit() else x
    return None


@record
class Meta:
    kind: str
    namespace: str  # "" for cluster-scoped kinds
    name: str
    uid: str = ""
    resource_version: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[tuple[str, str], ...] = ()  # (kind, name) of ownerReferences, controller first
    deleting: bool = False
    # The latest managedFields entry: when the object last changed (RFC 3339) and which manager wrote it;
    # "" when unknown (offline files seldom carry managedFields).
    changed: str = ""
    manager: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


def meta_of(obj: Any, kind: str, namespaced: bool = True) -> Meta | None:
    """The identity of a raw object, or None when it has no usable name."""
    m = _d(_d(obj).get("metadata"))
    name = _s(m.get("name"))
    if not name:
        return None
    owners = [o for o in _l(m.get("ownerReferences")) if isinstance(o, dict)]
    if len(owners) > 1:
        owners.sort(key=lambda o: not o.get("controller"))
    # Annotations kept minus the big ones nobody reads (last-applied holds a whole object copy).
    annotations = _str_map(m.get("annotations"))
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    changed, manager = _last_change(m.get("managedFields"))
    # Positional arguments here and in the builders below: a keyword call costs more, for every object.
    return Meta(kind, (_s(m.get("namespace")) or "default") if namespaced else "", name, _s(m.get("uid")),
                _s(m.get("resourceVersion")), _str_map(m.get("labels")), annotations,
                tuple([(_s(o.get("kind")), _s(o.get("name"))) for o in owners]), bool(m.get("deletionTimestamp")),
                changed, manager)


def _last_change(fields: Any) -> tuple[str, str]:
    """The latest `time` among managedFields entries and its `manager` (("", "") when none has a time). The API
    server writes every time as RFC 3339 in UTC to the second, so the text compares in time order. Interned: a
    cluster has few managers, and objects written in the same second share the text."""
    if not isinstance(fields, list):
        return "", ""
    best, manager = "", ""
    for f in fields:
        if isinstance(f, dict):
            t = f.get("time")
            if isinstance(t, str) and t and t >= best:  # a tie (one second): the later entry
                best, manager = t, f.get("manager")
    if not best:
        return "", ""
    return sys.intern(best), sys.intern(manager) if isinstance(manager, str) else ""


@record
class ContainerPort:
    name: str
    port: int
    protocol: str = "TCP"


@record
class Container:
    name: str
    ports: tuple[ContainerPort, ...] = ()
    image: str = ""


def _containers(spec: dict) -> tuple[Container, ...]:
    out = []
    for c in map(_d, _l(spec.get("containers"))):
        ports = []
        for p in map(_d, _l(c.get("ports"))):
            number = _i(p.get("containerPort"))
            if number is not None:
                ports.append(ContainerPort(_s(p.get("name")), number, _s(p.get("protocol")) or "TCP"))
        out.append(Container(_s(c.get("name")), tuple(ports), _s(c.get("image"))))
    return tuple(out)


@record
class ContainerStatus:
    name: str
    ready: bool
    restarts: int
    waiting: str = ""  # waiting.reason: CrashLoopBackOff, ImagePullBackOff, ...
    message: str = ""
    terminated: str = ""  # last or current terminated.reason: Error, OOMKilled, ...


@record
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""


# The pod conditions any check reads; the others (Initialized, ContainersReady, ...) are dropped:
# building records is most of the store's load time at 10,000 pods.
_KEPT_CONDITIONS = frozenset(("Ready", "PodScheduled"))


def _conditions(x: Any) -> tuple[Condition, ...]:
    out = []
    for c in _l(x):
        if isinstance(c, dict):
            kind = c.get("type")
            if isinstance(kind, str) and kind in _KEPT_CONDITIONS:
                out.append(Condition(kind, _s(c.get("status")), _s(c.get("reason")), _s(c.get("message"))))
    return tuple(out)


@record
class Pod:
    meta: Meta
    containers: tuple[Container, ...]
    phase: str = ""  # "" when the object carries no status (manifests, pod templates)
    ip: str = ""
    node: str = ""
    conditions: tuple[Condition, ...] = ()
    statuses: tuple[ContainerStatus, ...] = ()
    template_of: str = ""  # "Deployment/web" for a pod standing in for a workload's template
    replicas: int | None = None

    @property
    def ready(self) -> bool | None:
        """The Ready condition; None when readiness is not knowable (no status at all)."""
        for c in self.conditions:
            if c.type == "Ready":
                return c.status == "True"
        return None if not self.phase else False

    @property
    def restarts(self) -> int:
        return sum(s.restarts for s in self.statuses)

    @property
    def deployment(self) -> str:
        """The Deployment whose ReplicaSet controls the pod ("" if none): the ReplicaSet is named
        `<deployment>-<pod-template-hash>` (live sources do not list ReplicaSets)."""
        if not self.meta.owners or self.meta.owners[0][0] != "ReplicaSet":
            return ""
        rs, suffix = self.meta.owners[0][1], "-" + self.meta.labels.get(POD_TEMPLATE_HASH, "")
        return rs[: -len(suffix)] if len(suffix) > 1 and rs.endswith(suffix) and len(rs) > len(suffix) else ""

    def find_port(self, target: int | str | None, protocol: str = "TCP") -> ContainerPort | None:
        """The container port a Service targetPort resolves to: names compared with names, numbers
        with numbers."""
        for c in self.containers:
            for p in c.ports:
                if p.protocol == protocol and (p.name == target if isinstance(target, str) else p.port == target):
                    return p
        return None


def pod_from_dict(obj: Any) -> Pod | None:
    meta = meta_of(obj, "Pod")
    if meta is None:
        return None
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    statuses = []
    for cs in map(_d, _l(status.get("containerStatuses"))):
        state, last = _d(cs.get("state")), _d(cs.get("lastState"))
        waiting, terminated = _d(state.get("waiting")), _d(state.get("terminated")) or _d(last.get("terminated"))
        statuses.append(ContainerStatus(_s(cs.get("name")), cs.get("ready") is True,
                                        _i(cs.get("restartCount")) or 0, _s(waiting.get("reason")),
                                        _s(waiting.get("message")), _s(terminated.get("reason"))))
    replicas = meta.annotations.get(REPLICAS_ANNOTATION, "")
    return Pod(meta, _containers(spec), _s(status.get("phase")), _s(status.get("podIP")), _s(spec.get("nodeName")),
               _conditions(status.get("conditions")), tuple(statuses), meta.annotations.get(TEMPLATE_ANNOTATION, ""),
               int(replicas) if replicas.isdigit() else None)


@record
class ServicePort:
    name: str
    port: int
    target: int | str  # targetPort; defaults to `port`
    protocol: str = "TCP"

    def label(self) -> str:
        return f"{self.port}/{self.name}" if self.name else str(self.port)


@record
class Service:
    meta: Meta
    type: str
    selector: Mapping[str, str] | None  # None: selector-less (endpoints managed by hand)
    ports: tuple[ServicePort, ...]
    cluster_ip: str = ""
    external_name: str = ""
    publish_not_ready: bool = False
    ip_families: tuple[str, ...] = ()  # spec.ipFamilies: IPv4, IPv6 or both (dual-stack)
    ip_family_policy: str = ""
    external_traffic_policy: str = ""  # spec.externalTrafficPolicy: Cluster (the default) or Local
    lb_addresses: tuple[str, ...] = ()  # status.loadBalancer.ingress ip/hostname

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    @property
    def dual_stack(self) -> bool:
        return len(set(self.ip_families)) > 1


def service_from_dict(obj: Any) -> Service | None:
    meta = meta_of(obj, "Service")
    if meta is None:
        return None
    spec = _d(obj.get("spec"))
    ports = []
    for p in map(_d, _l(spec.get("ports"))):
        number = _i(p.get("port"))
        if number is None:
            continue
        target = _port_ref(p.get("targetPort"))
        ports.append(ServicePort(_s(p.get("name")), number, number if target is None else target,
                                 _s(p.get("protocol")) or "TCP"))
    selector = _str_map(spec.get("selector"))
    return Service(
        meta=meta,
        type=_s(spec.get("type")) or "ClusterIP",
        selector=selector or None,
        ports=tuple(ports),
        cluster_ip=_s(spec.get("clusterIP")),
        external_name=_s(spec.get("externalName")),
        publish_not_ready=spec.get("publishNotReadyAddresses") is True,
        ip_families=tuple(f for f in _l(spec.get("ipFamilies")) if isinstance(f, str)),
        ip_family_policy=_s(spec.get("ipFamilyPolicy")),
        external_traffic_policy=_s(spec.get("externalTrafficPolicy")),
        lb_addresses=_lb_addresses(obj),
    )


@record
class Endpoint:
    addresses: tuple[str, ...]
    ready: bool
    serving: bool
    terminating: bool
    target_kind: str = ""
    target_name: str = ""
    node: str = ""


@record
class SlicePort:
    name: str
    port: int | None
    protocol: str = "TCP"


@record
class EndpointSlice:
    meta: Meta
    service: str  # the kubernetes.io/service-name label
    address_type: str
    ports: tuple[SlicePort, ...]
    endpoints: tuple[Endpoint, ...]

    @property
    def placeholder(self) -> bool:
        """The EndpointSlice controller's stand-in for a Service with nothing to publish in this
        address family: no endpoints and no ports. It says what no slice would say."""
        return not self.endpoints and not self.ports


def slice_from_dict(obj: Any) -> EndpointSlice | None:
    meta = meta_of(obj, "EndpointSlice")
    if meta is None:
        return None
    endpoints = []
    for e in map(_d, _l(obj.get("endpoints"))):
        cond, ref = _d(e.get("conditions")), _d(e.get("targetRef"))
        # API semantics: a nil `ready` means ready; `serving` defaults to `ready`.
        ready = cond.get("ready") is not False
        serving = cond.get("serving") is not False if "serving" in cond else ready
        endpoints.append(Endpoint(tuple([a for a in _l(e.get("addresses")) if isinstance(a, str)]), ready, serving,
                                  cond.get("terminating") is True, _s(ref.get("kind")), _s(ref.get("name")),
                                  _s(e.get("nodeName"))))
    ports = tuple(SlicePort(_s(p.get("name")), _i(p.get("port")), _s(p.get("protocol")) or "TCP")
                  for p in map(_d, _l(obj.get("ports"))))
    return EndpointSlice(meta, meta.labels.get(SERVICE_NAME_LABEL, ""), _s(obj.get("addressType")), ports,
                         tuple(endpoints))


@record
class Backend:
    """An Ingress backend: a Service and port (by number or name), or a resource reference."""
    service: str = ""
    port: int | str | None = None
    resource_kind: str = ""
    resource_name: str = ""

    def label(self) -> str:
        if self.resource_kind:
            return f"{self.resource_kind}/{self.resource_name}"
        return f"{self.service}:{self.port}" if self.port is not None else self.service


def _backend(x: Any) -> Backend | None:
    x = _d(x)
    svc, res = _d(x.get("service")), _d(x.get("resource"))
    if svc:
        port = _d(svc.get("port"))
        number = _i(port.get("number"))
        return Backend(service=_s(svc.get("name")), port=number if number is not None else _s(port.get("name")) or None)
    if res:
        return Backend(resource_kind=_s(res.get("kind")), resource_name=_s(res.get("name")))
    if "serviceName" in x:  # networking.k8s.io/v1beta1 shape, still found in old dumps
        return Backend(service=_s(x.get("serviceName")), port=_port_ref(x.get("servicePort")))
    return None


@record
class IngressPath:
    path: str
    path_type: str
    backend: Backend


@record
class IngressRule:
    host: str  # "" matches every host
    paths: tuple[IngressPath, ...]


@record
class IngressTLS:
    hosts: tuple[str, ...]
    secret: str


@record
class Ingress:
    meta: Meta
    class_name: str  # spec.ingressClassName
    class_annotation: str  # kubernetes.io/ingress.class
    default_backend: Backend | None
    rules: tuple[IngressRule, ...]
    tls: tuple[IngressTLS, ...]
    addresses: tuple[str, ...]  # status.loadBalancer.ingress ip/hostname

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(r.host for r in self.rules)


def ingress_from_dict(obj: Any) -> Ingress | None:
    meta = meta_of(obj, "Ingress")
    if meta is None:
        return None
    spec = _d(obj.get("spec"))
    rules = []
    for r in map(_d, _l(spec.get("rules"))):
        paths = []
        for p in map(_d, _l(_d(r.get("http")).get("paths"))):
            backend = _backend(p.get("backend"))
            if backend is not None:
                paths.append(IngressPath(_s(p.get("path")) or "/", _s(p.get("pathType")) or "ImplementationSpecific",
                                         backend))
        rules.append(IngressRule(_s(r.get("host")).lower(), tuple(paths)))
    tls = tuple(IngressTLS(tuple(h.lower() for h in _l(t.get("hosts")) if isinstance(h, str)), _s(t.get("secretName")))
                for t in map(_d, _l(spec.get("tls"))))
    return Ingress(
        meta=meta,
        class_name=_s(spec.get("ingressClassName")),
        class_annotation=meta.annotations.get(CLASS_ANNOTATION, ""),
        default_backend=_backend(spec.get("defaultBackend") or spec.get("backend")),
        rules=tuple(rules),
        tls=tls,
        addresses=_lb_addresses(obj),
    )


def _lb_addresses(obj: dict) -> tuple[str, ...]:
    """status.loadBalancer.ingress of a Service or an Ingress: each entry's ip, else its hostname."""
    lb = _d(_d(_d(obj.get("status")).get("loadBalancer")))
    found = (_s(a.get("ip")) or _s(a.get("hostname")) for a in map(_d, _l(lb.get("ingress"))))
    return tuple(a for a in found if a)


@record
class IngressClass:
    meta: Meta
    controller: str

    @property
    def is_default(self) -> bool:
        return self.meta.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"


def ingress_class_from_dict(obj: Any) -> IngressClass | None:
    meta = meta_of(obj, "IngressClass", namespaced=False)
    return None if meta is None else IngressClass(meta, _s(_d(obj.get("spec")).get("controller")))


TLS_SECRET_TYPE = "kubernetes.io/tls"


@record
class Secret:
    """Metadata and type only: ktrace never reads Secret data."""
    meta: Meta
    type: str


def secret_from_dict(obj: Any) -> Secret | None:
    meta = meta_of(obj, "Secret")
    # "" when unknown: metadata-only lists carry no type (the live source learns only which are TLS)
    return None if meta is None else Secret(meta, _s(obj.get("type")))


@record
class Workload:
    """Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob: its selector and pod template."""
    meta: Meta
    selector: Mapping  # the raw LabelSelector (matchLabels/matchExpressions)
    template_labels: Mapping[str, str]
    containers: tuple[Container, ...]
    replicas: int | None


def workload_from_dict(obj: Any, kind: str) -> Workload | None:
    meta = meta_of(obj, kind)
    if meta is None:
        return None
    spec = _d(obj.get("spec"))
    if kind == "CronJob":
        spec = _d(_d(spec.get("jobTemplate")).get("spec"))
    template = _d(spec.get("template"))
    selector = _d(spec.get("selector"))
    return Workload(
        meta=meta,
        selector={"matchLabels": _str_map(selector.get("matchLabels")),
                  "matchExpressions": [e for e in _l(selector.get("matchExpressions")) if isinstance(e, dict)]},
        template_labels=_str_map(_d(template.get("metadata")).get("labels")),
        containers=_containers(_d(template.get("spec"))),
        replicas=_i(spec.get("replicas")),
    )


@record
class Namespace:
    meta: Meta
    phase: str = ""


@record
class RawObject:
    """Kinds read by later analyses (NetworkPolicy, Gateway API): spec and status kept as they came."""
    meta: Meta
    spec: Mapping
    status: Mapping


# A selector the API server would reject reads as one that matches nothing ("in" with no values):
# a malformed policy never widens what ktrace thinks is allowed.
MATCH_NOTHING: Selector = (Requirement("", "in", ()),)


def _selector(x: Any) -> Selector | None:
    """A structured LabelSelector parsed once; None when absent ({} is present and selects everything)."""
    if not isinstance(x, dict):
        return None
    try:
        return from_label_selector(x)
    except (SelectorError, AttributeError, TypeError):
        return MATCH_NOTHING


@record
class PolicyPeer:
    """One `from`/`to` entry: pods (in the policy's namespace, or in the namespaces selected), or an IP block."""
    pods: Selector | None = None
    namespaces: Selector | None = None
    cidr: str = ""
    except_cidrs: tuple[str, ...] = ()


@record
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None  # None: every port
    end_port: int | None = None


@record
class PolicyRule:
    peers: tuple[PolicyPeer, ...]  # empty: every source (or destination)
    ports: tuple[PolicyPort, ...]  # empty: every port


@record
class NetworkPolicy:
    meta: Meta
    pod_selector: Selector  # () selects every pod of the namespace
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]
    types: frozenset[str]  # effective policyTypes: Ingress unless only Egress is listed


def _policy_rules(x: Any, peer_key: str) -> tuple[PolicyRule, ...]:
    rules = []
    for r in map(_d, _l(x)):
        peers = []
        for p in map(_d, _l(r.get(peer_key))):
            block = _d(p.get("ipBlock"))
            excepts = tuple(c for c in _l(block.get("except")) if isinstance(c, str))
            peers.append(PolicyPeer(_selector(p.get("podSelector")), _selector(p.get("namespaceSelector")),
                                    _s(block.get("cidr")), excepts))
        ports = tuple(PolicyPort(_s(p.get("protocol")) or "TCP", _port_ref(p.get("port")), _i(p.get("endPort")))
                      for p in map(_d, _l(r.get("ports"))))
        # A `from` that is present but not a list admits nothing, not everything (as an empty list would).
        if r.get(peer_key) and not peers:
            peers.append(PolicyPeer(MATCH_NOTHING))
        rules.append(PolicyRule(tuple(peers), ports))
    return tuple(rules)


def network_policy_from_dict(obj: Any) -> NetworkPolicy | None:
    meta = meta_of(obj, "NetworkPolicy")
    if meta is None:
        return None
    spec = _d(obj.get("spec"))
    egress = _policy_rules(spec.get("egress"), "to")
    listed = frozenset(t for t in _l(spec.get("policyTypes")) if t in ("Ingress", "Egress"))
    types = listed or frozenset(("Ingress", "Egress") if egress else ("Ingress",))
    return NetworkPolicy(meta, _selector(spec.get("podSelector")) or (), _policy_rules(spec.get("ingress"), "from"),
                         egress, types)


# -- Gateway API (gateway.networking.k8s.io) ---------------------------------------------------

GATEWAY_GROUP = "gateway.networking.k8s.io"


@record
class GatewayClass:
    meta: Meta
    controller: str


@record
class Listener:
    name: str
    hostname: str  # "" accepts every host
    port: int | None
    protocol: str  # HTTP, HTTPS, TLS, TCP, UDP
    certificates: tuple[tuple[str, str, str], ...]  # tls.certificateRefs as (kind, namespace, name)
    routes_from: str  # allowedRoutes.namespaces.from: Same (the default), All or Selector
    routes_selector: Mapping | None  # the raw LabelSelector for Selector
    route_kinds: tuple[tuple[str, str], ...]  # allowedRoutes.kinds as (group, kind); () = the protocol's default
    conditions: tuple[Condition, ...] = ()  # status.listeners[] of this name: what the controller reported
    tls_mode: str = ""  # tls.mode of an HTTPS or TLS listener: Terminate (the default) or Passthrough; "" otherwise


@record
class Gateway:
    meta: Meta
    class_name: str
    listeners: tuple[Listener, ...]
    conditions: tuple[Condition, ...] = ()  # status.conditions (Accepted, Programmed, ...)
    addresses: tuple[str, ...] = ()  # status.addresses[].value: where the Gateway is reachable


def _status_conditions(x: Any) -> tuple[Condition, ...]:
    """Every condition of a Gateway API status, whatever its type."""
    return tuple(Condition(_s(c.get("type")), _s(c.get("status")), _s(c.get("reason")), _s(c.get("message")))
                 for c in map(_d, _l(x)))


def _listener(x: dict, namespace: str, status: Mapping[str, tuple[Condition, ...]]) -> Listener:
    allowed = _d(x.get("allowedRoutes"))
    ns = _d(allowed.get("namespaces"))
    tls = _d(x.get("tls"))
    certs = tuple((_s(c.get("kind")) or "Secret", _s(c.get("namespace")) or namespace, _s(c.get("name")))
                  for c in map(_d, _l(tls.get("certificateRefs"))))
    kinds = tuple((_s(k.get("group")) or GATEWAY_GROUP, _s(k.get("kind"))) for k in map(_d, _l(allowed.get("kinds"))))
    protocol = _s(x.get("protocol"))
    mode = _s(tls.get("mode")) or ("Terminate" if protocol in ("HTTPS", "TLS") else "")
    return Listener(_s(x.get("name")), _s(x.get("hostname")).lower(), _i(x.get("port")), protocol,
                    certs, _s(ns.get("from")) or "Same", _d(ns.get("selector")) or None, kinds,
                    status.get(_s(x.get("name")), ()), mode)


def gateway_from_dict(obj: Any) -> Gateway | None:
    meta = meta_of(obj, "Gateway")
    if meta is None:
        return None
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    listeners = {_s(x.get("name")): _status_conditions(x.get("conditions"))
                 for x in map(_d, _l(status.get("listeners")))}
    return Gateway(meta, _s(spec.get("gatewayClassName")),
                   tuple(_listener(x, meta.namespace, listeners) for x in map(_d, _l(spec.get("listeners")))),
                   _status_conditions(status.get("conditions")),
                   tuple(v for v in (_s(a.get("value")) for a in map(_d, _l(status.get("addresses")))) if v))


def gateway_class_from_dict(obj: Any) -> GatewayClass | None:
    meta = meta_of(obj, "GatewayClass", namespaced=False)
    return None if meta is None else GatewayClass(meta, _s(_d(obj.get("spec")).get("controllerName")))


@record
class ParentRef:
    group: str
    kind: str
    namespace: str  # defaulted to the route's
    name: str
    section: str = ""  # sectionName: one listener
    port: int | None = None

    def label(self) -> str:
        where = f"/{self.section}" if self.section else f":{self.port}" if self.port is not None else ""
        return f"{self.kind} {self.namespace}/{self.name}{where}"


@record
class RouteMatch:
    path_type: str  # PathPrefix (the default), Exact or RegularExpression
    path: str
    headers: tuple[tuple[str, str, str], ...] = ()  # (type, name, value)
    query: tuple[tuple[str, str, str], ...] = ()
    method: str = ""

    def label(self) -> str:
        bits = [f"{self.path_type} {self.path}"]
        bits += [f"header {n}{'~' if t == 'RegularExpression' else '='}{v}" for t, n, v in self.headers]
        bits += [f"query {n}{'~' if t == 'RegularExpression' else '='}{v}" for t, n, v in self.query]
        return " ".join(bits + ([f"method {self.method}"] if self.method else []))


@record
class GRPCMatch:
    """One GRPCRoute rule match: the call's service and method, and headers, all ANDed. "" for service or
    method matches any (a match without `method` matches every call)."""
    type: str  # how service and method compare: Exact (the default) or RegularExpression
    service: str
    method: str
    headers: tuple[tuple[str, str, str], ...] = ()  # (type, name, value)

    def label(self) -> str:
        how = "~" if self.type == "RegularExpression" else ""
        bits = [f"service {how}{self.service}"] if self.service else []
        bits += [f"method {how}{self.method}"] if self.method else []
        bits += [f"header {n}{'~' if t == 'RegularExpression' else '='}{v}" for t, n, v in self.headers]
        return " ".join(bits) or "any call"


Match = RouteMatch | GRPCMatch  # a rule match of the route's kind


@record
class PathModifier:
    """A redirect's or a rewrite's path: ReplaceFullPath or ReplacePrefixMatch, and its value."""
    type: str
    value: str


@record
class RouteFilter:
    """One HTTPRoute filter, of a rule or of a backendRef; only the fields of its type are set."""
    type: str  # RequestRedirect, URLRewrite, RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, ...
    scheme: str = ""  # RequestRedirect
    hostname: str = ""  # RequestRedirect, URLRewrite
    path: PathModifier | None = None  # RequestRedirect, URLRewrite
    port: int | None = None  # RequestRedirect
    status_code: int = 302  # RequestRedirect: the API's default
    headers: tuple[str, ...] = ()  # the header modifiers' actions: "set x-a: 1", "add x-b: 2", "remove x-c"
    mirror: BackendRef | None = None  # RequestMirror's backendRef
    mirrored: float = 1.0  # RequestMirror: the part of the requests mirrored (percent or fraction; all when unset)
    extension: str = ""  # ExtensionRef: "Kind.group name"


@record
class BackendRef:
    group: str  # "" for the core group
    kind: str
    namespace: str  # defaulted to the route's
    name: str
    port: int | None
    weight: int
    filters: tuple[RouteFilter, ...] = ()  # applied only to the requests forwarded to this backend

    @property
    def is_service(self) -> bool:
        return self.group == "" and self.kind == "Service"

    def label(self) -> str:
        what = self.name if self.is_service else f"{self.kind}/{self.name}"
        return f"{what}:{self.port}" if self.port is not None else what


@record
class RouteRule:
    matches: tuple[Match, ...]
    backends: tuple[BackendRef, ...]
    filters: tuple[RouteFilter, ...] = ()
    name: str = ""

    @property
    def redirect(self) -> RouteFilter | None:
        """The rule's RequestRedirect: the Gateway answers with it and forwards nothing."""
        return redirect_of(self.filters)


def redirect_of(filters: tuple[RouteFilter, ...]) -> RouteFilter | None:
    return next((f for f in filters if f.type == "RequestRedirect"), None)


@record
class ParentStatus:
    ref: ParentRef
    controller: str
    conditions: tuple[Condition, ...]


@record
class XRoute:
    """A Gateway API route of any kind the Gateway API calls an xRoute (HTTPRoute, GRPCRoute, TLSRoute: `meta.kind`
    says which): the parents it attaches to, its hostnames and its rules (a TLSRoute's rules have no matches)."""
    meta: Meta
    created: str  # creationTimestamp (RFC 3339 text sorts in time order): the oldest route wins ties
    parents: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[RouteRule, ...]
    statuses: tuple[ParentStatus, ...] = ()


def _parent_ref(x: dict, namespace: str) -> ParentRef:
    return ParentRef(_s(x.get("group")) if "group" in x else GATEWAY_GROUP, _s(x.get("kind")) or "Gateway",
                     _s(x.get("namespace")) or namespace, _s(x.get("name")), _s(x.get("sectionName")),
                     _i(x.get("port")))


def _string_matches(x: Any) -> tuple[tuple[str, str, str], ...]:
    return tuple((_s(m.get("type")) or "Exact", _s(m.get("name")), _s(m.get("value"))) for m in map(_d, _l(x)))


def _route_match(x: dict) -> RouteMatch:
    path = _d(x.get("path"))
    return RouteMatch(_s(path.get("type")) or "PathPrefix", _s(path.get("value")) or "/",
                      _string_matches(x.get("headers")), _string_matches(x.get("queryParams")), _s(x.get("method")))


def _backend_ref(x: dict, namespace: str, allowed: tuple[str, ...] | None = None) -> BackendRef:
    weight = _i(x.get("weight"))
    return BackendRef(_s(x.get("group")), _s(x.get("kind")) or "Service", _s(x.get("namespace")) or namespace,
                      _s(x.get("name")), _i(x.get("port")), 1 if weight is None else weight,
                      _route_filters(x.get("filters"), namespace, allowed))


def _path_modifier(x: Any) -> PathModifier | None:
    p = _d(x)
    kind = _s(p.get("type"))
    if not kind:
        return None
    return PathModifier(kind, _s(p.get("replaceFullPath" if kind == "ReplaceFullPath" else "replacePrefixMatch")))


def _header_actions(x: dict) -> tuple[str, ...]:
    out = [f"{action} {_s(h.get('name'))}: {_s(h.get('value'))}" for action in ("set", "add")
           for h in map(_d, _l(x.get(action)))]
    return tuple(out + [f"remove {n}" for n in _l(x.get("remove")) if isinstance(n, str)])


def _mirrored(x: dict) -> float:
    """RequestMirror's part of the requests: percent, or fraction (denominator 100 unless set); all when unset."""
    percent, fraction = _i(x.get("percent")), _d(x.get("fraction"))
    if percent is not None:
        return min(max(percent, 0), 100) / 100
    numerator, denominator = _i(fraction.get("numerator")), _i(fraction.get("denominator")) or 100
    return 1.0 if numerator is None else min(max(numerator / denominator, 0.0), 1.0)


def _route_filter(x: dict, namespace: str, allowed: tuple[str, ...] | None = None) -> RouteFilter:
    """`allowed`: the filter types of the route's kind (None: every HTTPRoute filter); another type is kept by
    name only (the API rejects it: ktrace.filters names it)."""
    kind = _s(x.get("type"))
    if allowed is not None and kind not in allowed:
        return RouteFilter(kind)
    body = _d(x.get(kind[:1].lower() + kind[1:] if kind != "URLRewrite" else "urlRewrite"))
    if kind == "RequestRedirect":
        code = _i(body.get("statusCode"))
        return RouteFilter(kind, scheme=_s(body.get("scheme")), hostname=_s(body.get("hostname")).lower(),
                           path=_path_modifier(body.get("path")), port=_i(body.get("port")),
                           status_code=302 if code is None else code)
    if kind == "URLRewrite":
        return RouteFilter(kind, hostname=_s(body.get("hostname")).lower(), path=_path_modifier(body.get("path")))
    if kind in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        return RouteFilter(kind, headers=_header_actions(body))
    if kind == "RequestMirror":
        return RouteFilter(kind, mirror=_backend_ref(_d(body.get("backendRef")), namespace), mirrored=_mirrored(body))
    if kind == "ExtensionRef":
        group = _s(body.get("group"))
        return RouteFilter(kind, extension=f"{_s(body.get('kind'))}{'.' + group if group else ''} "
                                           f"{_s(body.get('name'))}")
    return RouteFilter(kind)


def _route_filters(x: Any, namespace: str, allowed: tuple[str, ...] | None = None) -> tuple[RouteFilter, ...]:
    return tuple(_route_filter(f, namespace, allowed) for f in map(_d, _l(x)))


def _http_matches(x: Any) -> tuple[RouteMatch, ...]:
    return tuple(_route_match(m) for m in map(_d, _l(x))) or (RouteMatch("PathPrefix", "/"),)


def _grpc_match(x: dict) -> GRPCMatch:
    method = _d(x.get("method"))
    first: dict[str, tuple[str, str, str]] = {}  # "only the first entry with an equivalent name" counts
    for h in _string_matches(x.get("headers")):
        first.setdefault(h[1].lower(), h)
    return GRPCMatch(_s(method.get("type")) or "Exact", _s(method.get("service")), _s(method.get("method")),
                     tuple(first.values()))


def _grpc_matches(x: Any) -> tuple[GRPCMatch, ...]:
    """A GRPCRoute rule's matches; none: "the implementation MUST match every gRPC request"."""
    return tuple(_grpc_match(m) for m in map(_d, _l(x))) or (GRPCMatch("Exact", "", ""),)


# Each route kind's rule matches; a kind without matches (TLSRoute) routes by hostname alone.
_MATCHES: dict[str, Callable[[Any], tuple[Match, ...]]] = {"HTTPRoute": _http_matches, "GRPCRoute": _grpc_matches}
# The filter types a kind's API takes (not listed: every HTTPRoute filter).
FILTER_TYPES = {"GRPCRoute": ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef")}
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute")


def xroute_from_dict(obj: Any) -> XRoute | None:
    kind = _s(_d(obj).get("kind")) or "HTTPRoute"
    meta = meta_of(obj, kind)
    if meta is None:
        return None
    ns, spec = meta.namespace, _d(obj.get("spec"))
    matches, allowed = _MATCHES.get(kind, lambda _: ()), FILTER_TYPES.get(kind)
    rules = [RouteRule(matches(r.get("matches")),
                       tuple(_backend_ref(b, ns, allowed) for b in map(_d, _l(r.get("backendRefs")))),
                       _route_filters(r.get("filters"), ns, allowed), _s(r.get("name")))
             for r in map(_d, _l(spec.get("rules")))]
    statuses = tuple(ParentStatus(_parent_ref(_d(p.get("parentRef")), ns), _s(p.get("controllerName")),
                                  _status_conditions(p.get("conditions")))
                     for p in map(_d, _l(_d(obj.get("status")).get("parents"))))
    return XRoute(meta, _s(_d(obj.get("metadata")).get("creationTimestamp")),
                  tuple(_parent_ref(p, ns) for p in map(_d, _l(spec.get("parentRefs")))),
                  tuple(h.lower() for h in _l(spec.get("hostnames")) if isinstance(h, str) and h),
                  tuple(rules) or (RouteRule(matches(None), ()),), statuses)


@record
class ReferenceGrant:
    meta: Meta
    sources: tuple[tuple[str, str, str], ...]  # spec.from as (group, kind, namespace)
    targets: tuple[tuple[str, str, str], ...]  # spec.to as (group, kind, name); name "" = every object of the kind


def reference_grant_from_dict(obj: Any) -> ReferenceGrant | None:
    meta = meta_of(obj, "ReferenceGrant")
    if meta is None:
        return None
    spec = _d(obj.get("spec"))
    sources = tuple((_s(f.get("group")), _s(f.get("kind")), _s(f.get("namespace")))
                    for f in map(_d, _l(spec.get("from"))))
    targets = tuple((_s(t.get("group")), _s(t.get("kind")), _s(t.get("name"))) for t in map(_d, _l(spec.get("to"))))
    return ReferenceGrant(meta, sources, targets)


@record
class LocalRef:
    """A reference within the referrer's namespace: a policy's targetRef (`section`: sectionName) or a CA
    certificate ref (no section)."""
    group: str  # "" for the core group
    kind: str
    name: str
    section: str = ""

    def label(self) -> str:
        return f"{self.kind} {self.name}" + (f" port {self.section}" if self.section else "")


@record
class BackendTLSPolicy:
    """How a Gateway connects to the Services it targets over TLS: the SNI and name to verify (`hostname`), the CA
    to verify with (`ca_refs`, or the well-known system CAs); `ancestors`: what each controller reported."""
    meta: Meta
    created: str  # creationTimestamp: among policies on one target (and port), the oldest applies
    targets: tuple[LocalRef, ...]
    ca_refs: tuple[LocalRef, ...]
    well_known: str  # wellKnownCACertificates: "System", or ""
    hostname: str
    subject_alt_names: tuple[str, ...] = ()  # "Hostname x" or "URI y"
    ancestors: tuple[ParentStatus, ...] = ()

    def targets_service(self, service: str, port: ServicePort | None = None) -> LocalRef | None:
        """The targetRef naming Service `service` (and, with `port`, that port by name, else the whole Service)."""
        for t in self.targets:
            if t.group == "" and t.kind == "Service" and t.name == service and \
                    (port is None or t.section in ("", port.name)):
                return t
        return None


def _local_ref(x: dict, section: bool) -> LocalRef:
    return LocalRef(_s(x.get("group")), _s(x.get("kind")), _s(x.get("name")),
                    _s(x.get("sectionName")) if section else "")


def backend_tls_policy_from_dict(obj: Any) -> BackendTLSPolicy | None:
    meta = meta_of(obj, "BackendTLSPolicy")
    if meta is None:
        return None
    spec, ns = _d(obj.get("spec")), meta.namespace
    validation = _d(spec.get("validation"))
    sans = tuple(f"{_s(n.get('type'))} {_s(n.get('hostname')) or _s(n.get('uri'))}"
                 for n in map(_d, _l(validation.get("subjectAltNames"))))
    ancestors = tuple(ParentStatus(_parent_ref(_d(a.get("ancestorRef")), ns), _s(a.get("controllerName")),
                                   _status_conditions(a.get("conditions")))
                      for a in map(_d, _l(_d(obj.get("status")).get("ancestors"))))
    return BackendTLSPolicy(meta, _s(_d(obj.get("metadata")).get("creationTimestamp")),
                            tuple(_local_ref(t, True) for t in map(_d, _l(spec.get("targetRefs")))),
                            tuple(_local_ref(r, False) for r in map(_d, _l(validation.get("caCertificateRefs")))),
                            _s(validation.get("wellKnownCACertificates")), _s(validation.get("hostname")).lower(),
                            sans, ancestors)


Record = (Pod | Service | EndpointSlice | Ingress | IngressClass | Secret | Workload | Namespace | NetworkPolicy
          | RawObject | GatewayClass | Gateway | XRoute | ReferenceGrant | BackendTLSPolicy)

CLUSTER_SCOPED = frozenset(k.kind for k in KINDS if not k.namespaced)


def record_from_dict(obj: Any) -> Record | None:
    """The slim record for a raw object of any kind ktrace reads; None for anything unusable."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    if not isinstance(kind, str):
        return None
    builder = _BUILDERS.get(kind)
    if builder is not None:
        return builder(obj)
    if kind in WORKLOAD_KINDS:
        return workload_from_dict(obj, kind)
    meta = meta_of(obj, kind, namespaced=kind not in CLUSTER_SCOPED)
    if meta is None:
        return None
    if kind == "Namespace":
        return Namespace(meta, _s(_d(obj.get("status")).get("phase")))
    return RawObject(meta, _d(obj.get("spec")), _d(obj.get("status")))


_BUILDERS = {
    "Pod": pod_from_dict,
    "Service": service_from_dict,
    "EndpointSlice": slice_from_dict,
    "Ingress": ingress_from_dict,
    "IngressClass": ingress_class_from_dict,
    "Secret": secret_from_dict,
    "GatewayClass": gateway_class_from_dict,
    "Gateway": gateway_from_dict,
    **{kind: xroute_from_dict for kind in ROUTE_KINDS},
    "ReferenceGrant": reference_grant_from_dict,
    "BackendTLSPolicy": backend_tls_policy_from_dict,
    "NetworkPolicy": network_policy_from_dict,
}
