"""Planning at scale: `ktrace plan` of 10 changed objects on `ktrace sim --synthetic N` (10,000 pods, 200
ingresses), against loading the source alone. The issue's bar: the plan takes at most 2x the load.

The changes (deterministic, spread over namespaces): 3 Service selector typos, 3 Deployment relabels (their pods
are replaced by the template), 2 Ingresses that move a path to another Service, 1 default-deny NetworkPolicy
and 1 TLS Secret deleted.

Prints, median of --runs interleaved fresh processes (each measured from its start):
  store ready      the live source listed into the store, nothing else
  plan             `ktrace plan -f CHANGES --delete -f SECRET -o json` written
then, in one process, where the plan's time goes (load, the changes' records, check before, touched routes traced
before, apply + recheck, traced after).

    .venv/bin/python benchmarks/bench_plan.py [--pods 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
from bench_live import interleaved, measure, start_sim

STORE_READY = """
import sys
from ktrace.options import SourceSpec
from ktrace.sources.live import open_live
store = open_live(SourceSpec(kubeconfig=sys.argv[1])).load()
print(len(store))
"""

# One process: the phases of a plan (as commands.run_plan runs them), printed as JSON.
PHASES = """
import sys, time, orjson
t0 = time.perf_counter()
from ktrace.analysis import Analysis
from ktrace.options import AnalysisOptions, SourceSpec
from ktrace.plan import apply, touched
from ktrace.sources.live import open_live
from ktrace.sources.overlay import overlay, read_files
out = {}
source = open_live(SourceSpec(kubeconfig=sys.argv[1]))
store = source.load()
out["load"] = time.perf_counter() - t0
t = time.perf_counter()
changes = overlay(store, read_files([sys.argv[2]], "-f"), read_files([sys.argv[3]], "--delete -f"))
out["overlay"] = time.perf_counter() - t
a = Analysis(source, store, AnalysisOptions())
t = time.perf_counter()
a.check()
out["check before"] = time.perf_counter() - t
t = time.perf_counter()
targets = touched(store, changes)
before = [a.trace(x) for x in targets]
out["trace before"] = time.perf_counter() - t
t = time.perf_counter()
a.recheck(apply(store, changes))
out["apply + recheck"] = time.perf_counter() - t
t = time.perf_counter()
after = [a.trace(x) for x in targets]
out["trace after"] = time.perf_counter() - t
out["routes traced"] = len(targets)
out["objects changed"] = len(changes)
source.close()
print(orjson.dumps(out).decode())
"""


def changes(pods: int) -> tuple[list[dict], list[dict]]:
    """Ten changes to the synthetic cluster's objects: nine applied, one deleted."""
    from ktrace.sim.synthetic import synthetic_objects

    objs = synthetic_objects(pods)
    namespaces = sorted({o["metadata"]["namespace"] for o in objs if o["kind"] == "Ingress"})
    pick = [namespaces[i * len(namespaces) // 10] for i in range(10)]

    def find(kind: str, ns: str, name: str | None = None) -> dict:
        return next(o for o in objs if o["kind"] == kind and o["metadata"].get("namespace") == ns
                    and (name is None or o["metadata"]["name"] == name))

    out: list[dict] = []
    for ns in pick[:3]:  # a selector typo
        svc = orjson.loads(orjson.dumps(find("Service", ns, "app-1")))
        svc["spec"]["selector"] = {"app": "app-l"}
        out.append(svc)
    for ns in pick[3:6]:  # a relabel of the pod template
        d = orjson.loads(orjson.dumps(find("Deployment", ns, "app-2")))
        d["spec"]["template"]["metadata"]["labels"]["app"] = "app-2-v2"
        d["spec"]["selector"]["matchLabels"]["app"] = "app-2-v2"
        out.append(d)
    for ns in pick[6:8]:  # a path moved to another Service
        ing = orjson.loads(orjson.dumps(find("Ingress", ns)))
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "app-3"
        out.append(ing)
    out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": pick[8]},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    secret = find("Secret", pick[9])
    gone = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret["metadata"]["name"],
                                                                 "namespace": pick[9]}}
    return out, [gone]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    applied, deleted = changes(args.pods)
    with tempfile.TemporaryDirectory(prefix="ktrace-bench-") as workdir:
        change_file, delete_file = Path(workdir, "changes.json"), Path(workdir, "delete.json")
        change_file.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": applied}))
        delete_file.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": deleted}))
        sim, kubeconfig = start_sim(args.pods, workdir)
        try:
            py = sys.executable
            plan = [py, "-m", "ktrace", "plan", "-f", str(change_file), "--delete", "-f", str(delete_file),
                    "-o", "json", "--kubeconfig", kubeconfig]
            cases = {"store ready": [py, "-c", STORE_READY, kubeconfig], "plan": plan}
            results = interleaved(cases, args.runs, measure)
            phases = [orjson.loads(subprocess.run([py, "-c", PHASES, kubeconfig, str(change_file), str(delete_file)],
                                                  check=True, capture_output=True).stdout) for _ in range(args.runs)]
        finally:
            sim.terminate()
            sim.wait(10)
    med = {name: (statistics.median(w for w, _ in r), statistics.median(m for _, m in r))
           for name, r in results.items()}
    print(f"\n{args.pods} synthetic pods, 200 ingresses, 10 changed objects; median of {args.runs} runs, "
          f"{os.cpu_count()} CPUs\n")
    print("| case | seconds | peak RSS |\n| --- | --- | --- |")
    for name, (wall, rss) in med.items():
        print(f"| {name} | {wall:.2f} | {rss:.0f} MB |")
    ratio = med["plan"][0] / med["store ready"][0]
    print(f"\nplan / store ready: {ratio:.2f}x (target <= 2x)\n")
    print("| phase (one process) | seconds |\n| --- | --- |")
    for key in phases[0]:
        value = statistics.median(p[key] for p in phases)
        print(f"| {key} | {value:.3f} |" if isinstance(phases[0][key], float) else f"| {key} | {value:.0f} |")


if __name__ == "__main__":
    main()
