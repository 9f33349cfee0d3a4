"""The core of `ktrace plan`, offline on the demo's manifests: how the changes are laid over the source (kubectl
apply's way, with the pods and EndpointSlices the controllers would make), which routes a change can touch, and
the report's verdicts. The scenarios of each kind of change run in test_plan_scenarios.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ktrace.analysis import Analysis
from ktrace.errors import UsageError
from ktrace.model import Pod
from ktrace.options import AnalysisOptions
from ktrace.plan import ObjectChange, Plan, touched
from ktrace.planview import plan_markdown
from ktrace.sources.manifests import ManifestSource
from ktrace.sources.overlay import overlay
from ktrace.store import ClusterStore
from ktrace.targets import Target

DEMO = Path(__file__).parent.parent.parent / "ktrace" / "sim" / "scenarios" / "demo.yaml"
SCENARIOS = Path(__file__).parent.parent / "scenarios"
OBJECTS = [d for d in yaml.safe_load_all(DEMO.read_text()) if d]


def _demo(kind: str, ns: str, name: str) -> dict:
    return copy.deepcopy(next(o for o in OBJECTS if o["kind"] == kind and o["metadata"]["name"] == name
                              and o["metadata"].get("namespace") == ns))


def _analysis() -> Analysis:
    source = ManifestSource([str(DEMO)])
    return Analysis(source, source.load(), AnalysisOptions())


def _plan(applied: list[dict], deleted: list[dict] = (), every_route: bool = False) -> Plan:  # type: ignore[assignment]
    a = _analysis()
    return a.plan(overlay(a.store, applied, list(deleted)), every_route=every_route)


def _typo() -> dict:
    svc = _demo("Service", "shop", "shop-green")
    svc["spec"]["selector"]["version"] = "gren"
    return svc


def _fix() -> dict:
    svc = _demo("Service", "ops", "vault")
    svc["spec"]["selector"] = {"app": "vault-server"}
    return svc


def _routes(plan: Plan) -> list[tuple]:
    return [(str(r.target), r.status_before, r.status_after, r.worse, r.stop, r.start, r.keep, r.ports_before,
             r.ports_after, sorted(f.code for f in r.appear), sorted(f.code for f in r.disappear)) for r in plan.routes]


def test_a_selector_typo_breaks_the_routes_through_that_service_only() -> None:
    plan = _plan([_typo()])
    assert [(str(r.target), r.status_before, r.status_after, r.worse) for r in plan.routes] == [
        ("shop.demo.example/", "unknown", "broken", True), ("store.demo.example/", "unknown", "degraded", True)]
    shop = plan.routes[0]
    assert shop.stop == ["shop/shop-green"] and shop.start == []
    assert [f.code for f in shop.appear] == ["service-selector-no-match"]
    assert plan.worse and plan.appear == []  # the finding is reported on its routes, not again below them


def test_a_fix_makes_the_host_better_and_the_finding_disappear() -> None:
    plan = _plan([_fix()])
    [route] = plan.routes
    assert (str(route.target), route.status_before, route.status_after) == ("tls://vault.demo.example", "broken",
                                                                           "unknown")
    assert route.better and not route.worse and not plan.worse  # readiness unknown offline is no worse than ok
    assert route.start == ["ops/vault"]
    assert [f.code for f in route.disappear] == ["service-selector-no-match"]


def test_the_indexes_find_every_route_that_a_full_pass_finds_changed() -> None:
    changes = [_typo(), _fix()]
    assert _routes(_plan(changes)) == _routes(_plan(changes, every_route=True))


def test_touched_reads_the_routes_through_a_service_from_the_indexes() -> None:
    a = _analysis()
    found = touched(a.store, overlay(a.store, [_typo()], []))
    assert found == {Target("shop.demo.example", "/"), Target("store.demo.example", "/")}


def test_an_ingress_change_touches_every_request_on_its_hosts() -> None:
    a = _analysis()
    ing = _demo("Ingress", "shop", "shop")
    ing["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/v2"
    found = touched(a.store, overlay(a.store, [ing], []))
    assert Target("shop.demo.example", "/") in found and Target("shop.demo.example", "/v2") in found
    assert all(t.host in ("shop.demo.example", "") for t in found)


def test_a_changed_gateway_may_touch_any_route() -> None:
    a = _analysis()
    gw = next(copy.deepcopy(o) for o in OBJECTS if o["kind"] == "Gateway")
    gw["metadata"].setdefault("labels", {})["team"] = "edge"
    assert touched(a.store, overlay(a.store, [gw], [])) is None


def test_a_relabelled_deployment_stands_in_for_its_pods_and_its_slices_follow() -> None:
    d = _demo("Deployment", "shop", "shop-green")
    d["spec"]["template"]["metadata"]["labels"]["version"] = "green-2"
    d["spec"]["selector"]["matchLabels"]["version"] = "green-2"
    a = _analysis()
    changes = overlay(a.store, [d], [])
    pods = [c for c in changes if c.record.meta.kind == "Pod"]
    assert [(c.action, c.cause) for c in pods] == [("change", "pod template of Deployment shop/shop-green")]
    assert isinstance(pods[0].new, Pod) and pods[0].new.meta.labels["version"] == "green-2"
    plan = a.plan(changes)
    assert [(str(r.target), r.status_after) for r in plan.routes][:1] == [("shop.demo.example/", "broken")]


def test_a_rollout_that_keeps_labels_and_ports_keeps_running_pods() -> None:
    d = _demo("Deployment", "shop", "shop-green")
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/demo/shop:1.6.0"
    d["spec"]["replicas"] = 5
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": f"shop-green-5d8f-{i}", "namespace": "shop",
        "labels": {"app": "shop", "version": "green", "pod-template-hash": "5d8f"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "shop-green-5d8f", "controller": True}]},
        "spec": {"containers": [{"name": "shop", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": f"10.0.0.{i}", "conditions": [{"type": "Ready", "status": "True"}]}}
        for i in range(2)]
    store = ClusterStore([_demo("Deployment", "shop", "shop-green"), *pods])
    changes = overlay(store, [d], [])
    assert [c.record.meta.kind for c in changes] == ["Deployment"]
    assert [f for f, _, _ in changes[0].fields()] == ["spec.replicas"]
    # offline, the template's stand-in is rebuilt from the new template (its replicas)
    [_, pod] = overlay(_analysis().store, [d], [])
    assert pod.cause == "pod template of Deployment shop/shop-green"
    assert isinstance(pod.new, Pod) and pod.new.replicas == 5


def test_an_exported_object_that_changes_nothing_is_no_change() -> None:
    svc = _demo("Service", "shop", "shop-green")
    svc["metadata"]["resourceVersion"] = "12345"
    a = _analysis()
    assert overlay(a.store, [svc], []) == []


def test_apply_keeps_what_the_file_does_not_write_the_published_address() -> None:
    """`status` is a subresource: `kubectl apply` of a Service without status leaves
    status.loadBalancer as the cluster has it."""
    svc = _demo("Service", "ingress-nginx", "ingress-nginx")
    svc.pop("status", None)
    svc["spec"]["externalTrafficPolicy"] = "Cluster"
    a = _analysis()
    [change] = overlay(a.store, [svc], [])
    assert change.new.lb_addresses == ("203.0.113.22",)  # type: ignore[union-attr]


def test_deleting_what_the_source_does_not_hold_is_a_usage_error() -> None:
    a = _analysis()
    with pytest.raises(UsageError, match="no Service nothere in namespace shop"):
        overlay(a.store, [], [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nothere",
                                                                                  "namespace": "shop"}}])


def test_a_new_host_that_is_broken_is_worse_and_a_new_healthy_one_is_not() -> None:
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": "new", "namespace": "shop"},
           "spec": {"ingressClassName": "nginx", "rules": [
               {"host": "new.demo.example", "http": {"paths": [
                   {"path": p, "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 80}}}}
                   for p, svc in (("/", "shop-blue"), ("/x", "nope"))]}}]}}
    plan = _plan([ing])
    by = {str(r.target): r for r in plan.routes}
    assert by["new.demo.example/"].status_before == "absent" and not by["new.demo.example/"].worse
    assert by["new.demo.example/x"].status_after == "broken" and by["new.demo.example/x"].worse


def test_deleting_the_ingress_breaks_its_routes() -> None:
    plan = _plan([], [_demo("Ingress", "ops", "status")])
    [route] = plan.routes
    assert (str(route.target), route.status_after, route.worse) == ("status.demo.example/", "broken", True)
    assert route.entry_before == "Ingress ops/status" and route.entry_after == ""
    assert [f.code for f in route.appear] == ["host-no-route"]


def test_markdown_cells_cannot_break_the_table() -> None:
    svc = _typo()
    plan = _plan([svc])
    plan.proposed = "files: a|b.yaml"
    text = plan_markdown(plan)
    assert "| Route | Before | After | What changes |" in text
    assert "a\\|b.yaml" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 2 and all(row.count(" | ") == 3 for row in rows)


def test_object_change_names_the_facts_it_moves() -> None:
    store = ClusterStore([_demo("Service", "shop", "shop-green")])
    old = store.service("shop", "shop-green")
    new = ClusterStore([_typo()]).service("shop", "shop-green")
    c = ObjectChange(old, new)
    assert c.action == "change" and c.ref == "Service shop/shop-green"
    assert c.fields() == [("spec.selector", "version=green", "version=gren")]
    assert c.to_dict()["fields"] == [{"field": "spec.selector", "old": "version=green", "new": "version=gren"}]


def test_diff_compares_the_entry_points_of_a_host_moved_from_an_ingress_to_an_httproute(tmp_path: Path) -> None:
    """`ktrace diff -f old/ --to -f new/` where the old files serve a host by an Ingress and the new ones by an
    HTTPRoute: each path's route, and the two entry points compared (ktrace.migration)."""
    docs = [d for d in yaml.safe_load_all((SCENARIOS / "ingress-to-gateway.yaml").read_text()) if d]
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(yaml.safe_dump_all([d for d in docs if d["kind"] != "HTTPRoute"]))
    new.write_text(yaml.safe_dump_all([d for d in docs if d["kind"] != "Ingress"]))
    a, b = ManifestSource([str(old)]), ManifestSource([str(new)])
    plan = Analysis(a, a.load(), AnalysisOptions()).diff(Analysis(b, b.load(), AnalysisOptions()))
    legacy = next(r for r in plan.routes if str(r.target) == "shop.migrate.example.com/legacy")
    assert (legacy.entry_before, legacy.entry_after) == ("Ingress mig/shop", "HTTPRoute mig/shop")
    assert (legacy.stop, legacy.start) == (["mig/legacy-1"], ["mig/web-1"])  # the HTTPRoute's `/` takes it
    by_host = {c.host: c for c in plan.entry_points}
    assert by_host["blog.migrate.example.com"].agree
    assert sorted({d.aspect for d in by_host["shop.migrate.example.com"].differences}) == [
        "backends", "match", "path", "tls"]
    assert {c.ref for c in plan.changes} == {"HTTPRoute mig/blog", "HTTPRoute mig/shop", "Ingress mig/blog",
                                             "Ingress mig/shop"}
    assert plan.to_dict()["entryPoints"][0]["host"] == "blog.migrate.example.com"


