"""Table-driven: every scenario manifest under tests/scenarios/ loaded offline, checked and traced,
compared with tests/scenarios/expectations.yaml (shared with the simulator-backed tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ktrace.checks import CATALOG, run_checks
from ktrace.sources.manifests import ManifestSource
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXPECT = yaml.safe_load((SCENARIOS / "expectations.yaml").read_text())
REAL_WORLD = Path("/work/shared/real-world/online-boutique")


def _load(name: str):
    source = ManifestSource([str(SCENARIOS / name)])
    return source, source.load()


def _line(f) -> str:
    return f"{f.code} {f.kind} {f.namespace}/{f.name}"


def test_every_scenario_file_has_expectations() -> None:
    assert sorted(p.name for p in SCENARIOS.glob("*.yaml") if p.name != "expectations.yaml") == sorted(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_check_offline(name: str) -> None:
    _, store = _load(name)
    findings = run_checks(store, live=False)
    assert sorted(_line(f) for f in findings if f.severity != "info") == sorted(EXPECT[name]["check"])
    info = {f.code for f in findings if f.severity == "info"}
    assert set(EXPECT[name].get("info", [])) <= info
    assert not set(EXPECT[name].get("live_only", [])) & {f.code for f in findings}


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_check_live_adds_only_live_codes(name: str) -> None:
    _, store = _load(name)
    offline = sorted(_line(f) for f in run_checks(store, live=False))
    live = sorted(_line(f) for f in run_checks(store, live=True))
    extra = [x for x in live if x not in offline]
    assert {x.split()[0] for x in extra} <= set(EXPECT[name].get("live_only", []))


@pytest.mark.parametrize(("name", "target"), [(n, t) for n in sorted(EXPECT) for t in EXPECT[n]["traces"]])
def test_trace_offline(name: str, target: str) -> None:
    _, store = _load(name)
    want = EXPECT[name]["traces"][target]
    path = trace(store, target, live=False)
    assert path.status == want["status"], [h.to_dict() for h in path.hops]
    assert sorted(f.code for f in path.findings) == sorted(want["codes"])
    if "service" in want:
        assert [h.name for h in path.hops if h.kind == "Service"] == [want["service"]]
    if "tls" in want:
        assert next(h for h in path.hops if h.kind == "Ingress").detail.tls_secret == want["tls"]


def test_every_catalog_code_is_exercised() -> None:
    seen: set[str] = {"host-no-route", "source-kind-unreadable", "source-document-skipped",
                      "source-input-unreadable"}  # tests/core/test_core_cli.py, test_loader.py
    for exp in EXPECT.values():
        seen |= {line.split()[0] for line in exp["check"]} | set(exp.get("info", [])) | set(exp.get("live_only", []))
        seen |= {line.split()[0] for line in exp.get("certs", [])}  # --check-certs: tests/core/test_certs_checks.py
        for t in exp["traces"].values():
            seen |= set(t["codes"])
    assert seen == set(CATALOG)


def test_near_miss_details() -> None:
    _, store = _load("selector-near-miss.yaml")
    by_name = {f.name: f for f in run_checks(store, live=False) if f.code == "service-selector-no-match"}
    asp = by_name["aspnetapp"]
    # pods are named by the Deployment behind their ReplicaSet (aspnetapp-7d9f, pod-template-hash 7d9f)
    assert asp.message == ("selector App=aspnetapp matches no pod; pods of Deployment aspnetapp (3) have "
                           "app=aspnetapp (key differs in case)")
    best = asp.details["near_misses"][0]
    assert best["count"] == 3
    assert best["differences"] == [{"difference": "key-case", "selector": "App=aspnetapp",
                                    "label": "app=aspnetapp", "explanation": "key differs in case"}]
    fe = by_name["frontend"].details["near_misses"][0]
    assert fe["candidate"] == "the pod template of Deployment frontend"
    assert fe["differences"][0]["difference"] == "value-typo"
    api = by_name["api"].details["near_misses"][0]
    assert api["matched"] == 1 and api["differences"][0]["difference"] == "missing"


def test_hints_name_the_other_namespace() -> None:
    _, store = _load("ingress-problems.yaml")
    by_code = {f.code: f for f in run_checks(store, live=False)}
    assert "namespace backend" in by_code["ingress-backend-service-missing"].hint
    assert by_code["ingress-backend-service-missing"].details["namespaces_with_service"] == ["backend"]
    assert by_code["ingress-tls-secret-missing"].details["namespaces_with_secret"] == ["certs"]
    assert "unnamed port never matches a port name" in by_code["ingress-backend-port-missing"].hint or any(
        "unnamed" in f.hint for f in run_checks(store, live=False) if f.code == "ingress-backend-port-missing")


def test_readiness_reasons() -> None:
    _, store = _load("readiness.yaml")
    reasons = {f.name: f.details["reason"] for f in run_checks(store, live=False) if f.code == "pod-not-ready"}
    assert "CrashLoopBackOff" in reasons["down-crash"] and "7 restarts" in reasons["down-crash"]
    assert "ImagePullBackOff" in reasons["down-pull"]
    assert reasons["flaky-old"] == "terminating"
    assert "Unschedulable" in reasons["flaky-pending"]
    assert "readiness probe failing" in reasons["flaky-probe"]


def test_trace_lists_every_selected_pod_with_readiness() -> None:
    _, store = _load("readiness.yaml")
    pods = {h.name: h.detail.ready for h in trace(store, "flaky.example.com", live=False).hops if h.kind == "Pod"}
    assert pods == {"flaky-ok": True, "flaky-old": False, "flaky-pending": False, "flaky-probe": False}


def test_offline_templates_stand_in_for_pods() -> None:
    _, store = _load("offline-templates.yaml")
    pods = [h for h in trace(store, "chart.example.com/", live=False).hops if h.kind == "Pod"]
    assert [(p.name, p.status, p.detail.template_of, p.detail.replicas, p.detail.container_port) for p in pods] \
        == [("chart-web", "unknown", "Deployment/chart-web", 3, 8080)]


@pytest.mark.skipif(not REAL_WORLD.is_dir(), reason="real-world manifests not present")
def test_online_boutique_has_no_errors() -> None:
    source = ManifestSource([str(REAL_WORLD / "kubernetes-manifests.yaml"), str(REAL_WORLD / "frontend-ingress.yaml")])
    store = source.load()
    assert [f for f in run_checks(store, live=False) if f.severity == "error"] == []
    path = trace(store, "boutique.example.com/cart", live=False)  # host-less rule: any host
    assert path.status == "unknown"
    assert (path.hops[0].kind, path.hops[0].status) == ("IngressController", "unknown")  # no controller pod
    assert [h.name for h in path.hops[1:3]] == ["frontend-ingress", "frontend"]
    assert "pathType ImplementationSpecific treated as Prefix" in path.hops[1].reasons


def test_unreadable_endpointslices_fall_back_to_pod_status() -> None:
    from ktrace.loader import load_paths
    from ktrace.store import ClusterStore

    store = ClusterStore(load_paths([str(SCENARIOS / "healthy.yaml")]).objects)  # no slices derived
    assert trace(store, "shop.example.com", live=True).status == "broken"  # live: no slices, no endpoints
    store.unreadable.add("EndpointSlice")
    assert trace(store, "shop.example.com", live=True).status == "ok"
    assert run_checks(store, live=True) == []


def test_services_without_any_endpoint() -> None:
    from ktrace.store import ClusterStore

    def pod(name: str, phase: str) -> dict:
        return {"kind": "Pod", "metadata": {"name": name, "namespace": "a", "labels": {"app": "job"}},
                "spec": {"containers": [{"name": "c"}]}, "status": {"phase": phase, "podIP": "10.0.0.1"}}
    ingress = {"kind": "Ingress", "metadata": {"name": "i", "namespace": "a"}, "spec": {"rules": [
        {"host": "h.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "manual", "port": {"number": 80}}}}]}}]}}
    store = ClusterStore([
        pod("done", "Succeeded"),
        {"kind": "Service", "metadata": {"name": "job", "namespace": "a"},
         "spec": {"selector": {"app": "job"}, "ports": [{"port": 80}]}},
        {"kind": "Service", "metadata": {"name": "manual", "namespace": "a"}, "spec": {"ports": [{"port": 80}]}},
        {"kind": "Service", "metadata": {"name": "unused-manual", "namespace": "a"}, "spec": {"ports": [{"port": 80}]}},
        ingress,
    ])
    store.unreadable.add("IngressClass")
    got = {(f.code, f.name): f.message for f in run_checks(store, live=False)}
    assert got == {("service-no-ready-endpoints", "job"): "no endpoints: done: phase Succeeded: the pod has finished",
                   ("service-no-ready-endpoints", "manual"): "no selector and no EndpointSlice: no endpoints"}
    assert trace(store, "h.example.com", live=False).status == "broken"


def test_kubectl_dump_uses_real_pods_not_templates(tmp_path: Path) -> None:
    """`kubectl get deploy,rs,pod,svc -o json`: a List whose pods belong to a ReplicaSet of a
    Deployment. The real pods stand for themselves; no template pod is added."""
    import json

    labels = {"app": "web"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "ports": [
        {"name": "http", "containerPort": 8080}]}]}}
    items = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "d"},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": "web-5f", "namespace": "d", "ownerReferences": [{"kind": "Deployment", "name": "web"}]},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "web-5f-x", "namespace": "d", "labels": labels, "ownerReferences": [
                {"kind": "ReplicaSet", "name": "web-5f", "controller": True}]},
         "spec": template["spec"], "status": {"phase": "Running", "podIP": "10.0.0.9",
                                               "conditions": [{"type": "Ready", "status": "False"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "d"},
         "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]}},
    ]
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    store = ManifestSource([str(dump)]).load()
    assert [p.meta.name for p in store.pods()] == ["web-5f-x"]
    assert {(f.code, f.name) for f in run_checks(store, live=False)} == {
        ("service-no-ready-endpoints", "web"), ("pod-not-ready", "web-5f-x")}
