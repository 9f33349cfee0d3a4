"""BackendTLSPolicy (Gateway API v1, apis/v1/backendtlspolicy_types.go; policy attachment, GEP-713): the policy
that applies to a Service port on a Gateway path, its findings, and what a change to it re-traces."""

from __future__ import annotations

import pytest

from ktrace.backendtls import for_port
from ktrace.checks import CheckUnits, run_checks
from ktrace.coverage import Coverage, Read
from ktrace.model import BackendTLSPolicy, record_from_dict
from ktrace.requestpath import PathStatus, ServiceDetail
from ktrace.selectors import matches
from ktrace.sources.manifests import ManifestSource
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.trace import trace
from ktrace.verdicts import RouteVerdicts
from tests.core.test_gateway_routing import GROUP, gateway, httproute, pod

CONTROLLER = "example.net/gateway"


def service(name: str = "web") -> dict:
    ports = [{"name": n, "port": p, "targetPort": 8080} for n, p in (("https", 443), ("metrics", 9443))]
    return {"kind": "Service", "metadata": {"name": name, "namespace": "app"},
            "spec": {"selector": {"app": name}, "ports": ports}}


def secret(name: str) -> dict:
    return {"kind": "Secret", "metadata": {"name": name, "namespace": "app"}}


def policy(name: str, target: str = "web", section: str | None = None, created: str = "2026-01-01T00:00:00Z",
           ca: list[dict] | None = None, well_known: str | None = None, status: list[dict] | None = None) -> dict:
    ref = {"group": "", "kind": "Service", "name": target, **({"sectionName": section} if section else {})}
    validation: dict = {"hostname": f"{target}.internal"}
    if ca is not None:
        validation["caCertificateRefs"] = ca
    if well_known:
        validation["wellKnownCACertificates"] = well_known
    return {"apiVersion": f"{GROUP}/v1", "kind": "BackendTLSPolicy",
            "metadata": {"name": name, "namespace": "app", "creationTimestamp": created},
            "spec": {"targetRefs": [ref], "validation": validation},
            **({"status": {"ancestors": status}} if status else {})}


def configmap(name: str, ns: str = "app") -> dict:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}


def cluster(*extra: dict, port: int = 443) -> list[dict]:
    """A Gateway, a route to Service web (ports https 443 and metrics 9443) and its ready pod."""
    route = httproute("r", rules=[{"backendRefs": [{"name": "web", "port": port}]}])
    slice_ = {"kind": "EndpointSlice", "metadata": {"name": "web-1", "namespace": "app",
                                                    "labels": {"kubernetes.io/service-name": "web"}},
              "addressType": "IPv4", "ports": [{"name": "https", "port": 8080}, {"name": "metrics", "port": 8080}],
              "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True},
                             "targetRef": {"kind": "Pod", "name": "web-1"}}]}
    cls = {"kind": "GatewayClass", "metadata": {"name": "eg"}, "spec": {"controllerName": CONTROLLER}}
    return [cls, gateway(), route, service(), pod("web-1", "web"), slice_, *extra]


def service_hop(store: ClusterStore, target: str = "a.example.com", live: bool = False):
    path = trace(store, target, live=live)
    hop = next(h for h in path.hops if h.kind == "Service")
    assert isinstance(hop.detail, ServiceDetail)
    return path, hop


def test_the_record_keeps_targets_validation_and_ancestor_status() -> None:
    """`TargetRefs identifies an API object to apply the policy to`; `Validation contains backend TLS validation
    configuration`; `Ancestors is a list of ancestor resources (usually Gateways) that are associated with the
    policy, and the status of the policy with respect to each ancestor`."""
    obj = policy("p", section="https", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}],
                 status=[{"ancestorRef": {"name": "gw", "namespace": "infra"}, "controllerName": CONTROLLER,
                          "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}])
    obj["spec"]["validation"]["subjectAltNames"] = [{"type": "Hostname", "hostname": "web.example.com"},
                                                    {"type": "URI", "uri": "spiffe://td/ns/app/sa/web"}]
    p = record_from_dict(obj)
    assert isinstance(p, BackendTLSPolicy)
    assert [(t.kind, t.name, t.section) for t in p.targets] == [("Service", "web", "https")]
    assert [(r.kind, r.name) for r in p.ca_refs] == [("ConfigMap", "ca")] and p.hostname == "web.internal"
    assert p.subject_alt_names == ("Hostname web.example.com", "URI spiffe://td/ns/app/sa/web")
    assert p.ancestors[0].ref.label() == "Gateway infra/gw" and p.ancestors[0].controller == CONTROLLER
    assert record_from_dict({"kind": "BackendTLSPolicy", "metadata": {"name": "x"}, "spec": [1]}) is not None


def test_a_policy_on_the_path_shows_on_the_service_hop() -> None:
    """`Hostname MUST be used as the SNI to connect to the backend`; `CACertificateRefs contains one or more
    references to Kubernetes objects that contain a PEM-encoded TLS CA certificate bundle`."""
    store = ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]), configmap("ca")))
    path, hop = service_hop(store)
    tls = hop.detail.backend_tls
    assert tls is not None and tls.policy == "tls" and tls.hostname == "web.internal" and tls.section is None
    assert [c.to_dict() for c in tls.ca_certificates] == [{"kind": "ConfigMap", "name": "ca", "exists": True}]
    assert any(r.startswith("BackendTLSPolicy tls: TLS to the pods, hostname web.internal, CA ConfigMap ca")
               for r in hop.reasons)
    assert path.status == PathStatus.OK and not path.findings
    assert hop.to_dict()["backendTLSPolicy"]["policy"] == "tls"


