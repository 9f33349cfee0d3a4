"""The Ingress -> Gateway API migration comparison (ktrace.migration) and its finding, entry-points-disagree: one
rule of the comparison per test, each from the two APIs' field docs."""

from __future__ import annotations

from ktrace.checks import CheckUnits, run_checks
from ktrace.migration import compare
from ktrace.store import ClusterStore
from ktrace.trace import trace

HOST = "shop.example.com"
GROUP = "gateway.networking.k8s.io"


def ingress(paths: list[tuple[str, str, str, object]], tls: str = "", name: str = "shop") -> dict:
    """paths: (path, pathType, Service, port number or name)."""
    spec: dict = {"ingressClassName": "nginx", "rules": [{"host": HOST, "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": svc, "port": (
            {"number": port} if isinstance(port, int) else {"name": port})}}} for p, t, svc, port in paths]}}]}
    if tls:
        spec["tls"] = [{"hosts": [HOST], "secretName": tls}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "app"},
            "spec": spec}


def http_route(rules: list[tuple[str, str, list[dict]]], name: str = "shop") -> dict:
    """rules: (path type, path, backendRefs)."""
    return {"apiVersion": f"{GROUP}/v1", "kind": "HTTPRoute", "metadata": {"name": name, "namespace": "app"},
            "spec": {"parentRefs": [{"name": "gw", "namespace": "infra"}], "hostnames": [HOST], "rules": [
                {"matches": [{"path": {"type": t, "value": p}}], "backendRefs": refs} for t, p, refs in rules]}}


def gateway(https_secret: str = "") -> dict:
    listeners = [{"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}]
    if https_secret:
        listeners.append({"name": "https", "protocol": "HTTPS", "port": 443, "hostname": HOST,
                          "tls": {"certificateRefs": [{"kind": "Secret", "name": https_secret, "namespace": "app"}]},
                          "allowedRoutes": {"namespaces": {"from": "All"}}})
    return {"apiVersion": f"{GROUP}/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "infra"},
            "spec": {"gatewayClassName": "eg", "listeners": listeners}}


def service(name: str, ns: str = "app") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                                          {"name": "admin", "port": 8080}]}}


def ref(name: str, port: int = 80, weight: int | None = None, ns: str | None = None) -> dict:
    out: dict = {"name": name, "port": port}
    if weight is not None:
        out["weight"] = weight
    if ns is not None:
        out["namespace"] = ns
    return out


def store(*objs: dict, https_secret: str = "") -> ClusterStore:
    return ClusterStore([gateway(https_secret), service("web"), service("api"), *objs])


def aspects(s: ClusterStore, other: ClusterStore | None = None) -> list[tuple[str, str]]:
    c = compare(s, other or s, HOST)
    assert c is not None
    return [(d.aspect, d.path) for d in c.differences]


def test_pathprefix_agrees_with_prefix_and_its_trailing_slash_is_ignored() -> None:
    """HTTPPathMatch: "PathPrefix: Matches based on a URL path prefix split by `/`. Matching is case-sensitive and
    done on a path element by element basis. [...] When specified, a trailing `/` is ignored." Ingress pathType:
    "Prefix: Matches based on a URL path prefix split by '/'." The two paths are one rule's counterparts."""
    s = store(ingress([("/", "Prefix", "web", "http"), ("/api", "Prefix", "api", 80)]),
              http_route([("PathPrefix", "/", [ref("web")]), ("PathPrefix", "/api/", [ref("api")])]))
    c = compare(s, s, HOST)
    assert c is not None and c.agree and c.paths == ("/", "/api")
    assert (c.ingresses, c.routes) == (("Ingress app/shop",), ("HTTPRoute app/shop",))
    assert "entry-points-disagree" not in {f.code for f in run_checks(s, live=False)}


def test_implementation_specific_is_flagged() -> None:
    """Ingress pathType: "ImplementationSpecific: Interpretation of the PathType matching is up to the
    IngressClass." What the HTTPRoute's PathPrefix does, the Ingress's path may or may not do."""
    s = store(ingress([("/static*", "ImplementationSpecific", "web", 80)]),
              http_route([("PathPrefix", "/static", [ref("web")])]))
    assert aspects(s) == [("match", "/static")]


def test_prefix_against_exact_disagree() -> None:
    """Ingress "Exact: Matches the URL path exactly"; HTTPRoute "PathPrefix: Matches based on a URL path prefix":
    /api/orders is served by one and not by the other."""
    s = store(ingress([("/api", "Exact", "api", 80)]), http_route([("PathPrefix", "/api", [ref("api")])]))
    assert aspects(s) == [("match", "/api")]
    same = store(ingress([("/api", "Exact", "api", 80)]), http_route([("Exact", "/api", [ref("api")])]))
    assert aspects(same) == []


