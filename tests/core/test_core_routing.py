"""Targets, host and path matching, class resolution and backend port resolution."""

from __future__ import annotations

import pytest

from ktrace.checks.ingress import find_service_port
from ktrace.errors import UsageError
from ktrace.model import service_from_dict
from ktrace.routing import route, rule_targets
from ktrace.store import ClusterStore
from ktrace.targets import Target, parse_target


@pytest.mark.parametrize(("text", "want"), [
    ("shop.example.com", Target("shop.example.com", "/")),
    ("Shop.Example.com/api/v1", Target("shop.example.com", "/api/v1")),
    ("https://shop.example.com:8443/cart?item=1#top", Target("shop.example.com", "/cart", "https", 8443)),
    ("http://shop.example.com", Target("shop.example.com", "/", "http")),
    ("shop.example.com.", Target("shop.example.com", "/")),
    ("localhost/x", Target("localhost", "/x")),
])
def test_parse_target(text: str, want: Target) -> None:
    assert parse_target(text) == want


@pytest.mark.parametrize("text", ["", "   ", "ftp://shop.example.com", "https://", "shop example.com",
                                  "shop.example.com:http/x", "shop.example.com:70000", "-bad-.example.com",
                                  "https://:80/x", "sh_op.example.com"])
def test_parse_target_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="malformed target"):
        parse_target(text)


def ing(name: str, rules: list[dict], ns: str = "web", cls: str | None = "nginx", default: dict | None = None,
        annotations: dict | None = None) -> dict:
    spec: dict = {"rules": rules}
    if cls:
        spec["ingressClassName"] = cls
    if default:
        spec["defaultBackend"] = default
    return {"kind": "Ingress", "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
            "spec": spec}


def rule(host: str | None, *paths: tuple[str, str, str]) -> dict:
    r: dict = {"http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": s, "port": {"number": 80}}}} for p, t, s in paths]}}
    if host is not None:
        r["host"] = host
    return r


def backend_of(store: ClusterStore, target: str) -> str | None:
    t = parse_target(target)
    r = route(store, t.host, t.path)
    return None if r is None else r.backend.service


PATHS = ClusterStore([
    ing("a", [rule("x.example.com", ("/", "Prefix", "root"), ("/v1", "Prefix", "v1"), ("/v1/users", "Exact", "users"),
                   ("/v1/users/", "Prefix", "users-prefix"), ("/foo/", "Prefix", "foo"))]),
    ing("b", [rule("x.example.com", ("/v1/admin", "ImplementationSpecific", "admin"))]),
])


@pytest.mark.parametrize(("target", "service"), [
    ("x.example.com/", "root"),
    ("x.example.com/v1", "v1"),
    ("x.example.com/v1/", "v1"),
    ("x.example.com/v1x", "root"),  # Prefix matches whole path elements only
    ("x.example.com/v1/users", "users"),  # Exact beats Prefix
    ("x.example.com/v1/users/7", "users-prefix"),  # longest prefix wins
    ("x.example.com/v1/other", "v1"),
    ("x.example.com/foo", "foo"),  # a trailing slash in the rule is ignored
    ("x.example.com/foobar", "root"),
    ("x.example.com/v1/admin/x", "admin"),  # merged across Ingresses; ImplementationSpecific as Prefix
])
def test_path_matching(target: str, service: str) -> None:
    assert backend_of(PATHS, target) == service


HOSTS = ClusterStore([
    ing("exact", [rule("a.example.com", ("/", "Prefix", "exact"))]),
    ing("wild", [rule("*.example.com", ("/", "Prefix", "wild"))]),
    ing("wild-only-api", [rule("*.corp.example.com", ("/api", "Prefix", "corp-api"))]),
    ing("any", [rule(None, ("/", "Prefix", "hostless"))]),
])


