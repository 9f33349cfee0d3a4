"""The rows of the four panes, built from the demo store (no Textual involved)."""

from __future__ import annotations

import pytest

from ktrace.sim.demo import demo_objects
from ktrace.store import ClusterStore
from ktrace.tui import rows as R


@pytest.fixture(scope="module")
def store() -> ClusterStore:
    return ClusterStore(demo_objects())


def by_ref(rows: list[R.Row]) -> dict[tuple[str, str, str], R.Row]:
    return {r.ref: r for r in rows}


def test_namespace_rows_count_what_each_namespace_holds(store: ClusterStore) -> None:
    rows = R.namespace_rows(store)
    assert rows[0].key == (R.ALL_NAMESPACES,) and rows[0].cells[0] == "(all)"
    payments = next(r for r in rows if r.key == ("payments",))
    assert payments.cells == ("payments", "1", "2", str(sum(1 for _ in store.pods("payments"))))
    assert rows[0].cells[3] == str(store.count("Pod"))


def test_rule_rows_one_per_host_and_path_with_class_and_tls(store: ClusterStore) -> None:
    rows = {(r.key[0], r.key[1]): r for r in R.rule_rows(store)}
    assert ("pay.demo.example", "/") in rows and ("pay.demo.example", "/api") in rows
    asp = rows[("aspnetapp.demo.example", "/")]
    assert asp.ref == ("Ingress", "aspnet", "aspnetapp")
    assert dict(zip(R.RULE_COLUMNS, asp.cells, strict=True)) == {
        "VIA": "ing", "HOST": "aspnetapp.demo.example", "PATH": "/", "BACKEND": "aspnetapp:80",
        "OBJECT": "aspnet/aspnetapp", "ENTRY": "nginx", "TLS": "tls"}
    assert rows[("pay.demo.example", "/api")].cells[R.RULE_COLUMNS.index("TLS")] == ""


def test_service_rows_show_ready_over_known_endpoints(store: ClusterStore) -> None:
    rows = by_ref(R.service_rows(store))
    ready = R.SERVICE_COLUMNS.index("READY")
    assert rows[("Service", "aspnet", "aspnetapp")].cells[ready] == "0/0"  # the selector matches nothing
    assert rows[("Service", "payments", "payments-api")].cells[ready] == "0/2"
    assert rows[("Service", "payments", "payments-web")].cells[ready] == "2/2"
    docs = rows[("Service", "shop", "docs")]
    assert docs.cells[ready] == "external" and docs.cells[R.SERVICE_COLUMNS.index("TYPE")] == "ExternalName"


def test_pod_rows_show_the_waiting_reason_and_restarts(store: ClusterStore) -> None:
    rows = [r for r in R.pod_rows(store) if r.namespace == "payments" and r.ref[2].startswith("payments-api")]
    assert len(rows) == 2
    cells = dict(zip(R.POD_COLUMNS, rows[0].cells, strict=True))
    assert cells["STATUS"] == "CrashLoopBackOff" and cells["READY"] == "0/1" and int(cells["RESTARTS"]) > 0
    assert rows[0].labels["app"] == "payments-api" and "crashloopbackoff" in rows[0].text


def test_cluster_strings_show_their_control_characters_as_escapes() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "evil", "namespace": "x", "labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c"}], "nodeName": "node\x1b]0;pwned\x07-1"},
           "status": {"phase": "Running\x1b[2J", "podIP": "10.0.0.1"}}
    row = R.pod_row(ClusterStore([pod]).get("Pod", "x", "evil"))  # type: ignore[arg-type]
    assert not any(ch in cell for cell in row.cells for ch in "\x1b\x07")
    assert row.cells[R.POD_COLUMNS.index("NODE")] == "node\\x1b]0;pwned\\x07-1"


def test_service_ready_counts_the_port_pods_are_left_out_of(store: ClusterStore) -> None:
    # catalog's pods are ready but lack the named targetPort: no endpoint serves port 80
    row = by_ref(R.service_rows(store))[("Service", "catalog", "catalog")]
    assert row.cells[R.SERVICE_COLUMNS.index("READY")] == "0/2"
