"""The Gateway controller's own verdict on a Gateway and its listeners, quoted live (a file's status is stale)
on the Gateway hop of a traced path and by `check`."""

from __future__ import annotations

import pytest

from ktrace.checks import run_checks
from ktrace.store import ClusterStore
from ktrace.trace import trace
from tests.core.test_gateway_routing import backed, behind, gateway, httproute

CLASS = {"kind": "GatewayClass", "metadata": {"name": "eg"}, "spec": {"controllerName": "example.com/gateway"}}


def with_status(conditions: list[dict], listeners: list[dict] | None = None) -> dict:
    gw = gateway()
    gw["status"] = {"conditions": conditions, "listeners": listeners or []}
    return gw


def cond(type_: str, status: str, reason: str, message: str = "") -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize(("conditions", "code", "hop", "path"), [
    ([cond("Accepted", "False", "Invalid", "bad TLS options")], "gateway-not-accepted", "error", "broken"),
    ([cond("Accepted", "True", "Accepted"), cond("Programmed", "False", "AddressNotAssigned")],
     "gateway-not-programmed", "warning", "ok"),
])
def test_gateway_conditions_are_quoted_on_the_gateway_hop(conditions: list[dict], code: str, hop: str,
                                                          path: str) -> None:
    """GatewayConditionType `Accepted`: "true when the controller managing the Gateway is syntactically and
    semantically valid enough to produce some configuration in the underlying data plane"; `Programmed`:
    "whether a Gateway has generated some configuration that is assumed to be ready soon in the underlying
    data plane" (False reasons include "Pending" and "AddressNotAssigned"). Not Accepted: nothing is
    configured, the path is broken. Not Programmed: often only the address is pending, a warning."""
    store = ClusterStore([CLASS, with_status(conditions), httproute("r"), *backed("web")])
    p = trace(store, "a.example.com/", live=True)
    gw_hop = behind(p)[0]
    [f] = [f for f in p.findings if f.kind == "Gateway"]
    assert (f.code, gw_hop.kind, gw_hop.status, p.status) == (code, "Gateway", hop, path)
    said = conditions[-1]
    assert f.message.endswith(f'by its controller: "{said["reason"]}' + (f': {said["message"]}"' if said["message"]
                                                                           else '"'))
    assert f.message in gw_hop.reasons and gw_hop.finding_codes == [code]
    assert [x.code for x in run_checks(store, live=True)] == [code]
    assert trace(store, "a.example.com/", live=False).status == "ok"  # offline: the status is not used
    assert run_checks(store, live=False) == []


def test_listener_conditions_are_quoted_for_the_listener_that_takes_the_request() -> None:
    """ListenerConditionType `Conflicted`: "the controller was unable to resolve conflicting specification
    requirements for this Listener. If a Listener is conflicted, its network port should not be configured on
    any network elements" (an error: the path is broken); `ResolvedRefs`: "whether the controller was able to
    resolve all the object references for the Listener" (False: InvalidCertificateRef, InvalidRouteKinds,
    RefNotPermitted; a warning, as ktrace judges certificateRefs itself). What did resolve is still served
    (ListenerStatus.SupportedKinds: "If both valid and invalid Route kinds are specified, the implementation MUST
    reference the valid Route kinds that have been specified"): the path is degraded."""
    listeners = [{"name": "a", "protocol": "HTTP", "port": 80, "hostname": "a.example.com"},
                 {"name": "b", "protocol": "HTTP", "port": 80, "hostname": "b.example.com"}]
    gw = gateway(listeners=listeners)
    gw["status"] = {"listeners": [
        {"name": "a", "conditions": [cond("Conflicted", "True", "HostnameConflict", "also on gw2"),
                                     cond("ResolvedRefs", "True", "ResolvedRefs")]},
        {"name": "b", "conditions": [cond("Conflicted", "False", "NoConflicts"),
                                     cond("ResolvedRefs", "False", "InvalidRouteKinds")]}]}
    store = ClusterStore([CLASS, gw, httproute("r", ns="infra", hostnames=["a.example.com", "b.example.com"]),
                          *backed("web", ns="infra")])
    a = trace(store, "a.example.com/", live=True)
    assert (a.status, behind(a)[0].status, [f.code for f in a.findings]) == ("broken", "error",
                                                                          ["gateway-listener-conflicted"])
    assert a.findings[0].message == 'listener a conflicted: "HostnameConflict: also on gw2"'
    b = trace(store, "b.example.com/", live=True)
    assert (b.status, behind(b)[0].status, [f.code for f in b.findings]) == ("degraded", "warning",
                                                                          ["gateway-listener-refs-unresolved"])
    assert trace(store, "b.example.com/", live=False).status == "ok"  # offline: the status is not used
    assert sorted(f.code for f in run_checks(store, live=True)) == ["gateway-listener-conflicted",
                                                                    "gateway-listener-refs-unresolved"]


@pytest.mark.parametrize(("condition", "code"), [
    (cond("Programmed", "False", "Invalid", "listener b: bad TLS options"), "gateway-listener-not-programmed"),
    (cond("Programmed", "False", "Pending"), "gateway-listener-not-programmed"),
    (cond("Accepted", "False", "UnsupportedProtocol", "no such protocol here"), "gateway-listener-not-accepted"),
])
def test_a_listener_not_programmed_or_not_accepted_breaks_the_path(condition: dict, code: str) -> None:
    """ListenerConditionType `Programmed`: "whether a Listener has generated some configuration that will soon be
    ready in the underlying data plane" (False: "Invalid", "Pending": "not yet online and ready to accept client
    traffic"); `Accepted`: "a Listener with an unsupported protocol will never generate any data plane config, and
    so will have Accepted set to `false.`". Either way nothing of the listener serves: the path through it is
    broken, the condition quoted on the Gateway hop. Another listener of the Gateway is not concerned."""
    listeners = [{"name": "a", "protocol": "HTTP", "port": 80, "hostname": "a.example.com"},
                 {"name": "b", "protocol": "HTTP", "port": 8080, "hostname": "b.example.com"}]
    gw = gateway(listeners=listeners)
    gw["status"] = {"listeners": [{"name": "b", "conditions": [condition]}]}
    store = ClusterStore([CLASS, gw, httproute("r", ns="infra", hostnames=["a.example.com", "b.example.com"]),
                          *backed("web", ns="infra")])
    b = trace(store, "b.example.com/", live=True)
    [f] = b.findings
    assert (b.status, behind(b)[0].status, f.code, f.severity) == ("broken", "error", code, "error")
    said = f'{condition["reason"]}: {condition["message"]}' if condition["message"] else condition["reason"]
    assert f.message.endswith(f'"{said}"') and f.message in behind(b)[0].reasons
    assert trace(store, "a.example.com/", live=True).status == "ok"
    assert trace(store, "b.example.com/", live=False).status == "ok"  # offline: the status is not used
    assert [x.code for x in run_checks(store, live=True)] == [code]
