"""Readiness over a Service's EndpointSlices: the union of every slice for the port, whatever its
address family, and the EndpointSlice controller's placeholder slice counted as no slice."""

from __future__ import annotations

from ktrace.backends import service_backends
from ktrace.checks import run_checks
from ktrace.requestpath import EndpointSliceDetail, HopStatus, PathStatus
from ktrace.store import ClusterStore
from ktrace.trace import trace

NS = "shop"
HOST = "shop.example.com"


def ingress(service: str) -> dict:
    return {"kind": "IngressClass", "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}, {
        "kind": "Ingress", "metadata": {"name": "shop", "namespace": NS},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": HOST, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}}


def service(selector: dict | None = None, families: list[str] | None = None, name: str = "web") -> dict:
    spec: dict = {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    if selector:
        spec["selector"] = selector
    if families:
        spec.update(ipFamilyPolicy="PreferDualStack", ipFamilies=families)
    return {"kind": "Service", "metadata": {"name": name, "namespace": NS}, "spec": spec}


def pod(name: str, ips: list[str], labels: dict | None = None) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "ready": True, "restartCount": 0}]}}


def endpoint(address: str, pod_name: str | None, ready: bool | None = True) -> dict:
    e: dict = {"addresses": [address], "conditions": {} if ready is None else {"ready": ready}}
    if pod_name:
        e["targetRef"] = {"kind": "Pod", "namespace": NS, "name": pod_name}
    return e


