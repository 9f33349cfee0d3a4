"""The simulator's controllers, observed through the official client: EndpointSlices for pod and
service changes, workloads materialising pods, rollouts; and the demo/synthetic clusters."""

from __future__ import annotations

import time

import pytest
from kubernetes import client, config

from ktrace.sim import endpointslices
from ktrace.sim.demo import DemoLife, demo_objects, load_scenario
from ktrace.sim.handle import Simulator
from ktrace.sim.state import ApiError, Store
from ktrace.sim.synthetic import synthetic_objects

MANAGED = f"{endpointslices.MANAGED_BY_LABEL}={endpointslices.MANAGED_BY}"


def pod(ns: str, name: str, labels: dict, ports: list[dict] | None = None, ready: bool | None = None,
        **meta) -> dict:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels, **meta},
           "spec": {"containers": [{"name": "main", "image": "nginx:1.27", "ports": ports or []}]}}
    if ready is not None:  # a hand-written status, kept as given
        flag = "True" if ready else "False"
        obj["spec"]["nodeName"] = "sim-node-1"
        obj["status"] = {"phase": "Running", "podIP": f"10.244.1.{10 + sum(map(ord, name)) % 200}",
                         "conditions": [{"type": "Ready", "status": flag}],
                         "containerStatuses": [{"name": "main", "ready": ready, "restartCount": 0}]}
    return obj


def service(ns: str, name: str, selector: dict | None, target: int | str = 8080, **spec) -> dict:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
           "spec": {"ports": [{"name": "http", "port": 80, "targetPort": target}], **spec}}
    if selector is not None:
        svc["spec"]["selector"] = selector
    return svc


@pytest.fixture(scope="module")
def shared() -> Simulator:
    sim = Simulator()
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def discovery(shared: Simulator, tmp_path) -> client.DiscoveryV1Api:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(shared.write_kubeconfig(tmp_path / "kc")), client_configuration=cfg)
    return client.DiscoveryV1Api(client.ApiClient(cfg))


def slices(api: client.DiscoveryV1Api, ns: str, svc: str) -> list:
    found = api.list_namespaced_endpoint_slice(ns, label_selector=f"kubernetes.io/service-name={svc}").items
    return sorted(found, key=lambda s: s.metadata.name)


def endpoint_states(api: client.DiscoveryV1Api, ns: str, svc: str) -> dict[str, tuple]:
    return {e.target_ref.name: (e.conditions.ready, e.conditions.serving, e.conditions.terminating)
            for s in slices(api, ns, svc) for e in s.endpoints}


def test_ready_flip_updates_the_slice(shared: Simulator, discovery):
    shared.apply(service("flip", "web", {"app": "web"}))
    shared.apply(pod("flip", "web-1", {"app": "web"}, ready=True))
    before = slices(discovery, "flip", "web")
    assert len(before) == 1 and before[0].metadata.labels[endpointslices.MANAGED_BY_LABEL] == endpointslices.MANAGED_BY
    assert before[0].metadata.owner_references[0].kind == "Service"
    assert endpoint_states(discovery, "flip", "web") == {"web-1": (True, True, False)}
    shared.apply(pod("flip", "web-1", {"app": "web"}, ready=False))
    assert endpoint_states(discovery, "flip", "web") == {"web-1": (False, False, False)}
    after = slices(discovery, "flip", "web")
    assert after[0].metadata.name == before[0].metadata.name
    assert int(after[0].metadata.resource_version) > int(before[0].metadata.resource_version)


def test_named_port_missing_on_a_pod(shared: Simulator, discovery):
    shared.apply(service("named", "api", {"app": "api"}, target="http"))
    shared.apply(pod("named", "has-port", {"app": "api"}, ports=[{"name": "http", "containerPort": 9000}]))
    shared.apply(pod("named", "lacks-port", {"app": "api"}, ports=[{"name": "web", "containerPort": 9000}]))
    by_ports = {tuple(p.port for p in s.ports or []): [e.target_ref.name for e in s.endpoints]
                for s in slices(discovery, "named", "api")}
    assert by_ports == {(9000,): ["has-port"], (): ["lacks-port"]}
    # exactly what ktrace.sim.endpointslices computes for the stored objects
    want = endpointslices.compute_slices(shared.get("Service", "named", "api"), shared.list("Pod", "named"))
    served = shared.list("EndpointSlice", "named")
    assert [(s["metadata"]["name"], s["endpoints"], s["ports"]) for s in served] == sorted(
        (s["metadata"]["name"], s["endpoints"], s["ports"]) for s in want)


