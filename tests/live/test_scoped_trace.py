"""`ktrace trace` reads only what the path needs (issue 15): the kinds paths start from, then, tier by
tier, what the analysis asked for (one namespace's Services, a Service's slices and pods by server-side
label selectors, ...). The answer must be the one a whole load gives, on every scenario and route."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import yaml

from ktrace.analysis import Analysis
from ktrace.cli import main
from ktrace.errors import UsageError
from ktrace.loader import load_paths
from ktrace.options import AnalysisOptions, SourceSpec
from ktrace.routing import rule_targets
from ktrace.sim.demo import demo_objects
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live
from ktrace.targets import Target
from tests.live.test_live_source import cluster

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXPECT = yaml.safe_load((SCENARIOS / "expectations.yaml").read_text())
pytestmark = pytest.mark.slow


def answer(analysis: Analysis, target: str | Target) -> dict:
    return analysis.trace(target).to_dict()


def assert_scoped_equals_whole(kubeconfig: Path, targets: list[str | Target],
                               options: AnalysisOptions | None = None, namespace: str | None = None) -> None:
    options = options or AnalysisOptions()
    spec = SourceSpec(kubeconfig=str(kubeconfig), namespace=namespace)
    whole_source = open_live(spec)
    whole = Analysis(whole_source, whole_source.load(), options)
    targets = targets + rule_targets(whole.store)
    try:
        for target in targets:
            source = open_live(spec)  # a fresh scoped store per target, as one `ktrace trace` has
            try:
                scoped = Analysis(source, source.load_scoped(), options)
                assert answer(scoped, target) == answer(whole, target), target
            finally:
                source.close()
    finally:
        whole_source.close()


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_every_scenario_route_traces_the_same_from_a_scoped_read(sim_factory: Callable[..., Simulator],
                                                                  tmp_path: Path, name: str) -> None:
    sim = sim_factory(load_paths([str(SCENARIOS / name)]).objects)
    targets: list[str | Target] = [*EXPECT[name]["traces"], "nohost.example.com"]
    assert_scoped_equals_whole(sim.write_kubeconfig(tmp_path / "kubeconfig"), targets)


def test_the_demo_traces_the_same_scoped_in_one_namespace_and_with_a_controller_hint(
        sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(demo_objects())
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    assert_scoped_equals_whole(kubeconfig, ["aspnetapp.demo.example"])
    assert_scoped_equals_whole(kubeconfig, [], namespace="aspnet")
    hint = AnalysisOptions(controller_namespace="ingress-nginx", controller_selector="app.kubernetes.io/name")
    assert_scoped_equals_whole(kubeconfig, ["aspnetapp.demo.example"], options=hint)


def lists(sim: Simulator) -> list[tuple[str, str]]:
    """(path, selectors) of every list the simulator answered: the label and field selectors, joined by &."""
    out = []
    for r in sim.requests:
        query = parse_qs(r["query"])
        out.append((r["path"], "&".join(query.get("labelSelector", []) + query.get("fieldSelector", []))))
    return out


def test_a_trace_lists_one_namespace_and_selects_pods_and_slices_on_the_server(
        sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = sim_factory(cluster())
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    sim.clear_requests()
    assert main(["trace", "team-a.example.com", "--kubeconfig", str(kubeconfig), "-o", "json"]) == 0
    assert '"status": "ok"' in capsys.readouterr().out
    read = lists(sim)
    print(read)
    assert all(r["method"] == "GET" for r in sim.requests)
    assert not [p for p, _ in read if "team-b" in p], read  # the other team's namespace is never read
    assert ("/api/v1/namespaces/team-a/pods", "app=web") in read
    assert ("/apis/discovery.k8s.io/v1/namespaces/team-a/endpointslices",
            "kubernetes.io/service-name=web") in read
    assert not [p for p, sel in read if p.endswith("/pods") and not sel], read  # no pod list is unselected


def test_a_forbidden_narrow_read_falls_back_to_the_whole_load(
        sim_factory: Callable[..., Simulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """RBAC that allows pods in the context's namespace (team-b) only: the scoped read of team-a's pods
    is refused, and the trace is the whole load's (which reads pods in team-b only, so the path says
    their readiness cannot be told from pods)."""
    sim = sim_factory(cluster())
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig", namespace="team-b")
    sim.forbid("Pod", ["team-a"])  # and every cluster-wide list of pods
    code = main(["trace", "team-a.example.com", "--kubeconfig", str(kubeconfig), "-o", "json"])
    scoped_out = capsys.readouterr().out
    source = open_live(SourceSpec(kubeconfig=str(kubeconfig)))
    whole = Analysis(source, source.load(), AnalysisOptions())
    assert yaml.safe_load(scoped_out) == whole.trace("team-a.example.com").to_dict()
    assert code == (1 if whole.trace("team-a.example.com").status in ("broken", "degraded") else 0)
    source.close()


@pytest.mark.parametrize("via", ["shop-blue", "shop-canary", "shop-next", "staging/shop-blue", "shop-blu"])
def test_a_preview_reads_narrowly_and_answers_as_the_whole_load(sim_factory: Callable[..., Simulator],
                                                               tmp_path: Path, via: str) -> None:
    """`trace TARGET --via SERVICE` is traced over a scoped store too: the would-be path, what appears
    and what stops must be the whole load's, and so must a refusal (another namespace, a typo)."""
    shop = Path(__file__).parent.parent / "preview" / "shop.yaml"
    sim = sim_factory(load_paths([str(shop)]).objects)
    spec = SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kubeconfig")))
    whole_source, scoped_source = open_live(spec), open_live(spec)
    try:
        whole = Analysis(whole_source, whole_source.load(), AnalysisOptions())
        scoped = Analysis(scoped_source, scoped_source.load_scoped(), AnalysisOptions())
        assert previewed(scoped, via) == previewed(whole, via)
    finally:
        whole_source.close()
        scoped_source.close()


def previewed(analysis: Analysis, via: str) -> dict | str:
    try:
        return analysis.preview("shop.example.com/", via).to_dict()
    except UsageError as e:
        return f"usage error: {e}"
