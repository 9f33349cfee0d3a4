"""Certificate checks (`--check-certs`): expiry of the TLS Secrets' certificates, once per Secret, and
whether they cover the hosts of the Ingress TLS entries and Gateway listeners that serve them."""

from __future__ import annotations

from ktrace.certs import CertificateBook, CertUnavailable, TlsUse, covers, tls_references
from ktrace.findings import Finding
from ktrace.model import Gateway, Ingress, IngressTLS, Listener
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore

EXPIRED = register(Rule(
    "certificate-expired", "error",
    "With --check-certs: the certificate of an Ingress's or Gateway listener's TLS Secret has expired (or is not "
    "yet valid)."))
EXPIRING = register(Rule(
    "certificate-expiring", "warning",
    "With --check-certs: the certificate of an Ingress's or Gateway listener's TLS Secret expires within 14 days."))
HOST_MISMATCH = register(Rule(
    "certificate-host-mismatch", "error",
    "With --check-certs: a host of an Ingress TLS entry or Gateway listener is not covered by the certificate's "
    "names."))
UNREADABLE = register(Rule(
    "certificate-unreadable", "warning",
    "With --check-certs: a TLS Secret's tls.crt is missing or not a PEM certificate (info when the Secret may not "
    "be read)."))


@produces(EXPIRED, EXPIRING, UNREADABLE)
def secret_findings(book: CertificateBook, namespace: str, name: str) -> list[Finding]:
    """Expiry (or why the certificate could not be read), once per Secret."""
    cert = book.certificate(namespace, name)
    where = ("Secret", namespace, name)
    if isinstance(cert, CertUnavailable):
        if cert.missing:
            return []  # ingress-tls-secret-missing says so already
        return [UNREADABLE.finding(*where, f"certificate not checked: {cert}",
                                   cert.hint or "tls.crt must hold a PEM certificate (leaf first)",
                                   severity="info" if cert.hint else None, reason=str(cert))]
    about = {"subject": cert.subject, "names": list(cert.dns_names), "not_after": cert.not_after.isoformat()}
    if cert.not_after <= book.now:
        days = (book.now - cert.not_after).days
        return [EXPIRED.finding(*where, f"certificate {cert.subject} expired on "
                                f"{cert.not_after:%Y-%m-%d %H:%M} UTC ({days} day(s) ago)",
                                "renew it (cert-manager: check the Certificate's status and the issuer)", **about)]
    if cert.not_before > book.now:
        return [EXPIRED.finding(*where, f"certificate {cert.subject} is not valid before "
                                f"{cert.not_before:%Y-%m-%d %H:%M} UTC", "check the issuer's clock or reissue",
                                **about)]
    left = cert.not_after - book.now
    if left.days < book.warn_days:
        return [EXPIRING.finding(*where, f"certificate {cert.subject} expires on "
                                 f"{cert.not_after:%Y-%m-%d %H:%M} UTC (in {left.days} day(s))",
                                 "renew it before then (cert-manager renews 30 days ahead by default: is it "
                                 "failing?)", days_left=left.days, **about)]
    return []


@produces(HOST_MISMATCH)
def host_findings(book: CertificateBook, use: TlsUse, secret_ns: str, secret: str) -> list[Finding]:
    cert = book.certificate(secret_ns, secret)
    if isinstance(cert, CertUnavailable):
        return []
    bad = [h for h in use.hosts if h and not covers(cert, h)]
    if not bad:
        return []
    names = ", ".join(cert.dns_names + cert.ip_addresses) or "none"
    where = secret if secret_ns == use.namespace else f"{secret_ns}/{secret}"
    return [HOST_MISMATCH.finding(
        use.kind, use.namespace, use.name,
        f"host {', '.join(bad)} not covered by the certificate in Secret {where} (its names: {names})",
        "reissue the certificate with these names, or point the TLS entry at a Secret that has "
        "them (a wildcard *.example.com covers exactly one label)", secret=where, hosts=bad,
        names=list(cert.dns_names))]


def path_findings(book: CertificateBook, ing: Ingress, tls: IngressTLS, host: str) -> list[Finding]:
    """For one traced host: the Secret's expiry and whether the certificate covers that host."""
    ns = ing.meta.namespace
    use = TlsUse("Ingress", ns, ing.meta.name, (host,))
    return secret_findings(book, ns, tls.secret) + host_findings(book, use, ns, tls.secret)


def listener_findings(book: CertificateBook, gw: Gateway, listener: Listener, host: str) -> list[Finding]:
    """For one traced host through a Gateway listener: each of its certificateRefs (Secrets)."""
    use = TlsUse("Gateway", *gw.meta.key, (host,))
    out: list[Finding] = []
    for kind, ns, name in listener.certificates:
        if kind == "Secret" and name:
            out += secret_findings(book, ns, name) + host_findings(book, use, ns, name)
    return out


def check_certificates(book: CertificateBook, store: ClusterStore) -> list[Finding]:
    """Every referenced TLS Secret in the store: expiry once each, hosts per TLS entry or listener."""
    out: list[Finding] = []
    for (ns, name), uses in sorted(tls_references(store).items()):
        out += secret_findings(book, ns, name)
        for use in uses:
            out += [f for f in host_findings(book, use, ns, name) if f not in out]
    return out
