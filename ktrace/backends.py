"""What backs a Service port: its EndpointSlices, the pods behind them, and why each pod does or
does not receive traffic. Shared by the tracer (the Endpoints and Pod tiers) and the checks.

EndpointSlices are the truth for readiness (offline sources derive them the way the controller
would). Pods without any status (offline pod templates) have unknown readiness.

Readiness is the union over all the Service's slices for the port, whatever their address family:
a dual-stack pod has one endpoint per family and is one backend, ready if any of them is. The
controller's placeholder slice (no endpoints, no ports) counts as no slice at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ktrace.model import Endpoint, EndpointSlice, Pod, Service, ServicePort
from ktrace.rules import readable
from ktrace.store import ClusterStore


class PodState(StrEnum):
    """Whether a pod behind a Service port receives its traffic."""
    READY = "ready"
    NOT_READY = "not-ready"
    UNKNOWN = "unknown"  # offline pod templates: no status
    EXCLUDED = "excluded"  # left out of the endpoints (no such named port, a finished pod)


READY, NOT_READY, UNKNOWN, EXCLUDED = PodState.READY, PodState.NOT_READY, PodState.UNKNOWN, PodState.EXCLUDED


def not_ready_reason(pod: Pod) -> str:
    """Why a pod is not ready, in the words `kubectl describe` would lead a user to."""
    if pod.meta.deleting:
        return "terminating"
    if pod.phase in ("Succeeded", "Failed"):
        return f"phase {pod.phase}: the pod has finished"
    for s in pod.statuses:
        if s.waiting in ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                         "CreateContainerError", "InvalidImageName", "RunContainerError"):
            restarts = f", {s.restarts} restarts" if s.restarts else ""
            last = f", last exit {s.terminated}" if s.terminated and s.waiting == "CrashLoopBackOff" else ""
            return f"container {s.name}: {s.waiting}{restarts}{last}"
    if pod.phase == "Pending":
        for c in pod.conditions:
            if c.type == "PodScheduled" and c.status == "False":
                detail = f": {c.message}" if c.message else ""
                return f"Pending: {c.reason or 'not scheduled'}{detail}"
        waiting = next((s.waiting for s in pod.statuses if s.waiting), "")
        return f"Pending: {waiting}" if waiting else "Pending"
    unready = [s.name for s in pod.statuses if not s.ready]
    if pod.phase == "Running" and unready:
        return f"readiness probe failing (container {', '.join(unready)} not ready)"
    for c in pod.conditions:
        if c.type == "Ready" and c.status != "True":
            return f"not ready: {c.reason or c.message or 'Ready condition is ' + (c.status or 'unset')}"
    return "not ready"


@dataclass(frozen=True, slots=True)
class PodBackend:
    pod: Pod
    state: PodState
    reason: str = ""
    container_port: int | None = None
    port_declared: bool = True  # the container declares the targetPort
    endpoint: Endpoint | None = None


@dataclass
class ServiceBackends:
    service: Service
    port: ServicePort | None
    slices: list[EndpointSlice] = field(default_factory=list)
    pods: list[PodBackend] = field(default_factory=list)
    orphans: list[Endpoint] = field(default_factory=list)  # endpoints without a pod in the store

    @property
    def ready(self) -> int:
        return sum(p.state == READY for p in self.pods) + sum(e.ready for e in self.orphans)

    @property
    def known(self) -> int:
        """Backends whose readiness is knowable (everything but offline pod templates)."""
        return sum(p.state in (READY, NOT_READY) for p in self.pods) + len(self.orphans)

    @property
    def unknown(self) -> int:
        return sum(p.state == UNKNOWN for p in self.pods)

    def families(self) -> dict[str, tuple[int, int]]:
        """Ready and total endpoints per address family: the Service's own families (spec.ipFamilies)
        first, each even without endpoints, then any other family its slices carry."""
        out = dict.fromkeys(self.service.ip_families, (0, 0))
        for s in self.slices:
            ready, total = out.get(s.address_type, (0, 0))
            out[s.address_type] = (ready + sum(e.ready for e in s.endpoints), total + len(s.endpoints))
        return out


def _serves_port(s: EndpointSlice, port: ServicePort | None) -> bool:
    return not s.placeholder and (port is None or any(p.name == port.name and p.protocol == port.protocol
                                                      for p in s.ports))


def _keep_ready(seen: dict, key: object, e: Endpoint) -> None:
    """One endpoint per backend across slices (a dual-stack pod has one per family): a ready one wins."""
    if key not in seen or (e.ready and not seen[key].ready):
        seen[key] = e


def service_backends(store: ClusterStore, svc: Service, port: ServicePort | None) -> ServiceBackends:
    ns = svc.meta.namespace
    out = ServiceBackends(svc, port)
    order = {f: i for i, f in enumerate(svc.ip_families)}  # the Service's primary family first
    out.slices = sorted((s for s in store.slices_for(ns, svc.meta.name) if _serves_port(s, port)),
                        key=lambda s: order.get(s.address_type, len(order)))
    # The selected pods first: a scoped store (ktrace.coverage) then reads them in one selected list, and
    # finds the endpoints' pods among them rather than reading each by name.
    pods = store.pods_matching(ns, svc.selector) if svc.selector else []
    by_pod: dict[str, Endpoint] = {}
    by_ref: dict[tuple[str, str], Endpoint] = {}
    anonymous: dict[str, list[Endpoint]] = {}  # no targetRef: by address family
    for s in out.slices:
        for e in s.endpoints:
            if e.target_kind == "Pod" and e.target_name and store.get("Pod", ns, e.target_name) is not None:
                _keep_ready(by_pod, e.target_name, e)
            elif e.target_name:
                _keep_ready(by_ref, (e.target_kind, e.target_name), e)
            else:
                anonymous.setdefault(s.address_type, []).append(e)
    # Endpoints without a targetRef cannot be paired across families: the family with the most stands for all.
    widest = max(anonymous.values(), key=lambda es: (len(es), sum(e.ready for e in es)), default=[])
    out.orphans = [*by_ref.values(), *widest]
    if not svc.selector:  # selector-less: the pods the hand-made slices point at
        pods = [p for name in sorted(by_pod) if isinstance(p := store.get("Pod", ns, name), Pod)]
    # Without EndpointSlices (the source could not read them) pod statuses are the best evidence.
    trust_pods = not readable(store, "EndpointSlice")
    for pod in pods:
        out.pods.append(_pod_backend(pod, port, by_pod.get(pod.meta.name), trust_pods))
    return out


def _pod_backend(pod: Pod, port: ServicePort | None, ep: Endpoint | None, trust_pods: bool = False) -> PodBackend:
    cport, declared = None, True
    if port is not None:
        found = pod.find_port(port.target, port.protocol)
        declared = found is not None
        cport = found.port if found else port.target if isinstance(port.target, int) else None
    if ep is not None:
        if ep.ready:
            return PodBackend(pod, READY, "ready", cport, declared, ep)
        reason = "terminating" if ep.terminating else not_ready_reason(pod)
        return PodBackend(pod, NOT_READY, reason, cport, declared, ep)
    if port is not None and isinstance(port.target, str) and not declared:
        return PodBackend(pod, EXCLUDED, f"no container port named {port.target!r}: left out of the endpoints",
                          None, False)
    if pod.ready is None:
        what = f"pod template of {pod.template_of}" if pod.template_of else "no status"
        return PodBackend(pod, UNKNOWN, f"readiness unknown offline ({what})", cport, declared)
    if pod.phase in ("Succeeded", "Failed"):
        return PodBackend(pod, EXCLUDED, not_ready_reason(pod), cport, declared)
    if pod.ready and pod.ip:
        if trust_pods:
            return PodBackend(pod, READY, "ready (pod status; EndpointSlices not readable)", cport, declared)
        return PodBackend(pod, NOT_READY, "ready, but not in any EndpointSlice yet", cport, declared)
    reason = not_ready_reason(pod) if not pod.ready else "no pod IP yet"
    return PodBackend(pod, NOT_READY, reason, cport, declared)
