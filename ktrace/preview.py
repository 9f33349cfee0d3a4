"""Preview a switch before making it: the path as it would be if the matched rule's backend were
another Service of the same namespace (same port reference), the difference against today's path,
and the Services worth previewing, ranked. Pure: traces the store twice, never writes anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ktrace.certs import CertificateBook
from ktrace.checks.networkpolicy import ControllerHint
from ktrace.errors import UsageError
from ktrace.gateway import gateway_route
from ktrace.pathdiff import PathDiff, diff_paths
from ktrace.requestpath import PODS, RequestPath
from ktrace.rollout import VERSION_LABELS
from ktrace.routing import route
from ktrace.rules import readable
from ktrace.store import ClusterStore
from ktrace.targets import Target, as_target
from ktrace.trace import Tracer, Via


@dataclass(frozen=True)
class Replaced:
    """One backend the preview replaces: where (`Ingress ns/name`, `HTTPRoute ns/name rule N` or `GRPCRoute ...`)."""
    entry: str
    namespace: str
    service: str


@dataclass(kw_only=True)
class Preview(PathDiff):
    today: RequestPath
    would_be: RequestPath
    candidate: str | None  # None: only the weights change
    replaced: list[Replaced]
    namespace: str
    weights: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.today.target, "candidate": self.candidate, "namespace": self.namespace,
            "replaces": [{"entry": r.entry, "service": r.service} for r in self.replaced],
            "weights": self.weights or None,
            "status": self.would_be.status, "todayStatus": self.today.status,
            "path": self.would_be.to_dict(),
            "diff": self.diff_dict(),
        }


def replaced_backends(store: ClusterStore, t: Target, *, live: bool, backend: str | None = None,
                      heaviest: bool = False) -> list[Replaced]:
    """The Service backends of the rules that serve `t` which a preview replaces. Raises UsageError
    when there is nothing to replace or the choice is ambiguous (`heaviest`: take the backendRef
    with the largest weight instead, as the TUI does)."""
    out: list[Replaced] = []
    r = route(store, t.host, t.path) if t.route_kind == "HTTPRoute" else None  # Ingress: HTTP only
    if r is not None and r.ingress is not None and r.backend is not None:
        ing = r.ingress
        if not r.backend.service:
            raise UsageError(f"Ingress {ing.meta.namespace}/{ing.meta.name} sends {t} to a resource backend "
                             f"({r.backend.label()}), not a Service: nothing to preview")
        out.append(Replaced(f"Ingress {ing.meta.namespace}/{ing.meta.name}", ing.meta.namespace, r.backend.service))
    g = gateway_route(store, t, live=live)
    if g is not None and g.choice is not None:
        c = g.choice
        where = f"{c.route.meta.kind} {c.route.meta.namespace}/{c.route.meta.name} rule {c.index + 1}"
        refs = [b for b in c.rule.backends if b.is_service]
        names = [b.name for b in refs]
        if backend is not None:
            refs = [b for b in refs if b.name == backend]
            if not refs:
                raise UsageError(f"--backend {backend}: {where} has no backendRef of that name "
                                 f"(it has: {', '.join(names) or 'none'})")
        elif len(refs) > 1 and heaviest:
            refs = sorted(refs, key=lambda b: -b.weight)
        elif len(refs) > 1:
            raise UsageError(f"{where} has several backendRefs ({', '.join(names)}): name the one to replace "
                             "with --backend NAME")
        out += [Replaced(where, b.namespace, b.name) for b in refs[:1]]
    if not out:
        raise UsageError(f"nothing to preview: no Ingress rule or {t.route_kind} rule with a Service backend "
                         f"serves {t}")
    return out


def check_candidate(store: ClusterStore, candidate: str, replaced: list[Replaced]) -> str:
    """The candidate's name, once it is known to exist where every replaced backend resolves.
    `NS/NAME` is accepted only for that namespace: backends never cross namespaces."""
    ns_given, _, name = candidate.rpartition("/")
    if not name:
        raise UsageError("--via needs a Service name")
    for ns in dict.fromkeys(r.namespace for r in replaced):
        if ns_given and ns_given != ns:
            raise UsageError(f"--via {candidate}: the backend resolves in namespace {ns} (the route's own); "
                             f"backends never cross namespaces: create the Service in {ns} to switch to it")
        if store.service(ns, name) is not None:
            continue
        if not readable(store, "Service"):
            raise UsageError(f"--via {candidate}: Services could not be read in namespace {ns}")
        close = difflib.get_close_matches(name, [s.meta.name for s in store.services(ns)], n=4, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        elsewhere = sorted(store.namespaces_with("Service", name) - {ns})
        if elsewhere:
            hint += (f"; a Service {name} exists in {', '.join(elsewhere[:3])}, but backends never cross "
                     "namespaces")
        raise UsageError(f"--via {candidate}: no Service {name} in namespace {ns}{hint}")
    return name


def parse_weights(text: str) -> dict[str, int]:
    """`--weights a=90,b=10` -> {"a": 90, "b": 10}."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, value = part.rpartition("=")  # the last `=`: a Gateway API name may hold one
        if not eq or not name.strip() or not value.strip().isdigit():
            raise UsageError(f"--weights: {part!r} is not NAME=WEIGHT (a whole number >= 0), "
                             "e.g. shop-blue=90,shop-green=10")
        out[name.strip()] = int(value)
    if not out:
        raise UsageError("--weights needs NAME=WEIGHT[,NAME=WEIGHT]")
    return out


