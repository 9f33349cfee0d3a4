"""A command's total deadline (`--timeout`): `trace` and `check` end, one way or another, in that time.

Timeouts per request cannot do it: a server (or a proxy) that sends one byte every few seconds never
trips a read timeout, and retries add up. So what reads from the source runs in a daemon thread and
the command waits for it until the deadline; past it, one line says what was still being read and the
command exits 2 (the thread is abandoned with the process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ktrace.errors import SourceError

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0  # seconds
WAKE = 0.1  # seconds: how late a signal's handler may run in a thread that waits (see Deadline.run)


class DeadlineExceeded(SourceError):
    """The command ran out of time (exit 2, one line)."""


class Deadline:
    def __init__(self, seconds: float | None) -> None:
        """`seconds`: the whole command's time from now; None: no deadline."""
        self.seconds = seconds
        self.at = time.monotonic() + seconds if seconds is not None else None

    def left(self) -> float | None:
        """The seconds still left (at least a millisecond: a deadline passed is caught by `run`); None: no limit."""
        return None if self.at is None else max(0.001, self.at - time.monotonic())

    def run(self, work: Callable[[], T], doing: Callable[[], str]) -> T:
        """`work()`, or DeadlineExceeded naming `doing()` (what is still under way) if the deadline passes first."""
        if self.at is None:
            return work()
        done = threading.Event()
        outcome: list = []

        def call() -> None:
            try:
                outcome.append((True, work()))
            except BaseException as e:  # handed to the waiting thread, raised there
                outcome.append((False, e))
            finally:
                done.set()

        threading.Thread(target=call, name="ktrace-deadline-work", daemon=True).start()
        # Signal handlers (Ctrl-C, a hangup) run in this thread, and only once it wakes: the kernel may hand
        # the signal to another thread, which does not wake this one. So wait in short slices.
        while not done.wait(min(WAKE, max(0.0, self.at - time.monotonic()))):
            if time.monotonic() >= self.at:
                raise DeadlineExceeded(f"gave up after {self.seconds:g} s (--timeout): {doing()}")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value
