"""NetworkPolicy evaluation edge cases (pure, on records), how the controller's pods are found, and
the clean cases that must stay clean (Online Boutique's policies, no policies at all)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ktrace.checks import run_checks
from ktrace.checks.networkpolicy import ControllerHint, find_controllers
from ktrace.cli import main
from ktrace.model import network_policy_from_dict, pod_from_dict
from ktrace.netpol import ALLOWED, BLOCKED, UNKNOWN, Peer, evaluate
from ktrace.selectors import parse
from ktrace.sources.manifests import ManifestSource
from ktrace.store import ClusterStore
from ktrace.trace import trace

SCENARIOS = Path(__file__).parent.parent / "scenarios"
BOUTIQUE = Path("/work/shared/real-world/online-boutique")
CONTROLLER = Peer("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, "10.2.0.5")
NS_LABELS = {"ingress-nginx": {"kubernetes.io/metadata.name": "ingress-nginx", "team": "edge"},
             "shop": {"kubernetes.io/metadata.name": "shop"}}


def ns_labels(ns: str):
    return NS_LABELS.get(ns, {"kubernetes.io/metadata.name": ns}), ns in NS_LABELS


def policy(spec: dict, name: str = "p", namespace: str = "shop"):
    return network_policy_from_dict({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace},
                                     "spec": spec})


WEB = pod_from_dict({"kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080},
                                                                      {"name": "dns", "containerPort": 53,
                                                                       "protocol": "UDP"}]}]}})
WEB_ONLY = {"matchLabels": {"app": "web"}}
FROM_CTRL_NS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}


def state(policies: list, source: Peer = CONTROLLER, port: int | None = 8080, protocol: str = "TCP") -> str:
    return evaluate(policies, WEB, port, source, ns_labels, protocol).state


def test_no_policy_allows() -> None:
    assert state([]) == ALLOWED


def test_default_deny_blocks_and_an_allow_anywhere_wins() -> None:
    deny = policy({"podSelector": {}, "policyTypes": ["Ingress"]}, "deny")
    allow = policy({"podSelector": WEB_ONLY, "ingress": [{"from": [FROM_CTRL_NS]}]}, "allow")
    v = evaluate([deny], WEB, 8080, CONTROLLER, ns_labels)
    assert v.state == BLOCKED and v.why_not == {"deny": "no ingress rules (denies all ingress)"}
    v = evaluate([deny, allow], WEB, 8080, CONTROLLER, ns_labels)
    assert v.state == ALLOWED and v.allowed_by == ["allow"] and v.selecting == ["deny", "allow"]


def test_policy_types_implied() -> None:
    # no policyTypes, only egress rules: still an Ingress policy (Ingress is always implied) -> default deny
    assert state([policy({"podSelector": {}, "egress": [{}]})]) == BLOCKED
    # explicitly egress-only: never isolates ingress
    assert state([policy({"podSelector": {}, "policyTypes": ["Egress"]})]) == ALLOWED


def test_empty_rule_and_empty_from_admit_everything() -> None:
    assert state([policy({"podSelector": WEB_ONLY, "ingress": [{}]})], Peer()) == ALLOWED
    assert state([policy({"podSelector": WEB_ONLY, "ingress": [{"from": []}]})], Peer()) == ALLOWED


def test_policy_selecting_other_pods_does_not_isolate() -> None:
    assert state([policy({"podSelector": {"matchLabels": {"app": "api"}}})]) == ALLOWED


@pytest.mark.parametrize(("peer", "expected"), [
    ({"namespaceSelector": {"matchLabels": {"team": "edge"}}}, ALLOWED),
    ({"namespaceSelector": {"matchLabels": {"team": "edge"}},
      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}, ALLOWED),
    # both in one peer: AND. The pod matches, the namespace does not.
    ({"namespaceSelector": {"matchLabels": {"team": "web"}},
      "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}, BLOCKED),
    # podSelector alone: pods of the policy's own namespace only
    ({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}, BLOCKED),
    ({"namespaceSelector": {}}, ALLOWED),
    ({"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["edge", "x"]}]}},
     ALLOWED),
    ({"ipBlock": {"cidr": "10.2.0.0/16"}}, ALLOWED),
    ({"ipBlock": {"cidr": "10.2.0.0/16", "except": ["10.2.0.0/24"]}}, BLOCKED),
    ({"ipBlock": {"cidr": "10.3.0.0/16"}}, BLOCKED),
    ({"ipBlock": {"cidr": "fd00::/8"}}, BLOCKED),
    ({"ipBlock": {"cidr": "not-a-cidr"}}, BLOCKED),
    ({"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "Bogus"}]}}, BLOCKED),
])
def test_peers(peer: dict, expected: str) -> None:
    assert state([policy({"podSelector": WEB_ONLY, "ingress": [{"from": [peer]}]})]) == expected


@pytest.mark.parametrize(("ports", "expected"), [
    ([{"port": 8080}], ALLOWED),
    ([{"port": 80}], BLOCKED),  # the Service port is not what the policy sees: the container port is
    ([{"port": "http"}], ALLOWED),  # named: resolved against the backend pod's container ports
    ([{"port": "metrics"}], BLOCKED),
    ([{"port": 8000, "endPort": 8100}], ALLOWED),
    ([{"port": 8081, "endPort": 9000}], BLOCKED),
    ([{"port": 8080, "protocol": "UDP"}], BLOCKED),
    ([{"protocol": "TCP"}], ALLOWED),
    ([{"port": 9090}, {"port": 8080}], ALLOWED),
])
def test_ports(ports: list, expected: str) -> None:
    assert state([policy({"podSelector": WEB_ONLY, "ingress": [{"from": [FROM_CTRL_NS], "ports": ports}]})]) == expected


def test_named_port_respects_protocol() -> None:
    p = policy({"podSelector": WEB_ONLY, "ingress": [{"ports": [{"port": "dns", "protocol": "UDP"}]}]})
    assert state([p], port=53, protocol="UDP") == ALLOWED
    assert state([p], port=53, protocol="TCP") == BLOCKED


def test_unknown_source_is_never_a_block() -> None:
    by_pod = policy({"podSelector": WEB_ONLY, "ingress": [{"from": [
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "lb"}}}]}]})
    assert state([by_pod], Peer()) == UNKNOWN
    assert state([by_pod], Peer("ingress-nginx")) == UNKNOWN  # "any pod in the namespace": labels unknown
    # ...but a rule that admits nothing on this port blocks whoever the source is
    wrong_port = policy({"podSelector": WEB_ONLY, "ingress": [{"ports": [{"port": 9090}]}]})
    assert state([wrong_port], Peer()) == BLOCKED
    # 0.0.0.0/0 admits any IPv4 source, known or not
    assert state([policy({"podSelector": WEB_ONLY, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})],
                 Peer()) == ALLOWED


def test_namespace_labels_unknown_offline_unless_only_the_name_is_asked() -> None:
    by_team = policy({"podSelector": WEB_ONLY, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
        "team": "edge"}}}]}]})
    elsewhere = Peer("other", {"app": "x"})
    assert state([by_team], elsewhere) == UNKNOWN  # "other" has no Namespace object: its labels are unknown
    assert state([policy({"podSelector": WEB_ONLY, "ingress": [{"from": [FROM_CTRL_NS]}]})], elsewhere) == BLOCKED


def _store(*extra: dict) -> ClusterStore:
    return ClusterStore([
        {"kind": "IngressClass", "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
        {"kind": "IngressClass", "metadata": {"name": "alb"}, "spec": {"controller": "ingress.k8s.aws/alb"}},
        {"kind": "Pod", "metadata": {"name": "ctrl", "namespace": "edge", "labels": {
            "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}},
         "status": {"podIP": "10.2.0.5"}},
        {"kind": "Pod", "metadata": {"name": "proxy", "namespace": "gw", "labels": {"app": "proxy"}}}, *extra])


def test_controller_pods_from_the_ingress_class() -> None:
    found = find_controllers(_store(), "nginx")
    assert [(p.namespace, p.ip) for p in found.sources] == [("edge", "10.2.0.5")]
    assert "ctrl" in found.label
    assert find_controllers(_store(), "").why_unknown == "the Ingress has no class"
    assert "cloud load balancer" in find_controllers(_store(), "alb").why_unknown
    assert "no IngressClass" in find_controllers(_store(), "missing").why_unknown
    # the old annotation's class name without an IngressClass object
    no_classes = ClusterStore([{"kind": "Pod", "metadata": {"name": "ctrl", "namespace": "edge", "labels": {
        "app.kubernetes.io/name": "ingress-nginx"}}}])
    assert [p.namespace for p in find_controllers(no_classes, "nginx").sources] == ["edge"]


def test_controller_hints() -> None:
    store = _store()
    by_selector = find_controllers(store, "alb", ControllerHint(selector=parse("app=proxy")))
    assert [p.namespace for p in by_selector.sources] == ["gw"]
    by_ns = find_controllers(store, "alb", ControllerHint(namespace="elsewhere"))
    assert by_ns.sources == [Peer("elsewhere")] and by_ns.label == "any pod in namespace elsewhere"
    # a namespace hint narrows the well-known labels to that namespace
    assert find_controllers(store, "nginx", ControllerHint(namespace="gw")).sources == [Peer("gw")]


def test_trace_marks_blocked_pods_and_names_the_policy() -> None:
    store = ManifestSource([str(SCENARIOS / "netpol-blocked.yaml")]).load()
    path = trace(store, "deny.example.com", live=False)
    policy_hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (policy_hop.name, policy_hop.status, policy_hop.detail.verdict) == ("default-deny", "error", BLOCKED)
    assert policy_hop.finding_codes == ["networkpolicy-blocks-path"]
    pods = [h for h in path.hops if h.kind == "Pod"]
    assert [h.detail.network_policy for h in pods] == [BLOCKED]
    f = path.findings[0]
    assert f.details["controller"].startswith("controller pod(s) ingress-nginx-controller")
    assert "namespaceSelector kubernetes.io/metadata.name=ingress-nginx" in f.hint


def test_policy_hop_reasons_are_short_and_json_keeps_the_full_controller(capsys: pytest.CaptureFixture[str]) -> None:
    # the hop is titled with the policy: its reasons neither repeat it nor list the controller's pods in full
    store = ManifestSource([str(SCENARIOS / "netpol-clean.yaml")]).load()
    hop = next(h for h in trace(store, "allow.example.com", live=False).hops if h.kind == "NetworkPolicy")
    assert (hop.name, hop.reasons) == ("web-from-ingress", [
        "ingress: admits ingress-nginx/ingress-nginx-controller-7d4-x1 on 8080/TCP"])
    blocked = ManifestSource([str(SCENARIOS / "netpol-blocked.yaml")]).load()
    path = trace(blocked, "deny.example.com", live=False)
    hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (hop.name, hop.reasons) == ("default-deny", [
        "ingress: blocks ingress-nginx/ingress-nginx-controller-7d4-x1 on 8080/TCP",
        "no ingress rules (denies all ingress)"])
    assert next(h for h in path.hops if h.kind == "Pod").reasons[-1] == \
        "no NetworkPolicy admits this traffic (ingress)"
    assert main(["trace", "allow.example.com", "-o", "json", "-f", str(SCENARIOS / "netpol-clean.yaml")]) == 0
    doc = json.loads(capsys.readouterr().out)
    extra = next(h for h in doc["hops"] if h["kind"] == "NetworkPolicy")
    assert extra["controller"] == "controller pod(s) ingress-nginx-controller-7d4-x1 (namespace ingress-nginx)"
    assert (extra["allowedBy"], extra["port"]) == (["web-from-ingress"], 8080)


def test_deployment_pod_names_are_cut_to_the_workload() -> None:
    pods = [{"kind": "Pod", "metadata": {"name": f"ingress-nginx-controller-5c8d66c76d-{s}", "namespace": "edge",
                                          "labels": {"app.kubernetes.io/name": "ingress-nginx"}}}
            for s in ("abcde", "fghij")]
    found = find_controllers(ClusterStore(pods), "nginx")
    assert found.brief == "edge/ingress-nginx-controller-..."
    assert "ingress-nginx-controller-5c8d66c76d-abcde" in found.label
    odd = find_controllers(ClusterStore([{**pods[0], "metadata": {**pods[0]["metadata"], "namespace": "other"}},
                                         pods[1]]), "nginx")
    assert odd.brief == "edge/ingress-nginx-controller-... and 1 more"


def test_controller_namespace_option_decides_an_unknown_source(capsys: pytest.CaptureFixture[str]) -> None:
    clean = str(SCENARIOS / "netpol-clean.yaml")
    assert main(["trace", "cloud.example.com", "-o", "json", "-f", clean]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "unknown"
    # the user says the traffic comes from namespace ingress-nginx: the VPC ipBlock cannot tell a pod's IP
    assert main(["trace", "cloud.example.com", "-o", "json", "-f", clean, "--controller-namespace", "ingress-nginx",
                 "--controller-selector", "app.kubernetes.io/name=ingress-nginx"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "broken" and [f["code"] for f in doc["findings"]
                                          if not f["code"].startswith("controller-")] == ["networkpolicy-blocks-path"]
    assert main(["trace", "cloud.example.com", "-f", clean, "--controller-selector", "a in (b"]) == 2
    assert "--controller-selector" in capsys.readouterr().err


def test_no_policies_no_hop() -> None:
    store = ManifestSource([str(SCENARIOS / "healthy.yaml")]).load()
    assert [h.kind for h in trace(store, "shop.example.com", live=False).hops if h.kind == "NetworkPolicy"] == []


@pytest.mark.skipif(not BOUTIQUE.is_dir(), reason="real-world manifests not present")
def test_online_boutique_policies_allow_the_frontend(tmp_path: Path) -> None:
    # upstream file is malformed (`- {}---` glues documents together): repair it the way its authors meant
    text = (BOUTIQUE / "network-policies.yaml").read_text().replace("- {}---", "- {}\n---")
    (tmp_path / "network-policies.yaml").write_text(text)
    source = ManifestSource([str(BOUTIQUE / "kubernetes-manifests.yaml"), str(BOUTIQUE / "frontend-ingress.yaml"),
                             str(tmp_path / "network-policies.yaml")])
    store = source.load()
    assert store.count("NetworkPolicy") == 13
    findings = run_checks(store, live=False)
    assert [f for f in findings if f.code.startswith("networkpolicy") and f.severity != "info"] == []
    path = trace(store, "boutique.example.com/", live=False)
    hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (hop.name, hop.status, hop.detail.policies) == ("frontend", "ok", ["deny-all", "frontend"])
    assert hop.reasons[0] == "ingress: admits the ingress controller on 8080/TCP"
    assert not any(f.code.startswith("networkpolicy") for f in path.findings)


GATEWAY_PATH = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: infra}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: np}
spec:
  parentRefs: [{name: public, namespace: infra}]
  hostnames: [app.gw.example.com]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: np}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: np, labels: {app: web}}
spec: {containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.1.0.9, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-infra, namespace: np}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: infra}}, podSelector: {}}]}]
"""
GATEWAY_POD = """
---
apiVersion: v1
kind: Pod
metadata: {name: envoy-public-1, namespace: infra, labels: {gateway.networking.k8s.io/gateway-name: public}}
spec: {containers: [{name: envoy}]}
status: {phase: Running, podIP: 10.3.0.7, conditions: [{type: Ready, status: "True"}]}
"""


