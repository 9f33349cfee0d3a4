"""The request path as records: the statuses, one detail record per kind of hop, the hop and the path.

Every `to_dict()` gives the keys `ktrace trace -o json` has always printed, in the same order:
scripts read them. The statuses are `StrEnum`s, so they compare equal to their words and print
as them (JSON too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ktrace.findings import Finding
from ktrace.history import FieldChange
from ktrace.netpol import PolicyVerdict
from ktrace.rollout import Revision


class HopStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    UNKNOWN = "unknown"


class PathStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # some backends (or some pods) fail, others serve
    BROKEN = "broken"  # the request does not reach any pod
    UNKNOWN = "unknown"


# hop levels, for drawing the path as a tree; FRONT: the tier that receives the request, before the Ingress or
# Gateway (below 0, so that the other levels keep the numbers they always had)
FRONT, INGRESS, SERVICE, ENDPOINTS, PODS = -1, 0, 1, 2, 3


@dataclass(frozen=True)
class FrontService:
    """A Service that selects the front door's pods and exposes port 80 or 443."""
    namespace: str
    name: str
    type: str
    ports: list[str]  # port/name of 80 and 443, as the Service declares them
    addresses: list[str]  # status.loadBalancer.ingress (ip or hostname)
    external_traffic_policy: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "type": self.type, "ports": self.ports,
                "addresses": self.addresses, "externalTrafficPolicy": self.external_traffic_policy}


@dataclass
class FrontDoorDetail:
    """The tier in front of an Ingress (its class's controller) or a Gateway (its data plane): who it is, how many
    of its pods are ready, the Service that exposes it, the address it publishes."""
    of: str  # "IngressClass nginx" or "Gateway ns/name": what the front door serves
    controller: str | None  # the IngressClass's spec.controller or the GatewayClass's controllerName
    ready: int | None  # None: no pod found (the hop is unknown) or readiness unknown offline
    total: int
    services: list[FrontService]
    published: list[str]  # the Ingress's status.loadBalancer, or the Gateway's status.addresses
    programmed: str | None = None  # a Gateway's Programmed condition status (True/False/Unknown); None: none

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"of": self.of, "controller": self.controller, "ready": self.ready,
                               "total": self.total, "services": [s.to_dict() for s in self.services],
                               "published": self.published}
        if self.programmed is not None:
            out["programmed"] = self.programmed
        return out


@dataclass
class IngressDetail:
    host: str | None  # the rule's host (None: a rule without host, or the defaultBackend)
    path: str | None
    path_type: str | None
    default_backend: bool
    ingress_class: str | None
    tls_secret: str | None
    backend: str

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "path": self.path, "pathType": self.path_type,
                "defaultBackend": self.default_backend, "ingressClass": self.ingress_class,
                "tlsSecret": self.tls_secret, "backend": self.backend}


@dataclass
class ListenerDetail:
    name: str
    protocol: str
    port: int | None
    hostname: str | None
    tls_secrets: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"listener": self.name, "protocol": self.protocol, "port": self.port,
                "listenerHostname": self.hostname, "tlsSecrets": self.tls_secrets}


@dataclass
class GatewayDetail:
    gateway_class: str | None
    listener: ListenerDetail | None = None  # None: the route attaches to no listener of it

    def to_dict(self) -> dict[str, Any]:
        return {"gatewayClass": self.gateway_class, **(self.listener.to_dict() if self.listener else {})}


@dataclass(frozen=True)
class RuleBackend:
    """One backendRef of the traced HTTPRoute rule and its part of the requests."""
    kind: str
    namespace: str
    name: str
    port: int | None
    weight: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "port": self.port,
                "weight": self.weight, "share": self.share}


@dataclass(frozen=True)
class Redirect:
    """Where a RequestRedirect filter sends the client: the path ends there."""
    status_code: int
    location: str

    def to_dict(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "location": self.location}


@dataclass(frozen=True)
class Mirror:
    """A RequestMirror's backend: a side branch that gets copies of the requests; its answers are ignored."""
    kind: str
    namespace: str
    name: str
    port: int | None
    share: float  # the part of the requests mirrored
    exists: bool | None  # None: not judged (a kind ktrace does not follow, or out of the source's scope)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "port": self.port,
                "share": self.share, "exists": self.exists}


@dataclass
class Filters:
    """The filters of a rule or of a backendRef: their types, the redirect that ends the branch, the mirrors."""
    types: list[str] = field(default_factory=list)
    redirect: Redirect | None = None
    mirrors: list[Mirror] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filters": self.types}
        if self.redirect is not None:
            out["redirect"] = self.redirect.to_dict()
        if self.mirrors:
            out["mirrors"] = [m.to_dict() for m in self.mirrors]
        return out


