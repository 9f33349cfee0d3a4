"""Where the cluster comes from: offline manifests (`-f`), the embedded demo (`--demo`), or a live
cluster (the kubeconfig's context). Every source fills a ClusterStore and says what it could not read.

`Source` declares everything its callers use; the views talk to this protocol only, never to a
source's class or internals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ktrace.errors import SourceError, UsageError
from ktrace.findings import Finding
from ktrace.options import SourceSpec, scope_text
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


class Source(Protocol):
    live: bool  # readiness is knowable (statuses are real)
    notes: list[Finding]  # info findings: kinds that could not be read, documents skipped
    namespace: str | None  # the namespace read; None: all
    origins: Mapping[tuple[str, str, str], str]  # (kind, namespace, name) -> "file:line" (offline files only)

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held by whoever changes the store (watch threads) and by readers in other threads."""

    def describe(self) -> str:
        """Where the objects come from (`label()` adds the scope)."""

    def load(self) -> ClusterStore:
        """Read everything in scope into a new store (KtraceError with one line when it cannot;
        LoginRequired, from here or from opening the source, when a credential plugin needs the terminal)."""

    def watch(self, store: ClusterStore, on_change: Callable[[Change], None]) -> Any:
        """Keep `store` current from threads, calling `on_change` after each change (no-op offline)."""

    @property
    def status(self) -> WatchStatus | None:
        """The watches' state; None when the source does not watch."""

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


class WithoutCredentials:
    """For sources that need no credentials and offer no other context: files and the demo."""

    credentials_refused = False

    def renew_credentials(self) -> None:
        """Nothing is cached: nothing to renew."""

    def contexts(self) -> list[tuple[str, bool]]:
        return []


def open_source(spec: SourceSpec) -> Source:
    """The source the spec names: files, the demo, else the kubeconfig's context."""
    if spec.files and spec.demo:
        raise UsageError("use either -f or --demo, not both")
    if spec.files:
        from ktrace.sources.manifests import ManifestSource

        return ManifestSource(list(spec.files), namespace=spec.namespace)
    if spec.demo:
        from ktrace.sources.demo import DemoSource

        return DemoSource(namespace=spec.namespace)
    try:
        from ktrace.sources.live import open_live
    except ImportError as e:  # the kubernetes client (or the live source) is not installed
        raise SourceError(f"live clusters are not available in this installation ({e}); use -f or --demo") from None
    return open_live(spec)


def prepare_credentials(spec: SourceSpec, interactive: bool) -> None:
    """Run a live context's exec credential plugin now, with the terminal if `interactive` (a login
    may prompt): before a TUI takes the screen, or before `trace`/`check` run at a terminal, as
    kubectl would. Nothing happens for files, the demo, or a context without a plugin."""
    if not spec.live_cluster:
        return
    from ktrace.sources.live import prepare_live_credentials

    prepare_live_credentials(spec, interactive)
