"""The request path for one host and path: Ingress rule -> Service:port -> EndpointSlices -> Pods,
with a verdict and the reasons on every hop. Pure: reads the store, never changes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ktrace import backendtls, checks, grpc
from ktrace.backends import PodState, ServiceBackends, service_backends
from ktrace.certs import CertificateBook
from ktrace.checks.networkpolicy import ControllerHint, Controllers  # the types, not the checks
from ktrace.filters import describe, location
from ktrace.findings import Finding, sort_key
from ktrace.gateway import Conflict, GatewayRoute, RuleChoice, backend_shares, gateway_route, knowable
from ktrace.model import (
    BackendRef,
    Gateway,
    GRPCMatch,
    Ingress,
    Listener,
    RouteFilter,
    RouteRule,
    Service,
    ServicePort,
    XRoute,
)
from ktrace.netpol import PolicyVerdict
from ktrace.requestpath import (
    ENDPOINTS,
    FRONT,
    INGRESS,
    PODS,
    SERVICE,
    BackendDetail,
    BackendTLS,
    CACertificate,
    EndpointSliceDetail,
    Filters,
    FrontDoorDetail,
    GatewayDetail,
    GRPCRouteDetail,
    Hop,
    HopStatus,
    HTTPRouteDetail,
    IngressDetail,
    ListenerDetail,
    Mirror,
    NetworkPolicyDetail,
    PathStatus,
    PodDetail,
    Redirect,
    RequestPath,
    RouteDetail,
    RuleBackend,
    ServiceDetail,
    Split,
    TLSRouteDetail,
    UnattachedRouteDetail,
)
from ktrace.rollout import revisions
from ktrace.routing import Route, default_class, route
from ktrace.rules import readable
from ktrace.store import ClusterStore
from ktrace.targets import Target, as_target


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


def _worst(findings: list[Finding]) -> HopStatus:
    ranks = {f.severity for f in findings}
    return HopStatus.ERROR if "error" in ranks else HopStatus.WARNING if "warning" in ranks else HopStatus.OK


def trace(store: ClusterStore, target: str | Target, *, live: bool, controllers: ControllerHint | None = None,
          certs: CertificateBook | None = None, via: Via | None = None) -> RequestPath:
    """`controllers`: who the ingress controller's pods are, when not found from the IngressClass;
    `certs`: check the certificate of the path's TLS Secret (--check-certs); `via`: the path as it
    would be with another backend (ktrace.preview checks the candidate first)."""
    return Tracer(store, live=live, controllers=controllers, certs=certs).trace(target, via)


class Tracer:
    """Traces targets over one store. Holds what every tier of a path needs: the store, whether its
    statuses are live (admission and route status findings), who the ingress controller is when the
    IngressClass does not tell, and the certificate book (--check-certs; None: certificates unread)."""

    def __init__(self, store: ClusterStore, *, live: bool, controllers: ControllerHint | None = None,
                 certs: CertificateBook | None = None) -> None:
        self.store, self.live, self.controllers, self.certs = store, live, controllers, certs

    def trace(self, target: str | Target, via: Via | None = None) -> RequestPath:
        store = self.store
        t = as_target(target)
        result = RequestPath(target=str(t), host=t.host, path=t.path)
        r = route(store, t.host, t.path) if t.route_kind == "HTTPRoute" else None  # Ingress: HTTP only
        g = gateway_route(store, t, live=self.live)
        if r is None and not _serves(g):
            result.status = PathStatus.BROKEN
            result.findings = checks.host.no_route(store, t, g)
            if g is not None:  # the routes a conflict rejected: why the host has none
                result.findings += [checks.gateway.conflict_finding(c) for c in g.conflicts]
            return result
        if r is not None:
            self._front_hop(checks.frontdoor.ingress_front(store, r.class_ref.name, r.ingress, self.controllers),
                            result)
        svc, sport = self._ingress_hop(r, result, via) if r is not None else (None, None)
        if svc is not None and sport is not None:
            start = len(result.hops)
            backends = _service_hops(store, svc, sport, result)
            if backends is not None:
                cls = r.class_ref.name
                _policy_hop(store, svc, backends, result, start,
                            lambda: checks.networkpolicy.find_controllers(store, cls, self.controllers),
                            checks.networkpolicy.ingress_entry(cls, svc))
        ingress_hops = len(result.hops)  # the Ingress path, then the Gateway path: alternative entry points
        gateway_status = self._gateway_hops(g, result, via) if g is not None and _serves(g) else None
        if r is not None and gateway_status is not None:  # both entry points serve the host: do they agree?
            result.findings += checks.migration.host_findings(store, t.host, live=self.live)
        result.findings.sort(key=sort_key)
        result.status = _combine([s for s in (_overall(result.hops[:ingress_hops]) if r is not None else None,
                                              gateway_status) if s is not None])
        for hop in result.hops:  # which findings belong to which hop, for views that mark them in place
            ref = (hop.kind, hop.namespace, hop.name)
            hop.finding_codes = [f.code for f in result.findings if (f.kind, f.namespace, f.name) == ref
                                 or (hop.level == FRONT and f.message in hop.reasons)]
        return result

    def _front_hop(self, door: checks.frontdoor.FrontDoor, result: RequestPath) -> None:
        """The tier that receives the request, first on its entry point: its errors break the path, its warnings
        leave it as it is (the controller still serves), and unknown (not found) judges nothing."""
        result.findings += door.findings
        result.hops.append(Hop(door.kind, door.namespace, door.name, door.status, door.reasons, FRONT, door.detail))

    def _ingress_hop(self, r: Route, result: RequestPath, via: Via | None) -> tuple[Service | None, ServicePort | None]:
        store = self.store
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
        findings += checks.ingress.class_findings(store, ing, default)
        if r.tls is not None and r.tls_ingress is not None:
            reasons.append(f"TLS secret {r.tls.secret}" if r.tls.secret else "TLS with the controller's default "
                           "certificate")
            findings += checks.ingress.tls_findings(store, r.tls_ingress, r.tls)
            if self.certs is not None and r.tls.secret:
                findings += checks.certificates.path_findings(self.certs, r.tls_ingress, r.tls, r.host)
        if self.live:
            findings += checks.ingress.admission_findings(ing)
        if r.ties and r.ipath is not None:
            findings += [f for f in checks.ingress.host_conflicts(store, default, [ing, *r.ties])
                         if f.details.get("path") == r.ipath.path and f.details.get("host") == r.rule_host]
        backend = r.backend
        assert backend is not None  # route() always sets one
        if via is not None and via.service and backend.service:
            backend = replace(backend, service=via.service)
        label = "defaultBackend" if r.ipath is None else f"{r.rule_host or '*'}{r.ipath.path}"
        backend_problems = checks.ingress.backend_findings(store, ing, backend, [label])
        findings += backend_problems
        own = [f for f in findings if f not in backend_problems]  # backend problems show on the Service hop
        reasons += [f.message for f in own]
        result.findings += findings
        result.hops.append(Hop("Ingress", ns, ing.meta.name, _worst(own), reasons, INGRESS, IngressDetail(
            host=r.rule_host or None, path=r.ipath.path if r.ipath else None,
            path_type=r.ipath.path_type if r.ipath else None, default_backend=r.ipath is None,
            ingress_class=cls.name or None, tls_secret=r.tls.secret if r.tls else None, backend=backend.label())))
        if backend.resource_kind:
            result.hops.append(Hop(backend.resource_kind, ns, backend.resource_name, HopStatus.UNKNOWN,
                                   ["resource backend: not followed"], SERVICE))
            return None, None
        svc = store.service(ns, backend.service)
        if svc is None and not backend_problems:  # only when Services could not be read at all
            result.hops.append(Hop("Service", ns, backend.service, HopStatus.UNKNOWN, ["Services could not be read"],
                                   SERVICE, BackendDetail(backend.port)))
            return None, None
        if svc is None or backend_problems:
            result.hops.append(Hop("Service", ns, backend.service, HopStatus.ERROR,
                                   [f.message for f in backend_problems], SERVICE, BackendDetail(backend.port)))
            return None, None
        return svc, _backend_port(svc, backend.port)

    def _gateway_hop(self, gw: Gateway, result: RequestPath, reasons: list[str], listener: Listener | None = None,
                     shown: ListenerDetail | None = None) -> list[Finding]:
        """The Gateway hop and its findings; `listener`: the one that took the host (its TLS and, live, its
        conditions are checked), `shown` as the hop tells it."""
        if not any(isinstance(h.detail, FrontDoorDetail) and h.detail.of == f"Gateway {gw.meta.namespace}/"
                   f"{gw.meta.name}" for h in result.hops):  # several unattached routes may name one Gateway
            self._front_hop(checks.frontdoor.gateway_front(self.store, gw, self.controllers), result)
        findings = checks.gateway.gateway_class_findings(self.store, gw, self.live)
        if listener is not None:
            findings += checks.gateway.listener_tls_findings(self.store, gw, listener, self.live)
        if self.live:  # the controller's word on the Gateway and on the listener that took the request
            findings += checks.gateway.gateway_status_findings(gw, [listener] if listener is not None else [])
        result.findings += findings
        result.hops.append(Hop("Gateway", gw.meta.namespace, gw.meta.name, _worst(findings),
                               reasons + [f"class {gw.class_name}"] + [f.message for f in findings], INGRESS,
                               GatewayDetail(gw.class_name or None, shown)))
        return findings

    def _unattached_hops(self, g: GatewayRoute, result: RequestPath) -> PathStatus:
        """Routes that name the host but attach to no listener: the Gateway (when it exists) and the route."""
        for a in g.broken:
            f = checks.gateway.attachment_finding(a)
            result.findings.append(f)
            if a.gateway is not None:
                self._gateway_hop(a.gateway, result, [f"parentRef {a.parent.label()}"])
            else:
                result.hops.append(Hop("Gateway", a.parent.namespace, a.parent.name, HopStatus.ERROR, [a.why],
                                       INGRESS))
            result.hops.append(Hop(a.route.meta.kind, a.route.meta.namespace, a.route.meta.name, HopStatus.ERROR,
                                   [f.message], INGRESS, UnattachedRouteDetail(list(a.route.hostnames),
                                                                               a.parent.label())))
        return PathStatus.BROKEN

    def _gateway_hops(self, g: GatewayRoute, result: RequestPath, via: Via | None) -> PathStatus:
        """Gateway (listener) -> HTTPRoute or GRPCRoute (rule), or TLSRoute -> each backendRef's Service and what backs
        it. Returns this entry point's status: broken when every backend that carries weight fails, degraded when
        some do."""
        c, gw, x = g.choice, g.gateway, g.listener
        if c is None or gw is None or x is None:
            return self._unattached_hops(g, result)
        if c.route.meta.kind == "TLSRoute":
            return self._tls_hops(c, g, result, via)
        first = len(result.hops)
        floor = self._listener_hop(g, result)
        route, rule = c.route, c.rule if via is None else via.rule(c.rule)
        kind = route.meta.kind
        asked = f"the call {grpc.Call(*as_target(result.target).grpc_call).label()}" if kind == "GRPCRoute" else g.path
        reasons = [f"{_how(c, g)}; rule {c.index + 1}: {c.match.label()} matches {asked}", *g.notes]
        reasons += _unattached_reasons(g)
        reasons += [_conflict_reason(k, route) for k in g.conflicts]
        own = checks.gateway.status_findings(route) if self.live else []
        own += checks.gateway.filter_findings(route, c.index, rule)
        status = _worst(own)
        filters, described, mirror_problems = self._filters(c, rule.filters, g, result)
        reasons += described
        redirect = rule.redirect
        fails = _FAILS.get(kind, _FAILS["HTTPRoute"])
        if redirect is not None:  # the Gateway answers the request itself
            reasons.append("the client gets the redirect: no backend is reached")
        elif not rule.backends:
            status = HopStatus.ERROR
            reasons.append(f"rule has no backendRefs: {fails}")
        shares = backend_shares(rule)
        if rule.backends and not any(shares) and redirect is None:
            status = HopStatus.ERROR
            reasons.append(f"every backendRef has weight 0: {fails}")
        if mirror_problems and status == HopStatus.OK:
            status = HopStatus.WARNING
        result.findings += own + [checks.gateway.attachment_finding(a) for a in g.broken]
        result.findings += [checks.gateway.conflict_finding(k) for k in g.conflicts]
        backends = _rule_backends(rule, shares)
        m = c.match
        detail: RouteDetail = GRPCRouteDetail(
            c.hostname or None, c.index + 1, rule.name or None, m.service or None, m.method or None, m.type, m.label(),
            filters or Filters(), backends) if isinstance(m, GRPCMatch) else HTTPRouteDetail(
            hostname=c.hostname or None, rule=c.index + 1, rule_name=rule.name or None, path=m.path,
            path_type=m.path_type, match=m.label(), filters=filters or Filters(), backends=backends)
        result.hops.append(Hop(kind, route.meta.namespace, route.meta.name, status, reasons + [f.message for f in own],
                               INGRESS, detail))
        entry = _combine([_overall(result.hops[first:]), floor])
        if not rule.backends or redirect is not None:
            return entry
        return self._weighted_hops(c, g, rule, entry, result)

    def _listener_hop(self, g: GatewayRoute, result: RequestPath) -> PathStatus:
        """The Gateway hop for the listener that took the host. Returns the least the entry's status is: the
        listener's conditions that leave it serving only part of what it should (ResolvedRefs false) degrade
        it (those that stop it serving make the hop an error, so the entry broken)."""
        gw, x = g.gateway, g.listener
        assert gw is not None and x is not None
        certs = [n for k, _, n in x.certificates if k == "Secret"] if x.tls_mode == "Terminate" else []
        reasons = [f"listener {x.name}: {x.protocol} port {x.port}, hostname {x.hostname or 'any'}"]
        if x.tls_mode == "Passthrough":
            reasons.append("TLS passthrough: the Gateway reads only the SNI, the backends terminate TLS")
        if certs:
            reasons.append(f"TLS certificate {', '.join(certs)}")
        reasons += [f"also served by {o} (not traced)" for o in g.others]
        found = self._gateway_hop(gw, result, reasons, x,
                                  ListenerDetail(x.name, x.protocol, x.port, x.hostname or None, certs))
        if self.certs is not None and certs:  # --check-certs: the listener's certificates, for the traced host
            problems = checks.certificates.listener_findings(self.certs, gw, x, g.host)
            hop = result.hops[-1]
            result.findings += problems
            hop.reasons += [f.message for f in problems]
            order = (HopStatus.OK, HopStatus.WARNING, HopStatus.ERROR)
            hop.status = max(hop.status, _worst(problems), key=order.index)
        partial = any(f.code in checks.gateway.LISTENER_CONDITION_CODES and f.severity == "warning" for f in found)
        return PathStatus.DEGRADED if partial else PathStatus.OK

    def _tls_hops(self, c: RuleChoice, g: GatewayRoute, result: RequestPath, via: Via | None) -> PathStatus:
        """Gateway (TLS listener) -> TLSRoute -> each backendRef's Service and what backs it. No HTTP matching:
        the SNI chose the route. On a listener in Terminate mode (Extended support) the entry is degraded
        unless, live, the controller reports it accepted the route."""
        gw, x = g.gateway, g.listener
        assert gw is not None and x is not None
        first = len(result.hops)
        floor = self._listener_hop(g, result)
        route, rule = c.route, c.rule if via is None else via.rule(c.rule)
        reasons = [f"SNI {g.host}: {_how(c, g)}; listener tls.mode {x.tls_mode}"]
        if len(route.rules) > 1:
            reasons.append(f"{len(route.rules)} rules, nothing tells them apart: rule 1 traced")
        reasons += _unattached_reasons(g)
        own = checks.gateway.status_findings(route) if self.live else []
        terminate = checks.gateway.terminate_finding(route, gw, x, live=self.live)
        if terminate is not None:
            own.append(terminate)
            floor = _combine([floor, PathStatus.DEGRADED])
        elif x.tls_mode == "Terminate":
            reasons.append("Terminate mode: the Gateway decrypts (TLSRouteTermination, accepted by the controller)")
        status = _worst(own)
        shares = backend_shares(rule)
        if not rule.backends or not any(shares):
            status = HopStatus.ERROR
            reasons.append("no backendRef takes connections: the Gateway rejects them")
        result.findings += own + [checks.gateway.attachment_finding(a) for a in g.broken]
        result.hops.append(Hop("TLSRoute", route.meta.namespace, route.meta.name, status,
                               reasons + [f.message for f in own], INGRESS, TLSRouteDetail(
                                   hostname=c.hostname or None, sni=g.host, tls_mode=x.tls_mode,
                                   backends=_rule_backends(rule, shares))))
        entry = _combine([_overall(result.hops[first:]), floor])
        if not rule.backends:
            return entry
        # A TLSRoute's backendRefs have no filters in the API: none are described or followed.
        return self._weighted_hops(c, g, replace(rule, backends=tuple(replace(b, filters=()) for b in rule.backends)),
                                   entry, result)

    def _weighted_hops(self, c: RuleChoice, g: GatewayRoute, rule: RouteRule, entry: PathStatus,
                       result: RequestPath) -> PathStatus:
        """Each backendRef of the rule and what backs it; the entry point's status from `entry` (what is above
        the backends) and the backends that carry weight."""
        shares = backend_shares(rule)
        weighted = []
        for ref, share in zip(rule.backends, shares, strict=True):
            start = len(result.hops)
            self._backend_ref_hops(c, g, ref, share, len(rule.backends) > 1, result)
            if share > 0:
                weighted.append(_overall(result.hops[start:]))
        if entry == PathStatus.BROKEN or not weighted or all(s == PathStatus.BROKEN for s in weighted):
            # the entry fails, every weight is 0, or every request fails: the Gateway answers 500
            return PathStatus.BROKEN
        if any(s in (PathStatus.BROKEN, PathStatus.DEGRADED) for s in weighted):
            return PathStatus.DEGRADED
        return _combine([entry, *weighted])

    def _filters(self, c: RuleChoice, filters: tuple[RouteFilter, ...], g: GatewayRoute, result: RequestPath
                 ) -> tuple[Filters | None, list[str], bool]:
        """A rule's or a backendRef's filters on the hop that carries them: the record (None without filters),
        a reason each, and whether a mirror's backend has a problem (the path carries it as a warning:
        only the copies are lost)."""
        if not filters:
            return None, [], False
        assert g.listener is not None
        out, reasons, troubled = Filters([f.type for f in filters]), [], False
        for f in filters:
            text = describe(f, g.listener, g.host, g.path, c.match)
            if f.type == "RequestRedirect" and out.redirect is None:
                out.redirect = Redirect(f.status_code, location(f, g.listener, g.host, g.path, c.match))
            m = f.mirror
            if m is None:
                reasons.append(text)
                continue
            problems = checks.gateway.mirror_findings(self.store, c.route, m, [f"rule {c.index + 1}"], live=self.live)
            judged = m.is_service and readable(self.store, "Service") and knowable(self.store, m.namespace, self.live)
            exists = self.store.service(m.namespace, m.name) is not None if judged else None
            reasons += [text + (": the Service exists" if exists else ""), *(p.message for p in problems)]
            result.findings += problems
            troubled = troubled or bool(problems)
            out.mirrors.append(Mirror(m.kind, m.namespace, m.name, m.port, round(f.mirrored, 4), exists))
        return out, reasons, troubled

    def _backend_ref_hops(self, c: RuleChoice, g: GatewayRoute, ref: BackendRef, share: float, split: bool,
                          result: RequestPath) -> None:
        store, gw = self.store, g.gateway
        assert gw is not None
        part = Split(ref.weight, round(share, 4))
        weight = [f"weight {ref.weight}: {share:.0%} of requests" if share else f"weight {ref.weight}: no requests"] \
            if split or not share else []
        problems = checks.gateway.route_backend_findings(store, c.route, ref, [f"rule {c.index + 1}"], live=self.live)
        result.findings += problems
        filters, described, mirror_problems = self._filters(c, ref.filters, g, result)
        if not ref.is_service:
            status = HopStatus.ERROR if any(f.severity == "error" for f in problems) else HopStatus.UNKNOWN
            why = [f.message for f in problems] or [f"backendRef of kind {ref.kind}: not followed"]
            result.hops.append(Hop(ref.kind, ref.namespace, ref.name, status, [*weight, *described, *why], SERVICE,
                                   BackendDetail(ref.port, part, filters)))
            return
        svc = store.service(ref.namespace, ref.name)
        sport = _backend_port(svc, ref.port) if svc is not None else None
        if problems or svc is None or sport is None:
            status = HopStatus.ERROR if problems else HopStatus.UNKNOWN
            why = [f.message for f in problems] or ["Service not readable or not in scope"]
            result.hops.append(Hop("Service", ref.namespace, ref.name, status, [*weight, *described, *why], SERVICE,
                                   BackendDetail(ref.port, part, filters)))
            return
        if filters is not None and filters.redirect is not None:  # the branch ends at the Gateway's answer
            status = HopStatus.WARNING if mirror_problems else HopStatus.OK
            result.hops.append(Hop("Service", ref.namespace, ref.name, status, [
                *weight, *described, "the client gets the redirect: the Service's pods are not reached"], SERVICE,
                BackendDetail(ref.port, part, filters)))
            return
        start = len(result.hops)
        backends = _service_hops(store, svc, sport, result)
        if backends is not None:
            _policy_hop(store, svc, backends, result, start,
                        lambda: checks.networkpolicy.find_gateway_pods(store, gw, self.controllers),
                        ("Gateway", *gw.meta.key))
        hop = result.hops[start]
        assert isinstance(hop.detail, ServiceDetail)  # _service_hops begins with the Service hop
        hop.detail.split = part
        hop.detail.filters = filters
        hop.reasons[:0] = weight
        hop.reasons += described
        if mirror_problems and hop.status == HopStatus.OK:
            hop.status = HopStatus.WARNING
        if g.listener is None or g.listener.tls_mode != "Passthrough":  # passthrough: the client's own TLS goes on
            self._backend_tls(svc, sport, hop, result)

    def _backend_tls(self, svc: Service, sport: ServicePort, hop: Hop, result: RequestPath) -> None:
        """The BackendTLSPolicy that applies to the Service port, on the Service hop of a Gateway path (an Ingress
        controller does not read it): the Gateway connects to the pods over TLS. A CA certificate that does not
        exist fails every connection (error); policies that conflict with it are not applied (warning); live,
        the controller's own word on the policy."""
        group = backendtls.for_port(self.store, svc, sport)
        if group is None:
            return
        p, ns = group.applied, svc.meta.namespace
        cas = [CACertificate(r.kind, r.name, backendtls.ca_exists(self.store, ns, r)) for r in p.ca_refs]
        problems = checks.backendtls.ca_findings(self.store, p) + checks.backendtls.conflict_findings(group)
        if self.live:
            problems += checks.backendtls.status_findings(p)
        verify = f"CA {', '.join(f'{c.kind} {c.name}' for c in cas)}" if cas else \
            f"well-known CA {p.well_known}" if p.well_known else "no CA"
        sans = f", subjectAltNames {', '.join(p.subject_alt_names)}" if p.subject_alt_names else ""
        on = f" (port {group.section})" if group.section else ""
        hop.reasons += [f"BackendTLSPolicy {p.meta.name}{on}: TLS to the pods, hostname {p.hostname}, {verify}{sans}",
                        *(f.message for f in problems)]
        result.findings += problems
        if _worst(problems) == HopStatus.ERROR:
            hop.status = HopStatus.ERROR
        elif problems and hop.status == HopStatus.OK:
            hop.status = HopStatus.WARNING
        assert isinstance(hop.detail, ServiceDetail)
        hop.detail.backend_tls = BackendTLS(p.meta.name, group.section or None, p.hostname, cas, p.well_known or None,
                                            list(p.subject_alt_names), [c.meta.name for c in group.conflicted])


