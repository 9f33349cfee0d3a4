"""Revisions behind a path, offline: pods of two ReplicaSets of one Deployment, one not ready yet."""

from __future__ import annotations

import pytest

from ktrace.render import path_summary, path_tree, plain_text
from ktrace.rollout import image_tag
from ktrace.store import ClusterStore
from ktrace.trace import trace


def _pod(name: str, h: str, image: str, ready: bool, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"api-{h}-{name}", "namespace": "a", "labels": {"app": "api", "pod-template-hash": h, **labels},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"api-{h}", "uid": h,
                             "controller": True}]},
        "spec": {"containers": [{"name": "api", "image": image, "ports": [{"containerPort": 80}]}]},
        "status": {"phase": "Running", "podIP": f"10.0.0.{len(name)}",
                   "conditions": [{"type": "Ready", "status": str(ready)}]}}


def _slice(pods: list[dict]) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {
        "name": "api-x", "namespace": "a", "labels": {"kubernetes.io/service-name": "api"}},
        "addressType": "IPv4", "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
        "endpoints": [{"addresses": [p["status"]["podIP"]], "conditions": {
            "ready": p["status"]["conditions"][0]["status"] == "True"},
            "targetRef": {"kind": "Pod", "name": p["metadata"]["name"]}} for p in pods]}


def test_two_replicasets_show_as_revisions_new_one_not_serving_yet() -> None:
    pods = [_pod("a", "old1", "api:1.0", True), _pod("bb", "old1", "api:1.0", True),
            _pod("ccc", "new2", "api:1.1", False)]
    store = ClusterStore([
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "api", "namespace": "a"},
         "spec": {"rules": [{"host": "api.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                  "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "a"},
         "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "a"},
         "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}},
                  "spec": {"containers": [{"name": "api", "image": "api:1.1"}]}}}},
        *pods, _slice(pods)])
    path = trace(store, "api.example.com", live=True)
    revs = [r.to_dict() for r in next(h for h in path.hops if h.kind == "Service").detail.revisions]
    assert [(r["podTemplateHash"], r["version"], r["current"], r["ready"], r["pods"], r["receivesTraffic"])
            for r in revs] == [("new2", "1.1", True, 0, 1, False), ("old1", "1.0", False, 2, 2, True)]
    for view in (path_tree(path, details=True), path_summary(path)):  # what the TUI's path panel draws
        panel = plain_text(view, width=120)
        assert "rollout of Deployment api: 2 revisions" in panel
        assert "! warning  current new2  1.1  0/1 ready, no traffic" in panel
        assert "✓ ok  old old1  1.0  2/2 ready, receives traffic" in panel


@pytest.mark.parametrize(("image", "tag"), [
    ("registry.example:5000/team/web:2.1", "2.1"), ("nginx", "latest"),
    ("web@sha256:0123456789abcdef0123", "0123456789ab"), ("", "")])
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_pods_pane_version_column() -> None:
    from ktrace.model import pod_from_dict
    from ktrace.tui.rows import POD_COLUMNS, pod_row

    col = POD_COLUMNS.index("VERSION")
    labelled = pod_from_dict(_pod("a", "h1", "api:1.0", True, version="blue"))
    tagged = pod_from_dict(_pod("b", "h1", "registry.example:5000/api:1.1", True))
    assert labelled is not None and tagged is not None
    assert (pod_row(labelled).cells[col], pod_row(tagged).cells[col]) == ("blue", "1.1")
