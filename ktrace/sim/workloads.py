"""Workload controllers, small versions of Kubernetes' own: Deployments own ReplicaSets named
by a hash of the pod template, ReplicaSets/StatefulSets/DaemonSets own pods named like real ones.

A workload whose selector already matches pods it does not own (a manifest that lists its pods,
with hand-written statuses) is left alone: those pods are the truth and nothing is added.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import orjson

from ktrace import selectors
from ktrace.sim.state import clone

if TYPE_CHECKING:
    from ktrace.sim.cluster import Cluster

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's SafeEncodeString alphabet
HASH_LABEL = "pod-template-hash"


def _encode(data: bytes, length: int) -> str:
    n = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    out = []
    for _ in range(length):
        n, r = divmod(n, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(out)


def template_hash(template: dict) -> str:
    return _encode(orjson.dumps(_without_hash(template), option=orjson.OPT_SORT_KEYS), 10)


def pod_suffix(owner: str, salt: object) -> str:
    return _encode(f"{owner}/{salt}".encode(), 5)


def _without_hash(template: dict) -> dict:
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    return {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}}


def owner_ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj: dict) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def _selector(workload: dict) -> selectors.Selector | None:
    try:
        sel = selectors.from_label_selector((workload.get("spec") or {}).get("selector"))
    except selectors.SelectorError:
        return None
    return sel or None  # an empty selector would adopt every pod: treat as none


def _terminating(pod: dict) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def reconcile(cluster: Cluster, ns: str) -> None:
    for kind, step in (("Deployment", _deployment), ("ReplicaSet", _replicaset),
                       ("StatefulSet", _statefulset), ("DaemonSet", _daemonset)):
        for entry in list(cluster.store.entries(kind, ns)):
            current = cluster.store.get(kind, ns, entry.meta["name"])
            if current is not None:
                step(cluster, current.obj)


def _pods(cluster: Cluster, ns: str) -> list[dict]:
    return [e.obj for e in cluster.store.entries("Pod", ns)]


def _hands_off(cluster: Cluster, workload: dict, owners: set[str]) -> bool:
    """Pods matched by the selector but owned by none of `owners` were given by hand."""
    sel = _selector(workload)
    if sel is None:
        return True
    for pod in _pods(cluster, workload["metadata"]["namespace"]):
        if selectors.matches(sel, pod["metadata"].get("labels")) and controller_uid(pod) not in owners:
            return True
    return False


def _set_status(cluster: Cluster, obj: dict, status: dict) -> None:
    merged = {**(obj.get("status") or {}), **status}
    if merged != obj.get("status"):
        cluster.write_status(obj, merged)


def _deployment(cluster: Cluster, dep: dict) -> None:
    ns, uid = dep["metadata"]["namespace"], dep["metadata"]["uid"]
    owned = [e.obj for e in cluster.store.entries("ReplicaSet", ns) if controller_uid(e.obj) == uid]
    if _hands_off(cluster, dep, {rs["metadata"]["uid"] for rs in owned}):
        return
    spec = dep.get("spec") or {}
    template = spec.get("template") or {}
    replicas = spec.get("replicas", 1)
    want = _without_hash(template)
    current = next((rs for rs in owned if _without_hash(rs["spec"].get("template") or {}) == want), None)
    if current is None:
        h = template_hash(template)
        labels = {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: h}
        rs_template = clone(template)
        rs_template.setdefault("metadata", {})["labels"] = labels
        sel = clone(spec.get("selector") or {})
        sel.setdefault("matchLabels", {})[HASH_LABEL] = h
        current = cluster.create({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{dep['metadata']['name']}-{h}", "namespace": ns, "labels": labels,
                         "ownerReferences": [owner_ref(dep)]},
            "spec": {"replicas": replicas, "selector": sel, "template": rs_template},
        })
    for rs in owned:
        want_replicas = replicas if rs["metadata"]["uid"] == current["metadata"]["uid"] else 0
        if rs["spec"].get("replicas") != want_replicas:
            cluster.write_spec(rs, {**rs["spec"], "replicas": want_replicas})
    pods = [p for p in _pods(cluster, ns) if controller_uid(p) in {r["metadata"]["uid"] for r in owned}
            and not _terminating(p)]
    ready = sum(1 for p in pods if _ready(p))
    updated = sum(1 for p in pods if controller_uid(p) == current["metadata"]["uid"])
    _set_status(cluster, dep, {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": len(pods),
                               "updatedReplicas": updated,
                               "readyReplicas": ready, "availableReplicas": ready})


def _create_pod(cluster: Cluster, owner: dict, name: str, extra_labels: dict, node: str | None = None) -> None:
    template = clone(owner["spec"].get("template") or {})
    tmeta = template.get("metadata") or {}
    meta = {"name": name, "namespace": owner["metadata"]["namespace"],
            "labels": {**(tmeta.get("labels") or {}), **extra_labels}, "ownerReferences": [owner_ref(owner)]}
    if owner["kind"] != "StatefulSet":
        meta["generateName"] = name[: name.rfind("-") + 1]
    if tmeta.get("annotations"):
        meta["annotations"] = tmeta["annotations"]
    spec = template.get("spec") or {}
    if node:
        spec["nodeName"] = node
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})


def _owned_pods(cluster: Cluster, owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    return [p for p in _pods(cluster, owner["metadata"]["namespace"]) if controller_uid(p) == uid]


def _replicaset(cluster: Cluster, rs: dict) -> None:
    if not controller_uid(rs) and _hands_off(cluster, rs, {rs["metadata"]["uid"]}):
        return
    name = rs["metadata"]["name"]
    live = [p for p in _owned_pods(cluster, rs) if not _terminating(p)]
    want = rs["spec"].get("replicas", 1)
    hash_label = {HASH_LABEL: rs["metadata"].get("labels", {}).get(HASH_LABEL)} if HASH_LABEL in (
        rs["metadata"].get("labels") or {}) else {}
    n = 0
    while len(live) < want:
        # salted with the resourceVersion: a replacement never reuses a deleted pod's name
        pod_name = f"{name}-{pod_suffix(name, (cluster.store.rv, n))}"
        n += 1
        if cluster.store.get("Pod", rs["metadata"]["namespace"], pod_name) is None:
            _create_pod(cluster, rs, pod_name, hash_label)
            live.append({"metadata": {"name": pod_name}})
    for pod in sorted(live, key=lambda p: p["metadata"]["name"])[want:]:
        cluster.terminate_pod(pod["metadata"].get("namespace", rs["metadata"]["namespace"]), pod["metadata"]["name"])
    pods = [p for p in _owned_pods(cluster, rs) if not _terminating(p)]
    ready = sum(1 for p in pods if _ready(p))
    _set_status(cluster, rs, {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                              "fullyLabeledReplicas": len(pods),
                              "observedGeneration": rs["metadata"].get("generation", 1)})


def _revision_label(workload: dict) -> dict:
    h = template_hash(workload["spec"].get("template") or {})
    return {"controller-revision-hash": f"{workload['metadata']['name']}-{h}"}


def _statefulset(cluster: Cluster, sts: dict) -> None:
    if _hands_off(cluster, sts, {sts["metadata"]["uid"]}):
        return
    name, ns = sts["metadata"]["name"], sts["metadata"]["namespace"]
    want = sts["spec"].get("replicas", 1)
    live = {p["metadata"]["name"]: p for p in _owned_pods(cluster, sts) if not _terminating(p)}
    for i in range(want):
        pod_name = f"{name}-{i}"
        if pod_name not in live and cluster.store.get("Pod", ns, pod_name) is None:
            _create_pod(cluster, sts, pod_name, {**_revision_label(sts),
                                                 "statefulset.kubernetes.io/pod-name": pod_name,
                                                 "apps.kubernetes.io/pod-index": str(i)})
    for pod_name in live:
        index = pod_name.rsplit("-", 1)[-1]
        if not index.isdigit() or int(index) >= want:
            cluster.terminate_pod(ns, pod_name)
    pods = [p for p in _owned_pods(cluster, sts) if not _terminating(p)]
    ready = sum(1 for p in pods if _ready(p))
    _set_status(cluster, sts, {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                               "currentReplicas": len(pods), "updatedReplicas": len(pods),
                               "observedGeneration": sts["metadata"].get("generation", 1)})


def _daemonset(cluster: Cluster, ds: dict) -> None:
    if _hands_off(cluster, ds, {ds["metadata"]["uid"]}):
        return
    name = ds["metadata"]["name"]
    on_node = {p["spec"].get("nodeName"): p for p in _owned_pods(cluster, ds) if not _terminating(p)}
    for i, node in enumerate(cluster.kubelet.nodes):
        if node not in on_node:
            _create_pod(cluster, ds, f"{name}-{pod_suffix(name, (cluster.store.rv, i))}",
                        {**_revision_label(ds), "pod-template-generation": str(ds["metadata"].get("generation", 1))},
                        node=node)
    pods = [p for p in _owned_pods(cluster, ds) if not _terminating(p)]
    ready = sum(1 for p in pods if _ready(p))
    n = len(cluster.kubelet.nodes)
    _set_status(cluster, ds, {"desiredNumberScheduled": n, "currentNumberScheduled": len(pods),
                              "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(pods),
                              "numberMisscheduled": 0, "observedGeneration": ds["metadata"].get("generation", 1)})
