"""The live cluster source: everything ktrace reads, listed once and fast, then kept current by watches.

Lists run concurrently (one thread per kind), page by page, decoded with orjson while the garbage
collector is paused, and each page goes straight into the store, which keeps slim records only.
Secrets and ConfigMaps are read as metadata (their data never crosses the wire); a second metadata list
filtered on `type=kubernetes.io/tls` tells which Secrets are TLS secrets. Only `--check-certs` reads Secret
data: one GET per referenced TLS Secret (`read_tls_certificate`), keeping tls.crt alone.

Thread safety: list and watch threads change the store only while holding `LiveSource.lock`;
readers in other threads take the same lock. A watch with `deferred=True` (the TUI) changes nothing:
its threads build each event's record and queue it, one entry per object (a later state replaces an
earlier one), relists in order; the store's owner applies the queue with `apply_pending()` and can
then read the store without the lock, never blocking the watches.

    source = open_live(spec)            # resolves the context (run exec plugins before any TUI starts)
    store = source.load()               # SourceError (one line) if the cluster cannot be read
    source.watch(store, on_change)      # on_change(Change) from watch threads, after each change
    source.watch(store, wake, deferred=True); source.apply_pending() -> [Change]   # the TUI's way
    source.status                       # WatchStatus: live / reconnecting / stale since T, last error
    source.close()
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeAlias, TypeVar

import orjson

from ktrace import selectors
from ktrace.checks.source import KIND_UNREADABLE
from ktrace.coverage import Coverage, Read
from ktrace.deadline import WAKE
from ktrace.errors import KtraceError, SourceError
from ktrace.findings import Finding
from ktrace.gateway import SERVICE_IMPORT, backend_refs
from ktrace.kinds import BY_KIND, METADATA_ONLY, Kind
from ktrace.model import ROUTE_KINDS, TLS_SECRET_TYPE, Record, XRoute, record_from_dict
from ktrace.options import DEFAULT_PAGE_SIZE, SourceSpec
from ktrace.sources.kubeapi import TLS_SECRETS, ApiFailure, KubeApi, Target, gc_paused
from ktrace.sources.kubeconfig import ContextInfo, connect, context_names, exec_credentials, resolve_context
from ktrace.sources.kubewatch import Watcher, WatchTimeouts
from ktrace.sources.protocol import CertificateReader, Change, LoadProgress, NarrowReadRefused, WatchStatus
from ktrace.store import ClusterStore

# A change to make to the store, and whether it changed anything; queued under a key (see LiveSource._submit).
_Op: TypeAlias = Callable[[ClusterStore], bool]
_QueueKey: TypeAlias = tuple[str, ...]
T = TypeVar("T")
R = TypeVar("R")

# What the analysis reads, cheapest first so small kinds never wait behind the pods. Workloads give
# the pod templates a selector may nearly match (a Deployment scaled to zero has no pods to compare).
LIVE_KINDS: tuple[Kind, ...] = tuple(BY_KIND[k] for k in (
    "Namespace", "IngressClass", "Ingress", "GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute",
    "ReferenceGrant", "BackendTLSPolicy", "NetworkPolicy", "Service", "Secret", "ConfigMap", "Deployment",
    "StatefulSet", "DaemonSet", "EndpointSlice", "Pod"))

# What a scoped load reads whole: few objects, and matching a host needs every route.
SCOPED_ENTRY = ("Namespace", "IngressClass", "Ingress", "GatewayClass", "Gateway", *ROUTE_KINDS)

# What is lost when a kind cannot be read at all (the info finding says so).
_LOST = {
    "Secret": "TLS checks skipped",
    "GatewayClass": "gateway class checks skipped",
    "Gateway": "HTTPRoutes cannot be attached to their Gateways",
    "HTTPRoute": "no HTTPRoute to trace",
    "GRPCRoute": "no GRPCRoute to trace",
    "TLSRoute": "no TLSRoute to trace",
    "ReferenceGrant": "cross-namespace backendRef checks skipped",
    "BackendTLSPolicy": "TLS to backends (BackendTLSPolicy) not shown",
    "ConfigMap": "BackendTLSPolicy CA certificate checks skipped",
    "Pod": "pod checks skipped and selectors cannot be matched",
    "Service": "service checks skipped",
    "EndpointSlice": "endpoint readiness unknown",
    "Ingress": "no ingress to trace",
    "IngressClass": "ingress class checks skipped",
    "Namespace": "namespaces known only from the objects in them",
    "Deployment": "selector hints from deployment pod templates skipped",
    "StatefulSet": "selector hints from statefulset pod templates skipped",
    "DaemonSet": "selector hints from daemonset pod templates skipped",
    "NetworkPolicy": "NetworkPolicy reachability not checked",
}


def prepare_live_credentials(spec: SourceSpec, interactive: bool) -> None:
    """The context's exec plugin run now (see ktrace.sources.prepare_credentials)."""
    creds = exec_credentials(resolve_context(spec.kubeconfig, spec.context))
    if creds is not None:
        creds.prepare(interactive)


