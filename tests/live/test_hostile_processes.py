"""Hostile names and messages through real processes, bytes as the terminal would get them: the
issue's `trace --via web --backend nope -f route.json`, an API server whose 500 Status message
carries escapes, and `ktrace sim` naming a skipped document. One name or message holds all 12 kinds
of control sequence and invisible character (tests/hostile.py); each must come out as its escape."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile import ALL, ALL_SHOWN, HOST, PAYLOADS, hidden_in, objects, write
from tests.live.answering import kubeconfig, serve, stop

pytestmark = pytest.mark.slow  # each runs ktrace in a subprocess


def ktrace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ktrace", *args], capture_output=True, timeout=timeout)


def assert_escaped(output: bytes) -> None:
    text = output.decode("utf-8")
    assert not hidden_in(text), sorted(hidden_in(text))
    assert ALL_SHOWN in text
    assert all(p.shown in text for p in PAYLOADS)


def test_backend_error_names_the_backend_refs_escaped(tmp_path: Path) -> None:
    route = tmp_path / "route.json"
    route.write_text(json.dumps(objects(ALL)))
    done = ktrace("trace", HOST, "--via", "web", "--backend", "nope", "-f", str(route))
    assert done.returncode == 2 and done.stdout == b""
    assert b"has no backendRef of that name (it has: web, canary" in done.stderr
    assert_escaped(done.stderr)


@pytest.fixture
def status_server(tmp_path: Path) -> Iterator[Path]:
    """A server answering every request with a 500 whose Kubernetes Status message carries every payload."""
    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500,
                       "reason": "InternalError", "message": f"etcd is down {ALL}"}).encode()
    server, url = serve(lambda path: (500, body))
    yield Path(kubeconfig(tmp_path / "kubeconfig", url, "x"))
    stop(server)


@pytest.mark.parametrize("command", [["check"], ["trace", HOST], ["check", "-o", "json"]])
def test_an_api_servers_500_message_is_escaped(status_server: Path, command: list[str]) -> None:
    done = ktrace(*command, "--kubeconfig", str(status_server))
    assert done.returncode == 2 and done.stdout == b""
    assert b"answered 500 Internal Server Error" in done.stderr and b"etcd is down" in done.stderr
    assert_escaped(done.stderr)


def test_sim_names_a_skipped_document_escaped(tmp_path: Path) -> None:
    write(tmp_path / "manifests", ALL)
    proc = subprocess.Popen([sys.executable, "-m", "ktrace", "sim", "-f", str(tmp_path / "manifests"),
                             "--write-kubeconfig", str(tmp_path / "kubeconfig")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"ktrace sim: serving")
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert b"kind not used by ktrace, skipped" in err
    assert_escaped(err)
