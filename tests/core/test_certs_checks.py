"""--check-certs: certificate parsing and host coverage, the scenario's certificate findings offline and
through the simulator, and what is sent to the API server: single GETs of exactly the referenced TLS
Secrets with the flag, no Secret data at all without it. The key never reaches any output."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ktrace.certs import CertificateBook, CertUnavailable, covers, file_reader, parse_leaf, tls_crt
from ktrace.checks.certificates import check_certificates, secret_findings
from ktrace.cli import main
from ktrace.kinds import BY_KIND
from ktrace.loader import load_paths
from ktrace.options import SourceSpec
from ktrace.sim.handle import Simulator
from ktrace.sources.kubeapi import META_LIST_ACCEPT
from ktrace.sources.live import open_live
from ktrace.sources.manifests import ManifestSource
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"
CERTS = SCENARIOS / "certs-tls.yaml"
EXPECT = yaml.safe_load((SCENARIOS / "expectations.yaml").read_text())["certs-tls.yaml"]
NOW = datetime(2030, 1, 1, tzinfo=UTC)
KEY_MARKER = "not-a-real-key"  # what the scenario's tls.key holds (base64 in the file)
REFERENCED = {"expired-tls", "expiring-tls", "mismatch-tls", "wildcard-tls", "broken-tls"}


def make_pem(names: list[str], not_after: datetime, not_before: datetime | None = None, chain: bool = False,
             cn: str = "test") -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before or not_after - timedelta(days=90)).not_valid_after(not_after))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return pem + make_pem(["ca.example"], not_after + timedelta(days=999)) if chain else pem


def lines(findings) -> list[str]:
    return sorted(f"{f.code} {f.kind} {f.namespace}/{f.name}" for f in findings)


# -- parsing and matching -------------------------------------------------------------------------


def test_leaf_is_the_first_certificate_of_a_chain() -> None:
    cert = parse_leaf(make_pem(["shop.example.com"], NOW + timedelta(days=30), chain=True))
    assert cert.dns_names == ("shop.example.com",)
    assert cert.not_after == NOW + timedelta(days=30)


def test_common_name_stands_in_only_without_san() -> None:
    assert parse_leaf(make_pem([], NOW, cn="Legacy.Example.com")).dns_names == ("legacy.example.com",)
    assert parse_leaf(make_pem(["a.example.com"], NOW, cn="b.example.com")).dns_names == ("a.example.com",)


@pytest.mark.parametrize(("names", "host", "covered"), [
    (["shop.example.com"], "shop.example.com", True),
    (["shop.example.com"], "SHOP.example.com.", True),
    (["shop.example.com"], "www.shop.example.com", False),
    (["*.example.com"], "app.example.com", True),
    (["*.example.com"], "a.b.example.com", False),  # one label only
    (["*.example.com"], "example.com", False),
    (["*.example.com", "example.com"], "example.com", True),
    ([], "anything.example.com", False),
])
def test_host_coverage(names: list[str], host: str, covered: bool) -> None:
    assert covers(parse_leaf(make_pem(names, NOW, cn="x")), host) is covered


def test_tls_key_is_deleted_from_the_secret_before_anything_else() -> None:
    secret = {"data": {"tls.crt": base64.b64encode(b"CRT").decode(), "tls.key": "S0VZ"}, "stringData": {"tls.key": "k"}}
    assert tls_crt(secret) == b"CRT"
    assert "tls.key" not in secret["data"] and "tls.key" not in secret["stringData"]


@pytest.mark.parametrize("secret", [{"data": {"tls.crt": "%%%"}}, {"data": {}}, {"type": "kubernetes.io/tls"}])
def test_unusable_secrets_raise_cert_unavailable(secret: dict) -> None:
    with pytest.raises(CertUnavailable):
        tls_crt(secret)


def test_expiry_window_and_not_yet_valid() -> None:
    pems = {"soon": make_pem(["a"], NOW + timedelta(days=13, hours=1)),
            "later": make_pem(["a"], NOW + timedelta(days=15)),
            "future": make_pem(["a"], NOW + timedelta(days=400), not_before=NOW + timedelta(days=1))}
    book = CertificateBook(lambda ns, name: pems[name], now=NOW)
    assert [f.code for f in secret_findings(book, "ns", "soon")] == ["certificate-expiring"]
    assert secret_findings(book, "ns", "later") == []
    assert [f.code for f in secret_findings(book, "ns", "future")] == ["certificate-expired"]
    wide = CertificateBook(lambda ns, n: pems[n], now=NOW, warn_days=30)
    assert [f.code for f in secret_findings(wide, "ns", "later")] == ["certificate-expiring"]


def test_each_secret_is_read_once() -> None:
    reads: list[tuple[str, str]] = []

    def read(ns: str, name: str) -> bytes:
        reads.append((ns, name))
        return make_pem(["a.example.com"], NOW + timedelta(days=90))

    book = CertificateBook(read, now=NOW)
    check_certificates(book, ManifestSource([str(CERTS)]).load())
    assert sorted(n for _, n in reads) == sorted(REFERENCED)


# -- the scenario, offline and live ---------------------------------------------------------------


def test_scenario_offline() -> None:
    store = ManifestSource([str(CERTS)]).load()
    read = file_reader(load_paths([str(CERTS)]).objects)
    book = CertificateBook(read, now=NOW)
    assert lines(check_certificates(book, store)) == sorted(EXPECT["certs"])
    path = trace(store, "a.b.example.com", live=False, certs=CertificateBook(read, now=NOW))
    assert [f.code for f in path.findings] == ["certificate-host-mismatch"]
    assert path.status == "broken" and next(h for h in path.hops if h.kind == "Ingress").status == "error"
    assert trace(store, "app.example.com", live=False, certs=book).status == "ok"  # wildcard covers one label


def test_offline_secret_without_data_is_info() -> None:
    store = ManifestSource([str(SCENARIOS / "healthy.yaml")]).load()
    book = CertificateBook(file_reader(load_paths([str(SCENARIOS / "healthy.yaml")]).objects), now=NOW)
    assert [(f.code, f.severity) for f in check_certificates(book, store)] == [("certificate-unreadable", "info")]


def _secret_requests(sim: Simulator) -> list[dict]:
    return [r for r in sim.requests if "/secrets" in r["path"]]


def test_scenario_through_the_simulator_gets_exactly_the_referenced_secrets(
        sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(load_paths([str(CERTS)]).objects)
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    source = open_live(SourceSpec(kubeconfig=str(kubeconfig)))
    try:
        store = source.load()
        listed = _secret_requests(sim)
        assert listed and all(r["accept"] == META_LIST_ACCEPT and r["path"] == "/api/v1/secrets" for r in listed)
        sim.clear_requests()
        book = CertificateBook(source.certificate_reader(), now=NOW)
        assert lines(check_certificates(book, store)) == sorted(EXPECT["certs"])
    finally:
        source.close()
    got = _secret_requests(sim)
    assert {r["method"] for r in got} == {"GET"}
    assert sorted(r["path"] for r in got) == sorted(BY_KIND["Secret"].path("certs", n) for n in REFERENCED)


def test_cli_reads_no_secret_data_without_the_flag_and_never_shows_the_key(
        sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = sim_factory(load_paths([str(CERTS)]).objects)
    kubeconfig = str(sim.write_kubeconfig(tmp_path / "kubeconfig"))

    assert main(["check", "-A", "-o", "json", "--kubeconfig", kubeconfig]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
    assert all(r["accept"].startswith("application/json;as=PartialObjectMetadata") for r in _secret_requests(sim))

    sim.clear_requests()
    assert main(["check", "-A", "-o", "json", "--check-certs", "--kubeconfig", kubeconfig]) == 1
    out = capsys.readouterr().out
    codes = {f["code"] for f in json.loads(out)["findings"]}
    assert {"certificate-expired", "certificate-host-mismatch", "certificate-unreadable"} <= codes
    single = [r for r in _secret_requests(sim) if not r["path"].endswith("/secrets")]
    assert sorted(r["path"].rsplit("/", 1)[1] for r in single) == sorted(REFERENCED)
    assert {r["method"] for r in sim.requests} == {"GET"}

    sim.clear_requests()
    assert main(["trace", "shop.example.com", "--check-certs", "--kubeconfig", kubeconfig]) == 1
    out += capsys.readouterr().out
    assert "certificate-host-mismatch" in out
    assert [r["path"] for r in _secret_requests(sim) if not r["path"].endswith("/secrets")] == [
        "/api/v1/namespaces/certs/secrets/mismatch-tls"]
    assert KEY_MARKER not in out and base64.b64encode(KEY_MARKER.encode()).decode()[:12] not in out


def test_cli_offline_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-o", "json", "--check-certs", "-f", str(CERTS)]) == 1
    out = capsys.readouterr().out
    assert "certificate-expired" in out and KEY_MARKER not in out
    assert main(["check", "--check-certs", "-f", "-"]) == 2
    assert "cannot re-read stdin" in capsys.readouterr().err


def test_help_says_what_check_certs_reads(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "one GET of exactly each such Secret" in help_text
    assert "tls.key is deleted from the response at once" in help_text


def test_gateway_listener_certificates(tmp_path: Path) -> None:
    pem = make_pem(["other.gw.example.com"], NOW - timedelta(days=1))
    gateway = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: eg}}
spec: {{controllerName: gateway.envoyproxy.io/gatewayclass-controller}}
---
apiVersion: v1
kind: Secret
metadata: {{name: gw-cert, namespace: infra}}
type: kubernetes.io/tls
data: {{tls.crt: {base64.b64encode(pem).decode()}, tls.key: {base64.b64encode(KEY_MARKER.encode()).decode()}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: public, namespace: infra}}
spec:
  gatewayClassName: eg
  listeners:
  - name: https
    protocol: HTTPS
    port: 443
    hostname: app.gw.example.com
    tls: {{certificateRefs: [{{kind: Secret, name: gw-cert}}]}}
    allowedRoutes: {{namespaces: {{from: All}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: web, namespace: infra}}
spec:
  parentRefs: [{{name: public}}]
  rules: [{{backendRefs: [{{name: web, port: 80}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: infra}}
spec: {{ports: [{{port: 80}}]}}
"""
    (tmp_path / "gw.yaml").write_text(gateway)
    store = ManifestSource([str(tmp_path / "gw.yaml")]).load()
    read = file_reader(load_paths([str(tmp_path / "gw.yaml")]).objects)
    assert lines(check_certificates(CertificateBook(read, now=NOW), store)) == [
        "certificate-expired Secret infra/gw-cert", "certificate-host-mismatch Gateway infra/public"]
    path = trace(store, "app.gw.example.com", live=False, certs=CertificateBook(read, now=NOW))
    gw_hop = next(h for h in path.hops if h.kind == "Gateway")
    assert gw_hop.status == "error" and path.status == "broken"
    assert sorted(f.code for f in path.findings if f.code.startswith("certificate")) == [
        "certificate-expired", "certificate-host-mismatch"]