def test_weights_and_namespaces_of_backends_are_compared() -> None:
    """HTTPBackendRef weight: "the proportion of requests forwarded to the referenced backend. This is computed as
    weight/(sum of all weights in this BackendRefs list)"; BackendObjectReference namespace: "the namespace of the
    backend. When unspecified, the local namespace is inferred." An Ingress path has one backend, in its own
    namespace."""
    split = store(ingress([("/", "Prefix", "web", 80)]),
                  http_route([("PathPrefix", "/", [ref("web", weight=50), ref("api", weight=50)])]))
    c = compare(split, split, HOST)
    assert c is not None and [d.aspect for d in c.differences] == ["backends"]
    assert "app/api 50%, app/web 50%" in c.differences[0].text
    elsewhere = store(ingress([("/", "Prefix", "web", 80)]), service("web", "other"),
                      http_route([("PathPrefix", "/", [ref("web", ns="other")])]))
    assert aspects(elsewhere) == [("backends", "/")]


def test_ports_are_compared_as_service_ports_names_resolved() -> None:
    """IngressServiceBackend port: "Port of the referenced service. A port name or port number is required";
    BackendRef port: "the destination port number to use for this resource" (the Service port). A name is read
    through the Service: `http` is 80."""
    s = store(ingress([("/", "Prefix", "web", "http")]), http_route([("PathPrefix", "/", [ref("web", 80)])]))
    assert aspects(s) == []
    other = store(ingress([("/", "Prefix", "web", "http")]), http_route([("PathPrefix", "/", [ref("web", 8080)])]))
    c = compare(other, other, HOST)
    assert c is not None and [(d.aspect, d.text) for d in c.differences] == [
        ("port", "/ reaches app/web on port 80 by the Ingress and on port 8080 by the HTTPRoute")]


def test_tls_secret_and_plain_http_listener() -> None:
    """IngressTLS: "hosts [...] included in the TLS certificate", "secretName [...] used to terminate TLS traffic";
    Listener tls.certificateRefs: "the TLS certificates and private keys that the Gateway uses to terminate TLS".
    The same Secret agrees; another Secret, or no HTTPS listener for the host, does not."""
    route = http_route([("PathPrefix", "/", [ref("web")])])
    tls = ingress([("/", "Prefix", "web", 80)], tls="shop-tls")
    assert aspects(store(tls, route, https_secret="shop-tls")) == []
    assert aspects(store(tls, route, https_secret="other-cert")) == [("tls", "")]
    assert aspects(store(tls, route)) == [("tls", "")]  # the Gateway's listeners are plain HTTP
    assert aspects(store(ingress([("/", "Prefix", "web", 80)]), route, https_secret="shop-tls")) == [("tls", "")]


def test_paths_without_counterpart_say_what_the_other_side_does() -> None:
    s = store(ingress([("/", "Prefix", "web", 80), ("/legacy", "Prefix", "api", 80)]),
              http_route([("PathPrefix", "/", [ref("web")]), ("Exact", "/new", [ref("api")])]))
    c = compare(s, s, HOST)
    assert c is not None
    assert [(d.aspect, d.path) for d in c.differences] == [("path", "/legacy"), ("path", "/new")]
    assert "rule 1 (PathPrefix /) to app/web" in c.differences[0].text
    assert "the Ingress sends it by its Prefix / path to app/web" in c.differences[1].text


def test_two_sources_and_none_without_both_entry_points() -> None:
    """`ktrace diff`: the Ingress of the old files against the HTTPRoute of the new ones."""
    old = store(ingress([("/", "Prefix", "web", 80), ("/legacy", "Prefix", "api", 80)]))
    new = store(http_route([("PathPrefix", "/", [ref("web")])]))
    assert aspects(old, new) == [("path", "/legacy")]
    assert compare(old, old, HOST) is None and compare(new, new, HOST) is None
    assert compare(old, new, "elsewhere.example.com") is None


def test_the_finding_is_on_the_route_on_the_traced_path_and_rechecked() -> None:
    objs = [gateway(), service("web"), service("api"), ingress([("/", "Prefix", "web", 80)]),
            http_route([("PathPrefix", "/", [ref("web")])])]
    s = ClusterStore(objs)
    units = CheckUnits(s, live=False)
    assert "entry-points-disagree" not in {f.code for f in units.check_all()}
    moved = http_route([("PathPrefix", "/", [ref("api")])])
    moved["metadata"]["resourceVersion"] = "2"
    s.apply("MODIFIED", moved)
    after = units.recheck([("HTTPRoute", "MODIFIED", "app", "shop")])
    assert after == run_checks(s, live=False)
    found = [f for f in after if f.code == "entry-points-disagree"]
    assert [(f.severity, f.kind, f.namespace, f.name) for f in found] == [("warning", "HTTPRoute", "app", "shop")]
    assert f"host {HOST}: Ingress app/shop and HTTPRoute app/shop disagree: / goes to app/web" in found[0].message
    assert "entry-points-disagree" in {f.code for f in trace(s, HOST, live=False).findings}
