"""The request path for one host and path: Ingress rule -> Service:port -> EndpointSlices -> Pods,
with a verdict and the reasons on every hop. Pure: reads the store, never changes it."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ktrace.backends import EXCLUDED, NOT_READY, READY, UNKNOWN, ServiceBackends, service_backends
from ktrace.certs import CertificateBook
from ktrace.checks.gateway import (
    attachment_finding,
    gateway_class_findings,
    listener_tls_findings,
    route_backend_findings,
    status_findings,
)
from ktrace.checks.ingress import (
    admission_findings,
    backend_findings,
    class_findings,
    find_service_port,
    host_conflicts,
    tls_findings,
)
from ktrace.checks.networkpolicy import (
    PARTIAL,
    ControllerHint,
    Controllers,
    find_controllers,
    find_gateway_pods,
    ingress_entry,
    path_findings,
    reachability,
)
from ktrace.checks.service import (
    pod_findings,
    readiness_findings,
    selector_findings,
    selector_text,
    target_port_findings,
)
from ktrace.findings import Finding, finding, sort_key
from ktrace.gateway import GatewayRoute, RuleChoice, backend_shares, gateway_route, listeners_for_host
from ktrace.model import BackendRef, Gateway, Ingress, Listener, RouteRule, Service, ServicePort
from ktrace.netpol import ALLOWED, BLOCKED
from ktrace.rollout import revisions
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


@dataclass(frozen=True)
class Via:
    """A preview: trace as if the matched rule's backend were `service` (same namespace, same port
    reference). On a Gateway rule with several backendRefs, `backend` names the one replaced;
    `weights` (backendRef name -> weight, names as the rule has them) previews another split."""
    service: str | None = None
    backend: str | None = None
    weights: tuple[tuple[str, int], ...] = ()

    def rule(self, rule: RouteRule) -> RouteRule:
        weights = dict(self.weights)
        refs = tuple(replace(r, weight=weights.get(r.name, r.weight), name=self.service)
                     if self.service and r.is_service and (self.backend or r.name) == r.name
                     else replace(r, weight=weights.get(r.name, r.weight)) for r in rule.backends)
        return replace(rule, backends=refs)


def _worst(findings: list[Finding]) -> str:
    ranks = {f.severity for f in findings}
    return ERROR if "error" in ranks else WARNING if "warning" in ranks else OK


def trace(store: ClusterStore, target: str | Target, *, live: bool, controllers: ControllerHint | None = None,
          certs: CertificateBook | None = None, via: Via | None = None) -> RequestPath:
    """`controllers`: who the ingress controller's pods are, when not found from the IngressClass;
    `certs`: check the certificate of the path's TLS Secret (--check-certs); `via`: the path as it
    would be with another backend (ktrace.preview checks the candidate first)."""
    t = as_target(target)
    result = RequestPath(target=str(t), host=t.host, path=t.path)
    r = route(store, t.host, t.path)
    g = gateway_route(store, t, live=live)
    if r is None and not _serves(g):
        result.status = "broken"
        result.findings = [_no_route(store, t, g)]
        return result
    svc, sport = _ingress_hop(store, r, result, live, certs, via) if r is not None else (None, None)
    if svc is not None and sport is not None:
        start = len(result.hops)
        backends = _service_hops(store, svc, sport, result)
        if backends is not None:
            cls = r.class_ref.name
            _policy_hop(store, svc, backends, result, start, lambda: find_controllers(store, cls, controllers),
                        ingress_entry(cls, svc))
    ingress_hops = len(result.hops)  # the Ingress path, then the Gateway path: alternative entry points
    gateway_status = _gateway_hops(store, g, result, live, controllers, certs, via) \
        if g is not None and _serves(g) else None
    result.findings.sort(key=sort_key)
    result.status = _combine([s for s in (_overall(result.hops[:ingress_hops]) if r is not None else None,
                                          gateway_status) if s is not None])
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


def _no_route(store: ClusterStore, t: Target, g: GatewayRoute | None = None) -> Finding:
    hosts = store.hosts()
    close = difflib.get_close_matches(t.host, hosts, n=3, cutoff=0.6)
    parent = t.host.partition(".")[2]
    close += [h for h in hosts if parent and h.endswith("." + parent) and h not in close][:3]
    paths = sorted({f"{r.host}{p.path} ({p.path_type})" for key in (t.host, wildcard_for(t.host))
                    for ing in store.ingresses_for_host(key) for r in ing.rules if r.host == key for p in r.paths})
    paths += g.paths if g is not None else []
    if paths:
        hint = f"host {t.host} has only these paths: {', '.join(paths[:6])}"
    elif close:
        hint = f"closest hosts: {', '.join(close[:4])}"
    else:
        hint = f"no Ingress names a similar host ({len(hosts)} host(s) in scope)"
    listeners = listeners_for_host(store, t.host) if not paths else []
    if listeners:
        hint += f"; Gateway listener(s) {', '.join(listeners[:3])} take this host, but no HTTPRoute there names it"
    what = "no Ingress rule, default backend or HTTPRoute rule" if g is not None else \
        "no Ingress rule or default backend"
    return finding("host-no-route", "Host", "", t.host, f"{what} serves {t}", hint,
                   host=t.host, path=t.path, closest_hosts=close[:4], paths=paths)


def _ingress_hop(store: ClusterStore, r: Route, result: RequestPath, live: bool, certs: CertificateBook | None,
                 via: Via | None = None) -> tuple[Service | None, ServicePort | None]:
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
        if certs is not None and r.tls.secret:
            findings += certs.path_findings(r.tls_ingress, r.tls, r.host)
    if live:
        findings += admission_findings(ing)
    if r.ties and r.ipath is not None:
        findings += [f for f in host_conflicts(store, default, [ing, *r.ties])
                     if f.details.get("path") == r.ipath.path and f.details.get("host") == r.rule_host]
    backend = r.backend
    assert backend is not None  # route() always sets one
    if via is not None and via.service and backend.service:
        backend = replace(backend, service=via.service)
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
    return svc, _backend_port(svc, backend.port)


def _backend_port(svc: Service, port: int | str | None) -> ServicePort | None:
    """The Service port a backend names; for a port-less ExternalName Service, the backend's own port."""
    sport = find_service_port(svc, port)
    if sport is None and svc.type == "ExternalName":
        number = port if isinstance(port, int) else 0
        sport = ServicePort(port if isinstance(port, str) else "", number, port or number)
    return sport


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
    hop = result.hops[-1]
    _endpoint_hops(store, svc, backends, result)
    revs = revisions(store, backends.pods)
    if revs:  # a rollout: old and new pods side by side
        hop.extra["revisions"] = [r.to_dict() for r in revs]
    return backends


