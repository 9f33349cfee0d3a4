"""The problem marks of the four panes, kept current batch by batch. Pure (no Textual).

At load the marks are computed over every row (`selection.problem_marks`, `verdict_marks`); a batch then
changes only the marks of the rows it touches: the rows it changed, the rows of the objects whose worst
finding changed, the routes whose verdict changed, and the namespaces of all those. Indexes kept here
(the rows by object and by route, counts per namespace) find them without walking the panes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ktrace.findings import Finding
from ktrace.requestpath import PathStatus
from ktrace.tui import rows as R
from ktrace.tui.rowdiff import PaneChange
from ktrace.tui.selection import (
    MARK_RANK,
    PANE_IDS,
    VERDICT_MARK,
    Key,
    Ref,
    problem_marks,
    verdict_marks,
    worse_marks,
    worst_by_object,
)
from ktrace.verdicts import Entry

MarkChanges = dict[str, dict[Key, str | None]]  # pane -> row key -> its new mark (None: none any more)


def _worst(counts: Counter[str]) -> str | None:
    return max((m for m, n in counts.items() if n > 0), key=MARK_RANK.__getitem__, default=None)


def _worse_of(a: str | None, b: str | None) -> str | None:
    return a if b is None or (a is not None and MARK_RANK[a] >= MARK_RANK[b]) else b


class ProblemMarks:
    def __init__(self, rows: Mapping[str, Iterable[R.Row]], findings: Iterable[Finding],
                 statuses: Mapping[Entry, PathStatus]) -> None:
        """Every pane's marks from scratch: `rows` of each pane, the findings, every route's verdict."""
        findings = list(findings)
        self._rows: dict[str, dict[Key, R.Row]] = {p: {r.key: r for r in rows.get(p, ())} for p in PANE_IDS}
        self._counts: dict[Ref, Counter[str]] = {}  # error and warning findings about each object
        self._note(findings, 1)
        self.worst: dict[Ref, str] = worst_by_object(findings)
        self._verdicts: dict[Entry, str] = {e: VERDICT_MARK[s] for e, s in statuses.items() if s in VERDICT_MARK}
        self._keys_of: dict[str, dict[Ref, set[Key]]] = {p: {} for p in PANE_IDS if p != "namespaces"}
        self._routes: dict[Entry, set[Key]] = {}  # the routes pane's rows of each route
        self._ns_problems: dict[str, Counter[str]] = {}  # namespace -> its objects' worst, counted
        self._ns_verdicts: dict[str, Counter[str]] = {}  # namespace -> its route rows' verdicts, counted
        for ref, severity in self.worst.items():
            self._count_problem(ref[1], severity, 1)
        for pane, by_key in self._rows.items():
            for row in by_key.values():
                self._index(pane, row, 1)
        verdicts = verdict_marks(self._rows["rules"].values(), statuses)
        self.marks: dict[str, dict[Key, str]] = {
            p: worse_marks(problem_marks(p, self._rows[p].values(), self.worst), verdicts.get(p, {}))
            for p in PANE_IDS}

    def update(self, panes: Mapping[str, PaneChange], removed: Iterable[Finding], added: Iterable[Finding],
               verdicts: Mapping[Entry, PathStatus | None]) -> MarkChanges:
        """One batch: the panes' row changes, the findings it removed and added, the routes whose verdict
        changed (None: the route is gone). Returns the marks that changed."""
        dirty: dict[str, set[Key]] = {p: set() for p in PANE_IDS}
        namespaces: set[str] = set()
        for entry, status in verdicts.items():  # first: rows indexed from here on count the new verdict
            keys = list(self._routes.get(entry, ()))
            for key in keys:
                self._index("rules", self._rows["rules"][key], -1)
            mark = VERDICT_MARK.get(status)  # type: ignore[call-overload]
            if mark is None:
                self._verdicts.pop(entry, None)
            else:
                self._verdicts[entry] = mark
            for key in keys:
                row = self._rows["rules"][key]
                self._index("rules", row, 1)
                dirty["rules"].add(key)
                namespaces.add(row.namespace)
        for pane, change in panes.items():
            rows = self._rows[pane]
            gone = list(rows) if change.rows is not None else change.removed
            for key in [*gone, *(r.key for r in change.upserts)]:
                old = rows.pop(key, None)
                if old is not None:
                    self._index(pane, old, -1)
                    namespaces.add(old.namespace)
                dirty[pane].add(key)
            for row in change.rows if change.rows is not None else change.upserts:
                rows[row.key] = row
                self._index(pane, row, 1)
                namespaces.add(row.namespace)
                dirty[pane].add(row.key)
        touched = {(f.kind, f.namespace, f.name) for f in (*self._note(removed, -1), *self._note(added, 1))}
        for ref in touched:
            worst = _worst(self._counts.get(ref, Counter()))
            if worst == self.worst.get(ref):
                continue
            self._count_problem(ref[1], self.worst.get(ref), -1)
            self._count_problem(ref[1], worst, 1)
            if worst is None:
                del self.worst[ref]
            else:
                self.worst[ref] = worst
            namespaces.add(ref[1])
            for pane, keys_of in self._keys_of.items():
                dirty[pane] |= keys_of.get(ref, set())
        dirty["namespaces"] |= {(ns,) for ns in namespaces if ns}
        out: MarkChanges = {}
        for pane, keys in dirty.items():
            marks = self.marks[pane]
            for key in keys:
                mark = self._mark(pane, key)
                if mark != marks.get(key):
                    if mark is None:
                        del marks[key]
                    else:
                        marks[key] = mark
                    out.setdefault(pane, {})[key] = mark
        return out

    def _mark(self, pane: str, key: Key) -> str | None:
        if pane == "namespaces":  # its objects' worst problem (when it has a row), its routes' worst verdict
            ns = key[0]
            problem = _worst(self._ns_problems.get(ns, Counter())) if key in self._rows[pane] else None
            return _worse_of(problem, _worst(self._ns_verdicts.get(ns, Counter())))
        row = self._rows[pane].get(key)
        if row is None:
            return None
        mark = None
        for ref in (row.ref, *row.also):
            mark = _worse_of(mark, self.worst.get(ref))
        return _worse_of(mark, self._verdicts.get(R.row_target(key))) if pane == "rules" else mark

    def _note(self, findings: Iterable[Finding], step: int) -> list[Finding]:
        """Count (step 1) or uncount (-1) the error and warning findings; returns those."""
        noted = [f for f in findings if f.severity in ("error", "warning")]
        for f in noted:
            counts = self._counts.setdefault((f.kind, f.namespace, f.name), Counter())
            counts[f.severity] += step
            if not +counts:
                del self._counts[(f.kind, f.namespace, f.name)]
        return noted

    def _count_problem(self, ns: str, severity: str | None, step: int) -> None:
        if ns and severity is not None:
            _bump(self._ns_problems, ns, severity, step)

    def _index(self, pane: str, row: R.Row, step: int) -> None:
        """Add (step 1) or remove (-1) a row in the indexes."""
        if pane == "namespaces":
            return
        for ref in (row.ref, *row.also):
            keys = self._keys_of[pane].setdefault(ref, set())
            (keys.add if step > 0 else keys.discard)(row.key)
            if not keys:
                del self._keys_of[pane][ref]
        if pane != "rules":
            return
        entry = R.row_target(row.key)
        keys = self._routes.setdefault(entry, set())
        (keys.add if step > 0 else keys.discard)(row.key)
        if not keys:
            del self._routes[entry]
        mark = self._verdicts.get(entry)
        if mark is not None and row.namespace:
            _bump(self._ns_verdicts, row.namespace, mark, step)


def _bump(counts: dict[str, Counter[str]], ns: str, mark: str, step: int) -> None:
    c = counts.setdefault(ns, Counter())
    c[mark] += step
    if not +c:
        del counts[ns]
