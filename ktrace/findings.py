"""Findings and the catalog of their stable codes.

Codes never change meaning once published: users grep for them and suppress them. Each entry:
the default severity and a one-line description (the README's table is generated from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    severity: str
    description: str


CATALOG: dict[str, CatalogEntry] = {
    "ingress-backend-service-missing": CatalogEntry(
        "error", "An Ingress backend names a Service that does not exist in the Ingress's namespace."),
    "ingress-backend-port-missing": CatalogEntry(
        "error", "An Ingress backend names a port (number or name) the Service does not expose."),
    "ingress-tls-secret-missing": CatalogEntry(
        "error", "An Ingress TLS entry names a Secret that does not exist in the Ingress's namespace."),
    "ingress-tls-secret-wrong-type": CatalogEntry(
        "error", "An Ingress TLS Secret is not of type kubernetes.io/tls."),
    "ingress-class-missing": CatalogEntry(
        "error", "spec.ingressClassName names an IngressClass that does not exist."),
    "ingress-class-unset": CatalogEntry(
        "warning", "An Ingress has no class and no IngressClass is marked default: no controller may serve it."),
    "ingress-not-admitted": CatalogEntry(
        "warning", "An Ingress has no load-balancer address in its status: no controller has admitted it."),
    "ingress-host-conflict": CatalogEntry(
        "warning", "Two Ingresses of one class claim the same host, path and pathType; one of them wins."),
    "ingress-resource-backend": CatalogEntry(
        "info", "An Ingress backend is a resource reference, not a Service; ktrace does not follow it."),
    "gateway-class-missing": CatalogEntry(
        "error", "A Gateway's gatewayClassName names a GatewayClass that does not exist: no controller programs it."),
    "gateway-tls-secret-missing": CatalogEntry(
        "error", "An HTTPS listener's certificateRef names a Secret that does not exist."),
    "gateway-tls-secret-not-permitted": CatalogEntry(
        "error", "An HTTPS listener's certificateRef crosses namespaces without a ReferenceGrant in the Secret's "
                 "namespace."),
    "route-parent-missing": CatalogEntry(
        "error", "An HTTPRoute parentRef names a Gateway (or a listener of it) that does not exist."),
    "route-not-allowed": CatalogEntry(
        "error", "The Gateway listeners an HTTPRoute names refuse it (allowedRoutes namespaces or kinds)."),
    "route-no-hostname-match": CatalogEntry(
        "error", "No hostname of an HTTPRoute intersects the hostname of any listener it attaches to."),
    "route-backend-not-permitted": CatalogEntry(
        "error", "An HTTPRoute backendRef crosses namespaces without a ReferenceGrant in the target namespace."),
    "route-backend-service-missing": CatalogEntry(
        "error", "An HTTPRoute backendRef names a Service that does not exist."),
    "route-backend-port-missing": CatalogEntry(
        "error", "An HTTPRoute backendRef to a Service has no port, or a port the Service does not expose."),
    "route-not-accepted": CatalogEntry(
        "warning", "The Gateway controller reports an HTTPRoute not Accepted by a parent (live; its reason quoted)."),
    "route-refs-unresolved": CatalogEntry(
        "warning", "The Gateway controller reports an HTTPRoute's ResolvedRefs false (live; its reason quoted)."),
    "host-no-route": CatalogEntry(
        "error", "No Ingress rule and no default backend serves the traced host and path."),
    "service-selector-no-match": CatalogEntry(
        "error", "A Service selector matches no pod in its namespace (near misses listed)."),
    "service-no-ready-endpoints": CatalogEntry(
        "error", "A Service has no ready endpoint: every request through it fails."),
    "service-partially-ready": CatalogEntry(
        "warning", "Some of a Service's endpoints are not ready."),
    "service-target-port-missing": CatalogEntry(
        "error", "Selected pods do not declare the Service's targetPort (error for a named port: the pods get no "
                 "endpoint; warning for a number the pods' declared ports lack: traffic may still flow)."),
    "service-externalname": CatalogEntry(
        "info", "An ExternalName Service: the path ends at a DNS name outside the cluster."),
    "pod-not-ready": CatalogEntry(
        "warning", "A pod behind a Service is not ready (crash loop, image pull, probe, pending, terminating)."),
    "networkpolicy-blocks-path": CatalogEntry(
        "error", "NetworkPolicies select a path's pods and none admits the ingress controller's pods on the target "
                 "port (warning when only some pods or some controller pods are blocked)."),
    "networkpolicy-controller-unknown": CatalogEntry(
        "info", "NetworkPolicies isolate a path's pods but the ingress controller's pods are unknown: reachability "
                "not decided (use --controller-namespace / --controller-selector)."),
    "networkpolicy-selects-nothing": CatalogEntry(
        "warning", "A NetworkPolicy's podSelector matches no pod in its namespace."),
    "networkpolicy-peer-matches-nothing": CatalogEntry(
        "warning", "A NetworkPolicy from/to peer selects no namespace or no pod: the rule admits nothing through it."),
    "certificate-expired": CatalogEntry(
        "error", "With --check-certs: the certificate of an Ingress's or Gateway listener's TLS Secret has expired "
                 "(or is not yet valid)."),
    "certificate-expiring": CatalogEntry(
        "warning", "With --check-certs: the certificate of an Ingress's or Gateway listener's TLS Secret expires "
                   "within 14 days."),
    "certificate-host-mismatch": CatalogEntry(
        "error", "With --check-certs: a host of an Ingress TLS entry or Gateway listener is not covered by the "
                 "certificate's names."),
    "certificate-unreadable": CatalogEntry(
        "warning", "With --check-certs: a TLS Secret's tls.crt is missing or not a PEM certificate (info when the "
                   "Secret may not be read)."),
    "source-kind-unreadable": CatalogEntry(
        "info", "A kind could not be read from the source; the checks that need it were skipped."),
    "source-document-skipped": CatalogEntry(
        "info", "A document in the input files was not used (unknown kind, no name)."),
}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    kind: str
    namespace: str
    name: str
    message: str
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "object": {"kind": self.kind, "namespace": self.namespace or None, "name": self.name},
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


def finding(code: str, kind: str, namespace: str, name: str, message: str, hint: str = "",
            severity: str | None = None, **details: Any) -> Finding:
    """A Finding with the catalog's severity unless one is given (codes must be in the catalog)."""
    return Finding(code, severity or CATALOG[code].severity, kind, namespace, name, message, hint, details)


def sort_key(f: Finding) -> tuple:
    return (-f.rank, f.code, f.namespace, f.kind, f.name, f.message)


def at_least(findings: list[Finding], min_severity: str) -> list[Finding]:
    floor = SEVERITY_RANK.get(min_severity, 0)
    return [f for f in findings if f.rank >= floor]
