"""Gateway API kinds served by the simulator and read by the live source over real HTTP: the
controller's status is quoted (live only), and a cluster without the Gateway API group is fine."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.checks import run_checks
from ktrace.kinds import Kind
from ktrace.loader import load_paths
from ktrace.sim.handle import Simulator
from ktrace.sources.kubeconfig import resolve_context
from ktrace.sources.live import LIVE_KINDS, LiveSource
from ktrace.store import ClusterStore
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def test_route_status_is_quoted_live(served: Callable[..., ClusterStore]) -> None:
    store = served("gateway-problems.yaml")
    assert {k: store.count(k) for k in ("GatewayClass", "Gateway", "HTTPRoute")} == \
        {"GatewayClass": 1, "Gateway": 2, "HTTPRoute": 7}
    live = {f.code: f for f in run_checks(store, live=True) if f.code.startswith("route-not") or
            f.code == "route-refs-unresolved"}
    assert live["route-not-accepted"].name == "rejected"
    assert live["route-not-accepted"].message == (
        'not accepted by gateway.envoyproxy.io/gatewayclass-controller on Gateway infra/edge/web: '
        '"UnsupportedValue: a filter of type ExtensionRef is not supported"')
    assert live["route-refs-unresolved"].details["reason"] == "RefNotPermitted"
    path = trace(store, "rejected.apps.example.com", live=True)
    route_hop = next(h for h in path.hops if h.kind == "HTTPRoute")
    assert route_hop.status == "warning" and route_hop.finding_codes == ["route-not-accepted"]
    assert path.status == "ok"  # the controller's word is a warning; the objects themselves resolve


def test_healthy_gateway_stays_clean_live(served: Callable[..., ClusterStore]) -> None:
    store = served("gateway-healthy.yaml")
    assert [f.code for f in run_checks(store, live=True)] == []
    path = trace(store, "store.gw.example.com/", live=True)
    assert path.status == "ok"
    assert [(h.name, h.split.share) for h in path.hops if h.kind == "Service"] == [("web", 0.9), ("web-canary", 0.1)]


def test_a_group_the_server_does_not_serve_is_absent_not_missing(sim_factory: Callable[..., Simulator],
                                                                 tmp_path: Path) -> None:
    """Clusters without the Gateway API CRDs answer 404 for the group: nothing to read, nothing to report."""
    sim = sim_factory(load_paths([str(SCENARIOS / "healthy.yaml")]).objects)
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    unserved = Kind("HTTPRoute", "gateway.networking.k8s.io", "v9", "httproutes")
    kinds = tuple(unserved if k.kind == "HTTPRoute" else k for k in LIVE_KINDS)
    source = LiveSource(resolve_context(str(kubeconfig), None), None, kinds)
    try:
        store = source.load()
    finally:
        source.close()
    assert source.absent == {"HTTPRoute"}
    assert source.notes == [] and store.unreadable == set()
    assert trace(store, "shop.example.com", live=True).status == "ok"


def test_check_in_one_namespace_does_not_call_the_shared_gateway_missing(
        served: Callable[..., ClusterStore]) -> None:
    store = served("gateway-healthy.yaml", namespace="store")
    assert store.scope == "store" and store.count("Gateway") == 0 and store.count("HTTPRoute") == 1
    assert run_checks(store, live=True) == []


def test_httproutes_served_only_as_v1beta1_are_read_and_watched(sim_factory: Callable[..., Simulator],
                                                                tmp_path: Path) -> None:
    """Older Gateway API releases serve HTTPRoute as `gateway.networking.k8s.io/v1beta1` only: discovery
    picks the version the server serves (v1 first), so the routes are read, traced and watched, not absent."""
    import threading

    sim = sim_factory(load_paths([str(SCENARIOS / "gateway-healthy.yaml")]).objects, versions={"HTTPRoute": "v1beta1"})
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    source = LiveSource(resolve_context(str(kubeconfig), None), None)
    changed = threading.Event()
    try:
        store = source.load()
        assert source.absent == set() and store.count("HTTPRoute") == 1
        assert (source.served["HTTPRoute"].api_version, source.served["Gateway"].api_version) == \
            ("gateway.networking.k8s.io/v1beta1", "gateway.networking.k8s.io/v1")
        assert trace(store, "store.gw.example.com/", live=True).status == "ok"
        source.watch(store, lambda change: change.kind == "HTTPRoute" and changed.set())
        sim.patch("HTTPRoute", "store", "store", {"spec": {"hostnames": ["shop.gw.example.com"]}})
        assert changed.wait(5)
        with source.lock:
            assert trace(store, "shop.gw.example.com/", live=True).status == "ok"
    finally:
        source.close()
    lists = {r["path"] for r in sim.requests if r["path"].endswith("/httproutes")}
    assert lists == {"/apis/gateway.networking.k8s.io/v1beta1/httproutes"}


@pytest.mark.slow  # a watch waits for the route's events (up to 2 s)
@pytest.mark.parametrize(("kind", "version", "name", "target", "fixed"), [
    ("GRPCRoute", "v1alpha2", "cart", "grpc://cart.demo.example/shop.v1.Cart/Add", None),
    ("TLSRoute", "v1alpha2", "vault", "tls://vault.demo.example", ("Service", "ops", "vault",
                                                                   {"spec": {"selector": {"app": "vault-server"}}})),
])
def test_grpc_and_tls_routes_are_read_at_the_served_version_and_watched(
        sim_factory: Callable[..., Simulator], tmp_path: Path, kind: str, version: str, name: str, target: str,
        fixed: tuple | None) -> None:
    """GRPCRoute was v1alpha2 before v1 (Gateway API 1.1), TLSRoute v1alpha2 (then v1alpha3) before v1 (1.5): the
    live source reads the version discovery says is served, traces the route, and follows its watch events."""
    import threading

    from ktrace.sim.demo import demo_objects

    sim = sim_factory(demo_objects(), versions={kind: version})
    source = LiveSource(resolve_context(str(sim.write_kubeconfig(tmp_path / "kubeconfig")), None), None)
    changed = threading.Event()
    try:
        store = source.load()
        assert source.served[kind].api_version == f"gateway.networking.k8s.io/{version}"
        before = trace(store, target, live=True).status
        assert before == ("ok" if kind == "GRPCRoute" else "broken")  # the demo's vault selector has a typo
        source.watch(store, lambda change: change.kind in (kind, "EndpointSlice") and changed.set())
        if fixed is None:  # the route's only backend goes away: the call fails
            sim.patch(kind, "shop", name, {"spec": {"rules": [{"matches": [{"method": {"service": "shop.v1.Cart"}}],
                                                           "backendRefs": [{"name": "nowhere", "port": 1}]}]}})
        else:
            sim.patch(*fixed)
        assert changed.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with source.lock:
                after = trace(store, target, live=True).status
            if after != before:
                break
            time.sleep(0.05)
        assert after == ("broken" if kind == "GRPCRoute" else "ok")
    finally:
        source.close()
    plural = {"GRPCRoute": "grpcroutes", "TLSRoute": "tlsroutes"}[kind]
    assert {r["path"] for r in sim.requests if r["path"].endswith("/" + plural)} == \
        {f"/apis/gateway.networking.k8s.io/{version}/{plural}"}


def test_backend_kinds_are_judged_by_what_the_cluster_serves(sim_factory: Callable[..., Simulator],
                                                             tmp_path: Path) -> None:
    """HTTPBackendRef: a kind that is "unknown or unsupported" leaves ResolvedRefs false (InvalidKind). Live API
    discovery, for the groups backendRefs name only, tells which kinds can exist: a kind the cluster serves
    may be the implementation's own (warning), one it does not serve cannot be a backend (error)."""
    objs = load_paths([str(SCENARIOS / "gateway-filters.yaml")]).objects
    route = next(o for o in objs if o["kind"] == "HTTPRoute" and o["metadata"]["name"] == "bad")
    route["spec"]["rules"] = [{"backendRefs": [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "shop"},
        {"group": "gateway.networking.k8s.io", "kind": "Foo", "name": "foo"}]}]
    sim = sim_factory(objs)
    source = LiveSource(resolve_context(str(sim.write_kubeconfig(tmp_path / "kubeconfig")), None), None)
    try:
        store = source.load()
    finally:
        source.close()
    assert set(store.served) == {"example.com", "gateway.networking.k8s.io"}
    assert store.served["example.com"] == frozenset() and "HTTPRoute" in store.served["gateway.networking.k8s.io"]
    graded = sorted((f.details["backend_kind"], f.severity) for f in run_checks(store, live=True)
                    if f.code == "route-backend-kind-unsupported")
    assert graded == [("ConfigMap", "error"), ("Foo", "error"), ("Foo", "error"), ("HTTPRoute", "warning")]
    assert trace(store, "shop.filters.example.com/foo", live=True).status == "broken"