def rule_weights(store: ClusterStore, t: Target, *, live: bool) -> dict[str, int] | None:
    """Today's weights of the Gateway route rule (HTTPRoute, GRPCRoute) that serves `t` (backendRef name ->
    weight), or None when none serves it: what a weights preview starts from."""
    g = gateway_route(store, t, live=live)
    if g is None or g.choice is None:
        return None
    return {b.name: b.weight for b in g.choice.rule.backends}


def _check_weights(store: ClusterStore, t: Target, weights: Mapping[str, int], *, live: bool) -> str:
    """The namespace of the Gateway route rule whose split `weights` changes."""
    g = gateway_route(store, t, live=live)
    if g is None or g.choice is None:
        raise UsageError(f"--weights: no {t.route_kind} rule serves {t} (an Ingress rule has one backend)")
    c = g.choice
    names = [b.name for b in c.rule.backends]
    unknown = [n for n in weights if n not in names]
    if unknown:
        raise UsageError(f"--weights: {c.route.meta.kind} {c.route.meta.namespace}/{c.route.meta.name} rule "
                         f"{c.index + 1} has no backendRef {', '.join(unknown)} (it has: {', '.join(names) or 'none'})")
    return c.route.meta.namespace


def preview(store: ClusterStore, target: str | Target, candidate: str | None, *, live: bool,
            backend: str | None = None, weights: Mapping[str, int] | None = None,
            controllers: ControllerHint | None = None, certs: CertificateBook | None = None) -> Preview:
    """The would-be path of `target` with `candidate` as the matched rule's backend (and/or an
    Gateway route rule's backendRefs weighted by `weights`, names as the rule has them), and its diff."""
    t = as_target(target)
    if candidate is None and not weights:
        raise UsageError("nothing to preview: give a Service (--via) or weights (--weights)")
    replaced = replaced_backends(store, t, live=live, backend=backend) if candidate else []
    name = check_candidate(store, candidate, replaced) if candidate else None
    namespace = _check_weights(store, t, weights, live=live) if weights else replaced[0].namespace
    gateway_backend = next((r.service for r in replaced if not r.entry.startswith("Ingress")), None)
    via = Via(name, gateway_backend, tuple(sorted((weights or {}).items())))
    tracer = Tracer(store, live=live, controllers=controllers, certs=certs)
    today, would = tracer.trace(t), tracer.trace(t, via)
    p = Preview(**vars(diff_paths(today, would)), today=today, would_be=would, candidate=name, replaced=replaced,
                namespace=namespace, weights=dict(weights or {}))
    return p


def pods_of(path: RequestPath) -> list[str]:
    """The pods on a path (for listing the candidate's pods)."""
    return [h.name for h in path.hops if h.kind == "Pod" and h.level == PODS]


@dataclass(frozen=True)
class Candidate:
    name: str
    sibling: bool  # looks like another version of today's backend
    why: str  # e.g. "version=blue (today green)"


def candidates(store: ClusterStore, namespace: str, current: str) -> list[Candidate]:
    """Services of `namespace` to preview instead of `current`: first those that share selector
    labels with it and differ in a version-like label, then the rest, each group by name."""
    today = store.service(namespace, current)
    mine = dict(today.selector or {}) if today is not None else {}
    out = []
    for svc in store.services(namespace):
        if svc.meta.name == current:
            continue
        theirs = dict(svc.selector or {})
        shared = [k for k, v in theirs.items() if mine.get(k) == v]
        differ = [k for k in VERSION_LABELS if k in theirs and k in mine and theirs[k] != mine[k]]
        if shared and differ:
            k = differ[0]
            out.append(Candidate(svc.meta.name, True, f"{k}={theirs[k]} (today {mine[k]})"))
        else:
            out.append(Candidate(svc.meta.name, False, f"selector {', '.join(f'{k}={v}' for k, v in theirs.items())}"
                                 if theirs else "no selector"))
    return sorted(out, key=lambda c: (not c.sibling, c.name))

