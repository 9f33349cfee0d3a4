"""TLS: a server certificate the kubeconfig's CA does not vouch for is one clear line; with the
right certificate-authority the same server is read."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ktrace.errors import SourceError
from ktrace.options import SourceSpec
from ktrace.sources.live import open_live
from tests.live.answering import kubeconfig, serve, stop

pytestmark = pytest.mark.slow  # TLS servers with fresh certificates (openssl)

EMPTY_LIST = b'{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}'


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server, url = serve(lambda path: (200, EMPTY_LIST), tls=(cert, key))
    yield url, cert
    stop(server)


def args(path: str) -> SourceSpec:
    return SourceSpec(kubeconfig=path)


def test_unknown_certificate_authority_is_one_line(https_server: tuple[str, Path], tmp_path: Path) -> None:
    server, _ = https_server
    with pytest.raises(SourceError) as e:
        open_live(args(kubeconfig(tmp_path / "k", server, "secure"))).load()
    message = str(e.value)
    assert message.startswith("TLS verification failed (") and "\n" not in message
    assert f"for {server} (context 'secure')" in message and "certificate-authority" in message


def test_the_right_certificate_authority_connects(https_server: tuple[str, Path], tmp_path: Path) -> None:
    server, cert = https_server
    store = open_live(args(kubeconfig(tmp_path / "k", server, "secure", cert))).load()
    assert len(store) == 0


def test_insecure_skip_tls_verify_warns_once_in_one_line(https_server: tuple[str, Path], tmp_path: Path) -> None:
    """urllib3 would print a warning block for each of the ~15 requests of a load."""
    import sys

    server, _ = https_server
    path = Path(kubeconfig(tmp_path / "k", server, "secure"))
    insecure = f'server: "{server}", insecure-skip-tls-verify: true'
    path.write_text(path.read_text().replace(f'server: "{server}"', insecure))
    run = subprocess.run([sys.executable, "-m", "ktrace", "check", "--kubeconfig", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2  # the empty cluster: nothing to analyse
    warned = [line for line in run.stderr.splitlines() if "warning" in line.lower()]
    assert warned == [f"ktrace: warning: context 'secure' skips TLS verification (insecure-skip-tls-verify): "
                      f"the server at {server} is not authenticated"]
    assert "InsecureRequestWarning" not in run.stderr
