"""The `demo` scenario: loading it, its completed objects without a server, and the live
behaviour that makes a watching user see the path change (a pod flapping readiness, rollouts)."""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime
from importlib import resources

from ktrace.loader import LoadResult, load_text
from ktrace.sim.cluster import Cluster, utc_now
from ktrace.sim.endpointslices import pod_ready
from ktrace.sim.state import ApiError, clone

# Objects of the offline demo are created "at" this moment, so its output never changes.
DEMO_TIME = "2026-01-15T09:00:00Z"
SCENARIOS = ("demo",)
FLAP_POD_OWNER = ("ops", "status-page")  # one of its pods flaps readiness
FLAP_CONTROLLER = ("ingress-nginx", "ingress-nginx-controller")  # so does one of the ingress controller's, less often
ROLLOUT = ("shop", "shop-green")  # restarted now and then


def scenario_text(name: str) -> str:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}")
    return resources.files("ktrace.sim.scenarios").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_scenario(name: str) -> LoadResult:
    return load_text(scenario_text(name), f"<scenario {name}>")


def demo_cluster(clock: str | None = DEMO_TIME) -> Cluster:
    """The demo scenario loaded into a fresh cluster (controllers have run). With `clock=None`
    new objects get the current time, as when served."""
    cluster = Cluster(clock=(lambda: clock) if clock else utc_now)
    cluster.load(load_scenario("demo").objects)
    return cluster


def demo_objects() -> list[dict]:
    """Every object of the demo cluster, completed as the API server would serve them,
    including the EndpointSlices the controller computed. Deterministic."""
    cluster = demo_cluster()
    from ktrace.kinds import KINDS

    return [clone(e.obj) for k in KINDS for e in cluster.store.entries(k.kind)]


class DemoLife:
    """Keeps a served demo moving: every `flap_every` seconds one pod toggles Ready, every
    `rollout_every` seconds a deployment is restarted (new ReplicaSet, old pods terminate)."""

    def __init__(self, cluster: Cluster, flap_every: float = 4.0, rollout_every: float = 45.0,
                 controller_every: float = 20.0):
        self.cluster, self.flap_every, self.rollout_every = cluster, flap_every, rollout_every
        self.controller_every = controller_every
        self._restarts = itertools.count(1)
        self.running = False

    def start(self) -> None:
        if self.cluster.schedule is None:
            raise RuntimeError("the demo's live behaviour needs a running server")
        self.running = True
        if self.cluster.pod_grace <= 0:
            self.cluster.pod_grace = 5.0
        self.cluster.schedule(self.flap_every, self._flap)
        self.cluster.schedule(self.rollout_every, self._rollout)
        self.cluster.schedule(self.controller_every, self._flap_controller)

    def stop(self) -> None:
        self.running = False

    def _flap(self) -> None:
        if not self.running or self.cluster.schedule is None:
            return
        self._toggle(*FLAP_POD_OWNER)
        self.cluster.schedule(self.flap_every, self._flap)

    def _flap_controller(self) -> None:
        """One controller pod of two: the front door of every nginx path turns partially ready, then back."""
        if not self.running or self.cluster.schedule is None:
            return
        self._toggle(*FLAP_CONTROLLER)
        self.cluster.schedule(self.controller_every, self._flap_controller)

    def _toggle(self, ns: str, owner: str) -> None:
        """The first (by name) live pod of `owner` toggles Ready."""
        pods = sorted((e.obj for e in self.cluster.store.entries("Pod", ns)
                       if e.obj["metadata"]["name"].startswith(owner + "-")
                       and not e.obj["metadata"].get("deletionTimestamp")),
                      key=lambda p: p["metadata"]["name"])
        if pods:
            meta = pods[0]["metadata"]
            self.cluster.set_pod_ready(ns, meta["name"], not pod_ready(pods[0]))

    def _rollout(self) -> None:
        if not self.running or self.cluster.schedule is None:
            return
        ns, name = ROLLOUT
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": f"{stamp}#{next(self._restarts)}"}}}}}
        with contextlib.suppress(ApiError):  # deleted by the user with kubectl: nothing to roll
            self.cluster.patch("Deployment", ns, name, patch, manager="kubectl-rollout")
        self.cluster.schedule(self.rollout_every, self._rollout)
