"""What every source offers: `Source` declares everything its callers use, so the views and the
analysis entry point talk to this protocol only, never to a source's class or internals (and this
module imports none of them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ktrace.coverage import Read
from ktrace.findings import Finding
from ktrace.options import scope_text
from ktrace.store import ClusterStore

# (namespace, name) -> tls.crt bytes of that Secret; raises ktrace.certs.CertUnavailable
CertificateReader = Callable[[str, str], bytes]


@dataclass(frozen=True, slots=True)
class Change:
    """One change applied to the store by a watch (type RELIST: a whole kind was reconciled)."""

    kind: str
    type: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """What a status bar shows: `state` is live, reconnecting, stale or stopped; `since` is when the
    data stopped being current (None while live)."""

    state: str
    since: float | None
    last_error: str | None
    streams: int
    down: int


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """How far a load() running in another thread is: `done` of `total` kinds (or, reading part of a
    cluster, lists) read; `pending` what is still being read (plurals, maybe with a namespace)."""

    done: int
    total: int
    pending: tuple[str, ...]
    unit: str = "kinds"

    def __str__(self) -> str:
        return f"{self.done} of {self.total} {self.unit}"


class Source(Protocol):
    live: bool  # readiness is knowable (statuses are real)
    notes: list[Finding]  # info findings: kinds that could not be read, documents skipped
    namespace: str | None  # the namespace read; None: all
    origins: Mapping[tuple[str, str, str], str]  # (kind, namespace, name) -> "file:line" (offline files only)

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held by whoever changes the store (watch threads, `apply_pending`) and by readers in other threads."""

    def describe(self) -> str:
        """Where the objects come from (`label()` adds the scope)."""

    def load(self) -> ClusterStore:
        """Read everything in scope into a new store (KtraceError with one line when it cannot;
        LoginRequired, from here or from opening the source, when a credential plugin needs the terminal)."""

    def load_scoped(self) -> ClusterStore | None:
        """A store of the kinds every path starts from (ktrace.coverage), whose `coverage` notes what an
        analysis reads beyond them, for `read` to load; None when this source holds everything at once."""

    def read(self, store: ClusterStore, reads: list[Read]) -> None:
        """Load `reads` into a store from `load_scoped` (KtraceError with one line when the cluster
        cannot be read; NarrowReadRefused when a narrow read is not allowed: load the whole source)."""

    def watch(self, store: ClusterStore, on_change: Callable[[Change], None], *, deferred: bool = False) -> Any:
        """Keep `store` current from threads, calling `on_change` after each change (no-op offline).
        `deferred`: the threads only queue the changes (one per object, its last state; relists in
        order), calling `on_change` as each is queued; `apply_pending` applies them."""

    def apply_pending(self) -> list[Change]:
        """Apply the changes a deferred watch queued, from the thread that owns the store (which then
        reads it without the lock, since nothing else writes it); returns those that changed it."""

    @property
    def status(self) -> WatchStatus | None:
        """The watches' state; None when the source does not watch."""

    @property
    def progress(self) -> LoadProgress | None:
        """While load() runs (read from any thread): how far it is; None before, or with nothing to count."""

    @property
    def credentials_refused(self) -> bool:
        """The server refused the credentials (401), or refreshing them failed: reconnect with fresh ones."""

    def renew_credentials(self) -> None:
        """Forget cached credentials, so the next load gets new ones (non-interactively)."""

    def document(self, kind: str, namespace: str, name: str) -> tuple[dict, str] | None:
        """The whole object as the source has it and where from (the YAML view); never Secret data.
        None when only the store's record can be shown."""

    def contexts(self) -> list[tuple[str, bool]]:
        """The kubeconfig contexts this source could read instead, and whether each is the one read
        ([] when there is nothing to switch: files, the demo, in-cluster)."""

    def certificate_reader(self) -> CertificateReader | None:
        """--check-certs: how to read a TLS Secret's certificate; None when this source cannot."""

    def close(self) -> None:
        """Stop watches and release connections and temporary files."""


def label(source: Source) -> str:
    """The source and the scope it read: how every summary and message names what was analysed."""
    return f"{source.describe()}, {scope_text(source.namespace)}"


class NarrowReadRefused(Exception):
    """The cluster refused a read of part of a kind (forbidden in that namespace, or a paging snapshot
    that expired): the answer needs a whole load instead."""


class WithoutCredentials:
    """For sources that need no credentials, offer no other context and hold everything in memory:
    files and the demo."""

    credentials_refused = False

    def load_scoped(self) -> None:
        """Everything is read at once: there is nothing to save by reading part of it."""

    def read(self, store: ClusterStore, reads: list[Read]) -> None:
        raise NarrowReadRefused("this source is read whole")

    def renew_credentials(self) -> None:
        """Nothing is cached: nothing to renew."""

    def contexts(self) -> list[tuple[str, bool]]:
        return []


