"""The same scenario files served by the simulator and read by the live source over real HTTP:
the findings and path verdicts must match the offline run (plus the live-only codes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ktrace.checks import run_checks
from ktrace.store import ClusterStore
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXPECT = yaml.safe_load((SCENARIOS / "expectations.yaml").read_text())


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_scenario_against_the_simulator(served: Callable[[str], ClusterStore], name: str) -> None:
    store = served(name)
    exp = EXPECT[name]
    live_only = set(exp.get("live_only", []))
    got = sorted(f"{f.code} {f.kind} {f.namespace}/{f.name}" for f in run_checks(store, live=True)
                 if f.severity != "info")
    assert [g for g in got if g.split()[0] not in live_only] == sorted(exp["check"])
    for target, want in exp["traces"].items():
        path = trace(store, target, live=True)
        assert path.status == want.get("sim_status", want["status"]), (target, [h.to_dict() for h in path.hops])
        assert sorted(f.code for f in path.findings if f.code not in live_only) == sorted(want["codes"]), target
        if "service" in want:
            assert [h.name for h in path.hops if h.kind == "Service"] == [want["service"]], target