def _how(c: RuleChoice, g: GatewayRoute) -> str:
    """Which of the route's hostnames took the host."""
    if not c.route.hostnames:
        return "listener's hostname"
    return "exact hostname" if c.hostname == g.host else f"wildcard {c.hostname}"


def _unattached_reasons(g: GatewayRoute) -> list[str]:
    return [f"{a.route.meta.namespace}/{a.route.meta.name} names this host but {a.parent.label()} does not take it: "
            f"{a.why}" for a in g.broken]


def _rule_backends(rule: RouteRule, shares: list[float]) -> list[RuleBackend]:
    return [RuleBackend(b.kind, b.namespace, b.name, b.port, b.weight, round(s, 4))
            for b, s in zip(rule.backends, shares, strict=True)]


def _overall(hops: list[Hop]) -> PathStatus:
    if any(h.status == HopStatus.ERROR for h in hops if h.level < PODS):
        return PathStatus.BROKEN
    if any(h.status in (HopStatus.WARNING, HopStatus.ERROR) for h in hops if h.level >= ENDPOINTS):
        return PathStatus.DEGRADED
    if any(h.status == HopStatus.UNKNOWN for h in hops if h.level != FRONT):  # a front door not found: no verdict
        return PathStatus.UNKNOWN
    return PathStatus.OK


