"""ktrace as an SSH user meets it: real processes on a pseudo-terminal (80x24 unless told).

Start-up (median of N runs, from fork to the output the user waits for):
  `ktrace --demo` to the first painted frame (the status bar is drawn), and
  `ktrace --kubeconfig K --host H` to the first path drawn (the simulator serving the demo scenario,
  started by this script; H's path tree root `H/` is on the screen). Target (issue 7): 1.5 s each.
  With --pods N, also `ktrace --kubeconfig K --host H` on `ktrace sim --synthetic N` (a process of its
  own) to the first path drawn: at 60,000 pods the path is drawn from reading only what it needs,
  before the whole listing is in. Target (issue 15): 2 s at 60,000 pods.
Bytes written to the terminal for a scripted session: start, select a host (Enter on the first
ingress rule), go to the pods pane and move down 50 rows (a key every 20 ms, like a held key),
quit; with the default profile (also with the mouse crossing the screen, which only mouse-motion
tracking reports) and with --low-bandwidth, on a simulated cluster with ~300 pods (median of 3).
Run: .venv/bin/python benchmarks/bench_terminal.py [--runs RUNS] [--pods N]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from ktrace.sim.demo import load_scenario
from ktrace.sim.handle import Simulator
from ktrace.sim.synthetic import synthetic_objects

HOST = "shop.demo.example"
BIG_HOST = "team-000.synthetic.example/app-0"  # a healthy route of the synthetic cluster
ENV = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "SSH_CONNECTION": "", "COLORTERM": ""}


class Pty:
    def __init__(self, argv: list[str], size: tuple[int, int] = (24, 80)) -> None:
        self.started = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ.update(ENV)
            os.execv(sys.executable, [sys.executable, "-m", "ktrace", *argv])
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
        self.output = b""
        self.done = False

    def pump(self, seconds: float, until: bytes | None = None) -> float | None:
        """Read for `seconds`; with `until`: stop when it appears and return the time since fork."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.done:
            ready, _, _ = select.select([self.fd], [], [], 0.01)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    self.done = True
            if until is not None and until in self.output:
                return time.monotonic() - self.started
        return None

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def finish(self) -> None:
        self.pump(5)
        if not self.done:
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def startup(argv: list[str], marker: bytes, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = Pty(argv)
        took = t.pump(20, until=marker)
        t.send(b"q")
        t.finish()
        if took is None:
            raise SystemExit(f"{' '.join(argv)}: {marker!r} never appeared")
        times.append(took)
    return times


def session_bytes(kubeconfig: str, *extra: str, motion: bool = False) -> tuple[int, int]:
    """(bytes ktrace wrote, bytes the terminal sent). `motion`: the mouse also crosses the screen once,
    as a terminal in any-motion mode (1003) reports it; with that mode off it would send nothing."""
    t = Pty(["--kubeconfig", kubeconfig, *extra])
    sent = 0
    if t.pump(20, until=b"context ktrace-sim") is None:  # the status bar names the source: loaded
        raise SystemExit("the session never loaded")
    t.pump(0.5)
    t.send(b"\r")  # select the host of the first ingress rule
    t.pump(0.5)
    t.send(b"\t\t\t")  # rules -> path -> services -> pods
    t.pump(0.3)
    for i in range(50):
        t.send(b"\x1b[B")
        sent += 3
        if motion:
            for x in range(1 + i * 80 // 50, 1 + (i + 1) * 80 // 50):
                report = f"\x1b[<35;{x};{2 + x * 20 // 80}M".encode()
                t.send(report)
                sent += len(report)
        t.pump(0.02)
    t.pump(0.5)
    t.send(b"q")
    t.finish()
    return len(t.output), sent + 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pods", type=int, default=0, help="also time --host on a synthetic cluster of N pods")
    args = ap.parse_args()
    runs = args.runs
    rows = []
    demo = startup(["--demo"], b"ns: all", runs)
    rows.append(("ktrace --demo: first painted frame", demo))
    with Simulator(load_scenario("demo").objects) as sim, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(sim.write_kubeconfig(Path(tmp) / "k"))
        live = startup(["--kubeconfig", kubeconfig, "--host", HOST], f"{HOST}/".encode(), runs)
        rows.append((f"ktrace --kubeconfig K --host {HOST}: first path", live))
    if args.pods:
        from bench_live import start_sim

        with tempfile.TemporaryDirectory(prefix="ktrace-bench-") as tmp:
            sim_process, kubeconfig = start_sim(args.pods, tmp)
            try:  # the path root, host and path joined, is only in the path panel (the routes pane has columns)
                big = startup(["--kubeconfig", kubeconfig, "--host", BIG_HOST], BIG_HOST.encode(), runs)
            finally:
                sim_process.terminate()
                sim_process.wait(10)
        rows.append((f"... --host on {args.pods:,} synthetic pods: first path", big))
    print(f"start-up under a pty, {runs} runs (seconds)")
    print(f"{'what':<62} {'median':>7} {'min':>6} {'max':>6}")
    for what, times in rows:
        print(f"{what:<62} {statistics.median(times):7.2f} {min(times):6.2f} {max(times):6.2f}")

    with Simulator(synthetic_objects(300)) as sim, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(sim.write_kubeconfig(Path(tmp) / "k"))
        print("\nbytes written to the terminal: start, select a host, 50 rows down, quit (~300 pods, 80x24)")
        print(f"{'profile':<52} {'written':>9} {'sent':>7}")
        for name, extra, motion in (
                ("default (30 fps), keys only", ("--no-low-bandwidth",), False),
                ("default (30 fps), mouse crossing the screen too", ("--no-low-bandwidth",), True),
                ("--low-bandwidth (8 fps; no motion reports to send)", ("--low-bandwidth",), False)):
            sizes = [session_bytes(kubeconfig, *extra, motion=motion) for _ in range(3)]
            written = statistics.median(w for w, _ in sizes)
            print(f"{name:<52} {written:9,.0f} {sizes[0][1]:7,}")

if __name__ == "__main__":
    main()
