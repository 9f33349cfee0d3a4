"""Complete objects the way the API server does on create, so the official client's
validating models accept them: identity, timestamps, generation, and per-kind defaults."""

from __future__ import annotations

import hashlib
import ipaddress
import uuid

from ktrace.kinds import BY_KIND

_UID_NAMESPACE = uuid.UUID("6f1c3b1e-9a43-4f0e-8d7e-6b0c0d9e2a11")
_SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
_SERVICE_CIDR_V6 = ipaddress.ip_network("fd00:10:96::/112")  # the simulated cluster is dual-stack, IPv4 first
_DUAL_STACK = ("PreferDualStack", "RequireDualStack")
_RESERVED_SERVICE_IPS = {"10.96.0.1", "10.96.0.10"}  # the kubernetes and kube-dns services


def stable_uid(kind: str, namespace: str, name: str, generation: int = 0) -> str:
    """Deterministic uids keep demo output stable; `generation` tells re-created objects apart."""
    return str(uuid.uuid5(_UID_NAMESPACE, f"{kind}/{namespace}/{name}/{generation}"))


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Allocator:
    """Deterministic addresses: a hash of the key picks the start, probing skips used ones."""

    def __init__(self, first: int, size: int, reserved: set[int] | None = None):
        self.first, self.size = first, size
        self.used: set[int] = set(reserved or ())

    def allocate(self, key: str) -> int:
        if len(self.used) >= self.size:
            raise ValueError("address range exhausted")
        offset = _hash_int(key) % self.size
        while self.first + offset in self.used:
            offset = (offset + 1) % self.size
        self.used.add(self.first + offset)
        return self.first + offset

    def claim(self, value: int) -> None:
        self.used.add(value)

    def release(self, value: int) -> None:
        self.used.discard(value)


class ServiceIPs:
    def __init__(self) -> None:
        net = _SERVICE_CIDR
        reserved = {int(ipaddress.ip_address(a)) for a in _RESERVED_SERVICE_IPS}
        reserved |= {int(net.network_address), int(net.broadcast_address)}
        self.ips = Allocator(int(net.network_address), net.num_addresses, reserved)
        v6 = _SERVICE_CIDR_V6
        self.ips_v6 = Allocator(int(v6.network_address) + 1, v6.num_addresses - 1)
        self.node_ports = Allocator(30000, 2768)

    def cluster_ip(self, key: str, family: str = "IPv4") -> str:
        pool = self.ips_v6 if family == "IPv6" else self.ips
        return str(ipaddress.ip_address(pool.allocate(key)))

    def claim(self, ip: str) -> None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return
        if addr in _SERVICE_CIDR:
            self.ips.claim(int(addr))
        elif addr in _SERVICE_CIDR_V6:
            self.ips_v6.claim(int(addr))


def complete_metadata(obj: dict, now: str, old: dict | None) -> None:
    kind = BY_KIND[obj["kind"]]
    obj.setdefault("apiVersion", kind.api_version)
    meta = obj.setdefault("metadata", {})
    if kind.namespaced:
        meta["namespace"] = meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    if old is not None:
        old_meta = old["metadata"]
        meta["uid"] = old_meta["uid"]
        meta["creationTimestamp"] = old_meta["creationTimestamp"]
        generation = old_meta.get("generation", 1)
        if "spec" in obj and obj.get("spec") != old.get("spec"):
            generation += 1
        meta["generation"] = generation
    else:
        meta.setdefault("uid", stable_uid(kind.kind, meta.get("namespace", ""), meta["name"]))
        meta.setdefault("creationTimestamp", now)
        meta.setdefault("generation", 1)
    if meta.get("labels") is None:
        meta.pop("labels", None)
    if meta.get("annotations") is None:
        meta.pop("annotations", None)


# Top-level fields a write's managedFields entry names; status goes to the status subresource's entry.
_NOT_MANAGED = frozenset(("apiVersion", "kind", "metadata", "status"))


def manage_fields(obj: dict, old: dict | None, manager: str, now: str, subresource: str = "") -> None:
    """Stamp the writer's managedFields entry as the API server does on create, update and patch: the entry of
    (manager, operation, subresource) is replaced by one with this write's time (RFC 3339, to the second);
    the other managers' entries stay. The entries come from the object written when it carries a list (a PUT of
    what a GET returned, a patch of the stored object), else from the stored version. `fieldsV1` is kept
    minimal: the top-level fields the write holds."""
    meta = obj["metadata"]
    given = meta.get("managedFields")
    entries = given if isinstance(given, list) else (old or {}).get("metadata", {}).get("managedFields") or []
    kept = [e for e in entries if isinstance(e, dict) and not (
        e.get("manager") == manager and e.get("operation") == "Update" and e.get("subresource", "") == subresource)]
    owned = ("status",) if subresource == "status" else tuple(k for k in obj if k not in _NOT_MANAGED)
    entry = {"manager": manager, "operation": "Update", "apiVersion": obj["apiVersion"], "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": {f"f:{k}": {} for k in owned}}
    if subresource:
        entry["subresource"] = subresource
    meta["managedFields"] = [*kept, entry]


def complete_service(svc: dict, ips: ServiceIPs, old: dict | None) -> None:
    meta, spec = svc["metadata"], svc.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    old_spec = (old or {}).get("spec") or {}
    if spec["type"] == "ExternalName":  # a switch to ExternalName releases the IP, as the API server does
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
            spec.pop(key, None)
    else:
        given = spec.get("ipFamilies")
        families = list(dict.fromkeys(f for f in given if f in ("IPv4", "IPv6"))) if isinstance(given, list) else []
        families = families or (["IPv4", "IPv6"] if spec.get("ipFamilyPolicy") in _DUAL_STACK else ["IPv4"])
        key = f"{meta['namespace']}/{meta['name']}"
        if not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec.get("clusterIP") or ips.cluster_ip(key, families[0])
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec["clusterIP"] != "None":
            ips.claim(spec["clusterIP"])
            old_ips = old_spec.get("clusterIPs") or []
            for family in families[1:]:  # one cluster IP per family, the primary first
                kept = next((ip for ip in old_ips[1:] if (":" in ip) == (family == "IPv6")), None)
                spec["clusterIPs"].append(kept or ips.cluster_ip(key, family))
        spec["ipFamilies"] = families
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if spec["type"] != "ExternalName":
            port.setdefault("targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            key = f"{meta['namespace']}/{meta['name']}/{port.get('port')}"
            port["nodePort"] = ips.node_ports.allocate(key)
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    svc.setdefault("status", {"loadBalancer": {}})


def complete_pod(pod: dict) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    images = {}
    for container in spec.get("containers") or []:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")
        images[container.get("name")] = container.get("image", "")
    # statuses written by hand (the demo's crash loops) still need what the models require
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        status.setdefault("image", images.get(status.get("name"), ""))
        status.setdefault("imageID", "")
        status.setdefault("ready", False)
        status.setdefault("restartCount", 0)


def complete_namespace(ns: dict) -> None:
    meta = ns["metadata"]
    meta.setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", meta["name"])
    ns.setdefault("spec", {"finalizers": ["kubernetes"]})
    ns.setdefault("status", {"phase": "Active"})


def complete_slice(eps: dict) -> None:
    eps.setdefault("addressType", "IPv4")
    eps.setdefault("endpoints", [])
    for port in eps.get("ports") or []:
        port.setdefault("protocol", "TCP")
