"""Live loading at scale: ktrace against kubectl and the raw floor, on `ktrace sim --synthetic N`.

Prints one table (median of --runs runs, each a fresh process measured from its start):
  ktrace store ready     process start -> every kind listed into the store
  ktrace check -A        process start -> `ktrace check -A -o json` finished
  kubectl get            `kubectl get pods,services,ingresses,endpointslices -A` (analyses nothing)
  floor                  raw HTTP GET of those four lists + orjson parse, nothing else
then the watch latency: ingresses, then pods, patched at --rate per second by another process, and
the time from each PATCH being sent to the change being visible in ktrace's store. That time includes
the simulator's own work; pod writes also run its controllers, which caps their rate below 1,000/s
on 2 CPUs, and its garbage collector over 10,000 pods shows up as the occasional long maximum.

    .venv/bin/python benchmarks/bench_live.py [--pods 10000] [--runs 5] [--rate 1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import orjson
import yaml

ROOT = Path(__file__).resolve().parent.parent
K = TypeVar("K")  # a case's name
M = TypeVar("M")  # what one run measures
FLOOR_KINDS = ("/api/v1/pods", "/api/v1/services", "/apis/networking.k8s.io/v1/ingresses",
               "/apis/discovery.k8s.io/v1/endpointslices")
WATCHED = {"Ingress": "/apis/networking.k8s.io/v1/ingresses", "Pod": "/api/v1/pods"}
STORE_READY = """
import sys
from ktrace.options import SourceSpec
from ktrace.sources.live import open_live
store = open_live(SourceSpec(kubeconfig=sys.argv[1])).load()
print(len(store))
"""


def _server(kubeconfig: str) -> tuple[str, str]:
    doc = yaml.safe_load(Path(kubeconfig).read_text())
    ctx = {c["name"]: c["context"] for c in doc["contexts"]}[doc["current-context"]]
    cluster = {c["name"]: c["cluster"] for c in doc["clusters"]}[ctx["cluster"]]
    user = {u["name"]: u["user"] for u in doc.get("users") or []}.get(ctx.get("user"), {})
    return cluster["server"], user.get("token", "")


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra} if token else dict(extra)


def floor(server: str, token: str) -> None:
    """The least any client must do: GET each list whole and parse it (the collector off, as it is the
    fastest way; the four lists one after the other, as they compete for one interpreter anyway)."""
    import gc

    import urllib3

    gc.disable()

    http = urllib3.PoolManager()
    total = 0
    for path in FLOOR_KINDS:
        resp = http.request("GET", server + path, headers=_headers(token, Accept="application/json"))
        total += len(orjson.loads(resp.data)["items"])
    print(total)


def writer(server: str, token: str, rate: float, seconds: float, collection: str, threads: int = 4) -> None:
    """Patch annotations of the objects in `collection` (a list path) at `rate` per second over
    `threads` connections, one request at a time each; the annotation carries the send time."""

    import urllib3

    http = urllib3.PoolManager(maxsize=threads)
    objs = orjson.loads(http.request("GET", server + collection, headers=_headers(token)).data)["items"]
    group, plural = collection.rsplit("/", 1)
    urls = [f"{server}{group}/namespaces/{o['metadata']['namespace']}/{plural}/{o['metadata']['name']}" for o in objs]
    headers = _headers(token, **{"Content-Type": "application/merge-patch+json"})

    def send(k: int, n: int) -> bool:
        body = orjson.dumps({"metadata": {"annotations": {"bench/sent": repr(time.time())}}})
        http.request("PATCH", urls[(n * threads + k) % len(urls)], body=body, headers=headers)
        return True

    sent, elapsed = paced(rate, seconds, threads, send)
    print(sum(sent) / elapsed)


def paced(rate: float, seconds: float, threads: int, send: Callable[[int, int], bool]) -> tuple[list[int], float]:
    """Call `send(worker, calls so far)` from `threads` threads, `rate` times a second in all, for `seconds` (a
    worker stops early when it returns False). Returns each worker's calls and the seconds it took."""
    import threading

    sent = [0] * threads
    start = time.perf_counter()

    def run(k: int) -> None:
        share = rate / threads
        while (now := time.perf_counter() - start) < seconds:
            if sent[k] >= int(now * share) + 1:
                time.sleep(max(0.0, sent[k] / share - now))
                continue
            if not send(k, sent[k]):
                return
            sent[k] += 1

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sent, time.perf_counter() - start