def _policy_hop(store: ClusterStore, svc: Service, b: ServiceBackends, result: RequestPath, start: int,
                sources: Callable[[], Controllers], entry: tuple[str, str, str]) -> None:
    """A NetworkPolicy hop above the pods (of the Service hops from `start`) when policies isolate
    them: do the controller's (or the Gateway's) pods get in?"""
    reach = reachability(store, b.pods, b.port.protocol if b.port else "TCP", sources)
    if reach is None:
        return
    status = {ALLOWED: OK, BLOCKED: ERROR, PARTIAL: WARNING}.get(reach.state, UNKNOWN)
    first_pod = next((i for i in range(start, len(result.hops)) if result.hops[i].level == PODS), len(result.hops))
    result.hops.insert(first_pod, Hop("NetworkPolicy", reach.namespace, reach.name, status, reach.reasons, ENDPOINTS, {
        "verdict": reach.state, "policies": reach.policies, "allowedBy": reach.allowed_by,
        "controller": reach.controllers.label, "port": reach.port}))
    for hop in result.hops[first_pod + 1:]:
        state = reach.pod_states.get(hop.name)
        if state is not None:
            hop.extra["networkPolicy"] = state
        if state == BLOCKED:
            hop.status = ERROR
            hop.reasons.append("no NetworkPolicy admits this traffic")
    result.findings += path_findings(reach, svc, entry)


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


