"""Gateway API checks: GatewayClasses, route attachment (parents, allowedRoutes, hostnames),
backendRefs (ReferenceGrants, Services, ports) and, live, what the controller wrote in the
route's status. The small functions are shared with the tracer, which reports them on its hops."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ktrace.checks.ingress import find_service_port
from ktrace.filters import rule_conflicts
from ktrace.findings import Finding
from ktrace.gateway import (
    SERVICE_IMPORT,
    Attachment,
    Conflict,
    Refusal,
    attachments,
    conflicts,
    granted,
    grants_backend,
    knowable,
    mirrors_of,
)
from ktrace.model import BackendRef, Condition, Gateway, Listener, Meta, ParentStatus, RouteRule, XRoute
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore

CLASS_MISSING = register(Rule(
    "gateway-class-missing", "error",
    "A Gateway's gatewayClassName names a GatewayClass that does not exist: no controller programs it.",
    needs=("GatewayClass",)))
TLS_SECRET_MISSING = register(Rule(
    "gateway-tls-secret-missing", "error",
    "A listener that terminates TLS (HTTPS, or TLS in Terminate mode) has a certificateRef naming a Secret that "
    "does not exist.", needs=("Secret",)))
TLS_SECRET_NOT_PERMITTED = register(Rule(
    "gateway-tls-secret-not-permitted", "error",
    "A listener that terminates TLS has a certificateRef crossing namespaces without a ReferenceGrant in the "
    "Secret's namespace.", needs=("Secret", "ReferenceGrant")))
PARENT_MISSING = register(Rule(
    "route-parent-missing", "error",
    "A route's (HTTPRoute, GRPCRoute, TLSRoute) parentRef names a Gateway (or a listener of it) that does not "
    "exist.", needs=("Gateway",)))
NOT_ALLOWED = register(Rule(
    "route-not-allowed", "error",
    "The Gateway listeners a route names refuse it (allowedRoutes namespaces or kinds).", needs=("Gateway",)))
TLS_TERMINATE = register(Rule(
    "route-tls-terminate", "warning",
    "A TLSRoute attaches to a TLS listener in Terminate mode (tls.mode's default): Extended support "
    "(TLSRouteTermination), where the Gateway decrypts and the backends get plain TCP; an implementation without it "
    "does not accept the route (Core is Passthrough). Live, the route's Accepted condition on that Gateway settles "
    "it.", needs=("Gateway",)))
NO_HOSTNAME_MATCH = register(Rule(
    "route-no-hostname-match", "error",
    "No hostname of a route intersects the hostname of any listener it attaches to.", needs=("Gateway",)))
BACKEND_NOT_PERMITTED = register(Rule(
    "route-backend-not-permitted", "error",
    "A route's backendRef crosses namespaces without a ReferenceGrant in the target namespace.",
    needs=("ReferenceGrant",)))
BACKEND_SERVICE_MISSING = register(Rule(
    "route-backend-service-missing", "error", "A route's backendRef names a Service that does not exist.",
    needs=("Service",)))
BACKEND_PORT_MISSING = register(Rule(
    "route-backend-port-missing", "error",
    "A route's backendRef to a Service has no port, or a port the Service does not expose."))
KIND_UNSUPPORTED = register(Rule(
    "route-backend-kind-unsupported", "error",
    "A route's backendRef is of a kind ktrace does not follow (not a Service or ServiceImport): error when it "
    "cannot exist (a core kind other than Service, or a kind the cluster does not serve: the Gateway answers 500), "
    "warning when the implementation may support it."))
FILTERS_INVALID = register(Rule(
    "route-filters-invalid", "error",
    "A route rule's or backendRef's filters are ones the API rejects (RequestRedirect with URLRewrite or with "
    "backendRefs, a repeated filter, ReplacePrefixMatch without exactly one PathPrefix match; on a GRPCRoute, a "
    "filter other than RequestHeaderModifier, ResponseHeaderModifier, RequestMirror and ExtensionRef)."))
KIND_CONFLICT = register(Rule(
    "route-kind-conflict", "error",
    "An HTTPRoute and a GRPCRoute attach to one listener with intersecting hostnames: the Gateway API accepts only "
    "the oldest (then the first by namespace/name); the other is rejected on that listener (Accepted false).",
    needs=("Gateway",)))
NOT_ACCEPTED = register(Rule(
    "route-not-accepted", "warning",
    "The Gateway controller reports a route not Accepted by a parent (live; its reason quoted)."))
REFS_UNRESOLVED = register(Rule(
    "route-refs-unresolved", "warning",
    "The Gateway controller reports a route's ResolvedRefs false (live; its reason quoted)."))
GATEWAY_NOT_ACCEPTED = register(Rule(
    "gateway-not-accepted", "error",
    "The Gateway controller reports a Gateway not Accepted: its configuration is invalid, nothing is served "
    "(live; its reason quoted)."))
GATEWAY_NOT_PROGRAMMED = register(Rule(
    "gateway-not-programmed", "warning",
    "The Gateway controller reports a Gateway not Programmed: its data plane is not (yet) configured or has no "
    "address (live; its reason quoted)."))
LISTENER_CONFLICTED = register(Rule(
    "gateway-listener-conflicted", "error",
    "The Gateway controller reports a listener Conflicted (hostname or protocol): its port is not configured "
    "(live; its reason quoted)."))
LISTENER_REFS_UNRESOLVED = register(Rule(
    "gateway-listener-refs-unresolved", "warning",
    "The Gateway controller reports a listener's ResolvedRefs false (certificateRefs, route kinds): what it refers "
    "to is partly missing, a path through it is degraded (live; its reason quoted)."))
LISTENER_NOT_PROGRAMMED = register(Rule(
    "gateway-listener-not-programmed", "error",
    "The Gateway controller reports a listener not Programmed: no configuration of it is in the data plane, a path "
    "through it is broken (live; its reason quoted)."))
LISTENER_NOT_ACCEPTED = register(Rule(
    "gateway-listener-not-accepted", "error",
    "The Gateway controller reports a listener not Accepted (an unsupported protocol, a port it cannot use): it "
    "generates no data plane configuration, a path through it is broken (live; its reason quoted)."))

_REFUSALS = {
    Refusal.PARENT_MISSING: (PARENT_MISSING, "create the Gateway (or the listener) or fix the route's parentRefs"),
    Refusal.NOT_ALLOWED: (NOT_ALLOWED, "widen the listener's allowedRoutes (namespaces.from: All or Selector, "
                                       "kinds), put the route in the Gateway's namespace, or attach it to a listener "
                                       "whose protocol carries its kind (HTTPRoute, GRPCRoute: HTTP or HTTPS; "
                                       "TLSRoute: TLS)"),
    Refusal.NO_HOSTNAME_MATCH: (NO_HOSTNAME_MATCH, "add a hostname the listener takes to the route, or change the "
                                                   "listener's hostname"),
}
_FILTER_HINTS = {
    "HTTPRoute": "keep RequestRedirect alone on its rule or backendRef (no URLRewrite, no backendRefs beside a rule's "
                 "redirect), and each filter once",
    "GRPCRoute": "use only RequestHeaderModifier, ResponseHeaderModifier, RequestMirror and ExtensionRef, each header "
                 "modifier once"}
_CONDITIONS = {"Accepted": (NOT_ACCEPTED, "not accepted"), "ResolvedRefs": (REFS_UNRESOLVED, "references unresolved")}
# Gateway and listener conditions quoted live: (type, the status that is a problem) -> (rule, what it means).
_GATEWAY_CONDITIONS = {("Accepted", "False"): (GATEWAY_NOT_ACCEPTED, "not accepted"),
                       ("Programmed", "False"): (GATEWAY_NOT_PROGRAMMED, "not programmed")}
_LISTENER_CONDITIONS = {("Conflicted", "True"): (LISTENER_CONFLICTED, "conflicted"),
                        ("ResolvedRefs", "False"): (LISTENER_REFS_UNRESOLVED, "references unresolved"),
                        ("Programmed", "False"): (LISTENER_NOT_PROGRAMMED, "not programmed"),
                        ("Accepted", "False"): (LISTENER_NOT_ACCEPTED, "not accepted")}
# The codes of the listener's own conditions: a path through the listener is broken by an error among them and
# degraded by a warning (ktrace.trace).
LISTENER_CONDITION_CODES = frozenset(rule.code for rule, _ in _LISTENER_CONDITIONS.values())


def _said(c: Condition) -> str:
    return f"{c.reason}: {c.message}" if c.message else c.reason or "no reason given"


@produces(CLASS_MISSING)
def gateway_class_findings(store: ClusterStore, gw: Gateway, live: bool) -> list[Finding]:
    """A Gateway whose class does not exist. Offline files often leave the GatewayClass out (the
    implementation installs it): without any GatewayClass in the files this cannot be told."""
    if not live and store.count("GatewayClass") == 0:
        return []
    if store.get("GatewayClass", "", gw.class_name) is not None:
        return []
    classes = sorted(c.meta.name for c in store.objects("GatewayClass"))
    return [CLASS_MISSING.finding("Gateway", gw.meta.namespace, gw.meta.name,
                    f"GatewayClass {gw.class_name!r} does not exist" if gw.class_name else "no gatewayClassName",
                    f"set spec.gatewayClassName to an existing class ({', '.join(classes) or 'none exists'})",
                    gateway_class=gw.class_name, classes=classes)]


@produces(TLS_SECRET_NOT_PERMITTED, TLS_SECRET_MISSING)
def listener_tls_findings(store: ClusterStore, gw: Gateway, listener: Listener, live: bool) -> list[Finding]:
    """The certificate Secrets of a listener that terminates TLS (HTTPS, TLS in Terminate mode) exist (metadata
    only) and, in another namespace, are granted to the Gateway by a ReferenceGrant there. In Passthrough mode
    the certificateRefs are ignored."""
    if listener.tls_mode != "Terminate":
        return []
    out = []
    where = ("Gateway", gw.meta.namespace, gw.meta.name)
    for kind, ns, name in listener.certificates:
        if kind != "Secret" or not knowable(store, ns, live):
            continue
        if not granted(store, ("Gateway", gw.meta.namespace), ("", "Secret", ns, name)):
            out.append(TLS_SECRET_NOT_PERMITTED.finding(
                *where, f"listener {listener.name}: certificate Secret "
                f"{ns}/{name} is in another namespace and no ReferenceGrant in {ns} allows it",
                f"create a ReferenceGrant in namespace {ns} from Gateway in namespace {gw.meta.namespace} to "
                f"Secret {name}", listener=listener.name, secret=name, secret_namespace=ns))
        elif store.secret(ns, name) is None:
            elsewhere = sorted(store.namespaces_with("Secret", name) - {ns})
            hint = (f"it exists in namespace {', '.join(elsewhere)}: set certificateRefs namespace (and a "
                    "ReferenceGrant there) or copy it" if elsewhere else
                    f"create a kubernetes.io/tls Secret {name!r} in namespace {ns!r} (or fix the name)")
            out.append(TLS_SECRET_MISSING.finding(*where, f"listener {listener.name}: certificate Secret "
                               f"{name!r} does not exist in namespace {ns!r}", hint, listener=listener.name,
                               secret=name, secret_namespace=ns, namespaces_with_secret=elsewhere))
    return out


def attachment_finding(a: Attachment) -> Finding:
    """The finding for a parentRef that took no listener (`a.problem` set)."""
    r = a.route
    assert a.problem is not None
    made, hint = _REFUSALS[a.problem]
    return made.finding(r.meta.kind, r.meta.namespace, r.meta.name, f"parentRef {a.parent.label()}: {a.why}", hint,
                        parent=a.parent.label())


def _accepted_on(route: XRoute, gw: Gateway, listener: Listener) -> bool:
    """Whether the controller reports the route Accepted on this Gateway (the whole of it, or this listener)."""
    return any(st.ref.namespace == gw.meta.namespace and st.ref.name == gw.meta.name
               and st.ref.section in ("", listener.name)
               and any(c.type == "Accepted" and c.status == "True" for c in st.conditions) for st in route.statuses)


def terminate_finding(route: XRoute, gw: Gateway, listener: Listener, *, live: bool) -> Finding | None:
    """A TLSRoute on a TLS listener that terminates TLS: Extended support, unless live the controller says it
    accepted the route there (the implementation supports it)."""
    if route.meta.kind != "TLSRoute" or listener.tls_mode != "Terminate":
        return None
    if live and _accepted_on(route, gw, listener):
        return None
    return TLS_TERMINATE.finding(
        route.meta.kind, route.meta.namespace, route.meta.name,
        f"listener {listener.name} of Gateway {gw.meta.namespace}/{gw.meta.name} is a TLS listener in Terminate mode: "
        "TLSRoute there is Extended support (TLSRouteTermination), the Gateway decrypts and the backends get plain "
        "TCP; an implementation without it does not accept the route",
        "set the listener's tls.mode: Passthrough for the backends to get the client's TLS (Core support), or "
        "check that the implementation supports TLSRouteTermination", gateway=f"{gw.meta.namespace}/{gw.meta.name}",
        listener=listener.name)


@produces(TLS_TERMINATE)
def terminate_findings(store: ClusterStore, route: XRoute, *, live: bool) -> list[Finding]:
    if route.meta.kind != "TLSRoute":
        return []
    found = (terminate_finding(route, a.gateway, x, live=live) for a in attachments(store, route, live=live)
             if a.gateway is not None and not a.problem for x, _ in a.listeners)
    return list({(f.details["gateway"], f.details["listener"]): f for f in found if f is not None}.values())


def conflict_finding(c: Conflict) -> Finding:
    """The finding on the route a conflict rejects."""
    lose, win = c.loser, c.winner
    why = "is older" if win.created != lose.created else "has the same age and comes first by namespace/name"
    return KIND_CONFLICT.finding(
        lose.meta.kind, lose.meta.namespace, lose.meta.name,
        f"rejected on listener {c.listener.name} of Gateway {c.gateway.meta.namespace}/{c.gateway.meta.name}: "
        f"{win.meta.kind} {win.meta.namespace}/{win.meta.name} {why} and shares hostname {c.hostname or '(any)'} "
        "there (an HTTPRoute and a GRPCRoute may not share a listener's hostname)",
        "give the two routes hostnames that do not intersect, or attach them to different listeners",
        winner=f"{win.meta.kind} {win.meta.namespace}/{win.meta.name}", listener=c.listener.name,
        gateway=f"{c.gateway.meta.namespace}/{c.gateway.meta.name}", hostname=c.hostname)


@produces(KIND_CONFLICT)
def conflict_findings(store: ClusterStore, route: XRoute, *, live: bool) -> list[Finding]:
    """The listeners where an older route of the rival kind (HTTPRoute vs GRPCRoute) takes `route`'s hostnames."""
    out = []
    for a in attachments(store, route, live=live):
        if a.gateway is None:
            continue
        for x, names in a.listeners:
            lost = next((c for c in conflicts(store, route, a.gateway, x, names, live=live) if c.loser is route), None)
            if lost is not None:
                out.append(conflict_finding(lost))
    return out


