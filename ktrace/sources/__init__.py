"""Where the cluster comes from: offline manifests (`-f`), the embedded demo (`--demo`), or a live
cluster (the kubeconfig's context). Every source fills a ClusterStore and says what it could not read."""

from __future__ import annotations

from typing import Any, Protocol

from ktrace.errors import SourceError, UsageError
from ktrace.findings import Finding
from ktrace.store import ClusterStore


class Source(Protocol):
    live: bool  # readiness is knowable (statuses are real)
    notes: list[Finding]  # info findings: kinds that could not be read, documents skipped

    def describe(self) -> str: ...

    def load(self) -> ClusterStore: ...

    def close(self) -> None: ...


def open_source(args: Any) -> Source:
    """The source the CLI options name: -f files, --demo, else the kubeconfig's context."""
    files = getattr(args, "filename", None)
    if files and getattr(args, "demo", False):
        raise UsageError("use either -f or --demo, not both")
    if files:
        from ktrace.sources.manifests import ManifestSource

        return ManifestSource(files, namespace=getattr(args, "namespace", None))
    if getattr(args, "demo", False):
        from ktrace.sources.demo import DemoSource

        return DemoSource(namespace=getattr(args, "namespace", None))
    try:
        from ktrace.sources.live import open_live
    except ImportError as e:  # the kubernetes client (or the live source) is not installed
        raise SourceError(f"live clusters are not available in this installation ({e}); use -f or --demo") from None
    return open_live(args)
