"""Every check over the whole store: `run_checks(store, live=...)` -> sorted findings; and CATALOG, every
finding code's rule (ktrace.rules), in the order the README's table and `ktrace check --help` list them."""

from __future__ import annotations

# isort: off
# Each module registers its rules as it is imported: this order is the catalog's.
from ktrace.checks import ingress, gateway, host, service, networkpolicy, certificates, source
# isort: on
from ktrace.certs import CertificateBook
from ktrace.findings import Finding, sort_key
from ktrace.routing import default_class
from ktrace.rules import Rule, registered
from ktrace.store import ClusterStore

__all__ = ["CATALOG", "certificates", "gateway", "host", "ingress", "networkpolicy", "run_checks", "service",
           "source"]

CATALOG: dict[str, Rule] = registered()


def run_checks(store: ClusterStore, *, live: bool, controllers: networkpolicy.ControllerHint | None = None,
               certs: CertificateBook | None = None) -> list[Finding]:
    """`certs`: also the certificates of the TLS Secrets in the store (--check-certs)."""
    default = default_class(store)
    out: list[Finding] = []
    for ing in store.ingresses():
        out += ingress.check_ingress(store, ing, live=live, default=default)
    out += ingress.host_conflicts(store, default)
    seen_pods: set[tuple[str, str]] = set()
    cache: dict = {}
    for svc in store.services():
        out += service.check_service(store, svc, seen_pods, cache)
    out += networkpolicy.check_network_policies(store, default, controllers)
    out += gateway.check_gateway_api(store, live=live)
    if certs is not None:
        out += certificates.check_certificates(certs, store)
    return sorted(out, key=sort_key)