@produces(PARENT_MISSING, NOT_ALLOWED, NO_HOSTNAME_MATCH)
def attachment_findings(store: ClusterStore, route: XRoute, *, live: bool) -> list[Finding]:
    return [attachment_finding(a) for a in attachments(store, route, live=live) if a.problem]


def kind_findings(store: ClusterStore, route: XRoute, ref: BackendRef, used: str) -> list[Finding]:
    """A backendRef of a kind ktrace does not follow. A conforming Gateway sets ResolvedRefs false
    (InvalidKind) and answers 500 for a kind it does not support; which kinds it supports beyond Service
    is its own choice, so only a kind that cannot exist is an error: a core kind other than Service, or a
    kind the cluster does not serve (live discovery). ServiceImport (Extended support) is not judged."""
    if ref.is_service or (ref.group, ref.kind) == SERVICE_IMPORT:
        return []
    what = f"backendRef {ref.kind} {ref.namespace}/{ref.name} ({used})"
    served = store.served.get(ref.group)
    if not ref.group:
        why = f"kind {ref.kind} of the core group cannot be a backend (of the core group, only Service can)"
    elif served is not None and ref.kind not in served:
        why = f"the cluster does not serve kind {ref.kind} in group {ref.group}" if served else \
            f"the cluster does not serve group {ref.group} (kind {ref.kind})"
    else:
        known = "the cluster serves it" if served is not None else "whether the cluster serves it is not known offline"
        return [KIND_UNSUPPORTED.finding(route.meta.kind, route.meta.namespace, route.meta.name,
                    f"{what}: kind {ref.kind} of group {ref.group} not followed ({known}); a Gateway that does "
                    "not support it answers 500",
                    "check that the Gateway implementation supports this backend kind (live, the route's "
                    "ResolvedRefs condition says so), or point the backendRef at a Service",
                    severity="warning", group=ref.group, backend_kind=ref.kind, rules=used)]
    return [KIND_UNSUPPORTED.finding(route.meta.kind, route.meta.namespace, route.meta.name,
                f"{what}: {why}: a conforming Gateway answers 500 (ResolvedRefs false, InvalidKind)",
                "point the backendRef at a Service (kind Service, group \"\"), or fix its kind and group",
                group=ref.group, backend_kind=ref.kind, rules=used)]