@dataclass
class HTTPRouteDetail:
    hostname: str | None
    rule: int  # 1-based, as people count the rules
    rule_name: str | None
    path: str
    path_type: str
    match: str
    filters: Filters  # the rule's own
    backends: list[RuleBackend]

    def to_dict(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "rule": self.rule, "ruleName": self.rule_name, "path": self.path,
                "pathType": self.path_type, "match": self.match, **self.filters.to_dict(),
                "backends": [b.to_dict() for b in self.backends]}


@dataclass
class TLSRouteDetail:
    """The TLSRoute that takes a TLS connection: chosen by the SNI alone (a TLSRoute has no matches)."""
    hostname: str | None  # the route's hostname that matched the SNI; None: the route takes the listener's
    sni: str
    tls_mode: str  # the listener's: Passthrough (Core) or Terminate (Extended for TLSRoute)
    backends: list[RuleBackend]

    def to_dict(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "sni": self.sni, "tlsMode": self.tls_mode,
                "backends": [b.to_dict() for b in self.backends]}


@dataclass
class GRPCRouteDetail:
    """The GRPCRoute rule that takes a gRPC call: its match's service and method (None: any) and how they
    compare (Exact or RegularExpression)."""
    hostname: str | None
    rule: int  # 1-based
    rule_name: str | None
    service: str | None
    method: str | None
    match_type: str
    match: str
    filters: Filters  # the rule's own
    backends: list[RuleBackend]

    def to_dict(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "rule": self.rule, "ruleName": self.rule_name, "service": self.service,
                "method": self.method, "matchType": self.match_type, "match": self.match, **self.filters.to_dict(),
                "backends": [b.to_dict() for b in self.backends]}


RouteDetail = HTTPRouteDetail | GRPCRouteDetail  # the rule of a route that takes the request


@dataclass
class UnattachedRouteDetail:
    """A route that names the host but attaches to no listener through `parent_ref`."""
    hostnames: list[str]
    parent_ref: str

    def to_dict(self) -> dict[str, Any]:
        return {"hostnames": self.hostnames, "parentRef": self.parent_ref}


@dataclass(frozen=True)
class Split:
    """A backendRef's weight and its part of the requests below a Gateway rule."""
    weight: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"weight": self.weight, "share": self.share}


@dataclass
class BackendDetail:
    """A backend the path does not follow: a Service that is missing or unreadable, another kind, or a
    backendRef whose filter redirects the client."""
    port: int | str | None
    split: Split | None = None
    filters: Filters | None = None  # the backendRef's own, when it has some

    def to_dict(self) -> dict[str, Any]:
        return {"port": self.port, **(self.split.to_dict() if self.split else {}),
                **(self.filters.to_dict() if self.filters else {})}


@dataclass(frozen=True)
class CACertificate:
    """A caCertificateRef of a BackendTLSPolicy and whether its object exists (None: not judged)."""
    kind: str
    name: str
    exists: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "exists": self.exists}


@dataclass
class BackendTLS:
    """The BackendTLSPolicy that makes the Gateway connect to this Service port over TLS."""
    policy: str  # its name, in the Service's namespace
    section: str | None  # the port name it targets; None: the whole Service
    hostname: str  # the SNI, and the name the pods' certificate must have (unless subjectAltNames are given)
    ca_certificates: list[CACertificate]
    well_known: str | None  # wellKnownCACertificates (System) instead of CA refs
    subject_alt_names: list[str]
    not_applied: list[str]  # policies on the same Service and sectionName that conflict with it

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "sectionName": self.section, "hostname": self.hostname,
                "caCertificateRefs": [c.to_dict() for c in self.ca_certificates],
                "wellKnownCACertificates": self.well_known, "subjectAltNames": self.subject_alt_names,
                "notApplied": self.not_applied}


@dataclass
class ServiceDetail:
    port: int
    port_name: str | None
    target_port: int | str
    type: str
    selector: dict[str, str] | None
    external_name: str | None = None  # an ExternalName Service: where the path ends
    revisions: list[Revision] = field(default_factory=list)  # a rollout behind the Service
    split: Split | None = None
    filters: Filters | None = None  # a backendRef's own filters, when it has some
    ip_families: list[str] | None = None  # a dual-stack Service's spec.ipFamilies
    backend_tls: BackendTLS | None = None  # a Gateway path's Service port under a BackendTLSPolicy

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"port": self.port, "portName": self.port_name, "targetPort": self.target_port,
                               "type": self.type, "selector": self.selector}
        if self.external_name is not None:
            out["externalName"] = self.external_name
        if self.ip_families is not None:
            out["ipFamilies"] = self.ip_families
        if self.revisions:
            out["revisions"] = [r.to_dict() for r in self.revisions]
        if self.backend_tls is not None:
            out["backendTLSPolicy"] = self.backend_tls.to_dict()
        return out | (self.split.to_dict() if self.split else {}) | (self.filters.to_dict() if self.filters else {})


