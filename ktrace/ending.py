"""How a ktrace process ends: at once when a signal asks (HUP, TERM, INT), and at the end of a command
without waiting for threads still blocked on the network; either way with nothing left behind.

What must not outlive the process (the private credential directory, a running exec credential plugin,
the demo's kubeconfig) registers a cleanup with `on_end`. Cleanups run when `end` ends the process, when
a signal does, and at an ordinary interpreter exit (code that never calls `end`: tests, embedding).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import signal
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from typing import NoReturn

SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM", "SIGINT") if hasattr(signal, name))

_cleanups: dict[int, Callable[[], None]] = {}
_ids = itertools.count()
_lock = threading.RLock()  # reentrant: a signal handler may run in the main thread while it holds the lock
_ending = threading.Lock()


def on_end(cleanup: Callable[[], None]) -> Callable[[], None]:
    """Run `cleanup` when the process ends, however it ends (bar SIGKILL). Returns the function that
    cancels it, for when the thing was cleaned up the ordinary way."""
    with _lock:
        key = next(_ids)
        _cleanups[key] = cleanup

    def cancel() -> None:
        with _lock:
            _cleanups.pop(key, None)

    return cancel


def clean_up() -> None:
    """Run every pending cleanup once, the newest first; one that fails does not stop the others."""
    while True:
        with _lock:
            if not _cleanups:
                return
            cleanup = _cleanups.pop(max(_cleanups))
        with contextlib.suppress(Exception):
            cleanup()


atexit.register(clean_up)


def end(code: int) -> NoReturn:
    """End the process now with `code`: the cleanups run and the output is flushed, but no thread is
    waited for (a list blocked on a slow server would hold the process for its whole timeout)."""
    # A second signal must not cut a cleanup short: once ending, the ending signals wait (and die with us).
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    _ending.acquire()  # a second caller (another thread) waits for the first to end the process
    clean_up()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (`ktrace check | head`) has nothing to flush to
            stream.flush()
    os._exit(code)


_leave: Callable[[int], None] = end  # what a signal does (see signals_call)


def end_on_signals(also_ignored: Collection[int] = ()) -> None:
    """From now on HUP, TERM and INT end the process at once, cleanups done, with 128 + the signal's
    number (the shell's code for "killed by it"; 130 for INT). A signal that whoever started us set to
    be ignored (nohup, `cmd &` in a script) stays ignored, unless it is in `also_ignored`."""
    for sig in SIGNALS:
        if sig in also_ignored or signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def _on_signal(signum: int, _frame: object) -> None:
    _leave(128 + signum)


@contextlib.contextmanager
def signals_call(leave: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, a signal calls `leave(code)` instead of ending the process at once (the
    TUI first gives the terminal back); `leave` must see to it that the process ends soon."""
    global _leave
    previous, _leave = _leave, leave
    try:
        yield
    finally:
        _leave = previous


def end_soon(code: int, seconds: float, before: Callable[[], None]) -> None:
    """Unless the process has ended by then, call `before` and end it in `seconds` (a backstop for an
    orderly exit that got stuck)."""

    def backstop() -> None:
        with contextlib.suppress(Exception):
            before()
        end(code)

    timer = threading.Timer(seconds, backstop)
    timer.daemon = True
    timer.start()