def _backend_port(svc: Service, port: int | str | None) -> ServicePort | None:
    """The Service port a backend names; for a port-less ExternalName Service, the backend's own port."""
    sport = checks.ingress.find_service_port(svc, port)
    if sport is None and svc.type == "ExternalName":
        number = port if isinstance(port, int) else 0
        sport = ServicePort(port if isinstance(port, str) else "", number, port or number)
    return sport


def _service_hops(store: ClusterStore, svc: Service, sport: ServicePort, result: RequestPath
                  ) -> ServiceBackends | None:
    ns, name = svc.meta.key
    detail = ServiceDetail(sport.port, sport.name or None, sport.target, svc.type,
                           dict(svc.selector) if svc.selector else None,
                           ip_families=list(svc.ip_families) if svc.dual_stack else None)
    if svc.type == "ExternalName":
        result.findings += checks.service.externalname_findings(svc)
        detail.external_name = svc.external_name
        result.hops.append(Hop("Service", ns, name, HopStatus.OK, [f"ExternalName: ends at {svc.external_name} (DNS, "
                               "outside the cluster)"], SERVICE, detail))
        return None
    backends = service_backends(store, svc, sport)
    findings = checks.service.selector_findings(store, svc) + [
        f for f in checks.service.target_port_findings(store, svc) if f.details.get("port") == sport.label()]
    reasons = [f"selector {checks.service.selector_text(svc.selector)}" if svc.selector else
               "no selector: endpoints managed by hand", f"port {sport.label()} -> targetPort {sport.target}"]
    if svc.headless:
        reasons.append("headless (clusterIP: None)")
    if svc.dual_stack:
        policy = f" ({svc.ip_family_policy})" if svc.ip_family_policy else ""
        reasons.append(f"dual-stack{policy}: {', '.join(svc.ip_families)}")
    status = _worst(findings)
    if status == HopStatus.ERROR and not any(f.code == checks.service.SELECTOR_NO_MATCH.code for f in findings) and \
            any(p.state == PodState.READY for p in backends.pods):
        status = HopStatus.WARNING  # a named targetPort only some pods lack: the others still serve
    result.findings += findings
    result.hops.append(Hop("Service", ns, name, status, reasons + [f.message for f in findings], SERVICE, detail))
    _endpoint_hops(store, svc, backends, result)
    detail.revisions = revisions(store, backends.pods)  # a rollout: old and new pods side by side
    return backends