def test_dual_stack_service_gets_a_slice_per_family(shared: Simulator, discovery):
    """Service `ipFamilyPolicy`: "PreferDualStack" (two IP families on dual-stack configured clusters):
    the simulated cluster is dual-stack, so the Service gets a cluster IP per family, its pods an
    address per family (`status.podIPs`), and the controller one slice per `addressType`."""
    shared.apply(service("dual", "web", {"app": "web"}, ipFamilyPolicy="PreferDualStack"))
    shared.apply(pod("dual", "web-1", {"app": "web"}))
    spec = shared.get("Service", "dual", "web")["spec"]
    assert spec["ipFamilies"] == ["IPv4", "IPv6"] and [":" in ip for ip in spec["clusterIPs"]] == [False, True]
    ips = [i["ip"] for i in shared.get("Pod", "dual", "web-1")["status"]["podIPs"]]
    assert {s.address_type: [e.addresses for e in s.endpoints] for s in slices(discovery, "dual", "web")} == {
        "IPv4": [ips[:1]], "IPv6": [ips[1:]]}
    assert ":" in ips[1]


def test_placeholder_slice_for_a_service_without_endpoints(shared: Simulator, discovery):
    """The controller's reconciler: "When no endpoint slices would usually exist, we need to add a
    placeholder": one per address family, with no endpoints and no ports (null on the wire)."""
    shared.apply(service("lonely", "web", {"app": "nobody"}, ipFamilyPolicy="PreferDualStack"))
    assert sorted((s.address_type, s.endpoints, s.ports) for s in slices(discovery, "lonely", "web")) == [
        ("IPv4", None, None), ("IPv6", None, None)]
    shared.apply(pod("lonely", "web-1", {"app": "nobody"}))  # a pod: real slices replace the placeholders
    assert all(s.endpoints for s in slices(discovery, "lonely", "web"))
    assert len(slices(discovery, "lonely", "web")) == 2


def test_terminating_pod(shared: Simulator, discovery):
    shared.apply(service("term", "web", {"app": "web"}))
    shared.apply(pod("term", "going", {"app": "web"}, ready=True, deletionTimestamp="2026-01-01T00:00:30Z"))
    assert endpoint_states(discovery, "term", "web") == {"going": (False, True, True)}


@pytest.mark.slow
def test_deleted_pod_is_terminating_for_its_grace_period(sim_factory, tmp_path):
    sim = sim_factory([service("grace", "web", {"app": "web"}), pod("grace", "p", {"app": "web"})], pod_grace=0.5)
    sim.delete("Pod", "grace", "p")
    [eps] = sim.list("EndpointSlice", "grace")
    assert eps["endpoints"][0]["conditions"] == {"ready": False, "serving": True, "terminating": True}
    deadline = time.monotonic() + 3
    while sim.list("Pod", "grace") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.list("Pod", "grace") == []
    assert [(s["endpoints"], s["ports"]) for s in sim.list("EndpointSlice", "grace")] == [(None, None)]  # placeholder


def test_headless_service_gets_slices_and_keeps_none(shared: Simulator, discovery):
    shared.apply(service("headless", "db", {"app": "db"}, clusterIP="None"))
    shared.apply(pod("headless", "db-0", {"app": "db"}))
    assert shared.get("Service", "headless", "db")["spec"]["clusterIP"] == "None"
    assert list(endpoint_states(discovery, "headless", "db")) == ["db-0"]


def test_external_name_service_gets_no_slices(shared: Simulator, discovery):
    svc = service("extname", "docs", None, type="ExternalName", externalName="docs.example.org")
    shared.apply(svc)
    shared.apply(pod("extname", "docs-1", {"app": "docs"}))
    assert slices(discovery, "extname", "docs") == []
    assert "clusterIP" not in shared.get("Service", "extname", "docs")["spec"]


def test_selectorless_service_keeps_its_hand_made_slice(shared: Simulator, discovery):
    shared.apply(service("manual", "legacy", None, target=5432))
    hand_made = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "legacy-1", "namespace": "manual",
                              "labels": {"kubernetes.io/service-name": "legacy"}},
                 "addressType": "IPv4", "endpoints": [{"addresses": ["192.168.1.5"]}],
                 "ports": [{"name": "http", "port": 5432}]}
    shared.apply(hand_made)
    shared.apply(pod("manual", "other", {"app": "legacy"}))
    shared.patch("Service", "manual", "legacy", {"metadata": {"labels": {"touched": "yes"}}})
    [eps] = slices(discovery, "manual", "legacy")
    assert eps.metadata.name == "legacy-1" and eps.endpoints[0].addresses == ["192.168.1.5"]
    assert not eps.metadata.labels.get(endpointslices.MANAGED_BY_LABEL)


