"""`ktrace` on the terminals of jump hosts, in real pseudo-terminals: lost sessions (SIGHUP, also when a
wrapper ignored it, and SIGTERM) end it promptly with the terminal restored; no TTY or TERM=dumb is one
line; C/POSIX locales draw ASCII; the usual TERMs are served; mouse reporting follows --no-mouse and the
low-bandwidth profile; a paste into the filter is text."""

from __future__ import annotations

import ast
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

if sys.platform == "win32":
    pytest.skip("pseudo-terminals are POSIX", allow_module_level=True)

from ktrace.options import ViewOptions
from ktrace.tui.session import Profile, apply_profile, choose_profile, refusal
from tests.terminal.test_tui_app_terminal import SCENARIO, Terminal, start, wait_loaded

ROOT = Path(__file__).parent.parent.parent
RESTORED = b"\x1b[?1049l"  # the alternate screen is left: the shell's screen comes back
EMOJI_PRONE = ("\u2714", "\u2716", "\u26a0", "\ufe0f")  # drawn 2 cells wide by many terminals
# Not inherited from whoever runs the tests: each test says which profile it wants.
QUIET = {"SSH_CONNECTION": "", "LANG": "C.UTF-8", "LC_ALL": "", "LC_CTYPE": ""}


def _wait_exit(t: Terminal, seconds: float) -> tuple[float, float | None]:
    """Wait for the child to end; (seconds it took, CPU seconds it used in all) or (elapsed, None)."""
    begin = time.monotonic()
    while time.monotonic() - begin < seconds:
        pid, status, usage = os.wait4(t.pid, os.WNOHANG)
        if pid:
            t.status = os.waitstatus_to_exitcode(status)
            return time.monotonic() - begin, usage.ru_utime + usage.ru_stime
        time.sleep(0.02)
    return time.monotonic() - begin, None


def _cpu_so_far(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class IgnoringHangups(Terminal):
    """ktrace started by a wrapper that set SIGHUP to SIG_IGN (nohup, some session managers)."""

    def __init__(self, *argv: str, env: dict[str, str] | None = None) -> None:
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # inherited by the child across exec
        try:
            super().__init__(*argv, env=env)
        finally:
            signal.signal(signal.SIGHUP, previous)


@pytest.mark.slow
def test_hangup_ignored_by_a_wrapper_still_ends_it_without_spinning(terminals: list[Terminal]) -> None:
    t = IgnoringHangups("-f", SCENARIO, env=QUIET)
    terminals.append(t)
    wait_loaded(t)  # the CPU it spends loading is not spent after the hangup
    before = _cpu_so_far(t.pid)
    os.close(t.fd)  # the SSH connection dropped
    took, cpu = _wait_exit(t, 2.0)
    assert cpu is not None, "still running 2 s after its terminal went away"
    assert took < 1.5
    assert cpu - before < 0.5, f"{cpu - before:.2f} s of CPU after the hangup: a busy loop"


def test_a_hangup_during_start_up_ends_it_even_if_a_wrapper_ignored_it() -> None:
    code = ("import os, signal, time; from ktrace.tui.session import leave_on_signals; leave_on_signals(); "
            "os.kill(os.getpid(), signal.SIGHUP); time.sleep(10)")
    done = subprocess.run([sys.executable, "-c", code], timeout=5, preexec_fn=lambda: signal.signal(
        signal.SIGHUP, signal.SIG_IGN))
    assert done.returncode == 128 + signal.SIGHUP


@pytest.mark.slow
def test_sigterm_ends_it_within_a_second_with_the_terminal_restored(terminals: list[Terminal]) -> None:
    t = start(terminals, "-f", SCENARIO, env=QUIET)
    t.output = b""
    os.kill(t.pid, signal.SIGTERM)
    begin = time.monotonic()
    t.pump(3)
    assert t.status == 128 + signal.SIGTERM and time.monotonic() - begin < 1.0
    assert RESTORED in t.output and b"\x1b[?25h" in t.output  # screen back, cursor shown


@pytest.mark.slow
def test_sighup_removes_the_private_credential_directory(terminals: list[Terminal], sim_factory,
                                                         tmp_path: Path) -> None:
    from ktrace.loader import load_paths

    sim = sim_factory(load_paths([SCENARIO]).objects)
    kubeconfig = sim.write_kubeconfig(tmp_path / "k")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    t = start(terminals, "--kubeconfig", str(kubeconfig), env={**QUIET, "TMPDIR": str(tmp)})
    private = list(tmp.glob("ktrace-*"))
    assert private and all(oct(p.stat().st_mode)[-3:] == "700" for p in private)
    os.kill(t.pid, signal.SIGHUP)
    took, _ = _wait_exit(t, 2.0)
    assert t.status == 128 + signal.SIGHUP and took < 1.0
    assert list(tmp.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["stdin", "stderr"])
def test_without_a_terminal_the_view_refuses_in_one_line(missing: str) -> None:
    """`ssh host ktrace` without -t (stdin is not a terminal) and `ktrace 2>log` (stderr is not)."""
    master, slave = pty.openpty()
    try:
        stdin, stderr = (subprocess.DEVNULL, slave) if missing == "stdin" else (slave, subprocess.PIPE)
        begin = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "ktrace", "-f", SCENARIO], stdin=stdin, stdout=slave,
                              stderr=stderr, timeout=20, env={**os.environ, "TERM": "xterm"})
        took = time.monotonic() - begin
        message = done.stderr if done.stderr is not None else os.read(master, 65536)
    finally:
        os.close(master)
        os.close(slave)
    lines = message.decode().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and took < 5, lines
    assert f"({missing}: not a terminal)" in lines[0] and "ssh -t" in lines[0] and "ktrace trace" in lines[0]


