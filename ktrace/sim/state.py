"""The simulator's object store: objects by kind/namespace/name, one global resourceVersion,
and a bounded event history per kind from which watches are served and resumed.

Synchronous and single-threaded by design: the server mutates it only from its event loop,
and `demo_objects()` uses it without any loop at all.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson

from ktrace.kinds import BY_KIND, Kind

DEFAULT_HISTORY = 20_000
_CHUNK = 256  # keys copied at a time when listing: a page costs O(page), and writes meanwhile are safe


class ApiError(Exception):
    """A failure the server answers with a Status object."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            status["details"] = self.details
        return status


def not_found(kind: Kind, name: str) -> ApiError:
    group = f".{kind.group}" if kind.group else ""
    return ApiError(404, "NotFound", f'{kind.plural}{group} "{name}" not found',
                    {"name": name, "group": kind.group, "kind": kind.plural})


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


@dataclass(slots=True)
class Entry:
    """One stored object. Objects are never mutated once stored (a change stores a new Entry),
    so the serialized forms can be cached: lists of 10k pods are then joins of bytes."""

    obj: dict
    _raw: bytes | None = None
    _item_raw: bytes | None = None
    _meta_raw: bytes | None = None

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = orjson.dumps(self.obj)
        return self._raw

    @property
    def item_raw(self) -> bytes:
        """As an item of a typed list: the API server leaves out kind and apiVersion there."""
        if self._item_raw is None:
            self._item_raw = orjson.dumps({k: v for k, v in self.obj.items() if k not in ("kind", "apiVersion")})
        return self._item_raw

    @property
    def meta_raw(self) -> bytes:
        """The object as a PartialObjectMetadata (never any Secret data)."""
        if self._meta_raw is None:
            self._meta_raw = orjson.dumps(partial_metadata(self.obj))
        return self._meta_raw

    @property
    def meta(self) -> dict:
        return self.obj["metadata"]

    @property
    def rv(self) -> int:
        return int(self.meta["resourceVersion"])


def clone(obj: dict) -> dict:
    """A deep copy of a JSON-like object; several times faster than copy.deepcopy."""
    return orjson.loads(orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS))


def partial_metadata(obj: dict) -> dict:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}


@dataclass(slots=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    entry: Entry  # the object after the change (for DELETED: as it was, with the deletion's rv)
    old: Entry | None = None  # before a MODIFIED, for selector-aware transitions


@dataclass
class _KindState:
    objects: dict[str, dict[str, Entry]] = field(default_factory=dict)  # namespace -> name -> entry
    keys: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name), sorted: list order
    history: deque[Event] = field(default_factory=deque)
    floor: int = 0  # watches from a resourceVersion below this have lost events: 410


class Store:
    def __init__(self, history: int = DEFAULT_HISTORY):
        self.rv = 0
        self.history_size = history
        self.epoch = 0  # bumped by compact(): open watches end with 410
        self._kinds: dict[str, _KindState] = {k: _KindState(history=deque()) for k in BY_KIND}
        self.listeners: list[Callable[[str, Event], None]] = []

    # reads
    def get(self, kind: str, namespace: str | None, name: str) -> Entry | None:
        return self._kinds[kind].objects.get(namespace or "", {}).get(name)

    def entries(self, kind: str, namespace: str | None = None, after: tuple[str, str] | None = None
                ) -> Iterator[Entry]:
        """Entries in (namespace, name) order, as the API server lists them; with `after` (a continue
        token's last key), only those past it. Found by bisection in the sorted keys, so reading a page
        from the middle of a large list costs the page, not the list."""
        state = self._kinds[kind]
        start = after
        if namespace is not None and (start is None or start < (namespace, "")):
            start = (namespace, "")
        while True:
            keys = state.keys
            i = 0 if start is None else bisect_right(keys, start)
            chunk = keys[i:i + _CHUNK]
            if not chunk:
                return
            for ns, name in chunk:
                if namespace is not None and ns != namespace:
                    return
                entry = state.objects.get(ns, {}).get(name)
                if entry is not None:  # else removed since the chunk was taken
                    yield entry
            start = chunk[-1]

    def count_after(self, kind: str, namespace: str | None, after: tuple[str, str]) -> int:
        """How many entries (of `namespace`, when given) sort after `after`: a list's remainingItemCount."""
        keys = self._kinds[kind].keys
        if namespace is None:
            return len(keys) - bisect_right(keys, after)
        end = bisect_right(keys, namespace, key=lambda k: k[0])
        return max(0, end - bisect_right(keys, max(after, (namespace, ""))))

    def namespaces_with(self, kind: str) -> list[str]:
        return sorted(ns for ns, names in self._kinds[kind].objects.items() if names)

    def count(self, kind: str) -> int:
        return sum(len(names) for names in self._kinds[kind].objects.values())

    def floor(self, kind: str) -> int:
        return self._kinds[kind].floor

    def events_after(self, kind: str, rv: int) -> list[Event]:
        """Events with a resourceVersion above `rv`; ApiError 410 when some were dropped."""
        state = self._kinds[kind]
        if rv < state.floor:
            raise expired(f"too old resource version: {rv} ({state.floor})")
        history = state.history
        if not history or history[-1].rv <= rv:
            return []
        # history is ordered by rv: walk back from the end (watchers are usually nearly current)
        out = []
        for event in reversed(history):
            if event.rv <= rv:
                break
            out.append(event)
        out.reverse()
        return out

    # writes (the caller completes objects; the store only versions and records them)
    def put(self, obj: dict) -> Event:
        kind = obj["kind"]
        meta = obj["metadata"]
        ns = meta.get("namespace") or ""
        old = self._kinds[kind].objects.get(ns, {}).get(meta["name"])
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        entry = Entry(obj)
        self._kinds[kind].objects.setdefault(ns, {})[meta["name"]] = entry
        if old is None:
            insort(self._kinds[kind].keys, (ns, meta["name"]))
        return self._record(kind, Event(self.rv, "MODIFIED" if old else "ADDED", entry, old))

    def remove(self, kind: str, namespace: str | None, name: str) -> Event | None:
        names = self._kinds[kind].objects.get(namespace or "", {})
        old = names.pop(name, None)
        if old is None:
            return None
        keys = self._kinds[kind].keys
        del keys[bisect_left(keys, (namespace or "", name))]
        self.rv += 1
        gone = dict(old.obj)
        gone["metadata"] = {**old.meta, "resourceVersion": str(self.rv)}
        return self._record(kind, Event(self.rv, "DELETED", Entry(gone), old))

    def _record(self, kind: str, event: Event) -> Event:
        state = self._kinds[kind]
        if len(state.history) >= self.history_size:
            state.floor = state.history.popleft().rv
        state.history.append(event)
        for listener in list(self.listeners):
            listener(kind, event)
        return event

    def compact(self) -> int:
        """Forget every event so far, as etcd compaction does: resuming from an older
        resourceVersion (watch or continue token) gets 410 Expired. Returns the new floor."""
        for state in self._kinds.values():
            state.history.clear()
            state.floor = self.rv
        self.epoch += 1
        return self.rv