def test_the_switches_say_where_the_source_options_after_them_go() -> None:
    from ktrace.cli import other_source, parse_args, plan_request, source_spec

    args = parse_args(["diff", "--context", "staging", "--to", "--context", "prod", "-n", "shop"])
    assert (source_spec(args).context, other_source(args).context) == ("staging", "prod")
    assert source_spec(args).namespace == other_source(args).namespace == "shop"  # -n applies to both
    args = parse_args(["diff", "--to", "-f", "desired/"])
    assert (source_spec(args).files, source_spec(args).context, other_source(args).files) == ((), None, ("desired/",))
    args = parse_args(["plan", "-f", "a.yaml", "--delete", "-f", "b.yaml", "-f", "c.yaml", "--against", "-f", "base/"])
    request = plan_request(args)
    assert request is not None and (request.changes, request.deletes) == (("a.yaml",), ("b.yaml", "c.yaml"))
    assert source_spec(args).files == ("base/",)
    args = parse_args(["-f", "base/", "--plan", "-f", "change.yaml"])  # the interactive view of a plan
    assert source_spec(args).files == ("base/",) and plan_request(args).changes == ("change.yaml",)  # type: ignore[union-attr]


def test_a_plan_that_moves_a_host_from_its_ingress_to_an_httproute_compares_the_two() -> None:
    """The Ingress the plan deletes (read before the changes) against the HTTPRoute it adds (after them)."""
    d = SCENARIOS / "plan" / "ingress-to-gateway"
    source = ManifestSource([str(d / "baseline.yaml")])
    a = Analysis(source, source.load(), AnalysisOptions())
    plan = a.plan(overlay(a.store, yaml_objects(d / "change.yaml"), yaml_objects(d / "delete.yaml")))
    [moved] = plan.entry_points
    assert (moved.host, moved.ingresses, moved.routes) == ("shop.example.com", ("Ingress shop/shop",),
                                                           ("HTTPRoute shop/shop",))
    assert [(x.aspect, x.path) for x in moved.differences] == [("path", "/admin")]