def _policy_hop(store: ClusterStore, svc: Service, b: ServiceBackends, result: RequestPath, start: int,
                sources: Callable[[], Controllers], entry: tuple[str, str, str]) -> None:
    """NetworkPolicy hops above the pods (of the Service hops from `start`) when policies isolate either
    end: do the controller's (or the Gateway's) pods get out (egress) and in (ingress)?"""
    reach = checks.networkpolicy.reachability(store, b.pods, b.port.protocol if b.port else "TCP", sources)
    if reach is None:
        return
    first_pod = next((i for i in range(start, len(result.hops)) if result.hops[i].level == PODS), len(result.hops))
    for side in reversed(reach.sides):  # inserted before the pods: the egress side ends up first
        status = HopStatus.ERROR if reach.decisive(side) else {
            PolicyVerdict.ALLOWED: HopStatus.OK, PolicyVerdict.BLOCKED: HopStatus.ERROR,
            PolicyVerdict.PARTIAL: HopStatus.WARNING}.get(side.state, HopStatus.UNKNOWN)
        result.hops.insert(first_pod, Hop("NetworkPolicy", side.namespace, side.name, status, side.reasons, ENDPOINTS,
                                          NetworkPolicyDetail(side.state, side.policies, side.allowed_by,
                                                              reach.controllers.label, reach.port, side.direction)))
    for hop in result.hops[first_pod + len(reach.sides):]:  # this Service's pods
        state = reach.pod_states.get(hop.name)
        if state is not None and isinstance(hop.detail, PodDetail):
            hop.detail.network_policy = state
        if state == PolicyVerdict.BLOCKED:
            hop.status = HopStatus.ERROR
            sides = [s.direction for s in reach.sides if s.pod_states.get(hop.name) == PolicyVerdict.BLOCKED]
            hop.reasons.append("no NetworkPolicy admits this traffic" + (f" ({' and '.join(sides)})" if sides else ""))
    result.findings += checks.networkpolicy.path_findings(reach, svc, entry)


