"""Where the cluster comes from: offline manifests (`-f`), the embedded demo (`--demo`), or a live
cluster (the kubeconfig's context). Every source fills a ClusterStore and says what it could not read;
`ktrace.sources.protocol` says what they all offer.
"""

from __future__ import annotations

from ktrace.errors import SourceError, UsageError
from ktrace.options import SourceSpec
from ktrace.sources.protocol import Source


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


def apply_namespace(spec: SourceSpec) -> str:
    """The namespace `kubectl apply -f` gives an object whose file names none: `-n`, else the context's (a live
    cluster), else default."""
    if spec.namespace:
        return spec.namespace
    if not spec.live_cluster:
        return "default"
    from ktrace.sources.kubeconfig import resolve_context

    return resolve_context(spec.kubeconfig, spec.context).namespace


def prepare_credentials(spec: SourceSpec, interactive: bool) -> None:
    """Run a live context's exec credential plugin now, with the terminal if `interactive` (a login
    may prompt): before a TUI takes the screen, or before `trace`/`check` run at a terminal, as
    kubectl would. Nothing happens for files, the demo, or a context without a plugin."""
    if not spec.live_cluster:
        return
    from ktrace.sources.live import prepare_live_credentials

    prepare_live_credentials(spec, interactive)
