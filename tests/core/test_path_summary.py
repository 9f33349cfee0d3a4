"""The compact path summary (the TUI path panel's default view) and the full tree, rendered without
Textual on the demo's paths: one line per hop above the pods, the pods on one line, one fix per
problem, no fact stated twice, long lines wrapped under their text, ASCII when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrace.render import hop_key, path_summary, path_tree, plain_text
from ktrace.requestpath import PODS, RequestPath
from ktrace.sim.demo import demo_objects
from ktrace.store import ClusterStore
from ktrace.trace import trace

DEMO_HOSTS = ["aspnetapp.demo.example/", "catalog.demo.example/", "pay.demo.example/api", "pay.demo.example/",
              "status.demo.example/", "shop.demo.example/", "shop.demo.example/docs", "store.demo.example/",
              "nothere.demo.example/"]


@pytest.fixture(scope="module")
def store() -> ClusterStore:
    return ClusterStore(demo_objects())


def path_of(store: ClusterStore, target: str) -> RequestPath:
    return trace(store, target, live=True)


def lines(path: RequestPath, width: int = 78, **kwargs) -> list[str]:
    return plain_text(path_summary(path, **kwargs), width=width).splitlines()


def words(text: str) -> str:
    """Wrapped lines joined again (tree guides dropped), to find a sentence whatever the width."""
    return " ".join(w for w in text.split() if w not in ("│", "|"))


def test_aspnetapp_both_causes_and_both_fixes_in_nine_lines_at_80_columns(store: ClusterStore) -> None:
    path = path_of(store, "aspnetapp.demo.example/")
    out = lines(path)  # 80 columns less the panel's border
    assert out == [
        "✗ broken  aspnetapp.demo.example/  via ingress-nginx-controller 2/2",
        "✗ Ingress aspnet/aspnetapp  TLS secret 'aspnetapp-tls' does not exist in",
        "  namespace 'aspnet'",
        "✗ Service aspnetapp:80 -> 8080  selector App=aspnetapp matches no pod; pods of",
        "  Deployment aspnetapp (2) have app=aspnetapp (key differs in case)",
        "✗ EndpointSlice 0/0 ready  no EndpointSlice for this port",
        "fix: it exists in namespace cert-manager; TLS secrets are read from the",
        "     Ingress's own namespace: copy it to 'aspnet'",
        "fix: change the selector (App=aspnetapp -> app=aspnetapp) or relabel the pods",
    ]
    # each finding's message once (its hop line), its hint once (its fix line), nowhere a "hint:"
    text = words("\n".join(out))
    for f in path.findings:
        assert text.count(f.message) == 1 and text.count(f.hint) == 1, f.code
    assert "hint:" not in text


def test_catalog_names_the_missing_port_and_collapses_the_excluded_pods(store: ClusterStore) -> None:
    path = path_of(store, "catalog.demo.example/")
    out = lines(path, width=200)
    assert out[:2] == ["✗ broken  catalog.demo.example/  via ingress-nginx-controller 2/2",
                       "✓ Ingress catalog/catalog"]
    assert out[2].startswith("✗ Service catalog:80 -> http-web  port 80/http: targetPort 'http-web' is declared by "
                             "no container of")
    assert "✗ Pods 0 of 2 ready: no container port named 'http-web': left out of the endpoints (2)" in out
    pods = [h.name for h in path.hops if h.kind == "Pod"]
    assert pods and not any(p in line for p in pods for line in out if "Pods" in line)  # no pod by pod
    fixes = [line for line in out if line.startswith("fix: ")]
    assert len(fixes) == len({f.hint for f in path.findings if f.severity in ("error", "warning")}) == 2
    assert any("name the container port 'http-web'" in line for line in fixes)


def test_pay_api_pods_on_one_line_with_the_most_common_reason(store: ClusterStore) -> None:
    path = path_of(store, "pay.demo.example/api")
    out = lines(path, width=200)
    assert out[:5] == [
        "✗ broken  pay.demo.example/api  via ingress-nginx-controller 2/2",
        "✓ Ingress payments/payments",
        "✓ Service payments-api:80 -> 9000",
        "✗ EndpointSlice payments-api-77456  0/2 ready",
        "! Pods 0 of 2 ready: container api: CrashLoopBackOff, last exit Error (2)",  # restart counts differ
    ]
    # two pods with the same hint: one fix line
    assert out[5:] == ["fix: requests through this Service fail; fix the pods (see pod-not-ready findings)",
                       "fix: the container keeps exiting: read `kubectl logs --previous`"]


def test_healthy_path_is_one_line_per_hop_and_no_fix(store: ClusterStore) -> None:
    assert lines(path_of(store, "pay.demo.example/")) == [
        "✓ ok  pay.demo.example/  via ingress-nginx-controller 2/2",  # a healthy front door: on the root line
        "✓ Ingress payments/payments",
        "✓ Service payments-web:80 -> 8080",
        "✓ EndpointSlice payments-web-ea415  2/2 ready",
        "✓ Pods 2/2 ready",
    ]


def test_httproute_through_a_gateway_each_weighted_backend_with_its_pods(store: ClusterStore) -> None:
    assert lines(path_of(store, "store.demo.example/")) == [
        "✓ ok  store.demo.example/  via envoy-shop-shop-gateway 1/1",
        "✓ Gateway shop/shop-gateway  listener http HTTP:80",
        "✓ HTTPRoute store  rule 1",
        "✓ Service shop-green:80 -> http  weight 90 (90%)",
        "✓ EndpointSlice shop-green-ea415  3/3 ready",
        "✓ NetworkPolicy allow-ingress-nginx",
        "✓ Pods 3/3 ready",
        "✓ Service shop-blue:80 -> http  weight 10 (10%)",
        "✓ EndpointSlice shop-blue-ea415  2/2 ready",
        "✓ NetworkPolicy allow-ingress-nginx",
        "✓ Pods 2/2 ready",
    ]


def test_an_unrouted_host_says_why_and_what_comes_closest(store: ClusterStore) -> None:
    path = path_of(store, "nothere.demo.example/")
    out = lines(path, width=200)
    [f] = path.findings
    assert out == ["✗ broken  nothere.demo.example/", f.message, f"fix: {f.hint}"]


@pytest.mark.parametrize("target", DEMO_HOSTS)
def test_ascii_only_is_pure_ascii_and_no_line_is_cut(store: ClusterStore, target: str) -> None:
    path = path_of(store, target)
    for ascii_only in (False, True):
        text = plain_text(path_summary(path, ascii_only), width=40, ascii_only=ascii_only)
        assert all(len(line) <= 40 for line in text.splitlines())
        for f in path.findings:  # wrapped, never cut
            if f.severity in ("error", "warning"):
                assert f.hint in words(text)
    assert plain_text(path_summary(path, True), width=40, ascii_only=True).isascii()


def test_changed_hops_and_pods_are_marked(store: ClusterStore) -> None:
    path = path_of(store, "pay.demo.example/api")
    service = next(h for h in path.hops if h.kind == "Service")
    pod = next(h for h in path.hops if h.level == PODS)
    out = lines(path, width=200, changed={hop_key(service): "error", hop_key(pod): "ok"})
    assert "* ✓ Service payments-api:80 -> 9000  (changed: was ✗ error)" in out
    assert any(line.startswith("* ! Pods 0 of 2 ready") and line.endswith(f"(changed: {pod.name} was ✓ ok)")
               for line in out), out
    ascii_out = lines(path, width=200, ascii_only=True, changed={hop_key(service): None})
    assert "* + Service payments-api:80 -> 9000  (changed: new)" in ascii_out


@pytest.mark.parametrize("target", DEMO_HOSTS)
@pytest.mark.parametrize("details", [False, True], ids=["cli", "tui"])
def test_the_trees_state_no_reason_twice(store: ClusterStore, target: str, details: bool) -> None:
    """The CLI's tree and the TUI's full view: no reason that the hop's label or another reason says."""
    path = path_of(store, target)
    text = plain_text(path_tree(path, details=details), width=300)
    flat = words(text)
    for f in path.findings:
        if f.kind != "Pod":  # a pod's reason, not the finding's message, says why it is not ready
            assert flat.count(f.message) <= 1, f.code
            assert flat.count(f.hint) <= (1 if details else 0), f.code
    for gone in ("TLS secret aspnetapp-tls", "port 80/http -> targetPort", "2 of 2 ready", "no endpoints",
                 "listener http: HTTP port 80", "weight 90: 90% of requests"):
        assert gone not in text
    if target == "aspnetapp.demo.example/":
        assert "selector App=aspnetapp\n" not in text  # its message says it and more


def test_a_front_door_that_is_not_ok_gets_its_line_and_says_each_fact_once() -> None:
    """A controller with 1 of 2 pods ready: its own line, its name and the reason (the ready count once); a healthy
    one is only named on the root line."""
    from ktrace.sources.manifests import ManifestSource

    store = ManifestSource([str(Path(__file__).parent.parent / "scenarios" / "front-door.yaml")]).load()
    out = lines(trace(store, "partial.example.com", live=False), width=200)
    assert out[:2] == ["✓ ok  partial.example.com/",
                       "! IngressController traefik/traefik-a  1 of 2 pods of controller traefik.io/ingress-controller "
                       "ready"]
