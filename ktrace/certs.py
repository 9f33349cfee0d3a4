"""Certificates of Ingress TLS Secrets (`--check-certs`, off by default): reading and X.509 parsing
(ktrace.checks.certificates makes the findings).

The one place ktrace reads Secret data, and only on request: the Secrets that Ingress TLS entries
in scope name, one GET each (offline: the Secrets in the files). Only `tls.crt` is kept: `tls.key`
is deleted from the decoded response at once and is never stored, shown or logged.
The leaf (first certificate of the PEM chain) is checked: validity dates and whether its DNS names
cover each TLS host (`*.example.com` covers exactly one more label, as TLS clients match).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ktrace.store import ClusterStore

WARN_DAYS = 14


class CertUnavailable(Exception):
    """tls.crt could not be had. `missing`: the Secret does not exist (reported elsewhere already);
    `hint` set: not the certificate's fault (forbidden, no data in the files), reported as info."""

    def __init__(self, reason: str, *, missing: bool = False, hint: str = "") -> None:
        super().__init__(reason)
        self.missing = missing
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Certificate:
    subject: str
    dns_names: tuple[str, ...]  # SAN DNS names, lowercased; the subject CN only when there is no SAN
    ip_addresses: tuple[str, ...]
    not_before: datetime
    not_after: datetime


def tls_crt(secret: dict) -> bytes:
    """tls.crt of a Secret object (data: base64, or stringData), deleting tls.key from it first."""
    for key in ("data", "stringData"):
        section = secret.get(key)
        if isinstance(section, dict):
            section.pop("tls.key", None)
    data, plain = secret.get("data"), secret.get("stringData")
    if isinstance(data, dict) and isinstance(data.get("tls.crt"), str):
        try:
            return base64.b64decode(data["tls.crt"], validate=True)
        except (binascii.Error, ValueError):
            raise CertUnavailable("tls.crt is not valid base64") from None
    if isinstance(plain, dict) and isinstance(plain.get("tls.crt"), str):
        return plain["tls.crt"].encode()
    raise CertUnavailable("the Secret has no tls.crt")


def parse_leaf(pem: bytes) -> Certificate:
    """The first certificate of a PEM chain; CertUnavailable when there is none."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        leaf = x509.load_pem_x509_certificates(pem)[0]
    except (ValueError, IndexError):
        raise CertUnavailable("tls.crt holds no PEM certificate") from None
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName))
        ips = tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        cn = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME) if isinstance(a.value, str)]
        dns, ips = tuple(c.lower() for c in cn), ()
    return Certificate(leaf.subject.rfc4514_string(), dns, ips, leaf.not_valid_before_utc, leaf.not_valid_after_utc)


def covers(cert: Certificate, host: str) -> bool:
    host = host.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host)) in cert.ip_addresses
    except ValueError:
        pass
    for name in cert.dns_names:
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            first, _, rest = host.partition(".")
            if first and rest == name[2:]:
                return True
    return False


@dataclass(frozen=True, slots=True)
class TlsUse:
    """An object that serves a Secret's certificate for some hosts: an Ingress TLS entry or a
    Gateway listener."""
    kind: str
    namespace: str
    name: str
    hosts: tuple[str, ...]


def tls_references(store: ClusterStore) -> dict[tuple[str, str], list[TlsUse]]:
    """Secret (namespace, name) -> who serves it, for the Ingresses' TLS entries and the Gateway
    listeners' certificateRefs in the store: all that --check-certs may read."""
    refs: dict[tuple[str, str], list[TlsUse]] = {}
    for ing in store.ingresses():
        for tls in ing.tls:
            if tls.secret:
                use = TlsUse("Ingress", *ing.meta.key, tls.hosts)
                refs.setdefault((ing.meta.namespace, tls.secret), []).append(use)
    for gw in store.objects("Gateway"):
        for listener in gw.listeners:  # type: ignore[union-attr]
            for kind, ns, name in listener.certificates:
                if kind == "Secret" and name:
                    hosts = (listener.hostname,) if listener.hostname else ()
                    refs.setdefault((ns, name), []).append(TlsUse("Gateway", *gw.meta.key, hosts))
    return refs


Reader = Callable[[str, str], bytes]  # (namespace, name) -> tls.crt PEM, or CertUnavailable


class CertificateBook:
    """Reads each referenced Secret at most once (ktrace.checks.certificates turns them into findings)."""

    def __init__(self, read: Reader, now: datetime | None = None, warn_days: int = WARN_DAYS) -> None:
        self._read = read
        self.now = now or datetime.now(UTC)
        self.warn_days = warn_days
        self._seen: dict[tuple[str, str], Certificate | CertUnavailable] = {}

    def certificate(self, namespace: str, name: str) -> Certificate | CertUnavailable:
        key = (namespace, name)
        if key not in self._seen:
            try:
                self._seen[key] = parse_leaf(self._read(namespace, name))
            except CertUnavailable as e:
                self._seen[key] = e
        return self._seen[key]


def file_reader(objects: list[dict]) -> Reader:
    """A Reader over Secrets loaded from files (their data is on disk already): tls.crt kept, tls.key
    deleted from every Secret at once."""
    found: dict[tuple[str, str], bytes | CertUnavailable] = {}
    for obj in objects:
        if obj.get("kind") != "Secret":
            continue
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        key = (str(meta.get("namespace") or "default"), str(meta.get("name") or ""))
        if not obj.get("data") and not obj.get("stringData"):
            found[key] = CertUnavailable("the Secret in the files carries no data",
                                         hint="include the Secret's data in the files to check its certificate")
            continue
        try:
            found[key] = tls_crt(obj)
        except CertUnavailable as e:
            found[key] = e

    def read(namespace: str, name: str) -> bytes:
        got = found.get((namespace, name))
        if got is None:
            raise CertUnavailable("not in the files", missing=True)
        if isinstance(got, CertUnavailable):
            raise got
        return got

    return read