@produces(KIND_UNSUPPORTED, BACKEND_NOT_PERMITTED, BACKEND_SERVICE_MISSING, BACKEND_PORT_MISSING)
def route_backend_findings(store: ClusterStore, route: XRoute, ref: BackendRef, rules: list[str], *,
                           live: bool) -> list[Finding]:
    """The first problem of one backendRef, as the controller resolves it: its kind, then for a Service
    permission across namespaces, the Service, then its port. ServiceImports are not followed (no finding)."""
    where = (route.meta.namespace, route.meta.name)
    used = ", ".join(rules)
    if not ref.is_service:
        return kind_findings(store, route, ref, used)
    if not knowable(store, ref.namespace, live):
        return []  # another namespace than the source read: neither grants nor Services there are known
    if not grants_backend(store, route, ref):
        return [BACKEND_NOT_PERMITTED.finding(route.meta.kind, *where,
                        f"backendRef Service {ref.namespace}/{ref.name} ({used}) is in another namespace and no "
                        f"ReferenceGrant in {ref.namespace} allows it",
                        f"create a ReferenceGrant in namespace {ref.namespace} from {route.meta.kind} in namespace "
                        f"{route.meta.namespace} to Service {ref.name}", service=ref.name,
                        service_namespace=ref.namespace, rules=rules)]
    svc = store.service(ref.namespace, ref.name)
    if svc is None:
        elsewhere = sorted(store.namespaces_with("Service", ref.name) - {ref.namespace})
        hint = (f"a Service {ref.name!r} exists in namespace {', '.join(elsewhere)}: set backendRef namespace "
                "(and a ReferenceGrant there)" if elsewhere else f"create Service {ref.name!r} in namespace "
                f"{ref.namespace!r} or fix the name")
        return [BACKEND_SERVICE_MISSING.finding(route.meta.kind, *where,
                        f"backendRef Service {ref.name!r} ({used}) does not exist in namespace {ref.namespace!r}",
                        hint, service=ref.name, service_namespace=ref.namespace, rules=rules,
                        namespaces_with_service=elsewhere)]
    # A port-less ExternalName Service is proxied to on the backendRef's port (as for Ingress backends).
    portless_external = svc.type == "ExternalName" and not svc.ports
    if ref.port is None or (find_service_port(svc, ref.port) is None and not portless_external):
        available = [p.label() for p in svc.ports]
        what = "no port (required for Service backendRefs)" if ref.port is None else f"port {ref.port}, which the " \
            "Service does not expose"
        return [BACKEND_PORT_MISSING.finding(route.meta.kind, *where,
                        f"backendRef Service {ref.name!r} ({used}) names {what}",
                        f"Service {ref.name} exposes {', '.join(available) or 'no ports'} (backendRef port is the "
                        "Service port, not the targetPort)", service=ref.name, port=ref.port,
                        service_ports=available, rules=rules)]
    return []


