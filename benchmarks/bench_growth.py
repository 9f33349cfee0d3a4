"""How `ktrace check -A` grows with the cluster: wall time, ktrace's CPU and peak RSS at each size.

For each size, `ktrace sim --synthetic N` is started in a process of its own; `ktrace check -A -o json`
then runs --runs times as a fresh process (median). The growth exponent k between the smallest and the
largest size is log(CPU ratio) / log(size ratio): 1.0 is linear (target <= 1.05 for ktrace's CPU).

    .venv/bin/python benchmarks/bench_growth.py [--pods 10000 60000] [--runs 3]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile

from bench_live import cost, start_sim  # the benchmarks' shared process measure and simulator start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, nargs="+", default=[10_000, 60_000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows: list[tuple[int, float, float, float]] = []
    for pods in sorted(args.pods):
        with tempfile.TemporaryDirectory(prefix="ktrace-bench-") as workdir:
            sim, kubeconfig = start_sim(pods, workdir)
            try:
                cmd = [sys.executable, "-m", "ktrace", "check", "-A", "-o", "json", "--kubeconfig", kubeconfig]
                cost(cmd)  # warm up: page cache, the simulator's serialized objects
                results = [cost(cmd) for _ in range(args.runs)]
            finally:
                sim.terminate()
                sim.wait(10)
        rows.append((pods, *(statistics.median(r[i] for r in results) for i in range(3))))
    print(f"\nktrace check -A -o json, median of {args.runs} runs, {os.cpu_count()} CPUs\n")
    print(f"{'pods':>8} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}")
    for pods, wall, cpu, rss in rows:
        print(f"{pods:>8,} {wall:>8.2f} {cpu:>8.2f} {rss:>12.0f}")
    if len(rows) > 1:
        (n0, w0, c0, _), (n1, w1, c1, r1) = rows[0], rows[-1]
        scale = math.log(n1 / n0)
        print(f"\ngrowth {n0:,} -> {n1:,}: CPU k = {math.log(c1 / c0) / scale:.2f} (target <= 1.05), "
              f"wall k = {math.log(w1 / w0) / scale:.2f}; peak RSS at {n1:,}: {r1:.0f} MB (target <= 500 MB)")


if __name__ == "__main__":
    main()
