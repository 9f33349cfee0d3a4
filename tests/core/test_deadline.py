"""A command's deadline, and signals while the main thread waits for work done in another thread."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from ktrace.deadline import Deadline, DeadlineExceeded


class Interrupted(Exception):
    pass


def test_a_signal_the_kernel_hands_to_another_thread_still_ends_the_wait() -> None:
    """The kernel may deliver a process's signal to any thread that does not block it; Python runs the
    handler in the main thread, and only once that thread wakes. A hangup during a slow list must end the
    command at once, not when the list or the deadline ends."""
    release = threading.Event()
    worker: list[threading.Thread] = []
    finished: list[bool] = []

    def work() -> str:
        worker.append(threading.current_thread())
        release.wait(5)
        finished.append(True)
        return "listed"

    def interrupt(_signum: int, _frame: object) -> None:
        raise Interrupted

    def signal_the_worker() -> None:
        while not worker:
            time.sleep(0.01)
        signal.pthread_kill(worker[0].ident, signal.SIGUSR1)  # to the worker thread, not the main one

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        threading.Thread(target=signal_the_worker, daemon=True).start()
        with pytest.raises(Interrupted):
            Deadline(60).run(work, lambda: "listing")
        assert not finished  # the work was still under way: the signal, not the work, ended the wait
    finally:
        release.set()
        signal.signal(signal.SIGUSR1, previous)


def test_the_deadline_names_what_was_still_under_way() -> None:
    release = threading.Event()
    try:
        with pytest.raises(DeadlineExceeded, match=r"gave up after 0.2 s \(--timeout\): still listing pods"):
            Deadline(0.2).run(lambda: release.wait(30), lambda: "still listing pods")
    finally:
        release.set()
    assert Deadline(5).run(lambda: 42, lambda: "") == 42