@pytest.mark.parametrize(("target", "service"), [
    ("a.example.com", "exact"),  # exact host beats wildcard
    ("b.example.com", "wild"),
    ("x.b.example.com", "hostless"),  # a wildcard covers exactly one label
    ("example.com", "hostless"),
    ("other.org/anything", "hostless"),
    ("z.corp.example.com/api/x", "corp-api"),
    ("z.corp.example.com/web", None),  # a host with rules never falls through to less specific hosts
])
def test_host_matching(target: str, service: str | None) -> None:
    assert backend_of(HOSTS, target) == service


def test_default_backend_when_no_rule_matches() -> None:
    store = ClusterStore([ing("d", [rule("d.example.com", ("/api", "Prefix", "api"))],
                              default={"service": {"name": "fallback", "port": {"number": 80}}})])
    r = route(store, "d.example.com", "/web")
    assert r is not None and r.ipath is None and r.backend.service == "fallback"
    assert backend_of(store, "d.example.com/api") == "api"
    assert backend_of(store, "unrelated.example.com") == "fallback"


def ingress_class(name: str, default: bool = False) -> dict:
    ann = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"kind": "IngressClass", "metadata": {"name": name, "annotations": ann}, "spec": {"controller": "x"}}


def test_class_resolution_spec_annotation_default() -> None:
    store = ClusterStore([
        ingress_class("nginx", default=True), ingress_class("traefik"),
        ing("by-spec", [rule("s.example.com", ("/", "Prefix", "s"))], cls="traefik"),
        ing("by-annotation", [rule("a.example.com", ("/", "Prefix", "a"))], cls=None,
            annotations={"kubernetes.io/ingress.class": "traefik"}),
        ing("by-default", [rule("d.example.com", ("/", "Prefix", "d"))], cls=None),
    ])
    got = {h: route(store, h, "/").class_ref for h in ("s.example.com", "a.example.com", "d.example.com")}
    assert [(c.name, c.source) for c in got.values()] == [("traefik", "spec"), ("traefik", "annotation"),
                                                          ("nginx", "default")]


def test_one_class_serves_a_host() -> None:
    store = ClusterStore([
        ingress_class("nginx", default=True),
        ing("public", [rule("m.example.com", ("/", "Prefix", "public"))], cls="nginx"),
        ing("internal", [rule("m.example.com", ("/admin", "Prefix", "admin"))], cls="internal"),
    ])
    r = route(store, "m.example.com", "/admin")
    assert r.backend.service == "public" and r.other_classes == ["internal"]


@pytest.mark.parametrize(("ref", "want"), [(80, "80"), (8080, None), ("http", "8443/http"), ("web", None)])
def test_backend_port_resolution(ref: int | str, want: str | None) -> None:
    svc = service_from_dict({"kind": "Service", "metadata": {"name": "s"},
                             "spec": {"ports": [{"port": 80}, {"name": "http", "port": 8443}]}})
    found = find_service_port(svc, ref)
    assert (found.label() if found else None) == want


def test_unnamed_port_never_matches_a_name() -> None:
    svc = service_from_dict({"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert find_service_port(svc, "") is None and find_service_port(svc, "http") is None
    assert find_service_port(svc, None).port == 80  # no port given: a single-port Service


def test_rule_targets() -> None:
    assert rule_targets(HOSTS) == [Target("", "/"), Target("*.corp.example.com", "/api"), Target("*.example.com", "/"),
                                   Target("a.example.com", "/")]


def test_portless_externalname_backend() -> None:
    from ktrace.checks import run_checks
    from ktrace.trace import trace

    store = ClusterStore([
        ingress_class("nginx", default=True),
        ing("ext", [{"host": "e.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "partner", "port": {"number": 443}}}}]}}]),
        {"kind": "Service", "metadata": {"name": "partner", "namespace": "web"},
         "spec": {"type": "ExternalName", "externalName": "api.partner.example.org"}},
    ])
    assert [f.code for f in run_checks(store, live=False)] == ["service-externalname"]
    path = trace(store, "e.example.com", live=False)
    assert path.status == "ok" and path.hops[-1].detail.external_name == "api.partner.example.org"
