"""The incremental recheck gives exactly what a full check gives, for any sequence of changes."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktrace.analysis import Analysis
from ktrace.checks import CATALOG, CheckUnits, run_checks
from ktrace.findings import Finding
from ktrace.loader import load_paths
from ktrace.options import AnalysisOptions
from ktrace.sim.demo import demo_objects
from ktrace.sim.synthetic import synthetic_objects
from ktrace.sources.manifests import complete
from ktrace.store import ClusterStore
from ktrace.suppress import IGNORE_ANNOTATION

BASES = {
    "demo": complete(demo_objects()),
    "synthetic": complete(synthetic_objects(150)),
    "scenarios": complete(load_paths([str(Path(__file__).parent.parent / "scenarios" / name) for name in (
        "netpol-blocked.yaml", "netpol-clean.yaml", "netpol-egress.yaml", "host-conflict.yaml", "ingress-problems.yaml",
        "gateway-problems.yaml")]).objects),
}
LABEL_VALUES = [None, "web", "App", "aspnetapp", "api-0", "ingress-nginx", "payments-web"]
_versions = itertools.count(10_000)


def _touched(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    out["metadata"]["resourceVersion"] = str(next(_versions))
    return out


def mutate(objs: list[dict], op: str, i: int, value: str | None, ns: str) -> tuple[str, dict]:
    """One change to an object of the base (by index): the event type and the object as the event carries it."""
    obj = _touched(objs[i % len(objs)])
    meta = obj["metadata"]
    if op == "delete":
        return "DELETED", obj
    if op == "move":  # a copy in another namespace (the namespace may be new)
        meta["name"] += "-copy"
        if "namespace" in meta:
            meta["namespace"] = ns
        return "ADDED", obj
    if op == "label":
        labels = meta.setdefault("labels", {})
        labels.pop("app", None) if value is None else labels.__setitem__("app", value)
    elif op == "ready" and obj["kind"] == "Pod":
        ready = not all(c.get("ready") for c in obj.get("status", {}).get("containerStatuses") or [])
        for c in obj.get("status", {}).get("containerStatuses") or []:
            c["ready"] = ready
        for c in obj.get("status", {}).get("conditions") or []:
            if c.get("type") == "Ready":
                c["status"] = str(ready)
    elif op == "selector":
        spec = obj.setdefault("spec", {})
        if obj["kind"] == "Service":
            spec["selector"] = None if value is None else {**(spec.get("selector") or {}), "app": value}
        elif obj["kind"] == "NetworkPolicy":
            spec["podSelector"] = {"matchLabels": {} if value is None else {"app": value}}
        elif obj["kind"] == "Ingress":
            for rule in spec.get("rules") or []:
                for p in (rule.get("http") or {}).get("paths") or []:
                    p["backend"] = {"service": {"name": value or "missing", "port": {"number": 80}}}
            for tls in spec.get("tls") or []:
                tls["secretName"] = value or "missing"
    elif op == "ignore":
        meta.setdefault("annotations", {})[IGNORE_ANNOTATION] = value or "*"
    return "MODIFIED", obj


changes = st.lists(st.lists(st.tuples(st.sampled_from(["delete", "move", "label", "ready", "selector", "ignore"]),
                                      st.integers(0, 10_000), st.sampled_from(LABEL_VALUES),
                                      st.sampled_from(["default", "payments", "team-001", "brand-new"])),
                            min_size=1, max_size=4), min_size=1, max_size=6)


def _apply(store: ClusterStore, objs: list[dict], batch: list) -> set[tuple[str, str, str, str]]:
    keys = set()
    for op, i, value, ns in batch:
        etype, obj = mutate(objs, op, i, value, ns)
        if store.apply(etype, obj):
            keys.add((obj["kind"], etype, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
    return keys


@pytest.mark.slow
@pytest.mark.parametrize("base", sorted(BASES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(batches=changes)
def test_recheck_equals_a_full_check(base: str, batches: list) -> None:
    objs = BASES[base]
    store = ClusterStore(objs)
    for live in (True, False):
        units = CheckUnits(store, live=live)
        units.check_all()
        for batch in batches:
            keys = _apply(store, objs, batch)
            assert units.recheck(keys) == run_checks(store, live=live)


@dataclass
class _Source:
    live: bool = True
    notes: list[Finding] = field(default_factory=list)


def _ids(findings: list[Finding]) -> Counter:
    return Counter(repr(f) for f in findings)


@pytest.mark.slow
@pytest.mark.parametrize("base", sorted(BASES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(batches=changes)
def test_analysis_recheck_equals_a_fresh_check_and_says_what_changed(base: str, batches: list) -> None:
    """Suppressed per finding as units re-run (and again when an ignore annotation changes), kept in order:
    the same list as a fresh check, and `changed` turns the last list into this one."""
    objs = BASES[base]
    store = ClusterStore(objs)
    analysis = Analysis(_Source(notes=[CATALOG["source-kind-unreadable"].finding("Source", "", "x", "m")]), store,
                        AnalysisOptions(ignore=frozenset({"ingress-class-missing"})))  # type: ignore[arg-type]
    last = analysis.check()
    for batch in batches:
        now = analysis.recheck(_apply(store, objs, batch))
        assert now == Analysis(analysis.source, store, analysis.options).check()
        removed, added = analysis.changed
        assert _ids(last) - _ids(removed) + _ids(added) == _ids(now)
        last = now


def test_analysis_recheck_suppresses_as_check_does() -> None:
    objs = BASES["demo"]
    store = ClusterStore(objs)
    analysis = Analysis(_Source(), store, AnalysisOptions())  # type: ignore[arg-type]
    before = analysis.check()
    victim = next(f for f in before if f.kind == "Service")
    svc_key = (victim.namespace, victim.name)
    svc = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == victim.name
               and o["metadata"]["namespace"] == victim.namespace)
    etype, obj = mutate([svc], "ignore", 0, None, "")
    assert store.apply(etype, obj)
    after = analysis.recheck({("Service", etype, victim.namespace, victim.name)})
    assert victim not in after and after == analysis.check()
    assert all(f in after for f in before if (f.kind, f.namespace, f.name) != ("Service", *svc_key))


def test_a_pod_change_reruns_only_the_services_that_read_it() -> None:
    store = ClusterStore(BASES["synthetic"])
    units = CheckUnits(store, live=True)
    units.check_all()
    pod = next(o for o in BASES["synthetic"] if o["kind"] == "Pod" and o["metadata"]["namespace"] == "team-002")
    etype, obj = mutate([pod], "ready", 0, None, "")
    assert store.apply(etype, obj)
    units.recheck({("Pod", etype, "team-002", pod["metadata"]["name"])})
    key = ("team-002", pod["metadata"]["name"])
    selecting = {svc.meta.key for svc in store.services_selecting(store.get("Pod", *key))}  # type: ignore[arg-type]
    assert len(selecting) == 1
    assert {k for k in units.rechecked_services if k[0] == "team-002"} == selecting
    # and the Service whose selector matches nothing: its hint names the namespaces whose pods would match
    assert {k[0] for k in units.rechecked_services} == {"team-001", "team-002"}