class _WatchfulApi(KubeApi):
    """KubeApi that remembers when the server refused the credentials, or getting them failed: the TUI
    then builds a new client with fresh credentials instead of retrying the dead ones forever."""

    credentials_refused = False

    def get(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get(*args, **kwargs)
        except ApiFailure as e:
            if e.status == 401 or e.reason.startswith("credentials:"):
                self.credentials_refused = True
            raise


def open_live(spec: SourceSpec) -> LiveSource:
    """The live source for a spec: its context (resolved once, here), and every namespace unless one is named."""
    return LiveSource(resolve_context(spec.kubeconfig, spec.context), spec.namespace, page_size=spec.page_size)


class LiveSource:
    live = True

    def __init__(self, context: ContextInfo, namespace: str | None, kinds: tuple[Kind, ...] = LIVE_KINDS,
                 connect_timeout: float = 10.0, read_timeout: float = 60.0,
                 page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.context = context
        self.namespace = namespace  # None: every namespace
        self.kinds = kinds
        self.notes: list[Finding] = []
        self.origins: dict[tuple[str, str, str], str] = {}  # served objects have no file
        self.unreadable: dict[str, str] = {}  # kind -> why it could not be read anywhere
        self.partial: dict[str, tuple[str, ...]] = {}  # kind -> the only namespaces it could be read in
        self.absent: set[str] = set()  # kinds the server does not serve (404): nothing to read, nothing missing
        self.served: dict[str, Kind] = {k.kind: k for k in kinds}  # each kind at the version the server serves
        self._discovered: dict[tuple[str, str], tuple[dict, ...] | None] = {}  # (group, version) -> resources
        self._discovery_lock = threading.Lock()
        self.lock = threading.RLock()
        self.store: ClusterStore | None = None
        self._watch_from: dict[Target, str] = {}  # what was listed, and the resourceVersion to watch from
        # The kinds load() is still reading (None: not started); the reads read() was given and has not done
        # (they may run beside a load: the interactive view draws a path from them while everything is listed).
        self._unlisted: list[str] | None = None
        self._unread: list[str] = []
        self._reads = 0
        self._tls: set[tuple[str, str]] = set()  # (namespace, name) of TLS secrets
        self._watcher: Watcher | None = None
        self._on_change: Callable[[Change], None] | None = None
        self._deferred = False
        self._queue: dict[_QueueKey, tuple[_Op, Change]] = {}  # deferred watches: what apply_pending applies
        self._queue_lock = threading.Lock()
        # Every list (and the next page it fetches ahead) and every watch holds a connection of its own, and
        # the narrow first reads may run beside a whole load (the interactive view): size the pool for all of
        # them (urllib3 would warn on stderr, over the screen, for each connection beyond it).
        pool = 2 * len(kinds) + 4 + len(SCOPED_ENTRY)
        self.credentials = exec_credentials(context)  # None unless an exec plugin gives the token
        self.api = _WatchfulApi(connect(context, pool), connect_timeout, read_timeout, page_size=page_size)

    def describe(self) -> str:
        return f"context {self.context.name} ({self.context.server})"

    def certificate_reader(self) -> CertificateReader:
        return self.read_tls_certificate

    def document(self, kind: str, namespace: str, name: str) -> tuple[dict, str] | None:
        """The object as the API server has it now (one GET; no origin to name); never a Secret or a ConfigMap:
        their data is not read."""
        known = self.served.get(kind) or BY_KIND.get(kind)
        if known is None or kind in METADATA_ONLY:
            return None
        try:
            return orjson.loads(self.api.get_bytes(known.path(namespace, name), [])), ""
        except (ApiFailure, orjson.JSONDecodeError):
            return None

    def contexts(self) -> list[tuple[str, bool]]:
        """The contexts of the kubeconfig files this one came from (in-cluster: none)."""
        if not self.context.files:
            return []
        try:
            names = context_names(self.context.files)
        except KtraceError:  # the kubeconfig changed on disk since start and no longer reads
            return []
        return [(name, name == self.context.name) for name in names]

    def renew_credentials(self) -> None:
        if self.credentials is not None:
            self.credentials.invalidate()

    def read_tls_certificate(self, namespace: str, name: str) -> bytes:
        """tls.crt of one Secret (--check-certs only): a single GET of exactly that Secret. tls.key is
        deleted from the decoded response at once; nothing of it is kept, shown or logged."""
        from ktrace.certs import CertUnavailable, tls_crt

        try:
            body = self.api.get_bytes(BY_KIND["Secret"].path(namespace, name), [])
        except ApiFailure as e:
            if e.status == 404:
                raise CertUnavailable("the Secret does not exist", missing=True) from None
            if e.status in (401, 403):
                raise CertUnavailable(f"may not get the Secret ({e.status} {e.reason})",
                                      hint="ask for get permission on this Secret, or drop --check-certs") from None
            raise CertUnavailable(f"reading the Secret failed: {e.reason or e.status}") from None
        try:
            secret = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise CertUnavailable("the server's answer is not JSON") from None
        finally:
            del body
        if not isinstance(secret, dict):
            raise CertUnavailable("the server's answer is not a Secret")
        return tls_crt(secret)

    # -- listing -------------------------------------------------------------------------------

    def load(self) -> ClusterStore:
        """List every kind into a new store; SourceError (one line) when the cluster cannot be read."""
        store = ClusterStore()
        self._unlisted = [k.plural for k in self.kinds]
        with gc_paused():
            for kind, result in _concurrently(lambda k: self._load_kind(k, store), self.kinds,
                                              lambda k: f"ktrace-list-{k.plural}"):
                self._unlisted = [p for p in self._unlisted if p != kind.plural]  # replaced whole: read from any thread
                if isinstance(result, ApiFailure):
                    raise SourceError(self._fatal(result, kind))
                if isinstance(result, Exception):
                    raise result
                self._watch_from.update(result)
        if self.absent == {k.kind for k in self.kinds} and not self._serves_api():
            raise SourceError(f"{self.context.server} (context {self.context.name!r}) is not a Kubernetes API "
                              "server (no /api)")
        if self.unreadable and len(self.unreadable) + len(self.absent) == len(self.kinds):
            raise SourceError(f"context {self.context.name!r} (user {self.context.user or 'unknown'}) may not list "
                              f"anything ktrace reads: {', '.join(k.plural for k in self.kinds)}")
        store.unreadable.update(self.unreadable)
        store.scope = self.namespace
        self._learn_served(store, store.routes())
        if self.partial:
            self._note_partial(store)
        self.notes.sort(key=lambda f: (f.kind, f.namespace))
        self.store = store
        return store

    def _learn_served(self, store: ClusterStore, routes: Iterable[Record | None]) -> None:
        """Which kinds the cluster serves in the API groups that backendRefs ktrace does not follow name (a
        kind it does not serve cannot be a backend): discovery, once per group, only for such groups. A group
        whose lookup fails stays unknown."""
        groups = {r.group for route in routes if isinstance(route, XRoute) for r in backend_refs(route)
                  if not r.is_service and (r.group, r.kind) != SERVICE_IMPORT}
        groups -= {"", *store.served}
        if not groups:
            return
        try:
            listed = orjson.loads(self.api.get_bytes("/apis", []))
            versions = {g["name"]: [v["version"] for v in g["versions"]] for g in listed["groups"]}
        except (ApiFailure, orjson.JSONDecodeError, KeyError, TypeError):
            return
        for group in groups:
            served = [self._resources(group, version) for version in versions.get(group, [])]
            if any(resources is None for resources in served):
                continue  # a lookup failed: the group stays unknown
            kinds = {str(r.get("kind")) for resources in served for r in resources or ()  # type: ignore[union-attr]
                     if "/" not in str(r.get("name"))}  # not subresources
            with self.lock:
                store.served[group] = frozenset(kinds)

    def load_scoped(self) -> ClusterStore:
        """The entry kinds only; `read` then loads what an analysis of the store asks for beyond them:
        one namespace's Services, the slices and pods of one Service (server-side selectors)."""
        store = ClusterStore()
        store.scope = self.namespace
        store.coverage = Coverage()
        self.read(store, [Read(kind, None) for kind in SCOPED_ENTRY])
        self._learn_served(store, store.routes())
        return store

    def read(self, store: ClusterStore, reads: list[Read]) -> None:
        coverage = store.coverage
        assert coverage is not None, "read() fills stores from load_scoped()"
        pending = {read: _describe(read) for read in reads}
        self._unread, self._reads = list(pending.values()), self._reads + len(reads)  # one call after another
        with gc_paused():
            for read, result in _concurrently(lambda r: self._read(store, r), reads, lambda r: "ktrace-read"):
                self._unread = [p for p in self._unread if p != pending[read]]
                if isinstance(result, Exception):
                    raise result
                coverage.add([read])

    def _read(self, store: ClusterStore, read: Read) -> Read:
        known = BY_KIND.get(read.kind)
        if known is None or known not in self.kinds or known.kind in self.absent:
            return read  # a kind ktrace does not read, or the server does not serve: a whole load holds none either
        kind = self._version_served(known)
        ns = read.namespace if kind.namespaced else None
        if kind.namespaced and self.namespace is not None:
            if ns not in (None, self.namespace):
                return read  # outside -n: a whole load of the scope holds none of it either
            ns = self.namespace
        try:
            self._fill(store, kind, ns, selectors.text(read.selector) or None, read.name)
        except ApiFailure as e:
            if e.status == 404:
                with self.lock:
                    self.absent.add(kind.kind)
                return read
            if e.status == 403 or e.gone:
                raise NarrowReadRefused(f"listing {kind.plural}: {e.status} {e.reason}") from None
            raise SourceError(self._fatal(e, kind)) from None
        return read

    def _serves_api(self) -> bool:
        """Whether the server has the core API group's root: every Kubernetes API server does."""
        try:
            self.api.get_bytes("/api", [])
        except ApiFailure as e:
            return e.status != 404
        return True

    def _note_partial(self, store: ClusterStore) -> None:
        """Some kinds could only be read in the context's namespace. If every namespaced kind is in that
        case, the store is a consistent view of that namespace. If others were read everywhere, objects
        in other namespaces would point at pods, services or secrets that merely went unread: the checks
        needing the partial kinds are skipped (marked unreadable), never reported as missing."""
        only = self.context.namespace
        plurals = ", ".join(k.plural for k in self.kinds if k.kind in self.partial)
        wider = [k.plural for k in self.kinds if k.namespaced and k.kind not in self.partial
                 and k.kind not in self.unreadable and k.kind not in self.absent]
        consequence = ""
        if wider:
            store.unreadable.update(self.partial)
            consequence = f"; checks that need them are skipped ({', '.join(wider)} were read everywhere)"
        self.notes.append(KIND_UNREADABLE.finding(
            "Namespace", only, "",
            f"cannot list {plurals} in all namespaces: only namespace {only} is read{consequence}",
            "ask for cluster-wide list/watch permission, or narrow the scope with -n", kinds=sorted(self.partial)))

    def _version_served(self, kind: Kind) -> Kind:
        """The kind at the first of its versions (`version`, then `older`) that discovery says the server
        serves; as it is when discovery cannot tell (the list then answers for itself, 404: absent)."""
        for version in (kind.version, *kind.older) if kind.older else ():
            resources = self._resources(kind.group, version)
            if resources and any(r.get("name") == kind.plural for r in resources):
                found = replace(kind, version=version)
                with self.lock:
                    self.served[kind.kind] = found
                return found
        return kind

    def _resources(self, group: str, version: str) -> tuple[dict, ...] | None:
        """Discovery: the resources the server serves in one group version, asked once (the kinds of a group
        share the answer); None when it is not served (404) or the answer is unreadable."""
        key = (group, version)
        with self._discovery_lock:
            if key not in self._discovered:
                try:
                    doc = orjson.loads(self.api.get_bytes(f"/apis/{group}/{version}", []))
                    self._discovered[key] = tuple(r for r in doc.get("resources", []) if isinstance(r, dict))
                except (ApiFailure, orjson.JSONDecodeError, AttributeError, TypeError):
                    self._discovered[key] = None
            return self._discovered[key]

    def _load_kind(self, kind: Kind, store: ClusterStore) -> dict[Target, str]:
        """List one kind in scope, falling back to the context's namespace when the whole cluster is
        forbidden. Returns the listed targets with the resourceVersion to watch them from."""
        kind = self._version_served(kind)
        ns = self.namespace if kind.namespaced else None
        try:
            return self._fill(store, kind, ns)
        except ApiFailure as e:
            if e.status == 404:
                self.absent.add(kind.kind)
                return {}
            if e.status != 403:
                raise
            forbidden = e
        fallback = self.context.namespace
        if kind.namespaced and ns is None and fallback:
            try:
                found = self._fill(store, kind, fallback)
            except ApiFailure as e:
                if e.status != 403:
                    raise
            else:
                with self.lock:
                    self.partial[kind.kind] = (fallback,)
                return found  # one note for all such kinds, made by load()
        where = f" in namespace {ns}" if ns else ""
        self.unreadable[kind.kind] = forbidden.message or "forbidden"
        self._note(kind, ns or "", f"cannot list {kind.plural}{where}: {_LOST.get(kind.kind, 'checks skipped')}",
                   f"ask for list/watch permission on {kind.plural}", forbidden)
        return {}

    def _note(self, kind: Kind, namespace: str, message: str, hint: str, cause: ApiFailure) -> None:
        with self.lock:
            self.notes.append(KIND_UNREADABLE.finding(kind.kind, namespace, "", message, hint,
                                      status=cause.status, reason=cause.message or cause.reason))

    def _targets(self, kind: Kind, namespace: str | None, label_selector: str | None, name: str) -> list[Target]:
        named = f"metadata.name={name}" if name else None
        if kind.kind == "Secret":
            # TLS first: the full list is then typed as it arrives.
            tls = ",".join(f for f in (TLS_SECRETS, named) if f)
            return [Target(kind, namespace, tls, metadata_only=True, label_selector=label_selector),
                    Target(kind, namespace, named, metadata_only=True, label_selector=label_selector)]
        return [Target(kind, namespace, named, metadata_only=kind.kind in METADATA_ONLY, label_selector=label_selector)]

    def _fill(self, store: ClusterStore, kind: Kind, namespace: str | None,
              label_selector: str | None = None, name: str = "") -> dict[Target, str]:
        """List one kind (in one namespace; with a label selector or a name: only the objects it selects)
        into the store, page by page. Returns the targets listed with the resourceVersion to watch from."""
        out: dict[Target, str] = {}
        for target in self._targets(kind, namespace, label_selector, name):
            try:
                out[target] = ""
                for items, rv in self.api.list_pages(target):
                    with self.lock:
                        self._add_pages(store, target, items)
                    out[target] = rv
            except ApiFailure as e:
                if not e.gone or label_selector or name:  # a relist reconciles whole kinds, not selections
                    raise
                # The paging snapshot expired: list again, reconcile.
                reconcile, out[target] = self._relisted(target)
                with self.lock:
                    reconcile(store)
        return out

    def _add_pages(self, store: ClusterStore, target: Target, items: list[dict]) -> None:
        if _lists_tls(target):
            self._tls.update(_key(i) for i in items)
            return
        if target.kind.kind == "Secret":
            self._type_secrets(items)
        store.load(items)

    def _type_secrets(self, items: list[dict]) -> None:
        for item in items:
            if _key(item) in self._tls:
                item["type"] = TLS_SECRET_TYPE

    def _relisted(self, target: Target) -> tuple[_Op, str]:
        """List a target again: how to reconcile a store with the listing (objects gone meanwhile are
        removed), and the resourceVersion to watch from. Records are built as pages arrive, so only
        the slim records of the whole listing are held, never its raw pages."""
        if _lists_tls(target):
            items, rv = self.api.list_all(target)
            current = {_key(i): i for i in items}

            def retype(store: ClusterStore) -> bool:
                self._retype_tls(current, store, target.namespace)
                return True
            return retype, rv
        kind, rv, records = target.kind, "", []
        for items, page_rv in self.api.list_pages(target):
            rv = page_rv
            if kind.kind == "Secret":
                self._type_secrets(items)
            for item in items:
                item["kind"], item["apiVersion"] = kind.kind, kind.api_version
                records.append(record_from_dict(item))

        def replace(store: ClusterStore) -> bool:
            store.replace_records(kind.kind, records, target.namespace)
            return True
        return replace, rv

    def _retype_tls(self, current: dict[tuple[str, str], dict], store: ClusterStore, namespace: str | None) -> None:
        """Bring the TLS set up to date after the TLS list was read again."""
        stale = {k for k in self._tls if namespace is None or k[0] == namespace}
        self._tls -= stale
        self._tls.update(current)
        for key, item in current.items():
            if key not in stale:
                self._mark_tls(store, item)

    def _mark_tls(self, store: ClusterStore, item: dict) -> bool:
        """A secret learnt to be TLS after it was stored untyped: store it again with its type (the
        store ignores a same-resourceVersion update, hence remove and add, atomic under the lock)."""
        key = _key(item)
        record = store.get("Secret", *key)
        if record is None or getattr(record, "type", "") == TLS_SECRET_TYPE:
            return False
        item["type"] = TLS_SECRET_TYPE
        store.apply("DELETED", item)
        store.apply("ADDED", item)
        return True

    # -- watching ------------------------------------------------------------------------------

    def watch(self, store: ClusterStore, on_change: Callable[[Change], None] | None = None,
              timeouts: WatchTimeouts | None = None, *, deferred: bool = False) -> Watcher:
        """Keep `store` (the one load() returned) current from threads; `on_change` is called from
        those threads after each change. `deferred`: the changes are only queued (`on_change` is
        called as each is queued) until `apply_pending()`. Returns the started Watcher (stop(), status)."""
        if self._watcher is not None:
            raise RuntimeError("already watching")
        self.store = store
        self._on_change = on_change
        self._deferred = deferred
        self._watcher = Watcher(self.api, dict(self._watch_from), self._on_event,
                                self._relist_and_tell, timeouts)
        self._watcher.start()
        return self._watcher

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def close(self) -> None:
        self.stop()
        self.api.client.close()

    @property
    def credentials_refused(self) -> bool:
        """A request was refused with 401, or the credentials could not be refreshed."""
        return self.api.credentials_refused

    @property
    def status(self) -> WatchStatus | None:
        return self._watcher.status if self._watcher is not None else None

    @property
    def progress(self) -> LoadProgress | None:
        unlisted, unread = self._unlisted, self._unread  # each replaced whole: read from any thread
        if unlisted is not None:  # a whole load, the narrow reads beside it aside
            return LoadProgress(len(self.kinds) - len(unlisted), len(self.kinds), tuple(unlisted))
        if self._reads:
            return LoadProgress(self._reads - len(unread), self._reads, tuple(unread), "lists")
        return None

    def apply_pending(self) -> list[Change]:
        """Apply what deferred watches queued since the last call, in order; the changes that changed
        the store (nothing without a deferred watch)."""
        with self._queue_lock:
            queued, self._queue = self._queue, {}
        store = self.store
        if not queued or store is None:
            return []
        with self.lock:
            return [change for reconcile, change in queued.values() if reconcile(store)]

    def _submit(self, key: _QueueKey, reconcile: _Op, change: Change) -> None:
        """A change from a watch thread: applied now under the lock, or (deferred) queued in place of
        what the same key queued before."""
        store = self.store
        assert store is not None
        if not self._deferred:
            with self.lock:
                changed = reconcile(store)
            if changed and self._on_change is not None:
                self._on_change(change)
            return
        with self._queue_lock:
            if change.type == "RELIST":  # the listing supersedes the queued events of what it lists
                stale = [k for k, (_, c) in self._queue.items() if c.kind == change.kind and c.type != "RELIST"
                         and (not change.namespace or c.namespace == change.namespace) and k[0] != "TLS"]
                for k in stale:
                    del self._queue[k]
            previous = self._queue.pop(key, None)
            if previous is not None and previous[1].type == "ADDED" and change.type == "MODIFIED":
                change = previous[1]  # still new to whoever applies it (the namespace counts change)
            self._queue[key] = (reconcile, change)
        if self._on_change is not None:
            self._on_change(change)

    def _relist_and_tell(self, target: Target) -> str:
        reconcile, rv = self._relisted(target)
        if _lists_tls(target):  # only retypes: the Secrets' own listing is another key
            key: _QueueKey = ("TLS-RELIST", target.namespace or "")
        else:
            key = ("RELIST", target.kind.kind, target.namespace or "")
        self._submit(key, reconcile, Change(target.kind.kind, "RELIST", target.namespace or "", ""))
        return rv

    def _on_event(self, target: Target, etype: str, obj: dict) -> None:
        kind = target.kind
        obj["kind"], obj["apiVersion"] = kind.kind, kind.api_version  # metadata watches say PartialObjectMetadata
        ns, name = _key(obj)
        if _lists_tls(target):
            # This stream only says which secrets are TLS; the full stream adds and removes them.
            with self.lock:  # learnt and submitted in one step, as the Secrets' stream types and submits
                if etype == "DELETED":
                    self._tls.discard((ns, name))
                    return
                self._tls.add((ns, name))
                self._submit(("TLS", ns, name), lambda store: self._mark_tls(store, obj),
                             Change(kind.kind, "MODIFIED", ns, name))
            return
        with self.lock if kind.kind == "Secret" else contextlib.nullcontext():
            if kind.kind == "Secret" and (ns, name) in self._tls:
                obj["type"] = TLS_SECRET_TYPE
            record = record_from_dict(obj)  # built here, off the thread that owns the store
            if kind.kind in ROUTE_KINDS and self.store is not None:
                self._learn_served(self.store, [record])
            self._submit((kind.kind, ns, name), lambda store: store.apply_record(etype, record),
                         Change(kind.kind, etype, ns, name))

    # -- errors --------------------------------------------------------------------------------

    def _fatal(self, e: ApiFailure, kind: Kind) -> str:
        c = self.context
        at = f"{c.server} (context {c.name!r})"
        if e.status == 401:
            return (f"the API server at {at} rejected the credentials (401 Unauthorized): they may have expired; "
                    f"log in again for context {c.name!r} and retry")
        if e.status == 0 and e.reason.startswith("TLS verification failed"):
            return f"{e.reason} for {at}: check the cluster's certificate-authority in your kubeconfig"
        if e.status == 0:
            return f"cannot reach the API server at {at}: {e.reason}"
        detail = f": {e.message}" if e.message else ""
        return f"the API server at {at} answered {e.status} {e.reason} listing {kind.plural}{detail}"


def _concurrently(work: Callable[[T], R], items: Sequence[T], name: Callable[[T], str]
                  ) -> Iterator[tuple[T, R | Exception]]:
    """`work` on every item, each in a thread of its own: (item, result or exception) as each ends.
    Daemon threads: when one fails fatally the caller reports at once, not after the others time out
    (nor does the process wait for them at exit)."""
    results: queue.Queue[tuple[T, R | Exception]] = queue.Queue()

    def run(item: T) -> None:
        try:
            results.put((item, work(item)))
        except Exception as e:  # handed to the caller's thread: never lost with a dead worker
            results.put((item, e))

    for item in items:
        threading.Thread(target=run, args=(item,), name=name(item), daemon=True).start()
    for _ in items:
        yield _next(results)


def _next(results: queue.Queue[T]) -> T:
    """The next result, waited for in slices: a signal's handler runs in the main thread only once it wakes
    (see ktrace.deadline)."""
    while True:
        try:
            return results.get(timeout=WAKE)
        except queue.Empty:
            continue


def _describe(read: Read) -> str:
    """A read as the progress line names it: `pods in team-a`, `services named web`."""
    kind = BY_KIND.get(read.kind)
    where = f" in {read.namespace}" if read.namespace else ""
    return f"{kind.plural if kind else read.kind}{where}" + (f" named {read.name}" if read.name else "")


def _lists_tls(target: Target) -> bool:
    """Whether the target is the metadata list that tells which Secrets are TLS ones."""
    return TLS_SECRETS in (target.field_selector or "").split(",")


def _key(obj: dict) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")
