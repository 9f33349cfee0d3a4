"""The main screen at scale, headless (Pilot): ~10,000 synthetic pods held in memory.

Measures: start to first path (`--host`: load, rows, checks, trace, marks), key press to repaint
on the pods pane (until the compositor's update is turned into terminal output), the cursor moved to a
route until its path is drawn (selecting is highlighting: it waits for the cursor to rest), a live burst
of 100 pod changes until the panes show them (the 150 ms debounce included); then `--plan` with 10 changes
to the first path drawn, and the start again through the live source, listing from the simulator over HTTP.
Targets (issue 5): key press to repaint <= 50 ms, start to first path < 3 s.
Run: .venv/bin/python benchmarks/bench_tui.py [PODS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Callable

from textual._compositor import CompositorUpdate

from ktrace.options import SourceSpec, ViewOptions
from ktrace.plan import Overlay
from ktrace.routing import rule_targets
from ktrace.sim.synthetic import synthetic_objects
from ktrace.sources.manifests import complete
from ktrace.sources.protocol import Change, WithoutCredentials
from ktrace.store import ClusterStore
from ktrace.tui.app import FOLLOW_DELAY, KtraceApp

SIZE = (160, 48)


class MemorySource(WithoutCredentials):
    """A watching source over objects held in memory: the benchmark queues changes from a thread and
    reports each, as LiveSource's deferred watch threads do; `apply_pending` applies them."""

    live = True

    def __init__(self, objs: list[dict]) -> None:
        self.objs = objs
        self.notes: list = []
        self.namespace = None
        self.origins: dict = {}
        self.lock = threading.RLock()
        self.status = None
        self.progress = None  # held in memory: nothing to count while loading
        self.on_change: Callable[[Change], None] | None = None
        self.store: ClusterStore | None = None
        self.queued: list[tuple[str, dict]] = []

    def document(self, kind: str, namespace: str, name: str) -> None:
        """Only the store's record can be shown."""

    def certificate_reader(self) -> None:
        """No Secret data in memory."""

    def describe(self) -> str:
        return "synthetic (in memory)"

    def load(self) -> ClusterStore:
        return ClusterStore(self.objs)

    def watch(self, store: ClusterStore, on_change: Callable[[Change], None], *, deferred: bool = False) -> None:
        self.store, self.on_change = store, on_change

    def queue(self, etype: str, obj: dict) -> None:
        with self.lock:
            self.queued.append((etype, obj))
        assert self.on_change is not None
        meta = obj["metadata"]
        self.on_change(Change(obj["kind"], etype, meta["namespace"], meta["name"]))

    def apply_pending(self) -> list[Change]:
        with self.lock:
            queued, self.queued = self.queued, []
        assert self.store is not None
        return [Change(o["kind"], t, o["metadata"]["namespace"], o["metadata"]["name"])
                for t, o in queued if self.store.apply(t, o)]

    def close(self) -> None:
        """Nothing to release."""


class Repaints:
    """Records when the app last turned a compositor update into terminal output (headless
    drivers skip that step; it is done here so the timing includes it)."""

    def __init__(self, app: KtraceApp) -> None:
        self.last = 0.0
        self.times: list[float] = []
        original = app._display

        def display(screen, renderable) -> None:  # type: ignore[no-untyped-def]
            original(screen, renderable)
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
                self.last = time.perf_counter()
                self.times.append(self.last)

        app._display = display  # type: ignore[method-assign]


