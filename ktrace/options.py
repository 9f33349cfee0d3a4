"""What the user asked for, typed and frozen: built once by the command line (`cli.py`) and passed down.

No module below the entry points sees argparse: sources take a `SourceSpec`, the analysis takes
`AnalysisOptions`, the interactive view takes `ViewOptions`. Switching context in the TUI is
`dataclasses.replace(spec, context=name)`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PAGE_SIZE = 1000  # items per list request (`--page-size`): see the README's performance section


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Where the objects come from, and which namespaces are read.

    One scope rule for every command and the TUI: every namespace the user may list, unless
    `namespace` names one (`-n NS`)."""

    kubeconfig: str | None = None  # KUBECONFIG-style list of files; None: the environment's
    context: str | None = None  # None: the kubeconfig's current context
    namespace: str | None = None  # None: all namespaces
    files: tuple[str, ...] = ()  # offline manifests ("-" is stdin)
    demo: bool = False
    page_size: int = DEFAULT_PAGE_SIZE  # items per list request (the `limit` of each page)

    @property
    def live_cluster(self) -> bool:
        """A kubeconfig context (not files, not the demo): exec credential plugins may run."""
        return not self.files and not self.demo


def scope_text(namespace: str | None) -> str:
    """How every summary names its scope."""
    return f"namespace {namespace}" if namespace else "all namespaces"


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """How findings are computed and which are shown."""

    controller_namespace: str | None = None  # where the ingress controller's pods run (NetworkPolicy checks)
    controller_selector: str | None = None  # their labels, as a label selector
    check_certs: bool = False  # read the referenced TLS Secrets' tls.crt
    ignore: frozenset[str] = frozenset()  # finding codes to leave out (validated by the command line)
    min_severity: str = "info"  # `check`: the least severe finding listed (the exit code counts all)


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """The interactive view: how it draws, and where it starts."""

    ascii: bool = False  # ASCII symbols and borders
    mouse: bool = True
    low_bandwidth: bool | None = None  # None: decided from SSH_CONNECTION
    host: str | None = None  # start with this host[/path] selected


@dataclass(frozen=True, slots=True)
class PreviewRequest:
    """`trace TARGET --via SERVICE [--backend NAME] [--weights A=W,...]`: a switch to preview."""

    via: str | None = None
    backend: str | None = None
    weights: str | None = None


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """`ktrace plan -f CHANGES [--delete -f FILES]` (or `ktrace --plan ...`): the files to lay over the source."""

    changes: tuple[str, ...] = ()  # objects to apply (added or replacing theirs)
    deletes: tuple[str, ...] = ()  # objects to remove