def cost(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one process run to completion; exit
    codes 0 and 1 (`check` and `trace` exit 1 on findings) count as success."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({code}): {err.strip()[-300:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process run to completion."""
    wall, _, rss = cost(cmd)
    return wall, rss


def interleaved(cases: dict[K, list[str]], runs: int, how: Callable[[list[str]], M]) -> dict[K, list[M]]:
    """Each case measured `runs` times, after one warm-up run each (page cache, the simulator's serialized
    objects); the cases take turns, so drift on this shared machine hits them all alike."""
    for cmd in cases.values():
        how(cmd)
    results: dict[K, list[M]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, cmd in cases.items():
            results[name].append(how(cmd))
    return results


def start_sim(pods: int, workdir: str) -> tuple[subprocess.Popen, str]:
    kubeconfig = os.path.join(workdir, "kubeconfig")
    sim = subprocess.Popen([sys.executable, "-m", "ktrace", "sim", "--synthetic", str(pods),
                            "--write-kubeconfig", kubeconfig], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import urllib3

    http = urllib3.PoolManager()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if sim.poll() is not None:
            raise SystemExit(f"the simulator exited: {sim.stderr.read().decode()[-500:] if sim.stderr else ''}")
        if os.path.exists(kubeconfig):
            try:
                server, token = _server(kubeconfig)
                if http.request("GET", server + "/version", headers=_headers(token), retries=False).status == 200:
                    return sim, kubeconfig
            except Exception:  # not written completely or not listening yet
                pass
        time.sleep(0.2)
    sim.kill()
    raise SystemExit("the simulator did not come up within 180 s")


def watch_latency(kubeconfig: str, kind: str, collection: str, rate: float,
                  seconds: float) -> tuple[list[float], float]:
    from ktrace.options import SourceSpec
    from ktrace.sources.live import open_live
    from ktrace.sources.protocol import Change

    source = open_live(SourceSpec(kubeconfig=kubeconfig))
    store = source.load()
    latencies: list[float] = []

    def on_change(change: Change) -> None:
        if change.kind != kind or change.type != "MODIFIED":
            return
        now = time.time()
        with source.lock:
            record = store.get(kind, change.namespace, change.name)
            sent = record.meta.annotations.get("bench/sent") if record is not None else None
        if sent:
            latencies.append(now - float(sent))

    source.watch(store, on_change)
    time.sleep(0.5)  # every stream connected
    server, token = _server(kubeconfig)
    out = subprocess.run([sys.executable, __file__, "--writer", server, token, str(rate), str(seconds), collection],
                         capture_output=True, text=True, check=True)
    time.sleep(0.5)  # the last events drain
    source.close()
    return latencies, float(out.stdout.strip() or 0)


def _at(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--floor", nargs=2, metavar=("SERVER", "TOKEN"), help=argparse.SUPPRESS)
    ap.add_argument("--writer", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        return floor(*args.floor)
    if args.writer:
        server, token, rate, seconds, collection = args.writer
        return writer(server, token, float(rate), float(seconds), collection)

    kubectl = shutil.which("kubectl")
    with tempfile.TemporaryDirectory(prefix="ktrace-bench-") as workdir:
        sim, kubeconfig = start_sim(args.pods, workdir)
        try:
            server, token = _server(kubeconfig)
            py = sys.executable
            cases = {
                "ktrace store ready": [py, "-c", STORE_READY, kubeconfig],
                "ktrace check": [py, "-m", "ktrace", "check", "-A", "-o", "json", "--kubeconfig", kubeconfig],
                "floor": [py, __file__, "--floor", server, token],
            }
            if kubectl:
                cases["kubectl"] = [kubectl, "--kubeconfig", kubeconfig, "get",
                                    "pods,services,ingresses,endpointslices", "-A"]
            results = interleaved(cases, args.runs, measure)
            # Ingresses: no controller runs on them in the simulator, so it can take 1,000 writes/s;
            # pod writes also run its EndpointSlice and workload controllers, which caps their rate.
            watches = {kind: watch_latency(kubeconfig, kind, collection, args.rate, args.seconds)
                       for kind, collection in WATCHED.items()}
        finally:
            sim.terminate()
            sim.wait(10)

    med = {name: (statistics.median(w for w, _ in r), statistics.median(m for _, m in r))
           for name, r in results.items()}
    check = med["ktrace check"][0]
    print(f"\n{args.pods} synthetic pods, median of {args.runs} runs, {os.cpu_count()} CPUs\n")
    print(f"{'case':<22} {'seconds':>8} {'peak RSS MB':>12} {'ktrace check / case':>20}")
    for name, (wall, rss) in med.items():
        print(f"{name:<22} {wall:>8.2f} {rss:>12.0f} {check / wall:>19.2f}x")
    verdicts = []
    if "kubectl" in med:
        verdicts.append(f"vs kubectl {check / med['kubectl'][0]:.2f}x (target <= 0.5x)")
    verdicts.append(f"vs floor {check / med['floor'][0]:.2f}x (target <= 1.5x)")
    verdicts.append(f"peak RSS {med['ktrace check'][1]:.0f} MB (target <= 250 MB)")
    print("ktrace check: " + "; ".join(verdicts))
    print()
    for kind, (latencies, achieved) in watches.items():
        if not latencies:
            print(f"watch {kind}: no change observed")
            continue
        ms = sorted(x * 1000 for x in latencies)
        print(f"watch {kind}: {len(ms)} changes at {achieved:.0f}/s, PATCH sent -> in ktrace's store: "
              f"p50 {_at(ms, 0.5):.1f} ms, p99 {_at(ms, 0.99):.1f} ms, max {ms[-1]:.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
