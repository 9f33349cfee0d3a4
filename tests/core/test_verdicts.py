"""Every route's verdict (ktrace.verdicts): traced at load, kept current by re-tracing only the routes a
change can touch, and what each finding of `check` breaks or degrades."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator

import pytest

from ktrace.cli import main
from ktrace.requestpath import PathStatus
from ktrace.sim.demo import demo_objects
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.trace import trace
from ktrace.verdicts import RouteVerdicts

BROKEN = {Target("aspnetapp.demo.example", "/"), Target("catalog.demo.example", "/"),
          Target("pay.demo.example", "/api"), Target("vault.demo.example", "", "tls")}


def verdicts_of(store: ClusterStore) -> RouteVerdicts:
    return RouteVerdicts(store, lambda t: trace(store, t, live=True))


def test_every_route_carries_its_paths_verdict_and_the_worst_comes_first() -> None:
    store = ClusterStore(demo_objects())
    v = verdicts_of(store)
    assert {e for e, p in v.paths.items() if p.status == PathStatus.BROKEN} == BROKEN
    for t, p in v.paths.items():
        assert p.status == trace(store, t, live=True).status or not t.host
    assert Target("pay.demo.example", "/") in v.paths and v.status(Target("pay.demo.example", "/")) == PathStatus.OK
    assert v.worst() == Target("aspnetapp.demo.example", "/")  # broken before degraded, then host order


def test_with_nothing_broken_the_worst_is_the_first_degraded_route_else_none() -> None:
    store = ClusterStore(demo_objects())
    v = verdicts_of(store)
    for entry in BROKEN:
        v.paths[entry].status = PathStatus.DEGRADED if entry.host.startswith("pay") else PathStatus.OK
    assert v.worst() == Target("pay.demo.example", "/api")
    v.paths[Target("pay.demo.example", "/api")].status = PathStatus.OK
    degraded = sorted(e for e, p in v.paths.items() if p.status == PathStatus.DEGRADED)
    assert v.worst() == (degraded[0] if degraded else None)


@pytest.fixture
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")


def test_check_says_which_routes_each_finding_breaks(capsys: pytest.CaptureFixture, plain_terminal: None) -> None:
    assert main(["check", "--demo", "-o", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    affects = {(f["code"], f["object"]["name"]): f["affects"] for f in doc["findings"]}
    assert affects[("ingress-tls-secret-missing", "aspnetapp")] == ["aspnetapp.demo.example/"]
    assert affects[("service-selector-no-match", "aspnetapp")] == ["aspnetapp.demo.example/"]
    assert affects[("service-target-port-missing", "catalog")] == ["catalog.demo.example/"]
    assert affects[("service-no-ready-endpoints", "payments-api")] == ["pay.demo.example/api"]
    assert affects[("service-externalname", "docs")] == []  # on no broken or degraded path
    assert main(["check", "--demo"]) == 1
    blocks = capsys.readouterr().out.split("\n\u2717 error  ")  # one block per error finding
    block = next(b for b in blocks if b.startswith("service-selector-no-match"))
    assert "\n    affects: aspnetapp.demo.example/" in block


# -- kept current ------------------------------------------------------------------------------------

def _mutations(objs: list[dict], rng: random.Random) -> Iterator[tuple[str, dict]]:
    """Random watch events over the demo's objects: pods relabelled (the near miss fixed and broken), made
    ready and not, deleted and back; Services' selectors and ports changed; slices, Secrets, policies and
    Ingresses deleted and back."""
    by_kind: dict[str, list[dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    rv = 10_000
    while True:
        rv += 1
        kind = rng.choice(["Pod", "Pod", "Pod", "Service", "EndpointSlice", "Secret", "NetworkPolicy", "Ingress"])
        obj = copy.deepcopy(rng.choice(by_kind[kind]))
        obj["metadata"]["resourceVersion"] = str(rv)
        what = rng.random()
        if what < 0.2:
            yield "DELETED", obj
            continue
        if kind == "Pod" and what < 0.6:
            labels = obj["metadata"].setdefault("labels", {})
            if "app" in labels and rng.random() < 0.5:
                labels["App"] = labels.pop("app")
            elif "App" in labels:
                labels["app"] = labels.pop("App")
            elif labels:
                labels[rng.choice(sorted(labels))] = "other"
        elif kind == "Pod":
            for c in obj.get("status", {}).get("conditions", []):
                if c["type"] == "Ready":
                    c["status"] = rng.choice(["True", "False"])
        elif kind == "Service" and what < 0.6 and obj["spec"].get("selector"):
            sel = obj["spec"]["selector"]
            key = rng.choice(sorted(sel))
            sel[key.capitalize() if key.islower() else key.lower()] = sel.pop(key)
        elif kind == "Service" and obj["spec"].get("ports"):
            obj["spec"]["ports"][0]["port"] = rng.choice([80, 8080])
        yield "ADDED", obj


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_refresh_after_any_changes_equals_tracing_every_route_again(seed: int) -> None:
    objs = demo_objects()
    store = ClusterStore(objs)
    v = verdicts_of(store)
    rng = random.Random(seed)
    events = _mutations(objs, rng)
    for _ in range(60):
        batch = []
        for _ in range(rng.randint(1, 4)):
            etype, obj = next(events)
            if store.apply(etype, obj):
                meta = obj["metadata"]
                batch.append((obj["kind"], etype, meta.get("namespace", ""), meta["name"]))
        before = {e: p.status for e, p in v.paths.items()}
        changed = v.refresh(batch)
        fresh = verdicts_of(store)
        assert set(v.paths) == set(fresh.paths)
        for entry, p in fresh.paths.items():
            kept = v.paths[entry]
            assert (kept.status, [(h.kind, h.name, h.status) for h in kept.hops]) == \
                (p.status, [(h.kind, h.name, h.status) for h in p.hops]), (entry, batch)
        assert changed == {e for e in before.keys() | fresh.paths.keys()
                           if before.get(e) != (fresh.paths[e].status if e in fresh.paths else None)}


def test_a_pod_change_retraces_only_the_routes_it_can_touch() -> None:
    store = ClusterStore(demo_objects())
    traced: list[str] = []

    def counting(t):
        traced.append(str(t))
        return trace(store, t, live=True)

    v = RouteVerdicts(store, counting)
    traced.clear()
    pod = next(o for o in demo_objects() if o["kind"] == "Pod" and o["metadata"]["namespace"] == "payments"
               and o["metadata"]["labels"].get("app") == "payments-web")
    pod["metadata"]["resourceVersion"] = "99999"
    pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert store.apply("MODIFIED", pod)
    v.refresh([("Pod", "MODIFIED", "payments", pod["metadata"]["name"])])
    assert traced == ["pay.demo.example/"]
    traced.clear()
    v.refresh([("Ingress", "MODIFIED", "payments", "payments")])  # an Ingress can take any host: all again
    assert len(traced) == len(v.paths)


def test_a_mirror_services_change_retraces_the_route_that_mirrors_to_it() -> None:
    """HTTPRequestMirrorFilter `backendRef`: "the backend where mirrored requests are sent"; it may be in
    another namespace (with a ReferenceGrant). Its Service is no hop of the path, so the path's
    namespaces alone would not say that its deletion changes the mirror's verdict."""
    from pathlib import Path

    from ktrace.loader import load_paths

    objs = load_paths([str(Path(__file__).parent.parent / "scenarios" / "gateway-filters.yaml")]).objects
    for obj in objs:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "shadow":
            obj["metadata"]["namespace"] = "mirrors"
        if obj["kind"] == "HTTPRoute" and obj["metadata"]["name"] == "shop":
            for rule in obj["spec"]["rules"]:
                for ref in rule.get("backendRefs", []):
                    for f in ref.get("filters", []):
                        if f["type"] == "RequestMirror":
                            f["requestMirror"]["backendRef"]["namespace"] = "mirrors"
    objs.append({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant",
                 "metadata": {"name": "from-flt", "namespace": "mirrors"},
                 "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "flt"}],
                          "to": [{"group": "", "kind": "Service"}]}})
    store = ClusterStore(objs)
    verdicts = RouteVerdicts(store, lambda t: trace(store, t, live=False))
    entry = Target("shop.filters.example.com", "/")
    mirrors = [m for h in verdicts.paths[entry].hops for m in h.mirrors]
    assert [(m.namespace, m.name, m.exists) for m in mirrors] == [("mirrors", "shadow", True)]
    assert entry in (verdicts.touched([("Service", "DELETED", "mirrors", "shadow")]) or set())


def test_a_gateway_pod_moving_into_a_path_namespace_retraces_the_routes_its_policies_judge() -> None:
    """The shop NetworkPolicy admits the Envoy data plane by its namespace: the store route's pods are reached.
    Moved into payments (a namespace paths pass through), in two batches (gone, then back elsewhere), the pod is
    no longer admitted: the route must be traced again on each batch, as a fresh trace of the store says."""
    store = ClusterStore(demo_objects())
    v = verdicts_of(store)
    envoy = next(o for o in demo_objects() if o["kind"] == "Pod"
                 and o["metadata"]["namespace"] == "envoy-gateway-system")
    name = envoy["metadata"]["name"]
    entry = Target("store.demo.example", "/")
    before = v.status(entry)
    assert store.apply("DELETED", envoy)
    v.refresh([("Pod", "DELETED", "envoy-gateway-system", name)])
    moved = {**envoy, "metadata": {**envoy["metadata"], "namespace": "payments", "resourceVersion": "99999"}}
    assert store.apply("ADDED", moved)
    v.refresh([("Pod", "ADDED", "payments", name)])
    assert v.status(entry) == verdicts_of(store).status(entry) != before