@pytest.mark.slow
def test_dumb_terminal_is_refused_with_the_plain_commands(terminals: list[Terminal]) -> None:
    t = Terminal("-f", SCENARIO, env={**QUIET, "TERM": "dumb"})
    terminals.append(t)
    t.pump(20)
    assert t.status == 2
    text = t.output.decode()
    assert "TERM=dumb" in text and "ktrace check" in text and "\x1b[" not in text


@pytest.mark.slow
@pytest.mark.parametrize("term", ["screen", "tmux-256color", "xterm", "vt100"])
def test_common_terms_are_served(terminals: list[Terminal], term: str) -> None:
    t = start(terminals, "-f", SCENARIO, "--host", "shop.example.com", env={**QUIET, "TERM": term})
    assert b"shop.example.com" in t.output and "✓ ok".encode() in t.output
    t.send(b"q")
    t.pump(5)
    assert t.status == 0 and RESTORED in t.output


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["C", "POSIX"])
def test_c_and_posix_locales_draw_ascii(terminals: list[Terminal], lang: str) -> None:
    t = start(terminals, "-f", SCENARIO, "--host", "shop.example.com", env={**QUIET, "LANG": lang})
    assert t.output.isascii(), sorted({chr(b) for b in t.output if b > 127})
    assert b"+-" in t.output or b"|" in t.output  # ASCII borders
    t.send(b"q")
    t.pump(5)
    assert t.status == 0


@pytest.mark.slow
def test_no_emoji_prone_symbol_is_drawn_or_in_the_source(terminals: list[Terminal]) -> None:
    t = start(terminals, "-f", SCENARIO, "--host", "shop.example.com", env=QUIET)
    t.send(b"f")  # the findings screen has the most symbols
    t.pump(1.0)
    drawn = t.output.decode("utf-8", "replace")
    assert "✓" in drawn and not [c for c in EMOJI_PRONE if c in drawn]
    offenders = []
    for path in (ROOT / "ktrace").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and any(c in node.value for c in EMOJI_PRONE)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    for path in (ROOT / "ktrace").rglob("*.tcss"):
        if any(c in path.read_text(encoding="utf-8") for c in EMOJI_PRONE):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


MOTION, CLICKS = b"\x1b[?1003h", b"\x1b[?1000h"


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "env", "clicks", "motion"), [
    ((), {}, True, True),
    (("--no-mouse",), {}, False, False),
    (("--low-bandwidth",), {}, True, False),
    ((), {"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}, True, False),
    (("--no-low-bandwidth",), {"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}, True, True),
])
def test_mouse_reporting_follows_the_profile(terminals: list[Terminal], argv: tuple[str, ...],
                                             env: dict[str, str], clicks: bool, motion: bool) -> None:
    t = start(terminals, "-f", SCENARIO, *argv, env={**QUIET, **env})
    assert (CLICKS in t.output, MOTION in t.output) == (clicks, motion)
    t.send(b"q")
    t.pump(5)
    assert t.status == 0


@pytest.mark.slow
def test_a_paste_into_the_filter_fires_no_binding(terminals: list[Terminal]) -> None:
    t = start(terminals, "-f", SCENARIO, env=QUIET)
    t.send(b"/")
    t.pump(0.5)
    t.send(b"\x1b[200~q f y\x1b[201~")  # bracketed paste: q would quit, f open the findings
    t.pump(1.0)
    assert t.status is None and b"/q f y" in t.output  # the pane's title shows the filter text
    t.send(b"\r")
    t.pump(0.5)
    t.send(b"q")
    t.pump(5)
    assert t.status == 0


@pytest.mark.slow
def test_profile_settings_are_chosen_before_textual_is_imported() -> None:
    env: dict[str, str] = {}
    apply_profile(choose_profile(ViewOptions(), {"SSH_CONNECTION": "x"}), env)
    assert env == {"ESCDELAY": "25", "TEXTUAL_FPS": "8", "TEXTUAL_ANIMATIONS": "none"}
    env = {"ESCDELAY": "10", "TEXTUAL_FPS": "60"}  # the user's own values win
    apply_profile(Profile(low_bandwidth=False, mouse=True, mouse_motion=True), env)
    assert env == {"ESCDELAY": "10", "TEXTUAL_FPS": "60"}
    # The default command reaches apply_profile before anything imports textual.
    code = "import sys, ktrace.cli, ktrace.commands, ktrace.tui.session; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    # Start-up: the kubernetes client is imported by the load worker (connect), not by the view.
    code = "import sys, ktrace.tui.app, ktrace.sources.live; print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_refusal_reasons() -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    assert refusal({"TERM": "xterm-256color"}, Tty(), Tty()) is None
    assert "TERM=(unset)" in (refusal({}, Tty(), Tty()) or "")
    assert "(stdin and stderr: not a terminal)" in (refusal({"TERM": "xterm"}, object(), object()) or "")  # type: ignore[arg-type]

