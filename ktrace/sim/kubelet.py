"""A stand-in for the scheduler and kubelets: pods created without a status are placed on one
of a few fake nodes and reported Running and Ready with an IP from that node's pod CIDR, and an
IPv6 address too (the simulated cluster is dual-stack, IPv4 first).
Pods given with a status (the demo's crash loops) are left exactly as given."""

from __future__ import annotations

import hashlib
import ipaddress

from ktrace.sim.complete import Allocator

_OVERFLOW = ipaddress.ip_network("10.250.0.0/16")  # pods on nodes we do not simulate
_POD_V6 = int(ipaddress.ip_address("fd00:10:244::"))  # the cluster is dual-stack: each pod's IPv4, embedded


def _digest(text: str, n: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class Kubelet:
    def __init__(self, nodes: int = 3):
        self.nodes = [f"sim-node-{i}" for i in range(1, nodes + 1)]
        self.host_ips = {node: f"172.18.0.{i + 2}" for i, node in enumerate(self.nodes)}
        self._pools: dict[str, Allocator] = {}
        for i, node in enumerate(self.nodes, start=1):
            base = int(ipaddress.ip_address(f"10.244.{i}.0"))
            self._pools[node] = Allocator(base + 2, 252)  # .1 is the node's bridge
        self._overflow = Allocator(int(_OVERFLOW.network_address) + 1, _OVERFLOW.num_addresses - 2)

    def node_for(self, namespace: str, name: str) -> str:
        return self.nodes[int(_digest(f"{namespace}/{name}", 8), 16) % len(self.nodes)]

    def claim(self, pod: dict) -> None:
        """Remember an IP given in a manifest, so generated pods never reuse it."""
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            return
        value = int(ipaddress.ip_address(ip))
        for pool in (*self._pools.values(), self._overflow):
            if pool.first <= value < pool.first + pool.size:
                pool.claim(value)

    def release(self, pod: dict) -> None:
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            return
        value = int(ipaddress.ip_address(ip))
        for pool in (*self._pools.values(), self._overflow):
            pool.release(value)

    def _allocate_ip(self, node: str, key: str) -> str:
        pool = self._pools.get(node)
        try:
            value = (pool or self._overflow).allocate(key)
        except ValueError:  # a full node: real clusters would not schedule there either
            value = self._overflow.allocate(key)
        return str(ipaddress.ip_address(value))

    def start(self, pod: dict, now: str) -> None:
        """Schedule and start a pod that has no status yet."""
        meta, spec = pod["metadata"], pod["spec"]
        key = f"{meta['namespace']}/{meta['name']}"
        node = spec.get("nodeName") or self.node_for(meta["namespace"], meta["name"])
        spec["nodeName"] = node
        ip = self._allocate_ip(node, key)
        ipv6 = str(ipaddress.IPv6Address(_POD_V6 | int(ipaddress.IPv4Address(ip))))
        host_ip = self.host_ips.get(node, "172.18.0.250")
        containers = spec.get("containers") or []
        limited = any((c.get("resources") or {}).get("requests") for c in containers)
        pod["status"] = {
            "phase": "Running",
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                           for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                     "PodScheduled")],
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": ip,
            "podIPs": [{"ip": ip}, {"ip": ipv6}],
            "startTime": now,
            "qosClass": "Burstable" if limited else "BestEffort",
            "containerStatuses": [self._running(c, key, now) for c in containers],
        }

    @staticmethod
    def _running(container: dict, key: str, now: str) -> dict:
        image = container.get("image", "")
        return {
            "name": container.get("name", ""),
            "image": image,
            "imageID": f"{image.split(':')[0]}@sha256:{_digest(image)}",
            "containerID": f"containerd://{_digest(key + container.get('name', ''))}",
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": now}},
            "lastState": {},
        }
