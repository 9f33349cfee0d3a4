"""Ingress checks: class, backends (Service and port), TLS secrets, admission, host conflicts.

The small functions are shared with the tracer, which reports them for the hops on its path.
"""

from __future__ import annotations

from collections import defaultdict

from ktrace.findings import Finding
from ktrace.model import TLS_SECRET_TYPE, Backend, Ingress, IngressTLS
from ktrace.nearmiss import is_typo
from ktrace.routing import find_service_port, ingress_class
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore

BACKEND_SERVICE_MISSING = register(Rule(
    "ingress-backend-service-missing", "error",
    "An Ingress backend names a Service that does not exist in the Ingress's namespace.", needs=("Service",)))
BACKEND_PORT_MISSING = register(Rule(
    "ingress-backend-port-missing", "error",
    "An Ingress backend names a port (number or name) the Service does not expose."))
TLS_SECRET_MISSING = register(Rule(
    "ingress-tls-secret-missing", "error",
    "An Ingress TLS entry names a Secret that does not exist in the Ingress's namespace.", needs=("Secret",)))
TLS_SECRET_WRONG_TYPE = register(Rule(
    "ingress-tls-secret-wrong-type", "error", "An Ingress TLS Secret is not of type kubernetes.io/tls.",
    needs=("Secret",)))
CLASS_MISSING = register(Rule(
    "ingress-class-missing", "error", "spec.ingressClassName names an IngressClass that does not exist.",
    needs=("IngressClass",)))
CLASS_UNSET = register(Rule(
    "ingress-class-unset", "warning",
    "An Ingress has no class and no IngressClass is marked default: no controller may serve it.",
    needs=("IngressClass",)))
NOT_ADMITTED = register(Rule(
    "ingress-not-admitted", "warning",
    "An Ingress has no load-balancer address in its status: no controller has admitted it."))
HOST_CONFLICT = register(Rule(
    "ingress-host-conflict", "warning",
    "Two Ingresses of one class claim the same host, path and pathType; one of them wins."))
RESOURCE_BACKEND = register(Rule(
    "ingress-resource-backend", "info",
    "An Ingress backend is a resource reference, not a Service; ktrace does not follow it."))


def _where(ing: Ingress) -> tuple[str, str, str]:
    return ("Ingress", ing.meta.namespace, ing.meta.name)


def _others(names: set[str], exclude: str) -> str:
    return ", ".join(sorted(names - {exclude}))


@produces(CLASS_MISSING, CLASS_UNSET)
def class_findings(store: ClusterStore, ing: Ingress, default: str) -> list[Finding]:
    classes = sorted(c.meta.name for c in store.ingress_classes())
    if ing.class_name and store.get("IngressClass", "", ing.class_name) is None:
        hint = f"existing classes: {', '.join(classes)}" if classes else "no IngressClass exists in the cluster"
        return [CLASS_MISSING.finding(*_where(ing), f"IngressClass {ing.class_name!r} does not exist",
                        f"set spec.ingressClassName to an existing class ({hint})", ingress_class=ing.class_name,
                        classes=classes)]
    if not ingress_class(ing, default).name:
        hint = (f"set spec.ingressClassName (classes: {', '.join(classes)}) or mark one IngressClass with "
                "ingressclass.kubernetes.io/is-default-class: \"true\"") if classes else \
            "set spec.ingressClassName to the class of your ingress controller"
        return [CLASS_UNSET.finding(*_where(ing), "no ingress class and no default IngressClass", hint,
                        classes=classes)]
    return []


@produces(RESOURCE_BACKEND, BACKEND_SERVICE_MISSING, BACKEND_PORT_MISSING)
def backend_findings(store: ClusterStore, ing: Ingress, backend: Backend, paths: list[str]) -> list[Finding]:
    ns = ing.meta.namespace
    where = ", ".join(paths)
    if backend.resource_kind:
        return [RESOURCE_BACKEND.finding(*_where(ing),
                        f"backend {backend.label()} ({where}) is a resource, not a Service",
                        "ktrace does not follow resource backends; check that resource yourself",
                        backend=backend.label(), paths=paths)]
    svc = store.service(ns, backend.service)
    if svc is None:
        elsewhere = store.namespaces_with("Service", backend.service) - {ns}
        hint = (f"a Service {backend.service!r} exists in namespace {', '.join(sorted(elsewhere))}, but backends "
                f"never cross namespaces: create it in {ns!r} (or an ExternalName Service pointing there)"
                if elsewhere else f"create Service {backend.service!r} in namespace {ns!r} or fix the name")
        close = sorted(s.meta.name for s in store.services(ns) if _close(s.meta.name, backend.service))
        if close and not elsewhere:
            hint += f" (similar: {', '.join(close)})"
        return [BACKEND_SERVICE_MISSING.finding(*_where(ing),
                        f"backend Service {backend.service!r} ({where}) does not exist in namespace {ns!r}", hint,
                        service=backend.service, paths=paths, namespaces_with_service=sorted(elsewhere))]
    # An ExternalName Service needs no ports: the controller proxies to the DNS name on the backend's port.
    if find_service_port(svc, backend.port) is None and not (svc.type == "ExternalName" and not svc.ports):
        available = [p.label() for p in svc.ports]
        what = f"port {backend.port!r}" if backend.port is not None else "no port (and the Service has several)"
        hint = f"Service {svc.meta.name} exposes {', '.join(available) or 'no ports'}"
        if isinstance(backend.port, str) and any(p.name == "" for p in svc.ports):
            hint += "; an unnamed port never matches a port name: use port.number"
        return [BACKEND_PORT_MISSING.finding(*_where(ing),
                        f"backend Service {svc.meta.name!r} has {what} ({where})" if backend.port is None else
                        f"backend Service {svc.meta.name!r} has no {what} ({where})", hint,
                        service=svc.meta.name, port=backend.port, service_ports=available, paths=paths)]
    return []


