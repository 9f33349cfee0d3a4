"""The front door: the tier that receives a request before the Ingress rule or the Gateway listener is read.

For an Ingress it is its class's controller (its pods, found as `networkpolicy.controller_pods` finds the
traffic's source) and the Service that exposes them; for a Gateway, its data-plane pods and Service, with the
addresses and the Programmed condition its status reports. When the pods cannot be found (a cloud load
balancer, a controller ktrace does not know) the front door is unknown and says why: never an error.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from ktrace.checks.networkpolicy import ControllerHint, class_controller, controller_pods, gateway_pods
from ktrace.findings import Finding, FindingId, finding_id
from ktrace.model import Gateway, GatewayClass, Ingress, Pod, Service
from ktrace.requestpath import FrontDoorDetail, FrontService, HopStatus
from ktrace.routing import ingress_class
from ktrace.rules import Rule, produces, readable, register
from ktrace.store import ClusterStore

NOT_READY = register(Rule(
    "controller-not-ready", "error",
    "No pod of the ingress controller (or of a Gateway's data plane) is ready: every path through it fails.",
    needs=("Pod",)))
PARTIALLY_READY = register(Rule(
    "controller-partially-ready", "warning",
    "Some pods of the ingress controller (or of a Gateway's data plane) are not ready: the others carry the "
    "traffic.", needs=("Pod",)))
SERVICE_MISSING = register(Rule(
    "controller-service-missing", "warning",
    "No Service selects the ingress controller's (or a Gateway data plane's) pods and exposes port 80 or 443: "
    "clients outside the cluster have no address to reach it by.", needs=("Pod", "Service")))
ADDRESS_MISMATCH = register(Rule(
    "ingress-address-mismatch", "warning",
    "An Ingress's published address (status.loadBalancer) is not its controller Service's external address: "
    "DNS that follows the Ingress may send clients elsewhere.", needs=("Pod", "Service")))
LOCAL_NO_PODS = register(Rule(
    "external-traffic-local-no-pods", "warning",
    "The controller's Service has externalTrafficPolicy Local and nodes in its endpoints have no ready controller "
    "pod: the load balancer's traffic sent to those nodes is dropped (the finding says how many nodes).",
    needs=("Pod", "Service")))

INGRESS_FRONT, GATEWAY_FRONT = "IngressController", "GatewayDataPlane"  # the hop kinds
_WEB_PORTS = (80, 443)


@dataclass
class FrontDoor:
    """The front hop's parts: who (`kind`, `namespace`, `name`), its verdict, its reasons and findings."""
    kind: str
    namespace: str
    name: str
    detail: FrontDoorDetail
    status: HopStatus = HopStatus.OK
    reasons: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _workload(pods: list[Pod]) -> str:
    """The name people know the pods by: their Deployment (or other owner), the most common one."""
    names = Counter(p.deployment or (p.meta.owners[0][1] if p.meta.owners else p.meta.name) for p in pods)
    return names.most_common(1)[0][0]


def _exposing(store: ClusterStore, pods: list[Pod]) -> list[Service]:
    """The Services that select some of the pods and expose port 80 or 443."""
    found = {s.meta.key: s for p in pods for s in store.services_selecting(p)}
    return [s for _, s in sorted(found.items()) if any(p.port in _WEB_PORTS for p in s.ports)]


def _front_service(svc: Service) -> FrontService:
    return FrontService(svc.meta.namespace, svc.meta.name, svc.type,
                        [p.label() for p in svc.ports if p.port in _WEB_PORTS], list(svc.lb_addresses),
                        svc.external_traffic_policy or None)


def _service_text(s: FrontService) -> str:
    address = ", ".join(s.addresses) if s.addresses else "address pending" if s.type == "LoadBalancer" else ""
    bits = [s.type, " ".join(s.ports), address,
            f"externalTrafficPolicy {s.external_traffic_policy}" if s.external_traffic_policy == "Local" else ""]
    return f"Service {s.namespace}/{s.name}: " + ", ".join(b for b in bits if b)


def _readiness(pod: Pod) -> bool | None:
    """`Pod.ready`, except that a Running pod without a Ready condition tells nothing: a kubelet reports Ready
    on every pod it runs, so only a hand-written manifest lacks it (never a false `controller-not-ready`)."""
    if pod.phase == "Running" and not any(c.type == "Ready" for c in pod.conditions):
        return None
    return pod.ready