@pytest.mark.parametrize(("manifest", "status", "verdict", "codes"), [
    (GATEWAY_PATH + GATEWAY_POD, "ok", ALLOWED, []),
    (GATEWAY_PATH.replace("kubernetes.io/metadata.name: infra", "kubernetes.io/metadata.name: edge") + GATEWAY_POD,
     "broken", BLOCKED, ["networkpolicy-blocks-path"]),
    # no data-plane pod in scope: the namespaceSelector names infra by name only, but which pods?
    (GATEWAY_PATH.replace("podSelector: {}", "podSelector: {matchLabels: {app: envoy}}"), "unknown", UNKNOWN,
     ["networkpolicy-controller-unknown"]),
])
def test_gateway_paths_are_checked_from_the_gateway_pods(tmp_path: Path, manifest: str, status: str, verdict: str,
                                                        codes: list[str]) -> None:
    (tmp_path / "gw.yaml").write_text(manifest)
    store = ManifestSource([str(tmp_path / "gw.yaml")]).load()
    path = trace(store, "app.gw.example.com", live=False)
    hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (path.status, hop.detail.verdict) == (status, verdict), [h.to_dict() for h in path.hops]
    assert [f.code for f in path.findings if f.code.startswith("networkpolicy")] == codes
    if verdict != UNKNOWN:
        assert hop.detail.controller.startswith("gateway pod(s) envoy-public-1")
    else:
        assert (path.findings[0].kind, path.findings[0].namespace, path.findings[0].name) == ("Gateway", "infra",
                                                                                              "public")


