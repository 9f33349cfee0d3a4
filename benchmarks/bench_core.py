"""Analysis core at scale: store build from ~10,000 realistic pods, median trace, full check.

Targets on the 2-core dev machines: trace median <= 5 ms, full check <= 300 ms.
Run: .venv/bin/python benchmarks/bench_core.py [PODS] [--check-only]
(--check-only: the store build and the full check alone, also with one unmatched Service per namespace,
for the growth of the check at 10k/30k/60k pods)
"""

from __future__ import annotations

import gc
import statistics
import sys
import time

from ktrace.checks import run_checks
from ktrace.routing import rule_targets
from ktrace.sim.synthetic import synthetic_objects
from ktrace.sources.manifests import complete
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.trace import trace


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


WIDE_PODS = 2000


def wide_service(objs: list[dict], n: int) -> list[dict]:
    """One Ingress -> Service -> `n` pods (copies of synthetic pods): the worst case for one trace."""
    template = next(o for o in objs if o["kind"] == "Pod")
    pods = []
    for i in range(n):
        meta = {**template["metadata"], "name": f"wide-{i}", "namespace": "wide", "labels": {"app": "wide"},
                "ownerReferences": []}
        status = {**template["status"], "podIP": f"10.99.{i // 250}.{i % 250 + 1}"}
        pods.append({**template, "metadata": meta, "status": status})
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "wide", "namespace": "wide"},
           "spec": {"selector": {"app": "wide"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "wide", "port": {"number": 80}}}}
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "wide", "namespace": "wide"},
           "spec": {"rules": [{"host": "wide.synthetic.example", "http": {"paths": [path]}}]}}
    return [*pods, svc, ing]


def unmatched_services(objs: list[dict]) -> list[dict]:
    """One more Service per namespace whose selector matches no pod: `App: app-0` (a near miss of the pods'
    `app: app-0`) in even namespaces, `app: gone` (none) in odd ones. The synthetic cluster has one such
    Service; real clusters have more, and each costs a near-miss search."""
    spaces = sorted({o["metadata"]["namespace"] for o in objs if o["kind"] == "Pod"})
    return [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "unmatched", "namespace": ns},
             "spec": {"selector": {"App": "app-0"} if i % 2 == 0 else {"app": "gone"}, "ports": [{"port": 80}]}}
            for i, ns in enumerate(spaces)]


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--check-only"]
    pods = int(args[0]) if args else 10_000
    # Served objects carry the EndpointSlices the simulator's controller computes; derive them the same way.
    objs = complete(synthetic_objects(pods))
    if "--check-only" in sys.argv:
        n_pods = sum(o["kind"] == "Pod" for o in objs)
        for name, extra in (("synthetic", []), ("+ unmatched Service per namespace", unmatched_services(objs))):
            build, store = timed(lambda extra=extra: ClusterStore(objs + extra), repeat=1)
            gc.freeze()
            check, _ = timed(lambda store=store: run_checks(store, live=True), repeat=3)
            print(f"{n_pods} pods, {name}: store build {build * 1000:.0f} ms, full check (median of 3) "
                  f"{check * 1000:.0f} ms")
        return
    wide = complete(wide_service(objs, WIDE_PODS))
    n_pods = sum(o["kind"] == "Pod" for o in objs)
    build, store = timed(lambda: ClusterStore(objs), repeat=3)
    gc.freeze()  # the store is long-lived; keep the collector out of the per-call timings
    targets = rule_targets(store)
    per_trace = []
    for t in targets:
        for _ in range(5):
            start = time.perf_counter()
            trace(store, t, live=True)
            per_trace.append(time.perf_counter() - start)
    check, findings = timed(lambda: run_checks(store, live=True), repeat=5)
    wide_store = ClusterStore(objs + wide)
    wide_trace, wide_path = timed(lambda: trace(wide_store, Target("wide.synthetic.example", "/"), live=True), 5)
    assert sum(h.kind == "Pod" for h in wide_path.hops) == WIDE_PODS
    pod = objs[next(i for i, o in enumerate(objs) if o["kind"] == "Pod")]
    event, _ = timed(lambda: store.apply("MODIFIED", {**pod, "metadata": {**pod["metadata"],
                                                                           "resourceVersion": "x"}}), repeat=1)
    rows = [
        ("objects / pods", f"{len(objs)} / {n_pods}", ""),
        ("store build (median of 3)", f"{build * 1000:.0f} ms", ""),
        ("apply one watch event", f"{event * 1e6:.0f} µs", ""),
        (f"trace median ({len(per_trace)} traces)", f"{statistics.median(per_trace) * 1000:.2f} ms", "<= 5 ms"),
        ("trace max", f"{max(per_trace) * 1000:.2f} ms", ""),
        ("full check (median of 5)", f"{check * 1000:.0f} ms", "<= 300 ms"),
        (f"trace of one Service, {WIDE_PODS} pods", f"{wide_trace * 1000:.1f} ms", ""),
        ("findings", str(len(findings)), ""),
    ]
    print(f"{'measure':<32}{'value':>16}  target")
    for name, value, target in rows:
        print(f"{name:<32}{value:>16}  {target}")


if __name__ == "__main__":
    main()
