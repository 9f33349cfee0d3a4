"""`Simulator`: the simulator driven from ordinary (threaded) code such as tests, benchmarks
and `ktrace sim`. The server and every change to the cluster run on one event loop in a
daemon thread; the methods here hand work to that loop and wait for it."""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import yaml

from ktrace.kinds import BY_KIND
from ktrace.sim.cluster import Cluster
from ktrace.sim.faults import Faults
from ktrace.sim.server import ApiServer

T = TypeVar("T")
CONTEXT = "ktrace-sim"


class Simulator:
    def __init__(self, objects: Iterable[dict] = (), *, cluster: Cluster | None = None, port: int = 0,
                 tokens: Iterable[str] | None = None, bookmark_interval: float = 1.0, pod_grace: float = 0.0,
                 user: str = "ktrace-sim", tls: ssl.SSLContext | None = None,
                 versions: Mapping[str, str] | None = None):
        """`versions`: kind -> the only API version the server offers it at (e.g. {"HTTPRoute": "v1beta1"})."""
        self.cluster = cluster or Cluster(pod_grace=pod_grace)
        if objects:
            self.cluster.load(objects)
        self.server = ApiServer(self.cluster, tokens=set(tokens) if tokens is not None else None,
                                bookmark_interval=bookmark_interval, user=user, versions=versions)
        self.port = port
        self.tls = tls  # serve HTTPS with this server context (kubeconfigs then need the CA)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Serve (again, on the same port after stop()); returns the base URL."""
        if self._loop is None:
            ready = threading.Event()
            loop = asyncio.new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=run, name="ktrace-sim", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop
            self.cluster.schedule = lambda delay, fn: loop.call_later(delay, fn)
        self.port = self._await(self.server.start(self.port, self.tls))
        return self.url

    def stop(self) -> None:
        """Stop serving and end the loop thread; the cluster's state is kept."""
        if self._loop is None:
            return
        self.stop_serving()
        loop, self._loop = self._loop, None
        self.cluster.schedule = None
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        loop.close()

    def stop_serving(self) -> None:
        """The server goes away (connections reset, port closed) but the loop stays."""
        if self._loop is not None:
            self._await(self.server.stop())

    def restart(self, downtime: float = 0.0) -> str:
        """The API server goes away and comes back on the same port."""
        self.stop_serving()
        if downtime:
            time.sleep(downtime)
        return self.start()

    def restart_with(self, objects: Iterable[dict] = (), *, downtime: float = 0.0) -> str:
        """The API server comes back on the same port with other data: a new store holding `objects`
        (and what the controllers make of them), as after an etcd restore from an older backup or with
        another cluster behind the same address. Its resourceVersions start over; watches from a version
        it never reached get 504 ResourceVersionTooLarge (see `faults.ignores_future_rv`)."""
        self.stop_serving()
        cluster = Cluster(pod_grace=self.cluster.pod_grace)
        cluster.schedule = self.cluster.schedule
        self.call(cluster.load, list(objects))
        self.server.use(cluster)
        self.cluster = cluster
        if downtime:
            time.sleep(downtime)
        return self.start()

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # driving the cluster
    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run `fn` on the server's loop (where the cluster lives) and return its result."""
        if self._loop is None or threading.current_thread() is self._thread:
            return fn(*args, **kwargs)

        async def run() -> T:
            return fn(*args, **kwargs)

        return self._await(run())

    def _await(self, coro) -> T:  # type: ignore[no-untyped-def]
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def apply(self, obj: dict) -> dict:
        """Create or replace an object; controllers run before this returns."""
        return self.call(self.cluster.apply, obj)

    def load(self, objects: Iterable[dict]) -> None:
        self.call(self.cluster.load, list(objects))

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        return self.call(self.cluster.get, kind, namespace, name)

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        return self.call(lambda: [e.obj for e in self.cluster.store.entries(kind, namespace)])

    def patch(self, kind: str, namespace: str | None, name: str, patch: dict, manager: str = "kubectl-patch") -> dict:
        """A JSON merge patch, written as field manager `manager`."""
        return self.call(self.cluster.patch, kind, namespace, name, patch, manager=manager)

    def delete(self, kind: str, namespace: str | None, name: str, grace: float | None = None) -> dict:
        return self.call(self.cluster.delete, kind, namespace, name, grace)

    @property
    def resource_version(self) -> int:
        return self.cluster.store.rv

    def compact(self) -> int:
        """Forget the event history: older watches and continue tokens get 410, and open
        watches end with an ERROR 410 event. Returns the compaction point."""

        def run() -> int:
            floor = self.cluster.store.compact()
            self.server.wake_all()
            return floor

        return self.call(run)

    def forbid(self, kind: str, namespaces: Iterable[str] | None = None) -> None:
        """Refuse every verb on `kind` (403) everywhere, or only in `namespaces` (then
        cluster-wide requests are refused too, as with namespace-scoped RBAC roles)."""
        if kind not in BY_KIND:
            raise ValueError(f"unknown kind {kind!r}")
        self.server.forbidden[kind] = set(namespaces) if namespaces is not None else None

    def set_tokens(self, tokens: Iterable[str] | None) -> None:
        """Change the accepted bearer tokens (None: no authentication), e.g. to expire one."""
        self.server.tokens = set(tokens) if tokens is not None else None

    def slow_lists(self, seconds: float, kind: str | None = None) -> None:
        """Every list (not watch) answers `seconds` late from now on (0: at once again); with `kind`, only
        lists of that kind across every namespace do (a big cluster's pods: one namespace's stay quick)."""
        if kind is None:
            self.server.list_delay = seconds
        else:
            self.server.wide_list_delays[kind] = seconds

    def refuse_credentials(self, seconds: float) -> None:
        """A 401 spell: every request is refused for `seconds`, whatever its token (open watches stay
        open, as on a real server: `break_watches` makes them reconnect into it)."""
        self.server.faults.refuse_until = time.monotonic() + seconds

    def busy(self, seconds: float, status: int = 429, retry_after: int | None = None) -> None:
        """Every request is answered `status` (429 or 503) for `seconds`, with Retry-After if given."""
        faults = self.server.faults
        faults.busy_until, faults.busy_status, faults.retry_after = time.monotonic() + seconds, status, retry_after

    def trickle(self, interval: float | None) -> None:
        """Send every answer but a watch stream one byte every `interval` seconds (None: at once)."""
        self.server.faults.trickle = interval

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def allow(self, kind: str | None = None) -> None:
        """Undo forbid() for one kind, or for all."""
        if kind is None:
            self.server.forbidden.clear()
        else:
            self.server.forbidden.pop(kind, None)

    def break_watches(self) -> int:
        """Reset every open watch connection mid-event; returns how many were cut."""
        return self.call(self.server.break_watches)

    @property
    def requests(self) -> list[dict]:
        """Every request received: method, path, query, accept, content_type."""
        return list(self.server.requests)

    def clear_requests(self) -> None:
        self.server.requests.clear()

    def write_kubeconfig(self, path: str | Path, token: str | None = None, namespace: str | None = None,
                         context: str = CONTEXT, proxy_url: str | None = None) -> Path:
        """A kubeconfig that the kubernetes client and kubectl both accept (the first accepted
        token unless `token` is given)."""
        if token is None and self.server.tokens:
            token = sorted(self.server.tokens)[0]
        user: dict = {"token": token} if token else {}
        ctx: dict = {"cluster": context, "user": context}
        if namespace:
            ctx["namespace"] = namespace
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": user}],
            "contexts": [{"name": context, "context": ctx}],
            "current-context": context,
        }
        if proxy_url:
            config["clusters"][0]["cluster"]["proxy-url"] = proxy_url
        path = Path(path)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)
        return path
