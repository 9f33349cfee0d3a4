"""Signals in every phase (the exec credential plugin running, connecting, listing, watching, quitting):
`ktrace check`, `ktrace trace`, the interactive view and `ktrace sim` end within a second with the
shell's code (128 + the signal), leave no process behind (the plugin and what it started) and no private
file (the credential directory with the client key, the demo's and the simulator's kubeconfigs), and
give the terminal back. Real processes: plain subprocesses, and pseudo-terminals for the view."""

from __future__ import annotations

import base64
import itertools
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

if sys.platform == "win32":
    pytest.skip("signals and pseudo-terminals are POSIX", allow_module_level=True)

from ktrace.loader import load_paths
from ktrace.sim.handle import Simulator
from tests.terminal.test_tui_app_terminal import SCENARIO, Terminal

pytestmark = pytest.mark.slow  # every test starts ktrace as a process

MARK = "KTRACE_SIGNAL_TEST"  # inherited by every process ktrace starts: how leftovers are found
RESTORED = b"\x1b[?1049l"  # the alternate screen is left
QUIET = {"SSH_CONNECTION": "", "LANG": "C.UTF-8", "LC_ALL": "", "LC_CTYPE": ""}
PROMPT = 1.0  # seconds: every signal ends the process within this
# A plugin that hangs in a login: it turns echo off (a password prompt) and waits in a process of its own.
SLOW_PLUGIN = """#!/bin/sh
stty -echo 2>/dev/null
touch "$STARTED"
sleep 60
echo '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "t"}}'
"""


def leftovers(mark: str) -> list[str]:
    """The command lines of live processes started by the ktrace that carried `mark` (zombies show no
    environment)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"{MARK}={mark}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:  # gone, or not ours
            continue
    return found


class Run:
    """What one ktrace run may leave behind: its TMPDIR and the processes carrying its mark."""

    def __init__(self, tmp_path: Path) -> None:
        self.mark = uuid.uuid4().hex
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        self.env = {**os.environ, **QUIET, "TMPDIR": str(self.tmp), MARK: self.mark}

    def private_files(self) -> list[str]:
        return sorted(str(p.relative_to(self.tmp)) for p in self.tmp.rglob("*"))

    def holds_a_private_key(self) -> bool:
        return any(b"BEGIN PRIVATE KEY" in p.read_bytes() for p in self.tmp.rglob("*") if p.is_file())

    def assert_nothing_left(self) -> None:
        assert self.private_files() == []
        deadline = time.monotonic() + 0.5  # a killed process is reaped by init a moment later
        while leftovers(self.mark) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert leftovers(self.mark) == []


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A server certificate for 127.0.0.1 (its own CA) and a client certificate with its private key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make test certificates")
    where = tmp_path_factory.mktemp("certs")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=ktrace")):
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", subject, "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(where / f"{name}.key"), "-out", str(where / f"{name}.crt")],
                       check=True, capture_output=True)
    return {p.name: p for p in where.iterdir()}


@pytest.fixture
def slow_cluster(sim_factory: Callable[..., Simulator], certificates: dict[str, Path]) -> Simulator:
    """An HTTPS simulator whose lists take 30 s."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificates["server.crt"], certificates["server.key"])
    sim = sim_factory(load_paths([SCENARIO]).objects, tls=tls)
    sim.slow_lists(30)
    return sim


def key_kubeconfig(sim: Simulator, certificates: dict[str, Path], path: Path) -> Path:
    """A kubeconfig with inline certificate data, as most clusters' have: ktrace writes the CA, the client
    certificate and its key to its private directory."""
    doc = yaml.safe_load(sim.write_kubeconfig(path).read_text())

    def inline(name: str) -> str:
        return base64.b64encode(certificates[name].read_bytes()).decode()

    doc["clusters"][0]["cluster"]["certificate-authority-data"] = inline("server.crt")
    doc["users"][0]["user"] = {"client-certificate-data": inline("client.crt"), "client-key-data": inline("client.key")}
    path.write_text(yaml.safe_dump(doc))
    return path