def test_service_and_pod_changes_move_endpoints(shared: Simulator, discovery):
    shared.apply(service("moves", "web", {"app": "web"}))
    shared.apply(pod("moves", "a", {"app": "web"}))
    shared.apply(pod("moves", "b", {"app": "web"}))
    assert set(endpoint_states(discovery, "moves", "web")) == {"a", "b"}
    shared.patch("Pod", "moves", "b", {"metadata": {"labels": {"app": "other"}}})
    assert set(endpoint_states(discovery, "moves", "web")) == {"a"}
    shared.patch("Service", "moves", "web", {"spec": {"selector": {"app": "other"}}})
    assert set(endpoint_states(discovery, "moves", "web")) == {"b"}
    shared.delete("Service", "moves", "web")
    assert discovery.list_namespaced_endpoint_slice("moves", label_selector=MANAGED).items == []


def deployment(ns: str, name: str, replicas: int, image: str = "nginx:1.27") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "main", "image": image}]}}}}


def test_deployment_materialises_replicaset_and_running_pods(shared: Simulator):
    shared.apply(deployment("work", "web", 3))
    [rs] = shared.list("ReplicaSet", "work")
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}" and len(h) == 10
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = shared.list("Pod", "work")
    assert len(pods) == 3
    for p in pods:
        assert p["metadata"]["name"].startswith(f"web-{h}-") and len(p["metadata"]["name"]) == len(f"web-{h}-") + 5
        assert p["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
        assert p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        assert p["status"]["phase"] == "Running" and p["status"]["podIP"].startswith("10.244.")
        assert p["spec"]["nodeName"].startswith("sim-node-")
    assert len({p["status"]["podIP"] for p in pods}) == 3
    status = shared.get("Deployment", "work", "web")["status"]
    assert status["readyReplicas"] == 3 and status["updatedReplicas"] == 3


def test_rollout_replaces_the_pods(shared: Simulator):
    shared.apply(deployment("roll", "api", 2, image="api:1"))
    old = {p["metadata"]["name"] for p in shared.list("Pod", "roll")}
    shared.patch("Deployment", "roll", "api", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "api:2"}]}}}})
    sets = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in shared.list("ReplicaSet", "roll")}
    assert sorted(sets.values()) == [0, 2]
    new = {p["metadata"]["name"] for p in shared.list("Pod", "roll")}
    assert len(new) == 2 and not new & old
    assert {p["spec"]["containers"][0]["image"] for p in shared.list("Pod", "roll")} == {"api:2"}


def test_deleted_replica_is_replaced(shared: Simulator):
    shared.apply(deployment("heal", "w", 2))
    victim = shared.list("Pod", "heal")[0]["metadata"]["name"]
    shared.delete("Pod", "heal", victim)
    names = {p["metadata"]["name"] for p in shared.list("Pod", "heal")}
    assert len(names) == 2 and victim not in names


def test_workload_with_hand_given_pods_is_left_alone(shared: Simulator):
    crash = pod("given", "w-abc", {"app": "w"}, ready=False)
    shared.load([deployment("given", "w", 3), crash])
    assert shared.list("ReplicaSet", "given") == []
    assert [p["metadata"]["name"] for p in shared.list("Pod", "given")] == ["w-abc"]


def test_statefulset_and_daemonset_pods(shared: Simulator):
    sts = deployment("sets", "db", 2) | {"kind": "StatefulSet"}
    ds = deployment("sets", "agent", 0) | {"kind": "DaemonSet"}
    shared.load([sts, ds])
    names = sorted(p["metadata"]["name"] for p in shared.list("Pod", "sets"))
    assert names[-2:] == ["db-0", "db-1"]
    agents = [p for p in shared.list("Pod", "sets") if p["metadata"]["name"].startswith("agent-")]
    assert sorted(p["spec"]["nodeName"] for p in agents) == ["sim-node-1", "sim-node-2", "sim-node-3"]


