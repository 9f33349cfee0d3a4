"""Which rows carry a problem and which lie on the selected path. Pure (no Textual): the app turns the
answers into marks on its panes, and tests check them directly."""

from __future__ import annotations

from collections.abc import Iterable

from ktrace.findings import Finding
from ktrace.tui import rows as R

Ref = tuple[str, str, str]  # (kind, namespace, name)
_RANK = {"error": 2, "warning": 1}  # info findings mark no row


def _worse(severity: str, than: str | None) -> bool:
    return _RANK[severity] > _RANK.get(than or "", 0)


def worst_by_object(findings: Iterable[Finding]) -> dict[Ref, str]:
    """The worst error or warning about each object."""
    worst: dict[Ref, str] = {}
    for f in findings:
        ref = (f.kind, f.namespace, f.name)
        if f.severity in _RANK and _worse(f.severity, worst.get(ref)):
            worst[ref] = f.severity
    return worst


def problem_marks(pane_id: str, rows: Iterable[R.Row], worst: dict[Ref, str]) -> dict[tuple[str, ...], str]:
    """The problem to show on each row of a pane: a namespace row shows the worst problem inside it; a
    route row shows its Gateways' and TLS Secrets' problems too (`Row.also`)."""
    if pane_id == "namespaces":
        by_namespace: dict[str, str] = {}
        for (_, ns, _), severity in worst.items():
            if ns and _worse(severity, by_namespace.get(ns)):
                by_namespace[ns] = severity
        return {r.key: by_namespace[r.namespace] for r in rows if r.namespace in by_namespace}
    marks: dict[tuple[str, ...], str] = {}
    for r in rows:
        for ref in (r.ref, *r.also):
            if ref in worst and _worse(worst[ref], marks.get(r.key)):
                marks[r.key] = worst[ref]
    return marks