def quoted_conditions(meta: Meta, statuses: Iterable[ParentStatus], rules: Mapping[str, tuple[Rule, str]],
                      ref_key: str) -> list[Finding]:
    """The conditions of `rules`' types that each controller reported False on each parentRef (a route's) or
    ancestor (a policy's), its words quoted; `ref_key` names the reference in the details."""
    out = []
    for st in statuses:
        for c in st.conditions:
            made = rules.get(c.type)
            if made is None or c.status != "False":
                continue
            rule, verb = made
            out.append(rule.finding(meta.kind, meta.namespace, meta.name,
                                    f"{verb} by {st.controller or 'the controller'} on {st.ref.label()}: "
                                    f"\"{_said(c)}\"", "the controller's reason names what to fix",
                                    **{ref_key: st.ref.label()}, controller=st.controller, reason=c.reason,
                                    controller_message=c.message))
    return out


@produces(NOT_ACCEPTED, REFS_UNRESOLVED)
def status_findings(route: XRoute) -> list[Finding]:
    """What the Gateway controller reported (live only: a file's status is stale), its words quoted."""
    return quoted_conditions(route.meta, route.statuses, _CONDITIONS, "parent")


@produces(GATEWAY_NOT_ACCEPTED, GATEWAY_NOT_PROGRAMMED, LISTENER_CONFLICTED, LISTENER_REFS_UNRESOLVED,
          LISTENER_NOT_PROGRAMMED, LISTENER_NOT_ACCEPTED)
