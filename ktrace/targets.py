"""Trace targets: `host`, `host/path`, `http(s)://host[:port]/path?query`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ktrace.errors import UsageError

_HOST_RE = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$")
_TARGET_RE = re.compile(r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<host>[^/:?#]*)(?::(?P<port>[^/?#]*))?"
                        r"(?P<path>/[^?#]*)?(?:[?#].*)?$")


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    path: str = "/"
    scheme: str = ""
    port: int | None = None

    def __str__(self) -> str:
        return f"{self.host}{self.path}"


def parse_target(text: str) -> Target:
    """Parse a target the way a user types it; the query string and fragment are dropped."""
    raw = text.strip() if isinstance(text, str) else ""
    m = _TARGET_RE.match(raw)
    if not raw or m is None:
        raise UsageError(f"malformed target {text!r}: expected host, host/path or http(s)://host[:port]/path")
    scheme = (m["scheme"] or "").lower()
    if scheme not in ("", "http", "https"):
        raise UsageError(f"malformed target {text!r}: only http and https URLs can be traced")
    host = m["host"].lower().rstrip(".")
    if not host or not _HOST_RE.match(host):
        raise UsageError(f"malformed target {text!r}: {m['host']!r} is not a host name")
    port = None
    if m["port"] is not None:
        if not m["port"].isdigit() or not 0 < int(m["port"]) < 65536:
            raise UsageError(f"malformed target {text!r}: port {m['port']!r} is not a number from 1 to 65535")
        port = int(m["port"])
    path = m["path"] or "/"
    return Target(host=host, path=path, scheme=scheme, port=port)


def as_target(target: str | Target) -> Target:
    return target if isinstance(target, Target) else parse_target(target)
