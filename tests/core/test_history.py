"""What changed on every hop: each object's last change from its managedFields, and the bounded live history of
the fields the analysis reads."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ktrace.analysis import Analysis
from ktrace.cli import main
from ktrace.history import History
from ktrace.model import meta_of, record_from_dict
from ktrace.options import AnalysisOptions
from ktrace.render import path_summary, plain_text, trace_text
from ktrace.store import ClusterStore
from tests.core.test_incremental_checks import _Source
from tests.live.test_live_source import ingress, pod, service


def managed(obj: dict, *entries: tuple[str, str]) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"]["managedFields"] = [{"manager": m, "operation": "Update", "apiVersion": "v1", "time": t,
                                         "fieldsType": "FieldsV1", "fieldsV1": {}} for m, t in entries]
    return obj


def version(obj: dict, rv: str, **spec: object) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"]["resourceVersion"] = rv
    obj["spec"].update(spec)
    return obj


def test_the_last_change_is_the_latest_managed_fields_time_and_its_manager() -> None:
    """ManagedFieldsEntry.time: "Time is the timestamp of when the ManagedFields entry was added. The timestamp
    will also be updated if a field is added, the manager changes any of the owned fields value or removes a
    field." The latest entry is the object's last change; `manager` "is an identifier of the workflow managing
    these fields"."""
    obj = managed(service("shop", "web", "web"), ("helm", "2026-01-02T10:00:00Z"),
                  ("kubectl-edit", "2026-01-03T09:00:00Z"), ("argocd-controller", "2026-01-01T23:00:00Z"))
    meta = meta_of(obj, "Service")
    assert meta is not None and (meta.changed, meta.manager) == ("2026-01-03T09:00:00Z", "kubectl-edit")


@pytest.mark.parametrize("fields", [None, "yes", {"time": "2026-01-01T00:00:00Z"}, [1, "x", None],
                                    [{"manager": "helm"}], [{"manager": "helm", "time": 12}]])
def test_malformed_managed_fields_mean_no_last_change(fields: object) -> None:
    obj = service("shop", "web", "web")
    obj["metadata"]["managedFields"] = fields
    meta = meta_of(obj, "Service")
    assert meta is not None and (meta.changed, meta.manager) == ("", "")


def test_a_selector_change_is_noted_with_only_the_keys_that_differ_and_its_manager() -> None:
    """Service spec.selector: "Route service traffic to pods with label keys and values matching this
    selector." A key renamed in case is a different key: the change names the old and the new."""
    first = managed(service("aspnet", "aspnetapp", "aspnetapp"), ("kubectl-client-side-apply", "2026-01-01T10:00:00Z"))
    first["metadata"]["resourceVersion"] = "1"
    first["spec"]["selector"]["tier"] = "web"
    store = ClusterStore([first])
    edited = version(first, "2", selector={"App": "aspnetapp", "tier": "web"})
    edited["metadata"]["managedFields"].append({"manager": "kubectl-edit", "time": "2026-01-01T14:02:11Z"})
    assert store.apply("MODIFIED", edited)
    [change] = store.history.of([("Service", "aspnet", "aspnetapp")])
    assert (change.time, change.field, change.old, change.new, change.manager) == \
        ("2026-01-01T14:02:11Z", "spec.selector", "app=aspnetapp", "App=aspnetapp", "kubectl-edit")


def test_a_write_that_changes_nothing_the_analysis_reads_is_not_a_change() -> None:
    store = ClusterStore([version(pod("shop", "web-1", "web"), "1")])
    touched = version(pod("shop", "web-1", "web"), "2")
    touched["metadata"]["annotations"] = {"note": "x"}
    store.apply("MODIFIED", touched)
    assert len(store.history) == 0


