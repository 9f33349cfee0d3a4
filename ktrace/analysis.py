"""The one analysis entry point: check everything, trace one target, preview a switch, plan changes, compare two
sources.

`ktrace trace`, `ktrace check`, `--via`/`--weights`, and the interactive view (its path, its
findings view, the `y` copy and the preview screen) all go through `Analysis`, so they give one
answer. Suppression (`--ignore` and the `ktrace.dev/ignore` annotation) is applied here and
nowhere else.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from ktrace import selectors
from ktrace.certs import CertificateBook
from ktrace.checks import CheckUnits
from ktrace.checks.networkpolicy import ControllerHint
from ktrace.checks.units import ChangeKey
from ktrace.errors import KtraceError, UsageError
from ktrace.findings import Finding, sort_key
from ktrace.options import AnalysisOptions
from ktrace.plan import (
    ObjectChange,
    Plan,
    RouteChange,
    apply,
    compare,
    differing,
    ingress_side,
    moved_entry_points,
    named_by,
    report,
    touched,
)
from ktrace.preview import Preview, preview
from ktrace.requestpath import LastChange
from ktrace.routing import rule_targets
from ktrace.sources.protocol import NarrowReadRefused, Source, label
from ktrace.store import ClusterStore
from ktrace.suppress import suppress, suppressed
from ktrace.targets import Target
from ktrace.trace import RequestPath, trace
from ktrace.verdicts import RouteVerdicts

T = TypeVar("T")
# A path reads tier by tier, one read per round (ktrace.coverage): about ten rounds of small lists.
_ROUNDS = 64


def controller_hint(options: AnalysisOptions) -> ControllerHint | None:
    """--controller-namespace/--controller-selector, parsed before any source is opened."""
    ns, text = options.controller_namespace, options.controller_selector
    if not ns and not text:
        return None
    try:
        sel = selectors.parse(text or "")
    except selectors.SelectorError as e:
        raise UsageError(f"--controller-selector: {e}") from None
    return ControllerHint(ns or "", sel)


def _stamp(path: RequestPath, store: ClusterStore) -> None:
    """Each hop's last change (its object's latest managedFields entry) and the changes seen live on the
    path's objects."""
    keys = []
    for hop in path.hops:
        if not hop.name:
            continue
        keys.append((hop.kind, hop.namespace, hop.name))
        found = store.peek(hop.kind, hop.namespace, hop.name)
        if found is not None and found.meta.changed:
            hop.last_change = LastChange(found.meta.changed, found.meta.manager)
    path.changes = store.history.of(keys)