# -- Gateway API -------------------------------------------------------------------------------

_PATH_RANK = {"ok": 0, "unknown": 1, "degraded": 2, "broken": 3}


def _serves(g: GatewayRoute | None) -> bool:
    return g is not None and (g.choice is not None or bool(g.broken))


def _combine(statuses: list[str]) -> str:
    """Alternative entry points (an Ingress and a Gateway): the worse one, since some clients reach it."""
    return max(statuses, key=_PATH_RANK.__getitem__)


def _gateway_hop(store: ClusterStore, gw: Gateway, live: bool, result: RequestPath, reasons: list[str],
                 extra: dict[str, Any], listener: Listener | None = None) -> None:
    findings = gateway_class_findings(store, gw, live)
    if listener is not None:
        findings += listener_tls_findings(store, gw, listener, live)
    result.findings += findings
    result.hops.append(Hop("Gateway", gw.meta.namespace, gw.meta.name, _worst(findings),
                           reasons + [f"class {gw.class_name}"] + [f.message for f in findings], INGRESS,
                           {"gatewayClass": gw.class_name or None, **extra}))


def _unattached_hops(store: ClusterStore, g: GatewayRoute, result: RequestPath, live: bool) -> str:
    """Routes that name the host but attach to no listener: the Gateway (when it exists) and the route."""
    for a in g.broken:
        f = attachment_finding(a)
        result.findings.append(f)
        if a.gateway is not None:
            _gateway_hop(store, a.gateway, live, result, [f"parentRef {a.parent.label()}"], {})
        else:
            result.hops.append(Hop("Gateway", a.parent.namespace, a.parent.name, ERROR, [a.why], INGRESS))
        result.hops.append(Hop("HTTPRoute", a.route.meta.namespace, a.route.meta.name, ERROR, [f.message], INGRESS,
                               {"hostnames": list(a.route.hostnames), "parentRef": a.parent.label()}))
    return "broken"


