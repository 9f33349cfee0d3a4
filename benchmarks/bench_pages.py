"""Page size: loading a large cluster from the simulator with 500 / 1,000 / 2,000 / 5,000 items per list
request (`--page-size`).

Each case is a fresh process, process start -> every kind listed into ktrace's store, its wall time, CPU
and peak RSS; median of --runs runs, the page sizes interleaved so a busy machine hits each alike. The
simulator runs in a process of its own (its CPU is not in the figures, but it shares the two cores).

    .venv/bin/python benchmarks/bench_pages.py [--pods 60000] [--sizes 500,1000,2000,5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

from bench_live import cost, interleaved, start_sim

STORE_READY = """
import sys
from ktrace.options import SourceSpec
from ktrace.sources.live import open_live
store = open_live(SourceSpec(kubeconfig=sys.argv[1], page_size=int(sys.argv[2]))).load()
print(len(store))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=60_000)
    ap.add_argument("--sizes", default="500,1000,2000,5000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="ktrace-bench-pages-") as workdir:
        sim, kubeconfig = start_sim(args.pods, workdir)
        try:
            cases = {n: [sys.executable, "-c", STORE_READY, kubeconfig, str(n)] for n in sizes}
            results = interleaved(cases, args.runs, cost)
        finally:
            sim.terminate()
            sim.wait(10)
    print(f"\n{args.pods} synthetic pods from the simulator, process start -> store ready, median of {args.runs} "
          f"interleaved runs, {os.cpu_count()} CPUs\n")
    print(f"{'items per page':>15} {'pod pages':>10} {'seconds':>8} {'CPU s':>7} {'peak RSS MB':>12}")
    for n, runs in results.items():
        wall, cpu, rss = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{n:>15} {-(-args.pods // n):>10} {wall:>8.2f} {cpu:>7.2f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