def yaml_objects(path: Path) -> list[dict]:
    return [o for o in yaml.safe_load_all(path.read_text()) if o]


def test_an_object_whose_file_names_no_namespace_goes_where_kubectl_would_put_it() -> None:
    """`kubectl apply -f` puts an object without metadata.namespace in the namespace of `-n`, else of the
    kubeconfig context; the plan lays it there, not in `default`."""
    svc = _typo()
    del svc["metadata"]["namespace"]
    a = _analysis()
    [change] = [c for c in overlay(a.store, [svc], [], "shop") if not c.cause]
    assert change.action == "change" and change.ref == "Service shop/shop-green"
    [added] = [c for c in overlay(a.store, [svc], []) if not c.cause]
    assert added.action == "add" and added.ref == "Service default/shop-green"


def test_apply_namespace_is_minus_n_else_the_contexts_else_default(tmp_path: Path) -> None:
    from ktrace.options import SourceSpec
    from ktrace.sources import apply_namespace

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {}}]}))
    assert apply_namespace(SourceSpec(kubeconfig=str(kubeconfig))) == "team-a"
    assert apply_namespace(SourceSpec(kubeconfig=str(kubeconfig), namespace="shop")) == "shop"
    assert apply_namespace(SourceSpec(files=("x.yaml",))) == "default"


def test_a_service_file_without_what_the_api_server_filled_in_changes_nothing() -> None:
    """`kubectl apply` of a Service that leaves out spec.clusterIP, ipFamilies, ipFamilyPolicy and
    externalTrafficPolicy keeps the values the API server gave them: no change, no EndpointSlice republished."""
    live = _demo("Service", "shop", "shop-green")
    live["spec"].update(clusterIP="10.96.0.12", ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack")
    store = ClusterStore([live])
    assert overlay(store, [_demo("Service", "shop", "shop-green")], []) == []
    headless = _demo("Service", "shop", "shop-green")
    headless["spec"]["clusterIP"] = "None"
    [change] = [c for c in overlay(store, [headless], []) if not c.cause]
    assert change.new.cluster_ip == "None"  # type: ignore[union-attr]