def _door(store: ClusterStore, kind: str, what: str, pods: list[Pod], detail: FrontDoorDetail) -> FrontDoor:
    """The front door made of `pods` (found): readiness, the exposing Service and its traffic policy."""
    ns, name = pods[0].meta.namespace, _workload(pods)
    door = FrontDoor(kind, ns, name, detail)
    known = [state for state in map(_readiness, pods) if state is not None]
    ready = sum(known)
    detail.total, detail.ready = len(pods), ready if known else None
    if not known:
        door.reasons.append(f"{len(pods)} pod(s) of {what}: readiness unknown offline")
    elif ready == 0:
        door.findings.append(NOT_READY.finding(
            kind, ns, name, f"0 of {len(known)} pods of {what} ready: every request through it fails",
            f"kubectl -n {ns} describe pods of {name}: probes, crash loops, scheduling", ready=0, total=len(known)))
    elif ready < len(known):
        door.findings.append(PARTIALLY_READY.finding(
            kind, ns, name, f"{ready} of {len(known)} pods of {what} ready",
            f"kubectl -n {ns} describe the pods of {name} that are not ready", ready=ready, total=len(known)))
    else:
        door.reasons.append(f"{ready} of {len(known)} pods ready")
    if not readable(store, "Service"):  # unread is not missing: no Service finding
        door.reasons.append("Services could not be read")
        return door
    services = _exposing(store, pods)
    detail.services = [_front_service(s) for s in services]
    door.reasons += [_service_text(s) for s in detail.services]
    if not services:
        door.findings.append(SERVICE_MISSING.finding(
            kind, ns, name, f"no Service selects the pods of {what} on port 80 or 443",
            f"expose {name} with a Service (type LoadBalancer or NodePort) on ports 80 and 443"))
    for svc in services:
        if svc.external_traffic_policy == "Local" and svc.type in ("LoadBalancer", "NodePort") and ready:
            door.findings += _local_no_pods(svc, pods)
    return door


def _local_no_pods(svc: Service, pods: list[Pod]) -> list[Finding]:
    """externalTrafficPolicy Local: a node forwards only to its own ready pods; the nodes whose selected pods
    are all not ready drop what the load balancer sends them."""
    selected = [p for p in pods if p.node and svc.selector and all(p.meta.labels.get(k) == v
                                                                   for k, v in svc.selector.items())]
    nodes = {p.node for p in selected}
    serving = {p.node for p in selected if _readiness(p) is not False}  # unknown readiness: not said to drop
    lacking = sorted(nodes - serving)
    if not lacking:
        return []
    ns, name = svc.meta.key
    shown = ", ".join(lacking[:3]) + (f" and {len(lacking) - 3} more" if len(lacking) > 3 else "")
    return [LOCAL_NO_PODS.finding(
        "Service", ns, name,
        f"externalTrafficPolicy Local: {len(lacking)} of {len(nodes)} node(s) in the endpoints of Service {ns}/{name} "
        f"have no ready controller pod ({shown}): traffic the load balancer sends there is dropped",
        "make the pods on those nodes ready, or set externalTrafficPolicy: Cluster (the client's source address is "
        "then not kept)", nodes=lacking)]


def _finish(door: FrontDoor) -> FrontDoor:
    door.reasons += [f.message for f in door.findings]
    severities = {f.severity for f in door.findings}
    door.status = HopStatus.ERROR if "error" in severities else HopStatus.WARNING if "warning" in severities \
        else door.status
    return door


def class_front(store: ClusterStore, class_name: str, hint: ControllerHint | None = None) -> FrontDoor:
    """The controller of an ingress class, before any Ingress of it is compared with it (not finished)."""
    controller = class_controller(store, class_name)
    detail = FrontDoorDetail(f"IngressClass {class_name}" if class_name else "no class", controller or None, None, 0,
                             [], [])
    if not readable(store, "Pod"):  # unread is not missing: unknown, never not ready
        pods, why = [], "Pods could not be read"
    else:
        pods, why = controller_pods(store, class_name, hint)
        if not pods and hint is not None and hint.namespace:  # the user named the namespace: its pods are it
            pods = list(store.pods(hint.namespace))
            why = why if pods else f"no pod in namespace {hint.namespace}"
    if not pods:
        # The labels looked for are the NetworkPolicy finding's business: here, in a line, who is unknown and why.
        return FrontDoor(INGRESS_FRONT, "", class_name, detail, HopStatus.UNKNOWN,
                         [f"controller unknown: {why.partition(' (looked for ')[0]}"])
    door = _door(store, INGRESS_FRONT, f"controller {controller or class_name}", pods, detail)
    if controller:
        door.reasons.insert(0, f"controller {controller} (class {class_name})")
    return door