def test_pod_readiness_and_slice_ready_counts_are_changes() -> None:
    """Pod condition Ready: "the pod is able to service requests"; EndpointConditions.ready "indicates that this
    endpoint is ready to receive traffic"."""
    p = version(pod("shop", "web-1", "web"), "1")
    p["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    s = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": {"name": "web-abc", "namespace": "shop", "resourceVersion": "1",
                      "labels": {"kubernetes.io/service-name": "web"}},
         "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}]}
    store = ClusterStore([p, s])
    q = copy.deepcopy(p)
    q["metadata"]["resourceVersion"], q["status"]["conditions"][0]["status"] = "2", "False"
    t = copy.deepcopy(s)
    t["metadata"]["resourceVersion"], t["endpoints"][0]["conditions"]["ready"] = "2", False
    store.apply("MODIFIED", q)
    store.apply("MODIFIED", t)
    got = {(c.kind, c.field, c.old, c.new) for c in store.history.of([("Pod", "shop", "web-1"),
                                                                      ("EndpointSlice", "shop", "web-abc")])}
    assert got == {("Pod", "ready", "true", "false"), ("EndpointSlice", "endpoints ready", "1/1", "0/1")}


def test_the_history_is_bounded_per_object_and_in_objects() -> None:
    history = History(per_object=3, objects=2, clock=lambda: "2026-01-01T00:00:00Z")

    def svc(name: str, n: int):
        return record_from_dict(version(service("ns", name, f"v{n}"), str(n)))

    for n in range(5):
        history.observe(svc("a", n), svc("a", n + 1))
    assert [c.new for c in history.of([("Service", "ns", "a")])] == ["app=v3", "app=v4", "app=v5"]
    history.observe(svc("b", 0), svc("b", 1))
    history.observe(svc("a", 5), svc("a", 6))  # a changed last: b is now the oldest
    history.observe(svc("c", 0), svc("c", 1))
    assert len(history) == 2
    assert history.of([("Service", "ns", "b")]) == [] and history.of([("Service", "ns", "c")])


def _traced(store: ClusterStore, target: str):
    return Analysis(_Source(), store, AnalysisOptions()).trace(target)  # type: ignore[arg-type]


def test_the_trace_carries_each_hops_last_change_and_the_paths_changes() -> None:
    svc = managed(service("shop", "web", "web"), ("helm", "2026-01-01T10:00:00Z"))
    svc["metadata"]["resourceVersion"] = "1"
    store = ClusterStore([svc, ingress("shop", "web", "shop.example.com", "web"), pod("shop", "web-1", "web")])
    edited = version(svc, "2", ports=[{"port": 80, "targetPort": 9090}])
    edited["metadata"]["managedFields"].append({"manager": "kubectl-edit", "time": "2026-01-01T14:02:11Z"})
    store.apply("MODIFIED", edited)
    path = _traced(store, "shop.example.com")
    out = path.to_dict()
    by_kind = {h["kind"]: h for h in out["hops"]}
    assert by_kind["Service"]["lastChange"] == {"time": "2026-01-01T14:02:11Z", "manager": "kubectl-edit"}
    assert by_kind["Ingress"]["lastChange"] is None  # no managedFields: unknown
    assert out["changes"] == [{"time": "2026-01-01T14:02:11Z", "kind": "Service", "namespace": "shop", "name": "web",
                               "field": "spec.ports", "old": "80->8080", "new": "80->9090",
                               "manager": "kubectl-edit"}]
    text = trace_text(path)
    assert "last changed 2026-01-01T14:02:11Z by kubectl-edit" in text
    assert "14:02:11 Service shop/web: spec.ports 80->8080 → 80->9090 (kubectl-edit)" in text


def test_the_summary_marks_a_hop_changed_in_the_last_hour() -> None:
    svc = managed(service("shop", "web", "web"), ("kubectl-edit", "2026-01-01T14:02:11Z"))
    store = ClusterStore([svc, ingress("shop", "web", "shop.example.com", "web"), pod("shop", "web-1", "web")])
    path = _traced(store, "shop.example.com")
    changed_at = 1767276131  # 2026-01-01T14:02:11Z
    soon = plain_text(path_summary(path, now=changed_at + 600))
    assert "Service web:80 -> 8080  Δ 14:02:11 kubectl-edit" in soon
    assert "^ 14:02:11 kubectl-edit" in plain_text(path_summary(path, ascii_only=True, now=changed_at + 600))
    assert "Δ" not in plain_text(path_summary(path, now=changed_at + 3 * 3600))  # hours ago: not marked


def test_offline_files_without_managed_fields_give_a_null_last_change(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    docs = [service("shop", "web", "web"), ingress("shop", "web", "shop.example.com", "web"),
            managed(pod("shop", "web-1", "web"), ("kubelet", "2026-01-01T10:00:00Z"))]
    f = tmp_path / "m.json"
    f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    main(["trace", "shop.example.com", "-f", str(f), "-o", "json"])
    out = json.loads(capsys.readouterr().out)
    changes = {h["kind"]: h["lastChange"] for h in out["hops"]}
    assert changes["Service"] is None and changes["Pod"] == {"time": "2026-01-01T10:00:00Z", "manager": "kubelet"}
    assert out["changes"] == []  # one shot: no history
