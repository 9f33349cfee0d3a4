"""ktrace.ending in small processes of its own (ending the test process is not an option): `end` runs
each cleanup once, newest first, past one that fails, and does not wait for a blocked thread; signals
end the process with 128 + their number, except one that nohup set to be ignored."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

if sys.platform == "win32":
    pytest.skip("POSIX signals", allow_module_level=True)


def python(code: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=10, **kwargs)


def test_end_runs_the_cleanups_once_newest_first_and_waits_for_no_thread() -> None:
    code = """
import threading
from ktrace.ending import end, on_end
threading.Thread(target=threading.Event().wait).start()  # not a daemon: would hold an ordinary exit forever
on_end(lambda: print("first"))
cancel = on_end(lambda: print("cancelled"))
on_end(lambda: 1 / 0)
on_end(lambda: print("last"))
cancel()
print("output is flushed", end=" ")
end(3)
"""
    begin = time.monotonic()
    done = python(code)
    assert time.monotonic() - begin < 5
    assert done.returncode == 3 and done.stdout.split("\n") == ["output is flushed last", "first", ""]
    assert done.stderr == ""


@pytest.mark.slow  # two interpreters
def test_signals_end_it_with_the_shells_code_but_nohup_is_respected() -> None:
    code = """
import os, signal, time
from ktrace.ending import end_on_signals, on_end
end_on_signals()
on_end(lambda: print("cleaned"))
os.kill(os.getpid(), signal.SIGHUP)  # ignored, as nohup asked
print("alive", flush=True)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(5)
"""
    done = python(code, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert done.returncode == 128 + signal.SIGTERM and done.stdout == "alive\ncleaned\n"
    done = python(code.replace("end_on_signals()", "end_on_signals(also_ignored=(signal.SIGHUP,))"),
                  preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert done.returncode == 128 + signal.SIGHUP and done.stdout == "cleaned\n"