class Analysis:
    """The analysis of one loaded source. Thread-safe as far as the store is: callers that share the
    store with watch threads hold the source's lock around each call (or, with a deferred watch, call
    from the thread that applies the changes)."""

    def __init__(self, source: Source, store: ClusterStore, options: AnalysisOptions,
                 controllers: ControllerHint | None = None) -> None:
        self.source, self.store, self.options = source, store, options
        self.controllers = controllers if controllers is not None else controller_hint(options)
        self._certs: CertificateBook | None = None
        self._units = CheckUnits(store, live=source.live, controllers=self.controllers, keep=self._kept)
        self._notes: list[Finding] = []  # the source's notes the last check listed
        # The findings the last check or recheck removed and added (notes included).
        self.changed: tuple[list[Finding], list[Finding]] = ([], [])

    @property
    def live(self) -> bool:
        return self.source.live

    def _certificates(self, fresh: bool = False) -> CertificateBook | None:
        """--check-certs: a book that reads each referenced Secret once. `fresh` starts a new one, so a
        renewed certificate is read again (each full check); traces reuse the last book's reads."""
        if not self.options.check_certs:
            return None
        if fresh or self._certs is None:
            read = self.source.certificate_reader()
            if read is None:
                raise UsageError(f"--check-certs cannot read certificates from {label(self.source)}")
            self._certs = CertificateBook(read)
        return self._certs

    def _suppress(self, findings: list[Finding]) -> list[Finding]:
        return suppress(findings, self.store, self.options.ignore)

    def _kept(self, f: Finding) -> bool:
        return not suppressed(f, self.store, self.options.ignore)

    def check(self) -> list[Finding]:
        """Every finding in scope, the source's own notes included, suppressed and sorted."""
        return self._noted(self._units.check_all(self._fresh_certificates()))

    def recheck(self, changes: Iterable[ChangeKey]) -> list[Finding]:
        """What `check()` would return after `changes` were applied to the store, re-running only the
        checks they can affect (the last `check()` or `recheck()` keeps the others' findings)."""
        return self._noted(self._units.recheck(changes, self._fresh_certificates()))

    @property
    def rechecked_services(self) -> set[tuple[str, str]]:
        """The (namespace, name) of the Services the last check or recheck re-ran: those whose
        endpoints may have changed."""
        return self._units.rechecked_services

    def _fresh_certificates(self) -> Callable[[], CertificateBook | None] | None:
        return (lambda: self._certificates(fresh=True)) if self.options.check_certs else None

    def _noted(self, found: list[Finding]) -> list[Finding]:
        """The checks' findings (sorted and suppressed already) with the source's notes, as one sort of
        both would place them: a note before a finding of the same sort key."""
        notes = self._suppress(sorted(self.source.notes, key=sort_key))
        removed, added = self._units.changed
        if notes != self._notes:
            removed, added = removed + self._notes, added + notes
            self._notes = notes
        self.changed = (removed, added)
        out = list(found)
        for note in reversed(notes):
            out.insert(bisect_left(found, sort_key(note), key=sort_key), note)
        return out

    def _complete(self, answer: Callable[[], T]) -> T:
        """The answer over the store. Over a scoped store (`Source.load_scoped`), what the answer read
        beyond the store is loaded and the answer computed again, until it reads nothing new: it is then
        the answer a store of the whole cluster gives."""
        coverage = self.store.coverage
        for _ in range(_ROUNDS):
            try:
                result = answer()
            except KtraceError:  # maybe for want of what is not read yet (a --via Service): read it, ask again
                if coverage is None or not (missing := coverage.take_missing()):
                    raise
            else:
                missing = coverage.take_missing() if coverage is not None else []
                if not missing:
                    return result
            self.source.read(self.store, missing)
        raise NarrowReadRefused(f"the answer still needed more after {_ROUNDS} rounds of reads")

    def trace(self, target: str | Target) -> RequestPath:
        """One request path, hop by hop, with the findings on it (suppressed). A host that nothing serves is
        an answer (a broken path with `host-no-route`), not an error."""
        def traced() -> tuple[RequestPath, list[Finding]]:
            path = trace(self.store, target, live=self.live, controllers=self.controllers,
                         certs=self._certificates())
            return path, self._suppress(path.findings)
        path, kept = self._complete(traced)
        path.findings = kept
        _stamp(path, self.store)
        return path

    def routes(self) -> RouteVerdicts:
        """Every route's path and verdict (what `check` says each finding affects; the interactive view
        keeps it current with `refresh` as the store changes)."""
        return RouteVerdicts(self.store, self.trace, self.controllers)

    def preview(self, target: str | Target, via: str | None, *, backend: str | None = None,
                weights: Mapping[str, int] | None = None) -> Preview:
        """The would-be path with another backend or split, and its difference against today's."""
        def previewed() -> Preview:
            p = preview(self.store, target, via, live=self.live, backend=backend, weights=weights,
                        controllers=self.controllers, certs=self._certificates())
            p.today.findings = self._suppress(p.today.findings)
            p.would_be.findings = self._suppress(p.would_be.findings)
            p.appear = self._suppress(p.appear)
            p.disappear = self._suppress(p.disappear)
            return p
        return self._complete(previewed)

    def plan(self, changes: list[ObjectChange], *, every_route: bool = False) -> Plan:
        """What `changes` do to traffic: the routes they can touch (`every_route`: all of them) traced before and
        after, and the findings that appear or go. The changes are applied to this analysis's store (in memory):
        afterwards it answers for the changed cluster, as a watch batch would leave it."""
        if self.store.coverage is not None:  # the plan reads its routes from the indexes: it needs the whole store
            raise UsageError("a plan needs the whole source loaded, not a scoped one")
        findings_before = self.check()
        existed = set(rule_targets(self.store))
        targets = None if every_route else touched(self.store, changes, self.controllers)
        if targets is None:
            targets = existed | named_by(changes)
        before = {t: self.trace(t) for t in targets}
        ingresses = ingress_side(self.store, changes)
        findings_after = self.recheck(apply(self.store, changes))
        exists = set(rule_targets(self.store))
        routes = list(compare(targets, before.__getitem__, self.trace, existed, exists))
        out = report(changes, routes, findings_before, findings_after)
        if ingresses is not None:
            out.entry_points = moved_entry_points(routes, ingresses, self.store, live_before=self.live,
                                                  live_after=self.live)
        return out

    def diff(self, other: Analysis) -> Plan:
        """Every route of either source traced on both, and what differs from this one to `other`."""
        mine, theirs = set(rule_targets(self.store)), set(rule_targets(other.store))
        routes = list(compare(mine | theirs, self.trace, other.trace, mine, theirs))
        out = report(differing(self.store, other.store), routes, self.check(), other.check())
        out.entry_points = moved_entry_points(routes, self.store, other.store, live_before=self.live,
                                              live_after=other.live)
        return out

    def lay_over(self, changes: list[ObjectChange], verdicts: RouteVerdicts) -> tuple[list[RouteChange], list[Finding]]:
        """The changes applied to the store, for the interactive view: every route before is read from `verdicts`
        (current for this store), which is then refreshed, incrementally, with the changes; each route of either
        side compared (in request order), and the findings after. A route that only the changes name (found when
        they are applied, like a Gateway's listener hostname) had no path before: it compares against none."""
        existed = set(verdicts.paths)
        new = named_by(changes) - existed
        before = {**verdicts.paths, **{t: self.trace(t) for t in new}}
        keys = apply(self.store, changes)
        findings = self.recheck(keys)
        verdicts.refresh(keys)
        exists = set(verdicts.paths)

        def was(t: Target) -> RequestPath:
            return before.get(t) or RequestPath(str(t), t.host, t.path)

        def now(t: Target) -> RequestPath:
            return verdicts.paths.get(t) or self.trace(t)

        return list(compare(before.keys() | exists, was, now, existed, exists)), findings