def gateway_status_findings(gw: Gateway, listeners: Iterable[Listener]) -> list[Finding]:
    """What the Gateway controller reported on the Gateway and on `listeners` (live only: a file's status is
    stale), its words quoted. A Gateway not Accepted, or a listener Conflicted (its port is not configured), not
    Accepted or not Programmed serves nothing (error). A Gateway not Programmed (often: no address yet) and a
    listener's unresolved references (a certificateRef, which ktrace judges itself, or a route kind: the rest is
    still served) are warnings."""
    ns, name = gw.meta.key
    out = []
    for c in gw.conditions:
        made = _GATEWAY_CONDITIONS.get((c.type, c.status))
        if made is not None:
            rule, verb = made
            out.append(rule.finding("Gateway", ns, name, f"Gateway {verb} by its controller: \"{_said(c)}\"",
                                    "the controller's reason names what to fix", reason=c.reason,
                                    controller_message=c.message))
    for x in listeners:
        for c in x.conditions:
            made = _LISTENER_CONDITIONS.get((c.type, c.status))
            if made is not None:
                rule, verb = made
                out.append(rule.finding("Gateway", ns, name, f"listener {x.name} {verb}: \"{_said(c)}\"",
                                        "the controller's reason names what to fix", listener=x.name,
                                        reason=c.reason, controller_message=c.message))
    return out


