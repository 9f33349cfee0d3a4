"""Exec credential plugins with tokens that expire, against the simulator (which accepts only the
tokens `set_tokens` names): the first token is obtained before the TUI takes the screen, refreshes run
without the terminal, a 401 rebuilds the client and says so, and a login the plugin needs is done with
the TUI suspended."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from ktrace.errors import SourceError
from ktrace.loader import load_paths
from ktrace.options import SourceSpec
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live

SCENARIO = str(Path(__file__).parent.parent / "scenarios" / "healthy.yaml")

# The fake plugin: token tok-N on its Nth run, valid for the seconds in state/ttl. While state/need-login
# exists it fails without a terminal and asks for a password with one. It logs how it was run, and
# writes to stderr (which must never reach the TUI's screen).
PLUGIN = r"""
import datetime, json, os, pathlib, sys
state = pathlib.Path(os.environ["STATE"])
runs = state / "runs"
n = int(runs.read_text() if runs.exists() else "0") + 1
runs.write_text(str(n))
interactive = json.loads(os.environ["KUBERNETES_EXEC_INFO"])["spec"]["interactive"]
with open(state / "log", "a") as log:
    log.write(f"{n} interactive={interactive} stdin_tty={os.isatty(0)}\n")
sys.stderr.write(f"PLUGIN-STDERR-{n}\n")
if (state / "need-login").exists():
    if not interactive:
        sys.exit("login required: run with a terminal")
    sys.stderr.write("Password: ")
    sys.stderr.flush()
    if sys.stdin.readline().strip() != "secret":
        sys.exit("wrong password")
    (state / "need-login").unlink()
