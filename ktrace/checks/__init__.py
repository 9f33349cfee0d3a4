"""Every check over the whole store: `run_checks(store, live=...)` -> sorted findings (CheckUnits re-runs only
what changes affect); and CATALOG, every
finding code's rule (ktrace.rules), in the order the README's table and `ktrace check --help` list them."""

from __future__ import annotations

# isort: off
# Each module registers its rules as it is imported: this order is the catalog's.
from ktrace.checks import ingress, gateway, backendtls, host, service, networkpolicy, frontdoor, certificates
from ktrace.checks import migration, source
# isort: on
from ktrace.certs import CertificateBook
from ktrace.checks.units import CheckUnits
from ktrace.findings import Finding
from ktrace.rules import Rule, registered
from ktrace.store import ClusterStore

__all__ = ["CATALOG", "CheckUnits", "backendtls", "certificates", "frontdoor", "gateway", "host", "ingress",
           "migration", "networkpolicy", "run_checks", "service", "source"]

CATALOG: dict[str, Rule] = registered()


def run_checks(store: ClusterStore, *, live: bool, controllers: networkpolicy.ControllerHint | None = None,
               certs: CertificateBook | None = None) -> list[Finding]:
    """`certs`: also the certificates of the TLS Secrets in the store (--check-certs)."""
    return CheckUnits(store, live=live, controllers=controllers).check_all(None if certs is None else lambda: certs)
