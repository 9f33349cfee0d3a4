"""The embedded demo cluster without a server: the simulator's completed demo objects, statuses
and EndpointSlices included, so readiness is as real as on a live cluster."""

from __future__ import annotations

from ktrace.findings import Finding
from ktrace.store import ClusterStore


class DemoSource:
    live = True

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace
        self.notes: list[Finding] = []

    def describe(self) -> str:
        return "demo" + (f", namespace {self.namespace}" if self.namespace else "")

    def load(self) -> ClusterStore:
        from ktrace.sim.demo import demo_objects

        objs = demo_objects()
        if self.namespace:
            objs = [o for o in objs if (o.get("metadata") or {}).get("namespace") in (None, self.namespace)]
        return ClusterStore(objs)

    def close(self) -> None:
        """Nothing to release: the demo lives in memory."""
