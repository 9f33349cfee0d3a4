"""The catalog is the registered rules: every code has a check that declares it, every finding the
scenarios produce has a rule, and a kind the source could not read skips exactly the rules needing it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ktrace import checks
from ktrace.checks import CATALOG, run_checks
from ktrace.findings import Finding
from ktrace.rules import PRODUCERS, Rule, produces, register
from ktrace.sources.manifests import ManifestSource
from ktrace.store import ClusterStore
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXPECT = yaml.safe_load((SCENARIOS / "expectations.yaml").read_text())
# Kinds whose absence changes the evidence rather than only skipping rules: without EndpointSlices
# the pods' own readiness is used (ktrace.backends); without Gateways a trace follows no HTTPRoute.
EVIDENCE_KINDS = {"EndpointSlice"}
ROUTING_KINDS = {"Gateway"}
ON_ROUTE_PATHS = {"networkpolicy-blocks-path", "networkpolicy-controller-unknown"}  # judged on HTTPRoute paths too
NEEDED = sorted({k for r in CATALOG.values() for k in r.needs} - EVIDENCE_KINDS)


def _source(name: str) -> ManifestSource:
    return ManifestSource([str(SCENARIOS / name)])


def _everything(store: ClusterStore, name: str, traces: bool = True) -> list[Finding]:
    """Every finding of the whole-store checks (offline and live) and of the scenario's traces."""
    out = run_checks(store, live=False) + run_checks(store, live=True)
    for target in EXPECT[name]["traces"] if traces else ():
        out += trace(store, target, live=True).findings
    return out


def test_every_catalog_code_is_a_rule_declared_by_a_check_or_a_source_note() -> None:
    declared = {r.code for _, rules in PRODUCERS for r in rules}
    notes = {r.code for r in (checks.source.KIND_UNREADABLE, checks.source.DOCUMENT_SKIPPED,
                              checks.source.INPUT_UNREADABLE)}
    assert all(isinstance(r, Rule) and r.code == code for code, r in CATALOG.items())
    assert set(CATALOG) == declared | notes
    assert not declared & notes


def test_every_finding_of_the_scenarios_is_in_the_catalog() -> None:
    seen: set[str] = set()
    for name in sorted(EXPECT):
        source = _source(name)
        store = source.load()
        seen |= {f.code for f in source.notes + _everything(store, name)}
        seen |= {f.code for f in trace(store, "nothing-serves-this.example.org", live=False).findings}
    assert seen <= set(CATALOG)
    assert len(seen) > len(CATALOG) // 2  # the scenarios do produce findings of most rules


@pytest.mark.parametrize("kind", NEEDED)
def test_an_unreadable_kind_skips_exactly_the_rules_that_need_it(kind: str) -> None:
    skipped = 0
    for name in sorted(EXPECT):
        store = _source(name).load()
        before = _everything(store, name, kind not in ROUTING_KINDS)
        store.unreadable.add(kind)
        after = _everything(store, name, kind not in ROUTING_KINDS)
        kept = [f for f in before if kind not in CATALOG[f.code].needs]
        if kind in ROUTING_KINDS:  # no HTTPRoute is followed: what was judged on its paths goes with it
            kept = [f for f in kept if f in after or f.code not in ON_ROUTE_PATHS]
        assert after == kept, name
        skipped += len(before) - len(kept)
    assert skipped, f"no scenario has a finding of a rule needing {kind}: the test would prove nothing"


def test_a_check_runs_only_when_one_of_its_rules_applies() -> None:
    a = Rule("test-needs-a", "warning", "needs A", needs=("A",))
    ab = Rule("test-needs-a-and-b", "error", "needs A and B", needs=("A", "B"))
    calls = []

    @produces(a, ab)
    def both(store: ClusterStore) -> list[Finding]:
        calls.append(set(store.unreadable))
        return [a.finding("X", "", "x", "a"), ab.finding("X", "", "x", "ab")]

    PRODUCERS.pop()  # a test double, not part of the catalog
    store = ClusterStore([])
    assert [f.code for f in both(store)] == ["test-needs-a", "test-needs-a-and-b"]
    store.unreadable.add("B")
    assert [f.code for f in both(store)] == ["test-needs-a"]
    store.unreadable.add("A")
    assert both(store) == [] and len(calls) == 2


def test_a_code_is_registered_once() -> None:
    with pytest.raises(ValueError):
        register(Rule(next(iter(CATALOG)), "error", "again"))