def ingress_front(store: ClusterStore, class_name: str, ing: Ingress, hint: ControllerHint | None = None,
                  base: FrontDoor | None = None) -> FrontDoor:
    """The controller of an Ingress's class (`base`: its `class_front`, when known), and whether the Ingress's
    published address is its Service's."""
    base = base or class_front(store, class_name, hint)
    door = replace(base, detail=replace(base.detail, published=list(ing.addresses)), reasons=list(base.reasons),
                   findings=list(base.findings))
    if door.detail.total:
        mismatch = _address_findings(ing, door.detail.services)
        door.findings += mismatch
        if ing.addresses and not mismatch:
            door.reasons.append(f"the Ingress publishes {', '.join(ing.addresses)}")
    return _finish(door)


def _address_findings(ing: Ingress, services: list[FrontService]) -> list[Finding]:
    """`ingress-address-mismatch`: the Ingress publishes addresses and the controller's Services have external
    addresses, none of them among those published."""
    theirs = [a for s in services for a in s.addresses]
    if not ing.addresses or not theirs or set(ing.addresses) & set(theirs):
        return []
    ns, name = ing.meta.key
    return [ADDRESS_MISMATCH.finding(
        "Ingress", ns, name,
        f"Ingress {ns}/{name} publishes {', '.join(ing.addresses)}, but its controller's Service has "
        f"{', '.join(theirs)}",
        "check which address DNS points at; the controller publishes its Service's address when told to "
        "(ingress-nginx: --publish-service)", published=list(ing.addresses), service=theirs)]


def gateway_front(store: ClusterStore, gw: Gateway, hint: ControllerHint | None = None) -> FrontDoor:
    """A Gateway's data plane: its status addresses and Programmed condition, its pods and Service."""
    gc = store.get("GatewayClass", "", gw.class_name) if gw.class_name else None
    programmed = next((c for c in gw.conditions if c.type == "Programmed"), None)
    ns, name = gw.meta.key
    detail = FrontDoorDetail(f"Gateway {ns}/{name}", gc.controller or None if isinstance(gc, GatewayClass) else None,
                             None, 0, [], list(gw.addresses), programmed.status if programmed else None)
    status = [f"addresses {', '.join(gw.addresses)}" if gw.addresses else "no address in the Gateway's status"]
    if programmed is not None:
        status.append(f"Programmed {programmed.status}" + (f" ({programmed.reason})" if programmed.reason else ""))
    pods, why = gateway_pods(store, gw, hint) if readable(store, "Pod") else ([], "Pods could not be read")
    if not pods:
        return FrontDoor(GATEWAY_FRONT, ns, name, detail, HopStatus.UNKNOWN, [*status, f"data plane unknown: {why}"])
    door = _door(store, GATEWAY_FRONT, f"the data plane of Gateway {ns}/{name}", pods, detail)
    door.reasons[:0] = status
    return _finish(door)


def front_doors(store: ClusterStore, default_class: str, hint: ControllerHint | None = None) -> list[FrontDoor]:
    """Every Ingress's and every Gateway's front door."""
    bases: dict[str, FrontDoor] = {}
    doors = []
    for ing in store.ingresses():
        cls = ingress_class(ing, default_class).name
        if cls not in bases:
            bases[cls] = class_front(store, cls, hint)
        doors.append(ingress_front(store, cls, ing, hint, bases[cls]))
    return doors + [gateway_front(store, gw, hint) for gw in store.gateways()]


def door_namespaces(doors: list[FrontDoor], hint: ControllerHint | None = None) -> set[str]:
    """Where the doors' pods are (and the hint's namespace): a pod change elsewhere that could not make a
    controller changes no door."""
    return {d.namespace for d in doors if d.detail.total} | ({hint.namespace} if hint and hint.namespace else set())


@produces(NOT_READY, PARTIALLY_READY, SERVICE_MISSING, ADDRESS_MISMATCH, LOCAL_NO_PODS)
def check_front_doors(store: ClusterStore, doors: list[FrontDoor]) -> list[Finding]:
    """The doors' findings, each controller's once (every Ingress of a class shares its controller)."""
    out: dict[FindingId, Finding] = {}
    for door in doors:
        for f in door.findings:
            out.setdefault(finding_id(f), f)
    return list(out.values())
