"""The embedded demo cluster: the simulator serves the demo scenario on loopback and the live
source reads it over HTTP, so `--demo` takes the same code path as a real cluster.

One-shot commands see the scenario as written (fixed names, addresses and times). Once watched,
the demo keeps moving: a pod flaps readiness, a rollout replaces pods now and then.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ktrace.ending import on_end
from ktrace.findings import Finding
from ktrace.sources.protocol import CertificateReader, Change, LoadProgress, WatchStatus, WithoutCredentials
from ktrace.store import ClusterStore

if TYPE_CHECKING:
    from ktrace.sim.handle import Simulator
    from ktrace.sources.kubeapi import KubeApi
    from ktrace.sources.kubewatch import Watcher, WatchTimeouts
    from ktrace.sources.live import LiveSource


class DemoSource(WithoutCredentials):
    """Credentials: the simulator's token never expires, and its kubeconfig has one context."""

    live = True

    def __init__(self, namespace: str | None = None, moving: bool = True) -> None:
        self.namespace = namespace
        self.moving = moving  # start the demo's live behaviour when watched
        self.lock = threading.RLock()
        self.origins: dict[tuple[str, str, str], str] = {}  # served objects have no file
        self._sim: Simulator | None = None
        self._live: LiveSource | None = None
        self._dir: str | None = None
        self._forget_dir: Callable[[], None] | None = None

    @property
    def notes(self) -> list[Finding]:
        return self._live.notes if self._live is not None else []

    def describe(self) -> str:
        return "demo"

    def load(self) -> ClusterStore:
        from ktrace.sim.demo import demo_cluster
        from ktrace.sim.handle import Simulator
        from ktrace.sources.kubeconfig import resolve_context
        from ktrace.sources.live import LiveSource

        if self._sim is None:
            self._sim = Simulator(cluster=demo_cluster())
            self._sim.start()
            self._dir = tempfile.mkdtemp(prefix="ktrace-demo-")  # private (0700): it holds a kubeconfig
            self._forget_dir = on_end(functools.partial(shutil.rmtree, self._dir, True))  # signals included
            kubeconfig = self._sim.write_kubeconfig(f"{self._dir}/kubeconfig")
            self._live = LiveSource(resolve_context(str(kubeconfig), None), self.namespace)
            self.lock = self._live.lock
        assert self._live is not None
        return self._live.load()

    def watch(self, store: ClusterStore, on_change: Callable[[Change], None] | None = None,
              timeouts: WatchTimeouts | None = None, *, deferred: bool = False) -> Watcher:
        from ktrace.sim.cluster import utc_now
        from ktrace.sim.demo import DemoLife

        assert self._sim is not None and self._live is not None, "load() first"
        if self.moving:
            self._sim.cluster.clock = utc_now  # what changes from now on happens now
            self._sim.call(DemoLife(self._sim.cluster).start)
        return self._live.watch(store, on_change, timeouts, deferred=deferred)

    def apply_pending(self) -> list[Change]:
        return self._live.apply_pending() if self._live is not None else []

    @property
    def api(self) -> KubeApi | None:
        """The GET-only API layer, for views that show an object as the server has it."""
        return self._live.api if self._live is not None else None

    def certificate_reader(self) -> CertificateReader:
        """--check-certs: one GET of each Secret from the demo's server, as on a real cluster."""
        assert self._live is not None, "load() first"
        return self._live.read_tls_certificate

    def document(self, kind: str, namespace: str, name: str) -> tuple[dict, str] | None:
        return self._live.document(kind, namespace, name) if self._live is not None else None

    @property
    def status(self) -> WatchStatus | None:
        return self._live.status if self._live is not None else None

    @property
    def progress(self) -> LoadProgress | None:
        live = self._live
        return live.progress if live is not None else None

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()

    def close(self) -> None:
        if self._live is not None:
            self._live.close()
        if self._sim is not None:
            self._sim.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        if self._forget_dir is not None:
            self._forget_dir()
        self._live = self._sim = self._dir = self._forget_dir = None
