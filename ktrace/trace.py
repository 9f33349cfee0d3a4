"""The request path for one host and path: Ingress rule -> Service:port -> EndpointSlices -> Pods,
with a verdict and the reasons on every hop. Pure: reads the store, never changes it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ktrace.backends import EXCLUDED, NOT_READY, READY, UNKNOWN, ServiceBackends, service_backends
from ktrace.checks.ingress import (
    admission_findings,
    backend_findings,
    class_findings,
    find_service_port,
    host_conflicts,
    tls_findings,
)
from ktrace.checks.networkpolicy import PARTIAL, ControllerHint, path_findings, reachability
from ktrace.checks.service import (
    pod_findings,
    readiness_findings,
    selector_findings,
    selector_text,
    target_port_findings,
)
from ktrace.findings import Finding, finding, sort_key
from ktrace.model import Ingress, Service, ServicePort
from ktrace.netpol import ALLOWED, BLOCKED
from ktrace.routing import Route, default_class, route, wildcard_for
from ktrace.store import ClusterStore
from ktrace.targets import Target, as_target

OK, WARNING, ERROR = "ok", "warning", "error"
# hop levels, for drawing the path as a tree
INGRESS, SERVICE, ENDPOINTS, PODS = 0, 1, 2, 3


@dataclass
class Hop:
    kind: str
    namespace: str
    name: str
    status: str  # ok, warning, error, unknown
    reasons: list[str] = field(default_factory=list)
    level: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace or None, "name": self.name or None,
                "status": self.status, "reasons": self.reasons, "level": self.level, **self.extra}


@dataclass
class RequestPath:
    target: str
    host: str
    path: str
    status: str = "unknown"  # ok, degraded, broken, unknown
    hops: list[Hop] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def routed(self) -> bool:
        """Whether any Ingress rule or default backend serves the target at all."""
        return any(h.level == INGRESS for h in self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "host": self.host, "path": self.path, "status": self.status,
                "hops": [h.to_dict() for h in self.hops], "findings": [f.to_dict() for f in self.findings]}


def _worst(findings: list[Finding]) -> str:
    ranks = {f.severity for f in findings}
    return ERROR if "error" in ranks else WARNING if "warning" in ranks else OK


def trace(store: ClusterStore, target: str | Target, *, live: bool, controllers: ControllerHint | None = None
          ) -> RequestPath:
    t = as_target(target)
    result = RequestPath(target=str(t), host=t.host, path=t.path)
    r = route(store, t.host, t.path)
    if r is None:
        result.status = "broken"
        result.findings = [_no_route(store, t)]
        return result
    svc, sport = _ingress_hop(store, r, result, live)
    if svc is not None and sport is not None:
        backends = _service_hops(store, svc, sport, result)
        if backends is not None:
            _policy_hop(store, r.class_ref.name, svc, backends, result, controllers)
    result.findings.sort(key=sort_key)
    result.status = _overall(result.hops)
    for hop in result.hops:  # which findings belong to which hop, for views that mark them in place
        ref = (hop.kind, hop.namespace, hop.name)
        codes = [f.code for f in result.findings if (f.kind, f.namespace, f.name) == ref]
        if codes:
            hop.extra["findings"] = codes
    return result


def _overall(hops: list[Hop]) -> str:
    if any(h.status == ERROR for h in hops if h.level < PODS):
        return "broken"
    if any(h.status in (WARNING, ERROR) for h in hops if h.level >= ENDPOINTS):
        return "degraded"
    if any(h.status == UNKNOWN for h in hops):
        return "unknown"
    return "ok"


def _no_route(store: ClusterStore, t: Target) -> Finding:
    hosts = store.hosts()
    close = difflib.get_close_matches(t.host, hosts, n=3, cutoff=0.6)
    parent = t.host.partition(".")[2]
    close += [h for h in hosts if parent and h.endswith("." + parent) and h not in close][:3]
    paths = sorted({f"{r.host}{p.path} ({p.path_type})" for key in (t.host, wildcard_for(t.host))
                    for ing in store.ingresses_for_host(key) for r in ing.rules if r.host == key for p in r.paths})
    if paths:
        hint = f"host {t.host} has only these paths: {', '.join(paths[:6])}"
    elif close:
        hint = f"closest hosts: {', '.join(close[:4])}"
    else:
        hint = f"no Ingress names a similar host ({len(hosts)} host(s) in scope)"
    return finding("host-no-route", "Host", "", t.host, f"no Ingress rule or default backend serves {t}", hint,
                   host=t.host, path=t.path, closest_hosts=close[:4], paths=paths)


def _ingress_hop(store: ClusterStore, r: Route, result: RequestPath, live: bool
                 ) -> tuple[Service | None, ServicePort | None]:
    ing: Ingress = r.ingress  # type: ignore[assignment]
    ns = ing.meta.namespace
    reasons, findings = [], []
    if r.ipath is None:
        reasons.append(f"no rule matches {r.host}{r.path}: defaultBackend")
    else:
        host_how = ("rule without host (any host)" if not r.rule_host else "exact host" if r.rule_host == r.host
                    else f"wildcard {r.rule_host}")
        reasons.append(f"{host_how}; {r.ipath.path_type} {r.ipath.path} matches {r.path}")
        if r.ipath.path_type not in ("Exact", "Prefix"):
            reasons.append(f"pathType {r.ipath.path_type} treated as Prefix")
    cls = r.class_ref
    reasons.append(f"class {cls.name} (from {cls.source})" if cls.name else "no ingress class")
    if r.other_classes:
        reasons.append(f"also has rules in class {', '.join(c or '(none)' for c in r.other_classes)} (not traced)")
    default = default_class(store)
    findings += class_findings(store, ing, default)
    if r.tls is not None and r.tls_ingress is not None:
        reasons.append(f"TLS secret {r.tls.secret}" if r.tls.secret else "TLS with the controller's default "
                       "certificate")
        findings += tls_findings(store, r.tls_ingress, r.tls)
    if live:
        findings += admission_findings(ing)
    if r.ties and r.ipath is not None:
        findings += [f for f in host_conflicts(store, default, [ing, *r.ties])
                     if f.details.get("path") == r.ipath.path and f.details.get("host") == r.rule_host]
    backend = r.backend
    assert backend is not None  # route() always sets one
    label = "defaultBackend" if r.ipath is None else f"{r.rule_host or '*'}{r.ipath.path}"
    backend_problems = backend_findings(store, ing, backend, [label])
    findings += backend_problems
    own = [f for f in findings if f not in backend_problems]  # backend problems show on the Service hop
    reasons += [f.message for f in own]
    result.findings += findings
    result.hops.append(Hop("Ingress", ns, ing.meta.name, _worst(own),
                           reasons, INGRESS, {
                               "host": r.rule_host or None, "path": r.ipath.path if r.ipath else None,
                               "pathType": r.ipath.path_type if r.ipath else None,
                               "defaultBackend": r.ipath is None, "ingressClass": cls.name or None,
                               "tlsSecret": r.tls.secret if r.tls else None, "backend": backend.label()}))
    if backend.resource_kind:
        result.hops.append(Hop(backend.resource_kind, ns, backend.resource_name, UNKNOWN,
                               ["resource backend: not followed"], SERVICE))
        return None, None
    svc = store.service(ns, backend.service)
    if svc is None and not backend_problems:  # only when Services could not be read at all
        result.hops.append(Hop("Service", ns, backend.service, UNKNOWN, ["Services could not be read"], SERVICE,
                               {"port": backend.port}))
        return None, None
    if svc is None or backend_problems:
        result.hops.append(Hop("Service", ns, backend.service, ERROR, [f.message for f in backend_problems],
                               SERVICE, {"port": backend.port}))
        return None, None
    sport = find_service_port(svc, backend.port)
    if sport is None and svc.type == "ExternalName":  # a port-less ExternalName Service: the backend's port
        number = backend.port if isinstance(backend.port, int) else 0
        sport = ServicePort(backend.port if isinstance(backend.port, str) else "", number, backend.port or number)
    return svc, sport


def _service_hops(store: ClusterStore, svc: Service, sport: ServicePort, result: RequestPath
                  ) -> ServiceBackends | None:
    ns, name = svc.meta.key
    extra = {"port": sport.port, "portName": sport.name or None, "targetPort": sport.target, "type": svc.type,
             "selector": dict(svc.selector) if svc.selector else None}
    if svc.type == "ExternalName":
        f = finding("service-externalname", "Service", ns, name, f"ExternalName service: resolves to "
                    f"{svc.external_name}", "ktrace does not follow DNS names", external_name=svc.external_name)
        result.findings.append(f)
        result.hops.append(Hop("Service", ns, name, OK, [f"ExternalName: ends at {svc.external_name} (DNS, "
                               "outside the cluster)"], SERVICE, {**extra, "externalName": svc.external_name}))
        return None
    backends = service_backends(store, svc, sport)
    findings = selector_findings(store, svc) + [f for f in target_port_findings(store, svc)
                                                if f.details.get("port") == sport.label()]
    reasons = [f"selector {selector_text(svc.selector)}" if svc.selector else "no selector: endpoints managed "
               "by hand", f"port {sport.label()} -> targetPort {sport.target}"]
    if svc.headless:
        reasons.append("headless (clusterIP: None)")
    status = _worst(findings)
    if status == ERROR and not any(f.code == "service-selector-no-match" for f in findings) and \
            any(p.state == READY for p in backends.pods):
        status = WARNING  # a named targetPort only some pods lack: the others still serve
    result.findings += findings
    result.hops.append(Hop("Service", ns, name, status, reasons + [f.message for f in findings], SERVICE, extra))
    _endpoint_hops(store, svc, backends, result)
    return backends


def _policy_hop(store: ClusterStore, class_name: str, svc: Service, b: ServiceBackends, result: RequestPath,
                hint: ControllerHint | None) -> None:
    """A NetworkPolicy hop above the pods when policies isolate them: does the controller get in?"""
    reach = reachability(store, class_name, b.pods, b.port.protocol if b.port else "TCP", hint)
    if reach is None:
        return
    status = {ALLOWED: OK, BLOCKED: ERROR, PARTIAL: WARNING}.get(reach.state, UNKNOWN)
    name = (reach.allowed_by or sorted(reach.why_not) or reach.policies)[0]
    first_pod = next((i for i, h in enumerate(result.hops) if h.level == PODS), len(result.hops))
    result.hops.insert(first_pod, Hop("NetworkPolicy", reach.namespace, name, status, reach.reasons, ENDPOINTS, {
        "verdict": reach.state, "policies": reach.policies, "allowedBy": reach.allowed_by,
        "controller": reach.controllers.label, "port": reach.port}))
    for hop in result.hops[first_pod + 1:]:
        state = reach.pod_states.get(hop.name)
        if state is not None:
            hop.extra["networkPolicy"] = state
        if state == BLOCKED:
            hop.status = ERROR
            hop.reasons.append(f"NetworkPolicy admits no traffic from {reach.controllers.label}")
    result.findings += path_findings(reach, svc, class_name)


def _endpoint_hops(store: ClusterStore, svc: Service, b: ServiceBackends, result: RequestPath) -> None:
    ns = svc.meta.namespace
    ready, known, unknown = b.ready, b.known, b.unknown
    if known == 0 and unknown:
        status, why = UNKNOWN, "offline: no pod status, readiness unknown"
    elif known == 0:
        status, why = ERROR, "no endpoints" + ("" if svc.selector else ": no selector and no EndpointSlice")
    elif ready == 0:
        status, why = ERROR, f"0 of {known} ready"
    elif ready < known:
        status, why = WARNING, f"{ready} of {known} ready"
    else:
        status, why = OK, f"{ready} of {known} ready"
    counts = {"ready": ready, "total": known}
    if not b.slices:
        reasons = [why, "no EndpointSlice for this port"] if known == 0 and not unknown else [why]
        result.hops.append(Hop("EndpointSlice", ns, "", status, reasons, ENDPOINTS, counts))
    for s in b.slices:
        eps = s.endpoints
        s_ready = sum(e.ready for e in eps)
        s_status = status if len(b.slices) == 1 else OK if s_ready == len(eps) and eps else \
            ERROR if s_ready == 0 else WARNING
        result.hops.append(Hop("EndpointSlice", ns, s.meta.name, s_status, [why], ENDPOINTS, {
            "ready": s_ready, "total": len(eps), "ports": [f"{p.name or '-'}:{p.port}" for p in s.ports],
            "addresses": [a for e in eps for a in e.addresses][:20]}))
    for p in b.pods:
        pod = p.pod
        state_status = {READY: OK, NOT_READY: WARNING, UNKNOWN: UNKNOWN, EXCLUDED: ERROR}[p.state]
        if p.state == EXCLUDED and pod.phase in ("Succeeded", "Failed"):
            state_status = WARNING
        reasons = [p.reason]
        if not p.port_declared and isinstance(b.port.target if b.port else None, int):
            reasons.append(f"port {b.port.target} not declared by the container (traffic may still flow)")
        result.hops.append(Hop("Pod", ns, pod.meta.name, state_status, reasons, PODS, {
            "ready": None if p.state == UNKNOWN else p.state == READY, "containerPort": p.container_port,
            "ip": pod.ip or None, "node": pod.node or None, "phase": pod.phase or None, "restarts": pod.restarts,
            "templateOf": pod.template_of or None, "replicas": pod.replicas}))
    result.findings += readiness_findings(store, svc, b) + pod_findings(b, set())
