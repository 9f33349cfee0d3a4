"""Offline files at scale: `ktrace check -f` on `kubectl get -o yaml` / `-o json`-shaped dumps of the
synthetic cluster (ktrace.sim.synthetic) at 5,000, 10,000 and 20,000 pods.

Per size and format, each a fresh process:
  load       reading and parsing the file (ktrace.loader)
  complete   template pods and derived EndpointSlices (sources/manifests.complete)
  check      store build and every check
  total      process start -> `ktrace check -f DUMP -o json` written (a separate process), its CPU and
             peak RSS
YAML dumps are slow to read (PyYAML builds every value in Python: about 0.5 MiB/s on these machines),
so the default is JSON; `--formats json,yaml --runs 1` adds them.
Median of --runs interleaved runs (sizes and formats in turn, so a busy machine hits each alike), then the
growth exponent k of the check's CPU and of `complete` (time ~ pods^k, fitted between the smallest and
the largest size). YAML is parsed by PyYAML (libyaml's parser when the wheel has it; the objects are
still built in Python, which is why a YAML dump reads several times slower than the same JSON).

    .venv/bin/python benchmarks/bench_offline.py [--sizes 5000,10000,20000] [--runs 3] [--formats json,yaml]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml
from bench_live import cost

PHASES = ("load", "complete", "check")


class _Dumper(yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: object) -> bool:
        return True  # kubectl writes every object out in full; the generator shares dicts between pods


def write_dump(pods: int, fmt: str, path: Path) -> None:
    from ktrace.sim.synthetic import synthetic_objects

    doc = {"apiVersion": "v1", "items": synthetic_objects(pods), "kind": "List", "metadata": {"resourceVersion": ""}}
    if fmt == "json":
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    else:
        with path.open("w") as f:
            yaml.dump(doc, f, Dumper=_Dumper, default_flow_style=False, sort_keys=False)


def phases(path: str) -> None:
    """One process: time each phase and print them as JSON."""
    from ktrace.checks import run_checks
    from ktrace.loader import load_paths
    from ktrace.sources.kubeapi import gc_paused
    from ktrace.sources.manifests import complete
    from ktrace.store import ClusterStore

    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    with gc_paused():  # as ManifestSource.load reads them
        objects = load_paths([path]).objects
        out["load"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        objects = complete(objects)
        out["complete"] = time.perf_counter() - t1
        t2, c2 = time.perf_counter(), time.process_time()
        store = ClusterStore(objects)
    run_checks(store, live=False)
    out["check"] = time.perf_counter() - t2
    out["check_cpu"] = time.process_time() - c2
    out["cpu"] = time.process_time() - c0
    print(orjson.dumps(out).decode())


def total(path: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of `ktrace check -f PATH -o json`."""
    return cost([sys.executable, "-m", "ktrace", "check", "-f", path, "-o", "json"])


def exponent(sizes: list[int], values: list[float]) -> float:
    return math.log(values[-1] / values[0]) / math.log(sizes[-1] / sizes[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5000,10000,20000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="json")
    ap.add_argument("--phases", help=argparse.SUPPRESS)
    ap.add_argument("--write", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phases:
        return phases(args.phases)
    if args.write:
        return write_dump(int(args.write[0]), args.write[1], Path(args.write[2]))
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    results: dict[tuple[str, int], list[dict]] = {(f, n): [] for f in formats for n in sizes}
    with tempfile.TemporaryDirectory(prefix="ktrace-bench-offline-") as workdir:
        dumps = {}
        for fmt in formats:
            for n in sizes:
                dumps[(fmt, n)] = path = Path(workdir) / f"pods-{n}.{fmt}"
                # in a process of its own: a child's peak RSS counts its parent's at the fork
                subprocess.run([sys.executable, __file__, "--write", str(n), fmt, str(path)], check=True)
        for _ in range(args.runs):
            for key, path in dumps.items():
                done = subprocess.run([sys.executable, __file__, "--phases", str(path)], capture_output=True,
                                      text=True, check=True)
                row = orjson.loads(done.stdout)
                row["total"], row["total_cpu"], row["rss"] = total(str(path))
                row["mib"] = path.stat().st_size / 2**20
                results[key].append(row)
    med = {key: {m: statistics.median(r[m] for r in rows) for m in rows[0]} for key, rows in results.items()}
    print(f"\n`ktrace check -f` on synthetic dumps, median of {args.runs} interleaved runs, {os.cpu_count()} CPUs\n")
    print(f"{'dump':<18}{'MiB':>6}{'load s':>9}{'complete s':>12}{'check s':>9}{'check CPU s':>13}"
          f"{'total s':>9}{'total CPU s':>13}{'peak RSS MB':>13}")
    for (fmt, n), m in med.items():
        print(f"{f'{n} pods, {fmt}':<18}{m['mib']:>6.0f}{m['load']:>9.2f}{m['complete']:>12.2f}{m['check']:>9.2f}"
              f"{m['check_cpu']:>13.2f}{m['total']:>9.2f}{m['total_cpu']:>13.2f}{m['rss']:>13.0f}")
    if len(sizes) > 1:
        print()
        for fmt in formats:
            rows = [med[(fmt, n)] for n in sizes]
            print(f"{fmt}: growth exponent {sizes[0]} -> {sizes[-1]} pods: check CPU "
                  f"k={exponent(sizes, [r['check_cpu'] for r in rows]):.2f}, complete "
                  f"k={exponent(sizes, [r['complete'] for r in rows]):.2f}, total CPU "
                  f"k={exponent(sizes, [r['total_cpu'] for r in rows]):.2f} (target k <= 1.05); "
                  f"total at {sizes[-1]}: {rows[-1]['total']:.1f} s (target <= 4 s)")


if __name__ == "__main__":
    main()