def test_some_controller_pods_blocked_is_a_warning(tmp_path: Path) -> None:
    text = (SCENARIOS / "netpol-blocked.yaml").read_text()
    second = text[text.index("apiVersion: v1\nkind: Pod\nmetadata:\n  name: ingress-nginx-controller"):]
    second = second[:second.index("---")].replace("controller-7d4-x1", "controller-7d4-x2").replace(
        "10.2.0.5", "10.2.1.5")
    # web-from-lb-range admits 10.2.0.0/16 except 10.2.0.0/24: the second replica (10.2.1.5) gets in, the first not
    (tmp_path / "two.yaml").write_text(text + "---\n" + second)
    store = ManifestSource([str(tmp_path / "two.yaml")]).load()
    path = trace(store, "ip.example.com", live=False)
    hop = next(h for h in path.hops if h.kind == "NetworkPolicy")
    assert (path.status, hop.status, hop.detail.verdict) == ("degraded", "warning", "partial")
    [found] = [f for f in path.findings if f.code.startswith("networkpolicy")]  # the controller has no Service here
    assert (found.code, found.severity) == ("networkpolicy-blocks-path", "warning") and "not all admit" in found.message


def test_namespace_peers_are_judged_only_with_every_namespace_known(tmp_path: Path) -> None:
    text = (SCENARIOS / "netpol-blocked.yaml").read_text()
    without = "\n---\n".join(d for d in text.split("\n---\n") if "kind: Namespace\nmetadata:\n  name: np-ip" not in d)
    assert without != text
    (tmp_path / "partial.yaml").write_text(without)
    store = ManifestSource([str(tmp_path / "partial.yaml")]).load()
    peers = {f.message for f in run_checks(store, live=False) if f.code == "networkpolicy-peer-matches-nothing"}
    assert not any("matches no namespace" in m for m in peers)  # np-ip has no Namespace object: cannot tell
    assert any("matches no pod" in m for m in peers)


def test_a_selector_matching_nothing_says_so() -> None:
    found = find_controllers(_store(), "nginx", ControllerHint(selector=parse("app=nope")))
    assert found.sources == [] and found.why_unknown == "no pod in scope matches --controller-selector app=nope"
