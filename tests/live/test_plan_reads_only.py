"""`ktrace plan` against a cluster reads and never writes: the overlay lives in memory. The simulator records every
request: only GETs, Secrets and ConfigMaps only as metadata; and the cluster is as it was afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import yaml

from ktrace.cli import main
from ktrace.loader import load_paths
from ktrace.sim.handle import Simulator
from tests.live.test_live_source import assert_read_only

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO = ROOT / "ktrace" / "sim" / "scenarios" / "demo.yaml"
CHANGE = ROOT / "examples" / "plan" / "change.yaml"


@pytest.mark.slow
def test_a_plan_sends_only_reads_and_changes_nothing(sim_factory: Callable[..., Simulator], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    sim = sim_factory(load_paths([str(DEMO)]).objects)
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    before = sim.get("Service", "shop", "shop-green")
    gone = tmp_path / "gone.yaml"
    gone.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret",
                                    "metadata": {"name": "shop-tls", "namespace": "shop"}}))
    sim.clear_requests()
    code = main(["plan", "--kubeconfig", str(kubeconfig), "-f", str(CHANGE), "--delete", "-f", str(gone),
                 "-o", "json"])
    assert code == 1, capsys.readouterr().err  # the typo breaks shop.demo.example
    assert_read_only(sim)
    after = sim.get("Service", "shop", "shop-green")
    assert after["spec"]["selector"] == before["spec"]["selector"] == {"app": "shop", "version": "green"}
    assert sim.get("Secret", "shop", "shop-tls")["metadata"]["name"] == "shop-tls"


@pytest.mark.slow
def test_a_cluster_diffed_against_the_files_it_was_applied_from_has_no_object_change(
        sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What the cluster adds (statuses, creation times, defaults, the Namespace name label, the built-in
    namespaces) is no difference; the routes differ only in what files cannot know (readiness)."""
    sim = sim_factory(load_paths([str(DEMO)]).objects)
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    assert main(["diff", "--kubeconfig", str(kubeconfig), "--to", "-f", str(DEMO), "-o", "json"]) == 0
    doc = orjson.loads(capsys.readouterr().out)
    assert doc["changes"] == []
    assert {(r["before"], r["after"]) for r in doc["routes"]} <= {("ok", "unknown"), ("degraded", "unknown")}