def _endpoint_hops(store: ClusterStore, svc: Service, b: ServiceBackends, result: RequestPath) -> None:
    ns = svc.meta.namespace
    ready, known, unknown = b.ready, b.known, b.unknown
    if known == 0 and unknown:
        status, why = HopStatus.UNKNOWN, "offline: no pod status, readiness unknown"
    elif known == 0:
        status, why = HopStatus.ERROR, "no endpoints" + ("" if svc.selector else ": no selector and no EndpointSlice"
                                                         if not b.slices else ": its EndpointSlices are empty")
    elif ready == 0:
        status, why = HopStatus.ERROR, f"0 of {known} ready"
    elif ready < known:
        status, why = HopStatus.WARNING, f"{ready} of {known} ready"
    else:
        status, why = HopStatus.OK, f"{ready} of {known} ready"
    families = b.families()
    if len(families) > 1 and any(t for _, t in families.values()):
        # dual-stack: one backend, one endpoint per family; say what each family has
        why += " (endpoints by family: " + ", ".join(
            f"{f} {r}/{t} ready" if t else f"{f} none" for f, (r, t) in families.items()) + ")"
    if not b.slices:
        reasons = [why, "no EndpointSlice for this port"] if known == 0 and not unknown else [why]
        result.hops.append(Hop("EndpointSlice", ns, "", status, reasons, ENDPOINTS, EndpointSliceDetail(ready, known)))
    # Empty slices first: the pod hops that follow the last slice hang under one that has endpoints.
    slices = sorted(b.slices, key=lambda s: bool(s.endpoints))
    for s in slices:
        eps = s.endpoints
        s_ready = sum(e.ready for e in eps)
        union = len(b.slices) == 1 or status in (HopStatus.ERROR, HopStatus.UNKNOWN)
        # The union's count once, on the last slice hop (over the pods); each other one says what it holds.
        reasons = [why] if s is slices[-1] else [f"{s_ready} of {len(eps)} endpoints of this slice ready"] if eps \
            else [f"no endpoints in this {s.address_type + ' ' if s.address_type else ''}slice"
                  + ("" if union else "; the others serve the port")]
        # Some slice serves the port: this one only narrows the choice. Else the union's verdict (no slice has
        # a ready endpoint, or readiness is unknown).
        s_status = status if union else HopStatus.OK if s_ready == len(eps) else HopStatus.WARNING
        result.hops.append(Hop("EndpointSlice", ns, s.meta.name, s_status, reasons, ENDPOINTS, EndpointSliceDetail(
            s_ready, len(eps), ports=[f"{p.name or '-'}:{p.port}" for p in s.ports],
            addresses=[a for e in eps for a in e.addresses][:20], address_type=s.address_type or None,
            dual_stack=len(families) > 1)))
    for p in b.pods:
        pod = p.pod
        state_status = _POD_STATUS[p.state]
        if p.state == PodState.EXCLUDED and pod.phase in ("Succeeded", "Failed"):
            state_status = HopStatus.WARNING
        reasons = [p.reason]
        if not p.port_declared and isinstance(b.port.target if b.port else None, int):
            reasons.append(f"port {b.port.target} not declared by the container (traffic may still flow)")
        result.hops.append(Hop("Pod", ns, pod.meta.name, state_status, reasons, PODS, PodDetail(
            ready=None if p.state == PodState.UNKNOWN else p.state == PodState.READY, container_port=p.container_port,
            ip=pod.ip or None, node=pod.node or None, phase=pod.phase or None, restarts=pod.restarts,
            template_of=pod.template_of or None, replicas=pod.replicas)))
    result.findings += checks.service.readiness_findings(store, svc, b) + checks.service.pod_findings(b, set())


