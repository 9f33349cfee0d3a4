"""Command palette providers (`:`), ktrace's own only: focus a pane by its k9s name (`ing`, `svc`,
`po`, `ns`), switch namespace (`ns NAME`, or all), jump to any host and path, switch kubeconfig
context when the source is a live cluster.

They call these app methods: `focus_pane(pane_id)`, `set_namespace(ns: str | None)`,
`select_target(target)` (a "host/path" string, or a `Target("", path)` for host-less rules, which
have no host to type) and `switch_context(name: str)`; they read `app.store` (ClusterStore) and
`app.source`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider, SearchIcon

from ktrace.printable import clean
from ktrace.routing import rule_targets
from ktrace.verdicts import entry_text

Choice = tuple[str, Callable[[], Any], str]  # (label, command, help)
PLACEHOLDER = "a pane (ing, svc, po, ns), ns NAME, a host or a context"


class Palette(CommandPalette):
    """Textual's palette with ktrace's prompt; in ASCII mode without the magnifier emoji."""

    def __init__(self, ascii_only: bool) -> None:
        super().__init__(placeholder=PLACEHOLDER, id="--command-palette")
        self.ascii_only = ascii_only

    def on_mount(self) -> None:
        if self.ascii_only:
            self.query_one(SearchIcon).icon = ">"


class _ChoiceProvider(Provider):
    """Fuzzy search over a list of labelled commands built when the palette opens. `prefixes`: words a
    kubectl or k9s user types first (`ns payments`), taken off the query before matching."""

    prefixes: tuple[str, ...] = ()

    def choices(self) -> list[Choice]:
        raise NotImplementedError

    async def startup(self) -> None:
        self._choices = self.choices()

    async def discover(self) -> Hits:
        for label, command, help_text in self._choices:
            yield DiscoveryHit(label, command, help=help_text)

    async def search(self, query: str) -> Hits:
        head, _, rest = query.strip().partition(" ")
        if head in self.prefixes and rest.strip():
            query = rest.strip()
        matcher = self.matcher(query)
        for label, command, help_text in self._choices:
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), command, text=label, help=help_text)


class PaneCommands(_ChoiceProvider):
    """k9s-style resource names focus their pane: `ing`, `routes`, `svc`, `po`, `ns`."""

    def choices(self) -> list[Choice]:
        app: Any = self.app
        panes = (("ing", "rules", "routes: Ingress rules and Gateway routes"), ("routes", "rules", "the routes pane"),
                 ("svc", "services", "the services pane"), ("po", "pods", "the pods pane"),
                 ("ns", "namespaces", "the namespaces pane"))
        return [(alias, partial(app.focus_pane, pane), f"focus {what}") for alias, pane, what in panes]


class NamespaceCommands(_ChoiceProvider):
    prefixes = ("ns", "namespace")

    def choices(self) -> list[Choice]:
        app: Any = self.app
        out: list[Choice] = [("namespace: all", partial(app.set_namespace, None), "show every namespace")]
        for ns in app.store.namespaces():
            out.append((f"namespace: {clean(ns)}", partial(app.set_namespace, ns), "limit the panes to it"))
        return out


class HostCommands(_ChoiceProvider):
    def choices(self) -> list[Choice]:
        app: Any = self.app
        out: list[Choice] = []
        for target in rule_targets(app.store):
            label = f"go to {clean(entry_text(target))}"
            what = _WHAT.get(target.scheme, "this host and path")
            out.append((label, partial(app.select_target, target),
                        f"trace {what}" if target.host else "rules without a host (any host)"))
        return out


_WHAT = {"grpc": "this gRPC call (GRPCRoute)", "tls": "a TLS connection by SNI (TLSRoute)"}  # by target scheme


class ContextCommands(_ChoiceProvider):
    def choices(self) -> list[Choice]:
        app: Any = self.app
        source = app.source  # files, demo, in-cluster: no contexts to switch to
        return [(f"context: {clean(name)}", partial(app.switch_context, name),
                 "current context" if current else "reconnect to this context")
                for name, current in (source.contexts() if source is not None else [])]
