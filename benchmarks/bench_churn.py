"""The live view under churn: the TUI on a 10,000-pod simulated cluster while pods change at a fixed rate.

The simulator (`ktrace sim --synthetic N`) and the writer run in processes of their own; this process
runs the app headless (Pilot) on the live source, through a kubeconfig pointing at the simulator, as a
user would. The writer changes pods at --rates per second for --seconds each: readiness flips (80%),
`version` label changes (10%) and deletes (10%; the simulator's ReplicaSets add replacements). Each
readiness or label change carries its send time in an annotation.

Per rate it prints: the latency from a change being sent to the pods pane being repainted with it
(p50/p99/max), the share of changes shown, how long after the writer stopped the last change was
shown (the watches drained; "behind" when not within --drain seconds), the pod events the app
received, this process's CPU (% of one core, the app and its watch threads; the simulator and the
writer are other processes) and its RSS at the start and the end of the run.
Targets (issue 12): at 200 changes/s p99 <= 1 s and drained; at 50 changes/s under 25% of a core.

    .venv/bin/python benchmarks/bench_churn.py [--pods 10000] [--rates 50 200] [--seconds 60]
    .venv/bin/python benchmarks/bench_churn.py --seconds 300 --rates 200     # the 5-minute run
    .venv/bin/python benchmarks/bench_churn.py --profile churn.prof   # cProfile of the app thread: churn.prof.RATE
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

import orjson
from bench_live import _at, _headers, _server, paced, start_sim
from bench_tui import until
from textual._compositor import CompositorUpdate

from ktrace.options import SourceSpec
from ktrace.sources.live import open_live
from ktrace.tui.app import KtraceApp
from ktrace.tui.rows import Row

SENT = "bench/sent"
SIZE = (160, 48)
JSON_PATCH = "application/json-patch+json"


def writer(server: str, token: str, rate: float, seconds: float, threads: int = 8) -> None:
    """Change pods at `rate` per second over `threads` connections; prints sent count and the last send time."""
    import threading

    import urllib3

    http = urllib3.PoolManager(maxsize=threads)
    pods = orjson.loads(http.request("GET", server + "/api/v1/pods", headers=_headers(token)).data)["items"]
    # Deployment pods only: their ReplicaSets replace the deleted ones.
    pods = [p for p in pods if (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "ReplicaSet"]
    rng = random.Random(12)
    rng.shuffle(pods)
    lock = threading.Lock()
    last, errors = [0.0], [0]

    def change(pod: dict) -> tuple[str, str, bytes, str]:
        meta = pod["metadata"]
        url = f"{server}/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        now = time.time()
        stamp = {"op": "add", "path": "/metadata/annotations", "value": {
            **(meta.get("annotations") or {}), SENT: repr(now)}}
        roll = rng.random()
        if roll < 0.1:
            return "DELETE", url, b"", ""
        if roll < 0.2:
            labels = {**meta["labels"], "version": f"v{rng.randrange(1000)}"}
            ops = [stamp, {"op": "add", "path": "/metadata/labels", "value": labels}]
        else:
            status = pod["status"]
            ready = not all(c.get("ready") for c in status.get("containerStatuses") or [])
            for c in status.get("containerStatuses") or []:
                c["ready"] = ready
            for c in status.get("conditions") or []:
                if c.get("type") in ("Ready", "ContainersReady"):
                    c["status"] = "True" if ready else "False"
            ops = [stamp, {"op": "replace", "path": "/status", "value": status}]
        meta.setdefault("annotations", {})[SENT] = repr(now)
        return "PATCH", url, orjson.dumps(ops), repr(now)

    def send(k: int, n: int) -> bool:
        with lock:
            if not pods:
                return False
            pod = pods[(n * threads + k) % len(pods)]
            method, url, body, stamp = change(pod)
            if method == "DELETE":
                pods.remove(pod)
        resp = http.request(method, url, body=body or None, headers=_headers(token, **{"Content-Type": JSON_PATCH}))
        with lock:
            errors[0] += resp.status >= 300
            if stamp:
                last[0] = max(last[0], float(stamp))
        return True

    sent, elapsed = paced(rate, seconds, threads, send)
    print(sum(sent), last[0], errors[0], sum(sent) / elapsed)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Shown:
    """When each stamped change reached the pods pane: noted as the pane takes the row, timed at the
    next repaint (the frame that shows it)."""

    def __init__(self, app: KtraceApp) -> None:
        self.app = app
        self.pending: set[float] = set()
        self.latencies: dict[float, float] = {}
        self.newest = 0.0
        original_display = app._display

        def display(screen, renderable) -> None:  # type: ignore[no-untyped-def]
            original_display(screen, renderable)
            if not isinstance(renderable, CompositorUpdate):
                return
            renderable.render_segments(app.console)  # as a terminal driver would (headless skips it)
            if self.pending:
                now = time.time()  # the writer's clock: it stamps with time.time()
                for stamp in self.pending:
                    self.latencies.setdefault(stamp, now - stamp)
                    self.newest = max(self.newest, stamp)
                self.pending.clear()

        app._display = display  # type: ignore[method-assign]
        table = app.table("pods")
        update, set_rows = table.update, table.set_rows

        def note(rows: list[Row]) -> None:
            store = app.store
            for row in rows:
                record = store.get("Pod", *row.ref[1:]) if store is not None else None
                stamp = record.meta.annotations.get(SENT) if record is not None else None
                if stamp:
                    self.pending.add(float(stamp))

        def upd(upserts, removed=()):  # type: ignore[no-untyped-def]
            update(upserts, removed)
            note(list(upserts))

        def setr(rows):  # type: ignore[no-untyped-def]
            set_rows(rows)
            note(list(rows))

        table.update, table.set_rows = upd, setr  # type: ignore[method-assign]


async def run_rate(kubeconfig: str, rate: float, seconds: float, drain: float,
                   profile: cProfile.Profile | None) -> dict[str, str]:
    app = KtraceApp(SourceSpec(kubeconfig=kubeconfig), source_factory=open_live)
    events = [0]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.source is not None and getattr(app.source.status, "state", None) == "live",
                    timeout=120)
        on_change = app._on_change

        def counting(change):  # type: ignore[no-untyped-def]
            if change.kind == "Pod":
                events[0] += 1
            on_change(change)

        app._on_change = counting  # type: ignore[method-assign]
        app.source._on_change = counting  # type: ignore[union-attr]
        shown = Shown(app)
        await pilot.pause(3)  # the first checks settle
        server, token = _server(kubeconfig)
        rss0, cpu0, t0 = rss_mb(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        if profile is not None:
            profile.enable()
        proc = subprocess.Popen([sys.executable, __file__, "--writer", server, token, str(rate), str(seconds)],
                                stdout=subprocess.PIPE, text=True)
        while proc.poll() is None:
            await pilot.pause(0.2)
        cpu1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        count, last, errors, achieved = (proc.stdout.read() if proc.stdout else "0 0 0 0").split()
        try:
            await until(pilot, lambda: shown.newest >= float(last), timeout=drain, step=0.05)
            caught_up = f"{time.perf_counter() - t1:.1f} s"
        except TimeoutError:
            caught_up = f"behind after {drain:.0f} s"
        if profile is not None:
            profile.disable()
        rss1 = rss_mb()
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / (t1 - t0)
    lat = sorted(shown.latencies.values())
    stamped = int(int(count) * 0.9)  # deletes carry no stamp
    return {
        "rate (sent/s)": f"{rate:.0f} ({float(achieved):.0f})",
        "latency p50/p99/max": (f"{_at(lat, 0.5):.2f} / {_at(lat, 0.99):.2f} / {lat[-1]:.2f} s" if lat else "-"),
        "changes shown": f"{len(lat)}/~{stamped}",
        "last change shown": caught_up,
        "pod events received": f"{events[0]} (writes {count}, errors {errors})",
        "CPU (one core)": f"{cpu * 100:.0f}%",
        "RSS start/end": f"{rss0:.0f} / {rss1:.0f} MB",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--rates", type=float, nargs="+", default=[50.0, 200.0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the last change after the writer")
    ap.add_argument("--profile", metavar="FILE", help="write a cProfile of the app's thread (the event loop)")
    ap.add_argument("--writer", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--one", nargs=2, metavar=("KUBECONFIG", "RATE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        server, token, rate, seconds = args.writer
        return writer(server, token, float(rate), float(seconds))
    if args.one:  # one rate in a fresh process: its CPU and memory are the app's alone
        profile = cProfile.Profile() if args.profile else None
        kubeconfig, rate = args.one
        print(orjson.dumps(asyncio.run(run_rate(kubeconfig, float(rate), args.seconds, args.drain, profile))).decode())
        if profile is not None:
            profile.dump_stats(args.profile)
        return None
    results = []
    with tempfile.TemporaryDirectory(prefix="ktrace-churn-") as workdir:
        sim, kubeconfig = start_sim(args.pods, workdir)
        try:
            for rate in args.rates:
                cmd = [sys.executable, __file__, "--one", kubeconfig, str(rate), "--seconds", str(args.seconds),
                       "--drain", str(args.drain)]
                if args.profile:
                    cmd += ["--profile", f"{args.profile}.{rate:.0f}"]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                results.append(orjson.loads(out.strip().splitlines()[-1]))
        finally:
            sim.terminate()
            try:
                sim.wait(10)
            except subprocess.TimeoutExpired:  # a loaded machine: the results are in, do not lose them
                sim.kill()
                sim.wait()
    print(f"\n{args.pods} synthetic pods, {args.seconds:.0f} s per rate, {os.cpu_count()} CPUs\n")
    keys = list(results[0])
    width = max(map(len, keys))
    cols = [max(len(r[k]) for k in keys) for r in results]
    for k in keys:
        print(f"{k:<{width}}  " + "  ".join(f"{r[k]:<{c}}" for r, c in zip(results, cols, strict=True)))


if __name__ == "__main__":
    main()
