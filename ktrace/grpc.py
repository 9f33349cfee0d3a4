"""Which GRPCRoute match takes a gRPC call, as the Gateway API (v1) defines it.

- A match names the call's service and/or method ("" matches any; a match without `method` matches every
  call), compared Exact (the default, case-sensitive) or by RegularExpression, and headers, all ANDed.
- Among matches, after the hostname (ktrace.gateway.select_rule): the most characters in a matching service,
  then in a matching method, then the most header matches.
- RegularExpression matches are not evaluated (their dialect is the implementation's): named, as are the
  matches that need headers a traced call does not carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ktrace.model import GRPCMatch

EXACT = "Exact"
# Ranked above every Exact service and method: a regular expression that would match is named, never ignored.
_UNBOUNDED = float("inf")


@dataclass(frozen=True, slots=True)
class Call:
    """A traced gRPC call: "" for a part the target leaves out. It carries no headers."""
    service: str
    method: str
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-case

    def label(self) -> str:
        return f"{self.service or '(any service)'}/{self.method or '(any method)'}"


def _names(want: str, have: str) -> bool:
    return not want or want == have


def call_rank(m: GRPCMatch, call: Call) -> tuple[int, int, int] | None:
    """How strongly a match takes the call (higher wins), None when it does not or cannot be told."""
    if m.type != EXACT or not (_names(m.service, call.service) and _names(m.method, call.method)):
        return None
    if any(t != EXACT or call.headers.get(name.lower()) != value for t, name, value in m.headers):
        return None
    return len(m.service), len(m.method), len(m.headers)


def call_near(m: GRPCMatch, call: Call) -> tuple[tuple, str] | None:
    """A match that does not take the call but might: its rank if its conditions held, and why it is named."""
    if m.type != EXACT:
        return (_UNBOUNDED, _UNBOUNDED, len(m.headers)), f"not evaluated ({m.type or 'no type'})"
    parts = (("service", m.service, call.service), ("method", m.method, call.method))
    if any(want and have and want != have for _, want, have in parts):
        return None
    missing = [part for part, want, have in parts if want and not have]
    if missing:  # the target leaves that part out: the match may or may not take the call
        return (len(m.service), len(m.method), len(m.headers)), f"takes only calls to that {' and '.join(missing)}"
    regex = any(t != EXACT for t, _, _ in m.headers)
    why = "not evaluated (regular expression)" if regex else "takes calls with those headers"
    return (len(m.service), len(m.method), len(m.headers)), why


def taken(m: GRPCMatch) -> str:
    """What a match takes, for naming the calls a host does serve: `pkg.Svc/Method (Exact)`."""
    return f"{m.service or '*'}/{m.method or '*'} ({m.type})"
