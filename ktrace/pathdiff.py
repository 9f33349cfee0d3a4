"""What differs between two request paths of one request: the pods that stop, start or keep receiving its
traffic, the port mappings and Gateway splits that change, the findings that appear or go. One comparison
for every "before -> after" ktrace shows: a `--via` preview, a plan of changes, a diff of two sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ktrace.findings import Finding
from ktrace.netpol import BLOCKED
from ktrace.requestpath import (
    INGRESS,
    SERVICE,
    BackendDetail,
    GRPCRouteDetail,
    Hop,
    HTTPRouteDetail,
    PathStatus,
    PodDetail,
    RequestPath,
    ServiceDetail,
    TLSRouteDetail,
)

# How bad a verdict is, for "worse" and "better": unknown (offline readiness) is no worse than ok.
_SEVERITY = {PathStatus.OK: 0, PathStatus.UNKNOWN: 0, PathStatus.DEGRADED: 1, PathStatus.BROKEN: 2}


@dataclass
class PathDiff:
    stop: list[str] = field(default_factory=list)  # pods (ns/name) that would stop receiving traffic
    start: list[str] = field(default_factory=list)  # pods that would start receiving traffic
    keep: list[str] = field(default_factory=list)  # pods receiving traffic either way
    ports_before: list[str] = field(default_factory=list)  # port mappings that go away
    ports_after: list[str] = field(default_factory=list)  # port mappings that come
    shares_before: list[str] = field(default_factory=list)  # a Gateway route rule's split, when it changes
    shares_after: list[str] = field(default_factory=list)
    appear: list[Finding] = field(default_factory=list)
    disappear: list[Finding] = field(default_factory=list)
    backends_stop: list[str] = field(default_factory=list)  # Services (ns/name) that would stop receiving traffic
    backends_start: list[str] = field(default_factory=list)
    backends_keep: list[str] = field(default_factory=list)

    def diff_dict(self) -> dict:
        return {"backendsStop": self.backends_stop, "backendsStart": self.backends_start,
                "backendsKeep": self.backends_keep,
                "podsStop": self.stop, "podsStart": self.start, "podsKeep": self.keep,
                "portsBefore": self.ports_before, "portsAfter": self.ports_after,
                "sharesBefore": self.shares_before, "sharesAfter": self.shares_after,
                "findingsAppear": [f.to_dict() for f in self.appear],
                "findingsDisappear": [f.to_dict() for f in self.disappear]}


def diff_paths(before: RequestPath, after: RequestPath) -> PathDiff:
    """`after` against `before`. Readiness unknown (offline pod templates) counts as receiving: the pod is on
    the path."""
    was, will = _receiving(before), _receiving(after)
    gets = {k for k, v in was.items() if v is not False}
    gives = {k for k, v in will.items() if v is not False}
    d = PathDiff(sorted(gets - gives), sorted(gives - gets), sorted(gets & gives))
    had, has = _backends(before), _backends(after)
    d.backends_stop, d.backends_start, d.backends_keep = sorted(had - has), sorted(has - had), sorted(had & has)
    old_ports, new_ports = _port_mappings(before), _port_mappings(after)
    d.ports_before = [m for m in old_ports if m not in new_ports]
    d.ports_after = [m for m in new_ports if m not in old_ports]
    old_shares, new_shares = _shares(before), _shares(after)
    if _split_moves(old_shares, new_shares):
        d.shares_before, d.shares_after = old_shares, new_shares
    d.appear = minus(after.findings, before.findings)
    d.disappear = minus(before.findings, after.findings)
    return d


def severity(status: PathStatus) -> int:
    return _SEVERITY[status]


def entry_point(path: RequestPath) -> str:
    """What took the request: `Ingress ns/name`, `HTTPRoute ns/name`...; "" when nothing did."""
    hop = next((h for h in path.hops if h.level == INGRESS and h.name and h.kind != "Gateway"), None)
    return f"{hop.kind} {hop.namespace}/{hop.name}" if hop is not None else ""


def _receiving(path: RequestPath) -> dict[str, bool | None]:
    """Pods on the path -> whether they receive traffic (None: readiness unknown offline). A pod
    behind a backendRef of weight 0 receives nothing; one behind two backendRefs, the better of both."""
    out: dict[str, bool | None] = {}
    share = 1.0
    for h in path.hops:
        if h.level < SERVICE:
            share = 1.0
        elif h.level == SERVICE:
            share = h.split.share if h.split else 1.0
        elif isinstance(h.detail, PodDetail):
            gets = False if h.detail.network_policy == BLOCKED or not share else h.detail.ready
            key = f"{h.namespace}/{h.name}"
            before = out.get(key, False)
            out[key] = True if True in (before, gets) else None if None in (before, gets) else False
    return out


def _backends(path: RequestPath) -> set[str]:
    """The Services the request is sent to (a share of 0 is none)."""
    return {f"{h.namespace}/{h.name}" for h in path.hops
            if h.level == SERVICE and h.kind == "Service" and (h.split is None or h.split.share)}


def _shares(path: RequestPath) -> list[str]:
    return [f"{b.name} weight {b.weight} ({b.share:.0%})" for h in path.hops
            if isinstance(h.detail, HTTPRouteDetail | GRPCRouteDetail | TLSRouteDetail) for b in h.detail.backends]


def _split_moves(old: list[str], new: list[str]) -> bool:
    """Whether the rule's split changes. A request no rule splits (an Ingress's) against one a rule sends whole to
    one backend: no split to show (every route of an Ingress -> HTTPRoute migration would list one)."""
    def whole(shares: list[str]) -> bool:
        return len(shares) == 1 and shares[0].endswith("(100%)")

    return old != new and not (not old and whole(new)) and not (not new and whole(old))


def _port_mappings(path: RequestPath) -> list[str]:
    """`svc :80 (http) -> targetPort http -> container :8080` for each Service on the path."""
    out: list[str] = []
    svc: Hop | None = None
    ports: set[str] = set()

    def flush() -> None:
        if svc is not None:
            d = svc.detail
            full = d if isinstance(d, ServiceDetail) else None  # else a backend not followed: its port only
            name = f" ({full.port_name})" if full and full.port_name else ""
            pods = f" -> container :{','.join(sorted(ports))}" if ports else ""
            target = f"targetPort {full.target_port}" if full else "no such port"
            port = d.port if isinstance(d, ServiceDetail | BackendDetail) else None
            out.append(f"{svc.name} :{port}{name} -> {target}{pods}")

    for h in path.hops:
        if h.level <= SERVICE:
            flush()
            svc = h if h.kind == "Service" and h.level == SERVICE else None
            ports = set()
        elif isinstance(h.detail, PodDetail) and h.detail.container_port:
            ports.add(str(h.detail.container_port))
    flush()
    return out


def finding_key(f: Finding) -> tuple[str, str, str, str]:
    """A finding as both sides name it: their messages may word a count differently (`0 of 3 ready`)."""
    return (f.code, f.kind, f.namespace, f.name)


def minus(a: Iterable[Finding], b: Iterable[Finding]) -> list[Finding]:
    keys = {finding_key(f) for f in b}
    return [f for f in a if finding_key(f) not in keys]