ttl = float((state / "ttl").read_text())
expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ttl)
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": f"tok-{n}", "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}}))
"""


class Plugin:
    def __init__(self, state: Path) -> None:
        self.state = state
        state.mkdir()
        self.ttl(3600)
        (state / "plugin.py").write_text(PLUGIN)

    def ttl(self, seconds: float) -> None:
        (self.state / "ttl").write_text(str(seconds))

    def log(self) -> list[str]:
        path = self.state / "log"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def plugin(tmp_path: Path) -> Plugin:
    return Plugin(tmp_path / "state")


def exec_kubeconfig(sim: Simulator, plugin: Plugin, path: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": sim.url}}],
        "users": [{"name": "sso", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
            "args": [str(plugin.state / "plugin.py")], "env": [{"name": "STATE", "value": str(plugin.state)}],
            "interactiveMode": "IfAvailable"}}}],
        "contexts": [{"name": "eks", "context": {"cluster": "c", "user": "sso"}}],
        "current-context": "eks"}))
    return path


def live_args(kubeconfig: Path) -> SourceSpec:
    return SourceSpec(kubeconfig=str(kubeconfig))


@pytest.fixture
def cluster(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(load_paths([SCENARIO]).objects, tokens={"tok-1"})


@pytest.mark.slow
def test_an_expiring_token_is_refreshed_without_the_terminal_and_a_401_needs_fresh_credentials(
        cluster: Simulator, plugin: Plugin, tmp_path: Path) -> None:
    kubeconfig = exec_kubeconfig(cluster, plugin, tmp_path / "k")
    # refreshed 10 s before it expires: valid for 2.5 s, room for a slow first load on a busy machine
    plugin.ttl(12.5)
    source = open_live(live_args(kubeconfig))
    assert source.load().count("Pod") == 2
    assert plugin.log() == ["1 interactive=False stdin_tty=False"]
    plugin.ttl(3600)
    cluster.set_tokens({"tok-2"})  # the server will accept only the next token
    time.sleep(2.7)
    assert source.load().count("Pod") == 2  # the same client: it ran the plugin again itself
    assert source.credentials is not None and source.credentials.refreshes == 1
    assert plugin.log()[1] == "2 interactive=False stdin_tty=False"
    # Revoked before it expires: a 401, noted for the TUI; fresh credentials make a working client.
    cluster.set_tokens({"tok-3"})
    with pytest.raises(SourceError, match="401"):
        source.load()
    assert source.credentials_refused
    source.close()
    source.credentials.invalidate()
    again = open_live(live_args(kubeconfig))
    try:
        assert again.load().count("Pod") == 2 and not again.credentials_refused
    finally:
        again.close()


def test_a_failing_plugin_is_one_line(cluster: Simulator, plugin: Plugin, tmp_path: Path) -> None:
    kubeconfig = exec_kubeconfig(cluster, plugin, tmp_path / "k")
    (plugin.state / "ttl").write_text("not a number")
    with pytest.raises(SourceError) as e:
        open_live(live_args(kubeconfig))
    assert "exec credential plugin failed" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
def test_check_runs_the_plugin_with_the_terminal_only_when_there_is_one(cluster: Simulator, plugin: Plugin,
                                                                      tmp_path: Path) -> None:
    kubeconfig = exec_kubeconfig(cluster, plugin, tmp_path / "k")
    done = subprocess.run([sys.executable, "-m", "ktrace", "check", "--kubeconfig", str(kubeconfig), "-A"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert plugin.log() == ["1 interactive=False stdin_tty=False"] and b"PLUGIN-STDERR" not in done.stderr
    if sys.platform == "win32":
        return
    cluster.set_tokens({"tok-2"})
    t = Terminal("check", "--kubeconfig", str(kubeconfig), "-A")
    try:
        t.pump(30)
        assert t.status == 0 and b"PLUGIN-STDERR-2" in t.output  # at a terminal, the plugin had it
    finally:
        t.close()
    assert plugin.log()[1] == "2 interactive=True stdin_tty=True"


# -- in a terminal ---------------------------------------------------------------------------------

if sys.platform != "win32":
    from tests.terminal.test_tui_app_terminal import Terminal, start


@pytest.fixture
def ttys() -> Iterator[list]:
    opened: list = []
    yield opened
    for t in opened:
        t.close()


def _pump_until(t, plugin: Plugin, lines: int, seconds: float = 10) -> None:
    end = time.monotonic() + seconds
    while len(plugin.log()) < lines and time.monotonic() < end and t.status is None:
        t.pump(0.1)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_tui_session_credentials_first_refresh_quietly_rebuild_on_401_and_login_suspended(
        ttys: list, cluster: Simulator, plugin: Plugin, tmp_path: Path) -> None:
    kubeconfig = exec_kubeconfig(cluster, plugin, tmp_path / "k")
    t: Terminal = start(ttys, "--kubeconfig", str(kubeconfig), env={"SSH_CONNECTION": ""})
    # The first token came before the screen was taken, with the terminal (a login could have prompted).
    screen_at = t.output.index(b"\x1b[?1049h")
    assert b"PLUGIN-STDERR-1" in t.output[:screen_at]
    assert plugin.log() == ["1 interactive=True stdin_tty=True"]

    # The server stops taking tok-1: the watches reconnect into a 401; the app says so and rebuilds.
    cluster.set_tokens({"tok-2"})
    cluster.break_watches()
    _pump_until(t, plugin, 2)
    t.pump(1.5)
    assert t.status is None
    assert plugin.log()[1] == "2 interactive=False stdin_tty=False"
    assert b"PLUGIN-STDERR-2" not in t.output  # the refresh wrote nothing over the screen
    assert b"(401)" in t.output

    # Now the plugin needs a login: the TUI is suspended, the prompt gets the terminal, then it resumes.
    (plugin.state / "need-login").touch()
    cluster.set_tokens({"tok-4"})  # run 3 fails without a terminal, run 4 logs in
    cluster.break_watches()
    t.output = b""
    t.pump(10, until=b"Password: ")
    assert b"Password: " in t.output and b"\x1b[?1049l" in t.output  # the screen was handed back first
    t.send(b"secret\n")
    t.pump(5, until=b"logged in")
    assert t.status is None and b"\x1b[?1049h" in t.output
    assert plugin.log()[2:] == ["3 interactive=False stdin_tty=False", "4 interactive=True stdin_tty=True"]
    t.pump(1.0)
    t.send(b"q")
    t.pump(5)
    assert t.status == 0