def mirror_findings(store: ClusterStore, route: XRoute, ref: BackendRef, rules: list[str], *,
                    live: bool) -> list[Finding]:
    """A RequestMirror's backendRef resolved like any backendRef; a problem drops only the mirror (ResolvedRefs
    false), never the requests themselves: a warning."""
    return [replace(f, severity="warning", message=f"RequestMirror {f.message}: mirroring is dropped, requests "
                                                    "are still served")
            for f in route_backend_findings(store, route, ref, rules, live=live)]


@produces(FILTERS_INVALID)
def filter_findings(route: XRoute, index: int, rule: RouteRule) -> list[Finding]:
    """Filters the API's validation rejects on one rule (its backendRefs' filters included)."""
    problems = rule_conflicts(rule, route.meta.kind)
    if not problems:
        return []
    return [FILTERS_INVALID.finding(route.meta.kind, route.meta.namespace, route.meta.name,
                                    f"rule {index + 1}: {'; '.join(problems)}: the API server rejects this route",
                                    _FILTER_HINTS.get(route.meta.kind, _FILTER_HINTS["HTTPRoute"]),
                                    rule=index + 1, problems=problems)]


def backends_of(route: XRoute, mirrors: bool = False) -> dict[BackendRef, list[str]]:
    """Each distinct backendRef (weight and filters aside) with the rules ("rule 1") that use it; `mirrors`:
    the RequestMirror backendRefs instead, of the rules' and the backendRefs' filters."""
    out: dict[BackendRef, list[str]] = defaultdict(list)
    for i, rule in enumerate(route.rules):
        refs = mirrors_of(rule) if mirrors else rule.backends
        for ref in refs:
            label = f"rule {i + 1}"
            key = BackendRef(ref.group, ref.kind, ref.namespace, ref.name, ref.port, 1)
            if label not in out[key]:
                out[key].append(label)
    return out


def check_route(store: ClusterStore, route: XRoute, *, live: bool) -> list[Finding]:
    out = (attachment_findings(store, route, live=live) + terminate_findings(store, route, live=live)
           + conflict_findings(store, route, live=live))
    for i, rule in enumerate(route.rules):
        out += filter_findings(route, i, rule)
    for ref, rules in backends_of(route).items():
        out += route_backend_findings(store, route, ref, rules, live=live)
    for ref, rules in backends_of(route, mirrors=True).items():
        out += mirror_findings(store, route, ref, rules, live=live)
    if live:
        out += status_findings(route)
    return out


def check_gateway_api(store: ClusterStore, *, live: bool) -> list[Finding]:
    out: list[Finding] = []
    for gw in store.gateways():
        out += gateway_class_findings(store, gw, live)
        for listener in gw.listeners:
            out += listener_tls_findings(store, gw, listener, live)
        if live:
            out += gateway_status_findings(gw, gw.listeners)
    for route in store.routes():
        out += check_route(store, route, live=live)
    return out
