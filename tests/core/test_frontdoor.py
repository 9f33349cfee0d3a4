"""The front door: the ingress controller (or a Gateway's data plane) first on every path."""

from ktrace.checks import frontdoor
from ktrace.store import ClusterStore
from ktrace.trace import trace

CTL = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}


def _pod(name: str, ready: bool, node: str, ns: str = "ingress-nginx", labels: dict | None = None) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or CTL},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 80}]}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def _svc(address: str = "203.0.113.5", policy: str = "Cluster") -> dict:
    return {"kind": "Service", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": policy, "selector": CTL,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": address}]}}}


def _store(*extra: dict, published: str = "203.0.113.5", controller: str = "k8s.io/ingress-nginx") -> ClusterStore:
    app = {"app": "web"}
    return ClusterStore([
        {"kind": "IngressClass", "metadata": {"name": "c"}, "spec": {"controller": controller}},
        {"kind": "Ingress", "metadata": {"name": "web", "namespace": "app"},
         "spec": {"ingressClassName": "c", "rules": [{"host": "a.example.com", "http": {"paths": [
             {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
         "status": {"loadBalancer": {"ingress": [{"ip": published}]}}},
        {"kind": "Service", "metadata": {"name": "web", "namespace": "app"},
         "spec": {"selector": app, "ports": [{"port": 80, "targetPort": 80}]}},
        _pod("web-1", True, "n1", "app", app),
        {"kind": "EndpointSlice", "metadata": {"name": "web-x", "namespace": "app",
                                               "labels": {"kubernetes.io/service-name": "web"}},
         "addressType": "IPv4", "ports": [{"port": 80}],
         "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True},
                        "targetRef": {"kind": "Pod", "name": "web-1"}}]}, *extra])


def _codes(store: ClusterStore) -> list[str]:
    return sorted(f.code for f in trace(store, "a.example.com", live=False).findings)


def test_no_ready_controller_pod_breaks_the_path() -> None:
    """A pod's Ready condition: "Ready: the pod is able to serve requests"; with no ready controller pod no request
    is received at all."""
    path = trace(_store(_pod("c-1", False, "n1"), _svc()), "a.example.com", live=False)
    assert path.hops[0].kind == frontdoor.INGRESS_FRONT and path.hops[0].status == "error"
    assert path.status == "broken" and "controller-not-ready" in [f.code for f in path.findings]


def test_some_controller_pods_ready_warns_and_the_path_stays_ok() -> None:
    path = trace(_store(_pod("c-1", False, "n1"), _pod("c-2", True, "n2"), _svc()), "a.example.com", live=False)
    assert path.status == "ok" and path.hops[0].status == "warning"
    assert _codes(_store(_pod("c-1", False, "n1"), _pod("c-2", True, "n2"), _svc())) == ["controller-partially-ready"]


def test_no_service_on_80_or_443_warns() -> None:
    assert _codes(_store(_pod("c-1", True, "n1"))) == ["controller-service-missing"]


def test_published_address_differs_from_the_service_address() -> None:
    """IngressStatus.loadBalancer: "loadBalancer contains the current status of the load-balancer";
    ServiceStatus.loadBalancer: "contains the current status of the load-balancer, if one is present"."""
    store = _store(_pod("c-1", True, "n1"), _svc("203.0.113.9"))
    assert _codes(store) == ["ingress-address-mismatch"]
    assert _codes(_store(_pod("c-1", True, "n1"), _svc("203.0.113.5"))) == []


def test_external_traffic_local_counts_nodes_without_a_ready_pod() -> None:
    """externalTrafficPolicy: "If set to "Local", the proxy will configure the service in a way that assumes that
    external load balancers will take care of balancing the service traffic between nodes, and so each node will
    deliver traffic only to the node-local endpoints of the service"."""
    store = _store(_pod("c-1", True, "n1"), _pod("c-2", False, "n2"), _pod("c-3", False, "n3"), _svc(policy="Local"))
    found = [f for f in trace(store, "a.example.com", live=False).findings
             if f.code == "external-traffic-local-no-pods"]
    assert len(found) == 1 and found[0].details["nodes"] == ["n2", "n3"] and "2 of 3 node(s)" in found[0].message
    cluster = _store(_pod("c-1", True, "n1"), _pod("c-2", False, "n2"), _svc(policy="Cluster"))
    assert "external-traffic-local-no-pods" not in _codes(cluster)


def test_cloud_load_balancer_class_is_unknown_never_an_error() -> None:
    path = trace(_store(controller="ingress.k8s.aws/alb"), "a.example.com", live=False)
    assert path.hops[0].status == "unknown" and "cloud load balancer" in path.hops[0].reasons[0]
    assert path.status == "ok" and path.findings == []


def test_gateway_front_reads_status_addresses_and_programmed() -> None:
    """Gateway status.addresses: "Addresses lists the network addresses that have been bound to the Gateway";
    Programmed: "the Gateway has generated some configuration that is assumed to be ready soon in the underlying
    data plane"."""
    gw = {"kind": "Gateway", "metadata": {"name": "gw", "namespace": "g"},
          "spec": {"gatewayClassName": "x", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
          "status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.7"}],
                     "conditions": [{"type": "Programmed", "status": "True"}]}}
    store = ClusterStore([gw, _pod("gw-1", True, "n1", "g", {"gateway.networking.k8s.io/gateway-name": "gw"})])
    door = frontdoor.gateway_front(store, store.gateways()[0])
    assert door.detail.published == ["203.0.113.7"] and door.detail.programmed == "True"
    assert door.detail.ready == 1 and [f.code for f in door.findings] == ["controller-service-missing"]


def test_check_reports_each_controller_once() -> None:
    from ktrace.checks import run_checks
    store = _store(_pod("c-1", False, "n1"), _svc())
    assert [f.code for f in run_checks(store, live=False)].count("controller-not-ready") == 1


def test_a_running_pod_without_a_ready_condition_is_unknown_never_not_ready() -> None:
    """PodStatus.conditions: "Current service state of pod"; a kubelet reports Ready on every pod it runs, so a
    Running pod without it (a hand-written manifest) says nothing of readiness."""
    pod = _pod("c-1", True, "n1")
    del pod["status"]["conditions"]
    path = trace(_store(pod, _svc()), "a.example.com", live=False)
    assert path.hops[0].status == "ok" and path.hops[0].detail.ready is None
    assert "controller-not-ready" not in _codes(_store(pod, _svc()))
    pod["status"]["phase"] = "Pending"  # not running: not ready
    assert "controller-not-ready" in _codes(_store(pod, _svc()))


def test_unreadable_pods_or_services_are_unknown_never_missing() -> None:
    """A kind the source could not read skips the rules that need it: no false not-ready or missing Service."""
    store = _store(_pod("c-1", False, "n1"))
    store.unreadable.add("Pod")
    path = trace(store, "a.example.com", live=False)
    assert path.hops[0].status == "unknown" and "Pods could not be read" in path.hops[0].reasons[0]
    assert _codes(store) == []
    store = _store(_pod("c-1", True, "n1"))
    store.unreadable.add("Service")
    assert "Services could not be read" in frontdoor.class_front(store, "c").reasons
    assert not [c for c in _codes(store) if c.startswith("controller-")]
