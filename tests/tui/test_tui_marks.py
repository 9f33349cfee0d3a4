"""The problem marks kept batch by batch equal the marks computed over every row, and a batch reports only
the marks that changed."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings

from ktrace.analysis import Analysis
from ktrace.options import AnalysisOptions
from ktrace.requestpath import PathStatus
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.tui import rows as R
from ktrace.tui.marks import MarkChanges, ProblemMarks
from ktrace.tui.rowdiff import PaneChange, pane_changes
from ktrace.verdicts import RouteVerdicts
from tests.core.test_incremental_checks import BASES, _apply, _Source, changes


def _rows(store: ClusterStore) -> dict[str, list[R.Row]]:
    return {"namespaces": R.namespace_rows(store), "rules": R.rule_rows(store), "services": R.service_rows(store),
            "pods": R.pod_rows(store)}


def _statuses(verdicts: RouteVerdicts) -> dict:
    return {e: p.status for e, p in verdicts.paths.items()}


def _full(store: ClusterStore) -> dict:
    """The marks of a fresh load of the same store."""
    analysis = Analysis(_Source(), store, AnalysisOptions())  # type: ignore[arg-type]
    return ProblemMarks(_rows(store), analysis.check(), _statuses(analysis.routes())).marks


class _View:
    """What the app does with a batch, without Textual: rows, recheck, verdicts, then the marks."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self.analysis = Analysis(_Source(), store, AnalysisOptions())  # type: ignore[arg-type]
        self.verdicts = self.analysis.routes()
        self.rows = {pane: {r.key: r for r in rows} for pane, rows in _rows(store).items()}
        self.marks = ProblemMarks(_rows(store), self.analysis.check(), _statuses(self.verdicts))

    def batch(self, keys: set) -> MarkChanges:
        self.analysis.recheck(keys)
        routes = self.verdicts.refresh(keys)
        current = {pane: list(self.rows[pane].values()) for pane in ("rules", "services")}
        panes = pane_changes(self.store, keys, current, self.analysis.rechecked_services)
        for pane, change in panes.items():
            _apply_rows(self.rows[pane], change)
        return self.marks.update(panes, *self.analysis.changed, {e: self.verdicts.status(e) for e in routes})


def _apply_rows(rows: dict, change: PaneChange) -> None:
    if change.rows is not None:
        rows.clear()
    for key in change.removed:
        rows.pop(key, None)
    rows.update((r.key, r) for r in change.rows or change.upserts)


@pytest.mark.slow
@pytest.mark.parametrize("base", sorted(BASES))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(batches=changes)
def test_marks_kept_by_batch_equal_the_marks_over_every_row(base: str, batches: list) -> None:
    objs = BASES[base]
    store = ClusterStore(objs)
    view = _View(store)
    for batch in batches:
        before = copy.deepcopy(view.marks.marks)
        out = view.batch(_apply(store, objs, batch))
        assert view.marks.marks == _full(store)
        for pane, marks in out.items():  # what changed, and only that
            for key, mark in marks.items():
                assert before[pane].get(key) != mark
                before[pane].pop(key, None) if mark is None else before[pane].__setitem__(key, mark)
        assert before == view.marks.marks


def test_a_pod_going_not_ready_changes_the_marks_of_its_rows_only() -> None:
    objs = BASES["synthetic"]
    store = ClusterStore(objs)
    view = _View(store)
    slice_ = copy.deepcopy(next(o for o in objs if o["kind"] == "EndpointSlice"  # of a Service with no mark
                                and (o["metadata"]["namespace"], o["metadata"]["labels"]["kubernetes.io/service-name"])
                                not in view.marks.marks["services"]))
    ns, service = slice_["metadata"]["namespace"], slice_["metadata"]["labels"]["kubernetes.io/service-name"]
    endpoint = slice_["endpoints"][0]
    endpoint["conditions"]["ready"] = False
    slice_["metadata"]["resourceVersion"] = "99999"
    assert store.apply("MODIFIED", slice_)
    route = Target(f"{ns}.synthetic.example", f"/{service}")
    assert view.verdicts.status(route) == PathStatus.OK
    out = view.batch({("EndpointSlice", "MODIFIED", ns, slice_["metadata"]["name"])})
    assert view.verdicts.status(route) == PathStatus.DEGRADED
    # the route's row and its namespace had a warning already (the Ingress has no load-balancer address offline)
    assert out == {"pods": {(ns, endpoint["targetRef"]["name"]): "warning"},
                   "services": {(ns, service): "warning"}}  # partly ready
    assert view.marks.marks == _full(store)
