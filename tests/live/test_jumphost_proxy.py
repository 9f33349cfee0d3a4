"""Reaching a private API server through a bastion: kubeconfig `proxy-url: socks5://...` with the name
resolved on the proxy (as kubectl does), and HTTP_PROXY / NO_PROXY from the environment. The simulator
is served as `sim.internal`, a name that only the proxies started here can resolve."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from ktrace.cli import main
from ktrace.errors import SourceError
from ktrace.loader import load_paths
from ktrace.options import SourceSpec
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live

SCENARIO = Path(__file__).parent.parent / "scenarios" / "healthy.yaml"
PRIVATE_NAME = "sim.internal"
NAMES = {PRIVATE_NAME: "127.0.0.1"}  # what the bastion's resolver knows


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""

    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    threading.Thread(target=pump, args=(b, a), daemon=True).start()
    pump(a, b)
    a.close()
    b.close()


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("short read")
        data += chunk
    return data


class Proxy:
    """A loopback proxy: accepts connections in a thread and hands each to `handle` in its own."""

    def __init__(self, handle: Callable[[Proxy, socket.socket], None]) -> None:
        self.asked: list[str] = []  # the destinations clients named, as they named them
        self.handle = handle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.listener.accept()
                threading.Thread(target=self.handle, args=(self, conn), daemon=True).start()

    def close(self) -> None:
        self.listener.close()


def socks5(proxy: Proxy, conn: socket.socket) -> None:
    """SOCKS5 without authentication, CONNECT only, IPv4 and domain-name addresses (RFC 1928)."""
    try:
        _, n = _recv_exact(conn, 2)
        _recv_exact(conn, n)
        conn.sendall(b"\x05\x00")
        _, cmd, _, atyp = _recv_exact(conn, 4)
        if atyp == 1:
            host = socket.inet_ntoa(_recv_exact(conn, 4))
        elif atyp == 3:
            host = _recv_exact(conn, _recv_exact(conn, 1)[0]).decode()
        else:
            conn.sendall(b"\x05\x08\x00\x01" + bytes(6))  # address type not supported
            return
        (port,) = struct.unpack("!H", _recv_exact(conn, 2))
        proxy.asked.append(host)
        if cmd != 1 or NAMES.get(host, host) != "127.0.0.1":
            conn.sendall(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
            return
        upstream = socket.create_connection(("127.0.0.1", port))
        conn.sendall(b"\x05\x00\x00\x01" + bytes(6))
    except (OSError, ConnectionError):
        conn.close()
        return
    _relay(conn, upstream)


def http_proxy(proxy: Proxy, conn: socket.socket) -> None:
    """An HTTP proxy. https:// targets: CONNECT host:port, then a tunnel. http:// targets: the request
    line names the absolute URL; the rest of the connection is relayed to that server (keep-alive
    requests go to the same origin)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            conn.close()
            return
        head += chunk
    method, url, rest = head.split(b" ", 2)
    if method == b"CONNECT":
        host, _, port = url.decode().rpartition(":")
        proxy.asked.append(host)
        upstream = socket.create_connection((NAMES.get(host, host), int(port)))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _relay(conn, upstream)
        return
    hostport, _, path = url.decode().removeprefix("http://").partition("/")
    host, _, port = hostport.partition(":")
    proxy.asked.append(host)
    upstream = socket.create_connection((NAMES.get(host, host), int(port or 80)))
    upstream.sendall(b" ".join((method, b"/" + path.encode(), rest)))
    _relay(conn, upstream)


@pytest.fixture
def private_sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    with pytest.raises(OSError):  # the premise: the name does not resolve here
        socket.getaddrinfo(PRIVATE_NAME, 80)
    return sim_factory(load_paths([str(SCENARIO)]).objects, tokens={"t0k"})


@pytest.fixture
def proxies() -> Iterator[Callable[..., Proxy]]:
    started: list[Proxy] = []

    def make(handle: Callable[[Proxy, socket.socket], None]) -> Proxy:
        started.append(Proxy(handle))
        return started[-1]

    yield make
    for p in started:
        p.close()


