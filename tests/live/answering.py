"""A stand-in for an API server that answers every GET from a function of the path (to play servers that
misbehave), over HTTP or HTTPS on loopback, and a kubeconfig with one context for it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Answer = Callable[[str], tuple[int, bytes]]  # request path (no query) -> (status, JSON body)


def serve(answer: Answer, tls: tuple[Path, Path] | None = None) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a thread; `tls`: (certificate, key). Returns it (shut it down) and its URL."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answer(self.path.split("?")[0])
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"


def stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def kubeconfig(path: Path, server: str, context: str = "odd", ca: Path | None = None) -> str:
    """A kubeconfig with one context, `context`, for `server` (a bearer token; `ca`: its certificate authority)."""
    authority = f", certificate-authority: {ca}" if ca else ""
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"{authority}}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: {context}, context: {{cluster: c, user: u}}}}]
current-context: {context}
""")
    return str(path)