def eps(name: str, family: str, endpoints: list[dict] | None, ports: list | None = None) -> dict:
    return {"kind": "EndpointSlice", "metadata": {"name": name, "namespace": NS,
                                                  "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": family, "endpoints": endpoints, "ports": ports}


HTTP = [{"name": "http", "port": 8080, "protocol": "TCP"}]


PODS = [pod("web-1", ["10.0.0.1"]), pod("web-2", ["10.0.0.2"])]
V4 = eps("web-v4", "IPv4", [endpoint("10.0.0.1", "web-1"), endpoint("10.0.0.2", "web-2")], HTTP)


def slice_hops(path) -> list:
    return [h for h in path.hops if h.kind == "EndpointSlice"]


def test_an_empty_slice_of_one_family_does_not_break_the_service() -> None:
    """EndpointSlice `addressType`: "All addresses in this slice must be the same type" (IPv4 or IPv6);
    a dual-stack Service has slices of both, and its IPv6 slice may be empty while IPv4 serves.
    Service `ipFamilyPolicy`: "PreferDualStack" (two IP families on dual-stack configured clusters)."""
    store = ClusterStore([*ingress("web"), service({"app": "web"}, ["IPv4", "IPv6"]), *PODS, V4,
                          eps("web-v6", "IPv6", [], HTTP)])
    path = trace(store, HOST, live=False)
    assert path.status == PathStatus.OK and not path.findings
    v6, v4 = slice_hops(path)  # the empty slice first: the pods hang under the one that serves them
    assert (v4.name, v4.status, v6.name, v6.status) == ("web-v4", HopStatus.OK, "web-v6", HopStatus.OK)
    assert v6.reasons == ["no endpoints in this IPv6 slice; the others serve the port"]
    assert v4.reasons == ["2 of 2 ready (endpoints by family: IPv4 2/2 ready, IPv6 none)"]  # the union, said once
    assert isinstance(v6.detail, EndpointSliceDetail) and (v6.detail.ready, v6.detail.total) == (0, 0)
    assert v6.detail.to_dict()["addressType"] == "IPv6"


def test_no_ready_endpoint_in_any_family_is_a_503() -> None:
    """EndpointConditions `ready`: "indicates that this endpoint is ready to receive traffic"; the
    Service fails only when no slice of any family has a ready endpoint for the port."""
    not_ready = [endpoint("10.0.0.1", "web-1", False), endpoint("10.0.0.2", "web-2", False)]
    store = ClusterStore([*ingress("web"), service({"app": "web"}, ["IPv4", "IPv6"]), *PODS,
                          eps("web-v4", "IPv4", not_ready, HTTP), eps("web-v6", "IPv6", [], HTTP)])
    path = trace(store, HOST, live=True)
    assert path.status == PathStatus.BROKEN
    assert [h.status for h in slice_hops(path)] == [HopStatus.ERROR, HopStatus.ERROR]
    assert "service-no-ready-endpoints" in {f.code for f in path.findings}


def test_a_slice_without_ready_endpoints_degrades_when_another_serves() -> None:
    """EndpointSlice: "For a given service there may be multiple EndpointSlice objects which must be
    joined to produce the full set of endpoints": one slice with none ready is a partial outage."""
    store = ClusterStore([*ingress("web"), service({"app": "web"}), *PODS,
                          eps("web-a", "IPv4", [endpoint("10.0.0.1", "web-1")], HTTP),
                          eps("web-b", "IPv4", [endpoint("10.0.0.2", "web-2", False)], HTTP)])
    path = trace(store, HOST, live=True)
    assert path.status == PathStatus.DEGRADED
    assert [h.status for h in slice_hops(path)] == [HopStatus.OK, HopStatus.WARNING]


def test_a_dual_stack_pod_is_one_backend_ready_if_any_endpoint_is() -> None:
    """Endpoint: "Endpoint represents a single logical "backend" implementing a service"; a pod with
    an IPv4 and an IPv6 address has one endpoint in each family's slice and counts once. A nil
    `ready` "should be interpreted as "true"."""
    pods = [pod("web-1", ["10.0.0.1", "fd00::1"]), pod("web-2", ["10.0.0.2", "fd00::2"])]
    v4 = [endpoint("10.0.0.1", "web-1"), endpoint("10.0.0.2", "web-2", False)]  # web-2 ready in IPv6 only
    v6 = [endpoint("fd00::1", "web-1"), endpoint("fd00::2", "web-2", None)]
    store = ClusterStore([service({"app": "web"}, ["IPv4", "IPv6"]), *pods,
                          eps("web-v4", "IPv4", v4, HTTP), eps("web-v6", "IPv6", v6, HTTP)])
    svc = store.service(NS, "web")
    b = service_backends(store, svc, svc.ports[0])
    assert (b.ready, b.known) == (2, 2)
    assert b.families() == {"IPv4": (1, 2), "IPv6": (2, 2)}


def test_hand_made_endpoints_without_target_are_paired_by_family() -> None:
    """Endpoint `targetRef` is optional: hand-made endpoints of a selector-less dual-stack Service
    cannot be paired across families, so the family with the most stands for the backends."""
    store = ClusterStore([service(None, ["IPv4", "IPv6"]),
                          eps("web-v4", "IPv4", [endpoint("192.0.2.1", None), endpoint("192.0.2.2", None)], HTTP),
                          eps("web-v6", "IPv6", [endpoint("2001:db8::1", None), endpoint("2001:db8::2", None)], HTTP)])
    svc = store.service(NS, "web")
    b = service_backends(store, svc, svc.ports[0])
    assert (b.ready, b.known) == (2, 2)


def test_a_placeholder_slice_reads_as_no_slice() -> None:
    """EndpointSlice `endpoints` ("a list of unique endpoints in this slice") and `ports` are both
    empty in the controller's placeholder for a Service that selects no pod ("EndpointSlices used
    for other purposes may have an empty ports list"): the verdict and every word stay as without it."""
    objects = [*ingress("web"), service({"app": "web", "tier": "front"}, ["IPv4", "IPv6"]), *PODS]
    placeholders = [eps("web-aaaaa", "IPv4", None), eps("web-bbbbb", "IPv6", None)]
    bare, with_placeholders = ClusterStore(objects), ClusterStore(objects + placeholders)
    want, got = trace(bare, HOST, live=False), trace(with_placeholders, HOST, live=False)
    assert got.status == want.status == PathStatus.BROKEN
    assert [h.to_dict() for h in got.hops] == [h.to_dict() for h in want.hops]
    assert [f.to_dict() for f in got.findings] == [f.to_dict() for f in want.findings]
    assert {f.code for f in got.findings} == {"service-selector-no-match"}
    assert [f.to_dict() for f in run_checks(with_placeholders, live=False)] == \
        [f.to_dict() for f in run_checks(bare, live=False)]
    svc = with_placeholders.service(NS, "web")
    assert service_backends(with_placeholders, svc, None).slices == []  # not even for "any port"
