"""One path on a big cluster: `ktrace trace HOST` reads only what the path needs; against the same
trace over a whole load, and against kubectl listing the four big kinds.

On `ktrace sim --synthetic N` (default 60,000 pods), prints one table (median of --runs runs, each a
fresh process measured from its start, cases interleaved so drift hits all alike):
  trace HOST (scoped)    `ktrace trace HOST -o json`, for a healthy host and for the selector near miss
  trace HOST (whole)     the same answer computed over a whole load (what `trace` did before)
  kubectl get            `kubectl get pods,services,ingresses,endpointslices -A`
and checks that the scoped and whole answers are byte-identical.

    .venv/bin/python benchmarks/bench_trace.py [--pods 60000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from bench_live import interleaved, measure, start_sim  # the benchmarks' shared process measure and simulator start

WHOLE = """
import sys, orjson
from ktrace.analysis import Analysis
from ktrace.options import AnalysisOptions, SourceSpec
from ktrace.sources.live import open_live
source = open_live(SourceSpec(kubeconfig=sys.argv[1]))
path = Analysis(source, source.load(), AnalysisOptions()).trace(sys.argv[2])
sys.stdout.write(orjson.dumps(path.to_dict(), option=orjson.OPT_INDENT_2).decode())
"""
# team-000 is healthy; team-001's Service selects `App:` where its pods carry `app:` (ktrace.sim.synthetic).
HOSTS = {"healthy": "team-000.synthetic.example/app-0", "near miss": "team-001.synthetic.example/app-2"}


def output(cmd: list[str]) -> bytes:
    return subprocess.run(cmd, capture_output=True, check=False).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=60_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    kubectl = shutil.which("kubectl")
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="ktrace-bench-") as workdir:
        sim, kubeconfig = start_sim(args.pods, workdir)
        try:
            cases: dict[str, list[str]] = {}
            same: dict[str, bool] = {}
            for what, host in HOSTS.items():
                scoped = [py, "-m", "ktrace", "trace", host, "-o", "json", "--kubeconfig", kubeconfig]
                whole = [py, "-c", WHOLE, kubeconfig, host]
                same[what] = output(scoped).rstrip() == output(whole).rstrip()
                cases[f"trace {what} (scoped)"] = scoped
                cases[f"trace {what} (whole)"] = whole
            if kubectl:
                cases["kubectl get"] = [kubectl, "--kubeconfig", kubeconfig, "get",
                                        "pods,services,ingresses,endpointslices", "-A"]
            results = interleaved(cases, args.runs, measure)
        finally:
            sim.terminate()
            sim.wait(10)
    med = {name: (statistics.median(w for w, _ in r), statistics.median(m for _, m in r))
           for name, r in results.items()}
    base = med.get("kubectl get", (0.0, 0.0))[0]
    print(f"\n{args.pods} synthetic pods, median of {args.runs} interleaved runs, {os.cpu_count()} CPUs\n")
    print(f"{'case':<28} {'seconds':>8} {'peak RSS MB':>12} {'/ kubectl':>10}")
    for name, (wall, rss) in med.items():
        ratio = f"{wall / base:>9.2f}x" if base else f"{'-':>10}"
        print(f"{name:<28} {wall:>8.2f} {rss:>12.0f} {ratio}")
    print()
    for what in HOSTS:
        wall, rss = med[f"trace {what} (scoped)"]
        verdict = f"{wall:.2f} s (target <= 1.5 s), {rss:.0f} MB (target <= 120 MB)"
        if base:
            verdict += f", {wall / base:.2f}x kubectl (target <= 0.1x)"
        print(f"trace {what}: {verdict}; same JSON as the whole load: {'yes' if same[what] else 'NO'}")


if __name__ == "__main__":
    main()
