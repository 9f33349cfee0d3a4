"""`ktrace sim`: serve manifests, the demo scenario or a synthetic cluster until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import tempfile
import threading

from ktrace.ending import on_end, signals_call
from ktrace.errors import SourceError, UsageError

# KTRACE_SIM_LIVE=0 keeps a served demo still (no readiness flaps, no rollouts)
LIVE_ENV = "KTRACE_SIM_LIVE"


def run(args: argparse.Namespace) -> int:
    from ktrace.loader import load_paths
    from ktrace.printable import clean
    from ktrace.sim.demo import DemoLife, load_scenario
    from ktrace.sim.handle import Simulator
    from ktrace.sim.synthetic import synthetic_objects

    scenario = getattr(args, "scenario", None) or ("demo" if getattr(args, "demo", False) else None)
    files = getattr(args, "filename", None) or []
    synthetic = getattr(args, "synthetic", None)
    if synthetic is not None and synthetic < 1:
        raise UsageError("--synthetic needs a positive number of pods")
    objects: list[dict] = []
    if files:
        loaded = load_paths(files)
        if loaded.errors and not loaded.objects:
            raise loaded.failure()
        for line in [*map(str, loaded.errors), *loaded.skipped]:  # what is not served, and why
            print(f"ktrace sim: {clean(line)}", file=sys.stderr)  # names a file and a kind from it
        objects += loaded.objects
    if scenario:
        objects += load_scenario(scenario).objects
    if synthetic:
        objects += synthetic_objects(synthetic)

    sim = Simulator(objects)
    sim.port = getattr(args, "port", 0) or 0
    url = sim.start()
    try:
        path = getattr(args, "write_kubeconfig", None)
        if not path:  # ours: removed however we end (the one --write-kubeconfig names is the user's)
            fd, path = tempfile.mkstemp(prefix="ktrace-sim-", suffix=".kubeconfig")
            os.close(fd)
            on_end(functools.partial(_remove, path))
        try:
            sim.write_kubeconfig(path)
        except OSError as e:
            raise SourceError(f"cannot write the kubeconfig {path}: {e.strerror or e}") from None
        if scenario == "demo" and os.environ.get(LIVE_ENV, "1") != "0":
            sim.call(DemoLife(sim.cluster).start)
        store = sim.cluster.store
        print(f"ktrace sim: serving {store.count('Pod')} pods, {store.count('Service')} services and "
              f"{store.count('Ingress')} ingresses at {url}")
        print(f"kubeconfig: {path}")
        print(f"try:        kubectl --kubeconfig {path} get pods -A -o wide")
        print(f"            ktrace --kubeconfig {path}")
        stop = threading.Event()
        try:
            with signals_call(lambda _code: stop.set()):  # Ctrl-C, TERM or a hangup: the way to stop it
                print("Ctrl-C to stop", flush=True)
                while not stop.wait(0.5):
                    pass
        except KeyboardInterrupt:  # run in-process, where Python's own SIGINT handler is in place
            pass
    finally:
        sim.stop()
    return 0


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
