"""The near miss found through the label index equals the brute-force search over every pod and workload
of the namespace (the way it was done before the index), on random label sets and random changes."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktrace.checks.service import SELECTOR_NO_MATCH, candidates, group_candidates, selector_findings
from ktrace.model import Service
from ktrace.nearmiss import near_misses
from ktrace.store import ClusterStore

# Keys and values chosen to be each other's case twins, typos and prefixed forms, plus a volatile label.
KEYS = ["app", "App", "apq", "app.kubernetes.io/name", "name", "tier", "pod-template-hash"]
VALUES = ["web", "Web", "webb", "api", "db"]
NAMESPACES = ["a", "b"]

labels_st = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), min_size=1, max_size=4)
selector_st = st.dictionaries(st.sampled_from(KEYS[:-1]), st.sampled_from(VALUES), min_size=1, max_size=2)
owner_st = st.sampled_from([None, "web-7d9f", "web-5c4b", "api-66b8"])


def pod(ns: str, name: str, labels: dict, owner: str | None) -> dict:
    meta: dict = {"name": name, "namespace": ns, "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [{"name": "c"}]}}


def workload(kind: str, ns: str, name: str, labels: dict) -> dict:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c"}]}}}}


change_st = st.tuples(st.sampled_from(["ADDED", "MODIFIED", "DELETED"]), st.sampled_from(["Pod", "Deployment",
                                                                                           "StatefulSet"]),
                      st.sampled_from(NAMESPACES), st.integers(0, 7), labels_st, owner_st)


def build(changes: list[tuple]) -> ClusterStore:
    store = ClusterStore()
    for event, kind, ns, i, labels, owner in changes:
        name = f"{owner or 'p'}-{i}" if kind == "Pod" else f"w{i}"
        obj = pod(ns, name, labels, owner) if kind == "Pod" else workload(kind, ns, name, labels)
        store.apply(event if event == "DELETED" else "ADDED", obj)
    return store


def brute_force(store: ClusterStore, ns: str, selector: dict) -> tuple[list, list[str], list[str]]:
    """Near misses, namespaces with matching pods, and the selector keys' values, from every object."""
    misses = near_misses(selector, group_candidates(store.pods(ns), store.workloads(ns)))
    other = [n for n in store.pod_namespaces() if n != ns and store.pods_matching(n, selector)]
    values = sorted({f"{k}={p.meta.labels[k]}" for p in store.pods(ns) for k in selector if k in p.meta.labels})
    return misses, other, values


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(change_st, min_size=5, max_size=40), selector_st, st.sampled_from(NAMESPACES))
def test_indexed_near_miss_equals_the_brute_force_search(changes: list[tuple], selector: dict, ns: str) -> None:
    store = build(changes)
    misses, other, values = brute_force(store, ns, selector)
    assert near_misses(selector, candidates(store, ns, selector)) == misses
    svc = store.apply("ADDED", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns},
                                "spec": {"selector": selector, "ports": [{"port": 80}]}})
    assert svc
    service = store.service(ns, "s")
    assert isinstance(service, Service)
    found = selector_findings(store, service)
    if store.pods_matching(ns, selector):
        assert found == []
        return
    [f] = found
    assert f.code == SELECTOR_NO_MATCH.code
    assert f.details["near_misses"] == [m.to_dict() for m in misses]
    assert f.details["namespaces_with_matches"] == other
    if not misses and values:
        assert f"pods here have {', '.join(values[:5])}" in f.hint


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(change_st, max_size=40))
def test_distinct_label_indexes_follow_adds_updates_and_deletes(changes: list[tuple]) -> None:
    store = build(changes)
    for ns in NAMESPACES:
        pods, templates = defaultdict(set), defaultdict(set)
        for p in store.pods(ns):
            for k, v in p.meta.labels.items():
                pods[k].add(v)
        for w in store.workloads(ns):
            for k, v in w.template_labels.items():
                templates[k].add(v)
        assert store.label_values(ns) == pods
        assert store.label_values(ns, pods=False) == templates
        for k, values in pods.items():
            for v in values:
                assert store.pods_with_label(ns, k, v) == {p.meta.name for p in store.pods(ns)
                                                         if p.meta.labels.get(k) == v}
                assert ns in {p.meta.namespace for p in store.pods_labelled({k: v})}


def test_a_typo_of_both_key_and_value_is_found_without_sharing_a_label() -> None:
    """`App=webb` shares no label with `app=web`, yet it is a near miss (key in another case, value a typo):
    the namespace's distinct labels are compared, not only the selector's exact pairs."""
    store = build([("ADDED", "Pod", "a", 1, {"app": "web"}, "web-7d9f"),
                   ("ADDED", "Pod", "a", 2, {"role": "db"}, None)])
    [cand] = candidates(store, "a", {"App": "webb"})
    assert cand.pods == ("web-7d9f-1",)
    [miss] = near_misses({"App": "webb"}, [cand])
    assert [d.kind for d in miss.diffs] == ["key-case"]