def _close(a: str, b: str) -> bool:
    return a.lower() == b.lower() or is_typo(a, b)


@produces(TLS_SECRET_MISSING, TLS_SECRET_WRONG_TYPE)
def tls_findings(store: ClusterStore, ing: Ingress, tls: IngressTLS) -> list[Finding]:
    if not tls.secret:
        return []  # no secretName: the controller's default certificate is used
    ns = ing.meta.namespace
    secret = store.secret(ns, tls.secret)
    hosts = list(tls.hosts)
    if secret is None:
        elsewhere = sorted(store.namespaces_with("Secret", tls.secret) - {ns})
        hint = (f"it exists in namespace {', '.join(elsewhere)}; TLS secrets are read from the Ingress's own "
                f"namespace: copy it to {ns!r}" if elsewhere else
                f"create a kubernetes.io/tls Secret {tls.secret!r} in namespace {ns!r} (or fix the name)")
        return [TLS_SECRET_MISSING.finding(*_where(ing),
                        f"TLS secret {tls.secret!r} does not exist in namespace {ns!r}", hint,
                        secret=tls.secret, hosts=hosts, namespaces_with_secret=elsewhere)]
    if secret.type != TLS_SECRET_TYPE:
        return [TLS_SECRET_WRONG_TYPE.finding(*_where(ing),
                        # one wording for every source: a live cluster's metadata-only lists say
                        # which secrets are TLS, not what the others are (details carry a known type)
                        f"TLS secret {tls.secret!r} is not of type {TLS_SECRET_TYPE}",
                        f"recreate it with `kubectl create secret tls {tls.secret} --cert=... --key=...`",
                        secret=tls.secret, type=secret.type or None, hosts=hosts)]
    return []


@produces(NOT_ADMITTED)
def admission_findings(ing: Ingress) -> list[Finding]:
    if ing.addresses:
        return []
    return [NOT_ADMITTED.finding(*_where(ing), "no load-balancer address in status: not admitted by "
                    "any controller (yet)", "check that the ingress controller for its class is running and "
                    "watching this namespace; its logs say why it skipped the Ingress")]


def backends_of(ing: Ingress) -> dict[Backend, list[str]]:
    """Each distinct backend with the rule paths ("host/path") that use it."""
    out: dict[Backend, list[str]] = defaultdict(list)
    if ing.default_backend is not None:
        out[ing.default_backend].append("defaultBackend")
    for rule in ing.rules:
        for p in rule.paths:
            out[p.backend].append(f"{rule.host or '*'}{p.path}")
    return out


def check_ingress(store: ClusterStore, ing: Ingress, *, live: bool, default: str) -> list[Finding]:
    out = class_findings(store, ing, default)
    for backend, paths in backends_of(ing).items():
        out += backend_findings(store, ing, backend, paths)
    for tls in ing.tls:
        out += tls_findings(store, ing, tls)
    if live:
        out += admission_findings(ing)
    return out


@produces(HOST_CONFLICT)
def host_conflicts(store: ClusterStore, default: str, ingresses: list[Ingress] | None = None) -> list[Finding]:
    """Rules claimed twice within one class, over `ingresses` (all of them by default)."""
    claims: dict[tuple[str, str, str, str], list[Ingress]] = defaultdict(list)
    for ing in store.ingresses() if ingresses is None else ingresses:
        cls = ingress_class(ing, default).name
        seen = set()
        for rule in ing.rules:
            for p in rule.paths:
                key = (cls, rule.host, p.path, p.path_type)
                if key not in seen:
                    seen.add(key)
                    claims[key].append(ing)
    out = []
    for (cls, host, path, path_type), ings in sorted(claims.items()):
        if len(ings) < 2:
            continue
        ings.sort(key=lambda i: i.meta.key)
        names = [f"{i.meta.namespace}/{i.meta.name}" for i in ings]
        for loser in ings[1:]:
            out.append(HOST_CONFLICT.finding(
                *_where(loser),
                f"{host or '*'}{path} ({path_type}) is also claimed by {names[0]} (class {cls or 'none'})",
                "controllers pick one of them (usually the oldest); remove or change one rule",
                host=host, path=path, path_type=path_type, ingress_class=cls, ingresses=names))
    return out
