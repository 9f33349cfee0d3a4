"""The simulator's EndpointSlice controller computes what Kubernetes' controller publishes."""

from ktrace.sim.endpointslices import compute_slices


def pod(name: str, labels: dict, *, ip: str | None = "10.0.0.1", ready: bool = True, phase: str = "Running",
        ports: list | None = None, deleting: bool = False, ns: str = "shop") -> dict:
    meta = {"name": name, "namespace": ns, "labels": labels, "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"kind": "Pod", "metadata": meta, "spec": {"nodeName": "node-1", "containers": [
        {"name": "app", "ports": ports if ports is not None else [{"name": "http", "containerPort": 8080}]}]},
        "status": status}


def service(selector: dict | None, ports: list, **spec) -> dict:
    return {"kind": "Service", "metadata": {"name": "web", "namespace": "shop", "uid": "svc-uid"},
            "spec": {"selector": selector, "ports": ports, **spec}}


def endpoints_by_pod(slices: list[dict]) -> dict[str, tuple]:
    out = {}
    for s in slices:
        ports = tuple((p["name"], p["port"]) for p in s["ports"])
        for ep in s["endpoints"]:
            c = ep["conditions"]
            out[ep["targetRef"]["name"]] = (ports, c["ready"], c["serving"], c["terminating"])
    return out