def _gateway_hops(store: ClusterStore, g: GatewayRoute, result: RequestPath, live: bool,
                  hint: ControllerHint | None = None, book: CertificateBook | None = None, via: Via | None = None
                  ) -> str:
    """Gateway (listener) -> HTTPRoute (rule) -> each backendRef's Service and what backs it. Returns
    this entry point's status: broken when every backend that carries weight fails, degraded when some do."""
    c, gw, x = g.choice, g.gateway, g.listener
    if c is None or gw is None or x is None:
        return _unattached_hops(store, g, result, live)
    first = len(result.hops)
    certs = [n for k, _, n in x.certificates if k == "Secret"]
    reasons = [f"listener {x.name}: {x.protocol} port {x.port}, hostname {x.hostname or 'any'}"]
    if certs:
        reasons.append(f"TLS certificate {', '.join(certs)}")
    reasons += [f"also served by {o} (not traced)" for o in g.others]
    _gateway_hop(store, gw, live, result, reasons, {
        "listener": x.name, "protocol": x.protocol, "port": x.port, "listenerHostname": x.hostname or None,
        "tlsSecrets": certs}, x)
    if book is not None and certs:  # --check-certs: the listener's certificates, for the traced host
        problems = book.listener_findings(gw, x, g.host)
        hop = result.hops[-1]
        result.findings += problems
        hop.reasons += [f.message for f in problems]
        order = (OK, WARNING, ERROR)
        hop.status = max(hop.status, _worst(problems), key=order.index)
    route, rule = c.route, c.rule if via is None else via.rule(c.rule)
    how = "listener's hostname" if not route.hostnames else "exact hostname" if c.hostname == g.host \
        else f"wildcard {c.hostname}"
    reasons = [f"{how}; rule {c.index + 1}: {c.match.label()} matches {g.path}", *g.notes]
    reasons += [f"{a.route.meta.namespace}/{a.route.meta.name} names this host but {a.parent.label()} does not "
                f"take it: {a.why}" for a in g.broken]
    own = status_findings(route) if live else []
    status = _worst(own)
    redirect = "RequestRedirect" in rule.filters
    if not rule.backends and not redirect:
        status = ERROR
        reasons.append("rule has no backendRefs: the Gateway answers 500")
    shares = backend_shares(rule)
    if rule.backends and not any(shares):
        status = ERROR
        reasons.append("every backendRef has weight 0: the Gateway answers 500")
    result.findings += own + [attachment_finding(a) for a in g.broken]
    result.hops.append(Hop("HTTPRoute", route.meta.namespace, route.meta.name, status,
                           reasons + [f.message for f in own], INGRESS, {
                               "hostname": c.hostname or None, "rule": c.index + 1, "ruleName": rule.name or None,
                               "path": c.match.path, "pathType": c.match.path_type, "match": c.match.label(),
                               "filters": list(rule.filters), "backends": [
                                   {"kind": b.kind, "namespace": b.namespace, "name": b.name, "port": b.port,
                                    "weight": b.weight, "share": round(s, 4)}
                                   for b, s in zip(rule.backends, shares, strict=True)]}))
    entry = _overall(result.hops[first:])
    if not rule.backends:
        return entry
    weighted = []
    for ref, share in zip(rule.backends, shares, strict=True):
        start = len(result.hops)
        _backend_ref_hops(store, c, ref, share, len(rule.backends) > 1, result,
                          lambda: find_gateway_pods(store, gw, hint), ("Gateway", *gw.meta.key), live=live)
        if share > 0:
            weighted.append(_overall(result.hops[start:]))
    if entry == "broken" or not weighted or all(s == "broken" for s in weighted):
        return "broken"  # the entry fails, every weight is 0, or every request fails: the Gateway answers 500
    if any(s in ("broken", "degraded") for s in weighted):
        return "degraded"
    return _combine([entry, *weighted])


def _backend_ref_hops(store: ClusterStore, c: RuleChoice, ref: BackendRef, share: float, split: bool,
                      result: RequestPath, sources: Callable[[], Controllers], entry: tuple[str, str, str], *,
                      live: bool) -> None:
    extra: dict[str, Any] = {"port": ref.port, "weight": ref.weight, "share": round(share, 4)}
    weight = [f"weight {ref.weight}: {share:.0%} of requests" if share else f"weight {ref.weight}: no requests"] \
        if split or not share else []
    problems = route_backend_findings(store, c.route, ref, [f"rule {c.index + 1}"], live=live)
    result.findings += problems
    if not ref.is_service:
        result.hops.append(Hop(ref.kind, ref.namespace, ref.name, UNKNOWN,
                               [*weight, f"backendRef of kind {ref.kind}: not followed"], SERVICE, extra))
        return
    svc = store.service(ref.namespace, ref.name)
    sport = _backend_port(svc, ref.port) if svc is not None else None
    if problems or svc is None or sport is None:
        result.hops.append(Hop("Service", ref.namespace, ref.name, ERROR if problems else UNKNOWN,
                               [*weight, *([f.message for f in problems] or ["Service not readable or not in scope"])],
                               SERVICE, extra))
        return
    start = len(result.hops)
    backends = _service_hops(store, svc, sport, result)
    if backends is not None:
        _policy_hop(store, svc, backends, result, start, sources, entry)
    hop = result.hops[start]
    hop.extra.update(weight=ref.weight, share=extra["share"])
    hop.reasons[:0] = weight
