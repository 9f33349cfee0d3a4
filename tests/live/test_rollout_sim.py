"""A Deployment rollout driven in the simulator: while the old pods linger (pod_grace) the path
shows both revisions, which one receives traffic, and converges to one revision."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.render import trace_text
from ktrace.sim.handle import Simulator
from ktrace.trace import trace
from tests.live.test_preview_sim import live_store

pytestmark = pytest.mark.slow  # waits for a simulated rollout to converge

WEB = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "web"},
     "spec": {"ingressClassName": "nginx", "rules": [{"host": "web.example.com", "http": {"paths": [
         {"path": "/", "pathType": "Prefix",
          "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "web"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web"},
     "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
         "metadata": {"labels": {"app": "web"}},
         "spec": {"containers": [{"name": "web", "image": "registry.example:5000/web:1.0",
                                  "ports": [{"containerPort": 8080}]}]}}}},
]


def _revisions(sim: Simulator, tmp_path: Path) -> list[dict]:
    path = trace(live_store(sim, tmp_path), "web.example.com/", live=True)
    svc = next(h for h in path.hops if h.kind == "Service")
    return [r.to_dict() for r in svc.detail.revisions]


def test_rollout_shows_both_revisions_then_converges(sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(WEB, pod_grace=1.5)
    assert _revisions(sim, tmp_path) == []  # one revision: nothing is being replaced
    sim.patch("Deployment", "web", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "registry.example:5000/web:2.0", "ports": [{"containerPort": 8080}]}]}}}})
    revs = _revisions(sim, tmp_path)
    assert [(r["version"], r["current"], r["pods"], r["terminating"], r["receivesTraffic"]) for r in revs] == [
        ("2.0", True, 2, 0, True), ("1.0", False, 2, 2, False)]
    assert revs[0]["deployment"] == "web" and revs[0]["replicaSet"].startswith("web-")
    text = trace_text(trace(live_store(sim, tmp_path), "web.example.com/", live=True), width=120)
    assert "rollout of Deployment web: 2 revisions" in text
    assert "current" in text and "old" in text and "2 terminating, no traffic" in text
    deadline = time.monotonic() + 5
    while (revs := _revisions(sim, tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert revs == []