def test_selection_readiness_and_exclusions() -> None:
    pods = [
        pod("a", {"app": "web"}, ip="10.0.0.1"),
        pod("b", {"app": "web"}, ip="10.0.0.2", ready=False),
        pod("c", {"app": "web"}, ip="10.0.0.3", deleting=True),
        pod("d", {"app": "web"}, ip=None),                    # no IP yet: excluded
        pod("e", {"app": "web"}, ip="10.0.0.5", phase="Succeeded"),  # terminal: excluded
        pod("f", {"App": "web"}, ip="10.0.0.6"),              # does not match the selector
        pod("g", {"app": "web"}, ip="10.0.0.7", ns="other"),  # another namespace
    ]
    slices = compute_slices(service({"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}]), pods)
    eps = endpoints_by_pod(slices)
    assert eps == {
        "a": ((("http", 8080),), True, True, False),
        "b": ((("http", 8080),), False, False, False),
        "c": ((("http", 8080),), False, True, True),
    }
    (s,) = slices
    assert s["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert s["metadata"]["ownerReferences"][0]["uid"] == "svc-uid"
    assert compute_slices(service({"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}]), pods) == slices


def test_named_target_port_missing_leaves_pod_without_that_port() -> None:
    pods = [pod("a", {"app": "web"}), pod("b", {"app": "web"}, ip="10.0.0.2", ports=[{"containerPort": 8080}])]
    slices = compute_slices(service({"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}]), pods)
    eps = endpoints_by_pod(slices)
    assert eps["a"][0] == (("http", 8080),)
    assert eps["b"][0] == ()  # no port for b: traffic to the service port never reaches it
    assert len(slices) == 2


def test_numeric_target_port_needs_no_declaration() -> None:
    pods = [pod("a", {"app": "web"}, ports=[])]
    (s,) = compute_slices(service({"app": "web"}, [{"port": 80, "targetPort": 9090}]), pods)
    assert s["ports"] == [{"name": "", "port": 9090, "protocol": "TCP"}]


def test_unmanaged_services() -> None:
    pods = [pod("a", {"app": "web"})]
    assert compute_slices(service(None, [{"port": 80}]), pods) == []
    assert compute_slices(service({"app": "web"}, [], type="ExternalName", externalName="x.example"), pods) == []


def test_headless_publish_not_ready_and_slice_size() -> None:
    pods = [pod(f"p{i:03}", {"app": "web"}, ip=f"10.1.{i // 250}.{i % 250}", ready=False) for i in range(230)]
    slices = compute_slices(service({"app": "web"}, [], clusterIP="None", publishNotReadyAddresses=True), pods)
    assert [len(s["endpoints"]) for s in slices] == [100, 100, 30]
    assert all(ep["conditions"]["ready"] for s in slices for ep in s["endpoints"])
    assert len({s["metadata"]["name"] for s in slices}) == 3


def test_malformed_input_skips_only_the_broken_pod() -> None:
    good = pod("a", {"app": "web"})
    broken = [
        {"metadata": {"name": "b", "namespace": "shop", "labels": {"app": "web"}}, "status": {"podIP": 7},
         "spec": {"containers": "nope"}},
        {"metadata": {"name": "c", "namespace": "shop", "labels": ["app"]}, "status": "Running"},
        {"metadata": None},
    ]
    svc = service({"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}])
    assert set(endpoints_by_pod(compute_slices(svc, [*broken, good]))) == {"a"}
    assert compute_slices({"metadata": "x", "spec": {"selector": {"app": "web"}}}, [good]) == []
    assert compute_slices({"spec": {"selector": ["app"], "ports": 3}}, [good]) == []


def test_wrong_types_in_ip_and_ports_are_left_out() -> None:
    """A numeric podIP is no address; a port whose name, number or protocol is not of its type gets no
    endpoint port (the API server would have refused the object), and the rest of the Service stands."""
    pods = [pod("a", {"app": "web"}, ports=[{"name": "http", "containerPort": 8080},
                                            {"name": "metrics", "containerPort": [9090]}, {"name": ["x"]}]),
            {**pod("b", {"app": "web"}), "status": {"phase": "Running", "podIP": 10}}]
    svc = service({"app": "web"}, [{"name": ["y"], "port": 80, "targetPort": 8081},
                                   {"name": "m", "port": 81, "targetPort": "metrics"},
                                   {"name": "p", "port": 82, "targetPort": 8082, "protocol": ["TCP"]},
                                   {"name": "http", "port": 83, "targetPort": "http"}])
    assert endpoints_by_pod(compute_slices(svc, pods)) == {"a": ((("http", 8080),), True, True, False)}


def test_one_slice_set_per_address_family() -> None:
    """EndpointSlice `addressType`: "All addresses in this slice must be the same type": a dual-stack
    Service's pods get an endpoint in each family's slice, with that family's `status.podIPs` entry.
    IPv4 slices keep the names they have on a single-stack Service."""
    pods = [{**pod("a", {"app": "web"}), "status": {**pod("a", {"app": "web"})["status"],
                                                   "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}}]
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    single = compute_slices(service({"app": "web"}, ports), pods)
    dual = compute_slices(service({"app": "web"}, ports, ipFamilyPolicy="PreferDualStack",
                                  ipFamilies=["IPv4", "IPv6"]), pods)
    assert [(s["addressType"], [e["addresses"] for e in s["endpoints"]]) for s in dual] == [
        ("IPv4", [["10.0.0.1"]]), ("IPv6", [["fd00::1"]])]
    assert dual[0] == single[0] and dual[1]["metadata"]["name"] != single[0]["metadata"]["name"]


def test_a_family_without_endpoints_gets_the_placeholder() -> None:
    """The controller's reconciler adds a placeholder "when no endpoint slices would usually exist",
    per address family: no endpoints, no ports. Pods with only IPv4 addresses leave the IPv6 family
    of a dual-stack Service empty; a selector matching nothing leaves every family empty."""
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    dual = service({"app": "web"}, ports, ipFamilyPolicy="PreferDualStack")  # ipFamilies defaulted: both
    v4, v6 = compute_slices(dual, [pod("a", {"app": "web"})])
    assert (v4["addressType"], len(v4["endpoints"])) == ("IPv4", 1)
    assert (v6["addressType"], v6["endpoints"], v6["ports"]) == ("IPv6", None, None)
    nothing = compute_slices(service({"app": "none"}, ports), [pod("a", {"app": "web"})])
    assert [(s["addressType"], s["endpoints"], s["ports"]) for s in nothing] == [("IPv4", None, None)]


def test_a_pod_lacking_the_only_named_port_is_kept_with_no_ports() -> None:
    """The controller skips a Service port the pod cannot resolve and keeps the pod with the ports
    left: with a single named port, an endpoint in a slice without ports, and no placeholder."""
    pods = [pod("a", {"app": "web"}, ports=[{"name": "web", "containerPort": 8080}])]
    (s,) = compute_slices(service({"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}]), pods)
    assert s["ports"] == [] and [e["targetRef"]["name"] for e in s["endpoints"]] == ["a"]
