"""`ktrace` in a real pseudo-terminal (a subprocess, as users run it): it draws, quits on q, survives
an invalid input byte, leaves when the terminal goes away, and falls back to ASCII on its own when
the output encoding cannot carry the symbols."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import sys
import time
from pathlib import Path

import pytest

if sys.platform == "win32":
    pytest.skip("pseudo-terminals are POSIX", allow_module_level=True)

import contextlib
import fcntl
import termios

SCENARIO = str(Path(__file__).parent.parent / "scenarios" / "healthy.yaml")
pytestmark = pytest.mark.slow  # each test starts ktrace in a pseudo-terminal and waits for its first load


class Terminal:
    def __init__(self, *argv: str, env: dict[str, str] | None = None,
                 program: tuple[str, ...] = ("-m", "ktrace")) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes ktrace (or another Python `program`) on the terminal's slave side
            os.environ.update({"TERM": "xterm-256color", **(env or {})})
            os.execv(sys.executable, [sys.executable, *program, *argv])
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.output = b""
        self.status: int | None = None

    def pump(self, seconds: float, until: bytes | None = None) -> None:
        """Read what ktrace draws for `seconds` (or until `until` shows up, or it exits)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and self.status is None:
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:  # the child closed its side
                    time.sleep(0.02)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            if until is not None and until in self.output:
                return

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def close(self) -> None:
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self.fd)


# The status bar names the source once the first load is done; the screen is up (saying "loading...")
# well before that, as the load imports the kubernetes client and connects in a worker.
LOADED = (b"files: ", b"context ")


def wait_loaded(t: Terminal, seconds: float = 20) -> None:
    """Pump until the first load is done, then a little longer for the rows it brought to be drawn."""
    end = time.monotonic() + seconds
    while t.status is None and time.monotonic() < end and not any(m in t.output for m in LOADED):
        t.pump(0.05)
    assert b"ns: all" in t.output and any(m in t.output for m in LOADED), t.output[-500:]
    t.pump(0.3)


def start(terminals: list[Terminal], *argv: str, env: dict[str, str] | None = None) -> Terminal:
    t = Terminal(*argv, env=env)
    terminals.append(t)
    wait_loaded(t)
    return t


def test_draws_survives_an_invalid_byte_and_quits(terminals: list[Terminal]) -> None:
    t = start(terminals, "-f", SCENARIO, "--host", "shop.example.com")
    assert b"Routes" in t.output and "✓".encode() in t.output
    t.send(b"\xff\xfej")  # not UTF-8: must not end the app
    t.pump(0.5)
    assert t.status is None
    t.send(b"q")
    t.pump(5)
    assert t.status == 0


def test_leaves_when_the_terminal_goes_away(terminals: list[Terminal]) -> None:
    t = start(terminals, "-f", SCENARIO)
    os.close(t.fd)  # the SSH connection dropped: the kernel hangs up the session
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pid, _ = os.waitpid(t.pid, os.WNOHANG)
        if pid:
            t.status = 0
            break
        time.sleep(0.05)
    assert t.status is not None, "still running after its terminal closed"


def test_ascii_on_its_own_when_the_encoding_cannot_draw_symbols(terminals: list[Terminal]) -> None:
    t = start(terminals, "-f", SCENARIO, "--host", "shop.example.com", env={"PYTHONIOENCODING": "ascii"})
    assert t.output.isascii(), sorted({chr(b) for b in t.output if b > 127})
    assert b"+ ok" in t.output  # the ASCII symbol for ok
    t.send(b"q")
    t.pump(5)
    assert t.status == 0


def test_a_source_that_cannot_be_read_is_one_line_and_exit_2(terminals: list[Terminal], tmp_path: Path) -> None:
    t = Terminal("-f", str(tmp_path / "missing.yaml"))
    terminals.append(t)
    t.pump(20)
    assert t.status == 2
    text = t.output.decode()
    assert "ktrace: " in text and "missing.yaml" in text and "Traceback" not in text
