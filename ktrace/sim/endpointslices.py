"""The simulator's EndpointSlice controller: what Kubernetes' controller publishes for a
Service, as a pure function of raw objects.

The simulated cluster publishes these slices; the offline manifests source asks for them too
when the files hold a Service without slices, so both agree with a real cluster:
- pods in the Service's namespace matched by its selector; terminal pods (Succeeded/Failed)
  and pods without an IP are excluded; terminating pods stay, marked `terminating`;
- a numeric targetPort is used as given; a named one is looked up in the pod's containers,
  and a pod that lacks the name gets no port for it (its endpoints land in a slice whose
  port set lacks that port, so no traffic reaches it on that port);
- endpoints are grouped by their resolved port set, at most 100 per slice;
- one set of slices per address family of the Service (spec.ipFamilies: a dual-stack Service has
  IPv4 and IPv6 slices); a pod's endpoint in a family carries its `status.podIPs` of that family,
  and a pod without an address of the family has no endpoint there;
- a family with no endpoint at all gets one placeholder slice: no endpoints, no ports (served as
  null, as the API server does for the controller's empty lists);
- ExternalName services and services without a selector get no managed slices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from ktrace import selectors

MANAGED_BY = "endpointslice-controller.k8s.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MAX_ENDPOINTS_PER_SLICE = 100


def manages(service: Mapping) -> bool:
    """Whether the controller keeps slices for this Service at all."""
    spec = service.get("spec") or {}
    return spec.get("type") != "ExternalName" and bool(spec.get("selector"))


def find_container_port(pod: Mapping, target: int | str | None, protocol: str = "TCP") -> int | None:
    """Resolve a Service targetPort against one pod, as the controller does."""
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                number = port.get("containerPort")
                return number if isinstance(number, int) else None
    return None


def address_types(service: Mapping) -> list[str]:
    """The families the controller publishes slices for: spec.ipFamilies. Files never given to an API
    server may lack it; then what the API server of a dual-stack cluster would set: both families for
    a dual-stack policy, else the clusterIP's family, IPv4 when there is none."""
    spec = service.get("spec") or {}
    given = spec.get("ipFamilies")
    families = [f for f in given if f in ("IPv4", "IPv6")] if isinstance(given, list) else []
    if families:
        return list(dict.fromkeys(families))
    if spec.get("ipFamilyPolicy") in ("PreferDualStack", "RequireDualStack"):
        return ["IPv4", "IPv6"]
    return ["IPv6" if ":" in str(spec.get("clusterIP") or "") else "IPv4"]


def _family(ip: str) -> str:
    return "IPv6" if ":" in ip else "IPv4"


def pod_ips(pod: Mapping) -> list[str]:
    """status.podIPs (one per family), or status.podIP when a file gives only that."""
    status = pod.get("status") or {}
    listed = status.get("podIPs")
    ips = [i.get("ip") for i in listed if isinstance(i, Mapping)] if isinstance(listed, list) else []
    ips = [ip for ip in ips if isinstance(ip, str) and ip]
    return ips or [status["podIP"]]


def pod_in_endpoints(pod: Mapping) -> bool:
    status = pod.get("status") or {}
    ip = status.get("podIP")
    return status.get("phase") not in ("Succeeded", "Failed") and isinstance(ip, str) and bool(ip)


def pod_ready(pod: Mapping) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def endpoint_ports(service: Mapping, pod: Mapping) -> list[dict]:
    ports = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        protocol, name = sp.get("protocol") or "TCP", sp.get("name") or ""
        number = find_container_port(pod, sp.get("targetPort", sp.get("port")), protocol)
        if number is None or not isinstance(name, str) or not isinstance(protocol, str):
            continue  # not a port the API server would accept: no endpoint port for it
        ports.append({"name": name, "port": number, "protocol": protocol})
    return ports


def endpoint_for(service: Mapping, pod: Mapping, family: str) -> dict | None:
    """The pod's endpoint in the slices of one address family; None when it has no address there."""
    addresses = [ip for ip in pod_ips(pod) if _family(ip) == family]
    if not addresses:
        return None
    meta = pod.get("metadata") or {}
    terminating = bool(meta.get("deletionTimestamp"))
    serving = pod_ready(pod) or bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint = {
        "addresses": addresses[:1],  # the controller publishes exactly one address per endpoint
        "conditions": {"ready": serving and not terminating, "serving": serving, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta.get("name"),
                      "uid": meta.get("uid", "")},
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    return endpoint


def compute_slices(service: Mapping, pods: Iterable[Mapping]) -> list[dict]:
    """The EndpointSlices the controller would publish for `service`, given the pods of its
    namespace (the caller may pass more; namespace and selector are checked here)."""
    try:
        if not manages(service):
            return []
        meta = service.get("metadata") or {}
        namespace, name = meta.get("namespace") or "default", meta.get("name")
        selector = selectors.from_match_labels((service.get("spec") or {}).get("selector"))
        families = address_types(service)
    except (AttributeError, TypeError, ValueError):
        return []  # not a Service the API server would accept
    groups: dict[tuple[str, tuple], list[dict]] = {}  # (family, port set) -> endpoints
    for pod in sorted(pods, key=_pod_name):
        try:
            pmeta = pod.get("metadata") or {}
            if (pmeta.get("namespace") or "default") != namespace or not pod_in_endpoints(pod):
                continue
            if not selectors.matches(selector, pmeta.get("labels")):
                continue
            ports = endpoint_ports(service, pod)
            key = tuple((p["name"], p["port"], p["protocol"]) for p in ports)
            endpoints = {f: endpoint_for(service, pod, f) for f in families}
        except (AttributeError, TypeError, KeyError, ValueError):
            continue  # a malformed pod (offline files) is skipped alone, not the whole Service
        for family, endpoint in endpoints.items():
            if endpoint is not None:
                groups.setdefault((family, key), []).append(endpoint)
    slices = []
    for family in families:
        mine = [(key, endpoints) for (f, key), endpoints in groups.items() if f == family]
        for key, endpoints in mine:
            for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
                chunk = endpoints[start : start + MAX_ENDPOINTS_PER_SLICE]
                slices.append(_slice(service, namespace, name, family, key, start // MAX_ENDPOINTS_PER_SLICE, chunk))
        if not mine:  # nothing to publish in this family: the controller's placeholder
            slices.append(_slice(service, namespace, name, family, None, 0, None))
    return slices


def _pod_name(pod: object) -> str:
    meta = pod.get("metadata") if isinstance(pod, Mapping) else None
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) else ""


def _slice(service: Mapping, namespace: str, name: str, family: str, key: tuple | None, index: int,
           endpoints: list[dict] | None) -> dict:
    """One slice; `key` and `endpoints` None: the placeholder."""
    # Deterministic names (the controller uses generateName): the same input yields the same slice.
    # IPv4 slices keep the names they had before slices had families.
    ident = (key or (), index) if family == "IPv4" else (family, key or (), index)
    digest = hashlib.sha1(repr(ident).encode()).hexdigest()[:5]
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    labels.update({SERVICE_NAME_LABEL: name, MANAGED_BY_LABEL: MANAGED_BY})
    meta = service.get("metadata") or {}
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-{digest}",
            "namespace": namespace,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                 "uid": meta.get("uid", ""), "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "addressType": family,
        "endpoints": endpoints,
        "ports": None if key is None else [{"name": n, "port": p, "protocol": proto} for n, p, proto in key],
    }