@pytest.fixture
def tls_front(private_sim: Simulator, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The simulator behind TLS with a certificate for the private name: (port, CA file)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    f"/CN={PRIVATE_NAME}", "-addext", f"subjectAltName=DNS:{PRIVATE_NAME}", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def terminate(_: Proxy, conn: socket.socket) -> None:
        try:
            secure = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        _relay(secure, socket.create_connection(("127.0.0.1", private_sim.port)))

    front = Proxy(terminate)
    yield front.port, cert
    front.close()


def private_kubeconfig(sim: Simulator, path: Path, proxy_url: str | None = None,
                       server: str | None = None, ca: Path | None = None) -> Path:
    sim.write_kubeconfig(path, proxy_url=proxy_url)
    doc = yaml.safe_load(path.read_text())
    doc["clusters"][0]["cluster"]["server"] = server or f"http://{PRIVATE_NAME}:{sim.port}"
    if ca is not None:
        doc["clusters"][0]["cluster"]["certificate-authority"] = str(ca)
    path.write_text(yaml.safe_dump(doc))
    return path


def live_args(kubeconfig: Path) -> SourceSpec:
    return SourceSpec(kubeconfig=str(kubeconfig))


def test_socks5_proxy_url_resolves_the_server_name_on_the_proxy(private_sim: Simulator, proxies, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    proxy = proxies(socks5)
    kubeconfig = private_kubeconfig(private_sim, tmp_path / "k", proxy_url=f"socks5://127.0.0.1:{proxy.port}")
    # End to end through the command line: list every kind through the proxy, trace, exit 0.
    assert main(["trace", "shop.example.com", "--kubeconfig", str(kubeconfig)]) == 0
    assert "shop.example.com" in capsys.readouterr().out
    assert proxy.asked and set(proxy.asked) == {PRIVATE_NAME}  # socks5h: the proxy was given the name
    # Watches go through the proxy too.
    source = open_live(live_args(kubeconfig))
    try:
        store = source.load()
        events: list[object] = []
        source.watch(store, events.append)
        private_sim.delete("Pod", "shop", next(store.pods("shop")).meta.name)
        end = time.monotonic() + 5
        while not events and time.monotonic() < end:
            time.sleep(0.05)
        assert events, "no watch event arrived through the proxy"
    finally:
        source.close()


def test_a_socks_proxy_that_cannot_reach_the_server_is_one_line(private_sim: Simulator, proxies,
                                                                 tmp_path: Path) -> None:
    proxy = proxies(socks5)
    kubeconfig = private_kubeconfig(private_sim, tmp_path / "k", proxy_url=f"socks5://127.0.0.1:{proxy.port}")
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["server"] = f"http://elsewhere.internal:{private_sim.port}"
    kubeconfig.write_text(yaml.safe_dump(doc))
    with pytest.raises(SourceError) as e:
        open_live(live_args(kubeconfig)).load()
    assert "cannot reach the API server" in str(e.value) and "\n" not in str(e.value)
    assert "elsewhere.internal" in proxy.asked


def test_http_proxy_and_no_proxy_from_the_environment(private_sim: Simulator, proxies, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = proxies(http_proxy)
    kubeconfig = private_kubeconfig(private_sim, tmp_path / "k")
    for var in ("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    assert open_live(live_args(kubeconfig)).load().count("Pod") == 2
    assert set(proxy.asked) == {PRIVATE_NAME}
    # NO_PROXY names the server: ktrace goes direct, where the private name does not resolve.
    monkeypatch.setenv("NO_PROXY", f"localhost,{PRIVATE_NAME}")
    proxy.asked.clear()
    with pytest.raises(SourceError, match="does not resolve"):
        open_live(live_args(kubeconfig)).load()
    assert proxy.asked == []


@pytest.mark.slow
def test_https_proxy_tunnels_to_a_tls_server_and_no_proxy_bypasses_it(private_sim: Simulator, proxies,
                                                                      tls_front: tuple[int, Path], tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    port, ca = tls_front
    proxy = proxies(http_proxy)
    kubeconfig = private_kubeconfig(private_sim, tmp_path / "k", server=f"https://{PRIVATE_NAME}:{port}", ca=ca)
    for var in ("HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    source = open_live(live_args(kubeconfig))
    try:
        assert source.load().count("Pod") == 2  # CONNECT, then TLS verified against the private name
    finally:
        source.close()
    assert set(proxy.asked) == {PRIVATE_NAME}
    monkeypatch.setenv("NO_PROXY", ".internal")
    proxy.asked.clear()
    with pytest.raises(SourceError, match="does not resolve"):
        open_live(live_args(kubeconfig)).load()
    assert proxy.asked == []