async def until(pilot, condition: Callable[[], bool], timeout: float = 60.0, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await pilot.pause(step)


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def measure(pods: int) -> list[tuple[str, str]]:
    objs = complete(synthetic_objects(pods))
    n_pods = sum(o["kind"] == "Pod" for o in objs)
    host, path = next((t.host, t.path) for t in rule_targets(ClusterStore([o for o in objs if o["kind"] == "Ingress"]))
                      if t.host)
    source = MemorySource(objs)
    start = time.perf_counter()
    app = KtraceApp(view=ViewOptions(host=f"{host}{path}"), source_factory=lambda _: source)  # type: ignore[arg-type,return-value]
    results: list[tuple[str, str]] = [("pods in scope", f"{n_pods}")]
    async with app.run_test(size=SIZE) as pilot:
        repaints = Repaints(app)
        await until(pilot, lambda: app.path is not None)
        results.append(("start -> first path (--host)", f"{(time.perf_counter() - start) * 1000:.0f} ms"))
        await pilot.pause(0.2)

        pods = app.table("pods")
        pods.focus()
        await pilot.pause(0.1)
        timings = []
        for i in range(200):
            key = "pagedown" if i % 20 == 19 else "j"
            t0 = time.perf_counter()
            await pilot.press(key)
            await until(pilot, lambda t0=t0: repaints.last > t0, step=0.001)
            timings.append(repaints.last - t0)
        results.append(("key press -> repaint, pods pane (median / p95 / max)",
                        f"{statistics.median(timings) * 1000:.1f} / {pct(timings, 0.95) * 1000:.1f} / "
                        f"{max(timings) * 1000:.1f} ms"))

        rules = app.table("rules")
        rules.focus()
        await pilot.pause(0.1)
        first, settled = [], []
        for _ in range(30):
            t0 = time.perf_counter()
            await pilot.press("j")  # selecting is highlighting: the route is traced once the cursor rests
            key = rules.cursor_key
            assert key is not None
            await until(pilot, lambda key=key: app.path is not None and (app.path.host, app.path.path) == key[:2],
                        step=0.001)
            await pilot.pause(0.3)  # a selection repaints every pane, then the path panel once laid out
            after = [t - t0 for t in repaints.times if t > t0]
            first.append(after[0])
            settled.append(after[-1])
        results.append((f"cursor to a route -> its path drawn, incl. {FOLLOW_DELAY * 1000:.0f} ms rest (median / p95)",
                        f"{statistics.median(settled) * 1000:.1f} / {pct(settled, 0.95) * 1000:.1f} ms"))
        pods.focus()

        victims = [p for p in objs if p["kind"] == "Pod"][:: max(1, n_pods // 100)][:100]
        updates = app.updates
        cursor = pods.cursor_key
        t0 = time.perf_counter()

        def burst() -> None:
            for obj in victims:
                meta = {**obj["metadata"], "resourceVersion": f"{obj['metadata'].get('resourceVersion', '1')}9"}
                source.queue("MODIFIED", {**obj, "metadata": meta, "status": {**obj["status"], "phase": "Pending"}})

        thread = threading.Thread(target=burst)
        thread.start()
        await until(pilot, lambda: app.updates > updates and not thread.is_alive()
                    and all(pods.row((v["metadata"]["namespace"], v["metadata"]["name"])).cells[2] == "Pending"
                            for v in victims))
        shown = time.perf_counter() - t0
        await until(pilot, lambda: repaints.last > t0 + shown - 0.001, step=0.001)
        results.append(("100 pod changes -> panes updated (incl. 150 ms debounce)",
                        f"{(repaints.last - t0) * 1000:.0f} ms in {app.updates - updates} update(s)"))
        results.append(("cursor kept on its row through the burst", "yes" if pods.cursor_key == cursor else "NO"))
    return results


async def measure_live(pods: int) -> list[tuple[str, str]]:
    """The same start through the real live source: lists over HTTP from the simulator, then watches."""
    import tempfile

    from ktrace.sim.handle import Simulator
    from ktrace.sources.live import open_live

    objs = synthetic_objects(pods)
    host, path = next((t.host, t.path) for t in rule_targets(ClusterStore([o for o in objs if o["kind"] == "Ingress"]))
                      if t.host)
    with Simulator(objs) as sim, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(sim.write_kubeconfig(f"{tmp}/kubeconfig"))
        start = time.perf_counter()
        app = KtraceApp(SourceSpec(kubeconfig=kubeconfig), view=ViewOptions(host=f"{host}{path}"),
                        source_factory=open_live)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.path is not None)
            first = time.perf_counter() - start
            await until(pilot, lambda: getattr(getattr(app.source, "status", None), "state", None) == "live")
            watching = time.perf_counter() - start
    return [("live source over HTTP: start -> first path / watches live",
             f"{first * 1000:.0f} / {watching * 1000:.0f} ms")]


async def measure_plan(pods: int) -> list[tuple[str, str]]:
    """`ktrace --plan` over the objects in memory with bench_plan's 10 changes: start to the worse route's path
    drawn with what changes on it (every route traced before and after: the view's column needs them all)."""
    from bench_plan import changes

    from ktrace.sources.overlay import overlay

    applied, deleted = changes(pods)
    source = MemorySource(complete(synthetic_objects(pods)))
    start = time.perf_counter()
    app = KtraceApp(source_factory=lambda _: source,  # type: ignore[arg-type,return-value]
                    overlay=Overlay("10 changes", lambda store: overlay(store, applied, deleted)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.path_panel.change is not None)
        drawn = time.perf_counter() - start
        changed = sum(r.changed for r in app.planned.values())
    return [("--plan (10 changes): start -> worse route drawn", f"{drawn * 1000:.0f} ms ({changed} routes change)")]


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rows = asyncio.run(measure(pods)) + asyncio.run(measure_plan(pods)) + asyncio.run(measure_live(pods))
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  result")
    print(f"{'-' * width}  {'-' * 24}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