@pytest.mark.parametrize(("section", "port", "applies"), [
    ("https", 443, True), ("https", 9443, False), (None, 9443, True), ("metrics", 9443, True)])
def test_section_name_is_the_service_ports_name_and_none_is_every_port(section: str | None, port: int,
                                                                       applies: bool) -> None:
    """SectionName: `When unspecified, this targetRef targets the entire resource. ... Service: Port name`."""
    store = ClusterStore(cluster(policy("tls", section=section, well_known="System"), port=port))
    _, hop = service_hop(store)
    assert (hop.detail.backend_tls is not None) == applies
    if applies:
        assert hop.detail.backend_tls.well_known == "System"


def test_a_port_policy_applies_there_and_a_whole_service_policy_on_the_other_ports_without_conflict() -> None:
    """Precedence applies `When more than one BackendTLSPolicy selects the same target and sectionName`: a policy
    naming the port and one naming the whole Service are both accepted (conformance
    BackendTLSPolicyConflictResolution, "with and without a section name")."""
    objs = [policy("port", section="https", created="2026-02-01T00:00:00Z", well_known="System"),
            policy("whole", created="2026-01-01T00:00:00Z", well_known="System")]
    store = ClusterStore(cluster(*objs))
    _, hop = service_hop(store)
    assert hop.detail.backend_tls.policy == "port" and hop.detail.backend_tls.not_applied == []
    other = ClusterStore(cluster(*objs, port=9443))
    assert service_hop(other)[1].detail.backend_tls.policy == "whole"
    assert not [f for f in run_checks(store, live=False) if f.code.startswith("backendtlspolicy")]


@pytest.mark.parametrize(("first", "second", "winner", "why"), [
    (("b", "2026-01-01T00:00:00Z"), ("a", "2026-01-02T00:00:00Z"), "b", "older"),
    (("b", "2026-01-01T00:00:00Z"), ("a", "2026-01-01T00:00:00Z"), "a", "first by name")])
def test_conflicting_policies_the_oldest_then_the_first_by_name_applies(first: tuple[str, str],
                                                                        second: tuple[str, str], winner: str,
                                                                        why: str) -> None:
    """`The older policy by creation timestamp takes precedence`, then `The policy appearing first in alphabetical
    order by {name}`; `For any BackendTLSPolicy that does not take precedence, the implementation MUST ensure the
    Accepted Condition is set to status: False, with Reason Conflicted` (GEP-713: the oldest wins)."""
    store = ClusterStore(cluster(*(policy(n, section="https", created=c, well_known="System")
                                   for n, c in (first, second))))
    path, hop = service_hop(store)
    loser = ({"a", "b"} - {winner}).pop()
    assert hop.detail.backend_tls.policy == winner and hop.detail.backend_tls.not_applied == [loser]
    assert hop.status == "warning" and path.status == PathStatus.OK  # the winner still serves
    found = [f for f in run_checks(store, live=False) if f.code == "backendtlspolicy-conflicted"]
    assert [(f.name, f.details["applied"]) for f in found] == [(loser, winner)]
    assert f"{winner} applies ({why})" in found[0].message and found[0] in path.findings


@pytest.mark.parametrize(("ref", "objs", "missing"), [
    ({"group": "", "kind": "ConfigMap", "name": "ca"}, [], True),
    ({"group": "", "kind": "ConfigMap", "name": "ca"}, [configmap("ca")], False),
    ({"group": "", "kind": "ConfigMap", "name": "ca"}, [configmap("ca", "other")], True),  # refs are local
    ({"group": "", "kind": "Secret", "name": "ca"}, [secret("ca")], False),
    ({"group": "", "kind": "Secret", "name": "ca"}, [secret("x")], True),
    ({"group": "example.com", "kind": "CABundle", "name": "ca"}, [], False)])  # implementation-specific: not judged