@dataclass
class EndpointSliceDetail:
    ready: int
    total: int
    ports: list[str] | None = None  # None (and no addresses): the hop stands for "no slice for this port"
    addresses: list[str] | None = None
    address_type: str | None = None
    dual_stack: bool = False  # the Service's slices span address families: the label names the slice's

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ready": self.ready, "total": self.total}
        if self.ports is not None:
            out.update(addressType=self.address_type, ports=self.ports, addresses=self.addresses)
        return out


@dataclass
class PodDetail:
    ready: bool | None  # None: readiness unknown offline
    container_port: int | None
    ip: str | None
    node: str | None
    phase: str | None
    restarts: int
    template_of: str | None
    replicas: int | None
    network_policy: PolicyVerdict | None = None  # whether the traffic's source gets in, when policies isolate it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ready": self.ready, "containerPort": self.container_port, "ip": self.ip,
                               "node": self.node, "phase": self.phase, "restarts": self.restarts,
                               "templateOf": self.template_of, "replicas": self.replicas}
        if self.network_policy is not None:
            out["networkPolicy"] = self.network_policy
        return out


@dataclass
class NetworkPolicyDetail:
    verdict: PolicyVerdict
    policies: list[str]
    allowed_by: list[str]
    controller: str
    port: int | None
    direction: str = "ingress"  # whose policies: the path's pods' (ingress) or the controller pods' (egress)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "policies": self.policies, "allowedBy": self.allowed_by,
                "controller": self.controller, "port": self.port, "direction": self.direction}


@dataclass(frozen=True)
class LastChange:
    """When a hop's object last changed and by what manager: its latest managedFields entry."""
    time: str  # RFC 3339
    manager: str

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "manager": self.manager or None}


HopDetail = (FrontDoorDetail | IngressDetail | GatewayDetail
             | HTTPRouteDetail | GRPCRouteDetail | TLSRouteDetail | UnattachedRouteDetail
             | BackendDetail | ServiceDetail | EndpointSliceDetail | PodDetail | NetworkPolicyDetail)


@dataclass
class Hop:
    kind: str
    namespace: str
    name: str
    status: HopStatus
    reasons: list[str] = field(default_factory=list)
    level: int = 0
    detail: HopDetail | None = None  # None: a hop with nothing more to tell (a Gateway that does not exist)
    finding_codes: list[str] = field(default_factory=list)  # the path's findings about this hop's object
    last_change: LastChange | None = None  # None: unknown (no managedFields, or no object)

    @property
    def split(self) -> Split | None:
        """The backend's weight and share, when the hop is a backendRef of a Gateway rule."""
        return self.detail.split if isinstance(self.detail, ServiceDetail | BackendDetail) else None

    @property
    def filters(self) -> Filters | None:
        """The filters of the hop's rule or backendRef, when it has some."""
        d = self.detail
        return d.filters if isinstance(d, ServiceDetail | BackendDetail | HTTPRouteDetail | GRPCRouteDetail) else None

    @property
    def redirect(self) -> Redirect | None:
        """Where a RequestRedirect of the hop's rule or backendRef sends the client: the branch ends there."""
        return self.filters.redirect if self.filters is not None else None

    @property
    def mirrors(self) -> list[Mirror]:
        """The RequestMirror backends of the hop's rule or backendRef: side branches, no hop of their own."""
        return self.filters.mirrors if self.filters is not None else []

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "namespace": self.namespace or None, "name": self.name or None,
               "status": self.status, "reasons": self.reasons, "level": self.level,
               **(self.detail.to_dict() if self.detail is not None else {}),
               "lastChange": self.last_change.to_dict() if self.last_change is not None else None}
        if self.finding_codes:
            out["findings"] = self.finding_codes
        return out


@dataclass
class RequestPath:
    target: str
    host: str
    path: str
    status: PathStatus = PathStatus.UNKNOWN
    hops: list[Hop] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)  # the hops' objects' changes seen live, oldest first

    @property
    def label(self) -> str:
        """What the path is of, as a user reads it: its host and path; a grpc:// or tls:// target as written."""
        return self.target if "://" in self.target else f"{self.host or '*'}{self.path}"

    @property
    def routed(self) -> bool:
        """Whether any Ingress rule or default backend serves the target at all."""
        return any(h.level == INGRESS for h in self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "host": self.host, "path": self.path, "status": self.status,
                "hops": [h.to_dict() for h in self.hops], "findings": [f.to_dict() for f in self.findings],
                "changes": [c.to_dict() for c in self.changes]}
