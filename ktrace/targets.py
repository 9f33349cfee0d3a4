"""Trace targets: `host`, `host/path`, `http(s)://host[:port]/path?query`; a gRPC call
`grpc://host[:port]/package.Service/Method` (GRPCRoutes) and a TLS connection by SNI `tls://host[:port]`
(TLSRoutes on passthrough listeners)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ktrace.errors import UsageError

_HOST_RE = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")
_TARGET_RE = re.compile(r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<host>[^/:?#]*)(?::(?P<port>[^/?#]*))?"
                        r"(?P<path>/[^?#]*)?(?:[?#].*)?$")


@dataclass(frozen=True, slots=True, order=True)
class Target:
    host: str
    path: str = "/"
    scheme: str = ""
    port: int | None = None

    def __str__(self) -> str:
        if self.scheme in ROUTED_SCHEMES:
            return f"{self.scheme}://{self.host}{f':{self.port}' if self.port is not None else ''}{self.path}"
        return f"{self.host}{self.path}"

    @property
    def route_kind(self) -> str:
        """The Gateway API route kind that routes this request."""
        return ROUTED_SCHEMES.get(self.scheme, "HTTPRoute")

    @property
    def grpc_call(self) -> tuple[str, str]:
        """A gRPC target's (service, method); "" for a part the target leaves out."""
        service, _, method = self.path.lstrip("/").partition("/")
        return service, method


# Schemes that name a route kind of their own (no scheme, http and https: HTTPRoute and Ingress).
ROUTED_SCHEMES = {"grpc": "GRPCRoute", "tls": "TLSRoute"}
SCHEME_OF = {kind: scheme for scheme, kind in ROUTED_SCHEMES.items()}  # a route kind's scheme ("": http)


def call_path(service: str, method: str) -> str:
    """A gRPC call as a grpc:// target's path: `/pkg.Svc/Method`, `/pkg.Svc` (any method of it), "" (any call)."""
    return f"/{service}/{method}" if method else f"/{service}" if service else ""


def parse_target(text: str) -> Target:
    """Parse a target the way a user types it; the query string and fragment are dropped."""
    raw = text.strip() if isinstance(text, str) else ""
    m = _TARGET_RE.match(raw)
    if not raw or m is None:
        raise UsageError(f"malformed target {text!r}: expected host, host/path, http(s)://host[:port]/path, "
                         "grpc://host[:port]/package.Service/Method or tls://host[:port]")
    scheme = (m["scheme"] or "").lower()
    if scheme not in ("", "http", "https", *ROUTED_SCHEMES):
        raise UsageError(f"malformed target {text!r}: only http, https, grpc and tls URLs can be traced")
    host = m["host"].lower().rstrip(".")
    if not host or not _HOST_RE.match(host):
        raise UsageError(f"malformed target {text!r}: {m['host']!r} is not a host name")
    port = None
    if m["port"] is not None:
        if not m["port"].isdigit() or not 0 < int(m["port"]) < 65536:
            raise UsageError(f"malformed target {text!r}: port {m['port']!r} is not a number from 1 to 65535")
        port = int(m["port"])
    path = m["path"] or "/"
    if scheme == "tls":  # a TLS connection names a host (SNI), nothing more
        if path != "/":
            raise UsageError(f"malformed target {text!r}: a tls:// target has no path (TLSRoutes route by SNI)")
        path = ""
    elif scheme == "grpc":
        service, _, method = path.lstrip("/").partition("/")
        if "/" in method or (method and not service):
            raise UsageError(f"malformed target {text!r}: expected grpc://host[:port]/package.Service/Method")
        path = call_path(service, method)
    return Target(host=host, path=path, scheme=scheme, port=port)


def grpc_target(target: str, service: str | None, method: str | None) -> str:
    """`HOST --grpc-service S --grpc-method M` as the target it stands for, `grpc://HOST/S/M` (HOST may carry a
    port, or be a grpc:// URL without a path); `target` itself without either option."""
    if service is None and method is None:
        return target
    if not service:
        raise UsageError("--grpc-method needs --grpc-service (a gRPC call names its service)" if method else
                         "--grpc-service needs a service name (package.Service)")
    if "/" in service or (method is not None and (not method or "/" in method)):
        raise UsageError("--grpc-service and --grpc-method take a name each, without '/' "
                         "(e.g. --grpc-service shop.v1.Cart --grpc-method Add)")
    t = parse_target(target)
    if t.scheme not in ("", "grpc") or t.path not in ("", "/"):
        raise UsageError(f"--grpc-service: give the host alone ({t.host}), or grpc://HOST/package.Service/Method "
                         f"without the options, not {target!r}")
    port = f":{t.port}" if t.port is not None else ""
    return f"grpc://{t.host}{port}{call_path(service, method or '')}"


def as_target(target: str | Target) -> Target:
    return target if isinstance(target, Target) else parse_target(target)
