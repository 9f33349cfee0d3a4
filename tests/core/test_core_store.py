"""ClusterStore: incremental indexes, relist reconciliation, slim records; near-miss ranking."""

from __future__ import annotations

import subprocess
import sys

from ktrace.model import pod_from_dict
from ktrace.nearmiss import Candidate, edit_distance, near_misses
from ktrace.store import ClusterStore
from ktrace.targets import Target


def pod(name: str, labels: dict, ns: str = "shop", rv: str = "") -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels, "resourceVersion": rv,
                                        "managedFields": [{"manager": "kubectl"}]},
            "spec": {"containers": [{"name": "c", "env": [{"name": "SECRET", "value": "x"}],
                                     "ports": [{"name": "http", "containerPort": 8080}]}]}}


def svc(name: str, selector: dict, ns: str = "shop") -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": selector, "ports": [{"port": 80}]}}


def test_watch_events_update_indexes() -> None:
    store = ClusterStore([pod("a", {"app": "web"}), svc("web", {"app": "web"})])
    v = store.version
    assert [p.meta.name for p in store.pods_matching("shop", {"app": "web"})] == ["a"]
    assert store.apply("MODIFIED", pod("a", {"app": "api"}))
    assert store.version == v + 1
    assert store.pods_matching("shop", {"app": "web"}) == []
    assert [p.meta.name for p in store.pods_matching("shop", {"app": "api"})] == ["a"]
    assert store.services_selecting(store.get("Pod", "shop", "a")) == []
    store.apply("ADDED", pod("b", {"app": "web", "tier": "fe"}))
    assert [s.meta.name for s in store.services_selecting(store.get("Pod", "shop", "b"))] == ["web"]
    assert store.apply("DELETED", pod("b", {}))
    assert store.pods_matching("shop", {"app": "web"}) == [] and store.get("Pod", "shop", "b") is None
    assert not store.apply("DELETED", pod("b", {}))  # already gone: no change, no version bump
    assert not store.apply("BOOKMARK", pod("c", {}))


def test_same_resource_version_is_not_a_change() -> None:
    store = ClusterStore([pod("a", {"app": "web"}, rv="5")])
    v = store.version
    assert not store.apply("MODIFIED", pod("a", {"app": "web"}, rv="5"))
    assert store.version == v


def test_a_new_version_that_changes_nothing_the_record_keeps_is_not_a_change() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "1"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}}}}
    store = ClusterStore([deployment])
    v = store.version
    status_only = {**deployment, "metadata": {**deployment["metadata"], "resourceVersion": "2"},
                   "status": {"readyReplicas": 1}}
    assert not store.apply("MODIFIED", status_only) and store.version == v
    assert store.get("Deployment", "shop", "web").meta.resource_version == "2"  # replays of it are recognised
    scaled = {**status_only, "metadata": {**deployment["metadata"], "resourceVersion": "3"},
              "spec": {**deployment["spec"], "replicas": 3}}
    assert store.apply("MODIFIED", scaled) and store.version == v + 1
    tls = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
           "metadata": {"name": "cert", "namespace": "shop", "resourceVersion": "1"}}
    store.apply("ADDED", tls)
    renewed = {**tls, "metadata": {**tls["metadata"], "resourceVersion": "2"}}  # new data, which no record keeps
    assert store.apply("MODIFIED", renewed)


def test_replace_reconciles_one_kind_in_one_namespace() -> None:
    store = ClusterStore([pod("a", {}), pod("b", {}), pod("c", {}, ns="other"), svc("s", {"x": "y"})])
    store.replace("Pod", [{"metadata": {"name": "b", "namespace": "shop"}}, pod("d", {})], namespace="shop")
    assert sorted(p.meta.key for p in store.pods()) == [("other", "c"), ("shop", "b"), ("shop", "d")]
    assert store.count("Service") == 1
    store.replace("Pod", [])
    assert store.count("Pod") == 0


