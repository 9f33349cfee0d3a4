"""`ktrace plan` on the scenarios of tests/scenarios/plan (one directory each: baseline.yaml, change.yaml and/or
delete.yaml; tests/scenarios/plan/expectations.yaml says what each must report): offline (`--against -f`) and
over the simulator serving the baseline (`--kubeconfig`). The routes the plan picks through the store's indexes
must be exactly those a trace of every route finds changed; `ktrace diff` of the baseline and the applied files
must agree with the plan; bad input is one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ktrace.analysis import Analysis, controller_hint
from ktrace.cli import main
from ktrace.loader import load_paths
from ktrace.model import Record
from ktrace.options import AnalysisOptions, SourceSpec
from ktrace.plan import ObjectChange, Plan, touched
from ktrace.routing import rule_targets, rules_to_service
from ktrace.sim.handle import Simulator
from ktrace.sources import open_source
from ktrace.sources.overlay import overlay, read_files
from ktrace.targets import Target

PLANS = Path(__file__).parent.parent / "scenarios" / "plan"
EXPECT = yaml.safe_load((PLANS / "expectations.yaml").read_text())
NAMES = sorted(EXPECT)


def test_every_scenario_directory_has_expectations() -> None:
    assert sorted(p.name for p in PLANS.iterdir() if p.is_dir()) == NAMES


def _change_args(name: str) -> list[str]:
    d = PLANS / name
    args = ["-f", str(d / "change.yaml")] if (d / "change.yaml").exists() else []
    return args + (["--delete", "-f", str(d / "delete.yaml")] if (d / "delete.yaml").exists() else [])


def _files(name: str) -> tuple[list[dict], list[dict]]:
    d = PLANS / name
    applied = read_files([str(d / "change.yaml")], "-f") if (d / "change.yaml").exists() else []
    deleted = read_files([str(d / "delete.yaml")], "--delete -f") if (d / "delete.yaml").exists() else []
    return applied, deleted


def _workloads(name: str) -> list[str]:
    """The workload names of the scenario, longest first: a pod is named for its workload (offline its template
    stands in under the workload's name; a cluster adds a suffix)."""
    d = PLANS / name
    docs = load_paths([str(p) for p in d.glob("*.yaml")]).objects
    return sorted({o["metadata"]["name"] for o in docs if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet")},
                  key=len, reverse=True)


def _by_workload(pods: list[str], workloads: list[str]) -> list[str]:
    out = set()
    for pod in pods:
        name = pod.split("/", 1)[1]
        out.add(next((w for w in workloads if name == w or name.startswith(w + "-")), name))
    return sorted(out)


def _plan(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["plan", *argv, "-o", "json"])
    return code, json.loads(capsys.readouterr().out)


def _check_report(name: str, code: int, doc: dict, live: bool) -> None:
    want = EXPECT[name]
    workloads = _workloads(name)
    assert code == want["exit"], doc
    assert doc["worse"] is (want["exit"] == 1)
    routes = {r["target"]: r for r in doc["routes"]}
    assert sorted(routes) == sorted(want["routes"]), doc["routes"]
    for target, w in want["routes"].items():
        r = routes[target]
        before = w.get("sim_before", w["before"]) if live else w["before"]
        after = w.get("sim_after", w["after"]) if live else w["after"]
        diff = r["diff"]
        assert (r["before"], r["after"], r["worse"]) == (before, after, w["worse"]), target
        assert _by_workload(diff["podsStop"], workloads) == w.get("stop", []), target
        assert _by_workload(diff["podsStart"], workloads) == w.get("start", []), target
        assert sorted(f["code"] for f in diff["findingsAppear"]) == w.get("appear", []), target
        assert sorted(f["code"] for f in diff["findingsDisappear"]) == w.get("disappear", []), target
        assert bool(diff["sharesBefore"] or diff["sharesAfter"]) is w.get("shares", False), target
        if "entry" in w:
            assert [r["entryBefore"] or "", r["entryAfter"] or ""] == w["entry"], target
        else:
            assert r["entryBefore"] == r["entryAfter"], target
    assert sorted(f["code"] for f in doc["findingsAppear"]) == want.get("elsewhere", [])


@pytest.mark.parametrize("name", NAMES)
def test_plan_offline(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _plan([*_change_args(name), "--against", "-f", str(PLANS / name / "baseline.yaml")], capsys)
    _check_report(name, code, doc, live=False)


def _serve(name: str, sim_factory: Callable[..., Simulator], tmp_path: Path) -> str:
    sim = sim_factory(load_paths([str(PLANS / name / "baseline.yaml")]).objects)
    return str(sim.write_kubeconfig(tmp_path / "kubeconfig"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_plan_against_the_simulator(name: str, sim_factory: Callable[..., Simulator], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _plan([*_change_args(name), "--kubeconfig", _serve(name, sim_factory, tmp_path)], capsys)
    _check_report(name, code, doc, live=True)


# -- the routes found through the indexes are those a trace of every route finds ------------------------


def _analysis(spec: SourceSpec) -> Analysis:
    options = AnalysisOptions()
    source = open_source(spec)
    return Analysis(source, source.load(), options, controller_hint(options))


def _facts(plan: Plan) -> dict:
    """What a plan says, route by route, with no order and no wording."""
    routes = {str(r.target): (r.status_before, r.status_after, r.worse, r.stop, r.start, r.keep, r.ports_before,
                              r.ports_after, r.shares_before, r.shares_after, r.entry_before, r.entry_after,
                              sorted(f.code for f in r.appear), sorted(f.code for f in r.disappear))
              for r in plan.routes}
    return {"routes": routes, "worse": plan.worse, "elsewhere": (sorted(f.code for f in plan.appear),
                                                                   sorted(f.code for f in plan.disappear))}


def _both_ways(spec: SourceSpec, applied: list[dict], deleted: list[dict]) -> tuple[dict, dict]:
    """The plan by the indexes and by every route, each on its own freshly loaded source (a plan changes its
    store)."""
    out = []
    for every_route in (False, True):
        analysis = _analysis(spec)
        try:
            out.append(_facts(analysis.plan(overlay(analysis.store, applied, deleted), every_route=every_route)))
        finally:
            analysis.source.close()
    return out[0], out[1]


@pytest.mark.parametrize("name", NAMES)
def test_touched_routes_are_every_changed_route_offline(name: str) -> None:
    shortcut, every = _both_ways(SourceSpec(files=(str(PLANS / name / "baseline.yaml"),)), *_files(name))
    assert shortcut == every
    assert shortcut["routes"]  # each scenario changes a route: the comparison is not of two empty plans


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_touched_routes_are_every_changed_route_on_the_simulator(name: str, sim_factory: Callable[..., Simulator],
                                                                 tmp_path: Path) -> None:
    spec = SourceSpec(kubeconfig=_serve(name, sim_factory, tmp_path))
    shortcut, every = _both_ways(spec, *_files(name))
    assert shortcut == every
    assert shortcut["routes"]


@pytest.mark.parametrize("name", NAMES)
def test_the_interactive_view_and_the_command_give_one_answer(name: str) -> None:
    """`ktrace --plan` (Analysis.lay_over, over the view's kept verdicts) reports each changed route as `ktrace plan`
    (Analysis.plan, over the routes the indexes pick) does."""
    spec = SourceSpec(files=(str(PLANS / name / "baseline.yaml"),))
    applied, deleted = _files(name)
    command, _ = _both_ways(spec, applied, deleted)
    analysis = _analysis(spec)
    try:
        analysis.check()
        routes, _ = analysis.lay_over(overlay(analysis.store, applied, deleted), analysis.routes())
    finally:
        analysis.source.close()
    view = _facts(Plan([], [r for r in routes if r.changed], []))
    assert view["routes"] == command["routes"]


SCENARIO_FILES = sorted(p.name for p in PLANS.parent.glob("*.yaml") if p.name != "expectations.yaml")


def _deleting(path: Path, record: Record, every_route: bool) -> dict:
    analysis = _analysis(SourceSpec(files=(str(path),)))
    try:
        gone = analysis.store.get(record.meta.kind, record.meta.namespace, record.meta.name)
        return _facts(analysis.plan([ObjectChange(gone, None)], every_route=every_route))
    finally:
        analysis.source.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIO_FILES)
def test_deleting_any_object_of_a_scenario_touches_every_route_it_changes(name: str) -> None:
    """Each object of each scenario file (tests/scenarios) deleted on its own: the routes the indexes find are those
    a trace of every route finds changed."""
    path = PLANS.parent / name
    store = _analysis(SourceSpec(files=(str(path),))).store
    for record in [r for kind in store.kinds() for r in store.objects(kind)]:
        assert _deleting(path, record, False) == _deleting(path, record, True), record.meta


def _touched_by_deleting(name: str, kind: str, namespace: str, obj: str) -> set[str]:
    store = _analysis(SourceSpec(files=(str(PLANS.parent / name),))).store
    found = touched(store, [ObjectChange(store.get(kind, namespace, obj), None)])
    assert found is not None
    return {str(t) for t in found}


def test_a_request_named_by_a_header_match_is_touched_through_the_rule_that_serves_it() -> None:
    """GRPCRouteRule.matches: "a request matches a rule if it matches any of the rule's matches" and a
    GRPCHeaderMatch is one of a match's conditions: the bare request `Cart/Add` that the header-matched rule names is
    served by the rule matching the service alone, whose backend `cart` it reaches."""
    assert "grpc://cart.grpc.example.com/shop.v1.Cart/Add" in _touched_by_deleting("grpc-match.yaml", "Service",
                                                                                   "shop", "cart")


def test_a_backend_ref_of_weight_0_and_a_mirror_are_on_the_path() -> None:
    """HTTPBackendRef weight: "If weight is set to 0, no traffic should be forwarded for this entry" (the Service is
    still on the request's path, its findings with it); HTTPRequestMirrorFilter: "Requests are sent to the
    specified destination, but responses from that destination are ignored" (the mirror's Service is reached)."""
    assert "store.apps.example.com/off" in _touched_by_deleting("gateway-problems.yaml", "Service", "infra", "web")
    assert "shop.filters.example.com/" in _touched_by_deleting("gateway-filters.yaml", "Service", "flt", "shadow")
    store = _analysis(SourceSpec(files=(str(PLANS.parent / "gateway-filters.yaml"),))).store
    assert [r.meta.name for r in store.routes_for_service("flt", "shadow")] == ["shop"]


def test_an_implementation_specific_path_is_named_alike_by_every_rule_lookup() -> None:
    """HTTPIngressPath.pathType ImplementationSpecific: "interpretation of the Path matching is up to the
    IngressClass"; ktrace names such a path's request without its trailing `*`, whichever way it finds the rule: the
    requests that reach a Service are among those the rules name."""
    store = _analysis(SourceSpec(files=(str(PLANS.parent / "ingress-to-gateway.yaml"),))).store
    reach = set(rules_to_service(store, "mig", "web"))
    assert Target("shop.migrate.example.com", "/static") in reach
    assert reach <= set(rule_targets(store))


def test_a_route_change_touches_the_other_hostnames_of_a_route_it_conflicts_with() -> None:
    """GRPCRouteSpec.hostnames: with an HTTPRoute on an intersecting hostname of the same listener "the
    implementation MUST accept exactly one of these two routes": deleting the HTTPRoute lets the GRPCRoute serve all
    its hostnames, grpc.mixed.example.com (which the HTTPRoute never named) among them."""
    assert "grpc://grpc.mixed.example.com" in _touched_by_deleting("grpc-http-conflict.yaml", "HTTPRoute", "apps",
                                                                   "web")


# -- outputs ---------------------------------------------------------------------------------------------


def _offline_args(name: str) -> list[str]:
    return [*_change_args(name), "--against", "-f", str(PLANS / name / "baseline.yaml")]


def test_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    _, doc = _plan(_offline_args("weight-shift"), capsys)
    assert {"baseline", "proposed", "worse", "summary", "changes", "routes", "unchanged", "findingsAppear",
            "findingsDisappear"} <= set(doc)
    assert doc["summary"] == {"worse": 0, "better": 0, "changed": 1, "unchanged": 0}
    assert doc["changes"] == [{"action": "change", "kind": "HTTPRoute", "namespace": "store", "name": "store",
                               "cause": None, "fields": [{
                                   "field": "spec.rules",
                                   "old": "PathPrefix /; web:80 w90, web-canary:80 w10",
                                   "new": "PathPrefix /; web:80 w0, web-canary:80 w100"}]}]
    assert doc["routes"][0]["diff"]["sharesAfter"] == ["web weight 0 (0%)", "web-canary weight 100 (100%)"]


def test_markdown_has_the_route_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", *_offline_args("ingress-to-gateway"), "-o", "markdown"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("### ktrace plan: **1 route worse**, 0 better, 3 changed, 0 unchanged\n")
    lines = out.splitlines()
    head = lines.index("| Route | Before | After | What changes |")
    assert lines[head + 1] == "|---|---|---|---|"
    rows = lines[head + 2:head + 5]
    assert [row.split(" | ")[0] for row in rows] == ["| `shop.example.com/admin`", "| `shop.example.com/api`",
                                                      "| `shop.example.com/shop`"]
    assert "**broken**" in rows[0] and "+ `host-no-route`" in rows[0]
    assert "entry point: Ingress shop/shop → HTTPRoute shop/shop" in rows[1]


# -- bad input -------------------------------------------------------------------------------------------


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as e:  # argparse's own errors exit by raising
        raise SystemExit(main(argv))
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err
    return err[-1]


def test_a_change_file_that_does_not_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Service\nmetadata: {name: web\n")
    err = _one_line_exit_2(["plan", "-f", str(bad), "--against", "-f", str(PLANS / "selector-typo")], capsys)
    assert err.startswith("ktrace: -f: ") and str(bad) in err


def test_deleting_an_object_not_in_the_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_exit_2(["plan", "--delete", "-f", str(PLANS / "tls-secret-removed" / "delete.yaml"),
                            "--against", "-f", str(PLANS / "selector-typo" / "baseline.yaml")], capsys)
    assert err == "ktrace: --delete: no Secret shop-tls in namespace shop to delete"


def test_plan_without_changes(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_exit_2(["plan", "--against", "-f", str(PLANS / "selector-typo" / "baseline.yaml")], capsys)
    assert "a plan needs changes" in err


def test_diff_without_a_second_source(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_exit_2(["diff", "-f", str(PLANS / "selector-typo" / "baseline.yaml")], capsys)
    assert "--to" in err


# -- diff of the baseline and the applied files agrees with the plan ----------------------------------------


def _applied(name: str) -> list[dict]:
    """The baseline's objects with the change applied as `kubectl apply` would (same kind, namespace and name
    replaced) and the deleted ones removed."""
    def key(o: dict) -> tuple:
        return o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]

    applied, deleted = _files(name)
    gone = {key(o) for o in [*applied, *deleted]}
    return [o for o in load_paths([str(PLANS / name / "baseline.yaml")]).objects if key(o) not in gone] + applied


@pytest.mark.parametrize("name", NAMES)
def test_diff_of_baseline_and_applied_files_agrees_with_the_plan(name: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    after = tmp_path / "after.yaml"
    after.write_text(yaml.safe_dump_all(_applied(name)))
    _, planned = _plan(_offline_args(name), capsys)
    code = main(["diff", "-f", str(PLANS / name / "baseline.yaml"), "--to", "-f", str(after), "-o", "json"])
    diffed = json.loads(capsys.readouterr().out)
    assert code == EXPECT[name]["exit"]

    def verdicts(doc: dict) -> dict:
        return {r["target"]: (r["before"], r["after"], r["worse"], r["entryBefore"], r["entryAfter"],
                              sorted(f["code"] for f in r["diff"]["findingsAppear"]),
                              sorted(f["code"] for f in r["diff"]["findingsDisappear"])) for r in doc["routes"]}

    assert verdicts(diffed) == verdicts(planned)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["selector-typo", "ingress-to-gateway"])
def test_diff_of_two_clusters_and_of_a_cluster_and_files(name: str, sim_factory: Callable[..., Simulator],
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two clusters (two simulators: `--kubeconfig A --to --kubeconfig B`, as `--context staging --to --context prod`
    picks two of one kubeconfig's) and a cluster against the files it should match (`--to -f desired/`): the routes
    that differ, with the verdicts the clusters give."""
    before = sim_factory(load_paths([str(PLANS / name / "baseline.yaml")]).objects)
    after = sim_factory(_applied(name))
    staging = before.write_kubeconfig(tmp_path / "staging")
    prod = after.write_kubeconfig(tmp_path / "prod")
    desired = tmp_path / "after.yaml"
    desired.write_text(yaml.safe_dump_all(_applied(name)))

    def targets(argv: list[str]) -> tuple[int, dict]:
        code = main(["diff", *argv, "-o", "json"])
        doc = json.loads(capsys.readouterr().out)
        return code, {r["target"]: (r["before"], r["after"]) for r in doc["routes"]}

    clusters = targets(["--kubeconfig", str(staging), "--to", "--kubeconfig", str(prod)])
    cluster_files = targets(["--kubeconfig", str(staging), "--to", "-f", str(desired)])
    assert clusters[0] == cluster_files[0] == EXPECT[name]["exit"]
    assert set(clusters[1]) == set(cluster_files[1]) == set(EXPECT[name]["routes"])
    for target, w in EXPECT[name]["routes"].items():
        assert clusters[1][target] == (w.get("sim_before", w["before"]), w.get("sim_after", w["after"]))