def test_a_missing_ca_certificate_breaks_the_backend(ref: dict, objs: list[dict], missing: bool) -> None:
    """`A CACertificateRef is invalid if: It refers to a resource that cannot be resolved (e.g., the referenced
    resource does not exist)`; `Connections using an invalid CACertificateRef MUST fail, and the client MUST receive
    an HTTP 5xx error response`."""
    store = ClusterStore(cluster(policy("tls", ca=[ref]), *objs))
    path, hop = service_hop(store)
    codes = [f.code for f in run_checks(store, live=False)]
    assert (codes.count("backendtlspolicy-ca-missing") == 1) == missing
    assert (path.status == PathStatus.BROKEN and hop.status == "error") == missing
    if ref["kind"] == "CABundle":
        assert hop.detail.backend_tls.ca_certificates[0].exists is None


def test_a_ca_in_another_namespace_is_named_in_the_hint() -> None:
    store = ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]),
                                 configmap("ca", "certs")))
    f = next(f for f in run_checks(store, live=False) if f.code == "backendtlspolicy-ca-missing")
    assert (f.kind, f.namespace, f.name) == ("BackendTLSPolicy", "app", "tls") and "namespace certs" in f.hint


def test_unreadable_configmaps_are_not_called_missing(tmp_path) -> None:
    """Offline files without any ConfigMap say nothing of one that is named: the CA check is skipped, and said so."""
    import yaml

    (tmp_path / "f.yaml").write_text(yaml.safe_dump_all(cluster(policy(
        "tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]))))
    source = ManifestSource([str(tmp_path / "f.yaml")])
    store = source.load()
    assert "ConfigMap" in store.unreadable and any(n.kind == "ConfigMap" for n in source.notes)
    assert not [f for f in run_checks(store, live=False) if f.code == "backendtlspolicy-ca-missing"]
    assert trace(store, "a.example.com", live=False).status != PathStatus.BROKEN


def test_the_controllers_status_is_quoted_live_only() -> None:
    """`the implementation MUST ensure the ResolvedRefs Condition on the BackendTLSPolicy is set to status: False,
    with a Reason and Message that indicate the cause of the error`; `If ALL CACertificateRefs are invalid, the
    implementation MUST also ensure the Accepted Condition ... is set to status: False`."""
    status = [{"ancestorRef": {"name": "gw", "namespace": "infra"}, "controllerName": CONTROLLER, "conditions": [
        {"type": "Accepted", "status": "False", "reason": "NoValidCACertificate", "message": "no valid CA"},
        {"type": "ResolvedRefs", "status": "False", "reason": "InvalidCACertificateRef", "message": "ca: no ca.crt"}]}]
    store = ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}], status=status),
                                 configmap("ca")))
    live = {f.code: f for f in run_checks(store, live=True)}
    assert "NoValidCACertificate: no valid CA" in live["backendtlspolicy-not-accepted"].message
    assert "InvalidCACertificateRef: ca: no ca.crt" in live["backendtlspolicy-refs-unresolved"].message
    assert not [f for f in run_checks(store, live=False) if f.code.startswith("backendtlspolicy")]
    path, hop = service_hop(store, live=True)
    assert {f.code for f in path.findings} == {"backendtlspolicy-not-accepted", "backendtlspolicy-refs-unresolved"}
    assert hop.status == "warning"


def test_ingress_paths_do_not_show_policies() -> None:
    """`BackendTLSPolicy provides a way to configure how a Gateway connects to a Backend via TLS`: an Ingress
    controller does not read it."""
    ingress = {"kind": "Ingress", "metadata": {"name": "ing", "namespace": "app"}, "spec": {"rules": [
        {"host": "i.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "web", "port": {"number": 443}}}}]}}]}}
    store = ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]), ingress))
    path, hop = service_hop(store, "i.example.com")
    assert hop.detail.backend_tls is None and not [f for f in path.findings if f.kind == "BackendTLSPolicy"]
    assert any(f.code == "backendtlspolicy-ca-missing" for f in run_checks(store, live=False))  # check: every policy


def test_a_scoped_trace_reads_the_policies_and_the_ca_it_names() -> None:
    full = ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]), configmap("ca")))
    store = ClusterStore()
    store.coverage = Coverage()
    asked = []
    while True:
        path = trace(store, "a.example.com", live=True)
        missing = store.coverage.take_missing()
        if not missing:
            break
        for read in missing:
            asked.append(read)
            kind = read.kind
            for r in list(full.objects(kind, read.namespace)):
                if matches(read.selector, r.meta.labels) and read.name in ("", r.meta.name):
                    store.apply_record("ADDED", r)
            store.coverage.add([read])
    assert path.to_dict() == trace(full, "a.example.com", live=True).to_dict()
    assert Read("BackendTLSPolicy", "app") in asked  # the Service's namespace's policies
    assert Read("ConfigMap", "app", name="ca") in asked and Read("ConfigMap", "app") not in asked  # one, by name


