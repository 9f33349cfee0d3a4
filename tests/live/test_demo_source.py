"""--demo is served by the in-process simulator and read through the live source over HTTP."""

import threading

import pytest

from ktrace.sources.demo import DemoSource
from ktrace.trace import trace


def test_demo_goes_through_the_live_path_and_only_reads() -> None:
    source = DemoSource()
    try:
        store = source.load()
        requests = list(source._sim.requests)  # the simulator's request log
        assert requests and {r["method"] for r in requests} == {"GET"}
        secret_lists = [r for r in requests if "/secrets" in r["path"]]
        assert secret_lists and all("as=PartialObjectMetadataList" in r["accept"] for r in secret_lists)
        path = trace(store, "aspnetapp.demo.example", live=source.live)
        assert path.status == "broken"
        assert any(f.code == "service-selector-no-match" for f in path.findings)
    finally:
        source.close()
    assert source._sim is None


@pytest.mark.slow
def test_watched_demo_keeps_moving() -> None:
    source = DemoSource()
    changed = threading.Event()
    try:
        store = source.load()
        source.watch(store, lambda change: change.kind == "Pod" and changed.set())
        assert changed.wait(15), "no pod changed within 15 s of watching the demo"
        assert source.status is not None and source.status.state == "live"
    finally:
        source.close()


def test_namespace_scope() -> None:
    source = DemoSource(namespace="payments")
    try:
        store = source.load()
        assert {p.meta.namespace for p in store.pods()} == {"payments"}
    finally:
        source.close()


def test_certificates_and_objects_come_from_the_server() -> None:
    from ktrace.certs import CertificateBook
    from ktrace.checks.certificates import check_certificates
    from ktrace.kinds import BY_KIND

    source = DemoSource()
    try:
        store = source.load()
        codes = {(f.code, f.name) for f in check_certificates(CertificateBook(source.certificate_reader()), store)}
        assert codes == {("certificate-expired", "status-tls")}
        svc = BY_KIND["Service"].path("aspnet", "aspnetapp")
        assert b'"ipFamilyPolicy"' in source.api.get_bytes(svc, [])  # the served object, not the record
    finally:
        source.close()