def test_records_are_slim() -> None:
    p = pod_from_dict(pod("a", {"app": "web"}))
    assert not hasattr(p, "__dict__")  # slots: no stray fields
    text = repr(p)
    assert "managedFields" not in text and "SECRET" not in text
    assert p.containers[0].ports[0].name == "http"
    assert p.ready is None  # no status: readiness unknown


def test_secret_data_is_never_kept() -> None:
    store = ClusterStore([{"kind": "Secret", "metadata": {"name": "t", "namespace": "a"}, "type": "kubernetes.io/tls",
                           "data": {"tls.key": "c2VjcmV0"}}])
    s = store.secret("a", "t")
    assert s.type == "kubernetes.io/tls" and "c2VjcmV0" not in repr(s)


def test_ingress_host_index_follows_changes() -> None:
    def ing(host: str) -> dict:
        return {"kind": "Ingress", "metadata": {"name": "i", "namespace": "a"},
                "spec": {"rules": [{"host": host, "http": {"paths": []}}]}}
    store = ClusterStore([ing("a.example.com")])
    store.apply("MODIFIED", ing("b.example.com"))
    assert store.hosts() == ["b.example.com"]
    assert store.ingresses_for_host("a.example.com") == []


def test_edit_distance() -> None:
    assert edit_distance("frontend", "fronend") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("abc", "abcdef") == 3  # gives up past the limit


def test_near_miss_ranking() -> None:
    selector = {"app": "checkout", "tier": "backend"}
    cands = [
        Candidate("pod missing-tier", {"app": "checkout"}),
        Candidate("pods of ReplicaSet typo", {"app": "checkuot", "tier": "backend"}, 4),
        Candidate("pods of ReplicaSet case", {"App": "checkout", "tier": "backend"}, 2),
        Candidate("pod unrelated", {"app": "cart", "tier": "frontend"}),
        Candidate("pod exact", {"app": "checkout", "tier": "backend"}),
        Candidate("pod short", {"app": "checkout", "tier": "db"}),  # value differs, not a typo: N-1 of N
    ]
    got = [(m.candidate.name, [d.kind for d in m.diffs]) for m in near_misses(selector, cands)]
    assert got == [("pods of ReplicaSet case", ["key-case"]), ("pods of ReplicaSet typo", ["value-typo"]),
                   ("pod missing-tier", ["missing"]), ("pod short", ["value-differs"])]


def test_short_words_are_not_typos() -> None:
    assert near_misses({"app": "db"}, [Candidate("pod ui", {"app": "ui"})]) == []
    assert near_misses({"app": "web"}, [Candidate("pod other", {"role": "web"})]) == []


def test_value_case_and_key_typo() -> None:
    """Both differences of one label are named (the fix is to change both)."""
    [m] = near_misses({"app.kubernetes.io/name": "Shop"}, [Candidate("pod p", {"app.kubernetes.io/nme": "shop"})])
    assert m.describe() == "pod p has app.kubernetes.io/nme=shop (key looks like a typo, and its value differs in case)"
    assert m.diffs[0].to_dict()["valueDifference"] == "value-case"


def test_a_key_off_by_case_ranks_the_pods_with_the_selectors_value_first() -> None:
    """`App: app-2` against the pods of app-0, app-1 and app-2, all labelled `app`: the near miss is app-2's
    pods (only the key's case differs), not app-0's, whose value is off too (a typo of app-2): fixing the
    selector as suggested must send traffic to the right app."""
    cands = [Candidate(f"pods of Deployment app-{i}", {"app": f"app-{i}"}, 10) for i in range(3)]
    got = near_misses({"App": "app-2"}, cands)
    assert [m.candidate.name for m in got] == ["pods of Deployment app-2", "pods of Deployment app-0",
                                               "pods of Deployment app-1"]
    assert got[0].describe() == "pods of Deployment app-2 (10) have app=app-2 (key differs in case)"
    assert got[1].describe().endswith("have app=app-0 (key differs in case, and its value looks like a typo)")
    assert got[0].cost < got[1].cost