def test_history_is_bounded_and_old_versions_expire():
    store = Store(history=3)
    for i in range(5):
        store.put({"kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "a"}})
    assert [e.rv for e in store.events_after("Pod", 2)] == [3, 4, 5]
    with pytest.raises(ApiError) as err:
        store.events_after("Pod", 1)
    assert err.value.code == 410 and err.value.reason == "Expired"


def test_demo_objects_tell_the_story():
    objs = demo_objects()
    assert objs == demo_objects()  # deterministic
    by = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}
    svc = by[("Service", "aspnet", "aspnetapp")]
    assert svc["spec"]["selector"] == {"App": "aspnetapp"}
    aspnet_pods = [o for o in objs if o["kind"] == "Pod" and o["metadata"]["namespace"] == "aspnet"]
    assert aspnet_pods and all(p["metadata"]["labels"]["app"] == "aspnetapp" for p in aspnet_pods)
    assert [(o["endpoints"], o["ports"]) for o in objs  # the controller's placeholder only
            if o["kind"] == "EndpointSlice" and o["metadata"]["namespace"] == "aspnet"] == [(None, None)]
    ing = by[("Ingress", "aspnet", "aspnetapp")]
    secret = ing["spec"]["tls"][0]["secretName"]
    assert ("Secret", "aspnet", secret) not in by and ("Secret", "cert-manager", secret) in by
    crash = [o for o in objs if o["kind"] == "Pod" and o["metadata"]["namespace"] == "payments"
             and o["metadata"]["name"].startswith("payments-api")]
    assert crash and all(p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
                         and p["status"]["containerStatuses"][0]["restartCount"] > 0 for p in crash)
    [catalog] = [o for o in objs if o["kind"] == "EndpointSlice" and o["metadata"]["namespace"] == "catalog"]
    assert catalog["ports"] == [] and catalog["endpoints"]
    assert by[("Service", "shop", "docs")]["spec"]["type"] == "ExternalName"
    classes = [o for o in objs if o["kind"] == "IngressClass"
               and o["metadata"].get("annotations", {}).get("ingressclass.kubernetes.io/is-default-class") == "true"]
    assert len(classes) == 1
    assert len({o["metadata"]["namespace"] for o in objs if o["kind"] == "Ingress"}) >= 4


@pytest.mark.slow
def test_demo_served_validates_with_the_client_models(sim_factory, tmp_path):
    sim = sim_factory(load_scenario("demo").objects)
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(sim.write_kubeconfig(tmp_path / "kc")), client_configuration=cfg)
    api = client.ApiClient(cfg)
    assert len(client.CoreV1Api(api).list_pod_for_all_namespaces().items) == len(sim.list("Pod"))
    assert client.CoreV1Api(api).list_service_for_all_namespaces().items
    assert client.NetworkingV1Api(api).list_ingress_for_all_namespaces().items
    assert client.NetworkingV1Api(api).list_ingress_class().items
    assert client.AppsV1Api(api).list_deployment_for_all_namespaces().items
    assert client.AppsV1Api(api).list_replica_set_for_all_namespaces().items
    assert client.DiscoveryV1Api(api).list_endpoint_slice_for_all_namespaces().items
    assert client.NetworkingV1Api(api).list_network_policy_for_all_namespaces().items


@pytest.mark.slow
def test_demo_live_behaviour_flaps_and_rolls(sim_factory):
    sim = sim_factory(load_scenario("demo").objects, pod_grace=0.2)
    life = DemoLife(sim.cluster, flap_every=0.1, rollout_every=0.3)
    before_rs = {r["metadata"]["name"] for r in sim.list("ReplicaSet", "shop")}
    start_rv = sim.resource_version
    sim.call(life.start)
    time.sleep(1.0)
    sim.call(life.stop)
    events = sim.call(sim.cluster.store.events_after, "Pod", start_rv)
    flaps = [e for e in events if e.type == "MODIFIED" and e.entry.meta["namespace"] == "ops"]
    assert len(flaps) >= 2
    assert {r["metadata"]["name"] for r in sim.list("ReplicaSet", "shop")} - before_rs
    assert [e for e in events if e.type == "DELETED" and e.entry.meta["namespace"] == "shop"]


def test_synthetic_cluster_shape_and_defects():
    objs = synthetic_objects(200, seed=1)
    assert objs == synthetic_objects(200, seed=1)
    pods = [o for o in objs if o["kind"] == "Pod"]
    assert len(pods) == 200
    assert len([o for o in objs if o["kind"] == "Ingress"]) == 4
    sim = Simulator(objs)
    assert sim.list("ReplicaSet") and len(sim.list("Pod")) == 200  # controllers added nothing
    assert sim.get("Service", "team-001", "app-2")["spec"]["selector"] == {"App": "app-2"}
    assert [(s["endpoints"], s["ports"]) for s in sim.list("EndpointSlice", "team-001")  # the placeholder
            if s["metadata"]["labels"]["kubernetes.io/service-name"] == "app-2"] == [(None, None)]
    ports = [p["backend"]["service"]["port"]["number"]
             for p in sim.get("Ingress", "team-002", "team-002")["spec"]["rules"][0]["http"]["paths"]]
    assert 8080 in ports
    assert not [s for s in sim.list("Secret", "team-003")]
    assert any(not endpointslices.pod_ready(p) for p in pods)
