"""The source's side of a connection: the Egress policies that select the ingress controller's (or a
Gateway's) pods, judged against the path's pods and combined with the pods' own Ingress policies.
The docstrings quote the networking.k8s.io/v1 field documentation each rule comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from ktrace.checks import run_checks
from ktrace.model import network_policy_from_dict, pod_from_dict
from ktrace.netpol import ALLOWED, BLOCKED, UNKNOWN, Peer, evaluate_egress
from ktrace.sources.manifests import ManifestSource, complete
from ktrace.store import ClusterStore
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"
CTRL_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}
CONTROLLER = Peer("edge", CTRL_LABELS, "10.2.0.5")
CTRL_ONLY = {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}
TO_SHOP = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}


def ns_labels(ns: str):
    return {"kubernetes.io/metadata.name": ns}, False


def policy(spec: dict, name: str = "p", namespace: str = "edge"):
    return network_policy_from_dict({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace},
                                     "spec": spec})


def web(ip: str = "10.1.0.9", ports: list | None = None):
    return pod_from_dict({"kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "c", "ports": ports or [
                              {"name": "http", "containerPort": 8080}]}]},
                          "status": {"podIP": ip} if ip else {}})


def state(policies: list, source: Peer = CONTROLLER, port: int = 8080, pod=None, protocol: str = "TCP") -> str:
    return evaluate_egress(policies, source, pod or web(), port, ns_labels, protocol).state


def test_policy_types_decide_egress_isolation() -> None:
    """policyTypes: "If this field is not specified, it will default based on the existence of ingress or
    egress rules; policies that contain an egress section are assumed to affect egress, and all policies
    (whether or not they contain an ingress section) are assumed to affect ingress." And egress: "If this
    field is empty then this NetworkPolicy limits all outgoing traffic"."""
    deny_all = policy({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "default-deny-all")
    v = evaluate_egress([deny_all], CONTROLLER, web(), 8080, ns_labels)
    assert v.state == BLOCKED and v.why_not == {"default-deny-all": "no egress rules (denies all egress)"}
    assert state([policy({"podSelector": {}, "policyTypes": ["Egress"], "egress": []})]) == BLOCKED
    assert state([policy({"podSelector": {}})]) == ALLOWED  # no policyTypes, no egress section: ingress only
    assert state([policy({"podSelector": {}, "policyTypes": ["Ingress"]})]) == ALLOWED
    # an egress section without policyTypes makes it an Egress policy: this rule leads elsewhere
    assert state([policy({"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}]})]) \
        == BLOCKED


def test_egress_rules_are_a_union_over_the_selecting_policies() -> None:
    """egress: "Outgoing traffic is allowed if there are no NetworkPolicies selecting the pod ..., OR if
    the traffic matches at least one egress rule across all of the NetworkPolicy objects whose
    podSelector matches the pod"."""
    deny_all = policy({"podSelector": {}, "policyTypes": ["Egress"]}, "deny")
    allow = policy({"podSelector": CTRL_ONLY, "egress": [{"to": [TO_SHOP]}]}, "allow")
    other_pods = policy({"podSelector": {"matchLabels": {"app": "other"}}, "policyTypes": ["Egress"]}, "other")
    v = evaluate_egress([deny_all, allow, other_pods], CONTROLLER, web(), 8080, ns_labels)
    assert (v.state, v.selecting, v.allowed_by) == (ALLOWED, ["deny", "allow"], ["allow"])
    assert state([other_pods]) == ALLOWED  # selects other pods: the controller is not isolated


@pytest.mark.parametrize(("to", "expected"), [
    (None, ALLOWED),  # "If this field is empty or missing, this rule matches all destinations"
    ([], ALLOWED),
    ([TO_SHOP], ALLOWED),
    ([{**TO_SHOP, "podSelector": {"matchLabels": {"app": "web"}}}], ALLOWED),
    ([{**TO_SHOP, "podSelector": {"matchLabels": {"app": "api"}}}], BLOCKED),  # both must match
    ([{"podSelector": {"matchLabels": {"app": "web"}}}], BLOCKED),  # alone: pods of the policy's (edge) namespace
    ([{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}], ALLOWED),
    ([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}, TO_SHOP], ALLOWED),
])
def test_to_peers_are_the_destination(to: list | None, expected: str) -> None:
    """to: "a list of destinations for outgoing traffic of pods selected for this rule. Items in this list
    are combined using a logical OR operation. If this field is empty or missing, this rule matches all
    destinations"; a peer with namespaceSelector and podSelector "selects particular Pods within
    particular Namespaces"; podSelector alone "selects particular Pods in the same namespace as the
    NetworkPolicy"."""
    rule = {} if to is None else {"to": to}
    assert state([policy({"podSelector": CTRL_ONLY, "policyTypes": ["Egress"], "egress": [rule]})]) == expected


@pytest.mark.parametrize(("ports", "expected"), [
    ([{"port": 8080}], ALLOWED),
    ([{"port": 80}], BLOCKED),  # the Service port is not what leaves the controller: the pod's port is
    ([{"port": "http"}], ALLOWED),  # the destination pod names 8080 "http"
    ([{"port": "admin"}], BLOCKED),  # no port of the destination has that name
    ([{"port": 8000, "endPort": 8100}], ALLOWED),
    ([{"port": 8081, "endPort": 9000}], BLOCKED),
    ([{"port": 8080, "protocol": "UDP"}], BLOCKED),
    ([{"protocol": "TCP"}], ALLOWED),
])
def test_egress_ports_are_the_destination_ports(ports: list, expected: str) -> None:
    """NetworkPolicyPort.port: "This can either be a numerical or named port on a pod" (for egress the
    pod the traffic goes to); endPort: "indicates that the range of ports from port to endPort if set,
    inclusive, should be allowed by the policy"; protocol "which traffic must match. If not specified,
    this field defaults to TCP"."""
    assert state([policy({"podSelector": CTRL_ONLY, "egress": [{"to": [TO_SHOP], "ports": ports}]})]) == expected


@pytest.mark.parametrize(("ip", "expected"), [
    ("10.1.0.9", ALLOWED),
    ("10.1.66.9", BLOCKED),  # inside the except range
    ("10.9.0.9", BLOCKED),
    ("", UNKNOWN),  # the pod's IP is not known (offline, not yet scheduled): never a block
])
def test_ip_block_with_except_against_the_destination_ip(ip: str, expected: str) -> None:
    """IPBlock "describes a particular CIDR ... that is allowed to the pods matched by a NetworkPolicySpec's
    podSelector"; except: "a slice of CIDRs that should not be included within an IPBlock"."""
    block = {"ipBlock": {"cidr": "10.1.0.0/16", "except": ["10.1.66.0/24"]}}
    assert state([policy({"podSelector": {}, "egress": [{"to": [block]}]})], pod=web(ip)) == expected
    everywhere = policy({"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
    assert state([everywhere], pod=web(ip)) == ALLOWED


def test_a_source_of_unknown_labels_is_never_a_false_block() -> None:
    """podSelector: "Selects the pods to which this NetworkPolicy object applies" — of a source known only
    by its namespace (--controller-namespace), only an empty selector is known to select it."""
    any_pod = Peer("edge")
    deny_all = policy({"podSelector": {}, "policyTypes": ["Egress"]}, "deny")
    by_label_deny = policy({"podSelector": CTRL_ONLY, "policyTypes": ["Egress"]}, "ctrl-deny")
    by_label_allow = policy({"podSelector": CTRL_ONLY, "egress": [{"to": [TO_SHOP]}]}, "ctrl-allow")
    assert state([deny_all], any_pod) == BLOCKED
    assert state([by_label_deny], any_pod) == UNKNOWN  # selected or not: cannot tell
    assert state([deny_all, by_label_allow], any_pod) == UNKNOWN  # blocked unless the allow selects it
    assert state([by_label_allow], any_pod) == ALLOWED  # whether it selects the pod or not, it lets it out


# -- both sides of one path -------------------------------------------------------------------

BASE = [
    {"kind": "IngressClass", "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
    {"kind": "Pod", "metadata": {"name": "ctrl", "namespace": "edge", "labels": CTRL_LABELS},
     "spec": {"containers": [{"name": "c"}]},
     "status": {"podIP": "10.2.0.5", "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}},
    {"kind": "Service", "metadata": {"name": "ctrl", "namespace": "edge"},  # the front door, healthy
     "spec": {"type": "LoadBalancer", "selector": CTRL_LABELS, "ports": [{"name": "http", "port": 80}]}},
    {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    {"kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com", "http": {"paths": [
         {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
]


def _pod(name: str, ip: str) -> dict:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"podIP": ip, "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def _policy(name: str, namespace: str, spec: dict) -> dict:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


EGRESS_EXCEPT = _policy("ctrl-out", "edge", {"podSelector": {}, "egress": [
    {"to": [{"ipBlock": {"cidr": "10.1.0.0/16", "except": ["10.1.66.0/24"]}}]}]})
INGRESS_ONLY_FIRST = _policy("web-in", "shop", {"podSelector": {}, "ingress": [
    {"from": [{"ipBlock": {"cidr": "10.2.0.0/16"}}]}]})


def _path(*objs: dict):
    store = ClusterStore(complete([*BASE, *objs]))  # with the EndpointSlices a cluster would have
    return store, trace(store, "shop.example.com", live=False)


def test_a_connection_needs_both_sides() -> None:
    """A connection from the controller to a pod is allowed only when the controller's egress (egress: "the
    traffic matches at least one egress rule") and the pod's ingress (ingress: "the traffic matches at least
    one ingress rule") both allow it: the egress side alone blocks the path, named on its own hop."""
    store, path = _path(_pod("web-1", "10.1.0.9"), _policy("default-deny-all", "edge", {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}), INGRESS_ONLY_FIRST)
    hops = [(h.namespace, h.name, h.status, h.detail.direction) for h in path.hops if h.kind == "NetworkPolicy"]
    assert hops == [("edge", "default-deny-all", "error", "egress"), ("shop", "web-in", "ok", "ingress")]
    assert path.status == "broken"
    [f] = path.findings
    assert (f.code, f.severity, f.namespace, f.name, f.details["side"]) == (
        "networkpolicy-blocks-path", "error", "edge", "default-deny-all", "egress")
    assert f.message.startswith("egress: NetworkPolicy edge/default-deny-all select(s) controller pod(s) ctrl")
    assert [x.code for x in run_checks(store, live=False) if x.severity == "error"] == ["networkpolicy-blocks-path"]


def test_partial_and_crossed_blocks() -> None:
    """Over several pods, a side that blocks some is a warning; when the egress side blocks one pod and the
    ingress side the other, no connection gets through: the path is broken."""
    _, path = _path(_pod("web-1", "10.1.0.9"), _pod("web-2", "10.1.66.9"), EGRESS_EXCEPT)
    [f] = path.findings
    assert (path.status, f.severity, f.details["blocked_pods"]) == ("degraded", "warning", ["web-2"])
    first = _pod("web-1", "10.1.0.9")
    first["metadata"]["labels"]["tier"] = "a"  # web-1 alone: its ingress denies all
    deny_first = _policy("deny-a", "shop", {"podSelector": {"matchLabels": {"tier": "a"}}, "policyTypes": ["Ingress"]})
    _, path = _path(first, _pod("web-2", "10.1.66.9"), EGRESS_EXCEPT, deny_first)
    assert path.status == "broken"
    assert sorted((f.details["side"], f.severity) for f in path.findings) == [("egress", "error"),
                                                                              ("ingress", "error")]
    pods = {h.name: h.reasons[-1] for h in path.hops if h.kind == "Pod"}
    assert pods == {"web-1": "no NetworkPolicy admits this traffic (ingress)",
                    "web-2": "no NetworkPolicy admits this traffic (egress)"}


def test_an_unknown_destination_ip_is_unknown_never_a_block() -> None:
    """An ipBlock peer is decided by the destination pod's IP: without it, the egress side is unknown."""
    pod = _pod("web-1", "10.1.0.9")
    del pod["status"]["podIP"]
    _, path = _path(pod, EGRESS_EXCEPT)
    hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (hop.status, hop.detail.verdict, hop.detail.direction) == ("unknown", UNKNOWN, "egress")
    assert not [f for f in path.findings if f.code == "networkpolicy-blocks-path"]


def test_the_egress_side_needs_known_source_pods() -> None:
    """Which policies select the source is known only from its pods: with the controller unknown (no class),
    egress policies are not judged and no hop is made when nothing isolates the path's pods."""
    unclassed = [{**o, "spec": {**o["spec"], "ingressClassName": None}} if o["kind"] == "Ingress" else o
                 for o in BASE]
    store = ClusterStore(complete([*unclassed, _pod("web-1", "10.1.0.9"), EGRESS_EXCEPT]))
    assert [h.kind for h in trace(store, "shop.example.com", live=False).hops if h.kind == "NetworkPolicy"] == []


def test_check_judges_httproute_paths_from_the_gateway_pods() -> None:
    """`check` judges a Gateway's routes as `trace` does: the data plane's egress (and the pods' ingress)."""
    store = ManifestSource([str(SCENARIOS / "netpol-egress.yaml")]).load()
    found = [f for f in run_checks(store, live=False) if f.namespace == "eg-gw" and f.code.startswith("networkpolicy")]
    assert [(f.code, f.name, f.details["side"]) for f in found] == [
        ("networkpolicy-blocks-path", "edge-egress", "egress")]
    assert "gateway pod(s) envoy-edge-7c9-x1" in found[0].message


@pytest.mark.parametrize("where", ["rule", "backendRef"])
def test_check_skips_backends_a_redirect_keeps_requests_from(tmp_path: Path, where: str) -> None:
    """HTTPRouteFilter RequestRedirect "defines a schema for a filter that responds to the request with an
    HTTP redirection": the Gateway answers, its pods never connect to the backend, as `trace` shows."""
    text = (SCENARIOS / "netpol-egress.yaml").read_text()
    redirect = "filters: [{type: RequestRedirect, requestRedirect: {hostname: elsewhere.example.com}}]"
    old = "  - backendRefs: [{name: web, port: 80}]\n"
    new = f"  - {redirect}\n    backendRefs: [{{name: web, port: 80}}]\n" if where == "rule" else \
        f"  - backendRefs: [{{name: web, port: 80, {redirect}}}]\n"
    assert old in text
    (tmp_path / "redirected.yaml").write_text(text.replace(old, new))
    store = ManifestSource([str(tmp_path / "redirected.yaml")]).load()
    assert [f for f in run_checks(store, live=False) if f.namespace == "eg-gw" and f.code.startswith("networkpolicy")] \
        == []
    assert not any(h.kind == "NetworkPolicy" for h in trace(store, "gw.egress.example.com", live=False).hops)


def test_a_pod_some_controller_pods_cannot_reach_keeps_the_path_partial() -> None:
    """egress applies per source pod ("the NetworkPolicy objects whose podSelector matches the pod"): when one
    controller replica may not reach web-1 and web-2 is reachable from both, the path is partly blocked."""
    second = {**BASE[1], "metadata": {**BASE[1]["metadata"], "name": "ctrl-b", "labels": {**CTRL_LABELS,
                                                                                           "zone": "b"}}}
    web2 = _pod("web-2", "10.1.0.10")
    web2["metadata"]["labels"]["tier"] = "b"
    only_to_b = _policy("ctrl-a-out", "edge", {
        "podSelector": {"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]},
        "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": "b"}}}]}]})
    _, path = _path(second, _pod("web-1", "10.1.0.9"), web2, only_to_b)
    hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (path.status, hop.status, hop.detail.verdict) == ("degraded", "warning", "partial")
    assert [(f.code, f.severity) for f in path.findings] == [("networkpolicy-blocks-path", "warning")]