def plugin_kubeconfig(sim: Simulator, tmp_path: Path) -> tuple[Path, Path]:
    """A kubeconfig whose user runs SLOW_PLUGIN; and the file that tells it has started."""
    plugin, started = tmp_path / "plugin.sh", tmp_path / "started"
    plugin.write_text(SLOW_PLUGIN)
    plugin.chmod(0o755)
    doc = yaml.safe_load(sim.write_kubeconfig(tmp_path / "k").read_text())
    doc["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                        "env": [{"name": "STARTED", "value": str(started)}]}}
    (tmp_path / "k").write_text(yaml.safe_dump(doc))
    return tmp_path / "k", started


def until(condition: Callable[[], object], seconds: float = 20, pump: Terminal | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if pump is not None:
            pump.pump(0.05)
        else:
            time.sleep(0.02)


def listing(sim: Simulator) -> Callable[[], bool]:
    """Ingresses are asked for by every command at once (`trace` reads the kinds paths start from first)."""
    return lambda: any(r["path"].endswith("/ingresses") for r in sim.requests)


def ended(proc: subprocess.Popen, sig: int) -> tuple[int | None, float]:
    """Send `sig`; the exit code and how long it took (None: still running after a few seconds)."""
    begin = time.monotonic()
    proc.send_signal(sig)
    try:
        code = proc.wait(5)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - begin
    return code, time.monotonic() - begin


def ktrace(run: Run, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ktrace", *argv], env=run.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize(("argv", "sig"), [
    (("check",), signal.SIGHUP), (("check",), signal.SIGTERM), (("check",), signal.SIGINT),
    (("trace", "shop.example.com"), signal.SIGHUP), (("trace", "shop.example.com"), signal.SIGTERM)])
def test_a_signal_during_a_slow_list_ends_the_command_at_once_and_removes_the_client_key(
        argv: tuple[str, ...], sig: int, slow_cluster: Simulator, certificates: dict[str, Path], run: Run,
        tmp_path: Path, processes: list[subprocess.Popen]) -> None:
    proc = ktrace(run, *argv, "--kubeconfig", str(key_kubeconfig(slow_cluster, certificates, tmp_path / "k")))
    processes.append(proc)
    until(listing(slow_cluster))
    assert run.holds_a_private_key()
    code, took = ended(proc, sig)
    assert code == 128 + sig and took < PROMPT, (code, took, proc.stderr.read() if proc.stderr else b"")
    run.assert_nothing_left()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that takes connections and never says a word: ktrace waits in the TLS handshake."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"https://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("command", ["check", "view"])
def test_a_signal_while_connecting_ends_it_at_once(command: str, silent_server: str, sim: Simulator,
                                                  certificates: dict[str, Path], run: Run, tmp_path: Path,
                                                  processes: list[subprocess.Popen], terminals: list[Terminal]) -> None:
    kubeconfig = key_kubeconfig(sim, certificates, tmp_path / "k")
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["server"] = silent_server
    kubeconfig.write_text(yaml.safe_dump(doc))
    if command == "check":
        proc = ktrace(run, "check", "--kubeconfig", str(kubeconfig))
        processes.append(proc)
        until(run.holds_a_private_key)
        time.sleep(0.3)
        code, took = ended(proc, signal.SIGTERM)
    else:
        t = view(terminals, run, "--kubeconfig", str(kubeconfig))
        until(lambda: b"loading" in t.output and run.holds_a_private_key(), pump=t)
        t.pump(0.3)
        os.kill(t.pid, signal.SIGTERM)
        took = wait_ended(t)
        code = t.status
    assert code == 128 + signal.SIGTERM and took < PROMPT
    run.assert_nothing_left()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_while_the_exec_plugin_runs_ends_the_plugin_too(sig: int, sim: Simulator, run: Run,
                                                                  tmp_path: Path,
                                                                  processes: list[subprocess.Popen]) -> None:
    kubeconfig, started = plugin_kubeconfig(sim, tmp_path)
    proc = ktrace(run, "check", "--kubeconfig", str(kubeconfig))
    processes.append(proc)
    until(started.exists)
    assert any("sleep 60" in p for p in leftovers(run.mark))
    code, took = ended(proc, sig)
    assert code == 128 + sig and took < PROMPT
    run.assert_nothing_left()


# -- the interactive view, on a pseudo-terminal ------------------------------------------------


def view(terminals: list[Terminal], run: Run, *argv: str, program: tuple[str, ...] = ("-m", "ktrace")) -> Terminal:
    t = Terminal(*argv, env={k: run.env[k] for k in (*QUIET, "TMPDIR", MARK)}, program=program)
    terminals.append(t)
    return t


def wait_ended(t: Terminal, seconds: float = 5) -> float:
    begin = time.monotonic()
    t.pump(seconds)
    return time.monotonic() - begin


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_the_view_ends_at_once_on_a_signal_during_a_slow_list(sig: int, slow_cluster: Simulator,
                                                               certificates: dict[str, Path], run: Run,
                                                               tmp_path: Path, terminals: list[Terminal]) -> None:
    t = view(terminals, run, "--kubeconfig", str(key_kubeconfig(slow_cluster, certificates, tmp_path / "k")))
    until(listing(slow_cluster), pump=t)
    t.pump(0.3)
    assert b"loading" in t.output and run.holds_a_private_key()
    t.output = b""
    os.kill(t.pid, sig)
    took = wait_ended(t)
    assert t.status == 128 + sig and took < PROMPT
    assert RESTORED in t.output and b"\x1b[?25h" in t.output  # the shell's screen is back, cursor shown
    run.assert_nothing_left()


@pytest.mark.parametrize("then", [None, signal.SIGTERM])
def test_quitting_during_a_slow_list_does_not_wait_for_it(then: int | None, slow_cluster: Simulator,
                                                          certificates: dict[str, Path], run: Run, tmp_path: Path,
                                                          terminals: list[Terminal]) -> None:
    """q (and a signal while quitting) while the first list is still on its way."""
    t = view(terminals, run, "--kubeconfig", str(key_kubeconfig(slow_cluster, certificates, tmp_path / "k")))
    until(listing(slow_cluster), pump=t)
    t.pump(0.3)
    t.send(b"q")
    if then is not None:
        os.kill(t.pid, then)
    took = wait_ended(t)
    assert t.status in (0, 128 + (then or 0)) and took < PROMPT
    run.assert_nothing_left()


def test_a_signal_during_the_plugins_login_prompt_ends_it_and_gives_echo_back(sim: Simulator, run: Run,
                                                                             tmp_path: Path,
                                                                             terminals: list[Terminal]) -> None:
    """Only ktrace gets the TERM (not the terminal's process group): the plugin, which has the terminal
    and turned echo off, and the process it waits for must end with it."""
    kubeconfig, started = plugin_kubeconfig(sim, tmp_path)
    t = view(terminals, run, "--kubeconfig", str(kubeconfig))
    until(started.exists, pump=t)
    assert not termios.tcgetattr(t.fd)[3] & termios.ECHO
    os.kill(t.pid, signal.SIGTERM)
    took = wait_ended(t)
    assert t.status == 128 + signal.SIGTERM and took < PROMPT
    assert termios.tcgetattr(t.fd)[3] & termios.ECHO
    run.assert_nothing_left()


@pytest.mark.parametrize("after", [0.5, 1.5, 3.0])
def test_closing_the_terminal_during_the_demos_start_up_leaves_nothing(after: float, run: Run,
                                                                        terminals: list[Terminal]) -> None:
    """Closing a tmux window 1.5-3 s into `ktrace --demo` left it running, in a futex wait."""
    t = view(terminals, run, "--demo")
    t.pump(after)
    begin = time.monotonic()
    os.close(t.fd)  # the kernel hangs up the session
    while time.monotonic() - begin < 5 and not os.waitpid(t.pid, os.WNOHANG)[0]:
        time.sleep(0.01)
    took = time.monotonic() - begin
    t.status = 0  # reaped
    assert took < PROMPT
    run.assert_nothing_left()


def test_a_stuck_app_still_gives_the_terminal_back_and_ends(run: Run, terminals: list[Terminal]) -> None:
    """The backstop: the app's loop is busy and never gets to exit; the terminal is restored and the
    process ends all the same."""
    script = (
        "import asyncio, functools, os, signal, sys, time\n"
        "from ktrace.ending import signals_call\n"
        "from ktrace.tui.app import leave_app\n"
        "from ktrace.tui.session import leave_on_signals, terminal_restorer\n"
        "leave_on_signals()\n"
        "restore = terminal_restorer()\n"
        "os.system('stty -echo')\n"
        "sys.stderr.write('\\x1b[?1049h\\x1b[?25l'); sys.stderr.flush()\n"
        "class App:\n"
        "    def exit(self, code): os._exit(99)  # never reached: the loop is stuck\n"
        "async def stuck():\n"
        "    print('stuck', flush=True)\n"
        "    time.sleep(30)\n"
        "loop = asyncio.new_event_loop()\n"
        "with signals_call(functools.partial(leave_app, App(), loop, restore)):\n"
        "    loop.run_until_complete(stuck())\n")
    t = view(terminals, run, program=("-c", script))
    until(lambda: b"stuck" in t.output, pump=t)
    t.output = b""
    os.kill(t.pid, signal.SIGTERM)
    took = wait_ended(t)
    assert t.status == 128 + signal.SIGTERM and took < PROMPT
    assert RESTORED in t.output and b"\x1b[?25h" in t.output
    assert termios.tcgetattr(t.fd)[3] & termios.ECHO


# -- ktrace sim ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_sim_removes_its_kubeconfig_on_a_signal(sig: int, run: Run, processes: list[subprocess.Popen]) -> None:
    proc = ktrace(run, "sim", "--scenario", "demo")
    processes.append(proc)
    assert proc.stdout is not None
    banner = list(itertools.takewhile(lambda line: not line.startswith(b"Ctrl-C"), iter(proc.stdout.readline, b"")))
    kubeconfig = next(line for line in banner if line.startswith(b"kubeconfig:"))
    assert Path(kubeconfig.split()[1].decode()).parent == run.tmp
    code, took = ended(proc, sig)
    assert code == 0 and took < PROMPT  # the way to stop it
    run.assert_nothing_left()
