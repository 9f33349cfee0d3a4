"""The findings of every check unit in the order a full check gives them, kept sorted as units re-run: a
batch of changes costs a few insertions and removals, never a sort of every finding.

A full check lists the units' findings one unit after another and sorts them stably by `sort_key`; here
each finding's place is (its sort key, its unit, its index in the unit), the same order wherever two
findings differ. A `keep` filter (the suppressions) decides which are listed; findings it drops are
kept aside, so a change to what it reads (an ignore annotation) is decided again with `refilter`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable

from ktrace.findings import Finding, sort_key

Unit = tuple[int, str, str]  # (the unit's group, in a full check's order; namespace; name)
Place = tuple[tuple, Unit, int]  # (sort key, unit, index in the unit)
Ref = tuple[str, str, str]  # (kind, namespace, name) of a finding's object


def _ref(f: Finding) -> Ref:
    return (f.kind, f.namespace, f.name)


class OrderedFindings:
    def __init__(self, keep: Callable[[Finding], bool] | None = None) -> None:
        self.keep = keep
        self._runs: dict[Hashable, list[Place]] = {}  # what each run (a unit, or a pod's not-ready) put here
        self._of: dict[Place, Finding] = {}
        self._about: dict[Ref, set[Place]] = {}  # every finding by its object, listed or not
        self._places: list[Place] = []  # the listed ones, sorted...
        self._listed: list[Finding] = []  # ...and their findings, in the same order
        self.removed: list[Finding] = []  # listed findings that went and came since `take_changes`
        self.added: list[Finding] = []

    def findings(self) -> list[Finding]:
        return list(self._listed)

    def set(self, run: Hashable, unit: Unit, findings: Iterable[tuple[int, Finding]]) -> None:
        """Replace what `run` put here with `findings` (index in the unit, finding), placed as `unit`'s."""
        for place in self._runs.pop(run, ()):
            f = self._of.pop(place)
            about = self._about[_ref(f)]
            about.discard(place)
            if not about:
                del self._about[_ref(f)]
            self._unlist(place, f)
        places = []
        for i, f in findings:
            place = (sort_key(f), unit, i)
            places.append(place)
            self._of[place] = f
            self._about.setdefault(_ref(f), set()).add(place)
            if self.keep is None or self.keep(f):
                self._list(place, f)
        if places:
            self._runs[run] = places

    def refilter(self, ref: Ref) -> None:
        """Decide again whether to list the findings about one object (its annotations changed)."""
        if self.keep is None:
            return
        for place in self._about.get(ref, ()):
            f = self._of[place]
            if self.keep(f):
                self._list(place, f)
            else:
                self._unlist(place, f)

    def take_changes(self) -> tuple[list[Finding], list[Finding]]:
        """The listed findings removed and added since the last call."""
        out = (self.removed, self.added)
        self.removed, self.added = [], []
        return out

    def _list(self, place: Place, f: Finding) -> None:
        i = bisect_left(self._places, place)
        if i < len(self._places) and self._places[i] == place:
            return
        self._places.insert(i, place)
        self._listed.insert(i, f)
        self.added.append(f)

    def _unlist(self, place: Place, f: Finding) -> None:
        i = bisect_left(self._places, place)
        if i < len(self._places) and self._places[i] == place:
            del self._places[i]
            del self._listed[i]
            self.removed.append(f)
