"""What changed, live: a bounded history of the fields the analysis reads, per object, since ktrace started.

The store hands every update of an object it already held (a watch MODIFIED event, a relist that found
a new version) to `History.observe` with the old and the new record; the facts a path depends on (a
Service's selector and ports, an Ingress's rules, a route's parents, a pod's labels and readiness, an
EndpointSlice's ready count, a policy's spec) are compared, and each one that differs becomes a
`FieldChange` stamped with the new version's last managedFields time and manager. Bounded: at most
`PER_OBJECT` changes per object and `OBJECTS` objects; the object changed longest ago goes first.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from ktrace.model import ROUTE_KINDS, WORKLOAD_KINDS, EndpointSlice, Ingress, Pod, Record, Service, Workload, XRoute

PER_OBJECT = 8  # changes kept per object (the latest)
OBJECTS = 2000  # objects with a history; the one whose last change is oldest is evicted first
MAX_VALUE = 80  # characters of an old or new value; a longer one is cut, marked `~`

Key = tuple[str, str, str]  # (kind, namespace, name)


@dataclass(frozen=True, slots=True)
class FieldChange:
    time: str  # RFC 3339 (the manager's write), or when ktrace saw it when the object has no managedFields
    kind: str
    namespace: str
    name: str
    field: str
    old: str
    new: str
    manager: str  # "" when unknown

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "namespace": self.namespace or None, "name": self.name,
                "field": self.field, "old": self.old, "new": self.new, "manager": self.manager or None}


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "~"


def _text(x: Any) -> str:
    """A compact, deterministic text of a record's value (a port list, a rule, a selector)."""
    if x is None:
        return "(none)"
    if isinstance(x, str):
        return x or '""'
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int | float):
        return str(x)
    if isinstance(x, Mapping):
        return ",".join(f"{k}={v}" for k, v in x.items()) or "(none)"
    if isinstance(x, tuple | list | frozenset | set):
        items = sorted(map(_text, x)) if isinstance(x, frozenset | set) else [_text(i) for i in x]
        return "[" + ", ".join(items) + "]"
    if callable(getattr(x, "label", None)):
        return str(x.label())
    if is_dataclass(x):
        return " ".join(f"{f.name}={_text(getattr(x, f.name))}" for f in fields(x)
                        if getattr(x, f.name) not in (None, "", (), frozenset()))
    return str(x)


def _service(s: Service) -> dict[str, Any]:
    return {"spec.selector": dict(s.selector or {}), "spec.type": s.type,
            "spec.ports": ", ".join(f"{p.label()}->{p.target}" + ("" if p.protocol == "TCP" else f"/{p.protocol}")
                                    for p in s.ports) or "(none)",
            "spec.externalName": s.external_name, "spec.publishNotReadyAddresses": s.publish_not_ready}


def _pod(p: Pod) -> dict[str, Any]:
    return {"metadata.labels": dict(p.meta.labels), "ready": _text(p.ready), "status.phase": p.phase}


def _slice(s: EndpointSlice) -> dict[str, Any]:
    return {"endpoints ready": f"{sum(e.ready for e in s.endpoints)}/{len(s.endpoints)}"}


def _ingress(i: Ingress) -> dict[str, Any]:
    rules = [f"{r.host or '*'}{p.path} -> {p.backend.label()}" for r in i.rules for p in r.paths]
    return {"spec.ingressClassName": i.class_name or i.class_annotation, "spec.rules": ", ".join(rules) or "(none)",
            "spec.tls": ", ".join(f"{t.secret or '(none)'} for {','.join(t.hosts) or '*'}" for t in i.tls) or "(none)",
            "spec.defaultBackend": i.default_backend.label() if i.default_backend else "(none)"}


def _route(r: XRoute) -> dict[str, Any]:
    rules = ["; ".join(filter(None, [" ".join(m.label() for m in rule.matches),
                                     ", ".join(f"{b.label()} w{b.weight}" for b in rule.backends)]))
             for rule in r.rules]
    return {"spec.parentRefs": ", ".join(f"{p.namespace}/{p.name}" + (f"/{p.section}" if p.section else "")
                                         for p in r.parents) or "(none)",
            "spec.hostnames": ", ".join(r.hostnames) or "*", "spec.rules": " | ".join(rules)}


def _workload(w: Workload) -> dict[str, Any]:
    return {"spec.template.metadata.labels": dict(w.template_labels),
            "containers' ports": ", ".join(f"{c.name}:{p.name or '-'}:{p.port}" for c in w.containers for p in c.ports)
            or "(none)", "spec.replicas": w.replicas}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _generic(r: Any) -> dict[str, Any]:
    """Any other kind the analysis reads: every field of its record but the identity; labels too (a
    Namespace's labels are what namespaceSelectors match)."""
    out: dict[str, Any] = {"metadata.labels": dict(r.meta.labels)}
    out.update({_camel(f.name): getattr(r, f.name) for f in fields(r) if f.name not in ("meta", "created")})
    return out


_FACTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "Service": _service, "Pod": _pod, "EndpointSlice": _slice, "Ingress": _ingress,
    **{kind: _route for kind in ROUTE_KINDS},
    **{kind: _workload for kind in WORKLOAD_KINDS},
    **{kind: _generic for kind in ("Gateway", "GatewayClass", "IngressClass", "NetworkPolicy", "BackendTLSPolicy",
                                   "ReferenceGrant", "Namespace")},
}


def differences(old: Any, new: Any) -> Iterable[tuple[str, str, str]]:
    """(field, old, new) for each fact that differs; of a map (labels, a selector) only the keys that differ."""
    facts = _FACTS.get(new.meta.kind)
    if facts is None or type(old) is not type(new):
        return
    before, after = facts(old), facts(new)
    for name, value in after.items():
        was = before.get(name)
        if was == value:
            continue
        if isinstance(value, dict) and isinstance(was, dict):
            keys = [k for k in dict.fromkeys([*was, *value]) if was.get(k) != value.get(k)]
            yield (name, _text({k: was[k] for k in keys if k in was}), _text({k: value[k] for k in keys if k in value}))
        else:
            yield name, _text(was), _text(value)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class History:
    """The changes seen since the store was created, by object, bounded (see the module's doc)."""

    def __init__(self, per_object: int = PER_OBJECT, objects: int = OBJECTS,
                 clock: Callable[[], str] = _now) -> None:
        self.per_object, self.objects, self._clock = per_object, objects, clock
        self._by_object: OrderedDict[Key, deque[FieldChange]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_object)

    def observe(self, old: Record, new: Record) -> list[FieldChange]:
        """Note what changed between two versions of one object; returns the changes noted."""
        meta = new.meta
        found = list(differences(old, new))
        if not found:
            return []
        when, manager = meta.changed or self._clock(), meta.manager
        changes = [FieldChange(when, meta.kind, meta.namespace, meta.name, name, _cut(was), _cut(now), manager)
                   for name, was, now in found]
        key = (meta.kind, meta.namespace, meta.name)
        kept = self._by_object.get(key)
        if kept is None:
            kept = self._by_object[key] = deque(maxlen=self.per_object)
            while len(self._by_object) > self.objects:
                self._by_object.popitem(last=False)
        else:
            self._by_object.move_to_end(key)
        kept.extend(changes)
        return changes

    def of(self, keys: Iterable[Key]) -> list[FieldChange]:
        """The changes of these objects, oldest first."""
        out = [c for key in dict.fromkeys(keys) for c in self._by_object.get(key, ())]
        out.sort(key=lambda c: c.time)  # stable: one object's changes keep their order within a second
        return out