def test_core_imports_neither_textual_nor_kubernetes() -> None:
    code = ("import sys, ktrace.store, ktrace.trace, ktrace.checks, ktrace.model, ktrace.findings;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'kubernetes', 'rich')];"
            "print(bad); raise SystemExit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_reverse_path_index() -> None:
    from ktrace.routing import rules_to_service

    def ing(backend: str) -> dict:
        return {"kind": "Ingress", "metadata": {"name": "i", "namespace": "a"},
                "spec": {"defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
                         "rules": [{"host": "x.example.com", "http": {"paths": [
                             {"path": "/api", "pathType": "Prefix",
                              "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}}
    store = ClusterStore([ing("api")])
    assert rules_to_service(store, "a", "api") == [Target("x.example.com", "/api")]
    assert rules_to_service(store, "a", "fallback") == [Target("", "/")]
    store.apply("MODIFIED", ing("api-v2"))
    assert rules_to_service(store, "a", "api") == [] and store.ingresses_for_service("a", "api-v2")[0].meta.name == "i"


def test_unreadable_kinds_are_not_reported_missing() -> None:
    from ktrace.checks import run_checks
    from ktrace.trace import trace

    objs = [{"kind": "Ingress", "metadata": {"name": "i", "namespace": "a"},
             "spec": {"ingressClassName": "x", "tls": [{"hosts": ["x.example.com"], "secretName": "t"}],
                      "rules": [{"host": "x.example.com", "http": {"paths": [
                          {"path": "/", "pathType": "Prefix",
                           "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
             "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}},
            svc("other", {"app": "web"}, ns="a")]
    store = ClusterStore(objs)
    assert {f.code for f in run_checks(store, live=True)} == {
        "ingress-class-missing", "ingress-tls-secret-missing", "ingress-backend-service-missing",
        "service-selector-no-match"}
    store.unreadable.update({"IngressClass", "Secret", "Service", "Pod"})
    assert run_checks(store, live=True) == []
    path = trace(store, "x.example.com", live=True)
    assert path.status == "unknown" and next(h for h in path.hops if h.kind == "Service").reasons == [
        "Services could not be read"]


def test_key_prefix_near_miss() -> None:
    [m] = near_misses({"app.kubernetes.io/name": "shop"}, [Candidate("pod p", {"name": "shop"})])
    assert m.describe() == "pod p has name=shop (key differs in its prefix)"


def test_namespaces_from_objects_and_namespace_objects() -> None:
    store = ClusterStore([pod("a", {}), svc("s", {}, ns="api"), {"kind": "Namespace", "metadata": {"name": "empty"}},
                          {"kind": "IngressClass", "metadata": {"name": "nginx"}}])
    assert store.namespaces() == ["api", "empty", "shop"]
    assert store.pod_namespaces() == ["shop"]


def test_pod_deployment_comes_from_its_replicaset_name() -> None:
    def pod(owner: tuple[str, str] | None, labels: dict) -> object:
        meta = {"name": "p", "namespace": "ns", "labels": labels}
        if owner:
            meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
        return pod_from_dict({"kind": "Pod", "metadata": meta})

    assert pod(("ReplicaSet", "web-7d9f"), {"pod-template-hash": "7d9f"}).deployment == "web"
    assert pod(("ReplicaSet", "web-7d9f"), {}).deployment == ""  # a bare ReplicaSet: no hash label
    assert pod(("ReplicaSet", "web-7d9f"), {"pod-template-hash": "aaaa"}).deployment == ""
    assert pod(("ReplicaSet", "-7d9f"), {"pod-template-hash": "7d9f"}).deployment == ""
    assert pod(("StatefulSet", "db"), {"pod-template-hash": "x"}).deployment == ""
    assert pod(None, {}).deployment == ""