_POD_STATUS = {PodState.READY: HopStatus.OK, PodState.NOT_READY: HopStatus.WARNING,
               PodState.UNKNOWN: HopStatus.UNKNOWN, PodState.EXCLUDED: HopStatus.ERROR}
_PATH_RANK = {PathStatus.OK: 0, PathStatus.UNKNOWN: 1, PathStatus.DEGRADED: 2, PathStatus.BROKEN: 3}


# What the Gateway answers when a rule's requests reach no backend.
_FAILS = {"HTTPRoute": "the Gateway answers 500", "GRPCRoute": "the Gateway answers UNAVAILABLE"}


def _conflict_reason(c: Conflict, traced: XRoute) -> str:
    """An HTTPRoute/GRPCRoute conflict in words, as the traced route's hop tells it."""
    win, lose = c.winner, c.loser
    won = "this route wins" if win is traced else f"{win.meta.kind} {win.meta.namespace}/{win.meta.name} wins"
    return (f"{lose.meta.kind} {lose.meta.namespace}/{lose.meta.name} shares hostname {c.hostname or '(any)'} on "
            f"listener {c.listener.name}: {won} (the older route), the other is rejected there")


def _serves(g: GatewayRoute | None) -> bool:
    return g is not None and (g.choice is not None or bool(g.broken))


def _combine(statuses: list[PathStatus]) -> PathStatus:
    """Alternative entry points (an Ingress and a Gateway): the worse one, since some clients reach it."""
    return max(statuses, key=_PATH_RANK.__getitem__)