def test_a_ca_configmap_change_retraces_only_the_routes_naming_it() -> None:
    objs = cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]))
    store = ClusterStore(objs)
    v = RouteVerdicts(store, lambda t: trace(store, t, live=True))
    entry = Target("a.example.com", "/")
    assert v.status(entry) == PathStatus.BROKEN
    assert v.touched([("ConfigMap", "ADDED", "app", "leader-election")]) == set()
    store.apply("ADDED", configmap("ca"))
    assert v.refresh([("ConfigMap", "ADDED", "app", "ca")]) == {entry} and v.status(entry) == PathStatus.OK
    store.apply("ADDED", policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "gone"}]) | {
        "metadata": {"name": "tls", "namespace": "app", "resourceVersion": "2"}})
    assert entry in (v.touched([("BackendTLSPolicy", "MODIFIED", "app", "tls")]) or set())


def test_recheck_follows_policy_and_configmap_changes() -> None:
    store = ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}])))
    units = CheckUnits(store, live=False)
    assert [f.code for f in units.check_all() if f.code.startswith("backendtlspolicy")] == [
        "backendtlspolicy-ca-missing"]
    store.apply("ADDED", configmap("ca"))
    assert not [f for f in units.recheck([("ConfigMap", "ADDED", "app", "ca")]) if f.code.startswith("backendtls")]
    store.apply("ADDED", policy("late", section="https", created="2026-03-01T00:00:00Z", well_known="System"))
    store.apply("ADDED", policy("early", section="https", created="2026-02-01T00:00:00Z", well_known="System"))
    got = units.recheck([("BackendTLSPolicy", "ADDED", "app", "late"), ("BackendTLSPolicy", "ADDED", "app", "early")])
    assert got == run_checks(store, live=False)
    assert [f.name for f in got if f.code == "backendtlspolicy-conflicted"] == ["late"]


def test_for_port_is_none_without_a_policy() -> None:
    store = ClusterStore(cluster())
    svc = store.service("app", "web")
    assert svc is not None and for_port(store, svc, svc.ports[0]) is None


def test_a_passthrough_listener_opens_no_tls_of_its_own_so_no_policy_applies() -> None:
    """BackendTLSPolicy: "how a Gateway connects to a Backend via TLS"; a Passthrough listener: "the TLS session is
    NOT terminated by the Gateway" (ListenerTLSConfig.Mode): the Gateway opens no TLS connection of its own to the
    pods, so a policy on the Service (even one whose CA is missing) does not apply on a TLSRoute through it."""
    listener = {"name": "tls", "protocol": "TLS", "port": 443, "tls": {"mode": "Passthrough"},
                "allowedRoutes": {"namespaces": {"from": "All"}}}
    route = {"apiVersion": f"{GROUP}/v1", "kind": "TLSRoute", "metadata": {"name": "t", "namespace": "app"},
             "spec": {"parentRefs": [{"name": "gw", "namespace": "infra"}], "hostnames": ["a.example.com"],
                      "rules": [{"backendRefs": [{"name": "web", "port": 443}]}]}}
    objs = [o for o in cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap", "name": "ca"}]), route)
            if o["kind"] != "Gateway"] + [gateway(listeners=[listener])]
    store = ClusterStore(objs)
    path, hop = service_hop(store, "tls://a.example.com")
    assert path.status == PathStatus.OK and hop.detail.backend_tls is None
    https, hop = service_hop(ClusterStore(cluster(policy("tls", ca=[{"group": "", "kind": "ConfigMap",
                                                                     "name": "ca"}]))))
    assert https.status == PathStatus.BROKEN and hop.detail.backend_tls is not None  # the same policy, terminated


@pytest.mark.parametrize(("target", "section", "problem"), [
    ("web", None, None),
    ("web", "https", None),
    ("web", "grpc", "has no port named 'grpc'"),
    ("webb", None, "does not exist in namespace 'app'"),
])
def test_a_target_that_resolves_to_nothing_is_named(target: str, section: str | None, problem: str | None) -> None:
    """LocalPolicyTargetReferenceWithSectionName: "SectionName is the name of a section within the target resource
    ... Service: Port name. If a SectionName is specified, but does not exist on the targeted object, the Policy
    must fail to attach". A targetRef to a Service that does not exist attaches to nothing either."""
    store = ClusterStore(cluster(policy("tls", target=target, section=section)))
    found = [f for f in run_checks(store, live=False) if f.code == "backendtlspolicy-target-missing"]
    assert [problem in f.message for f in found] == ([True] if problem else [])
